/*
 * store_sqlite_logs_eval.c - what a log line's timestamp, level, PLAIN flag
 * and fields blob say about a query before its payload is read (yes, no or
 * maybe), and what a block's level mask says about all its lines: the
 * conditions store_sqlite_search.c lowers to exact SQL on the columns,
 * decided the same way for lines in blocks (store_sqlite_logs_read.c).
 */
#include <stdint.h>
#include <string.h>

#include "search/query.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "store/sqlite_logs_int.h"
#include "core/banned.h"

static int cmp_op(int64_t a, int op, int64_t b)
{
    switch (op) {
    case Q_GT:
        return a > b;
    case Q_GE:
        return a >= b;
    case Q_LT:
        return a < b;
    case Q_LE:
        return a <= b;
    default:
        return a == b;
    }
}

/* The fields of the fields blob, by the search language's names (lb_field_str's order). */
static const char *const field_names[LB_NFIELDS] = { "logger", "release", "environment", "host",
                                                     "service" };

static int field_index(const char *field)
{
    for (int f = 0; f < LB_NFIELDS; f++)
        if (strcmp(field_names[f], field) == 0)
            return f;
    return -1;
}

/* A line's fields as query_match asks for them: the values the document would give. */
static size_t fields_get(const void *doc, const char *field, struct slice *vals, size_t max)
{
    const struct sq_pv *v = doc;
    int f = field_index(field);
    const char *s = NULL;
    size_t n = 0;

    if (f < 0 || max == 0 || lb_fields_get(v->fl, f, v->i, &s, &n) <= 0)
        return 0;
    vals[0] = (struct slice){ s, n };
    return 1;
}

/*
 * A condition on logger, release, environment or host, decided by the
 * reference evaluator itself on the values of the fields blob (the stored
 * columns, which the document reads or, for host, normalizes the same
 * way), unless the line's value is not in the blob.
 */
static int pre_field(const struct query_node *n, const struct sq_pv *v)
{
    int f = field_index(n->field);
    const char *s;
    size_t len;

    if (f < 0 || v->fl == NULL || lb_fields_get(v->fl, f, v->i, &s, &len) < 0)
        return SQ_PV_MAYBE;
    return query_match(n, fields_get, v, v->now) ? SQ_PV_YES : SQ_PV_NO;
}

/* Whether the query has a condition pre_field may decide. */
int sq_has_field_cond(const struct query_node *n)
{
    if (n == NULL)
        return 0;
    if ((n->kind == Q_FIELD || n->kind == Q_HAS) && field_index(n->field) >= 0)
        return 1;
    for (size_t i = 0; i < n->nkids; i++)
        if (sq_has_field_cond(n->kids[i]))
            return 1;
    return 0;
}

/* Whether the query has a level condition anywhere. */
int sq_has_level_cond(const struct query_node *n)
{
    if (n == NULL)
        return 0;
    if (n->kind == Q_FIELD && n->type == QT_LEVEL)
        return 1;
    for (size_t i = 0; i < n->nkids; i++)
        if (sq_has_level_cond(n->kids[i]))
            return 1;
    return 0;
}

int sq_pre_eval(const struct query_node *n, const struct sq_pv *v)
{
    int r, k;

    if (n == NULL || n == v->yes)
        return SQ_PV_YES;
    switch (n->kind) {
    case Q_AND:
    case Q_OR:
        r = n->kind == Q_AND ? SQ_PV_YES : SQ_PV_NO;
        for (size_t i = 0; i < n->nkids; i++) {
            k = sq_pre_eval(n->kids[i], v);
            if (k == (n->kind == Q_AND ? SQ_PV_NO : SQ_PV_YES))
                return k;
            if (k == SQ_PV_MAYBE)
                r = SQ_PV_MAYBE;
        }
        return r;
    case Q_NOT:
        k = sq_pre_eval(n->kids[0], v);
        return k == SQ_PV_MAYBE ? k : k == SQ_PV_YES ? SQ_PV_NO : SQ_PV_YES;
    case Q_HAS:
        return strcmp(n->field, "level") == 0 || strcmp(n->field, "timestamp") == 0
                   ? SQ_PV_YES
                   : pre_field(n, v);
    case Q_FIELD:
        if (n->type == QT_LEVEL) {
            for (size_t i = 0; i < n->nvalues; i++)
                if (cmp_op(v->level, n->op, n->values[i].level))
                    return SQ_PV_YES;
            return SQ_PV_NO;
        }
        if (n->type == QT_TIME && strcmp(n->field, "timestamp") == 0) {
            if (v->no_ts)
                return SQ_PV_MAYBE;
            for (size_t i = 0; i < n->nvalues; i++) {
                const struct query_value *x = &n->values[i];

                if (cmp_op(v->ts, n->op, x->relative ? v->now + x->time_us : x->time_us))
                    return SQ_PV_YES;
            }
            return SQ_PV_NO;
        }
        return pre_field(n, v);
    default:
        return SQ_PV_MAYBE;
    }
}

/*
 * Whether a block whose lines have the levels of mask may hold a match:
 * the query asked for each of those levels with nothing else known (so
 * `word level:warning` skips every block without a warning line before
 * its lines blob is read).
 */
int sq_levels_may_match(const struct query_node *q, unsigned mask, int64_t now)
{
    if (q == NULL || (mask >> EV__NLEVELS) != 0)
        return 1; /* a level the model has no name for: ask the lines */
    for (int l = 0; l < EV__NLEVELS; l++) {
        struct sq_pv v = { 0, l, now, NULL, NULL, 0, 1 };

        if ((mask >> l & 1u) && sq_pre_eval(q, &v) != SQ_PV_NO)
            return 1;
    }
    return 0;
}

/* Whether a query says nothing but levels (then per-minute counts answer it). */
int sq_levels_only(const struct query_node *n)
{
    if (n == NULL)
        return 1;
    if (n->kind == Q_AND || n->kind == Q_OR || n->kind == Q_NOT) {
        for (size_t i = 0; i < n->nkids; i++)
            if (!sq_levels_only(n->kids[i]))
                return 0;
        return 1;
    }
    return (n->kind == Q_FIELD && n->type == QT_LEVEL) ||
           (n->kind == Q_HAS && strcmp(n->field, "level") == 0);
}
