/*
 * query_value.c - typed values (levels, numbers, times, statuses) and the
 * S-expression form of a tree.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "search/query_int.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/banned.h"

/* 15m, 24h, 7d, -24h, +2w: an offset from now; no sign means the past. */
static int parse_relative(struct slice t, int64_t *offset)
{
    static const struct {
        char unit;
        int64_t us;
    } units[] = { { 's', CLOCK_US_PER_SEC },
                  { 'm', 60 * CLOCK_US_PER_SEC },
                  { 'h', 3600 * CLOCK_US_PER_SEC },
                  { 'd', 86400 * CLOCK_US_PER_SEC },
                  { 'w', 7 * 86400 * CLOCK_US_PER_SEC } };
    int64_t sign = -1, n = 0;
    size_t i = 0;

    if (t.len > 0 && (t.p[0] == '-' || t.p[0] == '+'))
        sign = t.p[i++] == '+' ? 1 : -1;
    if (i + 2 > t.len)
        return -1;
    for (; i + 1 < t.len; i++) {
        if (t.p[i] < '0' || t.p[i] > '9' || n > 100000000)
            return -1;
        n = n * 10 + (t.p[i] - '0');
    }
    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
        if (t.p[t.len - 1] == units[k].unit) {
            *offset = sign * n * units[k].us;
            return 0;
        }
    return -1;
}

static int parse_time(struct query_value *v)
{
    struct slice t = v->text;
    char *end;
    long long secs;

    if (parse_relative(t, &v->time_us) == 0) {
        v->relative = 1;
        return 0;
    }
    if (clock_parse_rfc3339(t.p, t.len, &v->time_us) == 0)
        return 0;
    /* A date alone is its midnight, UTC. */
    if (t.len == 10 && t.p[4] == '-' && t.p[7] == '-') {
        char full[32];

        snprintf(full, sizeof(full), "%.10sT00:00:00Z", t.p);
        if (clock_parse_rfc3339(full, strlen(full), &v->time_us) == 0)
            return 0;
    }
    errno = 0;
    secs = strtoll(t.p, &end, 10);
    if (errno == 0 && end == t.p + t.len && secs > 0 && secs < INT64_C(100000000000)) {
        v->time_us = (int64_t)secs * CLOCK_US_PER_SEC;
        return 0;
    }
    return -1;
}

int query__value(struct query_value *v, int type, const char **why)
{
    char *end;

    switch (type) {
    case QT_LEVEL:
        if (ev_level_parse(v->text.p, v->text.len, &v->level) == 0)
            return 0;
        *why = "a level (trace, debug, info, warning, error, fatal)";
        return -1;
    case QT_NUMBER:
        errno = 0;
        v->number = strtod(v->text.p, &end);
        if (errno == 0 && end == v->text.p + v->text.len && isfinite(v->number))
            return 0;
        *why = "a number";
        return -1;
    case QT_TIME:
        if (parse_time(v) == 0)
            return 0;
        *why = "a time (RFC 3339, a date, epoch seconds, or relative like -24h)";
        return -1;
    case QT_STATUS:
        if (slice_eqi(v->text, "unresolved") || slice_eqi(v->text, "resolved") ||
            slice_eqi(v->text, "ignored"))
            return 0;
        *why = "unresolved, resolved or ignored after 'is:'";
        return -1;
    default:
        return 0;
    }
}

static int print_value(const struct query_value *v, struct buf *out)
{
    int rc = buf_add_json_str(out, v->text.p, v->text.len);

    return rc ? rc : v->prefix ? buf_addch(out, '*') : 0;
}

static int print_values(const struct query_node *n, struct buf *out)
{
    static const char *const ops[] = { "=", ">", ">=", "<", "<=" };
    int rc = buf_addf(out, " %s", n->nvalues > 1 ? "in" : ops[n->op]);

    for (size_t i = 0; rc == 0 && i < n->nvalues; i++) {
        rc = buf_addch(out, ' ');
        rc = rc ? rc : print_value(&n->values[i], out);
    }
    return rc;
}

int query_print(const struct query_node *n, struct buf *out)
{
    static const char *const names[] = { "",       "and",   "or",  "not", "word",
                                         "phrase", "field", "has", "is" };
    int rc;

    if (n == NULL)
        return buf_addstr(out, "(all)");
    if (n->kind == Q_AND && n->nkids == 0)
        return buf_addstr(out, "(all)");
    rc = buf_addf(out, "(%s", names[n->kind]);
    if (n->kind == Q_FIELD || n->kind == Q_HAS)
        rc = rc ? rc : buf_addf(out, " %s", n->field);
    if (n->kind == Q_FIELD)
        rc = rc ? rc : print_values(n, out);
    else if (n->kind == Q_WORD || n->kind == Q_PHRASE || n->kind == Q_IS) {
        rc = rc ? rc : buf_addch(out, ' ');
        rc = rc ? rc : print_value(n->values, out);
    }
    for (size_t i = 0; rc == 0 && i < n->nkids; i++) {
        rc = buf_addch(out, ' ');
        rc = rc ? rc : query_print(n->kids[i], out);
    }
    return rc ? rc : buf_addch(out, ')');
}
