/*
 * Unit tests for src/digest: the decode pipeline against a real journal and
 * SQLite store. Batches small enough that many are in flight on several
 * decode threads, and records cut at max_events, must still reach the store
 * in journal order, each event exactly once; a stop leaves the rest in the
 * journal for the next digest; large raw payloads come back byte for byte.
 * Log lines are not grouped, and an issue the decode did not group (the
 * issue level changed between the decode's cache and the writer's) is
 * grouped by the writer exactly as the decode would have.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/pool.h"
#include "digest/digest.h"
#include "ingest/fingerprint.h"
#include "ingest/ingest.h"
#include "t.h"

#define PROJECT 1
#define BIG_MESSAGE 3000 /* over the 1 KiB above which raw payloads are zstd'd */

static char tmpdir[256];

struct env {
    struct store *store;
    struct journal *journal;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int acked;
};

static void on_durable(void *arg, int rc)
{
    struct env *e = arg;

    pthread_mutex_lock(&e->mu);
    e->acked += rc == 0;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void open_env(struct env *e)
{
    struct journal_config jc = { NULL, 1 << 20, UINT64_C(1) << 30, 1 << 20, 0, 0 };
    struct store_project p;
    struct bl_err err = { 0 };
    char jdir[300];
    uint64_t ckpt = 0;

    snprintf(jdir, sizeof(jdir), "%s/journal", tmpdir);
    jc.dir = jdir;
    CHECK_INT_EQ(store_open(&e->store, tmpdir, "test-node", &err), 0);
    CHECK_INT_EQ(store_get_checkpoint(e->store, &ckpt, &err), 0);
    if (store_project_get(e->store, PROJECT, &p, NULL) != 0)
        CHECK_INT_EQ(store_project_add(e->store, "p", &p, &err), 0);
    CHECK_INT_EQ(journal_open(&e->journal, &jc, ckpt, &err), 0);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->acked = 0;
}

static void close_env(struct env *e)
{
    journal_close(e->journal);
    store_close(e->store);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
}

static void append(struct env *e, int protocol, const char *body, const char *event_id)
{
    struct journal_record r = { 0 };

    r.protocol = protocol;
    r.encoding = INGEST_ENC_NONE;
    r.project_id = PROJECT;
    r.received_at = clock_now_us();
    snprintf(r.event_id, sizeof(r.event_id), "%s", event_id);
    r.payload = body;
    r.len = strlen(body);
    CHECK_INT_EQ(journal_append(e->journal, &r, on_durable, e), 0);
}

/* Record k: 1 to 9 JSON lines "r<round>-<k>-<line>", so some exceed max_events. */
static int append_lines(struct env *e, int round, int k)
{
    char body[2048];
    size_t off = 0;
    int n = 1 + (k * 7) % 9;

    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off,
                                "{\"message\":\"r%d-%d-%d\",\"level\":\"info\"}\n", round, k, i);
    append(e, INGEST_LOGS_NDJSON, body, "");
    return n;
}

/* A /store/ event whose raw payload is large enough to be compressed. */
static void append_big_event(struct env *e, int k, char *body, size_t cap, char id[33])
{
    int n;

    snprintf(id, 33, "%032x", 0xbe000 + k);
    n = snprintf(body, cap, "{\"event_id\":\"%s\",\"level\":\"warning\",\"message\":\"big %d ", id,
                 k);
    for (int i = 0; i < BIG_MESSAGE; i++)
        body[n++] = (char)('a' + (i * 7 + k) % 26);
    snprintf(body + n, cap - (size_t)n, "\"}");
    append(e, INGEST_SENTRY_STORE, body, id);
}

static void wait_acked(struct env *e, int n)
{
    pthread_mutex_lock(&e->mu);
    while (e->acked < n)
        pthread_cond_wait(&e->cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
}

/* Waits (at most 60 s) until the digest has stored everything durable. */
static int wait_digested(struct env *e, struct digest *d)
{
    int64_t end = clock_mono_us() + 60 * CLOCK_US_PER_SEC;
    struct digest_stats s;

    for (;;) {
        digest_get_stats(d, &s);
        if (s.position >= journal_durable_lsn(e->journal))
            return 1;
        if (clock_mono_us() > end)
            return 0;
        nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
    }
}

static struct digest *start(struct env *e, int threads)
{
    struct digest_config cfg = DIGEST_CONFIG_DEFAULT;
    struct digest *d = NULL;
    struct bl_err err = { 0 };

    /* Tiny batches: many slots in flight, and records cut at max_events. */
    cfg.max_records = 3;
    cfg.max_events = 5;
    cfg.idle_ms = 20;
    cfg.threads = threads;
    CHECK_INT_EQ(digest_start(&d, e->journal, e->store, &cfg, &err), 0);
    return d;
}

/* The messages of every stored event of the project, at most cap. */
static size_t list_all(struct store *st, char (*msgs)[24], size_t cap)
{
    struct store_event_query q = { PROJECT, 0, -1, 0, 0, 1000, NULL, 0, NULL, 0, NULL, NULL };
    char cursor[STORE_CURSOR_MAX] = "";
    struct pool pool;
    size_t total = 0;

    pool_init(&pool, 1 << 16);
    do {
        struct store_event *v = NULL;
        size_t n = 0;
        struct bl_err err = { 0 };
        char next[STORE_CURSOR_MAX] = "";

        q.cursor = cursor[0] ? cursor : NULL;
        if (store_event_list(st, &q, &pool, &v, &n, next, &err) != 0) {
            fprintf(stderr, "event_list: %s\n", bl_err_msg(&err));
            CHECK(0);
            break;
        }
        for (size_t i = 0; i < n && total < cap; i++, total++)
            snprintf(msgs[total], sizeof(msgs[total]), "%s", v[i].message ? v[i].message : "");
        snprintf(cursor, sizeof(cursor), "%s", next);
        pool_reset(&pool);
    } while (cursor[0] != '\0');
    pool_release(&pool);
    return total;
}

static int cmp_msg(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Checks the store holds exactly n_lines lines of round and n_big big events. */
static void check_stored(struct env *e, int round, int per_round, int n_lines, int n_big)
{
    size_t cap = (size_t)(n_lines + n_big) + 16, n;
    char(*msgs)[24] = calloc(cap, sizeof(*msgs));
    int dups = 0, big = 0;

    n = list_all(e->store, msgs, cap);
    CHECK_INT_EQ(n, n_lines + n_big);
    qsort(msgs, n, sizeof(*msgs), cmp_msg);
    for (size_t i = 0; i < n; i++) {
        dups += i > 0 && strcmp(msgs[i], msgs[i - 1]) == 0;
        big += strncmp(msgs[i], "big ", 4) == 0;
    }
    CHECK_INT_EQ(dups, 0);
    CHECK_INT_EQ(big, n_big);
    for (int k = 0; k < per_round; k++) {
        char want[24];
        int found;

        /* The first and the last line of every record. */
        snprintf(want, sizeof(want), "r%d-%d-0", round, k);
        found = bsearch(want, msgs, n, sizeof(*msgs), cmp_msg) != NULL;
        snprintf(want, sizeof(want), "r%d-%d-%d", round, k, (k * 7) % 9);
        found += bsearch(want, msgs, n, sizeof(*msgs), cmp_msg) != NULL;
        if (found != 2)
            fprintf(stderr, "record %d of round %d is not all there\n", k, round);
        CHECK_INT_EQ(found, 2);
    }
    free(msgs);
}

static void check_big_raw(struct env *e, const char *id, const char *body)
{
    struct store_event ev;
    struct pool pool;
    struct bl_err err = { 0 };
    const char *raw = NULL;
    size_t raw_len = 0;

    pool_init(&pool, 1 << 16);
    CHECK_INT_EQ(store_event_get(e->store, PROJECT, id, &pool, &ev, &raw, &raw_len, &err), 0);
    CHECK_INT_EQ(raw_len, strlen(body));
    CHECK(raw != NULL && memcmp(raw, body, strlen(body)) == 0);
    pool_release(&pool);
}

/* Many small batches through four decode threads: order and exactly-once hold. */
static void test_pipeline_order(void)
{
    enum { RECORDS = 300, BIG = 12 };
    static char bodies[BIG][BIG_MESSAGE + 200];
    char ids[BIG][33];
    struct env e;
    struct digest *d;
    struct digest_stats s;
    uint64_t ckpt = 0;
    int lines = 0, appended = 0;

    open_env(&e);
    for (int k = 0; k < RECORDS; k++, appended++) {
        lines += append_lines(&e, 0, k);
        if (k % 25 == 0 && k / 25 < BIG) {
            append_big_event(&e, k / 25, bodies[k / 25], sizeof(bodies[0]), ids[k / 25]);
            appended++;
        }
    }
    wait_acked(&e, appended);
    d = start(&e, 4);
    CHECK(wait_digested(&e, d));
    digest_get_stats(d, &s);
    digest_stop(d);
    CHECK_INT_EQ(s.records, appended);
    CHECK_INT_EQ(s.events, lines + BIG);
    CHECK_INT_EQ(s.duplicates, 0);
    CHECK_INT_EQ(s.bad_records, 0);
    CHECK(s.batch_events_sum == s.events && s.batches >= (uint64_t)appended / 3);
    CHECK_INT_EQ(store_get_checkpoint(e.store, &ckpt, NULL), 0);
    CHECK_INT_EQ(ckpt, journal_durable_lsn(e.journal));
    check_stored(&e, 0, RECORDS, lines, BIG);
    for (int b = 0; b < BIG; b++)
        check_big_raw(&e, ids[b], bodies[b]);
    close_env(&e);
}

/*
 * A stop mid-backlog returns soon and leaves the rest above the checkpoint;
 * a new digest (as after a restart) stores the rest, nothing twice.
 */
static void test_stop_keeps_the_rest(void)
{
    enum { RECORDS = 1500 };
    struct env e;
    struct digest *d;
    struct digest_stats s;
    uint64_t ckpt = 0, durable;
    int64_t t0;
    int lines = 0;

    open_env(&e);
    for (int k = 0; k < RECORDS; k++)
        lines += append_lines(&e, 1, k);
    wait_acked(&e, RECORDS);
    durable = journal_durable_lsn(e.journal);
    d = start(&e, 2);
    nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
    t0 = clock_mono_us();
    digest_get_stats(d, &s);
    digest_stop(d);
    CHECK(clock_mono_us() - t0 < 2 * CLOCK_US_PER_SEC);
    CHECK_INT_EQ(store_get_checkpoint(e.store, &ckpt, NULL), 0);
    printf("stop after 50 ms: checkpoint at %llu of %llu bytes\n", (unsigned long long)ckpt,
           (unsigned long long)durable);
    CHECK(ckpt < durable); /* 1500 records in 3-record batches take far longer than 50 ms */
    close_env(&e);

    open_env(&e);
    d = start(&e, 3);
    CHECK(wait_digested(&e, d));
    digest_stop(d);
    CHECK_INT_EQ(store_get_checkpoint(e.store, &ckpt, NULL), 0);
    CHECK_INT_EQ(ckpt, durable);
    check_stored(&e, 1, RECORDS, lines, 0);
    close_env(&e);
}

/* The one event of an NDJSON body as the decode gives it at issue_level (0: group all). */
static void decode_line(const char *body, int issue_level, struct pool *pool, struct event *out)
{
    struct ingest_meta m = { INGEST_LOGS_NDJSON, INGEST_ENC_NONE, PROJECT, 1000000, 7, "", NULL,
                             issue_level };
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct ingest_events evs = { 0 };
    struct bl_err err = { 0 };

    CHECK_INT_EQ(ingest_decode(body, strlen(body), &m, &lim, pool, &evs, NULL, &err), 0);
    CHECK_INT_EQ(evs.n, 1);
    if (evs.n == 1)
        *out = evs.v[0];
}

static const char INFO_LINE[] =
    "{\"message\":\"user 42 logged in from 10.0.0.7\",\"level\":\"info\"}";
static const char ERROR_LINE[] = "{\"message\":\"payment 991 failed\",\"level\":\"error\"}";
static const char DEBUG_LINE[] = "{\"message\":\"cache miss 17\",\"level\":\"debug\"}";

/* Below the level: no grouping; at it: grouped as before; grouped later: the same. */
static void test_decode_defers_log_lines(void)
{
    struct pool pool = POOL_INIT(1 << 16);
    struct event all, info, err, later;

    decode_line(INFO_LINE, 0, &pool, &all);
    CHECK(!fingerprint_is_deferred(&all) && all.fingerprint[0] != '\0' && all.template_hash != 0);
    decode_line(INFO_LINE, EV_ERROR, &pool, &info);
    CHECK(fingerprint_is_deferred(&info));
    CHECK_STR_EQ(info.fingerprint, "");
    CHECK_INT_EQ(info.template_hash, 0);
    CHECK_STR_EQ(info.title, all.title); /* what a log line shows stays */
    later = info;
    fingerprint_event_rules(&later, &pool, NULL);
    CHECK_STR_EQ(later.fingerprint, all.fingerprint);
    CHECK_STR_EQ(later.fingerprint_prev, all.fingerprint_prev);
    CHECK_INT_EQ(later.grouping_version, all.grouping_version);
    CHECK_INT_EQ(later.grouping_version_prev, all.grouping_version_prev);
    CHECK(later.template_hash == all.template_hash);
    decode_line(ERROR_LINE, 0, &pool, &all);
    decode_line(ERROR_LINE, EV_ERROR, &pool, &err);
    CHECK(!fingerprint_is_deferred(&err));
    CHECK_STR_EQ(err.fingerprint, all.fingerprint);
    pool_release(&pool);
}

/* The stored event whose message is msg: its kind and fingerprint. */
static void stored(struct store *st, const char *msg, int *kind, char fp[33])
{
    struct store_event_query q = { PROJECT, 0, -1, 0, 0, 1000, NULL, 0, NULL, 0, NULL, NULL };
    char next[STORE_CURSOR_MAX] = "";
    struct pool pool = POOL_INIT(1 << 16);
    struct store_event *v = NULL;
    size_t n = 0;
    struct bl_err err = { 0 };

    *kind = -1;
    fp[0] = '\0';
    CHECK_INT_EQ(store_event_list(st, &q, &pool, &v, &n, next, &err), 0);
    for (size_t i = 0; i < n; i++) {
        if (v[i].message != NULL && strcmp(v[i].message, msg) == 0) {
            *kind = v[i].kind;
            memcpy(fp, v[i].fingerprint, 33);
        }
    }
    pool_release(&pool);
}

/*
 * The project's issue level drops from error to info while the (single)
 * decode thread still has error cached: an info line it did not group
 * becomes an issue at the writer, which groups it, with the fingerprint
 * the decode gives when it groups everything; a debug line stays a log
 * line, ungrouped. The decode learns the level before it decodes a record,
 * so a record of no events (a line the door would have refused) fills its
 * cache without filling the writer's.
 */
static void test_writer_groups_late_issues(void)
{
    struct pool pool = POOL_INIT(1 << 16);
    struct event want_info, want_err;
    struct env e;
    struct digest *d;
    struct digest_stats s;
    struct bl_err err = { 0 };
    char fp[33], body[512];
    int kind;

    decode_line(INFO_LINE, 0, &pool, &want_info);
    decode_line(ERROR_LINE, 0, &pool, &want_err);
    open_env(&e);
    CHECK_INT_EQ(store_project_update(e.store, PROJECT, NULL, EV_ERROR, &err), 0);
    d = start(&e, 1);
    append(&e, INGEST_LOGS_NDJSON, "not json\n", "");
    wait_acked(&e, 1);
    CHECK(wait_digested(&e, d));
    CHECK_INT_EQ(store_project_update(e.store, PROJECT, NULL, EV_INFO, &err), 0);
    snprintf(body, sizeof(body), "%s\n%s\n%s\n", INFO_LINE, DEBUG_LINE, ERROR_LINE);
    append(&e, INGEST_LOGS_NDJSON, body, "");
    wait_acked(&e, 2);
    CHECK(wait_digested(&e, d));
    digest_get_stats(d, &s);
    digest_stop(d);
    CHECK_INT_EQ(s.events, 3);
    CHECK_INT_EQ(s.issue_events, 2);
    CHECK_INT_EQ(s.writer_groupings, 1); /* the info line; the error line was grouped at decode */
    stored(e.store, "user 42 logged in from 10.0.0.7", &kind, fp);
    CHECK_INT_EQ(kind, EV_KIND_ISSUE);
    CHECK_STR_EQ(fp, want_info.fingerprint);
    stored(e.store, "payment 991 failed", &kind, fp);
    CHECK_INT_EQ(kind, EV_KIND_ISSUE);
    CHECK_STR_EQ(fp, want_err.fingerprint);
    stored(e.store, "cache miss 17", &kind, fp);
    CHECK_INT_EQ(kind, EV_KIND_LOG);
    CHECK_STR_EQ(fp, "");
    close_env(&e);
    pool_release(&pool);
}

int main(void)
{
    const char *base = getenv("TMPDIR");

    hash_global_init();
    json_global_init();
    log_set_level(getenv("T_VERBOSE") != NULL ? BL_LOG_DEBUG : BL_LOG_WARN);
    snprintf(tmpdir, sizeof(tmpdir), "%s/bilor-digest-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_pipeline_order();
    t_rm_tree(tmpdir);
    mkdir(tmpdir, 0700);
    test_stop_keeps_the_rest();
    t_rm_tree(tmpdir);
    mkdir(tmpdir, 0700);
    test_decode_defers_log_lines();
    test_writer_groups_late_issues();
    t_rm_tree(tmpdir);
    return t_done();
}
