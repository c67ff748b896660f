/* queue.c - bounded ring of records, drop-oldest. */
#include <string.h>

#include "client/buf.h"
#include "client/queue.h"
#include "core/banned.h"

int bc_queue_init(struct bc_queue *q, const struct bilor_allocator *a, size_t cap)
{
    memset(q, 0, sizeof(*q));
    if (cap == 0 || cap > ((size_t)-1) / sizeof(*q->ring))
        return BILOR_EINVAL;
    q->ring = bc_malloc(a, cap * sizeof(*q->ring));
    if (q->ring == NULL)
        return BILOR_ENOMEM;
    q->cap = cap;
    return 0;
}

void bc_queue_release(struct bc_queue *q, const struct bilor_allocator *a)
{
    struct bc_record *r;

    if (q->ring == NULL)
        return;
    while ((r = bc_queue_pop(q)) != NULL)
        bc_record_free(a, r);
    bc_free(a, q->ring);
    q->ring = NULL;
}

struct bc_record *bc_queue_pop(struct bc_queue *q)
{
    struct bc_record *r;

    if (q->n == 0)
        return NULL;
    r = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return r;
}

struct bc_record *bc_queue_push(struct bc_queue *q, struct bc_record *r)
{
    struct bc_record *old = NULL;

    if (q->n == q->cap) {
        old = bc_queue_pop(q);
        q->dropped++;
        q->dropped_total++;
    }
    q->ring[(q->head + q->n) % q->cap] = r;
    q->n++;
    return old;
}

struct bc_record *bc_queue_push_front(struct bc_queue *q, struct bc_record *r)
{
    if (q->n == q->cap) {
        q->dropped++;
        q->dropped_total++;
        return r;
    }
    q->head = (q->head + q->cap - 1) % q->cap;
    q->ring[q->head] = r;
    q->n++;
    return NULL;
}

struct bc_record *bc_record_new(const struct bilor_allocator *a)
{
    struct bc_record *r = bc_malloc(a, sizeof(*r));

    if (r != NULL)
        memset(r, 0, sizeof(*r));
    return r;
}

void bc_record_free(const struct bilor_allocator *a, struct bc_record *r)
{
    if (r == NULL)
        return;
    bc_free(a, r->json);
    bc_free(a, r->frames);
    bc_free(a, r->spool_path);
    bc_free(a, r);
}
