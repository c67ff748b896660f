/*
 * decode.c - request body decompression with a hard cap on the output.
 *
 * DESIGN
 * The bytes decide (decode.h): strong magics (gzip 1f 8b, zstd 28 b5 2f fd)
 * win over any header, the weak zlib magic (two bytes and a checksum that
 * ordinary text can satisfy, e.g. "x ") falls back to identity when it does
 * not inflate and nothing was claimed, brotli is only tried when claimed.
 *
 * Every decoder writes through a "sink" that hands out room inside the
 * caller's buf, growing it geometrically but never past max_out. Once the
 * budget is spent the sink offers a small spill area instead: if the decoder
 * puts even one byte there the body is too big, so a zip bomb costs at most
 * max_out bytes of memory and is detected without guessing.
 *
 * gzip, zlib and raw deflate go through libdeflate first: a whole-buffer
 * inflate about three times as fast as zlib's, which was the largest single
 * cost of a Sentry event at the door. It only ever answers "done": on any
 * failure (corrupt, truncated, over budget) the output is rewound and zlib's
 * streaming inflate runs instead, so every error, message and limit stays the
 * one the sink gives, and a bomb still costs at most max_out.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define ZLIB_CONST
#include <brotli/decode.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "ingest/decode.h"
#include "core/banned.h"

/* First allocation of a decode; later growth doubles what was produced. */
#define SINK_FIRST_CHUNK (16u * 1024)
/* zlib counts in uInt: feed it at most this much at once. */
#define ZLIB_STEP (1u << 30)
/* 16 MiB windows cover every zstd level but --ultra/--long ones. */
#define ZSTD_WINDOW_LOG_MAX 24

struct sink {
    struct buf *out;
    size_t start; /* out->len when the call began */
    size_t max_out;
    unsigned char spill[16];
    int spilling;
};

static const struct {
    const char *name;
    int enc;
} encoding_names[] = {
    { "gzip", INGEST_ENC_GZIP }, { "x-gzip", INGEST_ENC_GZIP }, { "deflate", INGEST_ENC_DEFLATE },
    { "br", INGEST_ENC_BR },     { "zstd", INGEST_ENC_ZSTD },
};

int decode_encoding_from_header(const char *value)
{
    struct slice v;

    if (value == NULL)
        return INGEST_ENC_NONE;
    v = slice_trim(slice_from(value));
    for (size_t i = 0; i < sizeof(encoding_names) / sizeof(encoding_names[0]); i++) {
        if (slice_eqi(v, encoding_names[i].name))
            return encoding_names[i].enc;
    }
    return INGEST_ENC_NONE;
}

static int is_gzip(const unsigned char *p, size_t len)
{
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static int is_zstd(const unsigned char *p, size_t len)
{
    return len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd;
}

/* RFC 1950 header: method 8 (deflate), window <= 32 KiB, FCHECK makes it a multiple of 31. */
static int is_zlib(const unsigned char *p, size_t len)
{
    return len >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

int decode_is_gzip(const void *p, size_t len)
{
    return is_gzip(p, len);
}

int decode_is_compressed(const void *p, size_t len, int encoding_hint)
{
    const unsigned char *u = p;

    if (len == 0)
        return 0;
    if (encoding_hint == INGEST_ENC_BR || encoding_hint == INGEST_ENC_DEFLATE)
        return 1;
    return is_gzip(u, len) || is_zstd(u, len) || is_zlib(u, len);
}

static void sink_init(struct sink *s, struct buf *out, size_t max_out)
{
    size_t want = out->len + max_out;

    if (want < out->len)
        want = (size_t)-1;
    if (out->max < want)
        out->max = want;
    s->out = out;
    s->start = out->len;
    s->max_out = max_out;
    s->spilling = 0;
}

/* Room for the decoder's next output: inside out while under budget, else the spill area. */
static void sink_space(struct sink *s, unsigned char **dst, size_t *avail)
{
    struct buf *out = s->out;
    size_t made = out->len - s->start;
    size_t left = s->max_out - made;
    size_t room = out->cap > out->len ? out->cap - out->len - 1 : 0;

    s->spilling = left == 0;
    if (s->spilling) {
        *dst = s->spill;
        *avail = sizeof(s->spill);
        return;
    }
    if (room == 0) {
        size_t want = made < SINK_FIRST_CHUNK ? SINK_FIRST_CHUNK : made;

        /* Cannot fail: sink_init raised out->max to cover the whole budget. */
        (void)buf_grow(out, want < left ? want : left);
        room = out->cap - out->len - 1;
    }
    *dst = (unsigned char *)out->p + out->len;
    *avail = room < left ? room : left;
}

static int sink_commit(struct sink *s, size_t n, struct bl_err *err)
{
    if (s->spilling) {
        if (n == 0)
            return 0;
        return bl_err_set(err, BL_ETOOBIG, "decompressed body exceeds %zu bytes", s->max_out);
    }
    s->out->len += n;
    s->out->p[s->out->len] = '\0';
    return 0;
}

/* Drops whatever this call appended (never writes into the shared empty buffer). */
static void sink_rewind(struct sink *s)
{
    s->out->len = s->start;
    if (s->out->cap > 0)
        s->out->p[s->out->len] = '\0';
}

static int copy_body(const void *p, size_t len, struct sink *s, struct bl_err *err)
{
    if (len > s->max_out)
        return bl_err_set(err, BL_ETOOBIG, "body of %zu bytes exceeds %zu", len, s->max_out);
    return buf_add(s->out, p, len) < 0 ? bl_err_set(err, BL_ETOOBIG, "body too large") : 0;
}

static int zlib_fail(z_stream *zs, int zr, const char *what, struct bl_err *err)
{
    if (zr == Z_MEM_ERROR)
        return bl_err_set(err, BL_ENOMEM, "out of memory inflating %s body", what);
    if (zr == Z_BUF_ERROR)
        return bl_err_set(err, BL_EPARSE, "truncated %s body", what);
    return bl_err_set(err, BL_EPARSE, "corrupt %s body: %s", what,
                      zs->msg != NULL ? zs->msg : "bad data");
}

/* Runs one inflate step into the sink; *zr gets zlib's answer. */
static int inflate_step(z_stream *zs, size_t *in_left, struct sink *s, int *zr, struct bl_err *err)
{
    unsigned char *dst;
    size_t avail;
    uInt given;

    if (zs->avail_in == 0 && *in_left > 0) {
        zs->avail_in = (uInt)(*in_left < ZLIB_STEP ? *in_left : ZLIB_STEP);
        *in_left -= zs->avail_in;
    }
    sink_space(s, &dst, &avail);
    given = (uInt)(avail < ZLIB_STEP ? avail : ZLIB_STEP);
    zs->next_out = dst;
    zs->avail_out = given;
    *zr = inflate(zs, Z_NO_FLUSH);
    return sink_commit(s, given - zs->avail_out, err);
}

/*
 * window_bits 15+32 takes gzip or zlib, -15 raw deflate. Further gzip
 * members after the first are decoded too (gzip(1) concatenates them);
 * anything else after the end of the stream is ignored, as gunzip does.
 * The sink always offers room, so Z_BUF_ERROR can only mean the input ran
 * out before the stream ended.
 */
static int inflate_body(const unsigned char *p, size_t len, int window_bits, const char *what,
                        struct sink *s, struct bl_err *err)
{
    z_stream zs;
    size_t in_left = len;
    int zr = Z_OK, rc = 0;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, window_bits) != Z_OK)
        return bl_err_set(err, BL_ENOMEM, "cannot start inflate");
    zs.next_in = p;
    for (;;) {
        rc = inflate_step(&zs, &in_left, s, &zr, err);
        if (rc < 0)
            break;
        if (zr == Z_OK)
            continue;
        if (zr != Z_STREAM_END) {
            rc = zlib_fail(&zs, zr, what, err);
            break;
        }
        if (window_bits < 0 || !is_gzip(zs.next_in, zs.avail_in + in_left))
            break;
        inflateReset(&zs);
    }
    inflateEnd(&zs);
    return rc;
}

enum fast_kind { FAST_GZIP, FAST_ZLIB, FAST_RAW };

/* A first output size: gzip's trailer says it (mod 2^32, a hint only), else 4x. */
static size_t fast_guess(const unsigned char *p, size_t len, enum fast_kind kind, size_t left)
{
    size_t guess = len < SIZE_MAX / 4 ? len * 4 : SIZE_MAX;

    if (kind == FAST_GZIP && len >= 18) {
        const unsigned char *t = p + len - 4;
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;

        /* deflate never expands more than about 1032 to 1: a lying trailer costs no more. */
        if (isize > 0 && isize / 1032 <= len)
            guess = isize;
    }
    if (guess < 1024)
        guess = 1024;
    return guess < left ? guess : left;
}

static enum libdeflate_result fast_member(struct libdeflate_decompressor *d, enum fast_kind kind,
                                          const unsigned char *p, size_t len, void *dst,
                                          size_t avail, size_t *in_used, size_t *out_n)
{
    if (kind == FAST_GZIP)
        return libdeflate_gzip_decompress_ex(d, p, len, dst, avail, in_used, out_n);
    if (kind == FAST_ZLIB)
        return libdeflate_zlib_decompress_ex(d, p, len, dst, avail, in_used, out_n);
    return libdeflate_deflate_decompress_ex(d, p, len, dst, avail, in_used, out_n);
}

/*
 * One decompressor per thread, kept: making one clears about 11 KB, a tenth
 * of inflating a 9 KB event. The key's destructor frees it when the thread ends.
 */
static pthread_key_t fast_key;
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;
static int fast_key_ok;

static void fast_key_free(void *d)
{
    libdeflate_free_decompressor(d);
}

static void fast_key_init(void)
{
    fast_key_ok = pthread_key_create(&fast_key, fast_key_free) == 0;
}

static struct libdeflate_decompressor *fast_decompressor(void)
{
    struct libdeflate_decompressor *d;

    pthread_once(&fast_once, fast_key_init);
    if (!fast_key_ok)
        return NULL;
    d = pthread_getspecific(fast_key);
    if (d == NULL) {
        d = libdeflate_alloc_decompressor();
        if (d != NULL && pthread_setspecific(fast_key, d) != 0) {
            libdeflate_free_decompressor(d);
            d = NULL;
        }
    }
    return d;
}

/*
 * One stream (and, like inflate_body, the gzip members after it) into the
 * sink; doubles its room on "insufficient space" until the budget is spent.
 * 1 = done, 0 = not done and nothing appended (zlib decides).
 */
static int fast_inflate(const unsigned char *p, size_t len, enum fast_kind kind, struct sink *s)
{
    struct libdeflate_decompressor *d = fast_decompressor();
    struct buf *out = s->out;
    int done = 0;

    if (d == NULL)
        return 0;
    while (len > 0) {
        size_t left = s->max_out - (out->len - s->start);
        size_t room = fast_guess(p, len, kind, left), in_used = 0, out_n = 0;
        enum libdeflate_result r = LIBDEFLATE_INSUFFICIENT_SPACE;

        while (room > 0 && buf_grow(out, room) == 0) {
            r = fast_member(d, kind, p, len, out->p + out->len, room, &in_used, &out_n);
            if (r != LIBDEFLATE_INSUFFICIENT_SPACE || room == left)
                break;
            room = room < left / 2 ? room * 2 : left;
        }
        if (r != LIBDEFLATE_SUCCESS)
            break;
        out->len += out_n;
        out->p[out->len] = '\0';
        p += in_used;
        len -= in_used;
        done = kind == FAST_RAW || !is_gzip(p, len);
        if (done)
            break;
        kind = FAST_GZIP;
    }
    if (!done)
        sink_rewind(s);
    return done;
}

static int brotli_body(const unsigned char *p, size_t len, struct sink *s, struct bl_err *err)
{
    BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    const uint8_t *next_in = p;
    size_t avail_in = len;
    int rc = 0;

    if (st == NULL)
        return bl_err_set(err, BL_ENOMEM, "cannot start brotli decoder");
    for (;;) {
        unsigned char *dst;
        size_t avail, avail_out;
        uint8_t *next_out;
        BrotliDecoderResult r;

        sink_space(s, &dst, &avail);
        next_out = dst;
        avail_out = avail;
        r = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
        rc = sink_commit(s, avail - avail_out, err);
        if (rc < 0 || r == BROTLI_DECODER_RESULT_SUCCESS)
            break;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT && avail_out < avail)
            continue;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            rc = bl_err_set(err, BL_EPARSE, "truncated br body");
        else
            rc = bl_err_set(err, BL_EPARSE, "corrupt br body: %s",
                            BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st)));
        break;
    }
    BrotliDecoderDestroyInstance(st);
    return rc;
}

static int zstd_body(const unsigned char *p, size_t len, struct sink *s, struct bl_err *err)
{
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    ZSTD_inBuffer in = { p, len, 0 };
    int rc = 0;

    if (dc == NULL)
        return bl_err_set(err, BL_ENOMEM, "cannot start zstd decoder");
    ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX);
    for (;;) {
        unsigned char *dst;
        size_t avail, r;
        ZSTD_outBuffer ob;

        sink_space(s, &dst, &avail);
        ob = (ZSTD_outBuffer){ dst, avail, 0 };
        r = ZSTD_decompressStream(dc, &ob, &in);
        if (ZSTD_isError(r)) {
            rc = bl_err_set(err, BL_EPARSE, "corrupt zstd body: %s", ZSTD_getErrorName(r));
            break;
        }
        rc = sink_commit(s, ob.pos, err);
        if (rc < 0 || (r == 0 && in.pos == in.size))
            break;
        /* Room was left and all input is used, yet the frame wants more. */
        if (in.pos == in.size && ob.pos < ob.size) {
            rc = bl_err_set(err, BL_EPARSE, "truncated zstd body");
            break;
        }
    }
    ZSTD_freeDCtx(dc);
    return rc;
}

/* Tries the decoder the bytes (or the claim) point to; identity when none does. */
static int decode_dispatch(const unsigned char *u, size_t len, int hint, struct sink *s,
                           struct bl_err *err)
{
    int rc;

    if (len == 0)
        return 0;
    if (hint == INGEST_ENC_BR) {
        rc = brotli_body(u, len, s, err);
        if (rc != BL_EPARSE || !(is_gzip(u, len) || is_zstd(u, len)))
            return rc;
        sink_rewind(s);
    }
    if (is_gzip(u, len))
        return fast_inflate(u, len, FAST_GZIP, s) ? 0
                                                  : inflate_body(u, len, 15 + 32, "gzip", s, err);
    if (is_zstd(u, len))
        return zstd_body(u, len, s, err);
    if (is_zlib(u, len)) {
        if (fast_inflate(u, len, FAST_ZLIB, s))
            return 0;
        rc = inflate_body(u, len, 15 + 32, "deflate", s, err);
        if (rc != BL_EPARSE || hint != INGEST_ENC_NONE)
            return rc;
        /* Text that merely looks like a zlib header: keep the bytes as they are. */
        sink_rewind(s);
        return copy_body(u, len, s, err);
    }
    if (hint == INGEST_ENC_DEFLATE)
        return fast_inflate(u, len, FAST_RAW, s) ? 0 : inflate_body(u, len, -15, "deflate", s, err);
    return copy_body(u, len, s, err);
}

int decode_body(const void *p, size_t len, int encoding_hint, size_t max_out, struct buf *out,
                struct bl_err *err)
{
    struct sink s;
    int rc;

    sink_init(&s, out, max_out);
    rc = decode_dispatch(p, len, encoding_hint, &s, err);
    if (rc < 0) {
        /* Leave out as it was: a half-decoded body is of no use to anyone. */
        sink_rewind(&s);
    }
    return rc;
}

static int starts_with_brace(struct slice t)
{
    size_t i = 0;

    while (i < t.len && (t.p[i] == ' ' || t.p[i] == '\t' || t.p[i] == '\r' || t.p[i] == '\n'))
        i++;
    return i < t.len && t.p[i] == '{';
}

/*
 * Raven-era /store/ bodies: base64, and zlib inside when that is still not
 * JSON. On success the result replaces scratch (text may point into it, so
 * the work is done in buffers of its own). BL_EPARSE when it is no legacy
 * body; BL_ETOOBIG when its inflated size is over max.
 */
static int legacy_body(struct slice *text, size_t max, struct buf *scratch, struct bl_err *err)
{
    struct buf raw = BUF_INIT(max), inflated = BUF_INIT(max);
    struct buf *res = &raw;
    int rc = decode_base64(text->p, text->len, max, &raw, NULL);

    if (rc < 0)
        rc = bl_err_set(err, BL_EPARSE, "body is neither JSON nor base64");
    if (rc == 0 && !starts_with_brace((struct slice){ raw.p, raw.len })) {
        rc = decode_body(raw.p, raw.len, INGEST_ENC_DEFLATE, max, &inflated, err);
        res = &inflated;
    }
    if (rc == 0) {
        buf_reset(scratch);
        scratch->max = scratch->max > max ? scratch->max : max;
        rc = buf_add(scratch, res->p, res->len) < 0
                 ? bl_err_set(err, BL_ETOOBIG, "body exceeds %zu bytes", max)
                 : 0;
    }
    if (rc == 0) {
        text->p = scratch->p;
        text->len = scratch->len;
    }
    buf_release(&inflated);
    buf_release(&raw);
    return rc;
}

/* decode_preset_begin's body and its text, this thread's. */
static _Thread_local struct {
    const void *body;
    size_t len;
    struct slice text;
} preset;

void decode_preset_begin(const void *body, size_t len, struct slice text)
{
    preset.body = body;
    preset.len = len;
    preset.text = text;
}

void decode_preset_end(void)
{
    preset.body = NULL;
}

int decode_request(const void *body, size_t len, int encoding_hint, size_t max, unsigned flags,
                   struct buf *scratch, struct slice *text, struct bl_err *err)
{
    int rc = 0;

    buf_reset(scratch);
    if (preset.body != NULL && body == preset.body && len == preset.len && preset.text.len <= max) {
        *text = preset.text;
        return 0;
    }
    if (!decode_is_compressed(body, len, encoding_hint)) {
        if (len > max)
            return bl_err_set(err, BL_ETOOBIG, "body of %zu bytes exceeds %zu", len, max);
        text->p = body;
        text->len = len;
    } else {
        rc = decode_body(body, len, encoding_hint, max, scratch, err);
        text->p = scratch->p;
        text->len = scratch->len;
    }
    if (rc == 0 && (flags & DECODE_SENTRY_LEGACY) && !starts_with_brace(*text)) {
        rc = legacy_body(text, max, scratch, err);
        /* Not a legacy body either: the caller says what is wrong with it as JSON. */
        if (rc == BL_EPARSE)
            rc = 0;
    }
    return rc;
}

/* -1 invalid, -2 whitespace, -3 padding, else the sextet. */
static signed char b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (signed char)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (signed char)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (signed char)(c - '0' + 52);
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        return -2;
    return c == '=' ? -3 : -1;
}

int decode_base64(const char *p, size_t len, size_t max_out, struct buf *out, struct bl_err *err)
{
    struct sink s;
    size_t made = 0, nchars = 0, npad = 0, want = len / 4 * 3 + 3;
    uint32_t acc = 0;
    int bits = 0, rc = 0;
    unsigned char *q;

    sink_init(&s, out, max_out);
    (void)buf_grow(out, want < max_out ? want : max_out);
    q = (unsigned char *)out->p + out->len;
    for (size_t i = 0; i < len && rc == 0; i++) {
        signed char v = b64_value((unsigned char)p[i]);

        if (v == -2)
            continue;
        if (v == -3) {
            npad++;
            continue;
        }
        if (v < 0 || npad > 0) {
            rc = bl_err_set(err, BL_EPARSE, "invalid base64 at byte %zu", i);
            break;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        nchars++;
        if (bits < 8)
            continue;
        bits -= 8;
        if (made == max_out)
            rc = bl_err_set(err, BL_ETOOBIG, "decoded body exceeds %zu bytes", max_out);
        else
            q[made++] = (unsigned char)(acc >> bits);
    }
    if (rc == 0 && (nchars % 4 == 1 || npad > 2 || (npad > 0 && (nchars + npad) % 4 != 0)))
        rc = bl_err_set(err, BL_EPARSE, "truncated base64");
    if (rc == 0)
        out->len += made;
    if (out->cap > 0)
        out->p[out->len] = '\0';
    return rc;
}
