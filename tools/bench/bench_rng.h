/*
 * bench_rng.h - a tiny deterministic PRNG for the load generator.
 *
 * The generator wants the same pool of bodies on every run (so runs compare)
 * and cheap fresh event ids per request, so it uses splitmix64 rather than
 * the server's libsodium randomness. Header-only: every function is a
 * static inline on caller-owned state.
 */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The modulo bias is irrelevant for test data. */
static inline size_t rng_below(struct rng *r, size_t n)
{
    return (size_t)(rng_next(r) % n);
}

/* Uniform in [lo, hi]. */
static inline long rng_range(struct rng *r, long lo, long hi)
{
    return lo + (long)rng_below(r, (size_t)(hi - lo + 1));
}

/* Writes n lowercase hex digits (no NUL). */
static inline void rng_hex(struct rng *r, char *out, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (i % 16 == 0)
            v = rng_next(r);
        out[i] = digits[v & 15];
        v >>= 4;
    }
}

#define RNG_PICK(r, arr) ((arr)[rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

#endif
