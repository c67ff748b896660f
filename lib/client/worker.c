/*
 * worker.c - the sender thread: queue -> symbolize -> envelope -> HTTP,
 * or -> fallback sink.
 *
 * DESIGN
 * One loop decides, under mu, what to do next (next_act()) and then does
 * it with mu released:
 * - SEND the oldest record when neither back-off nor a rate limit for its
 *   category is running. 2xx: delivered. 429: the limits say when to try
 *   again (no request before). Connection error, 408, 5xx: exponential
 *   back-off from retry_min_ms to retry_max_ms (503's Retry-After counts
 *   too), and the record goes back to the head of the queue. Other 4xx:
 *   the server will never take it, so it goes to the sink.
 * - SINK the oldest record while in fallback mode: no success for
 *   fallback_after_ms. The back-off keeps running, and each time it
 *   expires one record is tried on the server (a probe); the first
 *   success ends fallback mode.
 * - REPORT records lost to queue overflow (or refused without a sink) as a
 *   client_report envelope once category "internal" may be sent (in
 *   fallback mode the counts wait for the server to come back).
 * - WAIT otherwise, until a record arrives or the next deadline.
 * The symbolizer (libdwfl state for this process) is kept while records
 * come in and dropped when the queue runs empty: it holds open files and
 * memory, and modules loaded later need a fresh one anyway.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "client/buf.h"
#include "client/clock.h"
#include "client/client_int.h"
#include "client/envelope.h"
#include "client/sym.h"
#include "client/transport.h"
#include "core/banned.h"

enum act { ACT_WAIT, ACT_SEND, ACT_SINK, ACT_REPORT };

enum outcome { OUT_OK, OUT_RETRY, OUT_REFUSED };

static int report_pending(const struct bilor *c)
{
    return c->q.dropped > 0 || c->send_error > 0;
}

static int fallback_on(const struct bilor *c, int64_t now)
{
    return !c->has_dsn || (c->failing_since != 0 &&
                           now - c->failing_since >= (int64_t)c->fallback_after_ms * 1000);
}

static int64_t ready_at(const struct bilor *c, enum bc_cat cat)
{
    int64_t t = bc_limits_until(&c->limits, cat);

    return t > c->backoff_until ? t : c->backoff_until;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

/* Under mu. *until: when to look again for ACT_WAIT (0: only when woken). */
static enum act next_act(struct bilor *c, int64_t now, int64_t *until)
{
    int fb = fallback_on(c, now);
    int64_t t, fb_at = 0;

    c->fallback = fb;
    *until = 0;
    if (!fb && c->failing_since != 0)
        fb_at = c->failing_since + (int64_t)c->fallback_after_ms * 1000;
    if (report_pending(c) && !c->has_dsn) {
        /* No server to tell: the counters in bilor_get_stats() are the report. */
        c->q.dropped = 0;
        c->send_error = 0;
    }
    if (report_pending(c)) {
        t = ready_at(c, BC_CAT_INTERNAL);
        if (t <= now)
            return ACT_REPORT;
        /* In fallback mode the report waits for the server to come back. */
        if (!fb)
            *until = min_deadline(t, fb_at);
    }
    if (c->q.n == 0)
        return ACT_WAIT;
    if (!c->has_dsn)
        return ACT_SINK;
    t = ready_at(c, c->q.ring[c->q.head]->cat);
    if (t <= now)
        return ACT_SEND;
    if (fb)
        return ACT_SINK;
    *until = min_deadline(*until, min_deadline(t, fb_at));
    return ACT_WAIT;
}

static void wait_until(struct bilor *c, int64_t until)
{
    struct timespec ts;

    if (until == 0) {
        pthread_cond_wait(&c->wake, &c->mu);
        return;
    }
    ts.tv_sec = (time_t)(until / 1000000);
    ts.tv_nsec = (long)(until % 1000000) * 1000;
    pthread_cond_timedwait(&c->wake, &c->mu, &ts);
}

static void grow_backoff(struct bilor *c, int64_t now)
{
    unsigned next = c->backoff_ms == 0 ? c->retry_min_ms : c->backoff_ms * 2;

    if (next > c->retry_max_ms || next < c->backoff_ms)
        next = c->retry_max_ms;
    c->backoff_ms = next;
    c->backoff_until = now + (int64_t)next * 1000;
}

static enum outcome classify(const struct bc_response *res)
{
    if (res->status >= 200 && res->status < 300)
        return OUT_OK;
    if (res->status == 0 || res->status == 408 || res->status == 429 || res->status >= 500)
        return OUT_RETRY;
    return OUT_REFUSED;
}

/* Under mu: the bookkeeping of one answer (or failure to get one). */
static enum outcome account(struct bilor *c, const struct bc_response *res, int64_t now)
{
    enum outcome o = classify(res);
    int64_t secs;

    c->st.requests++;
    c->st.last_status = res->status;
    bc_limits_update(&c->limits, res->status, res->retry_after[0] ? res->retry_after : NULL,
                     res->rate_limits[0] ? res->rate_limits : NULL, now,
                     bc_clock_real_us() / 1000000);
    if (o == OUT_OK) {
        c->failing_since = 0;
        c->backoff_ms = 0;
        c->backoff_until = 0;
        return o;
    }
    if (o == OUT_REFUSED)
        return o;
    c->st.failures++;
    if (c->failing_since == 0)
        c->failing_since = now;
    if (res->status != 429)
        grow_backoff(c, now);
    secs = res->status == 503
               ? bc_retry_after_seconds(res->retry_after, bc_clock_real_us() / 1000000)
               : -1;
    if (secs > 0 && now + secs * 1000000 > c->backoff_until)
        c->backoff_until = now + secs * 1000000;
    return o;
}

static void log_outcome(struct bilor *c, enum outcome o, const struct bc_response *res)
{
    if (o == OUT_OK)
        return;
    if (res->status == 0)
        bc_client_log(c, BILOR_WARNING, "cannot reach %s: %s", c->dsn.endpoint, res->error);
    else
        bc_client_log(c, BILOR_WARNING, "%s answered %d%s%s", c->dsn.endpoint, res->status,
                      res->retry_after[0] ? ", retry after " : "", res->retry_after);
}

/* Completes a record's JSON, symbolizing with a symbolizer made on first need. */
static int finish(struct bilor *c, struct bc_record *r)
{
    if (r->nframes > 0 && c->sym == NULL && bc_sym_new_self(&c->sym, &c->alloc) != 0)
        bc_client_log(c, BILOR_WARNING, "cannot read this process's modules");
    return bc_event_finish(c, r, c->sym);
}

/* Without mu. Writes r to the sink, counts, and frees it. */
static void to_sink(struct bilor *c, struct bc_record *r, int refused)
{
    int ok = finish(c, r) == 0 && bc_sink_write(&c->sink, r->level, r->json, r->len);

    if (ok && r->spool_path != NULL)
        unlink(r->spool_path);
    pthread_mutex_lock(&c->mu);
    if (ok) {
        c->st.to_sink++;
    } else {
        c->st.discarded++;
        c->send_error += (uint64_t)refused;
    }
    pthread_mutex_unlock(&c->mu);
    bc_record_free(&c->alloc, r);
}

static void sent(struct bilor *c, struct bc_record *r)
{
    if (r->spool_path != NULL)
        unlink(r->spool_path);
    pthread_mutex_lock(&c->mu);
    c->st.sent++;
    pthread_mutex_unlock(&c->mu);
    bc_record_free(&c->alloc, r);
}

/* Without mu: one record to the server; back to the queue, to the sink, or done. */
static void do_send(struct bilor *c, struct bc_record *r)
{
    struct bc_response res;
    struct bc_buf env;
    struct bc_record *back = NULL;
    enum outcome o;
    int64_t now;

    if (finish(c, r) != 0) {
        to_sink(c, r, 0);
        return;
    }
    bc_buf_init(&env, &c->alloc, c->max_event_bytes + 4096);
    if (bc_envelope_event(&env, r->event_id, r->json, r->len, bc_clock_real_us()) != 0) {
        bc_buf_release(&env);
        to_sink(c, r, 0);
        return;
    }
    bc_transport_send(c->tr, env.p, env.len, &res);
    bc_buf_release(&env);
    now = bc_clock_mono_us();
    pthread_mutex_lock(&c->mu);
    o = account(c, &res, now);
    if (o == OUT_RETRY && !fallback_on(c, now)) {
        back = bc_queue_push_front(&c->q, r);
        if (back != NULL)
            c->st.dropped++;
        r = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    log_outcome(c, o, &res);
    bc_record_free(&c->alloc, back);
    if (r == NULL)
        return;
    if (o == OUT_OK)
        sent(c, r);
    else
        to_sink(c, r, o == OUT_REFUSED);
}

/* Without mu. Returns 1 when the counts are consumed, 0 to keep them for later. */
static int do_report(struct bilor *c, uint64_t overflow, uint64_t refused)
{
    struct bc_response res;
    struct bc_buf rep, env;
    enum outcome o;
    int64_t now = bc_clock_real_us();

    bc_buf_init(&rep, &c->alloc, 4096);
    bc_buf_init(&env, &c->alloc, 8192);
    if (bc_client_report(&rep, now, overflow, refused) != 0) {
        bc_buf_release(&rep);
        return 0;
    }
    o = OUT_RETRY;
    if (bc_envelope_report(&env, rep.p, rep.len, now) == 0) {
        bc_transport_send(c->tr, env.p, env.len, &res);
        pthread_mutex_lock(&c->mu);
        o = account(c, &res, bc_clock_mono_us());
        c->st.reports_sent += o == OUT_OK;
        pthread_mutex_unlock(&c->mu);
        log_outcome(c, o, &res);
    }
    bc_buf_release(&rep);
    bc_buf_release(&env);
    return o != OUT_RETRY;
}

/* Under mu (released around the work). */
static void act(struct bilor *c, enum act a)
{
    struct bc_record *r;
    uint64_t overflow, refused;

    c->busy = 1;
    if (a == ACT_REPORT) {
        overflow = c->q.dropped;
        refused = c->send_error;
        c->q.dropped = 0;
        c->send_error = 0;
        pthread_mutex_unlock(&c->mu);
        if (do_report(c, overflow, refused) == 0) {
            pthread_mutex_lock(&c->mu);
            c->q.dropped += overflow;
            c->send_error += refused;
            pthread_mutex_unlock(&c->mu);
        }
    } else {
        r = bc_queue_pop(&c->q);
        pthread_mutex_unlock(&c->mu);
        if (a == ACT_SEND)
            do_send(c, r);
        else
            to_sink(c, r, 0);
    }
    pthread_mutex_lock(&c->mu);
    c->busy = 0;
}

void *bc_worker_main(void *arg)
{
    struct bilor *c = arg;

    if (c->crash_dir != NULL)
        bc_crash_collect(c);
    pthread_mutex_lock(&c->mu);
    c->busy = 0;
    while (!c->stop) {
        int64_t until;
        enum act a = next_act(c, bc_clock_mono_us(), &until);

        if (a != ACT_WAIT) {
            act(c, a);
            pthread_cond_broadcast(&c->idle);
            continue;
        }
        if (c->sym != NULL && c->q.n == 0) {
            struct bc_sym *s = c->sym;

            c->sym = NULL;
            pthread_mutex_unlock(&c->mu);
            bc_sym_free(s);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        pthread_cond_broadcast(&c->idle);
        wait_until(c, until);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}
