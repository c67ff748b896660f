#include <stdlib.h>

#include "door/metrics.h"
#include "core/xmalloc.h"
#include "core/banned.h"

struct metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

uint64_t metrics_read(const _Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

void metrics_reply(struct metrics *m, int label, int reply)
{
    if (label < 0 || label >= METRICS_LABELS)
        label = METRICS_LABELS - 1;
    if (reply < 0 || reply >= METRICS_REPLIES)
        reply = METRICS_REPLIES - 1;
    metrics_add(&m->replies[label][reply], 1);
}
