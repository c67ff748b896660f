/*
 * client.c - the life of a client: bilor_new(), bilor_flush(),
 * bilor_free(), the enqueue every record goes through, and the counters.
 *
 * DESIGN
 * A caller only formats its record (event.c) and then takes mu for the
 * few pointer moves of bc_queue_push(); a record dropped to make room is
 * freed after mu is released. All I/O happens on the one sender thread
 * per client (worker.c). The sender thread blocks every signal, so the
 * application's signal handling is not disturbed by it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "client/buf.h"
#include "client/client_int.h"
#include "client/stack.h"
#include "client/sym.h"
#include "client/transport.h"
#include "core/banned.h"

#define DEFAULT_QUEUE 100
#define MAX_QUEUE (1u << 20)

const char *bilor_strerror(int code)
{
    switch (code) {
    case BILOR_OK:
        return "success";
#define BILOR_ERR_CASE(name, num, text)                                                            \
    case BILOR_##name:                                                                             \
        return text;
        BILOR_ERRNO_MAP(BILOR_ERR_CASE)
#undef BILOR_ERR_CASE
    }
    return "unknown error";
}

void bilor_options_init(struct bilor_options *o)
{
    memset(o, 0, sizeof(*o));
    o->queue_size = DEFAULT_QUEUE;
    o->send_timeout_ms = 5000;
    o->fallback_after_ms = 30000;
    o->retry_min_ms = 1000;
    o->retry_max_ms = 60000;
    o->max_event_bytes = 1u << 20;
    o->sink = BILOR_SINK_NONE;
}

void bc_client_log(struct bilor *c, enum bilor_level level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (c->log_fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->log_fn(c->log_ud, level, msg);
}

static int check_options(const struct bilor_options *o)
{
    if (o->queue_size == 0 || o->queue_size > MAX_QUEUE || o->send_timeout_ms == 0 ||
        o->retry_min_ms == 0 || o->retry_max_ms < o->retry_min_ms || o->max_event_bytes < 1024)
        return BILOR_EINVAL;
    if (o->allocator != NULL && (o->allocator->malloc_fn == NULL ||
                                 o->allocator->realloc_fn == NULL || o->allocator->free_fn == NULL))
        return BILOR_EINVAL;
    return 0;
}

static int copy_settings(struct bilor *c, const struct bilor_options *o)
{
    char host[256];
    struct utsname un;
    const char *server = o->server_name;
    int rc = 0;

    if (server == NULL && gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = '\0';
        server = host;
    }
    if (uname(&un) == 0)
        snprintf(c->os_release, sizeof(c->os_release), "%s", un.release);
    rc = rc ? rc : bc_strdup(&c->alloc, o->release, &c->release);
    rc = rc ? rc : bc_strdup(&c->alloc, o->environment, &c->environment);
    rc = rc ? rc : bc_strdup(&c->alloc, server, &c->server_name);
    rc = rc ? rc : bc_strdup(&c->alloc, o->crash_dir, &c->crash_dir);
    c->max_event_bytes = o->max_event_bytes;
    c->send_timeout_ms = o->send_timeout_ms;
    c->fallback_after_ms = o->fallback_after_ms;
    c->retry_min_ms = o->retry_min_ms;
    c->retry_max_ms = o->retry_max_ms;
    c->log_fn = o->log_fn;
    c->log_ud = o->log_ud;
    return rc;
}

static int init_sync(struct bilor *c)
{
    pthread_condattr_t attr;
    int e;

    if (pthread_mutex_init(&c->mu, NULL) != 0)
        return BILOR_ESYS;
    /* The sender's deadlines are monotonic: a clock step must not stall it. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    e = pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (e != 0) {
        pthread_mutex_destroy(&c->mu);
        return BILOR_ESYS;
    }
    if (pthread_cond_init(&c->idle, NULL) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->mu);
        return BILOR_ESYS;
    }
    return 0;
}

/* The sender thread starts with every signal blocked; the caller's mask is restored. */
static int start_thread(struct bilor *c)
{
    sigset_t all, old;
    int e;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&c->thread, NULL, bc_worker_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return e == EAGAIN || e == ENOMEM ? BILOR_ENOMEM : BILOR_ESYS;
    c->thread_started = 1;
    return 0;
}

static void client_destroy(struct bilor *c, int sync_ready)
{
    const struct bilor_allocator *a = &c->alloc;

    bc_queue_release(&c->q, a);
    bc_transport_free(c->tr);
    bc_sym_free(c->sym);
    bc_sink_close(&c->sink);
    if (sync_ready) {
        pthread_cond_destroy(&c->idle);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->mu);
    }
    bc_free(a, c->release);
    bc_free(a, c->environment);
    bc_free(a, c->server_name);
    bc_free(a, c->crash_dir);
    if (c->has_dsn)
        curl_global_cleanup();
    /* c holds the allocator: copy it out before the last free. */
    {
        struct bilor_allocator copy = c->alloc;

        bc_free(&copy, c);
    }
}

static int client_setup(struct bilor *c, const struct bilor_options *o)
{
    int rc;

    if (o->dsn != NULL && o->dsn[0] != '\0') {
        rc = bc_dsn_parse(&c->dsn, o->dsn);
        if (rc != 0)
            return rc;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return BILOR_ENOMEM;
        c->has_dsn = 1;
        rc = bc_transport_new(&c->tr, &c->alloc, &c->dsn, o->send_timeout_ms, &c->abort_io);
        if (rc != 0)
            return rc;
    }
    rc = copy_settings(c, o);
    rc = rc ? rc : bc_queue_init(&c->q, &c->alloc, o->queue_size);
    rc = rc ? rc : bc_sink_open(&c->sink, o);
    return rc;
}

int bilor_new(struct bilor **out, const struct bilor_options *o)
{
    const struct bilor_allocator *a;
    struct bilor *c;
    int rc;

    if (out == NULL)
        return BILOR_EINVAL;
    *out = NULL;
    if (o == NULL || check_options(o) != 0)
        return BILOR_EINVAL;
    a = o->allocator != NULL ? o->allocator : &bc_default_alloc;
    c = bc_malloc(a, sizeof(*c));
    if (c == NULL)
        return BILOR_ENOMEM;
    memset(c, 0, sizeof(*c));
    c->alloc = *a;
    c->sink.fd = -1;
    atomic_init(&c->abort_io, 0);
    bc_limits_init(&c->limits);
    rc = client_setup(c, o);
    if (rc != 0) {
        client_destroy(c, 0);
        return rc;
    }
    rc = init_sync(c);
    if (rc != 0) {
        client_destroy(c, 0);
        return rc;
    }
    /* Loads libgcc_s now: the first backtrace() must not happen in a crash or a hot path. */
    bc_stack_warmup();
    /* Spooled crashes count as queued from the start, so bilor_flush() waits for them. */
    c->busy = c->crash_dir != NULL;
    rc = start_thread(c);
    if (rc != 0) {
        client_destroy(c, 1);
        return rc;
    }
    *out = c;
    return 0;
}

int bc_client_enqueue(struct bilor *c, struct bc_record *r)
{
    struct bc_record *dropped = NULL;
    int rc = 0;

    pthread_mutex_lock(&c->mu);
    if (c->stop) {
        rc = BILOR_ECLOSED;
        dropped = r;
    } else {
        dropped = bc_queue_push(&c->q, r);
        c->st.queued++;
        if (dropped != NULL)
            c->st.dropped++;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->mu);
    bc_record_free(&c->alloc, dropped);
    return rc;
}

static int flush_done(struct bilor *c)
{
    int report = c->q.dropped > 0 || c->send_error > 0;

    return c->q.n == 0 && !c->busy && (!report || c->fallback || !c->has_dsn);
}

int bilor_flush(struct bilor *c, unsigned timeout_ms)
{
    struct timespec until;
    int rc = 0;

    if (c == NULL)
        return BILOR_EINVAL;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(timeout_ms / 1000);
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    pthread_cond_signal(&c->wake);
    while (!flush_done(c) && rc == 0)
        rc = pthread_cond_timedwait(&c->idle, &c->mu, &until) == ETIMEDOUT ? BILOR_ETIMEDOUT : 0;
    if (rc != 0 && flush_done(c))
        rc = 0;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void bilor_get_stats(struct bilor *c, struct bilor_stats *st)
{
    if (c == NULL || st == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    *st = c->st;
    pthread_mutex_unlock(&c->mu);
}

/* After the sender stopped: what is left goes to the sink (this thread is the only user now). */
static void drain_to_sink(struct bilor *c)
{
    struct bc_record *r;

    while ((r = bc_queue_pop(&c->q)) != NULL) {
        int ok = bc_event_finish(c, r, NULL) == 0 &&
                 bc_sink_write(&c->sink, r->level, r->json, r->len);

        if (ok && r->spool_path != NULL)
            unlink(r->spool_path);
        if (ok)
            c->st.to_sink++;
        else
            c->st.discarded++;
        bc_record_free(&c->alloc, r);
    }
}

void bilor_free(struct bilor *c)
{
    if (c == NULL)
        return;
    bc_crash_uninstall(c);
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    atomic_store(&c->abort_io, 1);
    pthread_cond_broadcast(&c->wake);
    pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    drain_to_sink(c);
    client_destroy(c, 1);
}
