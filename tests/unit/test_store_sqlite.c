/*
 * SQLite backend tests: what only this backend has, beyond the store
 * contract (test_store_contract.c): day partition files and dropping them,
 * stored payload encodings, the FTS index, numbered migrations (and opening
 * a store an older binary left), the node rows, and exactly-once across
 * crashes between the day files and bilor.db (the test hook of sqlite_int.h).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "t.h"
#include "store/sqlite_post.h"
#include "t_sqlite.h"
#include "t_store.h"

#define NODE "node-1"

static struct store *open_store(const char *dir)
{
    return t_open_sqlite(dir, NODE);
}

/* One integer from a SQLite file, read without the store; -1 when there is none. */
static int64_t file_int(const char *path, const char *sql, int64_t arg)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_bind_parameter_count(st) > 0)
            sqlite3_bind_int64(st, 1, arg);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int count_line(void *arg, int64_t line)
{
    (void)line;
    ++*(int64_t *)arg;
    return 0;
}

/* The lines of a project whose word postings hold word, or -1. */
static int64_t post_count(const char *path, int64_t project_id, const char *word)
{
    struct sq_conn *c = NULL;
    struct bl_err err = { 0, "" };
    struct sq_post_words w;
    int64_t n = 0;

    if (sq_conn_open(path, 0, &c, &err) != 0)
        return -1;
    if (sq_post_words(word, strlen(word), 0, &w) != 0 ||
        sq_post_lines(c, project_id, &w, 0, INT64_MAX - 1, count_line, &n, &err) != 0)
        n = -1;
    sq_conn_close(c);
    return n;
}

/* The encoding a payload was stored with, read straight from the day file. */
static int stored_encoding(const char *dir, int64_t day_us, const char *event_id)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    time_t t = (time_t)(day_us / CLOCK_US_PER_SEC);
    struct tm tm;
    int enc = -1;

    gmtime_r(&t, &tm);
    snprintf(path, sizeof(path), "%s/events/%04d%02d%02d.db", dir, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT r.encoding, r.raw FROM events e JOIN event_raw r"
                           " ON r.id = e.id WHERE e.event_id = ?1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            enc = sqlite3_column_int(st, 0);
        /* In the payload file: the row's locator ends with the payload's own encoding. */
        if (enc == SQ_RAW_EXTERNAL && sqlite3_column_bytes(st, 1) == SQ_RAW_LOC) {
            const unsigned char *loc = sqlite3_column_blob(st, 1);

            enc = loc[12] | loc[13] << 8 | loc[14] << 16 | loc[15] << 24;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return enc;
}

/* Full text over message, title and search_text through the day file's FTS table. */
static void test_fts(const char *dir)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    snprintf(path, sizeof(path), "%s/events/20240501.db", dir);
    CHECK_INT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_prepare_v2(db,
                                    "SELECT count(*) FROM events_fts"
                                    " WHERE events_fts MATCH 'connectionrefusederror AND db'",
                                    -1, &st, NULL),
                 SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    CHECK(n > 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Events of a project counted in project_hourly (kind -1: all kinds). */
static int64_t project_hourly_sum(const char *dir, int64_t pid, int kind)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    snprintf(path, sizeof(path), "%s/bilor.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT sum(count) FROM project_hourly WHERE project_id = ?1"
                           " AND (?2 < 0 OR kind = ?2)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, pid);
        sqlite3_bind_int(st, 2, kind);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/*
 * Day files: 8 events of one project over three days and 3 payloads of
 * another, checked in the files (encodings, FTS, hourly counters), then
 * a day dropped: its events go, every counter stays.
 */
static void test_partitions(const char *dir)
{
    static struct t_payloads pl;
    struct store *st = open_store(dir);
    struct event ev[8];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int64_t *days = NULL;
    int64_t pid, rpid, issue_a;
    size_t nd = 0;

    if (st == NULL)
        return;
    pid = add_project(st, "events");
    t_two_days(ev, pid);
    mk_event(&ev[7], pid, 65, 0, DAY2 + CLOCK_US_PER_DAY + HOUR, EV_KIND_LOG, "L", EV_INFO);
    CHECK_INT_EQ(write_ev(st, ev, 8, 70, &res), 0);
    CHECK_INT_EQ(res.events_written, 8);
    issue_a = ev[0].issue_id;
    /* Payloads: small identity as is, large identity as zstd, gzip as received. */
    rpid = add_project(st, "raw");
    t_payload_events(ev, &pl, rpid, 100, DAY1 + 5 * HOUR);
    /* Rows are issue events' now (log lines go to blocks, whose frames compress them). */
    for (size_t i = 0; i < 3; i++)
        ev[i].kind = EV_KIND_ISSUE;
    CHECK_INT_EQ(write_ev(st, ev, 3, 200, &res), 0);
    CHECK_INT_EQ(stored_encoding(dir, DAY1, ev[0].event_id), EV_RAW_IDENTITY);
    CHECK_INT_EQ(stored_encoding(dir, DAY1, ev[1].event_id), EV_RAW_ZSTD);
    CHECK_INT_EQ(stored_encoding(dir, DAY1, ev[2].event_id), EV_RAW_GZIP);
    store_close(st);
    test_fts(dir);

    st = open_store(dir);
    if (st == NULL)
        goto out;
    CHECK_INT_EQ(t_checkpoint(st), 200);
    CHECK_INT_EQ(project_hourly_sum(dir, pid, -1), 8);
    CHECK_INT_EQ(project_hourly_sum(dir, pid, EV_KIND_LOG), 3);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 3), 8);
    /* Dropping 2024-05-01 leaves the events of the other days and every counter. */
    CHECK_INT_EQ(sq_part_drop(sq_of(st), clock_day_of(DAY1), NULL), 0);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 3), 4);
    CHECK_INT_EQ(count_events(st, rpid, 0, -1, 3), 0);
    CHECK_INT_EQ(get_issue(st, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 4);
    CHECK_INT_EQ(project_hourly_sum(dir, pid, -1), 8);
    CHECK_INT_EQ(sq_part_drop(sq_of(st), clock_day_of(DAY1), NULL), BL_ENOTFOUND);
    CHECK_INT_EQ(sq_part_list(sq_of(st), &days, &nd, NULL), 0);
    CHECK_INT_EQ(nd, 2);
    if (nd == 2) {
        CHECK_INT_EQ(days[0], clock_day_of(DAY2) + 1);
        CHECK_INT_EQ(days[1], clock_day_of(DAY2));
    }
    free(days);
    store_close(st);
out:
    pool_release(&pool);
}

/* A file newer than this binary is refused; every file is at the newest version after open. */
static void test_schema_versions(const char *dir)
{
    static const char get_main[] = "SELECT value FROM meta WHERE key = 'schema_version'";
    static const char get_part[] = "SELECT value FROM part_meta WHERE key = 'schema_version'";
    char path[512], part[512];
    struct store *st = NULL;
    sqlite3 *db = NULL;
    int64_t v;

    CHECK(sq_schema_main_version() >= 2); /* 2: checkpoints per node */
    CHECK(sq_schema_part_version() >= 2); /* 2: applied LSNs per node */
    snprintf(path, sizeof(path), "%s/bilor.db", dir);
    snprintf(part, sizeof(part), "%s/events/20240502.db", dir);
    v = file_int(path, get_main, 0);
    CHECK_INT_EQ(v, sq_schema_main_version());
    CHECK_INT_EQ(file_int(part, get_part, 0), sq_schema_part_version());
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_exec(db, "UPDATE meta SET value = 999 WHERE key = 'schema_version'", NULL, NULL, NULL);
    CHECK_INT_EQ(store_open_sqlite(&st, dir, NODE, NULL), BL_ESTORE);
    {
        char sql[128];

        snprintf(sql, sizeof(sql), "UPDATE meta SET value = %lld WHERE key = 'schema_version'",
                 (long long)v);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    st = open_store(dir);
    store_close(st);
}

/* *arg is the number of committed day files to "crash" after; 0 never, -1 after the last. */
static int crash_hook(void *arg, size_t committed, size_t ndays)
{
    int at = *(int *)arg;

    return at < 0 ? committed == ndays : (size_t)at == committed;
}

/* Day files committed, bilor.db not: the replay must count every event exactly once. */
static void test_crash_replay(const char *dir)
{
    struct store *st = open_store(dir);
    struct event ev[6];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int crash = -1;
    int64_t pid, id_c, id_d;
    uint64_t cp = 0;

    if (st == NULL)
        return;
    pid = add_project(st, "crashy");
    mk_event(&ev[0], pid, 1000, 0, DAY1 + HOUR, EV_KIND_ISSUE, "C", EV_ERROR);
    mk_event(&ev[1], pid, 1000, 1, DAY2 + HOUR, EV_KIND_ISSUE, "C", EV_ERROR);
    mk_event(&ev[2], pid, 1100, 0, DAY2 + 2 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    mk_event(&ev[3], pid, 1200, 0, DAY2 + 3 * HOUR, EV_KIND_ISSUE, "D", EV_ERROR);
    mk_event(&ev[4], pid, 1300, 0, DAY2 + 3 * HOUR, EV_KIND_ISSUE, "D", EV_ERROR);
    memcpy(ev[4].event_id, ev[3].event_id, sizeof(ev[3].event_id)); /* client duplicate */
    mk_event(&ev[5], pid, 1400, 0, DAY2 + 4 * HOUR, EV_KIND_ISSUE, "E", EV_ERROR);
    sq_set_test_hook(st, crash_hook, &crash);
    CHECK_INT_EQ(write_ev(st, ev, 6, 1500, &res), BL_EIO);
    store_close(st);

    st = open_store(dir);
    if (st == NULL)
        return;
    CHECK_INT_EQ(store_get_checkpoint(st, &cp, NULL), 0);
    CHECK(cp < 1500);
    /* The replay cuts the journal differently: first three records, then the rest. */
    CHECK_INT_EQ(write_ev(st, ev, 3, 1200, &res), 0);
    CHECK_INT_EQ(res.events_written, 3);
    CHECK_INT_EQ(res.new_issues, 1);
    CHECK_INT_EQ(write_ev(st, ev + 3, 3, 1500, &res), 0);
    CHECK_INT_EQ(res.events_written, 2);
    CHECK_INT_EQ(res.duplicates, 1);
    CHECK_INT_EQ(res.new_issues, 2);
    id_c = ev[0].issue_id;
    id_d = ev[3].issue_id;
    CHECK_INT_EQ(get_issue(st, id_c, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 2);
    CHECK_INT_EQ(get_issue(st, id_d, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 1);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 2), 5);
    CHECK_INT_EQ(count_events(st, pid, id_c, -1, 1), 2);
    CHECK_INT_EQ(count_events(st, pid, id_d, -1, 10), 1);
    CHECK_INT_EQ(count_events(st, pid, ev[5].issue_id, -1, 10), 1);

    store_close(st);
    pool_release(&pool);
}

/*
 * The same crash, but the project's issue level changed before the restart:
 * a log line of the crashed run is an issue now and takes the id the crashed
 * run gave to F, so the stored rows must be rewritten to the replay's ids.
 */
static void test_crash_fixup(const char *dir)
{
    struct store *st = open_store(dir);
    struct event ev[3];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int crash = -1;
    int64_t pid;

    if (st == NULL)
        return;
    pid = add_project(st, "fixup");
    mk_event(&ev[0], pid, 5000, 0, DAY2 + 20 * HOUR, EV_KIND_LOG, "G", EV_WARNING);
    mk_event(&ev[1], pid, 5100, 0, DAY2 + 20 * HOUR, EV_KIND_ISSUE, "F", EV_ERROR);
    mk_event(&ev[2], pid, 5200, 0, DAY2 + 20 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    sq_set_test_hook(st, crash_hook, &crash);
    CHECK_INT_EQ(write_ev(st, ev, 3, 5300, &res), BL_EIO);
    crash = 0;
    ev[0].kind = EV_KIND_ISSUE;
    ev[0].title = "G";
    CHECK_INT_EQ(write_ev(st, ev, 3, 5300, &res), 0);
    CHECK_INT_EQ(res.new_issues, 2);
    CHECK_INT_EQ(res.events_written, 3);
    CHECK_INT_EQ(res.duplicates, 0);
    CHECK(ev[0].issue_id > 0 && ev[1].issue_id > 0 && ev[0].issue_id != ev[1].issue_id);
    CHECK_INT_EQ(get_issue(st, ev[0].issue_id, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 1);
    CHECK_STR_EQ(is.title, "G");
    CHECK_INT_EQ(get_issue(st, ev[1].issue_id, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 1);
    CHECK_STR_EQ(is.title, "F");
    CHECK_INT_EQ(count_events(st, pid, ev[0].issue_id, -1, 10), 1);
    CHECK_INT_EQ(count_events(st, pid, ev[1].issue_id, -1, 10), 1);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_LOG, 10), 1);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 10), 2);
    store_close(st);
    pool_release(&pool);
}

/* A crash between two day files: the first is replayed, the second written afresh. */
static void test_crash_between_days(const char *dir)
{
    struct store *st = open_store(dir);
    struct event ev[4];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int crash = 1;
    int64_t pid;

    if (st == NULL)
        return;
    pid = add_project(st, "halfway");
    mk_event(&ev[0], pid, 7000, 0, DAY1 + 3 * HOUR, EV_KIND_ISSUE, "H", EV_ERROR);
    mk_event(&ev[1], pid, 7100, 0, DAY1 + 4 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    mk_event(&ev[2], pid, 7200, 0, DAY2 + 3 * HOUR, EV_KIND_ISSUE, "H", EV_ERROR);
    mk_event(&ev[3], pid, 7300, 0, DAY2 + 4 * HOUR, EV_KIND_ISSUE, "J", EV_ERROR);
    sq_set_test_hook(st, crash_hook, &crash);
    CHECK_INT_EQ(write_ev(st, ev, 4, 7400, &res), BL_EIO);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 10), 2);
    crash = 0;
    CHECK_INT_EQ(write_ev(st, ev, 4, 7400, &res), 0);
    CHECK_INT_EQ(res.events_written, 4);
    CHECK_INT_EQ(res.new_issues, 2);
    CHECK_INT_EQ(res.duplicates, 0);
    CHECK_INT_EQ(get_issue(st, ev[0].issue_id, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 2);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 1), 4);
    CHECK_INT_EQ(count_events(st, pid, ev[0].issue_id, -1, 1), 2);
    CHECK_INT_EQ(count_events(st, pid, ev[3].issue_id, -1, 1), 1);
    store_close(st);
    pool_release(&pool);
}

/*
 * Log lines in blocks through crashes: 2500 lines over two days (full
 * blocks of 1024 and a short one in the first day, lines with derived ids
 * and with client ids). The batch dies after the first day file commits,
 * then before any: each replay leaves every line stored and counted once,
 * the lines that were filling a block included.
 */
#define CRASH_LINES 2500

static void derived(struct event *e)
{
    snprintf(e->event_id, sizeof(e->event_id), "%016llx%08x%08x", (unsigned long long)e->lsn,
             (unsigned)e->seq, 0xabcdefu);
}

/* Lines a facets scan got, and how many came from the blocks' fields blobs alone. */
struct fscan {
    size_t n, from_fields;
};

static int fscan_row(void *arg, const struct store_event *e)
{
    struct fscan *f = arg;

    f->n++;
    /* the record would have given the message: only the fields path leaves it out */
    if (e->host_known && e->message == NULL && e->raw == NULL)
        f->from_fields++;
    return 0;
}

/* A STORE_RAW_FIELDS scan reads every line of the project from the fields blobs. */
static void check_fields_scan(struct store *st, int64_t pid, size_t want)
{
    struct store_event_query q;
    struct fscan f = { 0, 0 };
    size_t scanned = 0;

    memset(&q, 0, sizeof(q));
    q.project_id = pid;
    q.kind = EV_KIND_LOG;
    q.limit = 1000;
    q.with_raw = STORE_RAW_FIELDS;
    CHECK_INT_EQ(store_event_scan(st, &q, 0, fscan_row, &f, &scanned, NULL), 0);
    CHECK_INT_EQ(f.n, want);
    CHECK_INT_EQ(f.from_fields, want);
}

static void test_crash_blocks(const char *tmp)
{
    char dir[400];
    struct store *st;
    struct event *ev = calloc(CRASH_LINES, sizeof(*ev));
    struct store_batch_result res;
    int crash = 1;
    int64_t pid;

    snprintf(dir, sizeof(dir), "%s/crash-blocks", tmp);
    st = open_store(dir);
    if (st == NULL || ev == NULL)
        goto out;
    pid = add_project(st, "blocks");
    for (size_t i = 0; i < CRASH_LINES; i++) {
        int64_t day = i < 2000 ? DAY1 : DAY2;

        mk_event(&ev[i], pid, 9000 + i / 10, (uint32_t)(i % 10), day + (int64_t)(i % 700) * 1000000,
                 EV_KIND_LOG, "L", (int)(i % 4));
        if (i % 3 != 0)
            derived(&ev[i]);
    }
    sq_set_test_hook(st, crash_hook, &crash);
    CHECK_INT_EQ(write_ev(st, ev, CRASH_LINES, 9000 + CRASH_LINES / 10 + 1, &res), BL_EIO);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_LOG, 1000), 2000); /* day 1 committed */
    CHECK_INT_EQ(project_hourly_sum(dir, pid, EV_KIND_LOG), 0);
    crash = 0;
    CHECK_INT_EQ(write_ev(st, ev, CRASH_LINES, 9000 + CRASH_LINES / 10 + 1, &res), 0);
    CHECK_INT_EQ(res.events_written, CRASH_LINES);
    CHECK_INT_EQ(res.duplicates, 0);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_LOG, 1000), CRASH_LINES);
    CHECK_INT_EQ(project_hourly_sum(dir, pid, EV_KIND_LOG), CRASH_LINES);
    /*
     * The same lines again at later journal positions, crashing once more:
     * those with client ids are duplicates of the stored ones; the others'
     * ids no longer match their (lsn, seq), so they are client ids now,
     * claimed by the crashed run and counted once by the replay.
     */
    for (size_t i = 0; i < CRASH_LINES; i++)
        ev[i].lsn += 1000;
    crash = 1;
    CHECK_INT_EQ(write_ev(st, ev, CRASH_LINES, 9000 + 1000 + CRASH_LINES / 10 + 1, &res), BL_EIO);
    crash = 0;
    CHECK_INT_EQ(write_ev(st, ev, CRASH_LINES, 9000 + 1000 + CRASH_LINES / 10 + 1, &res), 0);
    /* client ids come back as duplicates; derived ids name new journal records */
    CHECK_INT_EQ(res.duplicates, (CRASH_LINES + 2) / 3);
    CHECK_INT_EQ(res.events_written, CRASH_LINES - (CRASH_LINES + 2) / 3);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_LOG, 1000),
                 2 * CRASH_LINES - (CRASH_LINES + 2) / 3);
    CHECK_INT_EQ(project_hourly_sum(dir, pid, EV_KIND_LOG),
                 2 * CRASH_LINES - (CRASH_LINES + 2) / 3);
    check_fields_scan(st, pid, 2 * CRASH_LINES - (CRASH_LINES + 2) / 3);
out:
    store_close(st);
    free(ev);
}

/*
 * A data directory the previous binary (main and day schema 1, one
 * checkpoint, no node ids) left after a crash: bilor.db's checkpoint is 50,
 * and the day file applied the batch up to 200, holding one event at lsn
 * 100. The new binary opens it: the first node takes over the checkpoint
 * and the day file's rows, and its replay counts the event exactly once; a
 * second node starts at 0 and is never mistaken for the first.
 */
static void test_upgrade(const char *tmp)
{
    char dir[400], path[500], sql[1024];
    struct store *st, *a = NULL, *b = NULL;
    struct store_project p;
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    struct event e, e2[2];
    int crash = -1;

    snprintf(dir, sizeof(dir), "%s/upgrade", tmp);
    CHECK_INT_EQ(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/events", dir);
    CHECK_INT_EQ(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/bilor.db", dir);
    old_file(path, 1, 1,
             "INSERT INTO projects(id, name, slug, issue_level, created_at)"
             " VALUES(1, 'old', 'old', 4, 0);"
             "UPDATE meta SET value = 50 WHERE key = 'checkpoint_lsn'");
    mk_event(&e, 1, 100, 0, DAY1 + HOUR, EV_KIND_ISSUE, "U", EV_ERROR);
    snprintf(sql, sizeof(sql),
             "INSERT INTO events(project_id, event_id, timestamp, received_at, level, kind,"
             " issue_id, fingerprint, template_hash, source, lsn, seq, message)"
             " VALUES(1, '%s', %lld, %lld, %d, %d, 1, '%s', 0, 0, 100, 0, 'm');"
             "UPDATE part_meta SET value = 200 WHERE key = 'applied_lsn'",
             e.event_id, (long long)e.timestamp, (long long)e.received_at, e.level, e.kind,
             e.fingerprint);
    snprintf(path, sizeof(path), "%s/events/20240501.db", dir);
    old_file(path, 0, 1, sql);

    /* An admin command first (no node): it migrates and claims nothing. */
    st = t_open_url(dir, NULL);
    if (st != NULL)
        CHECK_INT_EQ(store_project_get(st, 1, &p, NULL), 0);
    store_close(st);
    a = open_store(dir);
    CHECK_INT_EQ(store_open_sqlite(&b, dir, "node-2", NULL), 0);
    if (a == NULL || b == NULL)
        goto out;
    CHECK_INT_EQ(t_checkpoint(a), 50);
    CHECK_INT_EQ(t_checkpoint(b), 0);
    CHECK_INT_EQ(sq_of(a)->node, 1);
    CHECK_INT_EQ(sq_of(b)->node, 2);
    CHECK_INT_EQ(write_ev(a, &e, 1, 200, &res), 0);
    CHECK_INT_EQ(res.events_written, 1);
    CHECK_INT_EQ(res.new_issues, 1);
    CHECK_INT_EQ(res.duplicates, 0);
    CHECK_INT_EQ(count_events(a, 1, 0, -1, 10), 1);
    CHECK_INT_EQ(get_issue(a, e.issue_id, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 1);
    CHECK_INT_EQ(t_checkpoint(a), 200);
    /* The old layout moved forward: no stray copies of the checkpoint. */
    CHECK_INT_EQ(file_int(path, "SELECT applied_lsn FROM part_nodes WHERE node = ?1", 1), 200);
    CHECK_INT_EQ(file_int(path, "SELECT count(*) FROM part_meta WHERE key = 'applied_lsn'", 0), 0);
    snprintf(sql, sizeof(sql), "%s/bilor.db", dir);
    CHECK_INT_EQ(file_int(sql, "SELECT count(*) FROM meta WHERE key = 'checkpoint_lsn'", 0), 0);

    /*
     * node-2 repeats that event's id at the same journal position, and
     * crashes after the day file: its replay must see node 1's row as a
     * client duplicate, not as its own (which would count it again).
     */
    e2[0] = e;
    mk_event(&e2[1], 1, 100, 1, DAY1 + 2 * HOUR, EV_KIND_ISSUE, "U", EV_ERROR);
    sq_set_test_hook(b, crash_hook, &crash);
    CHECK_INT_EQ(write_ev(b, e2, 2, 300, &res), BL_EIO);
    crash = 0;
    CHECK_INT_EQ(t_checkpoint(b), 0);
    CHECK_INT_EQ(file_int(path, "SELECT applied_lsn FROM part_nodes WHERE node = ?1", 2), 300);
    CHECK_INT_EQ(write_ev(b, e2, 2, 300, &res), 0);
    CHECK_INT_EQ(res.events_written, 1);
    CHECK_INT_EQ(res.duplicates, 1);
    CHECK_INT_EQ(get_issue(b, e.issue_id, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 2);
    CHECK_INT_EQ(count_events(b, 1, 0, -1, 10), 2);
    CHECK_INT_EQ(t_checkpoint(b), 300);
    CHECK_INT_EQ(t_checkpoint(a), 200);
    store_close(a);
    a = open_store(dir);
    if (a != NULL)
        CHECK_INT_EQ(t_checkpoint(a), 200);
out:
    store_close(a);
    store_close(b);
    pool_release(&pool);
}

/*
 * Main migration 7 (access): a data directory from before users had emails,
 * at version `from` (3: before grouping, keys and retention; 6: just before).
 * Its admin ("admin", the old login) keeps signing in by that name, keeps
 * user id 1 and its token, which keeps every scope and gets an id.
 */
static void test_upgrade_access(const char *tmp, int from)
{
    char dir[400], path[500];
    struct store *st = NULL;
    struct store_user u;
    struct store_principal sp;

    snprintf(dir, sizeof(dir), "%s/upgrade-access-%d", tmp, from);
    CHECK_INT_EQ(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/bilor.db", dir);
    old_file(path, 1, from,
             "INSERT INTO users(id, login, password_hash, is_admin, created_at)"
             " VALUES(1, 'admin', '$argon2id$old', 1, 5);"
             "INSERT INTO api_tokens(token_hash, user_id, label, created_at)"
             " VALUES('digest-1', 1, 'first start', 6);");
    CHECK_INT_EQ(store_open_sqlite(&st, dir, NULL, NULL), 0);
    if (st == NULL)
        return;
    CHECK_INT_EQ(store_user_get(st, 0, "admin", &u, NULL), 0);
    CHECK_INT_EQ(u.id, 1);
    CHECK(u.is_admin);
    CHECK(!u.disabled);
    CHECK_STR_EQ(u.password_hash, "$argon2id$old");
    CHECK_INT_EQ(store_token_get(st, "digest-1", &sp, NULL), 0);
    CHECK_INT_EQ(sp.user_id, 1);
    CHECK(sp.token.id > 0);
    CHECK_INT_EQ(sp.token.scopes, STORE_SCOPE_ALL);
    CHECK_INT_EQ(sp.token.nprojects, 0);
    CHECK_STR_EQ(sp.token.name, "first start");
    store_close(st);
}

/*
 * A day file an older binary wrote (day schema 2) with its log lines as
 * rows: read as rows until the writer touches the file, then moved into
 * blocks (store_sqlite_logs_convert.c); either way they are listed,
 * counted, found by id and drawn in histograms, and merge newest first
 * with the new lines of the same day.
 */
static void test_upgrade_logs(const char *tmp)
{
    char dir[400], path[500], sql[2048];
    struct store *st;
    struct store_batch_result res;
    struct store_event_query q;
    struct store_event *v = NULL, got;
    struct store_histogram h;
    struct pool pool = POOL_INIT(4096);
    struct event old[2], e;
    char cur[STORE_CURSOR_MAX];
    int64_t counts[24 * EV__NLEVELS];
    const char *raw = NULL;
    size_t n = 0, raw_len = 0;

    snprintf(dir, sizeof(dir), "%s/upgrade-logs", tmp);
    CHECK_INT_EQ(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/events", dir);
    CHECK_INT_EQ(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/bilor.db", dir);
    old_file(path, 1, sq_schema_main_version(),
             "INSERT INTO projects(id, name, slug, issue_level, created_at)"
             " VALUES(1, 'old', 'old', 4, 0)");
    mk_event(&old[0], 1, 10, 0, DAY1 + HOUR, EV_KIND_LOG, "L", EV_INFO);
    mk_event(&old[1], 1, 10, 1, DAY1 + 3 * HOUR, EV_KIND_LOG, "L", EV_WARNING);
    snprintf(sql, sizeof(sql),
             "INSERT INTO events(id, project_id, event_id, timestamp, received_at, level, kind,"
             " issue_id, fingerprint, template_hash, source, lsn, seq, message, node)"
             " VALUES(1, 1, '%s', %lld, %lld, %d, 0, 0, 'L', 0, 0, 10, 0, 'old one', 1),"
             " (2, 1, '%s', %lld, %lld, %d, 0, 0, 'L', 0, 0, 10, 1, 'old two', 1);"
             "INSERT INTO event_raw(id, encoding, raw) VALUES(1, 0, '{\"m\":1}'),"
             " (2, 0, '{\"m\":2}');"
             "INSERT INTO events_fts(rowid, message) VALUES(1, 'old one'), (2, 'old two');"
             "UPDATE part_nodes SET applied_lsn = 11 WHERE node = 1",
             old[0].event_id, (long long)old[0].timestamp, (long long)old[0].received_at,
             old[0].level, old[1].event_id, (long long)old[1].timestamp,
             (long long)old[1].received_at, old[1].level);
    snprintf(path, sizeof(path), "%s/events/20240501.db", dir);
    old_file(path, 0, 2, sql);
    CHECK_INT_EQ(file_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'log_blocks'", 0),
                 0);

    /* Read before any write migrates the file. */
    st = open_store(dir);
    if (st == NULL)
        goto out;
    CHECK_INT_EQ(count_events(st, 1, 0, EV_KIND_LOG, 1), 2);
    CHECK_INT_EQ(store_event_get(st, 1, old[1].event_id, &pool, &got, &raw, &raw_len, NULL), 0);
    CHECK_STR_EQ(got.message, "old two");
    CHECK(raw != NULL && strcmp(raw, "{\"m\":2}") == 0);

    /* A new line of the same day goes into a block between the two old ones. */
    mk_event(&e, 1, 20, 0, DAY1 + 2 * HOUR, EV_KIND_LOG, "L", EV_ERROR);
    CHECK_INT_EQ(write_ev(st, &e, 1, 21, &res), 0);
    CHECK_INT_EQ(res.events_written, 1);
    /* The writer's first touch moved the old rows into a block of their own. */
    CHECK_INT_EQ(file_int(path, "SELECT count(*) FROM log_blocks", 0), 2);
    CHECK_INT_EQ(file_int(path, "SELECT count(*) FROM events", 0), 0);
    CHECK_INT_EQ(file_int(path, "SELECT count(*) FROM event_raw", 0), 0);
    CHECK_INT_EQ(file_int(path, "SELECT sum(count) FROM log_minutes", 0), 3);
    CHECK_INT_EQ(file_int(path, "SELECT count(*) FROM log_ids", 0), 3); /* client ids */
    /* indexed by word postings (day-file migration 6), no longer by log_fts */
    CHECK_INT_EQ(post_count(path, 1, "old"), 2);
    CHECK_INT_EQ(file_int(path, "SELECT count(*) FROM log_fts WHERE log_fts MATCH 'old'", 0), 0);
    memset(&q, 0, sizeof(q));
    q.project_id = 1;
    q.kind = EV_KIND_LOG;
    q.limit = 10;
    CHECK_INT_EQ(store_event_list(st, &q, &pool, &v, &n, cur, NULL), 0);
    CHECK_INT_EQ(n, 3);
    if (n == 3) {
        CHECK_STR_EQ(v[0].event_id, old[1].event_id);
        CHECK_STR_EQ(v[1].event_id, e.event_id);
        CHECK_STR_EQ(v[2].event_id, old[0].event_id);
    }
    CHECK_INT_EQ(count_events(st, 1, 0, EV_KIND_LOG, 1), 3);
    CHECK_INT_EQ(count_events(st, 1, 0, -1, 2), 3);
    memset(&h, 0, sizeof(h));
    h.start = DAY1;
    h.interval = HOUR;
    h.nbuckets = 24;
    h.counts = counts;
    CHECK_INT_EQ(store_event_histogram(st, &q, &h, NULL), 0);
    CHECK_INT_EQ(counts[1 * EV__NLEVELS + EV_INFO], 1);
    CHECK_INT_EQ(counts[2 * EV__NLEVELS + EV_ERROR], 1);
    CHECK_INT_EQ(counts[3 * EV__NLEVELS + EV_WARNING], 1);
    CHECK_INT_EQ(store_event_get(st, 1, e.event_id, &pool, &got, &raw, &raw_len, NULL), 0);
    CHECK_INT_EQ(got.kind, EV_KIND_LOG);
    CHECK_INT_EQ(got.level, EV_ERROR);
    store_close(st);
out:
    pool_release(&pool);
}

int main(void)
{
    char tmpdir[256], dir[300], dir2[300];

    hash_global_init();
    json_global_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-store-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    snprintf(dir, sizeof(dir), "%s/main", tmpdir);
    snprintf(dir2, sizeof(dir2), "%s/crash/nested", tmpdir);
    test_partitions(dir);
    test_schema_versions(dir);
    test_crash_replay(dir2);
    test_crash_fixup(dir2);
    test_crash_between_days(dir2);
    test_upgrade(tmpdir);
    test_upgrade_logs(tmpdir);
    test_crash_blocks(tmpdir);
    test_upgrade_access(tmpdir, 3);
    test_upgrade_access(tmpdir, 6);
    t_rm_tree(tmpdir);
    return t_done();
}
