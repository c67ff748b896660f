/*
 * logblock.c - encode blocks of log lines (logblock.h); logblock_read.c decodes them.
 *
 * A line record: u8 level, u8 source, u8 raw encoding with flags, then
 * varints: zigzag timestamp, zigzag received_at, template_hash, lsn, seq;
 * then the LB_NSTR strings. Records are not aligned: a frame is read front
 * to back.
 *
 * Written since stop 9 (the compact form, flag LB_REC_V2 in the encoding
 * byte): with LB_REC_ID the event id is the one the ingest derives from
 * (lsn, seq) and only its hash's 4 bytes follow, its string is skipped;
 * then per string a varint t: 0 none; t odd: t >> 1 bytes follow; t & 3 ==
 * 2: the t >> 2 bytes at the offset given by the next varint in the raw
 * text (the last string, stored as it came: identity encoding only); t & 3
 * == 0: the same as string (t >> 2) - 1, an earlier one (a log line's
 * title is its message, its culprit its logger). A bench line's record went
 * from 586 to about 390 bytes: zstd costs by the byte, and a query
 * decompresses less.
 *
 * Written before: no flag, and each string a varint (length + 1, 0 for
 * none) and its bytes. Both read back the same (lb_line_next).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <zstd.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#define LB_SSE2 1
#endif

#include "core/varint.h"
#include "store/logblock.h"
#include "core/banned.h"

/* Strings found in the raw text only up to these lengths (find_in). */
#define LB_REF_MAX 1024
#define LB_REF_RAW_MAX (16u << 10)
#define LB_REF_TRIES 16

/* Blobs larger than this are refused when built (they would never be read back). */
#define LB_BLOB_MAX ((size_t)LB_FRAME_MAX * (LB_BLOCK_LINES / LB_FRAME_LINES + 1))

static int put_u32(struct buf *b, uint32_t v)
{
    unsigned char t[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };

    return buf_add(b, t, 4);
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
    b->lz = malloc((size_t)LZ4_sizeofState());
    b->codec = LB_CODEC_DEFAULT;
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
    free(b->lz);
    b->lz = NULL;
}

void lb_builder_codec(struct lb_builder *b, int codec)
{
    b->codec = codec;
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
    memset(b->fhash, 0, sizeof(b->fhash));
}

int lb_builder_full(const struct lb_builder *b)
{
    return b->nlines >= LB_BLOCK_LINES;
}

/* The frame's records compressed at the end of the data: their size, 0 on failure. */
static size_t compress_frame(struct lb_builder *b, size_t bound)
{
    if (b->codec == LB_CODEC_LZ4) {
        int z;

        if (b->lz == NULL || b->frame.len > (size_t)LZ4_MAX_INPUT_SIZE || bound > INT32_MAX)
            return 0;
        /*
         * extState clears its 16 KiB table every frame (250 instructions a
         * line). LZ4_resetStream_fast with LZ4_compress_fast_continue does
         * not, but then a frame's bytes depend on the frames compressed
         * before it, and a block's bytes must depend on its lines only
         * (prepared and writer-built blocks are the same, test_logs_prep).
         */
        z = LZ4_compress_fast_extState(b->lz, b->frame.p, b->data.p + b->data.len,
                                       (int)b->frame.len, (int)bound, 1);
        return z > 0 ? (size_t)z : 0;
    } else {
        size_t z;

        if (b->zc == NULL)
            return 0;
        z = ZSTD_compressCCtx(b->zc, b->data.p + b->data.len, bound, b->frame.p, b->frame.len,
                              b->zlevel);
        return ZSTD_isError(z) ? 0 : z;
    }
}

/* Compresses the records gathered so far into the next frame. */
static int close_frame(struct lb_builder *b)
{
    size_t bound, z;
    uint32_t raw = (uint32_t)b->frame.len;
    int rc;

    if (b->nlines == b->frame_from)
        return 0;
    if (b->codec == LB_CODEC_LZ4) {
        bound = (size_t)LZ4_compressBound(
            (int)(b->frame.len < LZ4_MAX_INPUT_SIZE ? b->frame.len : LZ4_MAX_INPUT_SIZE));
        raw |= LB_FRAME_LZ4;
    } else {
        bound = ZSTD_compressBound(b->frame.len);
    }
    rc = buf_grow(&b->data, bound);
    if (rc != 0)
        return rc;
    z = compress_frame(b, bound);
    if (z == 0)
        return b->zc == NULL || b->lz == NULL ? BL_ENOMEM : BL_EIO;
    b->data.len += z;
    rc = put_u32(&b->table, (uint32_t)b->data.len);
    if (rc == 0)
        rc = put_u32(&b->table, raw);
    if (rc == 0)
        rc = put_u32(&b->table, (uint32_t)b->frame_from);
    if (rc != 0)
        return rc;
    b->nframes++;
    b->frame_from = b->nlines;
    buf_reset(&b->frame);
    return 0;
}

/* v as a varint at q; past it. */
static unsigned char *put_varint(unsigned char *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *q++ = (unsigned char)v;
    return q;
}

static int hex_of(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * Whether the event id is the one the ingest derives from (lsn, seq): 16 hex
 * digits of lsn, 8 of seq, then 8 lowercase hex digits of a hash, whose 4
 * bytes go to *tail. Only those 4 bytes are stored (LB_REC_ID).
 */
static int derived_id(const struct lb_line *l, unsigned char tail[4])
{
    const unsigned char *id = (const unsigned char *)l->str[LB_EVENT_ID];

    if (id == NULL || l->len[LB_EVENT_ID] != 32 || !lb_id_derived((const char *)id, l->lsn, l->seq))
        return 0;
    for (int i = 0; i < 4; i++) {
        int hi = hex_of(id[24 + 2 * i]), lo = hex_of(id[25 + 2 * i]);

        if (hi < 0 || lo < 0)
            return 0;
        tail[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

/*
 * Whether the candidate at p (its first and last bytes already equal to
 * s's) is s; counts the failures against LB_REF_TRIES in *tries.
 */
static int ref_at(const unsigned char *p, const unsigned char *s, size_t n, size_t *tries)
{
    if (memcmp(p + 1, s + 1, n - 2) == 0)
        return 1;
    ++*tries;
    return 0;
}

/*
 * Where s (n >= LB_REF_MIN bytes) first occurs in h, or -1: the places
 * whose first and last bytes both match s's, 16 at a time with SSE2
 * (every x86-64 has it), else and after them one by one. Horspool's table
 * (256 bytes and a store for each byte of s) cost more than its search
 * over a line's payload. The worst case is the product of both lengths: a
 * payload made to almost match a string many times over costs
 * LB_REF_TRIES comparisons, then the string is stored as it is.
 */
static long find_in(const char *h, size_t hn, const char *s, size_t n)
{
    const unsigned char *hu = (const unsigned char *)h, *su = (const unsigned char *)s;
    size_t at = 0, last, tries = 0;

    if (hn < n || n < 2 || n > LB_REF_MAX || hn > LB_REF_RAW_MAX)
        return -1;
    last = hn - n; /* the last place s can start */
#ifdef LB_SSE2
    const __m128i first_b = _mm_set1_epi8((char)su[0]), last_b = _mm_set1_epi8((char)su[n - 1]);

    for (; at + 15 <= last; at += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(hu + at));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(hu + at + n - 1));
        unsigned bits = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first_b), _mm_cmpeq_epi8(b, last_b)));

        for (; bits != 0; bits &= bits - 1) {
            size_t k = at + (size_t)__builtin_ctz(bits);

            if (ref_at(hu + k, su, n, &tries))
                return (long)k;
            if (tries == LB_REF_TRIES)
                return -1;
        }
    }
#endif
    for (; at <= last; at++) {
        if (hu[at] != su[0] || hu[at + n - 1] != su[n - 1])
            continue;
        if (ref_at(hu + at, su, n, &tries))
            return (long)at;
        if (tries == LB_REF_TRIES)
            break;
    }
    return -1;
}

/* The string that string i often repeats (a log line's title is its message), or -1. */
static int same_as(int i)
{
    return i == LB_TITLE ? LB_MESSAGE : i == LB_CULPRIT ? LB_LOGGER : -1;
}

/*
 * A record (the layout at the top of this file), grown into f once. The
 * compact form costs zstd less: about a third of a bench line's bytes were
 * a second copy of bytes already in the record.
 */
static int put_record(struct buf *f, const struct lb_line *l)
{
    unsigned char tail[4], *q, *start;
    int id = derived_id(l, tail);
    const char *raw = l->raw_encoding == 0 ? l->str[LB_RAW] : NULL;
    size_t need = 3 + 5 * VARINT_MAX + 4 + LB_NSTR * 2 * VARINT_MAX;
    int rc;

    for (size_t i = 0; i < LB_NSTR; i++)
        need += l->str[i] != NULL ? l->len[i] : 0;
    rc = buf_grow(f, need);
    if (rc != 0)
        return rc;
    start = q = (unsigned char *)f->p + f->len;
    *q++ = (unsigned char)l->level;
    *q++ = (unsigned char)l->source;
    *q++ = (unsigned char)((unsigned)l->raw_encoding | LB_REC_V2 | (id ? LB_REC_ID : 0u));
    q = put_varint(q, varint_zz(l->timestamp));
    q = put_varint(q, varint_zz(l->received_at));
    q = put_varint(q, l->template_hash);
    q = put_varint(q, l->lsn);
    q = put_varint(q, l->seq);
    if (id) {
        memcpy(q, tail, 4);
        q += 4;
    }
    for (int i = id ? 1 : 0; i < LB_NSTR; i++) {
        const char *s = l->str[i];
        size_t n = l->len[i];
        int j = same_as(i);
        long at;

        if (s == NULL) {
            *q++ = 0;
        } else if (j >= 0 && l->str[j] != NULL && l->len[j] == n && memcmp(l->str[j], s, n) == 0) {
            q = put_varint(q, (uint64_t)(j + 1) << 2);
        } else if (raw != NULL && i != LB_RAW && n >= LB_REF_MIN &&
                   (at = find_in(raw, l->len[LB_RAW], s, n)) >= 0) {
            q = put_varint(q, (uint64_t)n << 2 | 2);
            q = put_varint(q, (uint64_t)at);
        } else {
            q = put_varint(q, (uint64_t)n << 1 | 1);
            if (n > 0)
                memcpy(q, s, n);
            q += n;
        }
    }
    f->len += (size_t)(q - start);
    f->p[f->len] = '\0';
    return 0;
}

const int lb_field_str[LB_NFIELDS] = { LB_LOGGER, LB_RELEASE, LB_ENVIRONMENT, LB_SERVER_NAME, -1 };

/* Whether dictionary value c (1..fnd) of field f is s. */
static int field_is(const struct lb_builder *b, int f, unsigned c, const char *s, size_t len)
{
    const char *v;

    if (c == 0 || c > b->fnd[f])
        return 0;
    v = b->fdict[f].p + b->fdoff[f][c - 1];
    return (unsigned char)v[0] == len && memcmp(v + 1, s, len) == 0;
}

/* A value's slot in fhash: its length and three of its bytes. */
static unsigned field_hash(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;

    if (len == 0)
        return 0;
    return (unsigned)(len * 31u + u[0] * 7u + u[len / 2] * 13u + u[len - 1]) & 255u;
}

/*
 * The code of field f's value for the line being added (the dictionary
 * grows). Codes go by first appearance, however found: the previous line's
 * value, the hash slot (most lines), else every value.
 */
static unsigned char field_code(struct lb_builder *b, int f, const char *s, size_t len)
{
    struct buf *d = &b->fdict[f];
    unsigned h;

    if (s == NULL)
        return 0;
    if (len > 255)
        return LB_FIELD_OTHER;
    if (b->nlines > 0 && field_is(b, f, b->fcode[f][b->nlines - 1], s, len))
        return b->fcode[f][b->nlines - 1];
    h = field_hash(s, len);
    if (field_is(b, f, b->fhash[f][h], s, len))
        return b->fhash[f][h];
    for (size_t k = 0; k < b->fnd[f]; k++)
        if (field_is(b, f, (unsigned)k + 1, s, len))
            return (unsigned char)(k + 1);
    if (b->fnd[f] == LB_FIELD_DICT)
        return LB_FIELD_OTHER;
    b->fdoff[f][b->fnd[f]] = d->len;
    if (buf_addch(d, (char)len) != 0 || buf_add(d, s, len) != 0)
        return LB_FIELD_OTHER;
    b->fhash[f][h] = (unsigned char)++b->fnd[f];
    return b->fhash[f][h];
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
