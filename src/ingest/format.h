/*
 * format.h - the wire formats, as one table.
 *
 * DESIGN
 * A wire format is everything Bilor knows about one kind of body: its name
 * (the metric label), its journal protocol id, how a listener recognises
 * it, the door-side check that runs before the ack and the digest-side
 * decode that turns a journal record into events. The door layer (door/)
 * and the digest look formats up here and never switch on a protocol, so a
 * new format (GELF, syslog, ES bulk, OTLP) is one new file that defines a
 * struct ingest_format plus one row in the table of format.c
 * (docs/architecture.md, "How to add a wire format").
 *
 * The protocol id is written into every journal record: it is stable
 * forever and never reused, or an old journal would be decoded by the wrong
 * format. The table's order means nothing; metrics index their per-format
 * counters by format_index(), and name them with ->name.
 */
#ifndef BL_FORMAT_H
#define BL_FORMAT_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "ingest/ingest.h"

/* Upper bound on the table's size: per-format counters are arrays of this many. */
#define FORMAT_MAX 16

/* What a door check gets. */
struct format_input {
    const void *body; /* as received */
    size_t len;
    int encoding; /* the transport's Content-Encoding hint (decode.h) */
    const struct ingest_limits *lim;
    struct pool *pool;   /* the request's: per-unit errors live here */
    struct buf *scratch; /* the decompressed body, released by the caller */
};

/* What a door check learned from a body it accepted. */
struct format_result {
    struct ingest_check check;         /* event id, envelope items, dsn */
    struct ingest_ndjson_result units; /* units (events or lines) accepted, rejected and why */
    /* Credentials the body carries itself (a Sentry envelope's dsn), "" if none. */
    char key[65];
    long long key_project; /* the project those credentials name, 0 if none */
    /* What a format's listener needs beyond the counts (the _bulk items), in the pool, or NULL. */
    void *detail;
};

/* How a listener answers an accepted body. */
enum format_reply {
    FORMAT_REPLY_EVENT_ID = 0, /* {"id": event id} (Sentry) */
    FORMAT_REPLY_UNITS,        /* accepted / rejected counts and per-unit errors */
};

typedef int (*format_check_fn)(const struct format_input *in, struct format_result *out,
                               struct bl_err *err);
/* ingest_decode for one format (ingest.h): events appended to out, all or nothing. */
typedef int (*format_decode_fn)(const void *payload, size_t len, const struct ingest_meta *meta,
                                const struct ingest_limits *lim, struct pool *pool,
                                struct ingest_events *out, size_t items[INGEST_ITEM__N],
                                struct bl_err *err);

struct ingest_format {
    const char *name; /* metric label, e.g. "store": stable */
    int protocol;     /* journal id (enum ingest_proto): stable, never reused */
    /* Recognition: formats of one family share a listener (an HTTP door, a
     * port); within it a format is named by its content type, else the
     * listener's default applies. */
    const char *family;       /* e.g. "sentry" */
    const char *content_type; /* media type that names it within its family, or NULL */
    int reply;                /* enum format_reply */
    /* Refusal when the check accepts no unit: NULL means such a body is
     * still acknowledged (an envelope of sessions), with nothing journaled. */
    const char *empty_error;
    format_check_fn check;   /* door side: before the ack, no JSON trees */
    format_decode_fn decode; /* digest side: deterministic */
    /* 1 when the check and the decode call decode_request with the same
     * arguments, so the door's decoded copy serves the digest (handoff.h). */
    int handoff;
};

size_t format_count(void);
/* Table entry i < format_count(); format_index(format_at(i)) == i. */
const struct ingest_format *format_at(size_t i);
size_t format_index(const struct ingest_format *f);
const struct ingest_format *format_by_protocol(int protocol);
const struct ingest_format *format_by_name(const char *name);

/*
 * The door check of a format whose body is one JSON object (an Elasticsearch
 * document, a v1 message): decoded, validated, one unit, and an event id
 * chosen here and journaled so the answer can name the stored event.
 * not_object is the refusal's message.
 */
int format_check_object(const struct format_input *in, struct format_result *out,
                        const char *not_object, struct bl_err *err);
/*
 * The format a listener whose default is dflt should use for a body of
 * content_type (may be NULL): a format of the same family named by that
 * media type, else dflt.
 */
const struct ingest_format *format_recognise(const struct ingest_format *dflt,
                                             const char *content_type);

/* Building blocks for a format's decode (ingest.c). */
struct event *ingest_event_new(const struct ingest_meta *meta, uint32_t seq,
                               struct ingest_events *out, struct pool *pool);
/*
 * Gives the event its id when it has none (from lsn and seq) and its
 * fingerprint, unless meta's issue level says it will be a log line
 * (ingest_meta.issue_level).
 */
void ingest_event_finish(struct event *ev, const struct ingest_meta *meta, struct pool *pool);

/* The digest sides of the built-in formats (ingest.c). */
int ingest_decode_store(const void *payload, size_t len, const struct ingest_meta *meta,
                        const struct ingest_limits *lim, struct pool *pool,
                        struct ingest_events *out, size_t items[INGEST_ITEM__N],
                        struct bl_err *err);
int ingest_decode_envelope(const void *payload, size_t len, const struct ingest_meta *meta,
                           const struct ingest_limits *lim, struct pool *pool,
                           struct ingest_events *out, size_t items[INGEST_ITEM__N],
                           struct bl_err *err);
int ingest_decode_ndjson(const void *payload, size_t len, const struct ingest_meta *meta,
                         const struct ingest_limits *lim, struct pool *pool,
                         struct ingest_events *out, size_t items[INGEST_ITEM__N],
                         struct bl_err *err);

#endif
