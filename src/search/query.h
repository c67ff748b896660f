/*
 * query.h - the search language (design §6): one parser, one AST, for log
 * lines, events and issues.
 *
 * DESIGN
 * A query is text a person types:
 *
 *   connection refused level:>=warning -environment:staging (timeout OR reset)
 *
 * query_parse() turns it into a tree of struct query_node, allocated from
 * the caller's pool, and checks every field against the target (logs,
 * events or issues) so a typo is a 400 with the position and what was
 * expected, never a silently empty result. The tree is the only thing the
 * layers below see: each store backend lowers it to its own query language
 * with bound parameters only, and query_match() (query_eval.c) evaluates it
 * in memory against one document, for live tail and as the reference that
 * the data-driven semantic tests hold the backends to.
 *
 * Grammar (AND binds tighter than OR; juxtaposition is AND):
 *
 *   query   := or
 *   or      := and ("OR" and)*
 *   and     := unary (["AND"] unary)*
 *   unary   := ("NOT" | "-") unary | "(" or ")" | term
 *   term    := WORD | "PHRASE" | FIELD ":" rhs | "has:" FIELD | "is:" STATUS
 *   rhs     := (">=" | "<=" | ">" | "<")? value | "[" value ("," value)* "]"
 *   value   := WORD | "PHRASE"          (a WORD may end in * : prefix match)
 *
 * AND, OR and NOT are operators only in capitals, as in Lucene; "and" is a
 * word. Fields are the event model's columns (query_fields.c has the table,
 * with aliases such as server_name for host), tags.NAME or a bare tag name,
 * and attrs.NAME (nested with dots) for log-line attributes.
 *
 * Limits: QUERY_MAX_LEN bytes of text, QUERY_MAX_NODES nodes and
 * QUERY_MAX_DEPTH levels of nesting; past them the query is refused.
 */
#ifndef BL_QUERY_H
#define BL_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pool.h"

#define QUERY_MAX_LEN 4096
#define QUERY_MAX_NODES 256
#define QUERY_MAX_DEPTH 32
#define QUERY_MAX_LIST 64 /* values in field:[a,b,...] */

enum query_target { QUERY_LOGS = 1 << 0, QUERY_EVENTS = 1 << 1, QUERY_ISSUES = 1 << 2 };

enum query_kind {
    Q_AND = 1,
    Q_OR,
    Q_NOT,
    Q_WORD,   /* free text: one word (value), maybe a prefix */
    Q_PHRASE, /* free text: words in order */
    Q_FIELD,  /* field op value, or field:[values] (nvalues > 1) */
    Q_HAS,    /* the field is present and not empty */
    Q_IS,     /* is:unresolved|resolved|ignored (issues) */
};

enum query_op { Q_EQ = 0, Q_GT, Q_GE, Q_LT, Q_LE };

/* How a field's values compare. */
enum query_type {
    QT_TEXT = 0, /* full text: words and phrases, like free text (message) */
    QT_KEYWORD,  /* exact value, case-insensitive; * suffix for a prefix */
    QT_LEVEL,    /* trace..fatal, ordered */
    QT_NUMBER,
    QT_TIME,   /* µs since the epoch; values RFC 3339, epoch or relative (-24h) */
    QT_STATUS, /* issue status (is:) */
};

struct query_value {
    struct slice text; /* as written, unquoted */
    int quoted;        /* a phrase: never a wildcard, never an operator */
    int prefix;        /* ended in *: text excludes the star */
    /* parsed by the field's type */
    int level;       /* QT_LEVEL */
    double number;   /* QT_NUMBER */
    int64_t time_us; /* QT_TIME absolute, or offset from now when relative */
    int relative;    /* QT_TIME: time_us is an offset from "now" (negative: past) */
};

struct query_node {
    int kind;   /* enum query_kind */
    size_t pos; /* byte offset in the query text, for messages */
    /* Q_AND, Q_OR: kids; Q_NOT: kids[0] */
    struct query_node **kids;
    size_t nkids;
    /* Q_FIELD, Q_HAS: the canonical field ("level", "tags.browser", "attrs.http.status") */
    const char *field;
    int type; /* enum query_type of the field */
    int op;   /* enum query_op */
    /* Q_WORD, Q_PHRASE, Q_FIELD (nvalues >= 1), Q_IS (1) */
    struct query_value *values;
    size_t nvalues;
};

struct query_error {
    size_t pos;    /* byte offset where the problem starts */
    char msg[160]; /* "expected a value after 'level:'" */
};

/*
 * Parses text for target (one enum query_target bit). An empty or all-blank
 * query gives *out = NULL (match everything). Returns 0, or BL_EPARSE with
 * err filled; the tree lives in pool.
 */
int query_parse(const char *text, size_t len, int target, struct pool *pool,
                struct query_node **out, struct query_error *err);

/* The tree as an S-expression, for tests and debugging: (and (word "a") ...). */
int query_print(const struct query_node *n, struct buf *out);

/*
 * A document as query_match() sees it: values of a field by canonical name
 * ("message", "level", "tags.NAME", "attrs.a.b", "is" for issue status).
 * Returns the number of values written to vals (at most max), 0 when the
 * field is absent. Levels are given as names, numbers and times as decimal
 * text (times in µs).
 */
typedef size_t (*query_get_fn)(const void *doc, const char *field, struct slice *vals, size_t max);

/* Fields that free words and phrases search (message, title, exception text). */
extern const char *const query_text_fields[];

/* 1 when doc matches n (NULL matches everything); now_us resolves relative times. */
int query_match(const struct query_node *n, query_get_fn get, const void *doc, int64_t now_us);

/*
 * Splits text into words the way free-text search does: runs of ASCII
 * letters and digits and of any non-ASCII bytes (UTF-8 letters), the rest
 * separates. Calls fn(arg, word, len) for each; stops early when fn returns
 * non-zero and returns that value.
 */
int query_words(const char *text, size_t len, int (*fn)(void *arg, const char *w, size_t n),
                void *arg);

/*
 * A word (as query_words cuts it) case folded the way query_match compares
 * words, as UTF-8 in out (a byte that starts no valid sequence is kept as
 * it is): two words match exactly when their folded bytes are equal, so a
 * full-text index can store this form. Writes at most max bytes and
 * returns the folded length, which may exceed max (the rest is cut).
 */
size_t query_fold_word(const char *w, size_t n, char *out, size_t max);

#endif
