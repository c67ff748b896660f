/*
 * Unit tests for src/door (no socket): the outcomes of admission and
 * submission against a real SQLite store and a real journal in a temp
 * directory, the durable callback, the key cache forgetting a revoked key
 * within a second without a query per request, and the wire format table.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "door/door.h"
#include "door/keycache.h"
#include "door/metrics.h"
#include "ingest/format.h"
#include "ingest/handoff.h"
#include "journal/journal.h"
#include "store/store.h"
#include "t.h"
#include "t_zlib.h"

static char tmpdir[256];

/* A store with two projects, a journal, and a door over them (with its handoff table). */
struct fixture {
    struct store *store;
    struct journal *journal;
    struct handoff *handoff;
    struct door *door;
    struct store_project a, b;
    struct pool pool;
};

static void fixture_open(struct fixture *f, uint64_t budget)
{
    struct journal_config jc = { NULL, 1u << 20, budget, 1u << 20, 0, 0 };
    struct door_config dc;
    struct bl_err err = { 0, "" };
    char jdir[300];

    memset(f, 0, sizeof(*f));
    memset(&dc, 0, sizeof(dc));
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-door-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    CHECK_INT_EQ(store_open(&f->store, tmpdir, NULL, &err), 0);
    CHECK_INT_EQ(store_project_add(f->store, "alpha", &f->a, NULL), 0);
    CHECK_INT_EQ(store_project_add(f->store, "beta", &f->b, NULL), 0);
    snprintf(jdir, sizeof(jdir), "%s/journal", tmpdir);
    jc.dir = jdir;
    CHECK_INT_EQ(journal_open(&f->journal, &jc, 0, &err), 0);
    dc.store = f->store;
    dc.journal = f->journal;
    dc.limits = INGEST_LIMITS_DEFAULT;
    dc.limits.max_body = 64 * 1024;
    dc.limits.max_event = 16 * 1024;
    dc.retry_after_s = 7;
    f->handoff = handoff_new(1u << 20, 10000000);
    dc.handoff = f->handoff;
    f->door = door_new(&dc);
    pool_init(&f->pool, 4096);
}

static void fixture_close(struct fixture *f)
{
    door_free(f->door);
    handoff_free(f->handoff);
    journal_close(f->journal);
    store_close(f->store);
    pool_release(&f->pool);
    t_rm_tree(tmpdir);
}

/* The done callback runs on the journal's flusher thread. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int called;
    int outcome;
};

static void on_done(struct door_req *r, int outcome)
{
    struct waiter *w = r->arg;

    pthread_mutex_lock(&w->mu);
    w->called++;
    w->outcome = outcome;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int wait_done(struct waiter *w)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&w->mu);
    while (w->called == 0 && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&w->mu);
    return w->called;
}

static int submit(struct door_req *r, const char *fmt_name, const char *body, struct waiter *w)
{
    return door_submit(r, format_by_name(fmt_name), body, strlen(body), INGEST_ENC_NONE,
                       clock_now_us(), on_done, w);
}

static const char event_json[] = "{\"event_id\":\"fc6d8c0c43fc4630ad850ee518f1b9d0\","
                                 "\"message\":\"hello\"}";

static void test_admission(void)
{
    struct fixture f;
    struct door_req r;
    struct metrics *m;

    fixture_open(&f, 1u << 30);
    m = door_metrics(f.door);

    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_gate(&r), DOOR_ACCEPTED);
    CHECK_INT_EQ(door_auth(&r, "00000000000000000000000000000000"), DOOR_UNAUTHORIZED);
    CHECK_STR_EQ(r.err.msg, "unknown or revoked project key");
    CHECK_INT_EQ(r.authed, 0);
    CHECK_INT_EQ(door_auth(&r, ""), DOOR_UNAUTHORIZED);

    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_auth(&r, f.b.key), DOOR_FORBIDDEN);
    CHECK_STR_EQ(r.err.msg, "this key belongs to another project");

    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_auth(&r, f.a.key), DOOR_ACCEPTED);
    CHECK_INT_EQ(r.authed, 1);

    CHECK_INT_EQ(metrics_read(&m->rejected[DOOR_UNAUTHORIZED]), 2);
    CHECK_INT_EQ(metrics_read(&m->rejected[DOOR_FORBIDDEN]), 1);

    /* Shutting down: unavailable, with a retry-after, whatever the request. */
    door_close(f.door);
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_gate(&r), DOOR_UNAVAILABLE);
    CHECK(r.retry_after_s > 0);
    fixture_close(&f);
}

static void test_bad_input(void)
{
    struct fixture f;
    struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
    struct door_req r;
    char big[20000];

    fixture_open(&f, 1u << 30);
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_auth(&r, f.a.key), DOOR_ACCEPTED);
    CHECK_INT_EQ(submit(&r, "store", "{\"message\": ", &w), DOOR_BAD_INPUT);
    CHECK(r.err.msg[0] != '\0');
    CHECK_INT_EQ(r.pending, 0);

    /* A gzip magic with garbage behind it. */
    CHECK_INT_EQ(submit(&r, "envelope", "\x1f\x8b garbage", &w), DOOR_BAD_INPUT);

    /* JSON lines: none good is bad input, with the per-line story kept. */
    CHECK_INT_EQ(submit(&r, "logs", "not json\n[1]\n", &w), DOOR_BAD_INPUT);
    CHECK_STR_EQ(r.err.msg, "no valid lines");
    CHECK_INT_EQ(r.no_units, 1);
    CHECK_INT_EQ(r.result.units.rejected, 2);
    CHECK_INT_EQ(r.result.units.nerrors, 2);

    /* An event over max_event (16 KiB here). */
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    CHECK_INT_EQ(submit(&r, "store", big, &w), DOOR_TOO_LARGE);

    /* An envelope without credentials anywhere, and one whose dsn names another project. */
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(submit(&r, "envelope", "{}\n{\"type\":\"event\"}\n{}\n", &w), DOOR_UNAUTHORIZED);
    CHECK_STR_EQ(r.err.msg, "missing project key");

    CHECK_INT_EQ(w.called, 0);
    CHECK_INT_EQ(metrics_read(&door_metrics(f.door)->rejected[DOOR_BAD_INPUT]), 4);
    fixture_close(&f);
}

static void test_busy(void)
{
    struct fixture f;
    struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
    struct door_req r;

    /* A budget of one byte: the first durable record puts the journal over it. */
    fixture_open(&f, 1);
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_gate(&r), DOOR_ACCEPTED);
    CHECK_INT_EQ(door_auth(&r, f.a.key), DOOR_ACCEPTED);
    CHECK_INT_EQ(submit(&r, "store", event_json, &w), DOOR_ACCEPTED);
    CHECK_INT_EQ(wait_done(&w), 1);

    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_gate(&r), DOOR_BUSY);
    CHECK_INT_EQ(r.retry_after_s, 7);
    CHECK_INT_EQ(metrics_read(&door_metrics(f.door)->rejected[DOOR_BUSY]), 1);
    fixture_close(&f);
}

/* Accepted bodies are in the journal as received, with the format's protocol. */
static void test_accepted_durable(void)
{
    struct fixture f;
    struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
    struct journal_batch b = { 0 };
    struct door_req r;
    struct metrics *m;
    unsigned char gz[512];
    size_t gzlen = t_deflate_to(event_json, strlen(event_json), 31, gz, sizeof(gz));
    char env[256];

    fixture_open(&f, 1u << 30);
    m = door_metrics(f.door);
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_auth(&r, f.a.key), DOOR_ACCEPTED);
    CHECK_INT_EQ(door_submit(&r, format_by_name("store"), gz, gzlen, INGEST_ENC_GZIP,
                             clock_now_us(), on_done, &w),
                 DOOR_ACCEPTED);
    CHECK_INT_EQ(r.pending, 1);
    CHECK_STR_EQ(r.result.check.event_id, "fc6d8c0c43fc4630ad850ee518f1b9d0");
    CHECK_INT_EQ(wait_done(&w), 1);
    CHECK_INT_EQ(w.outcome, DOOR_ACCEPTED);
    CHECK_INT_EQ(metrics_read(&m->accepted[format_index(format_by_name("store"))]), 1);
    CHECK_INT_EQ(metrics_read(&m->bytes_in[format_index(format_by_name("store"))]), gzlen);

    CHECK_INT_EQ(journal_read_batch(f.journal, 0, 10, 1u << 20, 1000, &b), 1);
    CHECK_INT_EQ(b.recs[0].protocol, INGEST_SENTRY_STORE);
    CHECK_INT_EQ(b.recs[0].encoding, INGEST_ENC_GZIP);
    CHECK_INT_EQ(b.recs[0].project_id, f.a.id);
    CHECK_STR_EQ(b.recs[0].event_id, "fc6d8c0c43fc4630ad850ee518f1b9d0");
    CHECK_INT_EQ(b.recs[0].len, gzlen);
    CHECK(memcmp(b.recs[0].payload, gz, gzlen) == 0);
    /* The door's decompressed copy waits for the digest, found by the record's bytes. */
    {
        struct slice text = SLICE_NULL;
        struct handoff_copy *c = handoff_take(f.handoff, b.recs[0].protocol, b.recs[0].encoding,
                                              b.recs[0].payload, b.recs[0].len, &text);

        CHECK(c != NULL);
        CHECK(text.len == strlen(event_json) && memcmp(text.p, event_json, text.len) == 0);
        handoff_release(c);
    }

    /* An envelope that authenticates with its own dsn. */
    snprintf(env, sizeof(env), "{\"dsn\":\"http://%s@h/%lld\"}\n{\"type\":\"event\"}\n%s\n",
             f.a.key, (long long)f.a.id, event_json);
    door_req_init(&r, f.door, f.a.id, &f.pool);
    w.called = 0;
    CHECK_INT_EQ(submit(&r, "envelope", env, &w), DOOR_ACCEPTED);
    CHECK_INT_EQ(r.authed, 1);
    CHECK_INT_EQ(wait_done(&w), 1);
    CHECK_INT_EQ(w.outcome, DOOR_ACCEPTED);

    /*
     * An envelope with no event but a session: journaled, so the digest counts
     * it per project as received, not stored (docs/ingest.md).
     */
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_auth(&r, f.a.key), DOOR_ACCEPTED);
    w.called = 0;
    CHECK_INT_EQ(submit(&r, "envelope", "{}\n{\"type\":\"session\"}\n{}\n", &w), DOOR_ACCEPTED);
    CHECK_INT_EQ(r.pending, 1);
    CHECK_INT_EQ(wait_done(&w), 1);
    CHECK_INT_EQ(metrics_read(&m->items[INGEST_ITEM_SESSION]), 1);

    /* An envelope with no items at all: acknowledged, nothing journaled, no callback. */
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_auth(&r, f.a.key), DOOR_ACCEPTED);
    w.called = 0;
    CHECK_INT_EQ(submit(&r, "envelope", "{}\n", &w), DOOR_ACCEPTED);
    CHECK_INT_EQ(r.pending, 0);

    /* JSON lines: the good lines count, the bad ones are reported. */
    door_req_init(&r, f.door, f.a.id, &f.pool);
    CHECK_INT_EQ(door_auth(&r, f.a.key), DOOR_ACCEPTED);
    CHECK_INT_EQ(submit(&r, "logs", "{\"msg\":\"a\"}\nnope\n{\"msg\":\"b\"}\n", &w), DOOR_ACCEPTED);
    CHECK_INT_EQ(r.result.units.accepted, 2);
    CHECK_INT_EQ(r.result.units.rejected, 1);
    CHECK_INT_EQ(wait_done(&w), 1);
    CHECK_INT_EQ(metrics_read(&m->accepted[format_index(format_by_name("logs"))]), 2);
    CHECK_INT_EQ(journal_read_batch(f.journal, b.end_lsn, 10, 1u << 20, 1000, &b), 3);
    CHECK_INT_EQ(b.recs[0].protocol, INGEST_SENTRY_ENVELOPE);
    CHECK_INT_EQ(b.recs[1].protocol, INGEST_SENTRY_ENVELOPE);
    CHECK_INT_EQ(b.recs[2].protocol, INGEST_LOGS_NDJSON);
    journal_batch_release(&b);
    fixture_close(&f);
}

/* Deactivates a key the way an admin would, in the database itself. */
/* A gzip'd JSON lines body's decoded copy goes to the digest only when every line passed. */
static void submit_lines_gz(struct fixture *f, const char *lines, struct waiter *w)
{
    struct door_req r;
    unsigned char gz[512];
    size_t gzlen = t_deflate_to(lines, strlen(lines), 31, gz, sizeof(gz));

    door_req_init(&r, f->door, f->a.id, &f->pool);
    CHECK_INT_EQ(door_auth(&r, f->a.key), DOOR_ACCEPTED);
    w->called = 0;
    CHECK_INT_EQ(door_submit(&r, format_by_name("logs"), gz, gzlen, INGEST_ENC_GZIP, clock_now_us(),
                             on_done, w),
                 DOOR_ACCEPTED);
    CHECK_INT_EQ(wait_done(w), 1);
}

static void test_lines_handoff(void)
{
    static const char good[] = "{\"message\":\"a\"}\n{\"message\":\"b\"}\n";
    static const char partly[] = "{\"message\":\"a\"}\nnot json\n";
    struct fixture f;
    struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
    struct journal_batch b = { 0 };
    unsigned long long taken, missed;

    fixture_open(&f, 1u << 30);
    submit_lines_gz(&f, good, &w);
    submit_lines_gz(&f, partly, &w);
    CHECK_INT_EQ(journal_read_batch(f.journal, 0, 10, 1u << 20, 1000, &b), 2);
    for (size_t i = 0; i < b.n && b.n == 2; i++) {
        struct slice text = SLICE_NULL;
        struct handoff_copy *c = handoff_take(f.handoff, b.recs[i].protocol, b.recs[i].encoding,
                                              b.recs[i].payload, b.recs[i].len, &text);

        CHECK_INT_EQ(b.recs[i].protocol, INGEST_LOGS_NDJSON);
        /* The first, accepted whole, was handed over; the one with a bad line was not. */
        CHECK_INT_EQ(c != NULL, i == 0);
        if (c != NULL)
            CHECK(text.len == strlen(good) && memcmp(text.p, good, text.len) == 0);
        handoff_release(c);
    }
    handoff_counts(f.handoff, &taken, &missed);
    CHECK_INT_EQ(taken, 1);
    CHECK_INT_EQ(missed, 1);
    journal_batch_release(&b);
    fixture_close(&f);
}

static void revoke(const char *key)
{
    char path[300], sql[200];
    sqlite3 *db = NULL;

    snprintf(path, sizeof(path), "%s/bilor.db", tmpdir);
    snprintf(sql, sizeof(sql), "UPDATE project_keys SET active = 0 WHERE public_key = '%s'", key);
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    CHECK_INT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

static void test_keycache_revoke(void)
{
    struct fixture f;
    struct keycache *kc;
    int64_t pid = 0, t0, refused_after = -1;
    uint64_t q0;
    int n = 0, bad = 0;

    fixture_open(&f, 1u << 30);
    kc = door_keys(f.door);
    CHECK_INT_EQ(keycache_lookup(kc, f.a.key, &pid), 0);
    CHECK_INT_EQ(pid, f.a.id);

    /* A burst of lookups for a valid key costs no query per request. */
    q0 = keycache_queries(kc);
    t0 = clock_mono_us();
    while (clock_mono_us() - t0 < 300000) {
        bad += keycache_lookup(kc, f.a.key, &pid) != 0 || pid != f.a.id;
        n++;
    }
    CHECK_INT_EQ(bad, 0);
    CHECK(n > 1000);
    CHECK(keycache_queries(kc) - q0 <= 2);

    /* Revoked in the store: refused within a second, asking the store a few times at most. */
    revoke(f.a.key);
    q0 = keycache_queries(kc);
    t0 = clock_mono_us();
    while (clock_mono_us() - t0 < 2 * CLOCK_US_PER_SEC) {
        if (keycache_lookup(kc, f.a.key, &pid) == BL_ENOTFOUND) {
            refused_after = clock_mono_us() - t0;
            break;
        }
    }
    CHECK(refused_after >= 0);
    CHECK(refused_after <= KEYCACHE_TRUST_US);
    CHECK(keycache_queries(kc) - q0 <= 3);
    /* And it stays refused, from memory. */
    q0 = keycache_queries(kc);
    bad = 0;
    for (int i = 0; i < 1000; i++)
        bad += keycache_lookup(kc, f.a.key, &pid) != BL_ENOTFOUND;
    CHECK_INT_EQ(bad, 0);
    CHECK(keycache_queries(kc) - q0 == 0);
    /* The other project's key is unaffected. */
    CHECK_INT_EQ(keycache_lookup(kc, f.b.key, &pid), 0);
    CHECK_INT_EQ(pid, f.b.id);
    fixture_close(&f);
}

/* Several threads hammer one key while it is revoked: each sees it refused within a second. */
struct hammer {
    struct keycache *kc;
    const char *key;
    const _Atomic int64_t *revoked_at;
    int64_t refused_late; /* µs after the revoke the first refusal came, -1 never */
    int64_t lookups;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    int64_t pid, start = clock_mono_us();

    h->refused_late = -1;
    while (clock_mono_us() - start < 3 * CLOCK_US_PER_SEC) {
        int64_t at = atomic_load(h->revoked_at);
        int rc = keycache_lookup(h->kc, h->key, &pid);

        h->lookups++;
        if (rc == BL_ENOTFOUND && at > 0) {
            h->refused_late = clock_mono_us() - at;
            break;
        }
    }
    return NULL;
}

static void test_keycache_revoke_under_load(void)
{
    struct fixture f;
    struct hammer h[4];
    pthread_t th[4];
    _Atomic int64_t revoked_at = 0;
    uint64_t q0;
    int64_t pid;

    fixture_open(&f, 1u << 30);
    CHECK_INT_EQ(keycache_lookup(door_keys(f.door), f.a.key, &pid), 0);
    q0 = keycache_queries(door_keys(f.door));
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){ door_keys(f.door), f.a.key, &revoked_at, -1, 0 };
        pthread_create(&th[i], NULL, hammer_run, &h[i]);
    }
    nanosleep(&(struct timespec){ 0, 700 * 1000 * 1000 }, NULL);
    revoke(f.a.key);
    atomic_store(&revoked_at, clock_mono_us());
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(h[i].refused_late >= 0);
        CHECK(h[i].refused_late <= KEYCACHE_TRUST_US);
        CHECK(h[i].lookups > 100);
    }
    /* About two queries a second for the key, not one per lookup. */
    CHECK(keycache_queries(door_keys(f.door)) - q0 <= 12);
    fixture_close(&f);
}

static void test_format_table(void)
{
    size_t n = format_count();

    CHECK(n >= 3);
    CHECK(n <= FORMAT_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct ingest_format *f = format_at(i);

        CHECK(f->name != NULL && f->family != NULL && f->check != NULL && f->decode != NULL);
        CHECK_INT_EQ(format_index(f), i);
        CHECK(format_by_protocol(f->protocol) == f);
        CHECK(format_by_name(f->name) == f);
    }
    CHECK(format_at(n) == NULL);
    CHECK(format_by_protocol(0) == NULL);
    CHECK(format_by_name("gelf-not-yet") == NULL);
    /* The journal ids are stable: old journals must decode with the same format. */
    CHECK_STR_EQ(format_by_protocol(1)->name, "store");
    CHECK_STR_EQ(format_by_protocol(2)->name, "envelope");
    CHECK_STR_EQ(format_by_protocol(3)->name, "logs");
    /* Recognition: a Sentry door takes an envelope by content type, the lines door does not. */
    CHECK(
        format_recognise(format_by_name("store"), "application/x-sentry-envelope; charset=utf-8") ==
        format_by_name("envelope"));
    CHECK(format_recognise(format_by_name("store"), "application/json") == format_by_name("store"));
    CHECK(format_recognise(format_by_name("store"), NULL) == format_by_name("store"));
    CHECK(format_recognise(format_by_name("logs"), "application/x-sentry-envelope") ==
          format_by_name("logs"));
    CHECK_STR_EQ(door_outcome_name(DOOR_BUSY), "busy");
}

int main(void)
{
    test_format_table();
    test_admission();
    test_bad_input();
    test_busy();
    test_accepted_durable();
    test_lines_handoff();
    test_keycache_revoke();
    test_keycache_revoke_under_load();
    return t_done();
}
