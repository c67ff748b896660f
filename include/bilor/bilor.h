/*
 * bilor.h - libbilor, the C client of Bilor (and of any Sentry server).
 *
 * libbilor logs messages and captures errors with their stack trace from a
 * C program, and optionally reports crashes (fatal signals). It speaks the
 * Sentry envelope protocol over HTTP (libcurl), so the same program works
 * against `bilor serve` and against Sentry itself.
 *
 * How it behaves inside your process:
 * - The caller never waits for the network. A call such as bilor_log()
 *   formats the record, puts it in a bounded in-memory queue and returns.
 *   One background thread per client sends the queue.
 * - The queue is bounded (queue_size records). When it is full the OLDEST
 *   record is dropped and counted; the count is reported to the server
 *   later as a Sentry client report (reason "queue_overflow").
 * - The sender honours HTTP 429, Retry-After and X-Sentry-Rate-Limits (no
 *   request for a limited category before its time has passed) and backs
 *   off exponentially on connection errors and 5xx answers.
 * - When nothing could be delivered for fallback_after_ms, every record
 *   goes to the fallback sink instead (stderr, syslog, a file or your
 *   callback), until the server answers again. A record the server refuses
 *   for good (400, 401, 403, 413) goes to the sink at once.
 * - The library never aborts, never exits and never writes to stderr on
 *   its own (only when you choose BILOR_SINK_STDERR). A failed allocation
 *   is returned as BILOR_ENOMEM. Diagnostics go to an optional log
 *   callback.
 * - Every function taking a struct bilor * is thread-safe. A struct
 *   bilor_event is owned by one thread until it is sent or discarded.
 * - After fork() the child must not use the parent's client (its sender
 *   thread does not exist there): create a new one in the child.
 *
 * Errors: functions return 0 on success or a negative BILOR_E* code;
 * bilor_strerror() describes a code.
 *
 * Strings passed in are copied (borrowed only for the duration of the
 * call) unless a comment says otherwise. Strings must be UTF-8; invalid
 * bytes are replaced by U+FFFD.
 *
 * Link with `pkg-config --cflags --libs bilor` (shared) or add --static.
 * A complete example is in docs/client-c.md and examples/c/example.c.
 */
#ifndef BILOR_H
#define BILOR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BILOR_VERSION_STRING "0.1.0"
#define BILOR_SDK_NAME "bilor.c"

#if defined(__GNUC__)
#define BILOR_API __attribute__((visibility("default")))
#define BILOR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BILOR_API
#define BILOR_PRINTF(f, a)
#endif

/* Error codes (negative). X-macro so that bilor_strerror() stays in step. */
#define BILOR_ERRNO_MAP(X)                                                                         \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ETOOBIG, -3, "record too large")                                                             \
    X(ETIMEDOUT, -4, "timed out")                                                                  \
    X(EIO, -5, "input/output error")                                                               \
    X(EBUSY, -6, "already in use")                                                                 \
    X(ECLOSED, -7, "client is shutting down")                                                      \
    X(ESYS, -8, "system call failed")

enum bilor_errno {
    BILOR_OK = 0,
#define BILOR_ERR_ENUM(name, code, text) BILOR_##name = (code),
    BILOR_ERRNO_MAP(BILOR_ERR_ENUM)
#undef BILOR_ERR_ENUM
};

/* A fixed description of a BILOR_E* code; never NULL. */
BILOR_API const char *bilor_strerror(int code);

/* Severity, as Sentry names it ("debug", "info", "warning", "error", "fatal"). */
enum bilor_level {
    BILOR_DEBUG = 0,
    BILOR_INFO = 1,
    BILOR_WARNING = 2,
    BILOR_ERROR = 3,
    BILOR_FATAL = 4
};

/* Where records go when the server cannot take them (see fallback_after_ms). */
enum bilor_sink {
    BILOR_SINK_NONE = 0, /* records are dropped (and counted) */
    BILOR_SINK_STDERR,   /* one JSON line per record on file descriptor 2 */
    BILOR_SINK_SYSLOG,   /* syslog(3), facility LOG_USER, the record's level */
    BILOR_SINK_FILE,     /* one JSON line per record appended to sink_path */
    BILOR_SINK_CALLBACK  /* sink_fn(sink_ud, json, len) */
};

/*
 * Fallback callback: json is one event (or client report) as compact JSON
 * without a trailing newline, valid only during the call. Called from the
 * client's sender thread (or from bilor_free()), never concurrently.
 */
typedef void (*bilor_sink_fn)(void *ud, const char *json, size_t len);

/*
 * Diagnostics callback ("connection refused, retrying in 2000 ms", ...).
 * Called from any thread of the client, possibly concurrently; msg is
 * valid only during the call. level is a bilor_level.
 */
typedef void (*bilor_log_fn)(void *ud, enum bilor_level level, const char *msg);

/*
 * Memory functions for everything libbilor allocates itself (libcurl and
 * libdw keep using malloc). All three are required when given. free_fn
 * gets NULL never; realloc_fn follows realloc(3). Returning NULL from
 * malloc_fn/realloc_fn is reported as BILOR_ENOMEM.
 */
struct bilor_allocator {
    void *(*malloc_fn)(size_t size, void *ud);
    void *(*realloc_fn)(void *ptr, size_t size, void *ud);
    void (*free_fn)(void *ptr, void *ud);
    void *ud;
};

/*
 * Client settings. Always start from bilor_options_init(), which sets the
 * defaults given below, then change what you need. The strings and the
 * allocator are copied or used only during bilor_new(), except allocator,
 * which must stay valid until bilor_free() returns.
 */
struct bilor_options {
    /* "http(s)://PUBLIC_KEY@HOST[:PORT][/PREFIX]/PROJECT_ID". NULL or "": no
     * server, every record goes straight to the fallback sink. */
    const char *dsn;
    const char *release;        /* e.g. "myapp@1.2.3"; NULL: none */
    const char *environment;    /* NULL: "production" */
    const char *server_name;    /* NULL: gethostname() */
    size_t queue_size;          /* records held while sending; default 100 */
    unsigned send_timeout_ms;   /* one HTTP request, connect included; 5000 */
    unsigned fallback_after_ms; /* no success that long: sink; default 30000 */
    unsigned retry_min_ms;      /* first back-off after a failure; 1000 */
    unsigned retry_max_ms;      /* back-off cap; 60000 */
    size_t max_event_bytes;     /* larger records: BILOR_ETOOBIG; 1 MiB */
    enum bilor_sink sink;       /* default BILOR_SINK_NONE */
    const char *sink_path;      /* BILOR_SINK_FILE: opened O_APPEND in bilor_new() */
    bilor_sink_fn sink_fn;      /* BILOR_SINK_CALLBACK */
    void *sink_ud;
    /* Directory for crash spool files (bilor_crash_install()). When set,
     * bilor_new() also sends the crashes spooled there by an earlier run. */
    const char *crash_dir;
    bilor_log_fn log_fn; /* NULL: no diagnostics */
    void *log_ud;
    const struct bilor_allocator *allocator; /* NULL: malloc/realloc/free */
};

/* Fills o with the defaults. */
BILOR_API void bilor_options_init(struct bilor_options *o);

struct bilor;
struct bilor_event;

/*
 * Creates a client and starts its sender thread. On success *out is the
 * client (free it with bilor_free()). Errors: BILOR_EINVAL (bad DSN or
 * option), BILOR_ENOMEM, BILOR_EIO (sink file cannot be opened), BILOR_ESYS
 * (thread creation failed). On error *out is NULL.
 */
BILOR_API int bilor_new(struct bilor **out, const struct bilor_options *o);

/*
 * Waits until every queued record has been delivered or written to the
 * sink, for at most timeout_ms. Returns 0, or BILOR_ETIMEDOUT when
 * records are still waiting (for example while the server is down and
 * fallback_after_ms has not passed).
 */
BILOR_API int bilor_flush(struct bilor *c, unsigned timeout_ms);

/*
 * Stops the sender (a request in flight is aborted), writes the records
 * still queued to the fallback sink, removes the crash handler if this
 * client installed it, and frees everything. Call bilor_flush() first to
 * deliver what is queued. NULL is allowed.
 */
BILOR_API void bilor_free(struct bilor *c);

/*
 * Logs a message: printf-style fmt at level from logger (NULL: no logger).
 * The template fmt is sent along with the formatted text, so the server
 * groups the messages of one call site into one issue. Returns 0,
 * BILOR_ENOMEM, BILOR_ETOOBIG, BILOR_EINVAL or BILOR_ECLOSED.
 */
BILOR_API int bilor_log(struct bilor *c, enum bilor_level level, const char *logger,
                        const char *fmt, ...) BILOR_PRINTF(4, 5);
BILOR_API int bilor_logv(struct bilor *c, enum bilor_level level, const char *logger,
                         const char *fmt, va_list ap) BILOR_PRINTF(4, 0);

/*
 * Captures an error at level "error": an exception of the given type
 * ("ParseError") whose value is the printf-style fmt, with the stack
 * trace of the caller. The trace is symbolized to function, file and line
 * (where debug information allows) by the sender thread, not here.
 */
BILOR_API int bilor_capture_error(struct bilor *c, const char *type, const char *fmt, ...)
    BILOR_PRINTF(3, 4);

/*
 * Builder for a record with tags and extra data. bilor_event_new() returns
 * NULL only when memory is short (or c is NULL). The setters return 0 or a
 * BILOR_E* code. BILOR_EINVAL (a NULL key, JSON that does not parse) only
 * skips that field. BILOR_ENOMEM and BILOR_ETOOBIG (the record would be
 * over max_event_bytes) are remembered: bilor_event_send() then returns
 * the error and sends nothing, so a caller may check only that. Tag keys
 * and values are cut at 200 bytes, messages and exception values at 8192.
 */
BILOR_API struct bilor_event *bilor_event_new(struct bilor *c, enum bilor_level level,
                                              const char *logger);
BILOR_API int bilor_event_message(struct bilor_event *ev, const char *fmt, ...) BILOR_PRINTF(2, 3);
BILOR_API int bilor_event_messagev(struct bilor_event *ev, const char *fmt, va_list ap)
    BILOR_PRINTF(2, 0);
/* A message that is not a printf template: text is sent as is and is its own template. */
BILOR_API int bilor_event_set_message(struct bilor_event *ev, const char *text);
BILOR_API int bilor_event_tag(struct bilor_event *ev, const char *key, const char *value);
BILOR_API int bilor_event_extra_str(struct bilor_event *ev, const char *key, const char *value);
BILOR_API int bilor_event_extra_int(struct bilor_event *ev, const char *key, long long value);
BILOR_API int bilor_event_extra_double(struct bilor_event *ev, const char *key, double value);
BILOR_API int bilor_event_extra_bool(struct bilor_event *ev, const char *key, int value);
/* json is a complete JSON text (object, array, ...); BILOR_EINVAL if it is not. */
BILOR_API int bilor_event_extra_json(struct bilor_event *ev, const char *key, const char *json);
/*
 * Makes the record an error: exception type and printf-style value. When
 * with_stack is non-zero the stack trace of the caller is captured here.
 */
BILOR_API int bilor_event_exception(struct bilor_event *ev, const char *type, int with_stack,
                                    const char *fmt, ...) BILOR_PRINTF(4, 5);
/*
 * Queues the record and frees ev (in every case). event_id, when not
 * NULL, receives the 32 hex characters of the event id and a NUL.
 */
BILOR_API int bilor_event_send(struct bilor_event *ev, char event_id[33]);
/* Frees ev without sending it. NULL is allowed. */
BILOR_API void bilor_event_discard(struct bilor_event *ev);

/*
 * Installs the crash handler for SIGSEGV, SIGBUS, SIGFPE, SIGILL and
 * SIGABRT. Needs crash_dir. One client per process may install it
 * (BILOR_EBUSY otherwise). The handler does only async-signal-safe work:
 * it writes the signal, the raw return addresses and the process's module
 * map (/proc/self/maps) to a spool file in crash_dir, then lets the
 * previous handler (by default: terminate with a core) take over. The next
 * bilor_new() with the same crash_dir symbolizes the spooled crash and
 * sends it as a fatal event; the file is removed once delivered.
 * An alternate signal stack is set for the calling thread, so a stack
 * overflow in that thread is reported too.
 */
BILOR_API int bilor_crash_install(struct bilor *c);

/* Counters since bilor_new(); a snapshot, any thread. */
struct bilor_stats {
    uint64_t queued;       /* records accepted by the queue */
    uint64_t sent;         /* records the server acknowledged (2xx) */
    uint64_t dropped;      /* dropped: queue overflow */
    uint64_t to_sink;      /* written to the fallback sink */
    uint64_t discarded;    /* lost: refused for good with no sink, too large, ... */
    uint64_t requests;     /* HTTP requests made */
    uint64_t failures;     /* requests that failed (connection, 5xx, 429) */
    uint64_t reports_sent; /* client reports acknowledged */
    int last_status;       /* HTTP status of the last answer; 0: no answer */
};
BILOR_API void bilor_get_stats(struct bilor *c, struct bilor_stats *st);

#ifdef __cplusplus
}
#endif

#endif
