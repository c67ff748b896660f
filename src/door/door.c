/*
 * door.c - admission and durable acceptance (door.h).
 *
 * DESIGN
 * The door does cheap work only, so it can keep up with the network:
 * a key lookup in memory, a budget read without a lock, the format's
 * allocation-light check, and a copy into the journal's pending group. It
 * never waits for the disk: the journal's flusher calls door_durable, which
 * counts and hands the outcome to the listener.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "door/door.h"
#include "door/keycache.h"
#include "door/metrics.h"
#include "ingest/decode.h"
#include "ingest/handoff.h"
#include "core/xmalloc.h"
#include "core/banned.h"

/* How long a client should wait while the server shuts down. */
#define CLOSING_RETRY_S 5

struct door {
    struct door_config cfg;
    struct keycache *keys;
    struct metrics *metrics;
    struct ratelimit *rl;
    _Atomic int closing;
};

static const char *const outcome_names[DOOR_OUTCOME__N] = {
    "accepted", "unauthorized", "forbidden", "too_large",
    "busy",     "unavailable",  "bad_input", "rate_limited",
};

const char *door_outcome_name(int outcome)
{
    if (outcome < 0 || outcome >= DOOR_OUTCOME__N)
        return "unknown";
    return outcome_names[outcome];
}

struct door *door_new(const struct door_config *cfg)
{
    struct door *d = xcalloc(1, sizeof(*d));

    d->cfg = *cfg;
    d->keys = keycache_new(cfg->store);
    d->metrics = metrics_new();
    d->rl = ratelimit_new();
    return d;
}

void door_free(struct door *d)
{
    if (d == NULL)
        return;
    keycache_free(d->keys);
    metrics_free(d->metrics);
    ratelimit_free(d->rl);
    free(d);
}

void door_close(struct door *d)
{
    atomic_store(&d->closing, 1);
}

struct metrics *door_metrics(struct door *d)
{
    return d->metrics;
}

struct keycache *door_keys(struct door *d)
{
    return d->keys;
}

struct ratelimit *door_ratelimit(struct door *d)
{
    return d->rl;
}

const struct ingest_limits *door_limits(const struct door *d)
{
    return &d->cfg.limits;
}

void door_req_init(struct door_req *r, struct door *d, int64_t project_id, struct pool *pool)
{
    memset(r, 0, sizeof(*r));
    r->door = d;
    r->project_id = project_id;
    r->pool = pool;
}

static int vrefuse(struct door_req *r, int outcome, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int vrefuse(struct door_req *r, int outcome, const char *fmt, va_list ap)
{
    r->err.code = outcome == DOOR_TOO_LARGE ? BL_ETOOBIG : BL_EINVAL;
    vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
    if (outcome > DOOR_ACCEPTED && outcome < DOOR_OUTCOME__N)
        metrics_add(&r->door->metrics->rejected[outcome], 1);
    if (outcome > DOOR_ACCEPTED && outcome < DOOR_OUTCOME__N)
        ratelimit_count(r->door->rl, r->project_id, r->key.key_id,
                        outcome == DOOR_RATE_LIMITED ? RL_RATE_LIMITED : RL_REJECTED, 1);
    return outcome;
}

int door_refuse(struct door_req *r, int outcome, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    outcome = vrefuse(r, outcome, fmt, ap);
    va_end(ap);
    return outcome;
}

static int busy(struct door_req *r)
{
    r->retry_after_s = r->door->cfg.retry_after_s;
    return door_refuse(r, DOOR_BUSY, "server is busy digesting a backlog, retry later");
}

/* The journal keeps a free-disk reserve for the store; below it nothing more is taken. */
static int disk_low(struct door_req *r)
{
    r->retry_after_s = r->door->cfg.retry_after_s * 6;
    return door_refuse(r, DOOR_UNAVAILABLE,
                       "not enough free disk space on the server, retry later");
}

int door_gate(struct door_req *r)
{
    struct door *d = r->door;

    if (journal_over_budget(d->cfg.journal))
        return busy(r);
    if (journal_disk_low(d->cfg.journal))
        return disk_low(r);
    if (atomic_load(&d->closing)) {
        /* Not counted as a refusal: the server, not the client, is going away. */
        r->retry_after_s = CLOSING_RETRY_S;
        snprintf(r->err.msg, sizeof(r->err.msg), "server is shutting down, retry later");
        return DOOR_UNAVAILABLE;
    }
    return DOOR_ACCEPTED;
}

/* A rate-limit refusal: the longest wait of the blocked categories. */
static int rate_limited(struct door_req *r)
{
    const char *scope = "key";

    r->retry_after_s = 0;
    for (int c = 0; c < RL_CATS; c++) {
        if (r->rl.wait_s[c] > r->retry_after_s) {
            r->retry_after_s = r->rl.wait_s[c];
            scope = rl_scope_name(r->rl.scope[c]);
        }
    }
    return door_refuse(r, DOOR_RATE_LIMITED, "over the %s's rate limit, retry in %d s", scope,
                       r->retry_after_s);
}

/*
 * The project's own say, once the key is known to be its. The rate limits
 * cannot charge yet (what the body carries, events or lines, is unknown
 * until it is checked), but a key whose every limited category is already
 * blocked is refused here, before any body is read.
 */
static int admit_project(struct door_req *r)
{
    if (ratelimit_admit(r->door->rl, &r->key, NULL, clock_mono_us(), &r->rl) != 0)
        return rate_limited(r);
    return DOOR_ACCEPTED;
}

int door_bind(struct door_req *r)
{
    r->authed = 1;
    return admit_project(r);
}

int door_auth(struct door_req *r, const char *key)
{
    struct store_key_info ki;
    int64_t pid = 0;
    int rc = keycache_info(r->door->keys, key, &ki);

    if (rc == BL_ENOTFOUND)
        return door_refuse(r, DOOR_UNAUTHORIZED, "unknown or revoked project key");
    if (rc < 0) {
        r->retry_after_s = r->door->cfg.retry_after_s;
        return door_refuse(r, DOOR_UNAVAILABLE, "cannot check the project key, retry later");
    }
    pid = ki.project_id;
    if (pid != r->project_id)
        return door_refuse(r, DOOR_FORBIDDEN, "this key belongs to another project");
    r->key = ki;
    r->authed = 1;
    return admit_project(r);
}

/* Credentials inside the body (a Sentry envelope's dsn) when the transport had none. */
static int body_auth(struct door_req *r)
{
    const struct format_result *res = &r->result;

    if (r->authed)
        return DOOR_ACCEPTED;
    if (res->key[0] == '\0')
        return door_refuse(r, DOOR_UNAUTHORIZED, "missing project key");
    if (res->key_project != 0 && res->key_project != r->project_id)
        return door_refuse(r, DOOR_FORBIDDEN, "the envelope's dsn names another project");
    return door_auth(r, res->key);
}

/*
 * The decompressed body lives only while the door checks it, in a buffer
 * each thread keeps from one request to the next: a new one per request was
 * a malloc and free of some 10 KB (glibc's large-chunk path, which also
 * consolidates the thread's small free chunks) for every event. It is sized
 * up front for a typical gzip ratio so it rarely has to grow, and given back
 * after a request that grew it past SCRATCH_KEEP_BYTES.
 */
#define SCRATCH_KEEP_BYTES (256u * 1024)

static _Thread_local struct buf door_scratch;
static _Thread_local int door_scratch_kept;
static pthread_key_t scratch_key; /* its destructor frees a thread's buffer when it ends */
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *b)
{
    buf_release(b);
}

static void scratch_key_init(void)
{
    if (pthread_key_create(&scratch_key, scratch_free) != 0)
        abort(); /* like xmalloc: no key, no server */
}

static struct buf *scratch_take(size_t body_len, size_t max)
{
    struct buf *b = &door_scratch;
    size_t guess = body_len * 6 + 1024;

    if (!door_scratch_kept) {
        pthread_once(&scratch_once, scratch_key_init);
        buf_init(b, max);
        door_scratch_kept = pthread_setspecific(scratch_key, b) == 0;
    }
    buf_reset(b);
    b->max = max;
    if (buf_grow(b, guess < max ? guess : max) < 0) { /* max below what it holds */
        buf_release(b);
        buf_init(b, max);
    }
    return b;
}

static void scratch_give(struct buf *b)
{
    /* without the key nothing would free it at the thread's end */
    if (b->cap > SCRATCH_KEEP_BYTES || !door_scratch_kept)
        buf_release(b);
    else
        buf_reset(b);
}

static int check_body(struct door_req *r, const void *body, size_t len, int encoding,
                      struct buf *scratch)
{
    const struct ingest_limits *lim = &r->door->cfg.limits;
    struct format_input in = { body, len, encoding, lim, r->pool, scratch };
    struct bl_err err = { 0, "" };
    int rc;

    rc = r->format->check(&in, &r->result, &err);
    if (rc == BL_ETOOBIG)
        return door_refuse(r, DOOR_TOO_LARGE, "%s", bl_err_msg(&err));
    if (rc < 0)
        return door_refuse(r, DOOR_BAD_INPUT, "%s", bl_err_msg(&err));
    return DOOR_ACCEPTED;
}

static void count_items(struct door_req *r)
{
    for (int i = 0; i < INGEST_ITEM__N; i++)
        if (r->result.check.items[i] != 0)
            metrics_add(&r->door->metrics->items[i], r->result.check.items[i]);
}

/* Journal flusher thread: the record is durable (or failed); count and tell the listener. */
static void door_durable(void *arg, int rc)
{
    struct door_req *r = arg;
    struct metrics *m = r->door->metrics;
    int outcome = DOOR_ACCEPTED;

    if (rc < 0) {
        r->retry_after_s = r->door->cfg.retry_after_s;
        outcome = door_refuse(r, DOOR_UNAVAILABLE, "cannot write the journal, retry later");
    } else {
        metrics_add(&m->accepted[format_index(r->format)], r->result.units.accepted);
        metrics_add(&m->rejected[DOOR_BAD_INPUT], r->result.units.rejected);
        ratelimit_count(r->door->rl, r->project_id, r->key.key_id, RL_ACCEPTED,
                        r->result.units.accepted);
        ratelimit_count(r->door->rl, r->project_id, r->key.key_id, RL_REJECTED,
                        r->result.units.rejected);
    }
    r->done(r, outcome);
}

/*
 * The check's decompressed copy goes to the digest (handoff.h) before the
 * record can be read; r is not touched after journal_append, whose callback
 * may already have finished the request. Only a body whose every unit the
 * check accepted: a copy then also tells the digest that this process
 * checked every line of it.
 */
static void hand_off(struct door_req *r, const void *body, size_t len, int encoding,
                     const struct buf *decoded)
{
    if (r->format->handoff && r->result.units.rejected == 0 && decoded->len > 0 &&
        decode_is_compressed(body, len, encoding))
        handoff_put(r->door->cfg.handoff, r->format->protocol, encoding, body, len, decoded->p,
                    decoded->len);
}

static int append(struct door_req *r, const void *body, size_t len, int encoding,
                  int64_t received_at, const struct buf *decoded)
{
    struct journal_record rec;
    int rc;

    hand_off(r, body, len, encoding, decoded);
    memset(&rec, 0, sizeof(rec));
    rec.protocol = r->format->protocol;
    rec.encoding = encoding;
    rec.project_id = r->project_id;
    rec.received_at = received_at;
    memcpy(rec.event_id, r->result.check.event_id, sizeof(rec.event_id));
    rec.payload = body;
    rec.len = len;
    r->pending = 1;
    rc = journal_append(r->door->cfg.journal, &rec, door_durable, r);
    if (rc == 0)
        return DOOR_ACCEPTED;
    r->pending = 0;
    if (rc == BL_EBUSY)
        return busy(r);
    if (rc == BL_ETOOBIG)
        return door_refuse(r, DOOR_TOO_LARGE, "request body is too large for the journal");
    if (rc == BL_ENOSPACE)
        return disk_low(r);
    r->retry_after_s = r->door->cfg.retry_after_s;
    return door_refuse(r, DOOR_UNAVAILABLE, "cannot write the journal, retry later");
}

/*
 * What the body carries, as the limits count it: Sentry events and
 * transactions are events (a /store/ body is one), log items and JSON lines
 * are lines. Sessions, client reports and the like are never limited.
 */
static void body_units(const struct door_req *r, int64_t units[RL_CATS])
{
    const size_t *it = r->result.check.items;
    size_t all = 0;

    for (int i = 0; i < INGEST_ITEM__N; i++)
        all += it[i];
    units[RL_CAT_EVENTS] = (int64_t)(it[INGEST_ITEM_EVENT] + it[INGEST_ITEM_TRANSACTION]);
    units[RL_CAT_LINES] = (int64_t)it[INGEST_ITEM_LOG];
    if (all == 0 && r->format->reply == FORMAT_REPLY_EVENT_ID)
        units[RL_CAT_EVENTS] = (int64_t)r->result.units.accepted;
    else if (all == 0)
        units[RL_CAT_LINES] = (int64_t)r->result.units.accepted;
}

static int charge(struct door_req *r)
{
    int64_t units[RL_CATS];

    body_units(r, units);
    if (ratelimit_admit(r->door->rl, &r->key, units, clock_mono_us(), &r->rl) != 0)
        return rate_limited(r);
    return DOOR_ACCEPTED;
}

static int submit(struct door_req *r, const struct ingest_format *f, const void *body, size_t len,
                  int encoding, int64_t received_at, struct buf *scratch)
{
    int rc;

    metrics_add(&r->door->metrics->bytes_in[format_index(f)], len);
    rc = check_body(r, body, len, encoding, scratch);
    if (rc == DOOR_ACCEPTED)
        rc = body_auth(r);
    if (rc != DOOR_ACCEPTED)
        return rc;
    count_items(r);
    rc = charge(r);
    if (rc != DOOR_ACCEPTED)
        return rc;
    if (r->result.units.accepted == 0) {
        if (f->empty_error == NULL)
            return DOOR_ACCEPTED; /* nothing to store, nothing journaled */
        metrics_add(&r->door->metrics->rejected[DOOR_BAD_INPUT], r->result.units.rejected);
        snprintf(r->err.msg, sizeof(r->err.msg), "%s", f->empty_error);
        r->no_units = 1;
        return DOOR_BAD_INPUT;
    }
    return append(r, body, len, encoding, received_at, scratch);
}

int door_submit(struct door_req *r, const struct ingest_format *f, const void *body, size_t len,
                int encoding, int64_t received_at, door_done_fn done, void *arg)
{
    struct buf *scratch; /* the decompressed body: only while the door checks it */
    int rc;

    r->format = f;
    r->done = done;
    r->arg = arg;
    memset(&r->result, 0, sizeof(r->result));
    scratch = scratch_take(len, r->door->cfg.limits.max_body);
    rc = submit(r, f, body, len, encoding, received_at, scratch);
    scratch_give(scratch);
    return rc;
}
