#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "digest/digest.h"
#include "core/banned.h"

#define PROJECT_CACHE 64
#define PROJECT_TTL_US (10 * CLOCK_US_PER_SEC)

struct project_level {
    int64_t id;
    int level;
    int64_t fetched_at;
};

struct digest {
    struct journal *journal;
    struct store *store;
    struct digest_config cfg;
    pthread_t thread;
    atomic_int stopping;
    uint64_t next_lsn;
    struct pool pool;
    struct pool json_pool; /* cJSON trees of one record (json_pool_begin) */
    struct journal_batch batch;
    struct ingest_events events;
    struct project_level projects[PROJECT_CACHE];
    size_t nprojects;
    /* stats: written by the digest thread, read by /metrics */
    _Atomic uint64_t st[sizeof(struct digest_stats) / sizeof(uint64_t)];
};

#define STAT_ADD(d, field, v) \
    atomic_fetch_add_explicit(&(d)->st[offsetof(struct digest_stats, field) / 8], (v), \
                              memory_order_relaxed)
#define STAT_SET(d, field, v) \
    atomic_store_explicit(&(d)->st[offsetof(struct digest_stats, field) / 8], (v), \
                          memory_order_relaxed)

/* The issue level of a project, cached briefly so settings changes apply soon. */
static int project_issue_level(struct digest *d, int64_t project_id, int64_t now)
{
    struct project_level *slot = NULL;
    struct store_project p;

    for (size_t i = 0; i < d->nprojects; i++)
        if (d->projects[i].id == project_id)
            slot = &d->projects[i];
    if (slot != NULL && now - slot->fetched_at < PROJECT_TTL_US)
        return slot->level;
    if (slot == NULL) {
        slot = &d->projects[d->nprojects < PROJECT_CACHE ? d->nprojects++ : (size_t)project_id % PROJECT_CACHE];
        slot->id = project_id;
    }
    slot->level = EV_ERROR;
    if (store_project_get(d->store, project_id, &p, NULL) == 0)
        slot->level = p.issue_level;
    slot->fetched_at = now;
    return slot->level;
}

static void classify(struct digest *d, size_t from)
{
    int64_t now = clock_now_us();

    for (size_t i = from; i < d->events.n; i++) {
        struct event *ev = &d->events.v[i];
        int level = project_issue_level(d, ev->project_id, now);

        ev->kind = (ev->nexc > 0 || ev->level >= level) ? EV_KIND_ISSUE : EV_KIND_LOG;
    }
}

/* Decodes the records of the batch into d->events; returns records used. */
static size_t decode_batch(struct digest *d)
{
    size_t used = 0;

    for (; used < d->batch.n; used++) {
        const struct journal_record *r = &d->batch.recs[used];
        struct ingest_meta meta = {
            r->protocol, r->encoding, r->project_id, r->received_at, r->lsn, r->event_id,
        };
        struct bl_err err = { 0 };
        size_t before = d->events.n;
        int rc;

        if (d->events.n >= d->cfg.max_events && used > 0)
            break;
        json_pool_begin(&d->json_pool);
        rc = ingest_decode(r->payload, r->len, &meta, &d->cfg.limits, &d->pool, &d->events,
                           NULL, &err);
        json_pool_end();
        pool_reset(&d->json_pool);
        if (rc < 0) {
            d->events.n = before;
            STAT_ADD(d, bad_records, 1);
            log_warn("skipping journal record lsn=%llu: %s", (unsigned long long)r->lsn,
                     bl_err_msg(&err));
            continue;
        }
        classify(d, before);
    }
    return used;
}

static void count_kinds(struct digest *d)
{
    uint64_t issues = 0;

    for (size_t i = 0; i < d->events.n; i++)
        issues += d->events.v[i].kind == EV_KIND_ISSUE;
    STAT_ADD(d, issue_events, issues);
    STAT_ADD(d, log_events, d->events.n - issues);
}

/* How long a stopping digest keeps retrying a failing store before it gives up. */
#define STOP_RETRY_US (10 * CLOCK_US_PER_SEC)

/*
 * Writes the batch, retrying with back-off until the store takes it. When
 * stopping, it gives up after STOP_RETRY_US: nothing is lost, the records
 * stay in the journal above the checkpoint and are digested on next start.
 */
static int write_with_retry(struct digest *d, uint64_t end_lsn, struct store_batch_result *res)
{
    int64_t first_failure = 0;
    int delay_ms = 50;

    for (;;) {
        struct bl_err err = { 0 };

        memset(res, 0, sizeof(*res));
        /* Envelope items first: both writes are idempotent per record, so a retry redoes both. */
        if (store_write_items(d->store, d->events.items, d->events.nitems, end_lsn, &err) == 0 &&
            store_write_batch(d->store, d->events.v, d->events.n, end_lsn, res, &err) == 0)
            return 0;
        STAT_ADD(d, store_errors, 1);
        log_error("cannot store batch ending at lsn=%llu, retrying: %s",
                  (unsigned long long)end_lsn, bl_err_msg(&err));
        if (first_failure == 0)
            first_failure = clock_mono_us();
        if (atomic_load(&d->stopping) && clock_mono_us() - first_failure > STOP_RETRY_US) {
            log_error("giving up on the store at shutdown; lsn=%llu onwards stays in the journal",
                      (unsigned long long)d->next_lsn);
            return -1;
        }
        nanosleep(&(struct timespec){ delay_ms / 1000, (delay_ms % 1000) * 1000000L }, NULL);
        if (delay_ms < 2000)
            delay_ms *= 2;
    }
}

static void record_batch(struct digest *d, size_t used, uint64_t end_lsn,
                         const struct store_batch_result *res, int64_t started)
{
    uint64_t us = (uint64_t)(clock_mono_us() - started);

    count_kinds(d);
    STAT_ADD(d, records, used);
    STAT_ADD(d, events, res->events_written);
    STAT_ADD(d, duplicates, res->duplicates);
    STAT_ADD(d, new_issues, res->new_issues);
    STAT_ADD(d, regressions, res->regressions);
    STAT_ADD(d, batches, 1);
    STAT_ADD(d, batch_events_sum, d->events.n);
    STAT_ADD(d, batch_us_sum, us);
    STAT_SET(d, last_batch_events, d->events.n);
    STAT_SET(d, last_batch_us, us);
    STAT_SET(d, position, end_lsn);
}

/* One poll: returns records digested (0 when the journal had nothing), -1 to stop. */
static int digest_once(struct digest *d, int timeout_ms)
{
    struct store_batch_result res;
    int64_t started;
    size_t used;
    uint64_t end_lsn;
    int n;

    n = journal_read_batch(d->journal, d->next_lsn, d->cfg.max_records, d->cfg.max_bytes,
                           timeout_ms, &d->batch);
    if (n <= 0) {
        if (n < 0)
            log_error("cannot read the journal at lsn=%llu: %s",
                      (unsigned long long)d->next_lsn, bl_strerror(n));
        return n < 0 ? -1 : 0;
    }
    started = clock_mono_us();
    pool_reset(&d->pool);
    memset(&d->events, 0, sizeof(d->events));
    used = decode_batch(d);
    end_lsn = d->batch.recs[used - 1].next_lsn;
    if (write_with_retry(d, end_lsn, &res) < 0)
        return -1;
    journal_checkpoint(d->journal, end_lsn);
    d->next_lsn = end_lsn;
    record_batch(d, used, end_lsn, &res, started);
    return (int)used;
}

static void *digest_main(void *arg)
{
    struct digest *d = arg;

    for (;;) {
        int stopping = atomic_load(&d->stopping);
        int n = digest_once(d, stopping ? 0 : d->cfg.idle_ms);

        if (n < 0)
            break;
        /* Stopping: keep going until a poll finds the journal drained. */
        if (stopping && n == 0 && d->next_lsn >= journal_durable_lsn(d->journal))
            break;
    }
    return NULL;
}

int digest_start(struct digest **out, struct journal *j, struct store *st,
                 const struct digest_config *cfg, struct bl_err *err)
{
    struct digest *d = xcalloc(1, sizeof(*d));

    d->journal = j;
    d->store = st;
    d->cfg = *cfg;
    d->next_lsn = journal_start_lsn(j);
    STAT_SET(d, position, d->next_lsn);
    pool_init(&d->pool, 1 << 20);
    pool_init(&d->json_pool, 1 << 20);
    if (pthread_create(&d->thread, NULL, digest_main, d) != 0) {
        pool_release(&d->pool);
        free(d);
        return bl_err_set(err, BL_ENOMEM, "cannot start the digest thread");
    }
    *out = d;
    return 0;
}

void digest_stop(struct digest *d)
{
    if (d == NULL)
        return;
    atomic_store(&d->stopping, 1);
    journal_wake(d->journal);
    pthread_join(d->thread, NULL);
    journal_batch_release(&d->batch);
    pool_release(&d->pool);
    pool_release(&d->json_pool);
    free(d);
}

void digest_get_stats(const struct digest *d, struct digest_stats *out)
{
    uint64_t *dst = (uint64_t *)out;

    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        dst[i] = atomic_load_explicit(&((struct digest *)d)->st[i], memory_order_relaxed);
}
