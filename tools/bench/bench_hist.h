/*
 * bench_hist.h - a log-linear latency histogram (HdrHistogram in spirit).
 *
 * Values are microseconds. Below 64 µs every value has its own bucket; above,
 * each power of two is split into 32 buckets, so a reported quantile is
 * within about 3% of the true value. Fixed size, no allocation, so the hot
 * loop can record every request.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_BUCKETS (64 + 58 * 32)

struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t n;
    uint64_t max;
    uint64_t sum;
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t us);
/* The value below which a fraction q (0..1) of the samples lie; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
/* Adds every sample of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);

#endif
