/*
 * store_sqlite_lower.c - a query tree (search/query.h) lowered to SQL over
 * the events table of a day file, with bound parameters only.
 *
 * DESIGN
 * The reference meaning of a query is query_match() on the whole event; SQL
 * over today's columns can say only part of it. So each node lowers to one
 * of three things:
 *   exact   SQL that is true for exactly the rows query_match accepts:
 *           levels, timestamps, has: and keyword values on the columns
 *           (ASCII values: LIKE folds ASCII case only, query_match folds
 *           Latin-1, Greek and Cyrillic too);
 *   loose   SQL true for every row query_match accepts and maybe more: free
 *           words and phrases through FTS5 (detail=none knows terms, not
 *           their order, and unicode61 splits non-ASCII punctuation that
 *           query_words keeps in a word), tags by a LIKE on tags_json;
 *   none    no SQL at all (attributes, service, user.*, stack.*: they live
 *           in the raw payload only).
 * AND keeps every child's SQL; OR needs SQL from every child; NOT keeps only
 * an exact child (the negation of a superset is not a superset). When the
 * whole tree is exact, rows are taken as they come (and histograms are a
 * GROUP BY); otherwise each candidate row is read with its raw payload and
 * handed to the caller's match() (the API re-normalizes it and runs
 * query_match), so the answer is always exactly query_match's.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "search/query.h"
#include "store/sqlite_int.h"
#include "store/sqlite_lower.h"
#include "core/banned.h"

/* Keyword fields that are columns of the events table, with the same value as the model. */
static const struct {
    const char *field;
    const char *col;
} columns[] = {
    { "logger", "e.logger" },     { "host", "e.server_name" },
    { "release", "e.release" },   { "environment", "e.environment" },
    { "trace_id", "e.trace_id" }, { "request_id", "e.request_id" },
    { "event_id", "e.event_id" }, { "culprit", "e.culprit" },
};

static const char *column_of(const char *field)
{
    for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
        if (strcmp(columns[i].field, field) == 0)
            return columns[i].col;
    return NULL;
}

/* Adds an argument and writes its placeholder. */
static void lw_arg(struct sq_lower *l, struct sq_arg a)
{
    if (l->nargs == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->args = xrealloc(l->args, l->cap * sizeof(*l->args));
    }
    l->args[l->nargs++] = a;
    buf_addf(&l->sql, "?%zu", ARG0 + l->nargs - 1);
}

static int ascii_only(struct slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.p[i] >= 0x80 || s.p[i] == '\0')
            return 0;
    return 1;
}

/* A LIKE pattern for an exact or prefix value (ESCAPE '\'). */
static const char *like_pattern(struct sq_lower *l, struct slice v, int prefix, int around)
{
    char *p = pool_alloc(l->pool, v.len * 2 + 3), *o = p;

    if (around)
        *o++ = '%';
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '%' || v.p[i] == '_' || v.p[i] == '\\')
            *o++ = '\\';
        *o++ = v.p[i];
    }
    if (prefix || around)
        *o++ = '%';
    *o = '\0';
    return p;
}

/* FTS5 text for a value's words: "a" AND "b"*; NULL when FTS cannot be a superset. */
struct fts_words {
    struct buf *b;
    int ok;
    int any; /* non-ASCII words too (a postings drive) */
};

static int fts_word(void *arg, const char *w, size_t n)
{
    struct fts_words *fw = arg;

    if (!fw->any && !ascii_only((struct slice){ w, n })) {
        fw->ok = 0;
        return 1;
    }
    if (fw->b->len > 0)
        buf_addstr(fw->b, " AND ");
    buf_addch(fw->b, '"');
    buf_add(fw->b, w, n);
    buf_addch(fw->b, '"');
    return 0;
}

static const char *fts_text(struct sq_lower *l, const struct query_value *v, int any)
{
    struct buf b = BUF_INIT(QUERY_MAX_LEN * 4);
    struct fts_words fw = { &b, 1, any };
    const char *out = NULL;

    query_words(v->text.p, v->text.len, fts_word, &fw);
    if (fw.ok && b.len > 0) {
        if (v->prefix)
            buf_addch(&b, '*');
        out = pool_strndup(l->pool, b.p, b.len);
    }
    buf_release(&b);
    return out;
}

static int lower_fts(struct sq_lower *l, const struct query_value *v)
{
    const char *m = fts_text(l, v, 0);
    int root = l->depth == 0 || (l->depth == 1 && l->and_root);

    if (m == NULL && root && l->post_drive == NULL)
        l->post_drive = fts_text(l, v, 1);
    if (m == NULL)
        return LW_NONE;
    if (l->drive == NULL && root)
        l->drive = m;
    buf_addstr(&l->sql, "e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ");
    lw_arg(l, (struct sq_arg)SQ_TEXT(m));
    buf_addch(&l->sql, ')');
    return LW_LOOSE;
}

static const char *op_sql(int op)
{
    static const char *const ops[] = { " = ", " > ", " >= ", " < ", " <= " };

    return op >= Q_EQ && op <= Q_LE ? ops[op] : " = ";
}

/* Values of one node joined by OR, each lowered by fn; LW_NONE if one cannot be. */
typedef int (*value_fn)(struct sq_lower *l, const struct query_node *n,
                        const struct query_value *v);

static int lower_values(struct sq_lower *l, const struct query_node *n, value_fn fn)
{
    size_t mark = l->sql.len;
    int res = LW_EXACT;

    buf_addch(&l->sql, '(');
    for (size_t i = 0; i < n->nvalues; i++) {
        int r;

        if (i > 0)
            buf_addstr(&l->sql, " OR ");
        r = fn(l, n, &n->values[i]);
        if (r == LW_NONE) {
            l->sql.len = mark;
            return LW_NONE;
        }
        if (r < res)
            res = r;
    }
    buf_addch(&l->sql, ')');
    return res;
}

static int v_level(struct sq_lower *l, const struct query_node *n, const struct query_value *v)
{
    buf_addf(&l->sql, "e.level%s", op_sql(n->op));
    lw_arg(l, (struct sq_arg)SQ_INT(v->level));
    return LW_EXACT;
}

static int v_time(struct sq_lower *l, const struct query_node *n, const struct query_value *v)
{
    if (strcmp(n->field, "timestamp") != 0)
        return LW_NONE;
    buf_addf(&l->sql, "e.timestamp%s", op_sql(n->op));
    lw_arg(l, (struct sq_arg)SQ_INT(v->relative ? l->now + v->time_us : v->time_us));
    return LW_EXACT;
}

static int v_keyword(struct sq_lower *l, const struct query_node *n, const struct query_value *v)
{
    const char *col = column_of(n->field);

    if (!ascii_only(v->text) || v->text.len == 0)
        return LW_NONE;
    if (col != NULL) {
        buf_addf(&l->sql, "coalesce(%s LIKE ", col);
        lw_arg(l, (struct sq_arg)SQ_TEXT(like_pattern(l, v->text, v->prefix, 0)));
        buf_addstr(&l->sql, " ESCAPE '\\', 0)");
        return LW_EXACT;
    }
    if (strncmp(n->field, "tags.", 5) == 0) {
        /* Tags are JSON text: only plain values can be found in it as written. */
        for (size_t i = 0; i < v->text.len; i++)
            if (v->text.p[i] == '"' || v->text.p[i] == '\\' || (unsigned char)v->text.p[i] < 0x20)
                return LW_NONE;
        buf_addstr(&l->sql, "coalesce(e.tags_json LIKE ");
        lw_arg(l, (struct sq_arg)SQ_TEXT(like_pattern(l, v->text, 0, 1)));
        buf_addstr(&l->sql, " ESCAPE '\\', 0)");
        return LW_LOOSE;
    }
    if (strcmp(n->field, "error.type") == 0)
        return lower_fts(l, v);
    return LW_NONE;
}

static int v_text(struct sq_lower *l, const struct query_node *n, const struct query_value *v)
{
    (void)n;
    return lower_fts(l, v);
}

static int lower_field(struct sq_lower *l, const struct query_node *n)
{
    switch (n->type) {
    case QT_LEVEL:
        return lower_values(l, n, v_level);
    case QT_TIME:
        return lower_values(l, n, v_time);
    case QT_KEYWORD:
        return lower_values(l, n, v_keyword);
    case QT_TEXT:
        /* message, title and error.value are all in the full-text index */
        return lower_values(l, n, v_text);
    default:
        return LW_NONE;
    }
}

static int lower_has(struct sq_lower *l, const struct query_node *n)
{
    const char *col = column_of(n->field);

    if (strcmp(n->field, "level") == 0 || strcmp(n->field, "timestamp") == 0) {
        buf_addstr(&l->sql, "1");
        return LW_EXACT;
    }
    if (col == NULL)
        return LW_NONE;
    buf_addf(&l->sql, "coalesce(%s, '') <> ''", col);
    return LW_EXACT;
}

/* One word of ASCII letters and digits, as query_words and the index both cut it. */
static int alnum_word(const struct query_value *v)
{
    if (v->quoted || v->text.len == 0)
        return 0;
    for (size_t i = 0; i < v->text.len; i++) {
        unsigned char c = (unsigned char)v->text.p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* A log query's trace_id:X or request_id:X at the root narrows through log_fts. */
static void id_drive(struct sq_lower *l, const struct query_node *n)
{
    const struct query_value *v = n->values;
    const char *prefix = strcmp(n->field, "trace_id") == 0     ? SQ_ID_TRACE
                         : strcmp(n->field, "request_id") == 0 ? SQ_ID_REQUEST
                                                               : NULL;
    char tok[8 + SQ_ID_TOKEN_MAX], q[16 + SQ_ID_TOKEN_MAX];

    if (prefix == NULL || l->id_drive != NULL || n->op != Q_EQ || n->nvalues != 1 || v->prefix ||
        !(l->depth == 0 || (l->depth == 1 && l->and_root)))
        return;
    if (sq_logs_id_token(prefix, v->text.p, v->text.len, tok, sizeof(tok)) == 0)
        return;
    snprintf(q, sizeof(q), "\"%s\"", tok);
    l->id_drive = pool_strdup(l->pool, q);
}

static int lower_and_or(struct sq_lower *l, const struct query_node *n)
{
    size_t mark = l->sql.len;
    int res = LW_EXACT, any = 0;

    buf_addch(&l->sql, '(');
    for (size_t i = 0; i < n->nkids; i++) {
        size_t before = l->sql.len;
        int r;

        if (any)
            buf_addstr(&l->sql, n->kind == Q_AND ? " AND " : " OR ");
        r = sq_lower_node(l, n->kids[i]);
        if (r == LW_NONE) {
            l->sql.len = before;
            if (n->kind == Q_OR) {
                l->sql.len = mark;
                return LW_NONE;
            }
            res = LW_LOOSE;
            continue;
        }
        any = 1;
        if (r < res)
            res = r;
    }
    if (!any) {
        l->sql.len = mark;
        return LW_NONE;
    }
    buf_addch(&l->sql, ')');
    return res;
}

int sq_lower_node(struct sq_lower *l, const struct query_node *n)
{
    size_t mark = l->sql.len;
    int r;

    switch (n->kind) {
    case Q_AND:
    case Q_OR:
        if (l->depth == 0)
            l->and_root = n->kind == Q_AND;
        l->depth++;
        r = lower_and_or(l, n);
        l->depth--;
        return r;
    case Q_NOT:
        buf_addstr(&l->sql, "NOT (");
        l->depth += 2; /* a negated term never drives */
        r = sq_lower_node(l, n->kids[0]);
        l->depth -= 2;
        if (r != LW_EXACT) {
            l->sql.len = mark;
            return LW_NONE;
        }
        buf_addch(&l->sql, ')');
        return LW_EXACT;
    case Q_WORD:
    case Q_PHRASE: {
        const char *before = l->drive;

        r = lower_fts(l, n->values);
        if (before == NULL && l->drive != NULL && n->kind == Q_WORD && alnum_word(n->values) &&
            !sq_logs_reserved_word(n->values->text.p, n->values->text.len, n->values->prefix))
            l->drive_word = n;
        return r;
    }
    case Q_FIELD:
        id_drive(l, n);
        return lower_field(l, n);
    case Q_HAS:
        return lower_has(l, n);
    default:
        return LW_NONE;
    }
}
