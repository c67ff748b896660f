/*
 * store_sqlite_retention.c - how long events are kept, and what they take.
 *
 * DESIGN
 * A day file holds the events of every project for one UTC day, and
 * retention must not rewrite it (deleting rows from an FTS5 external-content
 * table costs as much as writing them). So retention has two halves:
 *   - the API cuts a project's events off at now - retention_days on every
 *     listing, search and lookup (api_search.c), so an expired line is gone
 *     the moment it expires;
 *   - retention_run (digest thread, between batches) unlinks a whole day
 *     file once every project with events in it has expired it, then, while
 *     the day files together exceed the disk budget, the oldest ones (never
 *     the newest), whatever their projects' retention says.
 * Issues, their counters and hourly counts live in bilor.db and stay.
 * A late event for a dropped day (timestamps are clamped to 30 days before
 * arrival) makes a new file, which the next run drops again.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define MAX_PROJECTS 100000

int sq_retention_get(struct store *st, int64_t project_id, int *days, struct bl_err *err)
{
    static const char sql[] = "SELECT retention_days FROM projects WHERE id = ?1";
    int64_t v = 0;
    struct sq_query q = { sql, "project", { SQ_INT(project_id) }, 1, sq_row_int64, &v };
    int rc = sq_read_one(sq_of(st), &q, err);

    *days = rc == 0 ? (int)v : STORE_RETENTION_DAYS_DEFAULT;
    return rc;
}

int sq_retention_set(struct store *st, int64_t project_id, int days, struct bl_err *err)
{
    static const char sql[] = "UPDATE projects SET retention_days = ?2 WHERE id = ?1";
    struct sq_store *s = sq_of(st);
    struct sq_query q = {
        sql, "set retention", { SQ_INT(project_id), SQ_INT(days) }, 2, NULL, NULL
    };
    int rc;

    if (days < 1 || days > STORE_RETENTION_DAYS_MAX)
        return bl_err_set(err, BL_EINVAL, "retention_days must be 1..%d", STORE_RETENTION_DAYS_MAX);
    pthread_mutex_lock(&s->admin_mu);
    rc = sq_query_each(s->admin, &q, err);
    if (rc == 0 && sqlite3_changes(s->admin->db) == 0)
        rc = bl_err_set(err, BL_ENOTFOUND, "no project %lld", (long long)project_id);
    pthread_mutex_unlock(&s->admin_mu);
    return rc;
}

int sq_set_issue_events_per_day(struct store *st, int64_t n)
{
    atomic_store(&sq_of(st)->issue_events_per_day, n > 0 ? n : 0);
    return 0;
}

/* Projects and their retention, for a run. */
struct keep {
    int64_t *ids;
    int *days;
    size_t n, cap;
};

static int keep_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct keep *k = ctx;

    (void)err;
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 64;
        k->ids = xrealloc(k->ids, k->cap * sizeof(*k->ids));
        k->days = xrealloc(k->days, k->cap * sizeof(*k->days));
    }
    k->ids[k->n] = sqlite3_column_int64(st, 0);
    k->days[k->n++] = sqlite3_column_int(st, 1);
    return k->n < MAX_PROJECTS ? 0 : 1;
}

static int days_of(const struct keep *k, int64_t pid)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->ids[i] == pid)
            return k->days[i];
    return 0; /* a deleted project keeps nothing */
}

/* Whether any project with events in day still keeps that day. */
struct day_check {
    const struct keep *k;
    int64_t day_end; /* µs */
    int64_t now;
    int kept;
};

static int check_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct day_check *c = ctx;
    int days = days_of(c->k, sqlite3_column_int64(st, 0));

    (void)err;
    if (c->day_end > c->now - (int64_t)days * CLOCK_US_PER_DAY) {
        c->kept = 1;
        return 1;
    }
    return 0;
}

static int day_kept(struct sq_store *s, const struct keep *k, int64_t day, int64_t now, int *kept,
                    struct bl_err *err)
{
    static const char sql[] = "SELECT DISTINCT project_id FROM events";
    static const char blocks_sql[] = "SELECT project_id FROM events"
                                     " UNION SELECT project_id FROM log_blocks";
    struct day_check c = { k, (day + 1) * CLOCK_US_PER_DAY, now, 0 };
    struct sq_query q = { sql, "retention", { { 0, 0, NULL } }, 0, check_row, &c };
    struct sq_conn *conn = NULL;
    int rc = sq_part_reader_get(s, day, &conn, err);

    *kept = 1;
    if (rc == BL_ENOTFOUND)
        return 0;
    if (rc == 0 && sq_has_blocks(conn))
        q.sql = blocks_sql;
    if (rc == 0)
        rc = sq_query_each(conn, &q, err);
    sq_part_reader_put(s, conn);
    if (rc == 0)
        *kept = c.kept;
    return rc;
}

static int64_t day_files(struct sq_store *s, int64_t day, int64_t key[4]);

/* The bytes of day's files (database and WAL) now. */
static int64_t day_bytes(struct sq_store *s, int64_t day)
{
    int64_t key[4];

    return day_files(s, day, key);
}

static int drop(struct sq_store *s, int64_t day, const char *why,
                struct store_retention_result *res, struct bl_err *err)
{
    int64_t bytes = day_bytes(s, day);
    int rc = sq_part_drop(s, day, err);

    if (rc == BL_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    res->days_dropped++;
    res->bytes_freed += bytes;
    log_info("retention: dropped the events of day %lld (%lld bytes): %s", (long long)day,
             (long long)bytes, why);
    return 0;
}

/* Oldest first: days is newest first, so walk it backwards. */
static int expire_days(struct sq_store *s, const struct keep *k, const int64_t *days, size_t nd,
                       int64_t now, struct store_retention_result *res, struct bl_err *err)
{
    int rc = 0;

    for (size_t i = nd; rc == 0 && i-- > 0;) {
        int kept = 1;

        rc = day_kept(s, k, days[i], now, &kept, err);
        if (rc == 0 && !kept)
            rc = drop(s, days[i], "past every project's retention", res, err);
    }
    return rc;
}

static int budget_days(struct sq_store *s, int64_t budget, struct store_retention_result *res,
                       struct bl_err *err)
{
    int64_t *days = NULL, total = 0;
    size_t nd = 0;
    int rc = sq_part_list(s, &days, &nd, err);

    for (size_t i = 0; rc == 0 && i < nd; i++)
        total += day_bytes(s, days[i]);
    /* the newest day always stays: it is being written */
    for (size_t i = nd; rc == 0 && total > budget && i-- > 1;) {
        int64_t b = day_bytes(s, days[i]);

        rc = drop(s, days[i], "over the disk budget", res, err);
        total -= b;
    }
    free(days);
    return rc;
}

int sq_retention_run(struct store *st, int64_t now_us, int64_t disk_budget,
                     struct store_retention_result *res, struct bl_err *err)
{
    static const char sql[] = "SELECT id, retention_days FROM projects";
    struct sq_store *s = sq_of(st);
    struct keep k = { NULL, NULL, 0, 0 };
    struct sq_query q = { sql, "retention", { { 0, 0, NULL } }, 0, keep_row, &k };
    int64_t *days = NULL;
    size_t nd = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = sq_read_each(s, &q, err);
    if (rc == 0)
        rc = sq_part_list(s, &days, &nd, err);
    if (rc == 0)
        rc = expire_days(s, &k, days, nd, now_us, res, err);
    if (rc == 0 && disk_budget > 0)
        rc = budget_days(s, disk_budget, res, err);
    free(days);
    free(k.ids);
    free(k.days);
    return rc;
}

/*
 * Usage. Counting a day file's rows per project scans an index of every
 * event of the day: ~100 ms for 418,000 events (stop 12), seconds for a
 * busy day, and /metrics asks at every scrape. So what was counted is kept
 * per day file with the files' sizes and times: unchanged files are not
 * counted again, and a file whose count took USAGE_SLOW_US or more is
 * counted again only after USAGE_AGE_PER_SCAN times that long (at most
 * USAGE_MAX_AGE_US), so a scraper costs the server at most ~1% of a core
 * whatever the day's size. Small files, the tests' among them, are counted
 * afresh whenever they changed. The bytes always come from the files as
 * they are now; only the projects' shares of them may be that old.
 */
#define USAGE_SLOW_US INT64_C(10000)
#define USAGE_AGE_PER_SCAN 100
#define USAGE_MAX_AGE_US (300 * CLOCK_US_PER_SEC)

struct usage_count {
    int64_t pid, rows;
};

/* What one count of a day file found, and of which files. */
struct sq_usage_day {
    int64_t day;
    int64_t key[4]; /* the database's and the WAL's size and mtime (ns) */
    int64_t at_us, scan_us;
    struct usage_count *v;
    size_t n, cap;
    int64_t total;
};

struct usage_rows {
    struct store_usage *v;
    size_t n, cap;
    int64_t want_pid;
};

/* Sizes and times of day's files (zeros when absent); returns their bytes. */
static int64_t day_files(struct sq_store *s, int64_t day, int64_t key[4])
{
    char path[SQ_PATH_MAX], wal[SQ_PATH_MAX + 8];
    struct stat sb;

    memset(key, 0, 4 * sizeof(*key));
    if (sq_part_path(s, day, path, sizeof(path)) != 0)
        return 0;
    if (stat(path, &sb) == 0) {
        key[0] = sb.st_size;
        key[1] = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    }
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &sb) == 0) {
        key[2] = sb.st_size;
        key[3] = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    }
    return key[0] + key[2] + sq_rawfile_size(path);
}

static int count_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct sq_usage_day *e = ctx;

    (void)err;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
    }
    e->v[e->n] = (struct usage_count){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1) };
    e->total += e->v[e->n++].rows;
    return 0;
}

/* Counts day's rows per project into e (emptied first); BL_ENOTFOUND: no such file. */
static int count_day(struct sq_store *s, int64_t day, struct sq_usage_day *e, struct bl_err *err)
{
    static const char sql[] = "SELECT project_id, count(*) FROM events GROUP BY project_id";
    /* log lines are counted by their blocks */
    static const char blocks_sql[] =
        "SELECT project_id, sum(n) FROM (SELECT project_id, count(*) AS n FROM events"
        " GROUP BY project_id UNION ALL SELECT project_id, sum(nlines) FROM log_blocks"
        " GROUP BY project_id) GROUP BY project_id";
    struct sq_query q = { sql, "usage", { { 0, 0, NULL } }, 0, count_row, e };
    struct sq_conn *c = NULL;
    int64_t started = clock_mono_us();
    int rc = sq_part_reader_get(s, day, &c, err);

    e->n = 0;
    e->total = 0;
    if (rc != 0)
        return rc;
    if (sq_has_blocks(c))
        q.sql = blocks_sql;
    rc = sq_query_each(c, &q, err);
    sq_part_reader_put(s, c);
    e->at_us = clock_mono_us();
    e->scan_us = e->at_us - started;
    return rc;
}

/* The cache's entry of day, made when missing; s->umu held. */
static struct sq_usage_day *cached_day(struct sq_store *s, int64_t day)
{
    for (size_t i = 0; i < s->nucache; i++)
        if (s->ucache[i].day == day)
            return &s->ucache[i];
    s->ucache = xrealloc(s->ucache, (s->nucache + 1) * sizeof(*s->ucache));
    s->ucache[s->nucache] = (struct sq_usage_day){ .day = day, .at_us = -1 };
    return &s->ucache[s->nucache++];
}

/* Whether e still answers for files now described by key (see Usage above). */
static int still_good(const struct sq_usage_day *e, const int64_t key[4], int64_t now)
{
    int64_t age = e->scan_us * USAGE_AGE_PER_SCAN;

    if (e->at_us < 0)
        return 0;
    if (memcmp(e->key, key, sizeof(e->key)) == 0)
        return 1;
    return e->scan_us >= USAGE_SLOW_US &&
           now - e->at_us < (age < USAGE_MAX_AGE_US ? age : USAGE_MAX_AGE_US);
}

/* Drops the entries of days no longer listed (dropped by retention); s->umu held. */
static void forget_gone(struct sq_store *s, const int64_t *days, size_t nd)
{
    size_t kept = 0;

    for (size_t i = 0; i < s->nucache; i++) {
        int listed = 0;

        for (size_t j = 0; j < nd && !listed; j++)
            listed = days[j] == s->ucache[i].day;
        if (listed)
            s->ucache[kept++] = s->ucache[i];
        else
            free(s->ucache[i].v);
    }
    s->nucache = kept;
}

/* Adds e's rows (of want_pid, or all) to u, with their shares of bytes. */
static void emit_day(struct usage_rows *u, const struct sq_usage_day *e, int64_t bytes)
{
    for (size_t i = 0; i < e->n; i++) {
        int64_t share;

        if (u->want_pid != 0 && e->v[i].pid != u->want_pid)
            continue;
        if (u->n == u->cap) {
            u->cap = u->cap ? u->cap * 2 : 64;
            u->v = xrealloc(u->v, u->cap * sizeof(*u->v));
        }
        share = e->total > 0 ? (int64_t)((double)bytes * (double)e->v[i].rows / (double)e->total)
                             : 0;
        u->v[u->n++] = (struct store_usage){ e->day * CLOCK_US_PER_DAY, e->v[i].pid, e->v[i].rows,
                                             share, bytes };
    }
}

/* day's rows, from the cache or counted now; s->umu held (one count at a time). */
static int usage_day(struct sq_store *s, struct usage_rows *u, int64_t day, struct bl_err *err)
{
    int64_t key[4], bytes = day_files(s, day, key);
    struct sq_usage_day *e = cached_day(s, day);
    int rc = 0;

    if (!still_good(e, key, clock_mono_us())) {
        rc = count_day(s, day, e, err);
        memcpy(e->key, key, sizeof(e->key));
        if (rc != 0)
            e->at_us = -1;
    }
    if (rc == 0)
        emit_day(u, e, bytes);
    return rc == BL_ENOTFOUND ? 0 : rc;
}

void sq_usage_free(struct sq_store *s)
{
    for (size_t i = 0; i < s->nucache; i++)
        free(s->ucache[i].v);
    free(s->ucache);
    s->ucache = NULL;
    s->nucache = 0;
}

int sq_usage(struct store *st, int64_t project_id, struct pool *pool, struct store_usage **out,
             size_t *n, struct bl_err *err)
{
    struct sq_store *s = sq_of(st);
    struct usage_rows u;
    int64_t *days = NULL;
    size_t nd = 0;
    int rc;

    memset(&u, 0, sizeof(u));
    u.want_pid = project_id;
    *out = NULL;
    *n = 0;
    rc = sq_part_list(s, &days, &nd, err);
    pthread_mutex_lock(&s->umu);
    if (rc == 0)
        forget_gone(s, days, nd);
    for (size_t i = nd; rc == 0 && i-- > 0;)
        rc = usage_day(s, &u, days[i], err);
    pthread_mutex_unlock(&s->umu);
    if (rc == 0 && u.n > 0) {
        *out = pool_memdup(pool, u.v, u.n * sizeof(*u.v));
        *n = u.n;
    }
    free(u.v);
    free(days);
    return rc;
}
