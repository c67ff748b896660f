/*
 * logblock_read.c - decode blocks of log lines (logblock.h): a block's line
 * table, its frames and the records in a frame, as logblock.c writes them
 * (the record format is described there). Split from logblock.c, which
 * builds blocks, to keep each file focused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <zstd.h>

#include "core/varint.h"
#include "store/logblock.h"
#include "core/banned.h"

static const char hexdig[] = "0123456789abcdef";

int lb_lines_open(const void *p, size_t len, size_t nlines, struct lb_lines *out)
{
    const unsigned char *u = p;
    uint64_t base = 0;

    memset(out, 0, sizeof(*out));
    if (u == NULL || len < 13 || u[0] < 1 || u[0] > 8 || lb_get_u32(u + 9) != nlines ||
        nlines > LB_BLOCK_LINES || len != 13 + nlines * ((size_t)u[0] + 2))
        return BL_EPARSE;
    for (int i = 0; i < 8; i++)
        base |= (uint64_t)u[1 + i] << (8 * i);
    out->n = nlines;
    out->width = u[0];
    out->base = (int64_t)base;
    out->offs = u + 13;
    out->levels = u + 13 + nlines * (size_t)u[0];
    out->flags = out->levels + nlines;
    return 0;
}

int64_t lb_lines_ts(const struct lb_lines *l, size_t i)
{
    const unsigned char *p = l->offs + i * (size_t)l->width;
    uint64_t v = 0;

    for (int k = 0; k < l->width; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return (int64_t)((uint64_t)l->base + v);
}

int lb_lines_level(const struct lb_lines *l, size_t i)
{
    return l->levels[i];
}

unsigned lb_lines_flags(const struct lb_lines *l, size_t i)
{
    return l->flags[i];
}

int lb_frames_head(const void *head, size_t head_len, size_t len, size_t nlines,
                   struct lb_frames *out)
{
    const unsigned char *u = head;
    size_t nf, prev_end = 0, prev_first = 0;

    memset(out, 0, sizeof(*out));
    if (u == NULL || len < 4 || head_len < 4)
        return BL_EPARSE;
    nf = lb_get_u32(u);
    if (nf == 0 || nf > nlines || nlines > LB_BLOCK_LINES || (len - 4) / 12 < nf ||
        head_len < 4 + nf * 12)
        return BL_EPARSE;
    out->nframes = nf;
    out->nlines = nlines;
    out->table = u + 4;
    out->data_len = len - 4 - nf * 12;
    /* Ends and first lines must rise and stay inside the blob: checked once here. */
    for (size_t i = 0; i < nf; i++) {
        size_t end = lb_get_u32(out->table + i * 12), first = lb_get_u32(out->table + i * 12 + 8);

        if (end <= prev_end || end > out->data_len || (i == 0 ? first != 0 : first <= prev_first) ||
            first >= nlines)
            return BL_EPARSE;
        prev_end = end;
        prev_first = first;
    }
    return prev_end == out->data_len ? 0 : BL_EPARSE;
}

int lb_frames_open(const void *p, size_t len, size_t nlines, struct lb_frames *out)
{
    int rc = lb_frames_head(p, len, len, nlines, out);

    if (rc == 0)
        out->data = out->table + out->nframes * 12;
    return rc;
}

size_t lb_frames_find(const struct lb_frames *f, size_t i)
{
    size_t lo = 0, hi = f->nframes;

    /* the last frame whose first line is <= i */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;

        if (lb_get_u32(f->table + mid * 12 + 8) <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void lb_frames_span(const struct lb_frames *f, size_t fi, size_t *start, size_t *end)
{
    *start = fi == 0 || fi >= f->nframes ? 0 : lb_get_u32(f->table + (fi - 1) * 12);
    *end = fi >= f->nframes ? 0 : lb_get_u32(f->table + fi * 12);
}

int lb_frames_decode_at(const struct lb_frames *f, size_t fi, const void *z, void *dctx,
                        struct buf *out, size_t *first, size_t *count, struct bl_err *err)
{
    size_t start, end, raw, n;
    int lz4;

    if (fi >= f->nframes)
        return bl_err_set(err, BL_EPARSE, "log block: no frame %zu", fi);
    lb_frames_span(f, fi, &start, &end);
    raw = lb_get_u32(f->table + fi * 12 + 4);
    lz4 = (raw & LB_FRAME_LZ4) != 0;
    raw &= ~(size_t)LB_FRAME_LZ4;
    *first = lb_get_u32(f->table + fi * 12 + 8);
    *count = (fi + 1 < f->nframes ? lb_get_u32(f->table + (fi + 1) * 12 + 8) : f->nlines) - *first;
    if (raw > LB_FRAME_MAX)
        return bl_err_set(err, BL_EPARSE, "log block: frame of %zu bytes", raw);
    buf_reset(out);
    if (buf_grow(out, raw + 1) != 0)
        return bl_err_set(err, BL_ETOOBIG, "log block: frame too large");
    if (lz4) {
        /* the blob is at most LB_BLOB_MAX bytes and raw LB_FRAME_MAX: both fit an int */
        int got = end - start > INT32_MAX
                      ? -1
                      : LZ4_decompress_safe(z, out->p, (int)(end - start), (int)raw);

        n = got < 0 ? SIZE_MAX : (size_t)got;
    } else {
        n = ZSTD_decompressDCtx(dctx, out->p, raw, z, end - start);
        if (ZSTD_isError(n))
            n = SIZE_MAX;
    }
    if (n != raw)
        return bl_err_set(err, BL_EPARSE, "log block: corrupt frame");
    out->len = raw;
    out->p[raw] = '\0';
    return 0;
}

int lb_frames_decode(const struct lb_frames *f, size_t fi, void *dctx, struct buf *out,
                     size_t *first, size_t *count, struct bl_err *err)
{
    size_t start, end;

    if (fi >= f->nframes || f->data == NULL)
        return bl_err_set(err, BL_EPARSE, "log block: no frame %zu", fi);
    lb_frames_span(f, fi, &start, &end);
    return lb_frames_decode_at(f, fi, f->data + start, dctx, out, first, count, err);
}

/* The record's strings in the compact form, after its fixed part (put_record). */
static int line_strs_v2(const unsigned char **p, const unsigned char *end, struct lb_line *out,
                        int id)
{
    uint64_t off[LB_NSTR];
    int kind[LB_NSTR]; /* 0 none or literal, 1 in the raw text, 2 same as another */

    for (int i = id ? 1 : 0; i < LB_NSTR; i++) {
        uint64_t t;

        kind[i] = 0;
        if (varint_get(p, end, &t) != 0)
            return BL_EPARSE;
        if (t == 0)
            continue;
        if (t & 1) {
            if ((t >> 1) > (uint64_t)(end - *p))
                return BL_EPARSE;
            out->str[i] = (const char *)*p;
            out->len[i] = (size_t)(t >> 1);
            *p += t >> 1;
        } else if ((t & 3) == 2) {
            if (i == LB_RAW || varint_get(p, end, &off[i]) != 0 || (t >> 2) > LB_FRAME_MAX)
                return BL_EPARSE;
            kind[i] = 1;
            out->len[i] = (size_t)(t >> 2);
        } else {
            if ((t >> 2) - 1 >= (uint64_t)i)
                return BL_EPARSE;
            kind[i] = 2;
            off[i] = (t >> 2) - 1;
        }
    }
    for (int i = id ? 1 : 0; i < LB_NSTR; i++) {
        if (kind[i] == 1) {
            if (out->str[LB_RAW] == NULL || off[i] > out->len[LB_RAW] ||
                out->len[i] > out->len[LB_RAW] - off[i])
                return BL_EPARSE;
            out->str[i] = out->str[LB_RAW] + off[i];
        } else if (kind[i] == 2) {
            out->str[i] = out->str[off[i]];
            out->len[i] = out->len[off[i]];
        }
    }
    return 0;
}

/* The strings of a record written before the compact form. */
static int line_strs_v1(const unsigned char **p, const unsigned char *end, struct lb_line *out)
{
    for (size_t i = 0; i < LB_NSTR; i++) {
        uint64_t n;

        if (varint_get(p, end, &n) != 0 || n > (uint64_t)(end - *p) + 1)
            return BL_EPARSE;
        if (n == 0)
            continue;
        out->str[i] = (const char *)*p;
        out->len[i] = (size_t)n - 1;
        *p += n - 1;
    }
    return 0;
}

/* The derived event id (LB_REC_ID) from lsn, seq and the 4 bytes at *p, into out->id. */
static int line_id(const unsigned char **p, const unsigned char *end, struct lb_line *out)
{
    if (end - *p < 4)
        return BL_EPARSE;
    for (int i = 0; i < 16; i++)
        out->id[i] = hexdig[(out->lsn >> (60 - 4 * i)) & 15];
    for (int i = 0; i < 8; i++)
        out->id[16 + i] = hexdig[(out->seq >> (28 - 4 * i)) & 15];
    for (int i = 0; i < 4; i++) {
        out->id[24 + 2 * i] = hexdig[(*p)[i] >> 4];
        out->id[25 + 2 * i] = hexdig[(*p)[i] & 15];
    }
    out->id[32] = '\0';
    *p += 4;
    out->str[LB_EVENT_ID] = out->id;
    out->len[LB_EVENT_ID] = 32;
    return 0;
}

int lb_line_next(const unsigned char **p, const unsigned char *end, struct lb_line *out)
{
    uint64_t v[5];
    unsigned enc;

    memset(out, 0, sizeof(*out));
    if (end - *p < 3)
        return BL_EPARSE;
    out->level = (*p)[0];
    out->source = (*p)[1];
    enc = (*p)[2];
    *p += 3;
    for (int i = 0; i < 5; i++)
        if (varint_get(p, end, &v[i]) != 0)
            return BL_EPARSE;
    out->timestamp = varint_unzz(v[0]);
    out->received_at = varint_unzz(v[1]);
    out->template_hash = v[2];
    out->lsn = v[3];
    if (v[4] > UINT32_MAX)
        return BL_EPARSE;
    out->seq = (uint32_t)v[4];
    if (!(enc & LB_REC_V2)) {
        out->raw_encoding = (int)enc;
        return line_strs_v1(p, end, out);
    }
    out->raw_encoding = (int)(enc & ~(LB_REC_V2 | LB_REC_ID));
    if ((enc & LB_REC_ID) && line_id(p, end, out) != 0)
        return BL_EPARSE;
    return line_strs_v2(p, end, out, (enc & LB_REC_ID) != 0);
}
