/*
 * store_sqlite_seen.c - where issues were seen: the environments and
 * releases of their events (bilor.db's issue_seen, main migration 9).
 *
 * DESIGN
 * The issues page filters by environment and release the way Sentry does:
 * an issue is shown when at least one of its events came from there. The
 * events that say so live in the day files, which an issue listing must
 * not scan, so bilor.db keeps one row per (issue, kind, value) with the
 * first and last time and the number of events counted with it
 * (issue_seen: the listing's filter is an EXISTS on its key), and one per
 * (project, kind, value) with the same and how many issues have it
 * (project_seen: the page's environment and release menus read a few rows,
 * not every issue's). One table per level with a kind column rather than
 * one per kind: environments and releases are the same fact about an
 * event, written by one statement, read by one filter and one listing; a
 * third kind (say server) would need no new schema.
 *
 * Written by write_batch's step 4 (sq_write_counts), in the bilor.db
 * transaction that counts the same events into their issues, so the rows
 * follow the issue counters through crashes and replays exactly. Per
 * batch the values are aggregated first (sort, run length): one UPSERT per
 * distinct (issue, kind, value) and one per distinct (project, kind,
 * value), not per event; an issue row that had to be inserted is one
 * more issue of the project's value. Like the issue counters and
 * hourly counts the rows stay when retention drops the events (issues are
 * never deleted), so a filter means "had events there".
 *
 * Backfill: migration 9 creates the tables and snapshots each node's
 * checkpoint into seen_backfill. The events below those checkpoints were
 * counted into issues before the tables existed; everything at or past
 * them is counted by a binary that writes them. At open, when
 * seen_backfill exists, sq_seen_backfill aggregates those older events
 * from every day file into the tables and drops seen_backfill, in one
 * bilor.db transaction: a crash redoes it whole, a second process finds
 * the bound gone. Events thinned or dropped by retention are not there to
 * count, so old rows may undercount times_seen; new events count exactly.
 *
 * Values longer than SEEN_VALUE_MAX bytes are not recorded (Sentry limits
 * environments to 64 bytes and releases to 200).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define SEEN_VALUE_MAX 200
#define SEEN_LIST_MAX 1000
#define SEEN_NODES_MAX 4096

/* One (issue, kind, value) seen n more times between first and last. */
struct seen_add {
    int64_t issue;
    int64_t project;
    int kind;
    const char *value;
    int64_t first, last, n;
    int64_t fresh; /* issues that had not been seen with the value */
};

/*
 * The issue's row: an UPDATE, and an INSERT when there was none, which
 * says the issue is new to the value (a->fresh). Cheaper than an UPSERT
 * with RETURNING (twice the cost, measured) or a trigger counting into the
 * project's row, as nearly every call finds its row.
 */
static int add_issue(struct sq_conn *c, struct seen_add *a, struct bl_err *err)
{
    static const char update_sql[] =
        "UPDATE issue_seen SET first_seen = min(first_seen, ?4), last_seen = max(last_seen, ?5),"
        " times_seen = times_seen + ?6 WHERE issue_id = ?1 AND kind = ?2 AND value = ?3";
    static const char insert_sql[] =
        "INSERT INTO issue_seen(issue_id, kind, value, first_seen, last_seen, times_seen)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    struct sq_query q = { update_sql,
                          "issue seen",
                          { SQ_INT(a->issue), SQ_INT(a->kind), SQ_TEXT(a->value), SQ_INT(a->first),
                            SQ_INT(a->last), SQ_INT(a->n) },
                          6,
                          NULL,
                          NULL };
    int rc = sq_query_each(c, &q, err);

    a->fresh = 0;
    if (rc != 0 || sqlite3_changes(c->db) > 0)
        return rc;
    a->fresh = 1;
    q.sql = insert_sql;
    return sq_query_each(c, &q, err);
}

/* The project's row: first and last time, events, and the issues new to the value. */
static int add_project(struct sq_conn *c, const struct seen_add *a, struct bl_err *err)
{
    static const char sql[] =
        "INSERT INTO project_seen(project_id, kind, value, first_seen, last_seen, times_seen,"
        " issues) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " ON CONFLICT(project_id, kind, value) DO UPDATE SET"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen),"
        " times_seen = times_seen + excluded.times_seen, issues = issues + excluded.issues";
    struct sq_query q = { sql,
                          "project seen",
                          { SQ_INT(a->project), SQ_INT(a->kind), SQ_TEXT(a->value),
                            SQ_INT(a->first), SQ_INT(a->last), SQ_INT(a->n), SQ_INT(a->fresh) },
                          7,
                          NULL,
                          NULL };

    return sq_query_each(c, &q, err);
}

/* Write path. */

static int cmp_value(const struct seen_add *a, const struct seen_add *b)
{
    if (a->kind != b->kind)
        return a->kind - b->kind;
    return strcmp(a->value, b->value);
}

static int cmp_issue(const void *pa, const void *pb)
{
    const struct seen_add *a = pa, *b = pb;

    if (a->issue != b->issue)
        return a->issue < b->issue ? -1 : 1;
    return cmp_value(a, b);
}

static int cmp_project(const void *pa, const void *pb)
{
    const struct seen_add *a = pa, *b = pb;

    if (a->project != b->project)
        return a->project < b->project ? -1 : 1;
    return cmp_value(a, b);
}

static int recordable(const char *v)
{
    return v != NULL && v[0] != '\0' && strlen(v) <= SEEN_VALUE_MAX;
}

/* Runs of equal keys (by cmp) merged into their first: times widened, counts summed. */
static size_t merge_runs(struct seen_add *v, size_t n, int (*cmp)(const void *, const void *))
{
    size_t out = 0;

    qsort(v, n, sizeof(*v), cmp);
    for (size_t i = 0; i < n; i++) {
        struct seen_add *o = &v[out > 0 ? out - 1 : 0];

        if (out == 0 || cmp(o, &v[i]) != 0) {
            v[out++] = v[i];
            continue;
        }
        o->first = v[i].first < o->first ? v[i].first : o->first;
        o->last = v[i].last > o->last ? v[i].last : o->last;
        o->n += v[i].n;
        o->fresh += v[i].fresh;
    }
    return out;
}

/*
 * The batch's counted issue events: one row per (issue, kind, value), then
 * one per (project, kind, value) with the issues that were new to it.
 */
int sq_write_seen(struct sq_wctx *w, struct bl_err *err)
{
    struct seen_add *v = xcalloc(2 * w->n + 1, sizeof(*v));
    size_t i, nv = 0;
    int rc = 0;

    for (i = 0; i < w->n; i++) {
        const struct event *e = &w->ev[i];
        const char *vals[2] = { e->environment, e->release };

        if (!w->counted[i] || w->group[i] < 0)
            continue;
        for (int kind = 0; kind < 2; kind++)
            if (recordable(vals[kind]))
                v[nv++] = (struct seen_add){ e->issue_id, e->project_id, kind, vals[kind],
                                             w->ts[i],    w->ts[i],      1,    0 };
    }
    nv = merge_runs(v, nv, cmp_issue);
    for (i = 0; i < nv && rc == 0; i++)
        rc = add_issue(w->s->w, &v[i], err);
    if (rc == 0)
        nv = merge_runs(v, nv, cmp_project);
    for (i = 0; i < nv && rc == 0; i++)
        rc = add_project(w->s->w, &v[i], err);
    free(v);
    return rc;
}

/* Backfill (migration 9). */

struct node_upto {
    int64_t node[SEEN_NODES_MAX];
    int64_t upto[SEEN_NODES_MAX];
    size_t n;
};

static int upto_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct node_upto *u = ctx;

    if (u->n == SEEN_NODES_MAX)
        return bl_err_set(err, BL_ESTORE, "backfill: more than %d nodes", SEEN_NODES_MAX);
    u->node[u->n] = sqlite3_column_int64(st, 0);
    u->upto[u->n++] = sqlite3_column_int64(st, 1);
    return 0;
}

/* Adds one aggregated row of a day file to both tables. */
static int backfill_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    const char *v = (const char *)sqlite3_column_text(st, 2);
    struct seen_add a = { sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                          sqlite3_column_int(st, 6),   v,
                          sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
                          sqlite3_column_int64(st, 5), 0 };
    int rc;

    if (v == NULL || sqlite3_column_bytes(st, 2) > SEEN_VALUE_MAX)
        return 0;
    rc = add_issue(ctx, &a, err);
    return rc == 0 ? add_project(ctx, &a, err) : rc;
}

/*
 * ?1 node, ?2 upto. Day files before day migration 2 have no node column:
 * their rows are node 1's (that migration says so).
 */
#define BACKFILL(col, kind, node)                                                                  \
    "SELECT issue_id, min(project_id), " col ", min(timestamp), max(timestamp), count(*), " kind   \
    " FROM events WHERE issue_id <> 0 AND " node " AND lsn < ?2 AND coalesce(" col ", '') <> ''"   \
    " GROUP BY issue_id, " col

static const char *const backfill_sql[2][2] = {
    { BACKFILL("environment", "0", "?1 = 1"), BACKFILL("release", "1", "?1 = 1") },
    { BACKFILL("environment", "0", "node = ?1"), BACKFILL("release", "1", "node = ?1") },
};

static int backfill_day(struct sq_store *s, int64_t day, const struct node_upto *u,
                        struct bl_err *err)
{
    char path[SQ_PATH_MAX];
    struct sq_conn *c = NULL;
    int64_t version = 0;
    struct sq_query vq = { "SELECT value FROM part_meta WHERE key = 'schema_version'",
                           "day version",
                           { { 0 } },
                           0,
                           sq_row_int64,
                           &version };
    int rc = sq_part_path(s, day, path, sizeof(path));

    if (rc == 0)
        rc = sq_conn_open(path, SQ_OPEN_READER, &c, err);
    if (rc == 0)
        rc = sq_query_one(c, &vq, err);
    for (size_t i = 0; rc == 0 && i < u->n; i++) {
        for (int kind = 0; rc == 0 && kind < 2; kind++) {
            struct sq_query q = { backfill_sql[version >= 2][kind],
                                  "backfill",
                                  { SQ_INT(u->node[i]), SQ_INT(u->upto[i]) },
                                  2,
                                  backfill_row,
                                  s->w };

            rc = sq_query_each(c, &q, err);
        }
    }
    sq_conn_close(c);
    return rc;
}

int sq_seen_backfill(struct sq_store *s, struct bl_err *err)
{
    static const char has_sql[] = "SELECT count(*) FROM sqlite_master WHERE name = 'seen_backfill'";
    static const char upto_sql[] = "SELECT node, upto FROM seen_backfill";
    struct node_upto *u = NULL;
    int64_t has = 0, *days = NULL;
    size_t ndays = 0;
    struct sq_query q = { has_sql, "backfill", { { 0 } }, 0, sq_row_int64, &has };
    int64_t t0 = clock_mono_us();
    int rc = sq_query_one(s->w, &q, err);

    if (rc != 0 || has == 0)
        return rc;
    rc = sq_exec(s->w, "BEGIN IMMEDIATE", err);
    if (rc != 0)
        return rc;
    rc = sq_query_one(s->w, &q, err); /* another process may have done it meanwhile */
    if (rc == 0 && has != 0) {
        u = xcalloc(1, sizeof(*u));
        q = (struct sq_query){ upto_sql, "backfill", { { 0 } }, 0, upto_row, u };
        rc = sq_query_each(s->w, &q, err);
        if (rc == 0)
            rc = sq_part_list(s, &days, &ndays, err);
        if (rc == 0 && ndays > 0)
            log_info("upgrade: reading where issues were seen from %zu day files", ndays);
        for (size_t i = 0; rc == 0 && i < ndays; i++) {
            struct bl_err derr = { 0 };

            /*
             * An unreadable day file must not keep the server from
             * starting: its issues only miss their filter rows.
             */
            if (backfill_day(s, days[i], u, &derr) != 0)
                log_warn("upgrade: day file %lld skipped for where issues were seen: %s",
                         (long long)days[i], bl_err_msg(&derr));
        }
        if (rc == 0)
            rc = sq_exec(s->w, "DROP TABLE seen_backfill", err);
        if (rc == 0 && ndays > 0)
            log_info("upgrade: where issues were seen: done in %lld ms",
                     (long long)((clock_mono_us() - t0) / 1000));
    }
    free(days);
    free(u);
    if (rc == 0)
        return sq_exec(s->w, "COMMIT", err);
    sqlite3_exec(s->w->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Listings. */

struct seen_rows {
    struct pool *pool;
    struct store_seen *v;
    size_t n, cap;
};

static int seen_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct seen_rows *r = ctx;
    struct store_seen *x = &r->v[r->n++];

    (void)err;
    x->kind = sqlite3_column_int(st, 0);
    x->value = sq_col_str(r->pool, st, 1);
    if (x->value == NULL)
        x->value = "";
    x->first_seen = sqlite3_column_int64(st, 2);
    x->last_seen = sqlite3_column_int64(st, 3);
    x->times_seen = sqlite3_column_int64(st, 4);
    x->issues = sqlite3_column_int64(st, 5);
    return r->n < r->cap ? 0 : 1;
}

int sq_seen_list(struct store *st, int64_t project_id, int64_t issue_id, int kind, size_t limit,
                 struct pool *pool, struct store_seen **out, size_t *n, struct bl_err *err)
{
    static const char issue_sql[] =
        "SELECT kind, value, first_seen, last_seen, times_seen, 1 FROM issue_seen"
        " WHERE issue_id = ?1 AND (?2 < 0 OR kind = ?2) ORDER BY last_seen DESC, value LIMIT ?3";
    /* kind = ?2 by itself, so that the key narrows to one kind's rows */
#define PROJECT_SEEN(kind)                                                                         \
    "SELECT kind, value, first_seen, last_seen, times_seen, issues FROM project_seen"              \
    " WHERE project_id = ?1 AND " kind " ORDER BY last_seen DESC, value LIMIT ?3"
    static const char project_sql[] = PROJECT_SEEN("kind = ?2");
    static const char project_any_sql[] = PROJECT_SEEN("?2 < 0");
    struct seen_rows r = { pool, NULL, 0, limit };
    struct sq_query q = { issue_id > 0 ? issue_sql
                          : kind >= 0  ? project_sql
                                       : project_any_sql,
                          "seen",
                          { SQ_INT(issue_id > 0 ? issue_id : project_id), SQ_INT(kind),
                            SQ_INT(limit) },
                          3,
                          seen_row,
                          &r };
    int rc;

    *out = NULL;
    *n = 0;
    if (limit < 1 || limit > SEEN_LIST_MAX)
        return bl_err_set(err, BL_EINVAL, "limit must be 1..%d", SEEN_LIST_MAX);
    if (kind < -1 || kind > STORE_SEEN_RELEASE)
        return bl_err_set(err, BL_EINVAL, "bad kind %d", kind);
    r.v = pool_calloc(pool, limit, sizeof(*r.v));
    rc = sq_read_each(sq_of(st), &q, err);
    if (rc != 0)
        return rc;
    *out = r.v;
    *n = r.n;
    return 0;
}

/* The issue listing's filters. */

/* A LIKE pattern (ESCAPE '\') for an exact or prefix value. */
static const char *like_of(struct pool *pool, const char *v, int prefix)
{
    size_t len = strlen(v);
    char *p = pool_alloc(pool, len * 2 + 2), *o = p;

    for (size_t i = 0; i < len; i++) {
        if (v[i] == '%' || v[i] == '_' || v[i] == '\\')
            *o++ = '\\';
        *o++ = v[i];
    }
    if (prefix)
        *o++ = '%';
    *o = '\0';
    return p;
}

/* col compared with the filter's values, which are ?first..?first+n-1. */
static void values_sql(struct buf *sql, const char *col, const struct store_seen_filter *f,
                       size_t first)
{
    buf_addch(sql, '(');
    for (size_t i = 0; i < f->nvalues; i++)
        buf_addf(sql, "%s%s%s?%zu%s", i > 0 ? " OR " : "", col, f->nocase ? " LIKE " : " = ",
                 first + i, f->nocase ? " ESCAPE '\\'" : "");
    if (f->nvalues == 0)
        buf_addf(sql, "coalesce(%s, '') <> ''", col);
    buf_addch(sql, ')');
}

static int check_filter(const struct store_seen_filter *f, struct bl_err *err)
{
    if (f->kind != STORE_SEEN_ENVIRONMENT && f->kind != STORE_SEEN_RELEASE)
        return bl_err_set(err, BL_EINVAL, "bad filter kind %d", f->kind);
    if (f->nvalues > STORE_SEEN_VALUES_MAX || (f->nvalues > 0 && f->values == NULL))
        return bl_err_set(err, BL_EINVAL, "at most %d values per filter", STORE_SEEN_VALUES_MAX);
    for (size_t i = 0; i < f->nvalues; i++) {
        if (f->values[i] == NULL)
            return bl_err_set(err, BL_EINVAL, "a filter value is missing");
        if (!f->nocase && f->prefix != NULL && f->prefix[i])
            return bl_err_set(err, BL_EINVAL, "a prefix filter must be case-insensitive");
        for (const char *p = f->values[i]; f->nocase && *p != '\0'; p++)
            if ((unsigned char)*p >= 0x80)
                return bl_err_set(err, BL_EINVAL, "case-insensitive filter values must be ASCII");
    }
    return 0;
}

int sq_seen_where(const struct store_issue_query *q, struct pool *pool, struct buf *sql,
                  struct sq_arg *args, size_t *nargs, size_t cap, struct bl_err *err)
{
    if (q->nseen > STORE_SEEN_FILTERS_MAX || (q->nseen > 0 && q->seen == NULL))
        return bl_err_set(err, BL_EINVAL, "at most %d issue filters", STORE_SEEN_FILTERS_MAX);
    for (size_t i = 0; i < q->nseen; i++) {
        const struct store_seen_filter *f = &q->seen[i];
        size_t first = *nargs + 1;
        int rc = check_filter(f, err);

        if (rc != 0)
            return rc;
        if (*nargs + f->nvalues > cap)
            return bl_err_set(err, BL_EINVAL, "too many filter values");
        for (size_t k = 0; k < f->nvalues; k++) {
            const char *v = f->values[k];

            if (f->nocase)
                v = like_of(pool, v, f->prefix != NULL && f->prefix[k]);
            args[(*nargs)++] = (struct sq_arg)SQ_TEXT(v);
        }
        buf_addf(sql,
                 " AND %s(EXISTS(SELECT 1 FROM issue_seen s WHERE s.issue_id = issues.id"
                 " AND s.kind = %d AND ",
                 f->negate ? "NOT " : "", f->kind);
        values_sql(sql, "s.value", f, first);
        buf_addch(sql, ')');
        if (f->kind == STORE_SEEN_RELEASE) {
            buf_addstr(sql, " OR ");
            values_sql(sql, "first_release", f, first);
            buf_addstr(sql, " OR ");
            values_sql(sql, "last_release", f, first);
        }
        buf_addch(sql, ')');
    }
    return 0;
}
