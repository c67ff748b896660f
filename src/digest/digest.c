#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "digest/digest.h"
#include "digest/digest_rules.h"
#include "ingest/scrub.h"
#include "digest/tailring.h"
#include "ingest/decode.h"
#include "ingest/format.h"
#include "ingest/handoff.h"
#include "core/banned.h"

#define PROJECT_CACHE 64
#define PROJECT_TTL_US (10 * CLOCK_US_PER_SEC)
#define MAX_THREADS 64

/*
 * Raw payloads the store would compress (its rule: identity, over 1 KiB,
 * zstd level 1) are compressed on the decode threads instead, so the single
 * writer does not spend a fifth of its time in zstd. The store keeps what
 * arrives already compressed as it is.
 */
#define RAW_MIN_COMPRESS 1024
#define RAW_ZSTD_LEVEL 1

struct project_level {
    int64_t id;
    int level;
    int64_t fetched_at;
};

enum slot_state {
    SLOT_FREE,     /* nothing in it; a decode thread may read a batch into it */
    SLOT_READING,  /* a decode thread is reading the journal into it */
    SLOT_TODO,     /* records [start, n) wait for a decode thread */
    SLOT_DECODING, /* a decode thread is decoding it */
    SLOT_DONE,     /* events of records [start, used) wait for the writer */
};

/* One journal batch on its way through the pipeline. */
struct slot {
    enum slot_state state;
    uint64_t seq; /* journal order of the batch */
    struct journal_batch batch;
    size_t start;     /* first record not yet stored */
    size_t used;      /* records decoded, from start */
    struct pool pool; /* events and raw payloads of [start, used) */
    struct ingest_events events;
    /* what the store prepared of events (store_prepare), freed with the slot */
    struct store_prep *prep;
    /* the live tail's entries of them (tailring_prepare), likewise */
    struct tailring_prep *tprep;
    int64_t decode_us;
    /*
     * The events array, kept from batch to batch (events.v starts here):
     * grown by doubling in the pool, a batch of 20,000 log lines left 14 MB
     * of outgrown arrays behind it (440 bytes an event), per slot.
     */
    struct event *keep;
    size_t keep_cap;
};

/*
 * A project's scrubbing additions (ingest/scrub.h), cached per decode
 * thread (no lock) and re-read every SCRUB_REFRESH_US, so a change through
 * the API applies to records digested a few seconds later.
 */
#define SCRUB_CACHE 16
#define SCRUB_REFRESH_US (5 * CLOCK_US_PER_SEC)

struct scrub_entry {
    int64_t project_id; /* 0: free */
    int64_t read_at;    /* monotonic µs */
    struct store_project_settings s;
    struct scrub_rules rules; /* points into s */
};

struct decoder {
    struct digest *d;
    struct scrub_entry scrub[SCRUB_CACHE];
    pthread_t thread;
    struct pool json_pool; /* cJSON trees of one record (json_pool_begin) */
    ZSTD_CCtx *zcctx;
    void *zbuf; /* compress_raw's output before it is copied into the batch pool */
    size_t zcap;
    struct digest_rules rules; /* the projects' grouping rules, this thread's cache */
};

struct digest {
    struct journal *journal;
    struct store *store;
    struct digest_config cfg;
    atomic_int stopping;
    pthread_t writer;
    /* mu guards the slots' states, seq numbers and the fields below it. */
    pthread_mutex_t mu;
    pthread_cond_t changed;
    int reading;          /* a decode thread is in journal_read_batch */
    int failed;           /* the journal could not be read: the pipeline stops */
    uint64_t read_lsn;    /* where the next journal read starts */
    uint64_t next_seq;    /* given to the next batch read */
    uint64_t write_seq;   /* the batch the writer stores next */
    int64_t gather_until; /* clock_mono_us before which the next read waits (cfg.gather_ms) */
    size_t read_bytes;    /* journal bytes a read asks for (adapt_read) */
    struct slot *slots;
    size_t nslots;
    struct decoder *decoders;
    size_t ndecoders;
    /* the writer's own */
    uint64_t next_lsn;
    struct project_level projects[PROJECT_CACHE];
    size_t nprojects;
    struct digest_rules rules; /* grouping rules for the issues the decode did not group */
    struct tailring *tail;     /* stored events for live tail (tailring.h) */
    int64_t next_retention;    /* clock_mono_us of the next retention run (writer) */
    /* stats: written by the pipeline, read by /metrics */
    _Atomic uint64_t st[sizeof(struct digest_stats) / sizeof(uint64_t)];
};

#define STAT_ADD(d, field, v)                                                                      \
    atomic_fetch_add_explicit(&(d)->st[offsetof(struct digest_stats, field) / 8], (v),             \
                              memory_order_relaxed)
#define STAT_SET(d, field, v)                                                                      \
    atomic_store_explicit(&(d)->st[offsetof(struct digest_stats, field) / 8], (v),                 \
                          memory_order_relaxed)

/* ---- decode threads ---- */

/* Compresses a large identity raw payload into pool, when that makes it smaller. */
static void compress_raw(struct decoder *w, struct event *ev, struct pool *pool)
{
    size_t bound, z;

    if (ev->raw == NULL || ev->raw_encoding != EV_RAW_IDENTITY || ev->raw_len <= RAW_MIN_COMPRESS)
        return;
    bound = ZSTD_compressBound(ev->raw_len);
    if (bound > w->zcap) {
        free(w->zbuf);
        w->zbuf = xmalloc(bound);
        w->zcap = bound;
    }
    /* Through a scratch buffer: the batch pool keeps only the compressed size. */
    z = ZSTD_compressCCtx(w->zcctx, w->zbuf, w->zcap, ev->raw, ev->raw_len, RAW_ZSTD_LEVEL);
    if (ZSTD_isError(z) || z >= ev->raw_len)
        return;
    ev->raw = pool_memdup(pool, w->zbuf, z);
    ev->raw_len = z;
    ev->raw_encoding = EV_RAW_ZSTD;
}

/* The project's scrubbing rules, from the cache or the store (defaults if it cannot say). */
static const struct scrub_rules *scrub_rules_of(struct decoder *w, int64_t project_id)
{
    int64_t now = clock_mono_us();
    struct scrub_entry *e = &w->scrub[(uint64_t)project_id % SCRUB_CACHE];

    if (e->project_id == project_id && now - e->read_at < SCRUB_REFRESH_US)
        return &e->rules;
    if (store_settings_get(w->d->store, project_id, &e->s, NULL) < 0) {
        e->project_id = 0;
        return NULL;
    }
    e->project_id = project_id;
    e->read_at = now;
    e->rules.extra = e->s.scrub_fields;
    e->rules.safe = e->s.safe_fields;
    return &e->rules;
}

/* The door's decompressed copy of r's payload, when it handed one over (ingest/handoff.h). */
static struct handoff_copy *handed_off(struct digest *d, const struct journal_record *r,
                                       struct slice *text)
{
    const struct ingest_format *f = format_by_protocol(r->protocol);

    if (d->cfg.handoff == NULL || f == NULL || !f->handoff ||
        !decode_is_compressed(r->payload, r->len, r->encoding))
        return NULL;
    return handoff_take(d->cfg.handoff, r->protocol, r->encoding, r->payload, r->len, text);
}

static void decode_record(struct decoder *w, struct slot *s, const struct journal_record *r)
{
    struct digest *d = w->d;
    struct ingest_meta meta = {
        r->protocol,
        r->encoding,
        r->project_id,
        r->received_at,
        r->lsn,
        r->event_id,
        scrub_rules_of(w, r->project_id),
        digest_rules_issue_level(&w->rules, d->store, r->project_id, clock_now_us()),
    };
    struct bl_err err = { 0 };
    size_t before = s->events.n;
    struct slice text = SLICE_NULL;
    struct handoff_copy *copy = handed_off(d, r, &text);
    int rc;

    if (copy != NULL) {
        decode_preset_begin(r->payload, r->len, text);
        ingest_checked_begin(); /* the door accepted it whole (handoff.h) */
    }
    json_pool_begin(&w->json_pool);
    rc = ingest_decode(r->payload, r->len, &meta, &d->cfg.limits, &s->pool, &s->events, NULL, &err);
    json_pool_end();
    pool_reset(&w->json_pool);
    decode_preset_end();
    ingest_checked_end();
    handoff_release(copy);
    if (rc < 0) {
        s->events.n = before;
        STAT_ADD(d, bad_records, 1);
        log_warn("skipping journal record lsn=%llu: %s", (unsigned long long)r->lsn,
                 bl_err_msg(&err));
        return;
    }
    for (size_t i = before; i < s->events.n; i++) {
        struct event *ev = &s->events.v[i];
        const struct fingerprint_rules *rules = digest_rules_get(&w->rules, d->store,
                                                                 ev->project_id, clock_now_us());

        /*
         * A project with rules of its own groups again with them
         * (fingerprint.h); a line the decode did not group (a log line by
         * the project's level) gets its title from them.
         */
        if (rules != NULL && fingerprint_is_deferred(ev))
            fingerprint_event_deferred(ev, &s->pool, rules);
        else if (rules != NULL)
            fingerprint_event_rules(ev, &s->pool, rules);
        compress_raw(w, ev, &s->pool);
        /*
         * The kind as this thread's view of the project's level gives it, for
         * store_prepare; the writer's classify decides (a line it decides
         * otherwise is stored without what was prepared for it).
         */
        if (meta.issue_level > 0)
            ev->kind = ev->nexc > 0 || ev->level >= meta.issue_level ? EV_KIND_ISSUE : EV_KIND_LOG;
    }
}

/* Decodes records from s->start until the batch ends or holds max_events events. */
static void decode_slot(struct decoder *w, struct slot *s)
{
    struct digest *d = w->d;
    int64_t started = clock_mono_us();
    size_t i = s->start;

    pool_reset(&s->pool);
    memset(&s->events, 0, sizeof(s->events)); /* events and envelope items */
    s->events.v = s->keep;
    s->events.cap = s->keep_cap;
    for (; i < s->batch.n; i++) {
        /* Stopping: the writer will not take this slot, the journal keeps it. */
        if (atomic_load_explicit(&d->stopping, memory_order_relaxed))
            break;
        if (s->events.n >= d->cfg.max_events && i > s->start)
            break;
        decode_record(w, s, &s->batch.recs[i]);
    }
    s->used = i;
    /* The store's share of the writer's work that needs no database (log blocks). */
    store_prepare(d->store, &s->prep, s->events.v, s->events.n);
    tailring_prepare(&s->tprep, s->events.v, s->events.n);
    s->decode_us = clock_mono_us() - started;
    /* Outgrown (into the pool): the next batch starts with an array this large. */
    if (s->events.v != s->keep) {
        free(s->keep);
        s->keep = xmalloc(s->events.cap * sizeof(*s->keep));
        s->keep_cap = s->events.cap;
    }
}

/* The TODO slot first in journal order, or NULL. Called with mu held. */
static struct slot *next_todo(struct digest *d)
{
    struct slot *best = NULL;

    for (size_t i = 0; i < d->nslots; i++) {
        struct slot *s = &d->slots[i];

        if (s->state == SLOT_TODO && (best == NULL || s->seq < best->seq))
            best = s;
    }
    return best;
}

static struct slot *free_slot(struct digest *d)
{
    for (size_t i = 0; i < d->nslots; i++)
        if (d->slots[i].state == SLOT_FREE)
            return &d->slots[i];
    return NULL;
}

static size_t batch_bytes(const struct journal_batch *b)
{
    size_t sum = 0;

    for (size_t i = 0; i < b->n; i++)
        sum += b->recs[i].len;
    return sum;
}

/*
 * Reads the next journal batch into s, with mu held on entry and on return
 * (dropped while reading). Returns 1 when s now holds records to decode.
 */
static int read_into(struct digest *d, struct slot *s)
{
    uint64_t from = d->read_lsn;
    int n;

    int64_t wait_us = d->gather_until - clock_mono_us();

    s->state = SLOT_READING;
    d->reading = 1;
    pthread_mutex_unlock(&d->mu);
    if (wait_us > 0 && !atomic_load(&d->stopping))
        nanosleep(&(struct timespec){ wait_us / 1000000, (long)(wait_us % 1000000) * 1000 }, NULL);
    n = journal_read_batch(d->journal, from, d->cfg.max_records, d->read_bytes, d->cfg.idle_ms,
                           &s->batch);
    pthread_mutex_lock(&d->mu);
    d->reading = 0;
    d->gather_until = 0;
    if (n > 0 && batch_bytes(&s->batch) < d->read_bytes / 4)
        d->gather_until = clock_mono_us() + (int64_t)d->cfg.gather_ms * 1000;
    s->state = SLOT_FREE;
    if (n < 0) {
        log_error("cannot read the journal at lsn=%llu: %s", (unsigned long long)from,
                  bl_strerror(n));
        d->failed = 1;
    } else if (n > 0) {
        s->seq = d->next_seq++;
        s->start = 0;
        d->read_lsn = s->batch.end_lsn;
        s->state = SLOT_DECODING;
    }
    pthread_cond_broadcast(&d->changed);
    return n > 0;
}

/* With mu held: a slot this thread now decodes, or NULL after a wait or an empty read. */
static struct slot *take_work(struct digest *d)
{
    struct slot *s = next_todo(d);

    if (s != NULL) {
        s->state = SLOT_DECODING;
        return s;
    }
    if (!d->reading && (s = free_slot(d)) != NULL)
        return read_into(d, s) ? s : NULL;
    pthread_cond_wait(&d->changed, &d->mu);
    return NULL;
}

/* Journal bytes a read never goes below, however many lines they hold. */
#define READ_BYTES_MIN (64u << 10)

/*
 * How much journal the next read asks for, with mu held after s was
 * decoded. A batch cut at max_events has its rest decoded only after the
 * writer stored the first part, while the writer waits: 2 MiB of gzip'd
 * JSON lines is some 33,000 lines, and those waits left a quarter of two
 * cores idle at 250k lines/s. So after a cut the reads shrink to what the
 * cut part took (less an eighth, lines vary), and grow back, doubling,
 * while batches hold under half of max_events (Sentry events never come
 * near it).
 */
static void adapt_read(struct digest *d, const struct slot *s)
{
    size_t used = 0;

    for (size_t i = s->start; i < s->used; i++)
        used += s->batch.recs[i].len;
    if (s->used < s->batch.n) {
        size_t floor = d->cfg.max_bytes < READ_BYTES_MIN ? d->cfg.max_bytes : READ_BYTES_MIN;

        used -= used / 8;
        if (used < d->read_bytes)
            d->read_bytes = used > floor ? used : floor;
    } else if (s->events.n < d->cfg.max_events / 2 && d->read_bytes < d->cfg.max_bytes) {
        d->read_bytes = d->read_bytes > d->cfg.max_bytes / 2 ? d->cfg.max_bytes : d->read_bytes * 2;
    }
}

static void *decoder_main(void *arg)
{
    struct decoder *w = arg;
    struct digest *d = w->d;

    /* Named for top -H and perf: the digest's threads and their CPU tell where an event's time goes. */
    prctl(PR_SET_NAME, "bilor-decode", 0, 0, 0);
    pthread_mutex_lock(&d->mu);
    while (!atomic_load(&d->stopping) && !d->failed) {
        struct slot *s = take_work(d);

        if (s == NULL)
            continue;
        pthread_mutex_unlock(&d->mu);
        decode_slot(w, s);
        pthread_mutex_lock(&d->mu);
        adapt_read(d, s);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&d->changed);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- the writer ---- */

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
        slot = &d->projects[d->nprojects < PROJECT_CACHE ? d->nprojects++
                                                         : (size_t)project_id % PROJECT_CACHE];
        slot->id = project_id;
    }
    slot->level = EV_ERROR;
    if (store_project_get(d->store, project_id, &p, NULL) == 0)
        slot->level = p.issue_level;
    slot->fetched_at = now;
    return slot->level;
}

/*
 * Issue or log by the project's level; returns how many became issues.
 * This is the one classification: the decode threads' own view of the
 * level only spares log lines their grouping (ingest_meta.issue_level), so
 * an issue the decode did not group (the level changed between the two
 * caches, or on a replay) is grouped here, by the same function with the
 * project's rules, before the store sees it.
 */
static uint64_t classify(struct digest *d, struct ingest_events *evs, struct pool *pool)
{
    int64_t now = clock_now_us();
    uint64_t issues = 0;

    for (size_t i = 0; i < evs->n; i++) {
        struct event *ev = &evs->v[i];
        int level = project_issue_level(d, ev->project_id, now);

        ev->kind = (ev->nexc > 0 || ev->level >= level) ? EV_KIND_ISSUE : EV_KIND_LOG;
        issues += ev->kind == EV_KIND_ISSUE;
        if (ev->kind == EV_KIND_ISSUE && fingerprint_is_deferred(ev)) {
            fingerprint_event_rules(ev, pool,
                                    digest_rules_get(&d->rules, d->store, ev->project_id, now));
            STAT_ADD(d, writer_groupings, 1);
        }
    }
    return issues;
}

/*
 * How long a stopping digest keeps retrying a failing store before it gives
 * up: a stop takes seconds, and giving up loses nothing (the journal keeps it).
 */
#define STOP_RETRY_US (3 * CLOCK_US_PER_SEC)

/*
 * Writes the batch, retrying with back-off until the store takes it. When
 * stopping, it gives up after STOP_RETRY_US: nothing is lost, the records
 * stay in the journal above the checkpoint and are digested on next start.
 * The only call into the store's write path.
 */
static int write_with_retry(struct digest *d, const struct ingest_events *evs,
                            const struct store_prep *prep, uint64_t end_lsn,
                            struct store_batch_result *res)
{
    int64_t first_failure = 0;
    int delay_ms = 50;

    for (;;) {
        struct bl_err err = { 0 };

        memset(res, 0, sizeof(*res));
        /* Envelope items first: both writes are idempotent per record, so a retry redoes both. */
        if (store_write_items(d->store, evs->items, evs->nitems, end_lsn, &err) == 0 &&
            store_write_prepared(d->store, evs->v, evs->n, prep, end_lsn, res, &err) == 0) {
            STAT_SET(d, store_failing, 0);
            return 0;
        }
        STAT_ADD(d, store_errors, 1);
        STAT_SET(d, store_failing, 1);
        /* A full disk fails every retry: one line per 10 s, not one per attempt. */
        log_error_every(10, "cannot store batch ending at lsn=%llu, retrying: %s",
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

static void record_batch(struct digest *d, const struct slot *s, uint64_t issues,
                         const struct store_batch_result *res, int64_t write_us)
{
    uint64_t us = (uint64_t)(s->decode_us + write_us);
    uint64_t n = s->events.n;

    STAT_ADD(d, issue_events, issues);
    STAT_ADD(d, log_events, n - issues);
    STAT_ADD(d, records, s->used - s->start);
    STAT_ADD(d, events, res->events_written);
    STAT_ADD(d, duplicates, res->duplicates);
    STAT_ADD(d, new_issues, res->new_issues);
    STAT_ADD(d, regressions, res->regressions);
    STAT_ADD(d, log_blocks_prepared, res->log_blocks_prepared);
    STAT_ADD(d, log_blocks_built, res->log_blocks_built);
    STAT_ADD(d, log_posts_prepared, res->log_posts_prepared);
    STAT_ADD(d, log_posts_built, res->log_posts_built);
    STAT_ADD(d, batches, 1);
    STAT_ADD(d, batch_events_sum, n);
    STAT_ADD(d, batch_us_sum, us);
    STAT_SET(d, last_batch_events, n);
    STAT_SET(d, last_batch_us, us);
    STAT_SET(d, position, d->next_lsn);
}

/* Stores the decoded part of s and checkpoints after it; -1 when the store gave up. */
static int write_slot(struct digest *d, struct slot *s)
{
    struct store_batch_result res;
    int64_t started = clock_mono_us();
    uint64_t end_lsn = s->batch.recs[s->used - 1].next_lsn;
    uint64_t issues = classify(d, &s->events, &s->pool);

    if (write_with_retry(d, &s->events, s->prep, end_lsn, &res) < 0)
        return -1;
    journal_checkpoint(d->journal, end_lsn);
    tailring_publish_prepared(d->tail, s->tprep, s->events.v, s->events.n);
    d->next_lsn = end_lsn;
    record_batch(d, s, issues, &res, clock_mono_us() - started);
    return 0;
}

/* The slot the writer stores next once it is decoded, or NULL. Called with mu held. */
static struct slot *head_slot(struct digest *d)
{
    for (size_t i = 0; i < d->nslots; i++) {
        struct slot *s = &d->slots[i];

        if (s->state != SLOT_FREE && s->state != SLOT_READING && s->seq == d->write_seq)
            return s;
    }
    return NULL;
}

/* With mu held: waits for the next slot in journal order to be decoded; NULL to stop. */
/* The retention run is due: the writer does it between batches (it owns the day files). */
static int retention_due(const struct digest *d)
{
    return d->cfg.retention_every_us > 0 && clock_mono_us() >= d->next_retention;
}

static void run_retention(struct digest *d)
{
    struct store_retention_result res;
    struct bl_err err = { 0 };

    d->next_retention = clock_mono_us() + d->cfg.retention_every_us;
    if (store_retention_run(d->store, clock_now_us(), d->cfg.disk_budget, &res, &err) != 0) {
        log_error("retention: %s", bl_err_msg(&err));
        return;
    }
    STAT_ADD(d, retention_runs, 1);
    STAT_ADD(d, retention_days_dropped, res.days_dropped);
    STAT_ADD(d, retention_bytes_freed, (uint64_t)res.bytes_freed);
}

/* The next slot to write; NULL with *tick set when retention is due first. */
static struct slot *wait_head(struct digest *d, int *tick)
{
    *tick = 0;
    for (;;) {
        struct slot *s;
        struct timespec ts;

        if (atomic_load(&d->stopping) || d->failed)
            return NULL;
        s = head_slot(d);
        /* A slot cut short by a stop holds nothing; it is not written. */
        if (s != NULL && s->state == SLOT_DONE && s->used > s->start)
            return s;
        if (retention_due(d)) {
            *tick = 1;
            return NULL;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->changed, &d->mu, &ts);
    }
}

static void *writer_main(void *arg)
{
    struct digest *d = arg;
    struct slot *s;
    int tick = 0;

    prctl(PR_SET_NAME, "bilor-writer", 0, 0, 0);

    pthread_mutex_lock(&d->mu);
    while ((s = wait_head(d, &tick)) != NULL || tick) {
        pthread_mutex_unlock(&d->mu);
        if (s == NULL) {
            run_retention(d);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        if (write_slot(d, s) < 0) {
            pthread_mutex_lock(&d->mu);
            break;
        }
        pthread_mutex_lock(&d->mu);
        if (s->used < s->batch.n) {
            /* Cut at max_events: the rest of the batch goes next, before later slots. */
            s->start = s->used;
            s->state = SLOT_TODO;
        } else {
            s->state = SLOT_FREE;
            d->write_seq++;
        }
        pthread_cond_broadcast(&d->changed);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- start and stop ---- */

static size_t decode_threads(const struct digest_config *cfg)
{
    long n = cfg->threads > 0 ? cfg->threads : sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (size_t)n;
}

/* Joins what was started and frees d (the stopping flag must be set). */
static void digest_free(struct digest *d, size_t started_decoders, int writer_started)
{
    pthread_mutex_lock(&d->mu);
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->mu);
    journal_wake(d->journal);
    for (size_t i = 0; i < started_decoders; i++)
        pthread_join(d->decoders[i].thread, NULL);
    if (writer_started)
        pthread_join(d->writer, NULL);
    for (size_t i = 0; i < d->ndecoders; i++) {
        pool_release(&d->decoders[i].json_pool);
        ZSTD_freeCCtx(d->decoders[i].zcctx);
        free(d->decoders[i].zbuf);
        digest_rules_free(&d->decoders[i].rules);
    }
    digest_rules_free(&d->rules);
    for (size_t i = 0; i < d->nslots; i++) {
        journal_batch_release(&d->slots[i].batch);
        pool_release(&d->slots[i].pool);
        free(d->slots[i].keep);
        store_prep_free(d->store, d->slots[i].prep);
        tailring_prep_free(d->slots[i].tprep);
    }
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->mu);
    free(d->decoders);
    free(d->slots);
    tailring_free(d->tail);
    free(d);
}

struct tailring *digest_tail(struct digest *d)
{
    return d != NULL ? d->tail : NULL;
}

static struct digest *digest_new(struct journal *j, struct store *st,
                                 const struct digest_config *cfg)
{
    struct digest *d = xcalloc(1, sizeof(*d));

    d->journal = j;
    d->store = st;
    d->cfg = *cfg;
    d->tail = tailring_new();
    d->next_lsn = d->read_lsn = journal_start_lsn(j);
    d->read_bytes = cfg->max_bytes;
    STAT_SET(d, position, d->next_lsn);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->changed, NULL);
    d->ndecoders = decode_threads(cfg);
    d->decoders = xcalloc(d->ndecoders, sizeof(*d->decoders));
    /* One slot being written, one per decoder, one decoded and waiting. */
    d->nslots = d->ndecoders + 2;
    d->slots = xcalloc(d->nslots, sizeof(*d->slots));
    for (size_t i = 0; i < d->nslots; i++)
        pool_init(&d->slots[i].pool, 1 << 20);
    for (size_t i = 0; i < d->ndecoders; i++) {
        d->decoders[i].d = d;
        pool_init(&d->decoders[i].json_pool, 1 << 20);
        d->decoders[i].zcctx = ZSTD_createCCtx();
        if (d->decoders[i].zcctx == NULL)
            fatal("out of memory creating a zstd context");
    }
    return d;
}

int digest_start(struct digest **out, struct journal *j, struct store *st,
                 const struct digest_config *cfg, struct bl_err *err)
{
    struct digest *d = digest_new(j, st, cfg);
    size_t i;

    if (pthread_create(&d->writer, NULL, writer_main, d) != 0) {
        atomic_store(&d->stopping, 1);
        digest_free(d, 0, 0);
        return bl_err_set(err, BL_ENOMEM, "cannot start the digest thread");
    }
    for (i = 0; i < d->ndecoders; i++) {
        if (pthread_create(&d->decoders[i].thread, NULL, decoder_main, &d->decoders[i]) != 0) {
            atomic_store(&d->stopping, 1);
            digest_free(d, i, 1);
            return bl_err_set(err, BL_ENOMEM, "cannot start the digest's decode threads");
        }
    }
    log_info("digest: %zu decode threads, one store writer", d->ndecoders);
    *out = d;
    return 0;
}

void digest_stop(struct digest *d)
{
    if (d == NULL)
        return;
    atomic_store(&d->stopping, 1);
    digest_free(d, d->ndecoders, 1);
}

void digest_get_stats(const struct digest *d, struct digest_stats *out)
{
    uint64_t *dst = (uint64_t *)out;
    unsigned long long taken, missed;

    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        dst[i] = atomic_load_explicit(&((struct digest *)d)->st[i], memory_order_relaxed);
    handoff_counts(d->cfg.handoff, &taken, &missed);
    out->handoff_taken = taken;
    out->handoff_missed = missed;
}
