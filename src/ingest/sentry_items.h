/*
 * sentry_items.h - the envelope items that are not events (issue 6 §5).
 *
 * DESIGN
 * Door side (sentry_items_check): run by ingest_check_envelope after the
 * event items were checked. Cheap: attachments are measured, the JSON
 * items we keep (log, client_report, user_report, feedback) are validated
 * with jsonscan, so the digest only sees items it can decode and a bad one
 * is a clear 400 (413 for an attachment over max_attachment) that changes
 * nothing. An attachment needs an event id (an event item or the envelope
 * header's event_id) to be kept with; without one the envelope is a 400.
 *
 * Digest side (sentry_items_decode): called by ingest.c for every envelope
 * record. Attachments, feedback, client-report lines and the counts of
 * items that are received but not stored become struct item (core/item.h)
 * in out->items; each entry of a `log` item becomes a log event, built by
 * turning the entry into a JSON line (attributes flattened to members) and
 * running the JSON-lines normalizer on it, so it is stored, searched and
 * shown exactly like a line of the JSON-lines door. The synthesized line is
 * the event's raw payload, so the API rebuilds it the same way.
 *
 * Everything is a pure function of the record: replaying the journal
 * yields the same items with the same (lsn, seq), which the store uses to
 * keep each exactly once.
 */
#ifndef BL_SENTRY_ITEMS_H
#define BL_SENTRY_ITEMS_H

#include <stddef.h>

#include "core/err.h"
#include "core/pool.h"
#include "ingest/envelope.h"
#include "ingest/ingest.h"

/* Most entries taken from one log item; the door refuses more. */
#define SENTRY_ITEMS_MAX_LOGS 10000

/*
 * Checks the non-event items of env. has_event_id: the envelope has an
 * event item or a header event_id. 0, BL_EPARSE (400) or BL_ETOOBIG (413),
 * err naming the item ("item 2 (log): ...").
 */
int sentry_items_check(const struct envelope *env, const struct ingest_limits *lim,
                       int has_event_id, struct bl_err *err);

/* 1 when an envelope with these item counts must be journaled (it holds anything at all). */
int sentry_items_journal(const size_t items[INGEST_ITEM__N]);

/*
 * Appends the record's non-event items to out->items and its log entries to
 * out->v (their seq starts at first_seq; event ids are left empty for the
 * caller to derive). event_id: the envelope's event id ("" if none), which
 * attachments are kept with. Returns 0; entries that cannot be decoded are
 * skipped (the door checked them).
 */
int sentry_items_decode(const struct envelope *env, const char *event_id,
                        const struct ingest_meta *meta, const struct ingest_limits *lim,
                        struct pool *pool, uint32_t first_seq, struct ingest_events *out);

/* Appends a zeroed item to out->items (growing it in pool) and returns it. */
struct item *sentry_items_push(struct ingest_events *out, struct pool *pool);

#endif
