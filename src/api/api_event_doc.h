/*
 * api_event_doc.h - the REST representation of events (docs/api.md).
 * Private to api/ (the unit tests use it too).
 */
#ifndef BL_API_EVENT_DOC_H
#define BL_API_EVENT_DOC_H

#include <cjson/cJSON.h>

#include "api/jw.h"
#include "core/event.h"
#include "core/pool.h"
#include "store/store.h"

/*
 * The members of the normalized event, into an open object: event_id,
 * project, timestamp ... user, tags, exception, breadcrumbs, contexts,
 * request, extra, sdk (Sentry) or attributes (log lines), fingerprint,
 * grouping_version, title, culprit. ev was normalized (and fingerprinted)
 * from obj; pool holds scratch memory.
 */
void api_write_event(struct jw *w, const struct event *ev, const cJSON *obj, struct pool *pool);
/* The same as one complete object appended to out (tests, fuzzing). */
int api_event_doc(const struct event *ev, const cJSON *obj, struct buf *out);
/* "attributes": the members of the log record obj that are not event fields. */
void api_write_attributes(struct jw *w, const cJSON *obj);
/* "attributes" of a log event of any source (obj as api_events.c's rebuild gives it). */
void api_write_attributes_of(struct jw *w, const struct event *ev, const cJSON *obj);
/* The members of an event's listing row, from the store's columns, into an open object. */
void api_write_event_row(struct jw *w, const struct store_event *e);

#endif
