/*
 * Where issues were seen (store_sqlite_seen.c): the environments and
 * releases write_batch records per issue, exactly once across a crash
 * between the day files and bilor.db; the issue listing's filters; the
 * listings; and main migration 9's backfill of a data directory an older
 * binary left (schema 8, day files of schema 1 and 2, two nodes), which
 * must count exactly the events that were counted into issues.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static struct store *open_store(const char *dir)
{
    return t_open_sqlite(dir, NODE);
}

static int crash_hook(void *arg, size_t committed, size_t ndays)
{
    (void)ndays;
    return *(int *)arg > 0 && committed == (size_t) * (int *)arg;
}

/* "value:times_seen:issues,..." of a seen listing, most recent first. */
static const char *seen_str(struct store *st, int64_t pid, int64_t issue, int kind, char *out,
                            size_t outsz)
{
    struct pool pool = POOL_INIT(16384);
    struct store_seen *v = NULL;
    size_t n = 0, len = 0;
    struct bl_err err = { 0, "" };

    out[0] = '\0';
    if (store_seen_list(st, pid, issue, kind, 100, &pool, &v, &n, &err) != 0)
        snprintf(out, outsz, "error: %s", bl_err_msg(&err));
    for (size_t i = 0; i < n && len < outsz; i++)
        len += (size_t)snprintf(out + len, outsz - len, "%s%s:%lld:%lld", i ? "," : "", v[i].value,
                                (long long)v[i].times_seen, (long long)v[i].issues);
    pool_release(&pool);
    return out;
}

/* Titles of the project's issues (any status, by last seen) that pass f. */
static const char *listed(struct store *st, int64_t pid, const struct store_seen_filter *f,
                          size_t nf, char *out, size_t outsz)
{
    struct store_issue_query q = { pid, STORE_ISSUE_ANY, STORE_SORT_LAST_SEEN, 100, NULL, f, nf };
    struct pool pool = POOL_INIT(16384);
    struct store_issue *v = NULL;
    char cur[STORE_CURSOR_MAX];
    size_t n = 0, len = 0;
    struct bl_err err = { 0, "" };
    int rc = store_issue_list(st, &q, &pool, &v, &n, cur, &err);

    out[0] = '\0';
    if (rc != 0)
        snprintf(out, outsz, "error %d", rc);
    for (size_t i = 0; i < n && len < outsz; i++)
        len += (size_t)snprintf(out + len, outsz - len, "%s%s", i ? "," : "", v[i].title);
    pool_release(&pool);
    return out;
}

static void mk(struct event *e, int64_t pid, uint64_t lsn, uint32_t seq, int64_t ts, const char *fp,
               const char *env, const char *rel)
{
    mk_event(e, pid, lsn, seq, ts, EV_KIND_ISSUE, fp, EV_ERROR);
    e->environment = env;
    e->release = rel;
}

static void test_live(const char *dir)
{
    static const char *const prod[] = { "production" }, *const pr[] = { "PRO" };
    static const char *const stag[] = { "staging" }, *const r1[] = { "r1" };
    static const char *const alpha[] = { "\xc3\xa9t\xc3\xa9" };
    static const int yes[] = { 1 };
    struct store *st = open_store(dir);
    struct event ev[7];
    struct store_batch_result res;
    struct store_seen_filter f[2];
    char s[512];
    int crash = 1;
    int64_t pid;

    if (st == NULL)
        return;
    pid = add_project(st, "seen");
    mk(&ev[0], pid, 10, 0, DAY1 + HOUR, "A", "production", "r1");
    mk(&ev[1], pid, 10, 1, DAY1 + 2 * HOUR, "A", "staging", "r1");
    mk_event(&ev[2], pid, 10, 2, DAY1 + 3 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    ev[2].environment = "logs-only";
    CHECK_INT_EQ(write_ev(st, ev, 3, 11, &res), 0);
    /* Batch 2 spans two days and "crashes" after the first day file commits. */
    mk(&ev[3], pid, 20, 0, DAY1 + 5 * HOUR, "B", "production", "r2");
    mk(&ev[4], pid, 20, 1, DAY2 + HOUR, "A", "production", "r2");
    mk(&ev[5], pid, 20, 2, DAY2 + 2 * HOUR, "B", NULL, NULL);
    mk(&ev[6], pid, 20, 3, DAY2 + 3 * HOUR, "B", "", "");
    sq_set_test_hook(st, crash_hook, &crash);
    CHECK_INT_EQ(write_ev(st, ev + 3, 4, 21, &res), BL_EIO);
    crash = 0;
    CHECK_INT_EQ(write_ev(st, ev + 3, 4, 21, &res), 0);
    CHECK_INT_EQ(res.events_written, 4);

    CHECK_STR_EQ(seen_str(st, pid, ev[0].issue_id, STORE_SEEN_ENVIRONMENT, s, sizeof(s)),
                 "production:2:1,staging:1:1");
    CHECK_STR_EQ(seen_str(st, pid, ev[0].issue_id, STORE_SEEN_RELEASE, s, sizeof(s)),
                 "r2:1:1,r1:2:1");
    CHECK_STR_EQ(seen_str(st, pid, ev[3].issue_id, -1, s, sizeof(s)), "production:1:1,r2:1:1");
    CHECK_STR_EQ(seen_str(st, pid, 0, STORE_SEEN_ENVIRONMENT, s, sizeof(s)),
                 "production:3:2,staging:1:1");
    CHECK_STR_EQ(seen_str(st, pid, 0, STORE_SEEN_RELEASE, s, sizeof(s)), "r2:2:2,r1:2:1");

    /* Filters: exact, ASCII case-insensitive prefix, negated, any value, releases. */
    f[0] = (struct store_seen_filter){ STORE_SEEN_ENVIRONMENT, 0, 0, prod, NULL, 1 };
    CHECK_STR_EQ(listed(st, pid, f, 1, s, sizeof(s)), "B,A");
    f[0].values = pr;
    CHECK_STR_EQ(listed(st, pid, f, 1, s, sizeof(s)), "");
    f[0].nocase = 1;
    f[0].prefix = yes;
    CHECK_STR_EQ(listed(st, pid, f, 1, s, sizeof(s)), "B,A");
    f[0] = (struct store_seen_filter){ STORE_SEEN_ENVIRONMENT, 1, 0, stag, NULL, 1 };
    CHECK_STR_EQ(listed(st, pid, f, 1, s, sizeof(s)), "B");
    f[1] = (struct store_seen_filter){ STORE_SEEN_RELEASE, 0, 1, r1, NULL, 1 };
    CHECK_STR_EQ(listed(st, pid, f, 2, s, sizeof(s)), "");
    CHECK_STR_EQ(listed(st, pid, f + 1, 1, s, sizeof(s)), "A");
    f[0] = (struct store_seen_filter){ STORE_SEEN_ENVIRONMENT, 1, 1, NULL, NULL, 0 };
    CHECK_STR_EQ(listed(st, pid, f, 1, s, sizeof(s)), "");
    /* Refused: a non-ASCII value compared case-insensitively, too many values. */
    f[0] = (struct store_seen_filter){ STORE_SEEN_ENVIRONMENT, 0, 1, alpha, NULL, 1 };
    CHECK(strncmp(listed(st, pid, f, 1, s, sizeof(s)), "error", 5) == 0);
    f[0] = (struct store_seen_filter){ STORE_SEEN_ENVIRONMENT,   0, 0, prod, NULL,
                                       STORE_SEEN_VALUES_MAX + 1 };
    CHECK(strncmp(listed(st, pid, f, 1, s, sizeof(s)), "error", 5) == 0);
    store_close(st);
}

#define EVROW(id, issue, env, rel, ts, lsn)                                                        \
    "INSERT INTO events(project_id, event_id, timestamp, received_at, level, kind, issue_id,"      \
    " environment, release, fingerprint, template_hash, source, lsn, seq) VALUES(1, '" id "', " ts \
    ", " ts ", 4, 1, " issue ", " env ", " rel ", 'F', 0, 0, " lsn ", 0);"

/*
 * A data directory at main schema 8: node 1 counted its events below lsn
 * 100, node 2 below 50. Day file 1 (schema 2) holds events of both nodes
 * on both sides of their checkpoints and a log row; day file 2 (schema 1,
 * no node column: node 1's) one more. Only the counted ones are added.
 */
static void test_backfill(const char *tmp)
{
    char dir[400], path[500], s[512];
    struct store *st;

    snprintf(dir, sizeof(dir), "%s/backfill", tmp);
    CHECK_INT_EQ(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/events", dir);
    CHECK_INT_EQ(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/bilor.db", dir);
    old_file(path, 1, 8,
             "INSERT INTO projects(id, name, slug, issue_level, created_at)"
             " VALUES(1, 'old', 'old', 4, 0);"
             "INSERT INTO issues(id, project_id, fingerprint, grouping_version, title, level,"
             " first_seen, last_seen, times_seen) VALUES(1, 1, 'a', 1, 'A', 4, 1, 1, 2),"
             " (2, 1, 'b', 1, 'B', 4, 1, 1, 2);"
             "UPDATE nodes SET checkpoint_lsn = 100 WHERE id = 1;"
             "INSERT INTO nodes(id, node_id, checkpoint_lsn) VALUES(2, 'other', 50);");
    snprintf(path, sizeof(path), "%s/events/20240501.db", dir);
    /* clang-format off */
    old_file(path, 0, 2,
             EVROW("e1", "1", "'prod'", "'r1'", "1714525200000000", "90")   /* counted */
             EVROW("e2", "1", "'late'", "'r9'", "1714525300000000", "100")  /* not yet */
             EVROW("e3", "0", "'logs'", "'r1'", "1714525400000000", "10")   /* a log row */
             EVROW("e4", "2", "'stage'", "'r1'", "1714525500000000", "40")  /* node 2: counted */
             EVROW("e5", "2", "'late2'", "NULL", "1714525600000000", "60")  /* node 2: not yet */
             "UPDATE events SET node = 2 WHERE event_id IN ('e4', 'e5');");
    /* clang-format on */
    snprintf(path, sizeof(path), "%s/events/20240502.db", dir);
    old_file(path, 0, 1, EVROW("e6", "2", "'dev'", "NULL", "1714611600000000", "10"));

    st = open_store(dir);
    if (st == NULL)
        return;
    CHECK_STR_EQ(seen_str(st, 1, 1, -1, s, sizeof(s)), "prod:1:1,r1:1:1");
    CHECK_STR_EQ(seen_str(st, 1, 2, STORE_SEEN_ENVIRONMENT, s, sizeof(s)), "dev:1:1,stage:1:1");
    CHECK_STR_EQ(seen_str(st, 1, 0, STORE_SEEN_RELEASE, s, sizeof(s)), "r1:2:2");
    store_close(st);
    /* Done once: the bound is gone, and a second open adds nothing. */
    st = open_store(dir);
    if (st != NULL)
        CHECK_STR_EQ(seen_str(st, 1, 0, STORE_SEEN_ENVIRONMENT, s, sizeof(s)),
                     "dev:1:1,stage:1:1,prod:1:1");
    store_close(st);
}

int main(void)
{
    char tmpdir[256], dir[300];

    hash_global_init();
    json_global_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-seen-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    snprintf(dir, sizeof(dir), "%s/live", tmpdir);
    test_live(dir);
    test_backfill(tmpdir);
    t_rm_tree(tmpdir);
    return t_done();
}
