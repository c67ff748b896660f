/*
 * logfmt.h - what the syslog and GELF formats share with their listeners
 * (listen/) and with the API that rebuilds their events.
 *
 * DESIGN
 * A socket listener receives many small messages (a datagram, a TCP frame)
 * and journals them in groups: one journal record is a batch, the
 * messages written back to back as RFC 6587 octet-counted frames
 * ("LEN SP MSG"), which keeps every message's bytes exactly as received
 * (GELF datagrams are stored decompressed). A body that does not start
 * with a digit is one message on its own (POST /gelf sends one GELF
 * object). The digest splits a batch with logfmt_batch_next and makes one
 * event per message; each event's raw payload is its message, and its
 * source (EV_SRC_SYSLOG, EV_SRC_GELF) names the normalizer below, which
 * the API re-runs on read like the NDJSON one. Attributes are rebuilt as a
 * JSON object from the raw message for the API's "attributes".
 */
#ifndef BL_LOGFMT_H
#define BL_LOGFMT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "core/pool.h"
#include "ingest/ingest.h"

/* SD element and param that carry a listener's required project key in syslog. */
#define LOGFMT_SD_KEY_ID "bilor@0"
#define LOGFMT_SD_KEY_PARAM "key"
/* GELF additional field that carries it. */
#define LOGFMT_GELF_KEY "_bilor_key"

/* Appends one message to a batch as an octet-counted frame. */
int logfmt_batch_add(struct buf *b, const void *msg, size_t len);
/*
 * The next message of body p/len from *pos: 1 with *msg set, 0 at the end.
 * A body that is not a batch is one message. A damaged frame ends the walk.
 */
int logfmt_batch_next(const char *p, size_t len, size_t *pos, struct slice *msg);

/* Syslog: one message (as received) into ev; the event fields as the digest sets them. */
void normalize_syslog(const char *p, size_t len, struct event *ev, const struct ingest_limits *lim,
                      struct pool *pool);
/* Its attributes: facility, procid, msgid and "SD-ID.name" params (the key param hidden). */
cJSON *normalize_syslog_attributes(const char *p, size_t len, int64_t received_at);
/* The value of the bilor@0 key SD param, or an empty slice. */
struct slice logfmt_syslog_key(const char *p, size_t len, struct pool *pool);

/*
 * GELF: whether one decompressed message is one that will be stored (a
 * JSON object, a usable host, short_message or message); *key gets the raw
 * value of _bilor_key (with its quotes) when present. 0 or BL_EPARSE + why.
 */
int logfmt_gelf_ok(const char *p, size_t len, const struct ingest_limits *lim, struct slice *key,
                   struct bl_err *err);
void normalize_gelf(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                    struct pool *pool);
/* Its attributes: "_x" fields without the underscore ("_id" and the key dropped), the rest. */
cJSON *normalize_gelf_attributes(const cJSON *obj);

#endif
