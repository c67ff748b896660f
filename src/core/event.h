/*
 * event.h - the one event model (design §3).
 *
 * Every door produces this shape; grouping, storage, search and the API only
 * ever see it. An event is built by the digest from one journal record and
 * lives in the digest batch's pool: every pointer below is borrowed from that
 * pool (or is NULL when the client did not send the field) and stays valid
 * until the batch is committed and the pool is reset.
 *
 * Exceptions are events with an exception chain; log lines are events
 * without one.
 */
#ifndef BL_EVENT_H
#define BL_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum ev_level { EV_TRACE = 0, EV_DEBUG, EV_INFO, EV_WARNING, EV_ERROR, EV_FATAL, EV__NLEVELS };

/* "trace", "debug", "info", "warning", "error", "fatal". */
const char *ev_level_name(int level);
/*
 * The level a client's word or number names, by the one table in event.c:
 * names in any case with the usual spellings ("warn", "err", "crit",
 * "notice", ...), 0-7 as syslog severities, 10-99 as Python logging
 * levels; ev_level_parse also reads a number written as text. Returns 0
 * and sets *level, or -1 when the value names no level.
 */
int ev_level_parse(const char *s, size_t len, int *level);
int ev_level_from_number(double n, int *level);

/* How the raw payload is kept. */
enum ev_raw_encoding { EV_RAW_IDENTITY = 0, EV_RAW_GZIP = 1, EV_RAW_ZSTD = 2 };

enum ev_kind { EV_KIND_LOG = 0, EV_KIND_ISSUE = 1 };

/* Which normalizer built the event from its raw payload (the API re-runs it on read). */
/*
 * EV_SRC_SENTRY_ENVELOPE: the raw payload is the whole envelope as the client
 * sent it (gzip kept); the event is its first event item (ingest_envelope_event).
 * EV_SRC_SYSLOG, EV_SRC_GELF: one message of the socket doors (ingest/logfmt.h).
 */
enum ev_source {
    EV_SRC_SENTRY = 0,
    EV_SRC_LOGLINE = 1,
    EV_SRC_SENTRY_ENVELOPE = 2,
    EV_SRC_SYSLOG = 3,
    EV_SRC_GELF = 4,
};

struct ev_tag {
    const char *key;
    const char *value;
};

struct ev_frame {
    const char *function;
    const char *module;
    const char *package; /* the binary or library of a native frame */
    const char *filename;
    const char *abs_path;
    const char *context_line;
    int lineno; /* 0 when unknown */
    int colno;
    int in_app;       /* 1, 0, or -1 when the client did not say */
    int no_group;     /* a stack-trace rule said -group: the frame does not contribute */
    int sourcemapped; /* data.sourcemap: the frame was resolved through a source map */
};

struct ev_exception {
    const char *type;
    const char *value;
    const char *module;
    const char *mechanism;   /* mechanism.type */
    int handled;             /* 1, 0, or -1 */
    int synthetic;           /* mechanism.synthetic */
    struct ev_frame *frames; /* caller -> callee: the last frame raised */
    size_t nframes;
};

struct event {
    /* identity and origin */
    char event_id[33]; /* 32 lowercase hex */
    int64_t project_id;
    uint64_t lsn;        /* journal record this event came from */
    uint32_t seq;        /* index of the event inside that record */
    int64_t received_at; /* µs since epoch, when the door accepted it */
    int64_t timestamp;   /* µs since epoch, clamped to a sane window */

    /* what happened */
    int level; /* enum ev_level */
    const char *logger;
    const char *message;          /* formatted text */
    const char *message_template; /* template before parameters, when known */
    const char *platform;
    const char *release;
    const char *environment;
    const char *server_name;
    const char *transaction;
    const char *trace_id;
    const char *span_id;
    const char *request_id;
    const char *user_id;
    const char *user_email;
    const char *user_ip;
    const char *user_name;
    struct ev_tag *tags;
    size_t ntags;
    struct ev_exception *exc; /* chain, oldest cause first; last is primary */
    size_t nexc;
    /*
     * A stack trace without an exception (caller -> callee): the event's
     * top-level "stacktrace", else the crashing thread's. Grouped like an
     * exception's frames when the chain is empty.
     */
    struct ev_frame *frames;
    size_t nframes;
    /* The "template" interface (filename, abs_path, lineno, context_line); NULL when absent. */
    struct ev_frame *template_frame;
    const char **fingerprint_in; /* client's explicit fingerprint, if any */
    size_t nfingerprint_in;

    /* computed by normalization and grouping */
    int kind;             /* enum ev_kind */
    char fingerprint[33]; /* hex; set for every event, used for issues */
    int grouping_version;
    /*
     * The fingerprint the previous grouping version gives, when it differs:
     * while a version change is in transition the store puts an event whose
     * new fingerprint has no issue into the open issue of this one.
     */
    char fingerprint_prev[33];
    int grouping_version_prev; /* 0: no previous fingerprint */
    int rules_version;         /* the project's grouping rule set that applied, 0: none */
    uint64_t template_hash;    /* hash of the parameterised message template */
    const char *title;         /* "Type: value" or the message's first line */
    const char *culprit;       /* where: in-app function/module, or transaction */
    const char *search_text;   /* exception types + values, for full-text */

    /*
     * The original payload: the Sentry event JSON or the log line, as the
     * client sent it. The store keeps it compressed (a gzip body as
     * received, else zstd) and the API rebuilds the normalized document
     * from it on read, so the normalized JSON is never written twice.
     */
    int source; /* enum ev_source */
    const void *raw;
    size_t raw_len;
    int raw_encoding; /* enum ev_raw_encoding */

    /* filled by the store on write */
    int64_t issue_id;
};

#endif
