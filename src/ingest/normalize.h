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
 * payload (normalize_event_json) instead of the store keeping a second copy.
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
 * Appends the normalized event as compact JSON, the document that
 * GET /api/0/projects/{id}/events/{event_id}/ returns (without "raw"):
 * event_id, project, timestamp, received, level, logger, message,
 * message_template, platform, release, environment, server_name,
 * transaction, trace_id, user, tags [[k,v]...], exception {values:[{type,
 * value, module, mechanism, stacktrace:{frames:[...]}}]} oldest first,
 * breadcrumbs [...], contexts, request, extra, sdk, attributes (log lines),
 * fingerprint, grouping_version, title, culprit. ev must have been filled
 * by normalize_* + fingerprint_event from obj.
 */
int normalize_event_json(const struct event *ev, const cJSON *obj, struct buf *out);

/*
 * Parses a timestamp as clients send it: a JSON number of epoch seconds,
 * milliseconds or microseconds (told apart by magnitude), or a string in RFC
 * 3339 or holding such a number. Returns 0 and sets *us, or -1.
 */
int normalize_timestamp(const cJSON *v, int64_t *us);

#endif
