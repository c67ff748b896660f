/*
 * ingest.h - what the doors check before acking, and what the digest turns
 * a journal record into.
 *
 * DESIGN
 * Door side (ingest_check_*): runs on HTTP threads before the record is
 * journaled. Cheap and allocation-light: decompress to enforce the size cap,
 * validate the JSON with jsonscan, find or choose the event id. A request
 * that passes is journaled with its body exactly as received.
 *
 * Digest side (ingest_decode): runs on the digest thread, turning one
 * journal record into zero or more normalized, fingerprinted events (one
 * per Sentry event, one per good NDJSON line). It is deterministic: the
 * same record always yields the same events with the same ids, so replay
 * after a crash reproduces exactly what the door acknowledged.
 */
#ifndef BL_INGEST_H
#define BL_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "core/item.h"
#include "core/pool.h"
#include "ingest/decode.h"

/*
 * Journal protocol ids of the wire formats (format.h), stored in every
 * journal record: stable forever, never reused.
 */
enum ingest_proto {
    INGEST_SENTRY_STORE = 1,
    INGEST_SENTRY_ENVELOPE = 2,
    INGEST_LOGS_NDJSON = 3,
    /* Log doors of issue 10 (HTTP): far from the low numbers so parallel work cannot collide. */
    INGEST_ES_BULK = 20,
    INGEST_ES_DOC = 21,
    INGEST_OTLP_PB = 22,
    INGEST_OTLP_JSON = 23,
    INGEST_BILOR_V1 = 24,
    /* Socket doors (listen/): octet-counted batches of messages (logfmt.h). */
    INGEST_SYSLOG = 8,
    INGEST_GELF = 9,
};

struct ingest_limits {
    size_t max_body;       /* decompressed request body, e.g. 20 MiB (413 above) */
    size_t max_event;      /* one event JSON, e.g. 1 MiB (413 above) */
    size_t max_line;       /* one NDJSON line, e.g. 256 KiB (line rejected above) */
    size_t max_lines;      /* lines per NDJSON request, e.g. 100000 */
    int max_depth;         /* JSON nesting, e.g. 64 */
    size_t max_frames;     /* frames kept per stack trace (trimmed in the middle), 250 */
    size_t max_string;     /* longest string field kept (message: 8192), truncated beyond */
    size_t max_attachment; /* one envelope attachment item, e.g. 10 MiB (413 above) */
};

#define INGEST_LIMITS_DEFAULT                                                                      \
    ((struct ingest_limits){ 20u << 20, 1u << 20, 256u << 10, 100000, 64, 250, 8192, 10u << 20 })

/* Counts of Sentry envelope item types, for /metrics (index = enum ingest_item). */
enum ingest_item {
    INGEST_ITEM_EVENT = 0,
    INGEST_ITEM_TRANSACTION,
    INGEST_ITEM_ATTACHMENT,
    INGEST_ITEM_SESSION,
    INGEST_ITEM_SESSIONS,
    INGEST_ITEM_CLIENT_REPORT,
    INGEST_ITEM_CHECK_IN,
    INGEST_ITEM_LOG,
    INGEST_ITEM_SPAN,
    INGEST_ITEM_PROFILE,
    INGEST_ITEM_REPLAY,
    INGEST_ITEM_USER_REPORT,
    INGEST_ITEM_FEEDBACK,
    INGEST_ITEM_OTHER,
    INGEST_ITEM__N
};
const char *ingest_item_name(int item);
int ingest_item_from_type(const char *type, size_t len);

/* What the door learned from a body it accepted. */
struct ingest_check {
    char event_id[33];            /* "" when the body has no event */
    size_t items[INGEST_ITEM__N]; /* envelope items by type */
    char dsn_key[65];             /* envelope header dsn's key, "" if none */
    long long dsn_project;        /* envelope header dsn's project id, 0 if none */
};

/*
 * /store/: decode (gzip, deflate, br, base64+zlib legacy bodies), validate
 * one JSON object, take its event_id or generate one (into out->event_id).
 * A body that is an envelope (content type application/x-sentry-envelope)
 * is checked with ingest_check_envelope instead by the caller.
 * BL_ETOOBIG -> 413, BL_EPARSE -> 400.
 */
int ingest_check_store(const void *body, size_t len, int encoding, const struct ingest_limits *lim,
                       struct buf *scratch, struct ingest_check *out, struct bl_err *err);

/*
 * /envelope/: decode, parse the envelope, validate each event item's JSON,
 * take the event id (envelope header wins over the event's own; generated
 * when an event item has none), count items by type, report the header dsn.
 */
int ingest_check_envelope(const void *body, size_t len, int encoding,
                          const struct ingest_limits *lim, struct buf *scratch,
                          struct ingest_check *out, struct bl_err *err);

/* Per-line outcome of an NDJSON body, in line order. */
struct ingest_line_error {
    size_t line; /* 1-based */
    char error[120];
};

struct ingest_ndjson_result {
    size_t accepted;
    size_t rejected;
    struct ingest_line_error *errors; /* first max_errors rejections, from pool */
    size_t nerrors;
};

/*
 * JSON lines: decode, then judge every non-blank line with the same rules the
 * digest applies (ingest_ndjson_line_ok). Blank lines are skipped, not
 * counted. Errors past max_errors are counted but not described.
 */
int ingest_check_ndjson(const void *body, size_t len, int encoding, const struct ingest_limits *lim,
                        struct pool *pool, size_t max_errors, struct buf *scratch,
                        struct ingest_ndjson_result *out, struct bl_err *err);

/* The single rule for one NDJSON line: 0 when it will be stored, else BL_EPARSE + why. */
int ingest_ndjson_line_ok(const char *p, size_t len, const struct ingest_limits *lim,
                          struct bl_err *err);

/*
 * Timestamps as clients send them: a number of epoch seconds, milliseconds
 * or microseconds (told apart by magnitude), or a string holding RFC 3339
 * or such a number. One rule for the door and the digest. 0 or -1.
 */
int ingest_time_from_number(double v, int64_t *us);
int ingest_time_from_string(const char *s, size_t len, int64_t *us);

/* Identity of a journal record as the digest sees it. */
struct scrub_rules;

struct ingest_meta {
    int protocol; /* enum ingest_proto */
    int encoding; /* enum ingest_encoding */
    int64_t project_id;
    int64_t received_at; /* µs */
    uint64_t lsn;
    const char *event_id;            /* the id the door answered with, "" if none */
    const struct scrub_rules *scrub; /* the project's scrubbing additions, NULL: defaults */
    /*
     * The project's issue level as the caller last knew it, 0 when it does
     * not: events that will be log lines by it are not grouped
     * (fingerprint_event_deferred); whoever classifies them as issues
     * after all must fingerprint them (the digest's writer does).
     */
    int issue_level;
};

/*
 * Until ingest_checked_end(), ingest_decode on this thread takes the record
 * it decodes as one this process's door checked and accepted whole (its
 * decoded copy was handed over: handoff.h), so JSON lines skip the per-line
 * check (ingest_ndjson_line_ok); a replay, with no copy, checks. A window
 * per thread around one record, like decode_preset_begin.
 */
void ingest_checked_begin(void);
void ingest_checked_end(void);

/*
 * Growable arrays, in the batch pool, of the events of a batch and of the
 * envelope items kept beside them (attachments, feedback, client reports,
 * received-not-stored counts: ingest/sentry_items.h). Zero it to empty it.
 */
struct ingest_events {
    struct event *v;
    size_t n;
    size_t cap;
    struct item *items;
    size_t nitems;
    size_t items_cap;
};

/*
 * Appends the events of one journal record to out: normalized (normalize.h),
 * fingerprinted (fingerprint.h; not those that meta's issue level makes log
 * lines: fingerprint_is_deferred), with lsn/seq set, event ids deterministic,
 * raw payloads pointing into pool. Envelope items are counted in items[]
 * (may be NULL); those that are not events become log events or entries of
 * out->items (sentry_items.h). A record that no longer parses (it
 * passed the door, so only a version change could cause this) returns
 * BL_EPARSE and yields no events; the digest counts and skips it.
 */
int ingest_decode(const void *payload, size_t len, const struct ingest_meta *meta,
                  const struct ingest_limits *lim, struct pool *pool, struct ingest_events *out,
                  size_t items[INGEST_ITEM__N], struct bl_err *err);

/*
 * The event item's JSON inside a stored envelope (EV_SRC_SENTRY_ENVELOPE
 * raw payloads, already decompressed): 0 and *json pointing into raw, or
 * BL_EPARSE / BL_ENOTFOUND.
 */
int ingest_envelope_event(const char *raw, size_t len, struct pool *pool, struct slice *json);

/* Appends a zeroed event to out (growing it in pool) and returns it. */
struct event *ingest_events_push(struct ingest_events *out, struct pool *pool);

#endif
