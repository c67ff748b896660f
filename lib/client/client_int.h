/*
 * client_int.h - struct bilor, shared by the files of lib/client only.
 *
 * Locking: mu guards the queue, the counters (st, send_error) and the
 * flags stop/busy. The sender thread owns everything under "sender only"
 * and never holds mu while it does I/O, formats or symbolizes, so a caller
 * waits at most for a few pointer moves (the enqueue guarantee).
 */
#ifndef BC_CLIENT_INT_H
#define BC_CLIENT_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bilor/bilor.h"
#include "client/buf.h"
#include "client/dsn.h"
#include "client/queue.h"
#include "client/ratelimit.h"
#include "client/sink.h"

struct bc_transport;
struct bc_sym;

struct bilor {
    struct bilor_allocator alloc;
    /* settings, read-only after bilor_new() */
    int has_dsn;
    struct bc_dsn dsn;
    char *release;
    char *environment;
    char *server_name;
    char *crash_dir;
    char os_release[65];
    size_t max_event_bytes;
    unsigned send_timeout_ms;
    unsigned fallback_after_ms;
    unsigned retry_min_ms;
    unsigned retry_max_ms;
    bilor_log_fn log_fn;
    void *log_ud;

    /* guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the sender waits for work */
    pthread_cond_t idle; /* bilor_flush() waits for an empty queue */
    struct bc_queue q;
    int stop;
    int busy;            /* the sender holds a record, or still reads the crash spool */
    int fallback;        /* fallback mode on (copy for bilor_flush()) */
    uint64_t send_error; /* refused for good, not yet reported */
    struct bilor_stats st;

    atomic_int abort_io; /* set by bilor_free(): abort the request in flight */
    pthread_t thread;
    int thread_started;

    /* sender only */
    struct bc_sink sink;
    struct bc_transport *tr;
    struct bc_sym *sym;
    struct bc_limits limits;
    int64_t backoff_until; /* monotonic µs */
    unsigned backoff_ms;
    int64_t failing_since; /* monotonic µs of the first failure since the last success */
};

/* Queues r (takes ownership, also on error). 0 or BILOR_ECLOSED. */
int bc_client_enqueue(struct bilor *c, struct bc_record *r);

/* Diagnostics through the log callback, if any. */
void bc_client_log(struct bilor *c, enum bilor_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The sender thread (worker.c). */
void *bc_worker_main(void *arg);

/*
 * Completes r->json in place: symbolizes r->frames with sym (NULL: raw
 * addresses only) and closes the JSON (event.c). 0 or a BILOR_E* code.
 */
int bc_event_finish(struct bilor *c, struct bc_record *r, struct bc_sym *sym);

/* A new random event id: 32 lowercase hex characters and a NUL. */
void bc_event_id(char out[33]);

/* The common top of every event object: id, time, platform, level, sdk, context. */
void bc_event_head(struct bilor *c, struct bc_buf *b, const char *event_id, int64_t ts_us,
                   int level);

/* Sends the crashes spooled in c->crash_dir (crash_spool.c). */
void bc_crash_collect(struct bilor *c);
/* Removes the crash handler if c installed it (crash.c). */
void bc_crash_uninstall(struct bilor *c);

#endif
