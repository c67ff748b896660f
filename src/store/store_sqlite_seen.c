/*
 * store_sqlite_seen.c - where issues were seen: the environments and
 * releases of their events (bilor.db's issue_seen, main migration 9).
 *
 * DESIGN
 * The issues page filters by environment and release the way Sentry does:
 * an issue is shown when at least one of its events came from there. The
 * events that say so live in the day files, which an issue listing must
 * not scan, so bilor.db keeps one row per (issue, kind, value) with the
 * first and last time and the number of events counted with it. One table
 * with a kind column rather than one per kind: both are the same fact
 * about an event, written by one statement, read by one filter and one
 * listing, and a third kind (say server) would need no new schema.
 *
 * Written by write_batch's step 4 (sq_write_counts), in the bilor.db
 * transaction that counts the same events into their issues, so the rows
 * follow the issue counters through crashes and replays exactly. Per
 * batch the values are aggregated first (sort, run length): one UPSERT per
 * distinct (issue, kind, value), not per event. Like the issue counters
 * and hourly counts they stay when retention drops the events (issues are
 * never deleted), so a filter means "had events there".
 *
 * Backfill: migration 9 creates the table and snapshots each node's
 * checkpoint into seen_backfill. The events below those checkpoints were
 * counted into issues before the table existed; everything at or past them
 * is counted by a binary that writes the table. At open, when
 * seen_backfill exists, sq_seen_backfill aggregates those older events
 * from every day file into the table and drops seen_backfill, in one
 * bilor.db transaction: a crash redoes it whole, a second process finds
 * the table gone. Events thinned or dropped by retention are not there to
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

static const char upsert_sql[] =
    "INSERT INTO issue_seen(issue_id, kind, value, project_id, first_seen, last_seen, times_seen)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(issue_id, kind, value) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen),"
    " times_seen = times_seen + excluded.times_seen";

static int upsert(struct sq_conn *c, int64_t issue, int kind, const char *value, int64_t project,
                  int64_t first, int64_t last, int64_t n, struct bl_err *err)
{
    struct sq_query q = { upsert_sql,
                          "issue seen",
                          { SQ_INT(issue), SQ_INT(kind), SQ_TEXT(value), SQ_INT(project),
                            SQ_INT(first), SQ_INT(last), SQ_INT(n) },
                          7,
                          NULL,
                          NULL };

    return sq_query_each(c, &q, err);
}

/* Write path. */

struct seen_key {
    int64_t issue;
    int kind;
    const char *value;
    size_t k; /* event index */
};

static int cmp_key(const void *pa, const void *pb)
{
    const struct seen_key *a = pa, *b = pb;

    if (a->issue != b->issue)
        return a->issue < b->issue ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    return strcmp(a->value, b->value);
}

static int recordable(const char *v)
{
    return v != NULL && v[0] != '\0' && strlen(v) <= SEEN_VALUE_MAX;
}

int sq_write_seen(struct sq_wctx *w, struct bl_err *err)
{
    struct seen_key *keys = xcalloc(2 * w->n + 1, sizeof(*keys));
    size_t i, j, nk = 0;
    int rc = 0;

    for (i = 0; i < w->n; i++) {
        const struct event *e = &w->ev[i];

        if (!w->counted[i] || w->group[i] < 0)
            continue;
        if (recordable(e->environment))
            keys[nk++] = (struct seen_key){ e->issue_id, STORE_SEEN_ENVIRONMENT, e->environment,
                                            i };
        if (recordable(e->release))
            keys[nk++] = (struct seen_key){ e->issue_id, STORE_SEEN_RELEASE, e->release, i };
    }
    qsort(keys, nk, sizeof(*keys), cmp_key);
    for (i = 0; i < nk && rc == 0; i = j) {
        int64_t first = w->ts[keys[i].k], last = first;

        for (j = i + 1; j < nk && cmp_key(&keys[i], &keys[j]) == 0; j++) {
            int64_t t = w->ts[keys[j].k];

            first = t < first ? t : first;
            last = t > last ? t : last;
        }
        rc = upsert(w->s->w, keys[i].issue, keys[i].kind, keys[i].value,
                    w->ev[keys[i].k].project_id, first, last, (int64_t)(j - i), err);
    }
    free(keys);
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

/* Copies one aggregated row of a day file into bilor.db. */
static int backfill_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    const char *v = (const char *)sqlite3_column_text(st, 2);

    if (v == NULL || sqlite3_column_bytes(st, 2) > SEEN_VALUE_MAX)
        return 0;
    return upsert(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int(st, 6), v,
                  sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 3),
                  sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5), err);
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
        for (size_t i = 0; rc == 0 && i < ndays; i++)
            rc = backfill_day(s, days[i], u, err);
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
    static const char project_sql[] =
        "SELECT kind, value, min(first_seen), max(last_seen), sum(times_seen), count(*)"
        " FROM issue_seen WHERE project_id = ?1 AND (?2 < 0 OR kind = ?2)"
        " GROUP BY kind, value ORDER BY 4 DESC, value LIMIT ?3";
    struct seen_rows r = { pool, NULL, 0, limit };
    struct sq_query q = { issue_id > 0 ? issue_sql : project_sql,
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
