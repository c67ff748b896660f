/*
 * query_parse.c - recursive descent over the query text (grammar in query.h).
 *
 * The parser works on the text directly, without a token list: every rule
 * skips blanks, looks at the next character and knows what may come. Each
 * node remembers its byte offset so an error (and later a UI highlight) can
 * point at the spot. Depth and node count are capped before they can grow
 * the stack or the pool without bound.
 */
#include <stdio.h>
#include <string.h>

#include "search/query_int.h"
#include "core/err.h"
#include "core/banned.h"

struct parser {
    const char *s;
    size_t len;
    size_t i;
    int target;
    struct pool *pool;
    size_t nodes;
    int depth;
    struct query_error *err;
    int failed;
};

static struct query_node *parse_or(struct parser *p);

static int fail(struct parser *p, size_t pos, const char *expected, const char *what)
{
    if (!p->failed) {
        p->failed = 1;
        p->err->pos = pos;
        snprintf(p->err->msg, sizeof(p->err->msg), "expected %s%s%s at position %zu", expected,
                 what ? " " : "", what ? what : "", pos);
    }
    return -1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Characters that end a bare word: blanks, parentheses and a quote. */
static int ends_word(char c)
{
    return is_blank(c) || c == '(' || c == ')' || c == '"';
}

static int is_field_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '@';
}

static void skip_blanks(struct parser *p)
{
    while (p->i < p->len && is_blank(p->s[p->i]))
        p->i++;
}

static int at_end(struct parser *p)
{
    skip_blanks(p);
    return p->i >= p->len;
}

/* The bare word at the cursor is exactly kw (AND, OR, NOT). */
static int at_keyword(struct parser *p, const char *kw)
{
    size_t n = strlen(kw);

    skip_blanks(p);
    return p->i + n <= p->len && memcmp(p->s + p->i, kw, n) == 0 &&
           (p->i + n == p->len || ends_word(p->s[p->i + n]));
}

static struct query_node *new_node(struct parser *p, int kind, size_t pos)
{
    struct query_node *n;

    if (++p->nodes > QUERY_MAX_NODES) {
        fail(p, pos, "a shorter query", "(too many terms)");
        return NULL;
    }
    n = pool_calloc(p->pool, 1, sizeof(*n));
    n->kind = kind;
    n->pos = pos;
    return n;
}

/* "..." with \" and \\ escapes; the cursor is on the opening quote. */
static int read_phrase(struct parser *p, struct slice *out)
{
    size_t start = p->i++;
    char *buf = pool_alloc(p->pool, p->len - start);
    size_t n = 0;

    while (p->i < p->len && p->s[p->i] != '"') {
        if (p->s[p->i] == '\\' && p->i + 1 < p->len)
            p->i++;
        buf[n++] = p->s[p->i++];
    }
    if (p->i >= p->len)
        return fail(p, start, "a closing quote", "for the phrase that starts here");
    p->i++;
    buf[n] = '\0';
    *out = (struct slice){ buf, n };
    return 0;
}

/* A bare run up to a blank, a parenthesis, a quote or one of stop. */
static struct slice read_bare(struct parser *p, const char *stop)
{
    size_t start = p->i;

    while (p->i < p->len && !ends_word(p->s[p->i]) && strchr(stop, p->s[p->i]) == NULL)
        p->i++;
    return (struct slice){ p->s + start, p->i - start };
}

/* A value: a phrase, or a bare run that may end in * (a prefix). */
static int read_value(struct parser *p, struct query_value *v, const char *stop)
{
    size_t pos = p->i;
    struct slice t;

    memset(v, 0, sizeof(*v));
    if (p->i < p->len && p->s[p->i] == '"') {
        v->quoted = 1;
        if (read_phrase(p, &v->text) < 0)
            return -1;
        if (p->i < p->len && !is_blank(p->s[p->i]) && strchr("),]", p->s[p->i]) == NULL)
            return fail(p, p->i, "a space after the closing quote", NULL);
        return 0;
    }
    t = read_bare(p, stop);
    if (t.len > 0 && t.p[t.len - 1] == '*') {
        v->prefix = 1;
        t.len--;
    }
    if (t.len == 0)
        return fail(p, pos, v->prefix ? "text before *" : "a value", NULL);
    if (memchr(t.p, '*', t.len) != NULL)
        return fail(p, pos + (size_t)((const char *)memchr(t.p, '*', t.len) - t.p),
                    "* only at the end of a word", NULL);
    v->text = (struct slice){ pool_strndup(p->pool, t.p, t.len), t.len };
    return 0;
}

static int read_op(struct parser *p)
{
    static const struct {
        const char *s;
        int op;
    } ops[] = { { ">=", Q_GE }, { "<=", Q_LE }, { ">", Q_GT }, { "<", Q_LT } };

    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        size_t n = strlen(ops[k].s);

        if (p->i + n <= p->len && memcmp(p->s + p->i, ops[k].s, n) == 0) {
            p->i += n;
            return ops[k].op;
        }
    }
    return Q_EQ;
}

static int typed_value(struct parser *p, struct query_node *n, struct query_value *v, size_t pos)
{
    const char *why = NULL;

    if (n->op != Q_EQ && (n->type == QT_TEXT || n->type == QT_KEYWORD))
        return fail(p, pos - (n->op == Q_GE || n->op == Q_LE ? 2 : 1),
                    "a number, time or level field before a comparison", NULL);
    if (v->prefix && n->type != QT_KEYWORD && n->type != QT_TEXT)
        return fail(p, pos, "no * on", "a number, time or level");
    if (query__value(v, n->type, &why) < 0)
        return fail(p, pos, why, NULL);
    return 0;
}

/* field:[a,b,c] */
static int parse_list(struct parser *p, struct query_node *n)
{
    size_t cap = 4;

    n->values = pool_alloc(p->pool, cap * sizeof(*n->values));
    p->i++; /* [ */
    for (;;) {
        size_t pos;

        skip_blanks(p);
        pos = p->i;
        if (n->nvalues == QUERY_MAX_LIST)
            return fail(p, pos, "at most 64 values in a list", NULL);
        if (n->nvalues == cap) {
            struct query_value *nv = pool_alloc(p->pool, 2 * cap * sizeof(*nv));

            memcpy(nv, n->values, cap * sizeof(*nv));
            n->values = nv;
            cap *= 2;
        }
        if (read_value(p, &n->values[n->nvalues], ",]") < 0 ||
            typed_value(p, n, &n->values[n->nvalues], pos) < 0)
            return -1;
        n->nvalues++;
        skip_blanks(p);
        if (p->i < p->len && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->len && p->s[p->i] == ']') {
            p->i++;
            return 0;
        }
        return fail(p, p->i, "',' or ']'", "in the list of values");
    }
}

static int field_rhs(struct parser *p, struct query_node *n)
{
    size_t pos = p->i;

    if (p->i < p->len && p->s[p->i] == '[')
        return parse_list(p, n);
    n->op = read_op(p);
    pos = p->i;
    if (p->i >= p->len || is_blank(p->s[p->i]) || p->s[p->i] == ')')
        return fail(p, pos, "a value after", pool_printf(p->pool, "'%s:'", n->field));
    n->values = pool_calloc(p->pool, 1, sizeof(*n->values));
    n->nvalues = 1;
    if (read_value(p, n->values, "") < 0)
        return -1;
    return typed_value(p, n, n->values, pos);
}

static struct query_node *parse_is(struct parser *p, size_t pos)
{
    struct query_node *n = new_node(p, Q_IS, pos);
    const char *why = NULL;

    if (n == NULL)
        return NULL;
    if (!(p->target & QUERY_ISSUES)) {
        fail(p, pos, "a field this search has", "(is: is for issues)");
        return NULL;
    }
    n->type = QT_STATUS;
    n->values = pool_calloc(p->pool, 1, sizeof(*n->values));
    n->nvalues = 1;
    if (read_value(p, n->values, "") < 0)
        return NULL;
    if (query__value(n->values, QT_STATUS, &why) < 0) {
        fail(p, pos + 3, why, NULL);
        return NULL;
    }
    return n;
}

static struct query_node *parse_has(struct parser *p, size_t pos)
{
    struct query_node *n = new_node(p, Q_HAS, pos);
    struct slice name;
    const struct query_field *f;
    const char *why = NULL;

    if (n == NULL)
        return NULL;
    name = read_bare(p, "");
    f = query__field(name.p, name.len, p->target, &n->field, p->pool, &why);
    if (f == NULL) {
        fail(p, pos + 4, why, "after 'has:'");
        return NULL;
    }
    n->type = f->type;
    return n;
}

static struct query_node *parse_field(struct parser *p, struct slice name, size_t pos)
{
    struct query_node *n;
    const struct query_field *f;
    const char *why = NULL;

    if (slice_eqi(name, "has"))
        return parse_has(p, pos);
    if (slice_eqi(name, "is"))
        return parse_is(p, pos);
    n = new_node(p, Q_FIELD, pos);
    if (n == NULL)
        return NULL;
    f = query__field(name.p, name.len, p->target, &n->field, p->pool, &why);
    if (f == NULL) {
        fail(p, pos, why, pool_printf(p->pool, "instead of '%.*s'", (int)name.len, name.p));
        return NULL;
    }
    n->type = f->type;
    return field_rhs(p, n) < 0 ? NULL : n;
}

static int count_word(void *arg, const char *w, size_t n)
{
    (void)w;
    (void)n;
    (*(size_t *)arg)++;
    return 0;
}

/* A free word or phrase; one that splits into several words is a phrase. */
static struct query_node *parse_text(struct parser *p, size_t pos)
{
    struct query_node *n = new_node(p, Q_WORD, pos);
    size_t words = 0;

    if (n == NULL)
        return NULL;
    n->values = pool_calloc(p->pool, 1, sizeof(*n->values));
    n->nvalues = 1;
    if (read_value(p, n->values, "") < 0)
        return NULL;
    query_words(n->values->text.p, n->values->text.len, count_word, &words);
    if (words == 0) {
        fail(p, pos, "a word with letters or digits", NULL);
        return NULL;
    }
    if (n->values->quoted || words > 1)
        n->kind = Q_PHRASE;
    if (n->kind == Q_PHRASE && n->values->prefix) {
        fail(p, pos, "* only at the end of a single word", NULL);
        return NULL;
    }
    return n;
}

static struct query_node *parse_term(struct parser *p)
{
    size_t pos = p->i, k = p->i;

    if (p->s[k] == '"')
        return parse_text(p, pos);
    if (p->s[k] == '*' && (k + 1 == p->len || ends_word(p->s[k + 1]))) {
        p->i++;
        return new_node(p, Q_AND, pos); /* a lone * matches everything */
    }
    while (k < p->len && is_field_char(p->s[k]))
        k++;
    /* field:value, but not a URL (http://...), which is a phrase of words. */
    if (k > pos && k < p->len && p->s[k] == ':' &&
        !(k + 2 < p->len && p->s[k + 1] == '/' && p->s[k + 2] == '/')) {
        struct slice name = { p->s + pos, k - pos };

        p->i = k + 1;
        return parse_field(p, name, pos);
    }
    return parse_text(p, pos);
}

static struct query_node *wrap(struct parser *p, int kind, size_t pos, struct query_node *kid)
{
    struct query_node *n = new_node(p, kind, pos);

    if (n == NULL)
        return NULL;
    n->kids = pool_alloc(p->pool, sizeof(*n->kids));
    n->kids[0] = kid;
    n->nkids = 1;
    return n;
}

static struct query_node *parse_unary(struct parser *p)
{
    struct query_node *n = NULL;
    size_t pos;

    if (at_end(p)) {
        fail(p, p->i, "a word, a phrase or field:value", "(the query ends here)");
        return NULL;
    }
    pos = p->i;
    if (++p->depth > QUERY_MAX_DEPTH) {
        fail(p, pos, "less nesting", NULL);
        return NULL;
    }
    if (at_keyword(p, "NOT") || (p->s[pos] == '-' && pos + 1 < p->len && !is_blank(p->s[pos + 1]) &&
                                 p->s[pos + 1] != ')')) {
        struct query_node *kid;

        p->i += p->s[pos] == '-' ? 1 : 3;
        kid = parse_unary(p);
        n = kid == NULL ? NULL : wrap(p, Q_NOT, pos, kid);
    } else if (p->s[pos] == '(') {
        p->i++;
        n = parse_or(p);
        if (n != NULL && (at_end(p) || p->s[p->i] != ')')) {
            fail(p, p->i, "')'", "to close the '(' at position");
            snprintf(p->err->msg, sizeof(p->err->msg),
                     "expected ')' at position %zu to close the '(' at position %zu", p->i, pos);
            n = NULL;
        }
        if (n != NULL)
            p->i++;
    } else if (p->s[pos] == ')') {
        fail(p, pos, "a word, a phrase or field:value", "before ')'");
    } else if (at_keyword(p, "AND") || at_keyword(p, "OR")) {
        fail(p, pos, "a word, a phrase or field:value", "before the operator");
    } else {
        n = parse_term(p);
    }
    p->depth--;
    return n;
}

/* Appends kid to an AND/OR node's kids, flattening (a AND b) AND c. */
static void add_kid(struct parser *p, struct query_node *n, struct query_node *kid, size_t *cap)
{
    if (kid->kind == n->kind && kid->nkids > 0) {
        for (size_t k = 0; k < kid->nkids; k++)
            add_kid(p, n, kid->kids[k], cap);
        return;
    }
    if (n->nkids == *cap) {
        struct query_node **nk = pool_alloc(p->pool, 2 * *cap * sizeof(*nk));

        memcpy(nk, n->kids, *cap * sizeof(*nk));
        n->kids = nk;
        *cap *= 2;
    }
    n->kids[n->nkids++] = kid;
}

/* Collects operands of one binary level; next parses an operand. */
static struct query_node *parse_level(struct parser *p, int kind,
                                      struct query_node *(*next)(struct parser *))
{
    struct query_node *first = next(p), *n;
    size_t cap = 4;

    if (first == NULL)
        return NULL;
    n = new_node(p, kind, first->pos);
    if (n == NULL)
        return NULL;
    n->kids = pool_alloc(p->pool, cap * sizeof(*n->kids));
    add_kid(p, n, first, &cap);
    for (;;) {
        struct query_node *kid;

        if (at_end(p) || p->s[p->i] == ')')
            break;
        if (kind == Q_OR) {
            if (!at_keyword(p, "OR"))
                break;
            p->i += 2;
        } else {
            if (at_keyword(p, "OR"))
                break;
            if (at_keyword(p, "AND"))
                p->i += 3;
        }
        kid = next(p);
        if (kid == NULL)
            return NULL;
        add_kid(p, n, kid, &cap);
    }
    return n->nkids == 1 ? first : n;
}

static struct query_node *parse_and(struct parser *p)
{
    return parse_level(p, Q_AND, parse_unary);
}

static struct query_node *parse_or(struct parser *p)
{
    return parse_level(p, Q_OR, parse_and);
}

int query_parse(const char *text, size_t len, int target, struct pool *pool,
                struct query_node **out, struct query_error *err)
{
    struct parser p = { text, len, 0, target, pool, 0, 0, err, 0 };
    struct query_node *n;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (len > QUERY_MAX_LEN) {
        fail(&p, QUERY_MAX_LEN, "a query of at most 4096 bytes", NULL);
        return BL_EPARSE;
    }
    if (memchr(text, '\0', len) != NULL) {
        fail(&p, (size_t)((const char *)memchr(text, '\0', len) - text), "text without NUL", NULL);
        return BL_EPARSE;
    }
    if (at_end(&p))
        return 0;
    n = parse_or(&p);
    if (n != NULL && !at_end(&p)) {
        fail(&p, p.i, "an operator or the end of the query",
             p.s[p.i] == ')' ? "(unmatched ')')" : NULL);
        n = NULL;
    }
    if (n == NULL)
        return BL_EPARSE;
    *out = n;
    return 0;
}
