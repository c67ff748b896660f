/*
 * tailring.h - the newest stored events, in memory, for live tail.
 *
 * DESIGN
 * The digest's writer publishes every batch it has stored (after the store
 * committed it, so a tail never shows a line a search would not find) into
 * one bounded ring: at most TAILRING_LINES events and TAILRING_BYTES bytes,
 * the oldest dropped first. Each event gets a sequence number, which tail
 * readers use as their position and send to clients as the SSE id; numbers
 * start at the process's start time in µs, so an id from a previous run is
 * always below the ring and reads as "missed", never as another line.
 *
 * The entries a batch keeps are made ahead on the decode thread
 * (tailring_prepare): their strings share one block of memory, freed with
 * the last of its entries, so the ring may hold up to one block's worth of
 * dropped entries' bytes beyond TAILRING_BYTES, and each digest slot one
 * batch's entries (at most TAILRING_BYTES) until it is published.
 *
 * Readers never block the writer for long: a read copies at most a few
 * entries under the lock into the reader's pool. A reader that falls
 * behind the ring's tail learns how many it missed and continues from the
 * oldest entry still there: a slow client costs the server nothing more.
 */
#ifndef BL_TAILRING_H
#define BL_TAILRING_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/pool.h"
#include "store/store.h"

#define TAILRING_LINES 8192
#define TAILRING_BYTES (32u << 20)
#define TAILRING_RAW_MAX (64u << 10) /* larger payloads are kept without raw */

struct tailring;
struct tailring_prep;

struct tailring *tailring_new(void);
void tailring_free(struct tailring *t);

/* Digest writer: events just stored. */
void tailring_publish(struct tailring *t, const struct event *ev, size_t n);

/*
 * The same, for a batch tailring_prepare made entries of ahead (NULL, or
 * made of another batch: as tailring_publish). The writer then only
 * numbers them, sets what it may have changed since (kind, issue,
 * grouping; an event whose strings it changed gets an entry anew) and
 * swaps them in: the copies were a tenth of its time per log line.
 */
void tailring_publish_prepared(struct tailring *t, struct tailring_prep *p, const struct event *ev,
                               size_t n);

/*
 * Digest decode thread, after decoding a batch: the entries of the events
 * the ring will keep of it (the newest TAILRING_LINES, as far as they fit
 * in TAILRING_BYTES), their strings in one block of memory freed with the
 * last of them. *p is made on first use and reused; tailring_prep_free.
 */
void tailring_prepare(struct tailring_prep **p, const struct event *ev, size_t n);
void tailring_prep_free(struct tailring_prep *p);

/* The sequence number the next published event will get. */
uint64_t tailring_head(struct tailring *t);

/*
 * Copies into out (strings in pool) up to max events of project and kind
 * (-1: any) from *next on, and moves *next past what it looked at. When the
 * ring no longer holds *next, *missed is how many events were dropped
 * before the reader saw them (0 otherwise). seqs[i] is out[i]'s number.
 */
size_t tailring_read(struct tailring *t, int64_t project_id, int kind, uint64_t *next,
                     struct store_event *out, uint64_t *seqs, size_t max, uint64_t *missed,
                     struct pool *pool);

#endif
