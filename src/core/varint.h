/*
 * varint.h - LEB128 varints and zigzag, as the store's blob codecs write
 * them (logblock, logpost). Inline: postings are decoded a few million at
 * a time by a histogram, where a call per number showed.
 */
#ifndef BL_VARINT_H
#define BL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define VARINT_MAX 10 /* bytes of the longest (a uint64_t) */

static inline uint64_t varint_zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t varint_unzz(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline int varint_put(struct buf *b, uint64_t v)
{
    unsigned char tmp[VARINT_MAX];
    size_t n = 0;

    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    return buf_add(b, tmp, n);
}

/* Reads one varint at *p (advanced past it); BL_EPARSE when it runs past end or 64 bits. */
static inline int varint_get(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;

    while (*p < end && shift < 64) {
        unsigned char c = *(*p)++;

        v |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *out = v;
            return 0;
        }
        shift += 7;
    }
    return BL_EPARSE;
}

#endif
