/*
 * bench_hist.c - log-linear latency histogram (see bench_hist.h).
 */
#include <string.h>

#include "bench_hist.h"
#include "core/banned.h"

static int msb64(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

static unsigned bucket_of(uint64_t v)
{
    int msb, shift;
    unsigned idx;

    if (v < 64)
        return (unsigned)v;
    msb = msb64(v);
    shift = msb - 5;
    idx = 64 + (unsigned)(msb - 6) * 32 + (unsigned)((v >> shift) - 32);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The upper edge of bucket idx (the value a quantile reports). */
static uint64_t bucket_top(unsigned idx)
{
    unsigned msb, sub;

    if (idx < 64)
        return idx;
    msb = (idx - 64) / 32 + 6;
    sub = (idx - 64) % 32 + 32;
    return (((uint64_t)sub + 1) << (msb - 5)) - 1;
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

void hist_add(struct hist *h, uint64_t us)
{
    h->counts[bucket_of(us)]++;
    h->n++;
    h->sum += us;
    if (us > h->max)
        h->max = us;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    uint64_t want, seen = 0, top;
    unsigned i;

    if (h->n == 0)
        return 0;
    want = (uint64_t)(q * (double)h->n + 0.5);
    if (want < 1)
        want = 1;
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            top = bucket_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    unsigned i;

    for (i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}
