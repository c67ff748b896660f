/*
 * Day-file migration 7 (store_sqlite_schema.c): a new day file has no
 * events_kind_ts index (a partial one on log rows instead) and an
 * events_fts without column sizes; a file an older binary left keeps its
 * layout and is read and written as before. The plans of the listings and
 * histograms that used the dropped index (their SQL as the store builds
 * it) are checked with EXPLAIN QUERY PLAN on both layouts. Also the rows'
 * tags as JSON (sq_tags_json, store_sqlite_text.c), and the issue rows the
 * writer remembers between batches (store_sqlite_group.c).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "t.h"
#include "t_sqlite.h"
#include "t_store.h"

#define NODE "node-1"
#define COLS "SELECT e.id, e.timestamp, e.level FROM events e"
#define KEYSET                                                                                     \
    " AND e.timestamp >= 0 AND e.timestamp <= 9e18 AND (e.timestamp < 9e18 OR e.id < 9e18)"        \
    " ORDER BY e.timestamp DESC, e.id DESC LIMIT 50"

static int64_t file_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The details of sql's EXPLAIN QUERY PLAN on path, joined by "; ". */
static void plan_of(const char *path, const char *sql, char *out, size_t outsz)
{
    char eqp[2048];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    size_t n = 0;

    out[0] = '\0';
    snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
    CHECK_INT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_prepare_v2(db, eqp, -1, &st, NULL), SQLITE_OK);
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW && n + 1 < outsz) {
        int k = snprintf(out + n, outsz - n, "%s; ", (const char *)sqlite3_column_text(st, 3));

        if (k > 0)
            n += (size_t)k < outsz - n ? (size_t)k : outsz - n - 1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void check_plan(const char *path, const char *sql, const char *want, const char * not )
{
    char plan[4096];

    plan_of(path, sql, plan, sizeof(plan));
    if (strstr(plan, want) == NULL || (not != NULL && strstr(plan, not ) != NULL))
        fprintf(stderr, "%s\n  plan: %s\n  want: %s\n", sql, plan, want);
    CHECK(strstr(plan, want) != NULL);
    if (not != NULL)
        CHECK(strstr(plan, not ) == NULL);
}

/* The listings and histograms of store_sqlite_read.c and store_sqlite_search.c, by plan. */
static void check_plans(const char *path, int layout)
{
    /* a log listing or histogram (search: the kind a literal) */
    check_plan(path, COLS " WHERE e.project_id = 1 AND e.kind = 0 AND (1)" KEYSET,
               layout == 2 ? "USING INDEX events_log_ts" : "USING INDEX events_kind_ts", NULL);
    check_plan(path,
               "SELECT (e.timestamp - 0) / 60, e.level, count(*) FROM events e"
               " WHERE e.project_id = 1 AND e.timestamp >= 0 AND e.timestamp < 9e18"
               " AND e.kind = 0 AND (1) GROUP BY 1, 2",
               layout == 2 ? "events_log_ts" : "events_kind_ts", NULL);
    /* issue events of a project (read.c's q_events_kind, search with kind 1) */
    check_plan(path, COLS " WHERE e.project_id = ?1 AND e.kind = ?6" KEYSET,
               layout == 2 ? "USING INDEX events_project_ts" : "USING INDEX events_kind_ts",
               "USE TEMP B-TREE");
    check_plan(path, COLS " WHERE e.project_id = 1 AND e.kind = 1 AND (1)" KEYSET,
               layout == 2 ? "USING INDEX events_project_ts" : "USING INDEX events_kind_ts",
               "USE TEMP B-TREE");
    /* one issue's events, and every event of a project */
    check_plan(path, COLS " WHERE e.issue_id = ?6 AND e.issue_id <> 0 AND e.project_id = ?1" KEYSET,
               "USING INDEX events_issue_ts", NULL);
    check_plan(path, COLS " WHERE e.project_id = ?1" KEYSET, "USING INDEX events_project_ts",
               "USE TEMP B-TREE");
    /* full text: candidates from events_fts */
    check_plan(path,
               COLS " WHERE e.project_id = 1 AND e.kind = 1 AND (e.id IN (SELECT rowid FROM"
                    " events_fts WHERE events_fts MATCH 'refused'))" KEYSET,
               "events_fts", NULL);
}

static struct store *open_store(const char *dir)
{
    return t_open_sqlite(dir, NODE);
}

static void add_events(struct store *st, int64_t pid, int64_t ts, uint64_t *lsn)
{
    struct event ev[30];
    struct store_batch_result res;

    for (size_t i = 0; i < 30; i++)
        mk_event(&ev[i], pid, *lsn + i, 0, ts + (int64_t)i * 1000,
                 i % 3 == 0 ? EV_KIND_LOG : EV_KIND_ISSUE, i % 2 ? "A" : "B", EV_ERROR);
    *lsn += 30;
    CHECK_INT_EQ(write_ev(st, ev, 30, *lsn, &res), 0);
    CHECK_INT_EQ(res.events_written, 30);
}

static void test_layouts(const char *dir)
{
    static const char layout_sql[] = "SELECT value FROM part_meta WHERE key = 'events_layout'";
    static const char kind_ix[] =
        "SELECT count(*) FROM sqlite_master WHERE name = 'events_kind_ts'";
    static const char log_ix[] = "SELECT count(*) FROM sqlite_master WHERE name = 'events_log_ts'";
    static const char fts_sizes[] = "SELECT count(*) FROM sqlite_master WHERE name = 'events_fts'"
                                    " AND sql LIKE '%columnsize=0%'";
    static const char fts_hits[] =
        "SELECT count(*) FROM events_fts WHERE events_fts MATCH 'refused'";
    char old[512], neu[512], events[512];
    struct store *st = NULL;
    struct bl_err err = { 0, "" };
    int64_t pid;
    uint64_t lsn = 10;

    /* DAY1's file as the binary before migration 7 left it. */
    snprintf(events, sizeof(events), "%s/events", dir);
    CHECK_INT_EQ(mkdir(dir, 0700), 0);
    CHECK_INT_EQ(mkdir(events, 0700), 0);
    snprintf(old, sizeof(old), "%s/events/20240501.db", dir);
    snprintf(neu, sizeof(neu), "%s/events/20240502.db", dir);
    old_file(old, 0, 6, NULL);
    CHECK_INT_EQ(sq_schema_part_version(), 7);
    if (store_open_sqlite(&st, dir, NODE, &err) != 0) {
        fprintf(stderr, "open: %s\n", bl_err_msg(&err));
        CHECK(0);
        return;
    }
    pid = add_project(st, "rows");
    add_events(st, pid, DAY1 + HOUR, &lsn);
    add_events(st, pid, DAY2 + HOUR, &lsn);
    /* Both at version 7; the old file kept its index and its FTS table. */
    CHECK_INT_EQ(file_int(old, "SELECT value FROM part_meta WHERE key = 'schema_version'"), 7);
    CHECK_INT_EQ(file_int(neu, "SELECT value FROM part_meta WHERE key = 'schema_version'"), 7);
    CHECK_INT_EQ(file_int(old, layout_sql), 1);
    CHECK_INT_EQ(file_int(neu, layout_sql), 2);
    CHECK_INT_EQ(file_int(old, kind_ix), 1);
    CHECK_INT_EQ(file_int(neu, kind_ix), 0);
    CHECK_INT_EQ(file_int(old, log_ix), 0);
    CHECK_INT_EQ(file_int(neu, log_ix), 1);
    CHECK_INT_EQ(file_int(old, fts_sizes), 0);
    CHECK_INT_EQ(file_int(neu, fts_sizes), 1);
    /* The issue events are in both files' full-text index. */
    CHECK_INT_EQ(file_int(old, fts_hits), 20);
    CHECK_INT_EQ(file_int(neu, fts_hits), 20);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 7), 40);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_LOG, 7), 20);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 7), 60);
    /* A log row in a new file (a replay made one of an issue event) is listed as a log. */
    store_close(st);
    {
        sqlite3 *db = NULL;

        CHECK_INT_EQ(sqlite3_open(neu, &db), SQLITE_OK);
        CHECK_INT_EQ(sqlite3_exec(db,
                                  "UPDATE events SET kind = 0, issue_id = 0 WHERE id = (SELECT"
                                  " min(id) FROM events)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
        sqlite3_close(db);
    }
    st = open_store(dir);
    if (st == NULL)
        return;
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 7), 39);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_LOG, 7), 21);
    /* The old file is still written as it was: more rows, same layout. */
    add_events(st, pid, DAY1 + 2 * HOUR, &lsn);
    CHECK_INT_EQ(file_int(old, layout_sql), 1);
    CHECK_INT_EQ(file_int(old, fts_hits), 40);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 7), 59);
    store_close(st);
    check_plans(old, 1);
    check_plans(neu, 2);
}

/* sq_tags_json as it was written before its one-pass path, piece by piece (the reference). */
static const char *tags_ref(struct buf *b, const struct ev_tag *t, size_t n)
{
    int rc;

    buf_reset(b);
    rc = buf_addch(b, '[');
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *k = t[i].key != NULL ? t[i].key : "";
        const char *v = t[i].value != NULL ? t[i].value : "";

        rc = buf_addstr(b, i == 0 ? "[" : ",[");
        if (rc == 0)
            rc = buf_add_json_str(b, k, strlen(k));
        if (rc == 0)
            rc = buf_addch(b, ',');
        if (rc == 0)
            rc = buf_add_json_str(b, v, strlen(v));
        if (rc == 0)
            rc = buf_addch(b, ']');
        if (rc == 0 && b->len > SQ_TAGS_JSON_MAX)
            rc = BL_ETOOBIG;
    }
    if (rc == 0)
        rc = buf_addch(b, ']');
    return rc == 0 ? b->p : NULL;
}

/* An event's tags as JSON: the same bytes on the one-pass path and on the long tags' path. */
static void test_tags_json(void)
{
    static char ctl[64], big[100000], huge[SQ_TAGS_JSON_MAX];
    struct ev_tag t[6] = { { "tenant", "t-12" }, { "q\"uo\\te", "line\nfeed\ttab\rcr" },
                           { NULL, "no key" },   { "no value", NULL },
                           { "", "" },           { "caf\xc3\xa9", ctl } };
    struct buf a = BUF_INIT(SQ_TAGS_BUF_MAX), b = BUF_INIT(SQ_TAGS_BUF_MAX);
    struct event e;
    const char *got, *want;

    for (size_t i = 0; i < sizeof(ctl) - 1; i++)
        ctl[i] = (char)(i % 32 + 1); /* every control byte, and some plain ones */
    memset(&e, 0, sizeof(e));
    CHECK(sq_tags_json(&a, &e) == NULL);
    e.tags = t;
    for (size_t n = 1; n <= 6; n++) {
        e.ntags = n;
        got = sq_tags_json(&a, &e);
        want = tags_ref(&b, t, n);
        CHECK(got != NULL && want != NULL);
        if (got != NULL && want != NULL) {
            CHECK_STR_EQ(got, want);
            CHECK_INT_EQ(a.len, strlen(want));
        }
    }
    e.ntags = 1;
    got = sq_tags_json(&a, &e);
    CHECK_STR_EQ(got != NULL ? got : "", "[[\"tenant\",\"t-12\"]]");
    /* Long tags (past the one-pass path's worst case) that still fit, and too long ones. */
    memset(big, 'x', sizeof(big) - 1);
    t[0].value = big;
    got = sq_tags_json(&a, &e);
    want = tags_ref(&b, t, 1);
    CHECK(got != NULL && strlen(got) == sizeof(big) - 1 + 15);
    CHECK_STR_EQ(got != NULL ? got : "", want != NULL ? want : "-");
    memset(huge, 'y', sizeof(huge) - 1);
    t[1].value = huge;
    e.ntags = 2;
    CHECK(sq_tags_json(&a, &e) == NULL);
    t[1].value = ctl;
    t[0].value = "t-12";
    got = sq_tags_json(&a, &e);
    want = tags_ref(&b, t, 2);
    CHECK_STR_EQ(got != NULL ? got : "", want != NULL ? want : "-");
    buf_release(&a);
    buf_release(&b);
}

static void exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    CHECK_INT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A batch of n events of issue fp ("M"...) at lsn *lsn. */
static void issue_batch(struct store *st, int64_t pid, uint64_t *lsn, const char *fp, size_t n,
                        struct store_batch_result *res)
{
    struct event ev[4];

    for (size_t i = 0; i < n; i++)
        mk_event(&ev[i], pid, *lsn, (uint32_t)i, DAY1 + HOUR + (int64_t)*lsn, EV_KIND_ISSUE, fp,
                 EV_ERROR);
    *lsn += 1;
    CHECK_INT_EQ(write_ev(st, ev, n, *lsn, res), 0);
    CHECK_INT_EQ(res->events_written, n);
}

/*
 * The writer remembers issue rows between batches, and forgets them when
 * another connection changed bilor.db: a resolve there is still a
 * regression, a row deleted there is made again, not updated in the void.
 */
static void test_issue_memory(const char *dir)
{
    static const char times_sql[] =
        "SELECT sum(times_seen) FROM issues WHERE fingerprint LIKE 'M%'";
    static const char rows_sql[] = "SELECT count(*) FROM issues WHERE fingerprint LIKE 'M%'";
    static const char status_sql[] = "SELECT status FROM issues WHERE fingerprint LIKE 'M%'";
    struct store *st = open_store(dir);
    struct store_batch_result res;
    char main_db[512];
    uint64_t lsn = 10;
    int64_t pid;

    if (st == NULL)
        return;
    snprintf(main_db, sizeof(main_db), "%s/bilor.db", dir);
    pid = add_project(st, "memory");
    issue_batch(st, pid, &lsn, "M", 2, &res);
    CHECK_INT_EQ(res.new_issues, 1);
    issue_batch(st, pid, &lsn, "M", 3, &res); /* from memory */
    CHECK_INT_EQ(res.new_issues, 0);
    CHECK_INT_EQ(file_int(main_db, times_sql), 5);
    /* resolved by another connection: the next event reopens it */
    exec_on(main_db, "UPDATE issues SET status = 1 WHERE fingerprint LIKE 'M%'");
    issue_batch(st, pid, &lsn, "M", 1, &res);
    CHECK_INT_EQ(res.regressions, 1);
    CHECK_INT_EQ(file_int(main_db, status_sql), 0);
    issue_batch(st, pid, &lsn, "M", 1, &res);
    CHECK_INT_EQ(res.regressions, 0);
    CHECK_INT_EQ(file_int(main_db, times_sql), 7);
    /* deleted by another connection: a new row, counting from there */
    exec_on(main_db, "DELETE FROM issues WHERE fingerprint LIKE 'M%'");
    issue_batch(st, pid, &lsn, "M", 2, &res);
    CHECK_INT_EQ(res.new_issues, 1);
    CHECK_INT_EQ(file_int(main_db, rows_sql), 1);
    CHECK_INT_EQ(file_int(main_db, times_sql), 2);
    issue_batch(st, pid, &lsn, "M", 1, &res);
    CHECK_INT_EQ(file_int(main_db, times_sql), 3);
    store_close(st);
}

int main(void)
{
    char tmpdir[256], dir[300];

    hash_global_init();
    json_global_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-rows-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    snprintf(dir, sizeof(dir), "%s/store", tmpdir);
    test_tags_json();
    test_layouts(dir);
    snprintf(dir, sizeof(dir), "%s/memory", tmpdir);
    test_issue_memory(dir);
    t_rm_tree(tmpdir);
    return t_done();
}
