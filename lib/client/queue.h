/*
 * queue.h - the bounded record queue between callers and the sender.
 *
 * A ring of record pointers. Pushing into a full queue drops the OLDEST
 * record (the newest tells more about the present) and counts it. The
 * queue has no lock of its own: the client's mutex guards it, and records
 * handed back (dropped) are freed by the caller after unlocking, so the
 * critical section stays a few pointer moves long.
 */
#ifndef BC_QUEUE_H
#define BC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "bilor/bilor.h"
#include "client/ratelimit.h"

struct bc_record {
    char *json; /* the event JSON; its head when nframes > 0 */
    size_t len;
    void **frames; /* raw return addresses, innermost first, to symbolize */
    size_t nframes;
    char *spool_path; /* crash record: the spool file to remove once delivered */
    enum bc_cat cat;
    int level; /* enum bilor_level */
    char event_id[33];
};

struct bc_queue {
    struct bc_record **ring;
    size_t cap;
    size_t head; /* index of the oldest record */
    size_t n;
    uint64_t dropped; /* overflow drops not yet reported to the server */
    uint64_t dropped_total;
};

int bc_queue_init(struct bc_queue *q, const struct bilor_allocator *a, size_t cap);
/* Frees the ring and every record still in it. */
void bc_queue_release(struct bc_queue *q, const struct bilor_allocator *a);

/* Appends r; returns the record dropped to make room, or NULL. */
struct bc_record *bc_queue_push(struct bc_queue *q, struct bc_record *r);
/*
 * Puts r back as the oldest record (a send that must be retried). When the
 * queue is full r itself is the oldest, so it is returned as dropped.
 */
struct bc_record *bc_queue_push_front(struct bc_queue *q, struct bc_record *r);
/* The oldest record, or NULL. */
struct bc_record *bc_queue_pop(struct bc_queue *q);

struct bc_record *bc_record_new(const struct bilor_allocator *a);
void bc_record_free(const struct bilor_allocator *a, struct bc_record *r);

#endif
