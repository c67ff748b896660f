/*
 * logblock.c - encode and decode blocks of log lines (logblock.h).
 *
 * A line record: u8 level, u8 source, u8 raw encoding, then varints:
 * zigzag timestamp, zigzag received_at, template_hash, lsn, seq; then
 * LB_NSTR strings, each a varint (length + 1, 0 for none) and its bytes.
 * Records are not aligned: a frame is read front to back.
 */
#include <stdint.h>
#include <string.h>
#include <zstd.h>

#include "core/varint.h"
#include "store/logblock.h"
#include "core/banned.h"

/* Blobs larger than this are refused when built (they would never be read back). */
#define LB_BLOB_MAX ((size_t)LB_FRAME_MAX * (LB_BLOCK_LINES / LB_FRAME_LINES + 1))

static int put_u32(struct buf *b, uint32_t v)
{
    unsigned char t[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };

    return buf_add(b, t, 4);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void lb_builder_init(struct lb_builder *b, int zlevel)
{
    memset(b, 0, sizeof(*b));
    buf_init(&b->frame, LB_FRAME_MAX);
    buf_init(&b->data, LB_BLOB_MAX);
    buf_init(&b->table, 64u << 10);
    for (int f = 0; f < LB_NFIELDS; f++)
        buf_init(&b->fdict[f], LB_FIELD_DICT * 256);
    b->zc = ZSTD_createCCtx();
    b->zlevel = zlevel;
    lb_builder_reset(b);
}

void lb_builder_release(struct lb_builder *b)
{
    buf_release(&b->frame);
    buf_release(&b->data);
    buf_release(&b->table);
    for (int f = 0; f < LB_NFIELDS; f++)
        buf_release(&b->fdict[f]);
    ZSTD_freeCCtx(b->zc);
    b->zc = NULL;
}

void lb_builder_reset(struct lb_builder *b)
{
    buf_reset(&b->frame);
    buf_reset(&b->data);
    buf_reset(&b->table);
    b->nframes = 0;
    b->nlines = 0;
    b->frame_from = 0;
    b->t_min = INT64_MAX;
    b->t_max = INT64_MIN;
    b->lsn_min = UINT64_MAX;
    b->lsn_max = 0;
    b->level_mask = 0;
    for (int f = 0; f < LB_NFIELDS; f++) {
        buf_reset(&b->fdict[f]);
        b->fnd[f] = 0;
    }
}

int lb_builder_full(const struct lb_builder *b)
{
    return b->nlines >= LB_BLOCK_LINES;
}

/* Compresses the records gathered so far into the next frame. */
static int close_frame(struct lb_builder *b)
{
    size_t bound, z;
    int rc;

    if (b->nlines == b->frame_from)
        return 0;
    if (b->zc == NULL)
        return BL_ENOMEM;
    bound = ZSTD_compressBound(b->frame.len);
    rc = buf_grow(&b->data, bound);
    if (rc != 0)
        return rc;
    z = ZSTD_compressCCtx(b->zc, b->data.p + b->data.len, bound, b->frame.p, b->frame.len,
                          b->zlevel);
    if (ZSTD_isError(z))
        return BL_EIO;
    b->data.len += z;
    rc = put_u32(&b->table, (uint32_t)b->data.len);
    if (rc == 0)
        rc = put_u32(&b->table, (uint32_t)b->frame.len);
    if (rc == 0)
        rc = put_u32(&b->table, (uint32_t)b->frame_from);
    if (rc != 0)
        return rc;
    b->nframes++;
    b->frame_from = b->nlines;
    buf_reset(&b->frame);
    return 0;
}

static int put_record(struct buf *f, const struct lb_line *l)
{
    unsigned char head[3] = { (unsigned char)l->level, (unsigned char)l->source,
                              (unsigned char)l->raw_encoding };
    int rc = buf_add(f, head, 3);

    rc = rc != 0 ? rc : varint_put(f, varint_zz(l->timestamp));
    rc = rc != 0 ? rc : varint_put(f, varint_zz(l->received_at));
    rc = rc != 0 ? rc : varint_put(f, l->template_hash);
    rc = rc != 0 ? rc : varint_put(f, l->lsn);
    rc = rc != 0 ? rc : varint_put(f, l->seq);
    for (size_t i = 0; i < LB_NSTR && rc == 0; i++) {
        if (l->str[i] == NULL) {
            rc = varint_put(f, 0);
            continue;
        }
        rc = varint_put(f, (uint64_t)l->len[i] + 1);
        if (rc == 0)
            rc = buf_add(f, l->str[i], l->len[i]);
    }
    return rc;
}

const int lb_field_str[LB_NFIELDS] = { LB_LOGGER, LB_RELEASE, LB_ENVIRONMENT, LB_SERVER_NAME, -1 };

/* The code of field f's value for the line being added (the dictionary grows). */
static unsigned char field_code(struct lb_builder *b, int f, const char *s, size_t len)
{
    struct buf *d = &b->fdict[f];

    if (s == NULL)
        return 0;
    if (len > 255)
        return LB_FIELD_OTHER;
    /* the previous line's value first: runs of one host or logger are common */
    if (b->nlines > 0) {
        unsigned char c = b->fcode[f][b->nlines - 1];

        if (c > 0 && c <= b->fnd[f] && (unsigned char)d->p[b->fdoff[f][c - 1]] == len &&
            memcmp(d->p + b->fdoff[f][c - 1] + 1, s, len) == 0)
            return c;
    }
    for (size_t k = 0; k < b->fnd[f]; k++)
        if ((unsigned char)d->p[b->fdoff[f][k]] == len &&
            memcmp(d->p + b->fdoff[f][k] + 1, s, len) == 0)
            return (unsigned char)(k + 1);
    if (b->fnd[f] == LB_FIELD_DICT)
        return LB_FIELD_OTHER;
    b->fdoff[f][b->fnd[f]] = d->len;
    if (buf_addch(d, (char)len) != 0 || buf_add(d, s, len) != 0)
        return LB_FIELD_OTHER;
    return (unsigned char)++b->fnd[f];
}

int lb_builder_fields(const struct lb_builder *b, struct buf *out)
{
    unsigned char head[4] = { 1, LB_NFIELDS, (unsigned char)(b->nlines & 0xff),
                              (unsigned char)(b->nlines >> 8) };
    int rc = buf_add(out, head, 4);

    for (int f = 0; f < LB_NFIELDS && rc == 0; f++) {
        rc = buf_addch(out, (char)b->fnd[f]);
        if (rc == 0)
            rc = buf_add(out, b->fdict[f].p, b->fdict[f].len);
    }
    for (int f = 0; f < LB_NFIELDS && rc == 0; f++)
        rc = buf_add(out, b->fcode[f], b->nlines);
    return rc;
}

int lb_fields_open(const void *p, size_t len, size_t nlines, struct lb_fields *out)
{
    const unsigned char *u = p, *end = u + len;

    int nf;

    memset(out, 0, sizeof(*out));
    if (u == NULL || len < 4 || u[0] != 1 || (u[1] != LB_NFIELDS && u[1] != LB_NFIELDS - 1) ||
        (size_t)(u[2] | u[3] << 8) != nlines || nlines > LB_BLOCK_LINES)
        return BL_EPARSE;
    nf = u[1];
    u += 4;
    for (int f = 0; f < nf; f++) {
        size_t n;

        if (u >= end || (n = *u++) > LB_FIELD_DICT)
            return BL_EPARSE;
        for (size_t k = 0; k < n; k++) {
            if (u >= end || (size_t)(end - u) < 1 + (size_t)*u)
                return BL_EPARSE;
            out->val[f][k] = u;
            u += 1 + *u;
        }
    }
    if ((size_t)(end - u) != (size_t)nf * nlines)
        return BL_EPARSE;
    for (int f = 0; f < nf; f++)
        out->codes[f] = u + (size_t)f * nlines;
    out->n = nlines;
    return 0;
}

int lb_fields_get(const struct lb_fields *fl, int f, size_t i, const char **s, size_t *len)
{
    unsigned c;

    if (f < 0 || f >= LB_NFIELDS || i >= fl->n || fl->codes[f] == NULL)
        return -1;
    c = fl->codes[f][i];
    if (c == 0)
        return 0;
    if (c > LB_FIELD_DICT || fl->val[f][c - 1] == NULL)
        return -1;
    *len = fl->val[f][c - 1][0];
    *s = (const char *)fl->val[f][c - 1] + 1;
    return 1;
}

int lb_builder_add(struct lb_builder *b, const struct lb_line *l)
{
    size_t mark = b->frame.len;
    int rc;

    if (lb_builder_full(b))
        return BL_ETOOBIG;
    rc = put_record(&b->frame, l);
    if (rc != 0) {
        b->frame.len = mark;
        return rc;
    }
    b->ts[b->nlines] = l->timestamp;
    b->level[b->nlines] = (unsigned char)l->level;
    b->flags[b->nlines] = (unsigned char)l->flags;
    for (int f = 0; f < LB_NFIELDS; f++)
        b->fcode[f][b->nlines] =
            f == LB_FIELD_SERVICE
                ? (l->service_other ? LB_FIELD_OTHER : field_code(b, f, l->service, l->service_len))
                : field_code(b, f, l->str[lb_field_str[f]], l->len[lb_field_str[f]]);
    b->nlines++;
    if (l->timestamp < b->t_min)
        b->t_min = l->timestamp;
    if (l->timestamp > b->t_max)
        b->t_max = l->timestamp;
    if (l->lsn < b->lsn_min)
        b->lsn_min = l->lsn;
    if (l->lsn > b->lsn_max)
        b->lsn_max = l->lsn;
    b->level_mask |= 1u << (l->level & 31);
    if (b->nlines - b->frame_from >= LB_FRAME_LINES || b->frame.len >= LB_FRAME_BYTES)
        return close_frame(b);
    return 0;
}

static int width_of(uint64_t span)
{
    int w = 1;

    while (w < 8 && (span >> (8 * w)) != 0)
        w++;
    return w;
}

int lb_builder_finish(struct lb_builder *b, struct buf *lines, struct buf *frames)
{
    uint64_t span;
    unsigned char hdr[13];
    int w, rc;

    if (b->nlines == 0)
        return BL_EINVAL;
    rc = close_frame(b);
    if (rc != 0)
        return rc;
    span = (uint64_t)b->t_max - (uint64_t)b->t_min;
    w = width_of(span);
    hdr[0] = (unsigned char)w;
    for (int i = 0; i < 8; i++)
        hdr[1 + i] = (unsigned char)((uint64_t)b->t_min >> (8 * i));
    for (int i = 0; i < 4; i++)
        hdr[9 + i] = (unsigned char)(b->nlines >> (8 * i));
    rc = buf_add(lines, hdr, sizeof(hdr));
    for (size_t i = 0; i < b->nlines && rc == 0; i++) {
        uint64_t off = (uint64_t)b->ts[i] - (uint64_t)b->t_min;
        unsigned char t[8];

        for (int k = 0; k < w; k++)
            t[k] = (unsigned char)(off >> (8 * k));
        rc = buf_add(lines, t, (size_t)w);
    }
    if (rc == 0)
        rc = buf_add(lines, b->level, b->nlines);
    if (rc == 0)
        rc = buf_add(lines, b->flags, b->nlines);
    if (rc == 0)
        rc = put_u32(frames, (uint32_t)b->nframes);
    if (rc == 0)
        rc = buf_add(frames, b->table.p, b->table.len);
    if (rc == 0)
        rc = buf_add(frames, b->data.p, b->data.len);
    return rc;
}

int lb_lines_open(const void *p, size_t len, size_t nlines, struct lb_lines *out)
{
    const unsigned char *u = p;
    uint64_t base = 0;

    memset(out, 0, sizeof(*out));
    if (u == NULL || len < 13 || u[0] < 1 || u[0] > 8 || get_u32(u + 9) != nlines ||
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
    nf = get_u32(u);
    if (nf == 0 || nf > nlines || nlines > LB_BLOCK_LINES || (len - 4) / 12 < nf ||
        head_len < 4 + nf * 12)
        return BL_EPARSE;
    out->nframes = nf;
    out->nlines = nlines;
    out->table = u + 4;
    out->data_len = len - 4 - nf * 12;
    /* Ends and first lines must rise and stay inside the blob: checked once here. */
    for (size_t i = 0; i < nf; i++) {
        size_t end = get_u32(out->table + i * 12), first = get_u32(out->table + i * 12 + 8);

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

        if (get_u32(f->table + mid * 12 + 8) <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void lb_frames_span(const struct lb_frames *f, size_t fi, size_t *start, size_t *end)
{
    *start = fi == 0 || fi >= f->nframes ? 0 : get_u32(f->table + (fi - 1) * 12);
    *end = fi >= f->nframes ? 0 : get_u32(f->table + fi * 12);
}

int lb_frames_decode_at(const struct lb_frames *f, size_t fi, const void *z, void *dctx,
                        struct buf *out, size_t *first, size_t *count, struct bl_err *err)
{
    size_t start, end, raw, n;

    if (fi >= f->nframes)
        return bl_err_set(err, BL_EPARSE, "log block: no frame %zu", fi);
    lb_frames_span(f, fi, &start, &end);
    raw = get_u32(f->table + fi * 12 + 4);
    *first = get_u32(f->table + fi * 12 + 8);
    *count = (fi + 1 < f->nframes ? get_u32(f->table + (fi + 1) * 12 + 8) : f->nlines) - *first;
    if (raw > LB_FRAME_MAX)
        return bl_err_set(err, BL_EPARSE, "log block: frame of %zu bytes", raw);
    buf_reset(out);
    if (buf_grow(out, raw + 1) != 0)
        return bl_err_set(err, BL_ETOOBIG, "log block: frame too large");
    n = ZSTD_decompressDCtx(dctx, out->p, raw, z, end - start);
    if (ZSTD_isError(n) || n != raw)
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

int lb_line_next(const unsigned char **p, const unsigned char *end, struct lb_line *out)
{
    uint64_t v[5];

    memset(out, 0, sizeof(*out));
    if (end - *p < 3)
        return BL_EPARSE;
    out->level = (*p)[0];
    out->source = (*p)[1];
    out->raw_encoding = (*p)[2];
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
