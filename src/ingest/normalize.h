/*
 * normalize.h - turn what a client sent into the one event model (event.h).
 *
 * Sentry events (protocols.md §1.7): logentry/message with params formatted,
 * RFC 3339 or epoch timestamps, tags as a map or as pairs, the exception
 * chain (values object or bare array) with frames, user, request, contexts,
 * breadcrumbs, release, environment (default "production"), level names or
 * Python numbers. JSON-lines log records: timestamp/ts/@timestamp (RFC 3339
 * or epoch seconds/millis/micros), level, message/msg, logger; every other
 * field becomes an attribute.
 *
 * The result's strings live in pool. Fields are trimmed to the limits in
 * struct ingest_limits. Normalization never fails on a field's type: a wrong
 * type is dropped, as Relay does. It is deterministic given the event's
 * received_at, so the API can rebuild the same event from the stored raw
 * payload instead of the store keeping a second copy.
 */
#ifndef BL_NORMALIZE_H
#define BL_NORMALIZE_H

#include <cjson/cJSON.h>

#include "core/event.h"
#include "core/pool.h"
#include "ingest/ingest.h"

/*
 * Fills ev from a Sentry event object. ev->event_id, project_id, lsn, seq
 * and received_at must already be set (the caller's id wins over the
 * payload's). Timestamps more than 30 days old or 1 minute in the future are
 * replaced by received_at (the original is kept in data_json).
 */
void normalize_sentry(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                      struct pool *pool);

/* Fills ev from one JSON-lines log record (an object); same preconditions. */
void normalize_log_line(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                        struct pool *pool);

/*
 * The same for a JSON line given as text (len bytes of valid JSON, as the
 * door's check accepted it), without a tree (normalize_log_scan.c): 0 when
 * ev is filled as scrub_tree and then normalize_log_line would have filled
 * it and the scrub (under the project's rules, NULL: the defaults) changes
 * nothing in the line, so its text is the raw payload; 1 when the caller
 * must parse, scrub and normalize the tree instead (something to scrub, a
 * value only the tree reads), with ev untouched.
 */
struct scrub_rules;
int normalize_log_text(const char *line, size_t len, const struct scrub_rules *scrub,
                       struct event *ev, const struct ingest_limits *lim, struct pool *pool);

/*
 * Log records of other wire formats are kept as the JSON line the logs door
 * would have received (normalize_line.c): normalize_line_object() makes
 * line (a JSON-lines record) ev's raw payload and normalizes it, so ev's
 * source is EV_SRC_LOGLINE and the API rebuilds it like any JSON line.
 * Same preconditions as normalize_log_line; the caller frees line.
 */
void normalize_line_object(const cJSON *line, struct event *ev, const struct ingest_limits *lim,
                           struct pool *pool);

/*
 * One Elasticsearch document (an object from _bulk or _doc, protocols.md
 * §5) into ev, through its JSON line: nested objects are read as dotted
 * names, ECS fields (@timestamp, message, log.level, log.logger, host.name,
 * service.name, service.environment, service.version, trace.id, span.id)
 * and the usual shipper names (rsyslog's timereported/fromhost/priority,
 * Fluent Bit's log) map onto the event; the rest are attributes. index is
 * kept as the attribute "_index". Sets ev->raw (the line, in pool): the caller must not set it.
 */
void normalize_es_doc(const cJSON *doc, const char *index, struct event *ev,
                      const struct ingest_limits *lim, struct pool *pool);

/*
 * Where the client's object holds what the event model does not keep, for
 * the API's event document (api/api_event_doc.c). obj must be the object ev
 * was normalized from; for any other object these find nothing.
 *
 * The client's exception object that ev->exc[k] was built from, or NULL.
 */
const cJSON *normalize_src_exception(const struct event *ev, const cJSON *obj, size_t k);
/* Fills out[0..ev->exc[k].nframes) with the client's frame objects (NULL when unmatched). */
void normalize_src_frames(const struct event *ev, const cJSON *obj, size_t k, const cJSON **out);
/*
 * The client's breadcrumbs array (NULL when absent); the document shows its
 * object entries after the first *skip (the newest ones are kept).
 */
const cJSON *normalize_src_breadcrumbs(const cJSON *obj, size_t *skip);
/* Whether member of the log record obj is an attribute (not mapped onto a field). */
int normalize_src_attribute(const cJSON *obj, const cJSON *member);

/*
 * Parses a timestamp as clients send it: a JSON number of epoch seconds,
 * milliseconds or microseconds (told apart by magnitude), or a string in RFC
 * 3339 or holding such a number. Returns 0 and sets *us, or -1.
 */
int normalize_timestamp(const cJSON *v, int64_t *us);

#endif
