/*
 * t_zlib.h - compressing test inputs with zlib: window_bits 15 gives zlib,
 * 15 + 16 gzip, -15 raw deflate (zlib's deflateInit2 convention).
 */
#ifndef BL_T_ZLIB_H
#define BL_T_ZLIB_H

#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "core/buf.h"

/* Compresses p[0..len) into out[0..cap); returns the size, 0 when it did not fit. */
static inline size_t t_deflate_to(const void *p, size_t len, int window_bits, void *out, size_t cap)
{
    z_stream z;
    size_t n = 0;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END)
        n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

/* Appends the compressed p[0..len) to out; returns 0, or -1 when it failed. */
static inline int t_deflate_into(const void *p, size_t len, int window_bits, struct buf *out)
{
    size_t cap = compressBound((uLong)len) + 64, n;

    if (buf_grow(out, cap) < 0)
        return -1;
    n = t_deflate_to(p, len, window_bits, out->p + out->len, cap);
    if (n == 0)
        return -1;
    out->len += n;
    out->p[out->len] = '\0';
    return 0;
}

#endif
