/*
 * The store contract: what every backend of store.h must do, tested through
 * store.h alone (no backend header), so the same suite will run against
 * PostgreSQL. The store comes from BILOR_TEST_STORE_URL, which must name an
 * empty store (the suite adds projects and writes as nodes "node-a",
 * "node-b" and "node-bench"); by default a new SQLite store in a temporary
 * directory. The store URL parsing and the node id file are tested in
 * temporary directories whatever the URL.
 *
 * SQLite's own behaviour (day files, migrations, crash ordering) is in
 * test_store_sqlite.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "store/store.h"
#include "t.h"
#include "t_store.h"

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

/* 7 events over two days: issue A x4, issue B x1, logs x2. */
static void test_write_counts(struct store *st, int64_t pid, int64_t *issue_a, int64_t *issue_b)
{
    struct event ev[7];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int64_t counts[3] = { 0, 0, 0 };
    uint64_t cp = 0;

    t_two_days(ev, pid);
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

/*
 * An issue's first_seen and last_seen follow its events whatever order the
 * batches bring them in: a later batch of newer events moves last_seen only
 * (the writer's cheaper update), one with an event older than the issue's
 * first moves first_seen back and leaves last_seen and the status alone.
 */
static void test_seen_order(struct store *st)
{
    int64_t pid = add_project(st, "seen-order");
    uint64_t lsn = t_checkpoint(st);
    struct event ev[2];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    static const int64_t ts[3][2] = { { DAY2 + 12 * HOUR, DAY2 + 12 * HOUR + 7 },
                                      { DAY2 + 16 * HOUR, DAY2 + 15 * HOUR },
                                      { DAY2 + 14 * HOUR, DAY2 + 11 * HOUR } };
    static const int64_t first[3] = { DAY2 + 12 * HOUR, DAY2 + 12 * HOUR, DAY2 + 11 * HOUR };
    static const int64_t last[3] = { DAY2 + 12 * HOUR + 7, DAY2 + 16 * HOUR, DAY2 + 16 * HOUR };

    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < 2; i++)
            mk_event(&ev[i], pid, lsn + 1 + (uint64_t)i, 0, ts[b][i], EV_KIND_ISSUE, "S", EV_ERROR);
        lsn += 3;
        CHECK_INT_EQ(write_ev(st, ev, 2, lsn, &res), 0);
        CHECK_INT_EQ(res.events_written, 2);
        CHECK_INT_EQ(res.new_issues, b == 0);
        CHECK_INT_EQ(get_issue(st, ev[0].issue_id, &is, &pool), 0);
        CHECK_INT_EQ(is.times_seen, 2 * (b + 1));
        CHECK_INT_EQ(is.first_seen, first[b]);
        CHECK_INT_EQ(is.last_seen, last[b]);
        CHECK_INT_EQ(is.status, STORE_ISSUE_UNRESOLVED);
    }
    pool_release(&pool);
}

/*
 * A grouping-version change (fingerprint.c "Versions"): an event whose new
 * fingerprint has no issue keeps landing in the open issue of its
 * previous-version fingerprint, which stays recorded with the version and
 * rule set it was created with; once that issue is resolved, or when the
 * new fingerprint has its own issue, the new fingerprint decides.
 */
static void test_version_transition(struct store *st)
{
    int64_t pid = add_project(st, "transition");
    struct event ev[2];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);
    int64_t old_id, new_id, other_id;

    mk_event(&ev[0], pid, 500, 0, DAY2 + 20 * HOUR, EV_KIND_ISSUE, "OLD", EV_ERROR);
    ev[0].grouping_version = 2;
    ev[0].rules_version = 4;
    CHECK_INT_EQ(write_ev(st, ev, 1, 510, &res), 0);
    CHECK_INT_EQ(res.new_issues, 1);
    old_id = ev[0].issue_id;
    /* Version 3, new fingerprint, previous one "OLD": the old issue takes it. */
    mk_event(&ev[0], pid, 520, 0, DAY2 + 21 * HOUR, EV_KIND_ISSUE, "NEW", EV_ERROR);
    ev[0].grouping_version = 3;
    snprintf(ev[0].fingerprint_prev, sizeof(ev[0].fingerprint_prev), "%-32s", "OLD");
    ev[0].grouping_version_prev = 2;
    /* One whose previous fingerprint has no issue starts its own. */
    mk_event(&ev[1], pid, 530, 0, DAY2 + 21 * HOUR, EV_KIND_ISSUE, "OTHER", EV_ERROR);
    ev[1].grouping_version = 3;
    snprintf(ev[1].fingerprint_prev, sizeof(ev[1].fingerprint_prev), "%-32s", "NONE");
    ev[1].grouping_version_prev = 2;
    ev[1].rules_version = 7;
    CHECK_INT_EQ(write_ev(st, ev, 2, 540, &res), 0);
    CHECK_INT_EQ(res.new_issues, 1);
    CHECK_INT_EQ(ev[0].issue_id, old_id);
    other_id = ev[1].issue_id;
    CHECK(other_id != old_id);
    CHECK_INT_EQ(get_issue(st, old_id, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 2);
    CHECK_INT_EQ(is.grouping_version, 2);
    CHECK_INT_EQ(is.rules_version, 4);
    CHECK_INT_EQ(get_issue(st, other_id, &is, &pool), 0);
    CHECK_INT_EQ(is.grouping_version, 3);
    CHECK_INT_EQ(is.rules_version, 7);
    /* Resolved: the transition ends, the new fingerprint gets its own issue... */
    CHECK_INT_EQ(store_issue_set_status(st, old_id, STORE_ISSUE_RESOLVED, NULL), 0);
    mk_event(&ev[0], pid, 550, 0, DAY2 + 22 * HOUR, EV_KIND_ISSUE, "NEW", EV_ERROR);
    ev[0].grouping_version = 3;
    snprintf(ev[0].fingerprint_prev, sizeof(ev[0].fingerprint_prev), "%-32s", "OLD");
    ev[0].grouping_version_prev = 2;
    CHECK_INT_EQ(write_ev(st, ev, 1, 560, &res), 0);
    CHECK_INT_EQ(res.new_issues, 1);
    CHECK_INT_EQ(res.regressions, 0);
    new_id = ev[0].issue_id;
    CHECK(new_id != old_id);
    /* ...which then wins even when the old issue reopens. */
    CHECK_INT_EQ(store_issue_set_status(st, old_id, STORE_ISSUE_UNRESOLVED, NULL), 0);
    mk_event(&ev[0], pid, 570, 0, DAY2 + 23 * HOUR, EV_KIND_ISSUE, "NEW", EV_ERROR);
    ev[0].grouping_version = 3;
    snprintf(ev[0].fingerprint_prev, sizeof(ev[0].fingerprint_prev), "%-32s", "OLD");
    ev[0].grouping_version_prev = 2;
    CHECK_INT_EQ(write_ev(st, ev, 1, 580, &res), 0);
    CHECK_INT_EQ(ev[0].issue_id, new_id);
    CHECK_INT_EQ(get_issue(st, old_id, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 2);
    pool_release(&pool);
}

static void check_issue_pages(struct store *st, int64_t pid, int sort, int status, size_t page,
                              size_t expect)
{
    struct store_issue_query q = { pid, status, sort, page, NULL, NULL, 0 };
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
    struct store_issue_query q = { 0, STORE_ISSUE_ANY, 0, 5, "1.x", NULL, 0 };
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
            mk_event(&ev[k], pid, 10000 + k, 0, DAY1 + (int64_t)(i % 3) * HOUR, EV_KIND_ISSUE, fp,
                     EV_ERROR);
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
        mk_event(&ev[i], pid, 30000 + i, 0,
                 DAY1 + (int64_t)(i / 10) * CLOCK_US_PER_DAY + (int64_t)(i % 5) * HOUR, EV_KIND_LOG,
                 "L", EV_INFO);
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

static void test_raw(struct store *st)
{
    static struct t_payloads pl;
    struct event ev[3];
    struct store_event out;
    struct store_batch_result res;
    struct pool pool = POOL_INIT(4096);
    const char *raw = NULL;
    size_t raw_len = 0, i;
    int64_t pid = add_project(st, "raw");

    t_payload_events(ev, &pl, pid, 50000, DAY1 + 5 * HOUR);
    ev[0].tags = (struct ev_tag[]){ { "browser", "Firefox \"115\"" }, { "os", "Linux" } };
    ev[0].ntags = 2;
    CHECK_INT_EQ(write_ev(st, ev, 3, 60000, &res), 0);
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
        CHECK_INT_EQ(raw_len, strlen(pl.big));
        CHECK(raw != NULL && memcmp(raw, pl.big, raw_len) == 0);
    }
    CHECK_INT_EQ(store_event_get(st, pid, ev[1].event_id, &pool, &out, NULL, NULL, NULL), 0);
    CHECK_INT_EQ(store_event_get(st, pid + 1, ev[1].event_id, &pool, &out, NULL, NULL, NULL),
                 BL_ENOTFOUND);
    CHECK_INT_EQ(
        store_event_get(st, pid, "ffffffffffffffffffffffffffffffff", &pool, &out, NULL, NULL, NULL),
        BL_ENOTFOUND);
    pool_release(&pool);
}

/* Closed and opened again as the same node: checkpoint, issues and events are all there. */
static void test_reopen(const char *url, int64_t pid, int64_t issue_a)
{
    struct store *st = t_open_url(url, "node-a");
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);

    if (st == NULL)
        return;
    CHECK_INT_EQ(t_checkpoint(st), 60000);
    CHECK_INT_EQ(get_issue(st, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 5);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 4), 10);
    CHECK_INT_EQ(store_ping(st, NULL), 0);
    store_close(st);
    pool_release(&pool);
}

/* A store opened without a node id reads and administers, but has no checkpoint to move. */
static void test_no_node(const char *url, int64_t pid)
{
    struct store *st = t_open_url(url, NULL);
    struct store_project p;
    struct store_batch_result res;
    struct event ev;
    uint64_t cp = 0;

    if (st == NULL)
        return;
    CHECK_INT_EQ(store_ping(st, NULL), 0);
    CHECK_INT_EQ(store_project_get(st, pid, &p, NULL), 0);
    CHECK_INT_EQ(store_get_checkpoint(st, &cp, NULL), BL_EINVAL);
    mk_event(&ev, pid, 10, 0, DAY1, EV_KIND_LOG, "L", EV_INFO);
    CHECK_INT_EQ(store_write_batch(st, &ev, 1, 20, &res, NULL), BL_EINVAL);
    CHECK_INT_EQ(count_events(st, pid, 0, -1, 100), 10);
    store_close(st);
    st = NULL;
    CHECK_INT_EQ(store_open(&st, url, "not a node id", NULL), BL_EINVAL);
    CHECK_INT_EQ(store_open(&st, url, "", NULL), BL_EINVAL);
    CHECK(st == NULL);
}

/*
 * Two nodes, two journals, one database: each node's checkpoint moves with
 * its own batches only, and the journal positions of one node say nothing
 * about another's. node-b's first batch sits far below node-a's checkpoint
 * (60000) and is stored; an event of node-b that repeats the id of node-a's
 * first event, at the very (lsn, seq) node-a wrote it with, is a client
 * duplicate, not a replay of node-b's own.
 */
static void test_nodes(const char *url, int64_t pid, int64_t issue_a)
{
    struct store *a = t_open_url(url, "node-a");
    struct store *b = t_open_url(url, "node-b");
    struct event ev[3];
    struct store_batch_result res;
    struct store_issue is;
    struct pool pool = POOL_INIT(4096);

    if (a == NULL || b == NULL)
        goto out;
    CHECK_INT_EQ(t_checkpoint(a), 60000);
    CHECK_INT_EQ(t_checkpoint(b), 0);
    mk_event(&ev[0], pid, 10, 0, DAY1 + 10 * HOUR, EV_KIND_ISSUE, "A", EV_WARNING);
    snprintf(ev[0].event_id, sizeof(ev[0].event_id), "%032x", 1u); /* node-a's first event */
    mk_event(&ev[1], pid, 10, 1, DAY1 + 10 * HOUR + 7, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[2], pid, 15, 0, DAY2 + HOUR, EV_KIND_LOG, "L", EV_INFO);
    CHECK_INT_EQ(write_ev(b, ev, 3, 20, &res), 0);
    CHECK_INT_EQ(res.events_written, 2);
    CHECK_INT_EQ(res.duplicates, 1);
    CHECK_INT_EQ(res.new_issues, 0);
    CHECK_INT_EQ(ev[1].issue_id, issue_a);
    CHECK_INT_EQ(get_issue(b, issue_a, &is, &pool), 0);
    CHECK_INT_EQ(is.times_seen, 6);
    CHECK_INT_EQ(t_checkpoint(b), 20);
    CHECK_INT_EQ(t_checkpoint(a), 60000);
    /* node-b replaying its committed batch changes nothing. */
    CHECK_INT_EQ(write_ev(b, ev, 3, 20, &res), 0);
    CHECK_INT_EQ(res.events_written, 0);
    CHECK_INT_EQ(count_events(b, pid, 0, -1, 100), 12);
    /* node-a goes on from its own checkpoint. */
    mk_event(&ev[0], pid, 60000, 0, DAY2 + 2 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    CHECK_INT_EQ(write_ev(a, ev, 1, 60010, &res), 0);
    CHECK_INT_EQ(res.events_written, 1);
    CHECK_INT_EQ(t_checkpoint(a), 60010);
    CHECK_INT_EQ(t_checkpoint(b), 20);
    /* Each checkpoint survives a reopen. */
    store_close(b);
    b = t_open_url(url, "node-b");
    if (b != NULL)
        CHECK_INT_EQ(t_checkpoint(b), 20);
    CHECK_INT_EQ(count_events(a, pid, 0, -1, 100), 13);
out:
    store_close(a);
    store_close(b);
    pool_release(&pool);
}

/* How store_open reads a URL: every SQLite spelling opens the same store; the rest is refused. */
static void test_urls(const char *tmp)
{
    static const char *const forms[] = { "%s", "sqlite:%s", "sqlite://%s", "SQLite:%s" };
    char dir[400], url[420], cwd[1024];
    struct store *st = NULL;
    struct store_project *list = NULL;
    struct pool pool = POOL_INIT(4096);
    struct bl_err err = { 0, "" };
    struct stat sb;
    size_t i, n = 0;

    snprintf(dir, sizeof(dir), "%s/urls/store", tmp);
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(url, sizeof(url), forms[i], dir);
        st = t_open_url(url, NULL);
        if (st == NULL)
            continue;
        if (i == 0)
            add_project(st, "via a path");
        CHECK_INT_EQ(store_project_list(st, &pool, &list, &n, NULL), 0);
        CHECK_INT_EQ(n, 1);
        store_close(st);
    }
    st = NULL;
    /* Recognised, not built: the error says so and never repeats the password. */
    CHECK_INT_EQ(store_open(&st, "postgres://bilor:s3cret@db.example/bilor", "n", &err),
                 BL_EUNSUPPORTED);
    CHECK(strstr(bl_err_msg(&err), "PostgreSQL") != NULL);
    CHECK(strstr(bl_err_msg(&err), "s3cret") == NULL);
    CHECK_INT_EQ(store_open(&st, "postgresql://u:s3cret@/bilor?host=/run", NULL, &err),
                 BL_EUNSUPPORTED);
    CHECK(strstr(bl_err_msg(&err), "s3cret") == NULL);
    /* Unknown schemes name the accepted forms. */
    CHECK_INT_EQ(store_open(&st, "mysql://root@db/bilor", NULL, &err), BL_EINVAL);
    CHECK(strstr(bl_err_msg(&err), "'mysql'") != NULL);
    CHECK(strstr(bl_err_msg(&err), "sqlite:PATH") != NULL);
    CHECK_INT_EQ(store_open(&st, "", NULL, &err), BL_EINVAL);
    CHECK_INT_EQ(store_open(&st, NULL, NULL, &err), BL_EINVAL);
    CHECK_INT_EQ(store_open(&st, "sqlite:", NULL, &err), BL_EINVAL);
    CHECK_INT_EQ(store_open(&st, "sqlite://", NULL, &err), BL_EINVAL);
    CHECK(st == NULL);
    /* A relative directory whose name has a colon is still a directory. */
    snprintf(dir, sizeof(dir), "%s/urls", tmp);
    if (getcwd(cwd, sizeof(cwd)) != NULL && chdir(dir) == 0) {
        st = t_open_url("backup:2024", NULL);
        store_close(st);
        CHECK_INT_EQ(stat("backup:2024/bilor.db", &sb), 0);
        CHECK_INT_EQ(chdir(cwd), 0);
    }
    pool_release(&pool);
}

/* The node id file: created once, private, read back the same; a bad one is refused. */
static void test_node_file(const char *tmp)
{
    char dir[400], path[500], a[STORE_NODE_ID_MAX], b[STORE_NODE_ID_MAX], big[80];
    struct stat sb;
    FILE *f;
    DIR *d;
    struct dirent *de;
    int files = 0;

    snprintf(dir, sizeof(dir), "%s/node", tmp);
    CHECK_INT_EQ(mkdir(dir, 0700), 0);
    CHECK_INT_EQ(store_node_id(dir, a, NULL), 0);
    CHECK_INT_EQ(strlen(a), 32);
    CHECK_INT_EQ(store_node_id_check(a), 0);
    snprintf(path, sizeof(path), "%s/node_id", dir);
    CHECK_INT_EQ(stat(path, &sb), 0);
    CHECK_INT_EQ(sb.st_mode & 0777, 0600);
    CHECK_INT_EQ(store_node_id(dir, b, NULL), 0);
    CHECK_STR_EQ(a, b);
    d = opendir(dir);
    for (de = d != NULL ? readdir(d) : NULL; de != NULL; de = readdir(d))
        files += de->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    CHECK_INT_EQ(files, 1); /* no temporary file left behind */
    f = fopen(path, "w");
    if (f != NULL) {
        fputs("not a node id\n", f);
        fclose(f);
    }
    CHECK_INT_EQ(store_node_id(dir, b, NULL), BL_EINVAL);
    CHECK_INT_EQ(store_node_id("/nonexistent/bilor-test", b, NULL), BL_EIO);
    CHECK_INT_EQ(store_node_id_check("node-a"), 0);
    CHECK_INT_EQ(store_node_id_check("A_b-9"), 0);
    CHECK_INT_EQ(store_node_id_check(""), BL_EINVAL);
    CHECK_INT_EQ(store_node_id_check("has space"), BL_EINVAL);
    CHECK_INT_EQ(store_node_id_check("../x"), BL_EINVAL);
    CHECK_INT_EQ(store_node_id_check(NULL), BL_EINVAL);
    memset(big, 'x', sizeof(big));
    big[STORE_NODE_ID_MAX - 1] = '\0';
    CHECK_INT_EQ(store_node_id_check(big), 0);
    big[STORE_NODE_ID_MAX - 1] = 'x';
    big[STORE_NODE_ID_MAX] = '\0';
    CHECK_INT_EQ(store_node_id_check(big), BL_EINVAL);
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
        struct store_event_query q = { a->pid, 0, -1, 0, 0, 50, NULL, 1, NULL, 0, NULL, NULL };
        struct store_issue_query iq = { a->pid, STORE_ISSUE_ANY, 0, 50, NULL, NULL, 0 };
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

            mk_event(&ev[i], pid, base + k, 0, DAY1 + (int64_t)(base + k) * 1000, EV_KIND_LOG, "L",
                     EV_INFO);
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
 * A node of its own: its checkpoint starts at 0 beside the other nodes'.
 */
static void test_throughput(const char *url)
{
    struct store *st = t_open_url(url, "node-bench");
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
    char tmpdir[256], dir[300];
    const char *url = getenv("BILOR_TEST_STORE_URL");
    struct store *st;
    int64_t pid = 0, issue_a = 0, issue_b = 0;

    hash_global_init();
    json_global_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-contract-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    snprintf(dir, sizeof(dir), "%s/main", tmpdir);
    if (url == NULL || url[0] == '\0')
        url = dir;
    test_status_names();
    test_urls(tmpdir);
    test_node_file(tmpdir);
    st = t_open_url(url, "node-a");
    if (st != NULL) {
        CHECK_INT_EQ(store_ping(st, NULL), 0);
        CHECK_INT_EQ(t_checkpoint(st), 0);
        test_projects(st);
        test_users_tokens(st);
        pid = add_project(st, "events");
        test_write_counts(st, pid, &issue_a, &issue_b);
        test_duplicates_regression(st, pid, issue_a, issue_b);
        test_version_transition(st);
        test_issue_list(st);
        test_event_pages(st);
        test_raw(st);
        store_close(st);
        test_reopen(url, pid, issue_a);
        test_no_node(url, pid);
        test_nodes(url, pid, issue_a);
        st = t_open_url(url, "node-a");
        if (st != NULL) {
            test_seen_order(st);
            store_close(st);
        }
    }
    test_throughput(url);
    t_rm_tree(tmpdir);
    return t_done();
}
