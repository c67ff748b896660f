/*
 * Unit tests for src/store: the SQLite backend through the store.h ops,
 * plus its exactly-once replay, day partitions and payload encodings.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "t.h"
#include "t_zlib.h"

/* 2024-05-01T00:00:00Z and 2024-05-02T00:00:00Z */
#define DAY1 INT64_C(1714521600000000)
#define DAY2 (DAY1 + CLOCK_US_PER_DAY)
#define HOUR CLOCK_US_PER_HOUR

static char tmpdir[256];
static unsigned next_event_id = 1;

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char sub[1024];
    struct stat sb;

    if (d == NULL) {
        unlink(path);
        return;
    }
    for (de = readdir(d); de != NULL; de = readdir(d)) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            rm_tree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

static struct store *open_store(const char *dir)
{
    struct store *st = NULL;
    struct bl_err err = { 0, "" };
    int rc = store_open_sqlite(&st, dir, &err);

    if (rc != 0)
        fprintf(stderr, "open: %s\n", bl_err_msg(&err));
    CHECK_INT_EQ(rc, 0);
    return st;
}

/* A synthetic event; the caller overrides what a test is about. */
static void mk_event(struct event *e, int64_t project, uint64_t lsn, uint32_t seq, int64_t ts,
                     int kind, const char *fp, int level)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->event_id, sizeof(e->event_id), "%032x", next_event_id++);
    e->project_id = project;
    e->lsn = lsn;
    e->seq = seq;
    e->timestamp = ts;
    e->received_at = ts + 1000;
    e->level = level;
    e->kind = kind;
    snprintf(e->fingerprint, sizeof(e->fingerprint), "%-32s", fp);
    e->grouping_version = 1;
    e->template_hash = UINT64_C(0xfedcba9876543210);
    e->message = kind == EV_KIND_ISSUE ? "connection refused to db" : "GET /items 200";
    e->title = kind == EV_KIND_ISSUE ? fp : NULL;
    e->culprit = "app.views.index";
    e->search_text = kind == EV_KIND_ISSUE ? "ConnectionRefusedError connection refused" : NULL;
    e->logger = "app";
    e->environment = "production";
    e->raw = "{\"message\":\"x\"}";
    e->raw_len = strlen(e->raw);
    e->raw_encoding = EV_RAW_IDENTITY;
}

static int64_t add_project(struct store *st, const char *name)
{
    struct store_project p;

    CHECK_INT_EQ(store_project_add(st, name, &p, NULL), 0);
    return p.id;
}

static void test_status_names(void)
{
    int s = 99;

    CHECK_STR_EQ(store_issue_status_name(STORE_ISSUE_RESOLVED), "resolved");
    CHECK_STR_EQ(store_issue_status_name(STORE_ISSUE_ANY), "all");
    CHECK_INT_EQ(store_issue_status_parse("ignored", &s), 0);
    CHECK_INT_EQ(s, STORE_ISSUE_IGNORED);
    CHECK_INT_EQ(store_issue_status_parse("all", &s), 0);
    CHECK_INT_EQ(s, STORE_ISSUE_ANY);
    CHECK_INT_EQ(store_issue_status_parse("nope", &s), BL_EINVAL);
}

static void test_projects(struct store *st)
{
    struct store_project a, b, got, *list = NULL;
    struct pool pool = POOL_INIT(4096);
    int64_t pid = 0;
    size_t n = 0, i;

    CHECK_INT_EQ(store_project_add(st, "My App!", &a, NULL), 0);
    CHECK_STR_EQ(a.slug, "my-app");
    CHECK_INT_EQ(strlen(a.key), 32);
    for (i = 0; i < 32; i++)
        CHECK((a.key[i] >= '0' && a.key[i] <= '9') || (a.key[i] >= 'a' && a.key[i] <= 'f'));
    CHECK_INT_EQ(a.issue_level, EV_ERROR);
    CHECK_INT_EQ(store_project_add(st, "my app", &b, NULL), 0);
    CHECK_STR_EQ(b.slug, "my-app-2");
    CHECK(strcmp(a.key, b.key) != 0);
    CHECK_INT_EQ(store_project_add(st, "", &b, NULL), BL_EINVAL);
    CHECK_INT_EQ(store_project_get(st, a.id, &got, NULL), 0);
    CHECK_STR_EQ(got.name, "My App!");
    CHECK_STR_EQ(got.key, a.key);
    CHECK_INT_EQ(store_project_get(st, 999, &got, NULL), BL_ENOTFOUND);
    CHECK_INT_EQ(store_project_list(st, &pool, &list, &n, NULL), 0);
    CHECK_INT_EQ(n, 2);
    if (n == 2) {
        CHECK_STR_EQ(list[0].slug, "my-app");
        CHECK_STR_EQ(list[1].slug, "my-app-2");
    }
    CHECK_INT_EQ(store_key_lookup(st, b.key, &pid, NULL), 0);
    CHECK_INT_EQ(pid, b.id);
    CHECK_INT_EQ(store_key_lookup(st, "00000000000000000000000000000000", &pid, NULL),
                 BL_ENOTFOUND);
    pool_release(&pool);
}

static void test_users_tokens(struct store *st)
{
    int64_t uid = 0, n = 0, got = 0;

    CHECK_INT_EQ(store_user_count(st, &n, NULL), 0);
    CHECK_INT_EQ(n, 0);
    CHECK_INT_EQ(store_user_add(st, "admin", "$argon2id$x", 1, &uid, NULL), 0);
    CHECK(uid > 0);
    CHECK_INT_EQ(store_user_add(st, "admin", "$argon2id$y", 0, NULL, NULL), BL_EEXIST);
    CHECK_INT_EQ(store_user_count(st, &n, NULL), 0);
    CHECK_INT_EQ(n, 1);
    CHECK_INT_EQ(store_token_add(st, uid, "hash-1", "laptop", NULL), 0);
    CHECK_INT_EQ(store_token_add(st, uid, "hash-1", "again", NULL), BL_EEXIST);
    CHECK_INT_EQ(store_token_lookup(st, "hash-1", &got, NULL), 0);
    CHECK_INT_EQ(got, uid);
    CHECK_INT_EQ(store_token_lookup(st, "hash-2", &got, NULL), BL_ENOTFOUND);
}

static int write_ev(struct store *st, struct event *ev, size_t n, uint64_t cp,
                 struct store_batch_result *res)
{
    struct bl_err err = { 0, "" };
    int rc = store_write_batch(st, ev, n, cp, res, &err);

    if (rc != 0 && rc != BL_EIO)
        fprintf(stderr, "write_batch: %s\n", bl_err_msg(&err));
    return rc;
}

static int get_issue(struct store *st, int64_t id, struct store_issue *is, struct pool *pool)
{
    return store_issue_get(st, id, pool, is, NULL);
}

/* Events of one project (or one issue) over all pages of size page. */
static size_t count_events(struct store *st, int64_t project, int64_t issue, int kind,
                           size_t page)
{
    struct store_event_query q = { project, issue, kind, 0, 0, page, NULL, 0 };
    struct pool pool = POOL_INIT(16384);
    char cur[STORE_CURSOR_MAX] = "";
    size_t total = 0, guard = 0;

    do {
        struct store_event *v = NULL;
        size_t n = 0;

        q.cursor = total == 0 ? NULL : pool_strdup(&pool, cur);
        if (store_event_list(st, &q, &pool, &v, &n, cur, NULL) != 0)
            break;
        total += n;
    } while (cur[0] != '\0' && ++guard < 10000);
    pool_release(&pool);
    return total;
}

/* 7 events over two days: issue A x4, issue B x1, logs x2. */
static void test_write_counts(struct store *st, int64_t pid, int64_t *issue_a, int64_t *issue_b)
{
    struct event ev[7];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int64_t counts[3] = { 0, 0, 0 };
    uint64_t cp = 0;

    mk_event(&ev[0], pid, 10, 0, DAY1 + 10 * HOUR, EV_KIND_ISSUE, "A", EV_WARNING);
    mk_event(&ev[1], pid, 10, 1, DAY1 + 10 * HOUR + 5, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[2], pid, 20, 0, DAY1 + 10 * HOUR + 9, EV_KIND_LOG, "L", EV_INFO);
    mk_event(&ev[3], pid, 30, 0, DAY1 + 11 * HOUR, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[4], pid, 40, 0, DAY2 + 9 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    mk_event(&ev[5], pid, 50, 0, DAY2 + 9 * HOUR + 1, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[6], pid, 60, 0, DAY2 + 12 * HOUR, EV_KIND_ISSUE, "B", EV_FATAL);
    ev[3].release = "1.0";
    ev[5].release = "1.1";
    CHECK_INT_EQ(write_ev(st, ev, 7, 70, &res), 0);
    CHECK_INT_EQ(res.events_written, 7);
    CHECK_INT_EQ(res.new_issues, 2);
    CHECK_INT_EQ(res.duplicates, 0);
    CHECK_INT_EQ(res.regressions, 0);
    CHECK_INT_EQ(ev[2].issue_id, 0);
    CHECK(ev[0].issue_id > 0);
    CHECK_INT_EQ(ev[0].issue_id, ev[5].issue_id);
    CHECK(ev[6].issue_id != ev[0].issue_id);
    *issue_a = ev[0].issue_id;
    *issue_b = ev[6].issue_id;
    CHECK_INT_EQ(store_get_checkpoint(st, &cp, NULL), 0);
    CHECK_INT_EQ(cp, 70);
    CHECK_INT_EQ(get_issue(st, *issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 4);
    CHECK_INT_EQ(is.first_seen, DAY1 + 10 * HOUR);
    CHECK_INT_EQ(is.last_seen, DAY2 + 9 * HOUR + 1);
    CHECK_INT_EQ(is.level, EV_ERROR);
    CHECK_INT_EQ(is.status, STORE_ISSUE_UNRESOLVED);
    CHECK_STR_EQ(is.title, "A");
    CHECK_STR_EQ(is.first_release, "1.0");
    CHECK_STR_EQ(is.last_release, "1.1");
    CHECK_INT_EQ(store_issue_hourly(st, *issue_a, DAY1 + 10 * HOUR, 3, counts, NULL), 0);
    CHECK_INT_EQ(counts[0], 2);
    CHECK_INT_EQ(counts[1], 1);
    CHECK_INT_EQ(counts[2], 0);
    /* A start inside an hour still counts whole hours. */
    CHECK_INT_EQ(store_issue_hourly(st, *issue_a, DAY2 + 9 * HOUR + 77, 1, counts, NULL), 0);
    CHECK_INT_EQ(counts[0], 1);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 100), 7);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_LOG, 100), 2);
    CHECK_INT_EQ(count_events(st, pid, *issue_a, -1, 100), 4);
    CHECK_INT_EQ(count_events(st, pid, *issue_a, EV_KIND_LOG, 100), 0);
    pool_release(&pool);
}

static void test_duplicates_regression(struct store *st, int64_t pid, int64_t issue_a,
                                       int64_t issue_b)
{
    struct event ev[4];
    struct store_batch_result res;
    uint64_t cp = 0;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);

    /* A retry of an event stored earlier, and one sent twice inside this batch. */
    mk_event(&ev[0], pid, 80, 0, DAY1 + 10 * HOUR, EV_KIND_ISSUE, "A", EV_ERROR);
    snprintf(ev[0].event_id, sizeof(ev[0].event_id), "%032x", 1u); /* the first event's id */
    mk_event(&ev[1], pid, 90, 0, DAY2 + 13 * HOUR, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[2], pid, 100, 0, DAY2 + 13 * HOUR, EV_KIND_ISSUE, "A", EV_ERROR);
    memcpy(ev[2].event_id, ev[1].event_id, sizeof(ev[1].event_id));
    mk_event(&ev[3], pid, 110, 0, DAY2 + 14 * HOUR, EV_KIND_ISSUE, "B", EV_ERROR);
    CHECK_INT_EQ(store_issue_set_status(st, issue_a, STORE_ISSUE_RESOLVED, NULL), 0);
    CHECK_INT_EQ(store_issue_set_status(st, issue_b, STORE_ISSUE_IGNORED, NULL), 0);
    CHECK_INT_EQ(store_issue_set_status(st, 424242, STORE_ISSUE_IGNORED, NULL), BL_ENOTFOUND);
    CHECK_INT_EQ(store_issue_set_status(st, issue_a, 7, NULL), BL_EINVAL);
    CHECK_INT_EQ(write_ev(st, ev, 4, 120, &res), 0);
    CHECK_INT_EQ(res.duplicates, 2);
    CHECK_INT_EQ(res.events_written, 2);
    CHECK_INT_EQ(res.regressions, 1);
    CHECK_INT_EQ(res.new_issues, 0);
    CHECK_INT_EQ(get_issue(st, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 5);
    CHECK_INT_EQ(is.status, STORE_ISSUE_UNRESOLVED);
    CHECK_INT_EQ(get_issue(st, issue_b, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 2);
    CHECK_INT_EQ(is.status, STORE_ISSUE_IGNORED);
    /* The same batch passed again after it committed changes nothing. */
    CHECK_INT_EQ(write_ev(st, ev, 4, 120, &res), 0);
    CHECK_INT_EQ(res.events_written, 0);
    CHECK_INT_EQ(get_issue(st, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 5);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 3), 9);
    CHECK_INT_EQ(store_get_checkpoint(st, &cp, NULL), 0);
    CHECK_INT_EQ(cp, 120);
    /* An event without an id is logged and left out; the batch still commits. */
    mk_event(&ev[0], pid, 130, 0, DAY2 + 15 * HOUR, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[1], pid, 140, 0, DAY2 + 15 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    ev[0].event_id[0] = '\0';
    CHECK_INT_EQ(write_ev(st, ev, 2, 150, &res), 0);
    CHECK_INT_EQ(res.events_written, 1);
    CHECK_INT_EQ(get_issue(st, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 5);
    /* An lsn at or past the checkpoint is a caller bug. */
    CHECK_INT_EQ(store_write_batch(st, ev, 1, 80, &res, NULL), BL_EINVAL);
    pool_release(&pool);
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

static void check_issue_pages(struct store *st, int64_t pid, int sort, int status, size_t page,
                              size_t expect)
{
    struct store_issue_query q = { pid, status, sort, page, NULL };
    struct pool pool = POOL_INIT(16384);
    char cur[STORE_CURSOR_MAX] = "";
    int64_t prev_key = INT64_MAX, prev_id = INT64_MAX;
    size_t total = 0, i, guard = 0;

    do {
        struct store_issue *v = NULL;
        size_t n = 0;

        q.cursor = total == 0 ? NULL : pool_strdup(&pool, cur);
        CHECK_INT_EQ(store_issue_list(st, &q, &pool, &v, &n, cur, NULL), 0);
        for (i = 0; i < n; i++) {
            int64_t key = sort == STORE_SORT_LAST_SEEN    ? v[i].last_seen
                          : sort == STORE_SORT_FIRST_SEEN ? v[i].first_seen
                                                          : v[i].times_seen;

            CHECK(key < prev_key || (key == prev_key && v[i].id < prev_id));
            CHECK(status == STORE_ISSUE_ANY || v[i].status == status);
            prev_key = key;
            prev_id = v[i].id;
        }
        total += n;
    } while (cur[0] != '\0' && ++guard < 1000);
    CHECK_INT_EQ(total, expect);
    pool_release(&pool);
}

static void test_issue_list(struct store *st)
{
    struct event ev[24];
    struct store_batch_result res;
    struct store_issue_query q = { 0, STORE_ISSUE_ANY, 0, 5, "1.x" };
    struct pool pool = POOL_INIT(4096);
    struct store_issue *v = NULL;
    char cur[STORE_CURSOR_MAX];
    char fp[8];
    int64_t pid = add_project(st, "lists");
    size_t n, i, k = 0;

    /* Issue i gets i+1 events; last_seen ties on purpose (id breaks them). */
    for (i = 0; i < 6; i++) {
        size_t j;

        snprintf(fp, sizeof(fp), "I%zu", i);
        for (j = 0; j <= i && k < 24; j++, k++)
            mk_event(&ev[k], pid, 10000 + k, 0, DAY1 + (int64_t)(i % 3) * HOUR,
                     EV_KIND_ISSUE, fp, EV_ERROR);
    }
    CHECK_INT_EQ(write_ev(st, ev, k, 20000, &res), 0);
    CHECK_INT_EQ(res.new_issues, 6);
    CHECK_INT_EQ(store_issue_set_status(st, ev[0].issue_id, STORE_ISSUE_RESOLVED, NULL), 0);
    check_issue_pages(st, pid, STORE_SORT_LAST_SEEN, STORE_ISSUE_ANY, 2, 6);
    check_issue_pages(st, pid, STORE_SORT_FIRST_SEEN, STORE_ISSUE_ANY, 4, 6);
    check_issue_pages(st, pid, STORE_SORT_COUNT, STORE_ISSUE_ANY, 1, 6);
    check_issue_pages(st, pid, STORE_SORT_COUNT, STORE_ISSUE_UNRESOLVED, 2, 5);
    check_issue_pages(st, pid, STORE_SORT_LAST_SEEN, STORE_ISSUE_RESOLVED, 2, 1);
    q.project_id = pid;
    q.sort = STORE_SORT_COUNT;
    q.cursor = NULL;
    CHECK_INT_EQ(store_issue_list(st, &q, &pool, &v, &n, cur, NULL), 0);
    CHECK_INT_EQ(n, 5);
    if (n == 5)
        CHECK_INT_EQ(v[0].times_seen, 6);
    q.cursor = "1.x";
    CHECK_INT_EQ(store_issue_list(st, &q, &pool, &v, &n, cur, NULL), BL_EINVAL);
    q.cursor = NULL;
    q.limit = 0;
    CHECK_INT_EQ(store_issue_list(st, &q, &pool, &v, &n, cur, NULL), BL_EINVAL);
    pool_release(&pool);
}

/* 30 logs over three days, listed in pages of 7: newest first, each exactly once. */
static void test_event_pages(struct store *st)
{
    struct event ev[30];
    struct store_batch_result res;
    struct store_event_query q;
    struct pool pool = POOL_INIT(16384);
    char cur[STORE_CURSOR_MAX] = "", seen[30];
    int64_t pid = add_project(st, "pages");
    int64_t prev = INT64_MAX;
    size_t i, total = 0, guard = 0;

    for (i = 0; i < 30; i++)
        mk_event(&ev[i], pid, 30000 + i, 0, DAY1 + (int64_t)(i / 10) * CLOCK_US_PER_DAY
                 + (int64_t)(i % 5) * HOUR, EV_KIND_LOG, "L", EV_INFO);
    CHECK_INT_EQ(write_ev(st, ev, 30, 40000, &res), 0);
    memset(seen, 0, sizeof(seen));
    memset(&q, 0, sizeof(q));
    q.project_id = pid;
    q.kind = -1;
    q.limit = 7;
    do {
        struct store_event *v = NULL;
        size_t n = 0;

        q.cursor = total == 0 ? NULL : pool_strdup(&pool, cur);
        CHECK_INT_EQ(store_event_list(st, &q, &pool, &v, &n, cur, NULL), 0);
        for (i = 0; i < n; i++) {
            size_t k;

            CHECK(v[i].timestamp <= prev);
            prev = v[i].timestamp;
            for (k = 0; k < 30; k++)
                if (strcmp(ev[k].event_id, v[i].event_id) == 0)
                    seen[k]++;
            CHECK_STR_EQ(v[i].tags_json, "[]");
        }
        total += n;
    } while (cur[0] != '\0' && ++guard < 100);
    CHECK_INT_EQ(total, 30);
    for (i = 0; i < 30; i++)
        CHECK_INT_EQ(seen[i], 1);
    /* since/until bound the walk: the middle day only, and its first two hours. */
    q.cursor = NULL;
    q.limit = 100;
    q.since = DAY2;
    q.until = DAY2 + 2 * HOUR;
    {
        struct store_event *v = NULL;
        size_t n = 0;

        CHECK_INT_EQ(store_event_list(st, &q, &pool, &v, &n, cur, NULL), 0);
        CHECK_INT_EQ(n, 4);
        CHECK_STR_EQ(cur, "");
        q.cursor = "12.x";
        CHECK_INT_EQ(store_event_list(st, &q, &pool, &v, &n, cur, NULL), BL_EINVAL);
    }
    pool_release(&pool);
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
    snprintf(path, sizeof(path), "%s/events/%04d%02d%02d.db", dir, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
        && sqlite3_prepare_v2(db, "SELECT r.encoding FROM events e JOIN event_raw r"
                              " ON r.id = e.id WHERE e.event_id = ?1", -1, &st, NULL)
               == SQLITE_OK) {
        sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            enc = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return enc;
}

static void test_raw(struct store *st, const char *dir)
{
    static char big[4000];
    unsigned char gz[4096];
    struct event ev[3];
    struct store_event out;
    struct store_batch_result res;
    struct pool pool = POOL_INIT(4096);
    const char *raw = NULL;
    size_t raw_len = 0, i;
    int64_t pid = add_project(st, "raw");

    for (i = 0; i + 1 < sizeof(big); i++)
        big[i] = "{\"exception\":[1,2,3],\"frames\":\"abc\"}"[i % 36];
    for (i = 0; i < 3; i++)
        mk_event(&ev[i], pid, 50000 + i, 0, DAY1 + 5 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    ev[1].raw = big;
    ev[1].raw_len = strlen(big);
    ev[2].raw = gz;
    ev[2].raw_len = t_deflate_to(big, strlen(big), 31, gz, sizeof(gz));
    ev[2].raw_encoding = EV_RAW_GZIP;
    ev[0].tags = (struct ev_tag[]){ { "browser", "Firefox \"115\"" }, { "os", "Linux" } };
    ev[0].ntags = 2;
    CHECK_INT_EQ(write_ev(st, ev, 3, 60000, &res), 0);
    CHECK_INT_EQ(stored_encoding(dir, DAY1, ev[0].event_id), EV_RAW_IDENTITY);
    CHECK_INT_EQ(stored_encoding(dir, DAY1, ev[1].event_id), EV_RAW_ZSTD);
    CHECK_INT_EQ(stored_encoding(dir, DAY1, ev[2].event_id), EV_RAW_GZIP);
    CHECK_INT_EQ(store_event_get(st, pid, ev[0].event_id, &pool, &out, &raw, &raw_len, NULL), 0);
    CHECK_INT_EQ(raw_len, ev[0].raw_len);
    CHECK(raw != NULL && memcmp(raw, ev[0].raw, raw_len) == 0);
    CHECK_STR_EQ(out.tags_json, "[[\"browser\",\"Firefox \\\"115\\\"\"],[\"os\",\"Linux\"]]");
    CHECK_STR_EQ(out.logger, "app");
    CHECK_INT_EQ(out.template_hash == UINT64_C(0xfedcba9876543210), 1);
    for (i = 1; i < 3; i++) {
        raw = NULL;
        CHECK_INT_EQ(store_event_get(st, pid, ev[i].event_id, &pool, &out, &raw, &raw_len, NULL),
                     0);
        CHECK_INT_EQ(raw_len, strlen(big));
        CHECK(raw != NULL && memcmp(raw, big, raw_len) == 0);
    }
    CHECK_INT_EQ(store_event_get(st, pid, ev[1].event_id, &pool, &out, NULL, NULL, NULL), 0);
    CHECK_INT_EQ(store_event_get(st, pid + 1, ev[1].event_id, &pool, &out, NULL, NULL, NULL),
                 BL_ENOTFOUND);
    CHECK_INT_EQ(store_event_get(st, pid, "ffffffffffffffffffffffffffffffff", &pool, &out, NULL,
                                 NULL, NULL), BL_ENOTFOUND);
    pool_release(&pool);
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
    CHECK_INT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM events_fts"
                                    " WHERE events_fts MATCH 'connectionrefusederror AND db'",
                                    -1, &st, NULL), SQLITE_OK);
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
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
        && sqlite3_prepare_v2(db, "SELECT sum(count) FROM project_hourly WHERE project_id = ?1"
                              " AND (?2 < 0 OR kind = ?2)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, pid);
        sqlite3_bind_int(st, 2, kind);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_reopen_and_drop(const char *dir, int64_t pid, int64_t issue_a)
{
    struct store *st = open_store(dir);
    struct sq_store *s;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int64_t *days = NULL;
    size_t nd = 0, before;
    uint64_t cp = 0;

    if (st == NULL)
        return;
    s = sq_of(st);
    CHECK_INT_EQ(store_get_checkpoint(st, &cp, NULL), 0);
    CHECK_INT_EQ(cp, 60000);
    CHECK_INT_EQ(get_issue(st, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 5);
    CHECK_INT_EQ(project_hourly_sum(dir, pid, -1), 10);
    CHECK_INT_EQ(project_hourly_sum(dir, pid, EV_KIND_LOG), 3);
    before = count_events(st, pid, 0, -1, 4);
    CHECK_INT_EQ(before, 10);
    /* Dropping 2024-05-01 leaves the events of the other days and every counter. */
    CHECK_INT_EQ(sq_part_drop(s, clock_day_of(DAY1), NULL), 0);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 4), 6);
    CHECK_INT_EQ(get_issue(st, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 5);
    CHECK_INT_EQ(sq_part_drop(s, clock_day_of(DAY1), NULL), BL_ENOTFOUND);
    CHECK_INT_EQ(sq_part_list(s, &days, &nd, NULL), 0);
    CHECK_INT_EQ(nd, 2);
    if (nd == 2) {
        CHECK_INT_EQ(days[0], clock_day_of(DAY2) + 1);
        CHECK_INT_EQ(days[1], clock_day_of(DAY2));
    }
    free(days);
    store_close(st);
    pool_release(&pool);
}

static void test_schema_versions(const char *dir)
{
    char path[512];
    struct store *st = NULL;
    sqlite3 *db = NULL;

    snprintf(path, sizeof(path), "%s/bilor.db", dir);
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_exec(db, "UPDATE meta SET value = 999 WHERE key = 'schema_version'", NULL, NULL,
                 NULL);
    CHECK_INT_EQ(store_open_sqlite(&st, dir, NULL), BL_ESTORE);
    snprintf(path, sizeof(path), "UPDATE meta SET value = %d WHERE key = 'schema_version'",
             sq_schema_main_version());
    sqlite3_exec(db, path, NULL, NULL, NULL);
    sqlite3_close(db);
    st = open_store(dir);
    store_close(st);
    CHECK_INT_EQ(sq_schema_main_version(), 3);
    CHECK_INT_EQ(sq_schema_part_version(), 1);
}

struct reader_arg {
    struct store *st;
    int64_t pid;
    atomic_int stop;
    atomic_int errors;
};

static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    struct pool pool = POOL_INIT(16384);

    while (!atomic_load(&a->stop)) {
        struct store_event_query q = { a->pid, 0, -1, 0, 0, 50, NULL, 1 };
        struct store_issue_query iq = { a->pid, STORE_ISSUE_ANY, 0, 50, NULL };
        struct store_event *v;
        struct store_issue *iv;
        char cur[STORE_CURSOR_MAX];
        size_t n;

        if (store_event_list(a->st, &q, &pool, &v, &n, cur, NULL) != 0)
            atomic_fetch_add(&a->errors, 1);
        if (store_issue_list(a->st, &iq, &pool, &iv, &n, cur, NULL) != 0)
            atomic_fetch_add(&a->errors, 1);
        pool_reset(&pool);
    }
    pool_release(&pool);
    return NULL;
}

/* Writes total small log events for pid in batches of BENCH_BATCH from lsn base on. */
#define BENCH_BATCH 5000
static size_t write_logs(struct store *st, int64_t pid, struct event *ev, uint64_t base,
                         size_t total)
{
    static char msg[BENCH_BATCH][64];
    struct store_batch_result res;
    size_t i, b, written = 0;

    for (b = 0; b < total / BENCH_BATCH; b++) {
        for (i = 0; i < BENCH_BATCH; i++) {
            size_t k = b * BENCH_BATCH + i;

            mk_event(&ev[i], pid, base + k, 0, DAY1 + (int64_t)(base + k) * 1000, EV_KIND_LOG,
                     "L", EV_INFO);
            snprintf(msg[i], sizeof(msg[i]), "GET /items/%zu 200 %zums user=u%zu", k, k % 97,
                     k % 13);
            ev[i].message = msg[i];
        }
        if (write_ev(st, ev, BENCH_BATCH, base + (b + 1) * BENCH_BATCH, &res) != 0)
            break;
        written += res.events_written;
    }
    return written;
}

/*
 * 100k small log events in batches of 5000, alone (the printed rate), then
 * 20k more while two threads list events and issues on their own connections.
 */
static void test_throughput(const char *dir)
{
    struct store *st = open_store(dir);
    struct event *ev = calloc(BENCH_BATCH, sizeof(*ev));
    struct reader_arg ra;
    pthread_t th[2];
    int64_t t0;
    size_t i, written;

    if (st == NULL || ev == NULL)
        goto out;
    ra.st = st;
    ra.pid = add_project(st, "bench");
    atomic_init(&ra.stop, 0);
    atomic_init(&ra.errors, 0);
    t0 = clock_mono_us();
    written = write_logs(st, ra.pid, ev, 100000, 100000);
    t0 = clock_mono_us() - t0;
    CHECK_INT_EQ(written, 100000);
    printf("store: 100000 log events with FTS in batches of %d: %.0f events/s (%.2f s)\n",
           BENCH_BATCH, (double)written * 1e6 / (double)(t0 > 0 ? t0 : 1), (double)t0 / 1e6);
    for (i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, reader_main, &ra);
    CHECK_INT_EQ(write_logs(st, ra.pid, ev, 200000, 20000), 20000);
    atomic_store(&ra.stop, 1);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_INT_EQ(atomic_load(&ra.errors), 0);
    CHECK_INT_EQ(count_events(st, ra.pid, 0, EV_KIND_LOG, 1000), 120000);
out:
    free(ev);
    store_close(st);
}

int main(void)
{
    char dir[300], dir2[300], dir3[300];
    struct store *st;
    int64_t pid, issue_a = 0, issue_b = 0;

    hash_global_init();
    json_global_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-store-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    snprintf(dir, sizeof(dir), "%s/main", tmpdir);
    snprintf(dir2, sizeof(dir2), "%s/crash/nested", tmpdir);
    snprintf(dir3, sizeof(dir3), "%s/bench", tmpdir);
    test_status_names();
    st = open_store(dir);
    if (st != NULL) {
        test_projects(st);
        test_users_tokens(st);
        pid = add_project(st, "events");
        test_write_counts(st, pid, &issue_a, &issue_b);
        test_duplicates_regression(st, pid, issue_a, issue_b);
        test_issue_list(st);
        test_event_pages(st);
        test_raw(st, dir);
        store_close(st);
        test_fts(dir);
        test_reopen_and_drop(dir, pid, issue_a);
        test_schema_versions(dir);
    }
    test_crash_replay(dir2);
    test_crash_fixup(dir2);
    test_crash_between_days(dir2);
    test_throughput(dir3);
    rm_tree(tmpdir);
    return t_done();
}
