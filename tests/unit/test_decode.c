/*
 * test_decode.c - body decompression: every encoding made here with the real
 * libraries, the header-lies table of protocols.md §0.2, zip bombs,
 * truncated and corrupt streams, and base64.
 *
 * The brotli encoder is not linked into the server, so it is loaded with
 * dlopen(); a fixed brotli vector keeps the decoder tested without it.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/decode.h"

#include "t.h"
#include "t_zlib.h"

static const char S1[] =
    "{\"event_id\":\"fc6d8c0c43fc4630ad850ee518f1b9d0\",\"message\":\"hello\"}";

/* S1 compressed by libbrotlienc (quality 4, window 22). */
static const unsigned char S1_BR[] =
    "\x1b\x40\x00\x00\xc4\xda\xdc\xb4\xdf\xec\xf0\xa2\xca\xe7\xb6\x44\xfd\xdf\x53\x20\xb5\x44"
    "\x4b\x54\x02\x99\x14\x67\xff\xc0\x97\xd7\xb3\x9e\x8e\x81\xb0\xee\x6a\x62\xb5\x84\xd5\x5e"
    "\x64\x73\x6d\x42\xb6\xac\x91\xf7\xc5\x05\x09\x02\x01\x0c\x1c\x9c\xf3\xc6\x0f";

typedef int (*brotli_compress_fn)(int quality, int lgwin, int mode, size_t input_size,
                                  const uint8_t *input, size_t *encoded_size, uint8_t *encoded);
static brotli_compress_fn brotli_compress;

static void load_brotli_encoder(void)
{
    void *h = dlopen("libbrotlienc.so.1", RTLD_NOW);
    void *sym;

    if (h == NULL) {
        printf("note: libbrotlienc not loadable, brotli encode cases skipped\n");
        return;
    }
    sym = dlsym(h, "BrotliEncoderCompress");
    memcpy(&brotli_compress, &sym, sizeof(sym));
}

/* window_bits: 15+16 gzip, 15 zlib, -15 raw deflate. */
static void zstd_into(const void *p, size_t len, struct buf *out)
{
    size_t bound = ZSTD_compressBound(len), n;

    buf_grow(out, bound);
    n = ZSTD_compress(out->p + out->len, bound, p, len, 3);
    CHECK(!ZSTD_isError(n));
    out->len += n;
}

static void zstd_checksummed_into(const void *p, size_t len, struct buf *out)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(len), n;

    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    buf_grow(out, bound);
    n = ZSTD_compress2(cc, out->p + out->len, bound, p, len);
    CHECK(!ZSTD_isError(n));
    out->len += n;
    ZSTD_freeCCtx(cc);
}

static int brotli_into(const void *p, size_t len, struct buf *out)
{
    size_t n = len + len / 2 + 1024;

    if (brotli_compress == NULL)
        return -1;
    buf_grow(out, n);
    CHECK_INT_EQ(brotli_compress(5, 22, 0, len, p, &n, (uint8_t *)out->p + out->len), 1);
    out->len += n;
    return 0;
}

/* Decodes and compares with want (want NULL: expect rc). */
static void expect_decode(const void *p, size_t len, int hint, size_t max, int want_rc,
                          const char *want, size_t want_len)
{
    struct buf out = BUF_INIT(0);
    struct bl_err err = { 0, "" };
    int rc = decode_body(p, len, hint, max, &out, &err);

    CHECK_INT_EQ(rc, want_rc);
    if (rc != want_rc)
        fprintf(stderr, "  hint %d len %zu: %s\n", hint, len, err.msg);
    if (want != NULL) {
        CHECK_INT_EQ(out.len, want_len);
        CHECK(out.len == want_len && memcmp(out.p, want, want_len) == 0);
    }
    if (rc != 0)
        CHECK_INT_EQ(out.len, 0);
    CHECK(out.p[out.len] == '\0');
    buf_release(&out);
}

static void test_header_values(void)
{
    static const struct {
        const char *v;
        int enc;
    } cases[] = {
        { NULL, INGEST_ENC_NONE },
        { "", INGEST_ENC_NONE },
        { "gzip", INGEST_ENC_GZIP },
        { " GZip ", INGEST_ENC_GZIP },
        { "x-gzip", INGEST_ENC_GZIP },
        { "deflate", INGEST_ENC_DEFLATE },
        { "br", INGEST_ENC_BR },
        { "BR", INGEST_ENC_BR },
        { "zstd", INGEST_ENC_ZSTD },
        { "identity", INGEST_ENC_NONE },
        { "UTF-8", INGEST_ENC_NONE },
        { "utf-8", INGEST_ENC_NONE },
        { "gzip,deflate", INGEST_ENC_NONE },
        { "gzip, deflate", INGEST_ENC_NONE },
        { "compress", INGEST_ENC_NONE },
        { "gzipx", INGEST_ENC_NONE },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_INT_EQ(decode_encoding_from_header(cases[i].v), cases[i].enc);
}

static void test_round_trips(void)
{
    size_t n = strlen(S1);
    struct buf gz = BUF_INIT(1 << 20), zl = BUF_INIT(1 << 20), raw = BUF_INIT(1 << 20);
    struct buf zs = BUF_INIT(1 << 20), br = BUF_INIT(1 << 20);

    CHECK_INT_EQ(t_deflate_into(S1, n, 15 + 16, &gz), 0);
    CHECK_INT_EQ(t_deflate_into(S1, n, 15, &zl), 0);
    CHECK_INT_EQ(t_deflate_into(S1, n, -15, &raw), 0);
    zstd_into(S1, n, &zs);

    /* S2: the claimed encoding. */
    expect_decode(gz.p, gz.len, INGEST_ENC_GZIP, 4096, 0, S1, n);
    expect_decode(zl.p, zl.len, INGEST_ENC_DEFLATE, 4096, 0, S1, n);
    expect_decode(raw.p, raw.len, INGEST_ENC_DEFLATE, 4096, 0, S1, n);
    expect_decode(zs.p, zs.len, INGEST_ENC_ZSTD, 4096, 0, S1, n);
    expect_decode(S1_BR, sizeof(S1_BR) - 1, INGEST_ENC_BR, 4096, 0, S1, n);
    if (brotli_into(S1, n, &br) == 0)
        expect_decode(br.p, br.len, INGEST_ENC_BR, 4096, 0, S1, n);

    /* Lying or missing headers: the magic decides (graypy's zlib under "gzip,deflate"). */
    expect_decode(gz.p, gz.len, INGEST_ENC_NONE, 4096, 0, S1, n);
    expect_decode(zl.p, zl.len, INGEST_ENC_NONE, 4096, 0, S1, n);
    expect_decode(zs.p, zs.len, INGEST_ENC_NONE, 4096, 0, S1, n);
    expect_decode(zl.p, zl.len, INGEST_ENC_GZIP, 4096, 0, S1, n);
    expect_decode(gz.p, gz.len, INGEST_ENC_ZSTD, 4096, 0, S1, n);
    expect_decode(gz.p, gz.len, INGEST_ENC_BR, 4096, 0, S1, n);
    expect_decode(S1, n, INGEST_ENC_GZIP, 4096, 0, S1, n);
    expect_decode(S1, n, INGEST_ENC_ZSTD, 4096, 0, S1, n);
    /* Without a claim, raw deflate and brotli have no magic: kept as they are. */
    expect_decode(raw.p, raw.len, INGEST_ENC_NONE, 4096, 0, raw.p, raw.len);
    expect_decode(S1_BR, sizeof(S1_BR) - 1, INGEST_ENC_NONE, 4096, 0, (const char *)S1_BR,
                  sizeof(S1_BR) - 1);
    /* Empty bodies are empty whatever the header says. */
    expect_decode("", 0, INGEST_ENC_BR, 4096, 0, "", 0);
    expect_decode("", 0, INGEST_ENC_DEFLATE, 4096, 0, "", 0);

    CHECK(decode_is_compressed(gz.p, gz.len, INGEST_ENC_NONE));
    CHECK(decode_is_compressed(zl.p, zl.len, INGEST_ENC_NONE));
    CHECK(decode_is_compressed(zs.p, zs.len, INGEST_ENC_NONE));
    CHECK(decode_is_compressed(raw.p, raw.len, INGEST_ENC_DEFLATE));
    CHECK(decode_is_compressed(S1_BR, sizeof(S1_BR) - 1, INGEST_ENC_BR));
    CHECK(!decode_is_compressed(raw.p, raw.len, INGEST_ENC_NONE));
    CHECK(!decode_is_compressed(S1, n, INGEST_ENC_NONE));
    CHECK(!decode_is_compressed(S1, n, INGEST_ENC_GZIP));
    CHECK(!decode_is_compressed("", 0, INGEST_ENC_BR));

    buf_release(&gz);
    buf_release(&zl);
    buf_release(&raw);
    buf_release(&zs);
    buf_release(&br);
}

/* Text that happens to carry a valid zlib header ("x " is 0x78 0x20) stays text. */
static void test_weak_zlib_magic(void)
{
    const char *t = "x marks the spot";

    CHECK(decode_is_compressed(t, strlen(t), INGEST_ENC_NONE));
    expect_decode(t, strlen(t), INGEST_ENC_NONE, 4096, 0, t, strlen(t));
    expect_decode(t, strlen(t), INGEST_ENC_DEFLATE, 4096, BL_EPARSE, NULL, 0);
}

static void test_bombs(void)
{
    size_t big = 16u << 20, cap = 1u << 20;
    char *zeros = calloc(1, big);
    struct buf c = BUF_INIT(64u << 20);
    struct buf out = BUF_INIT(0);
    struct bl_err err = { 0, "" };
    int windows[] = { 15 + 16, 15, -15 };

    for (int i = 0; i < 3; i++) {
        buf_reset(&c);
        CHECK_INT_EQ(t_deflate_into(zeros, big, windows[i], &c), 0);
        CHECK(c.len < 64 * 1024);
        CHECK_INT_EQ(decode_body(c.p, c.len, INGEST_ENC_DEFLATE, cap, &out, &err), BL_ETOOBIG);
        CHECK_INT_EQ(out.len, 0);
        /* Memory stays within a small factor of the cap, not the 16 MiB expansion. */
        CHECK(out.cap <= 2 * cap + 64);
        CHECK(strstr(err.msg, "exceeds") != NULL);
        buf_release(&out);
    }
    buf_reset(&c);
    zstd_into(zeros, big, &c);
    CHECK_INT_EQ(decode_body(c.p, c.len, INGEST_ENC_NONE, cap, &out, NULL), BL_ETOOBIG);
    CHECK(out.cap <= 2 * cap + 64);
    buf_release(&out);
    buf_reset(&c);
    if (brotli_into(zeros, big, &c) == 0) {
        CHECK_INT_EQ(decode_body(c.p, c.len, INGEST_ENC_BR, cap, &out, NULL), BL_ETOOBIG);
        CHECK(out.cap <= 2 * cap + 64);
        buf_release(&out);
    }
    /* Exactly at the cap is fine, one byte over is not. */
    buf_reset(&c);
    CHECK_INT_EQ(t_deflate_into(zeros, cap, 15 + 16, &c), 0);
    expect_decode(c.p, c.len, INGEST_ENC_GZIP, cap, 0, zeros, cap);
    expect_decode(c.p, c.len, INGEST_ENC_GZIP, cap - 1, BL_ETOOBIG, NULL, 0);
    buf_reset(&c);
    zstd_into(zeros, cap, &c);
    expect_decode(c.p, c.len, INGEST_ENC_ZSTD, cap, 0, zeros, cap);
    expect_decode(c.p, c.len, INGEST_ENC_ZSTD, cap - 1, BL_ETOOBIG, NULL, 0);
    /* Identity bodies obey the same cap. */
    expect_decode(zeros, 100, INGEST_ENC_NONE, 99, BL_ETOOBIG, NULL, 0);
    buf_release(&c);
    free(zeros);
}

static void test_truncated_and_corrupt(void)
{
    size_t n = strlen(S1);
    struct buf gz = BUF_INIT(1 << 20), zs = BUF_INIT(1 << 20), bad = BUF_INIT(1 << 20);
    struct bl_err err = { 0, "" };
    struct buf out = BUF_INIT(0);

    CHECK_INT_EQ(t_deflate_into(S1, n, 15 + 16, &gz), 0);
    zstd_into(S1, n, &zs);
    expect_decode(gz.p, gz.len - 4, INGEST_ENC_GZIP, 4096, BL_EPARSE, NULL, 0);
    expect_decode(gz.p, gz.len / 2, INGEST_ENC_GZIP, 4096, BL_EPARSE, NULL, 0);
    expect_decode(gz.p, 2, INGEST_ENC_GZIP, 4096, BL_EPARSE, NULL, 0);
    CHECK_INT_EQ(decode_body(gz.p, gz.len - 1, INGEST_ENC_GZIP, 4096, &out, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "truncated gzip") != NULL);
    expect_decode(zs.p, zs.len - 3, INGEST_ENC_ZSTD, 4096, BL_EPARSE, NULL, 0);
    expect_decode(zs.p, 4, INGEST_ENC_ZSTD, 4096, BL_EPARSE, NULL, 0);
    expect_decode(S1_BR, sizeof(S1_BR) - 5, INGEST_ENC_BR, 4096, BL_EPARSE, NULL, 0);
    /* Plain JSON claimed as brotli is not brotli. */
    expect_decode(S1, n, INGEST_ENC_BR, 4096, BL_EPARSE, NULL, 0);

    /* A flipped byte inside the deflate data or the CRC. */
    buf_add(&bad, gz.p, gz.len);
    bad.p[bad.len - 6] ^= 0x55;
    expect_decode(bad.p, bad.len, INGEST_ENC_GZIP, 4096, BL_EPARSE, NULL, 0);
    /* zstd: garbage after a frame, and a frame whose checksum does not match. */
    buf_reset(&bad);
    buf_add(&bad, zs.p, zs.len);
    buf_add(&bad, "garbage!", 8);
    expect_decode(bad.p, bad.len, INGEST_ENC_ZSTD, 4096, BL_EPARSE, NULL, 0);
    buf_reset(&bad);
    zstd_checksummed_into(S1, n, &bad);
    expect_decode(bad.p, bad.len, INGEST_ENC_ZSTD, 4096, 0, S1, n);
    bad.p[bad.len - 1] ^= 0x55;
    expect_decode(bad.p, bad.len, INGEST_ENC_ZSTD, 4096, BL_EPARSE, NULL, 0);

    buf_release(&gz);
    buf_release(&zs);
    buf_release(&bad);
    buf_release(&out);
}

static void test_members_and_append(void)
{
    struct buf gz = BUF_INIT(1 << 20), out = BUF_INIT(8);
    struct buf big = BUF_INIT(8u << 20), c = BUF_INIT(8u << 20);
    struct buf dec = BUF_INIT(0);

    /* gzip(1) output of "cat a.gz b.gz": both members count. */
    CHECK_INT_EQ(t_deflate_into("hello ", 6, 15 + 16, &gz), 0);
    CHECK_INT_EQ(t_deflate_into("world", 5, 15 + 16, &gz), 0);
    buf_add(&gz, "\0\0\0", 3); /* padding after the last member is ignored */
    expect_decode(gz.p, gz.len, INGEST_ENC_GZIP, 4096, 0, "hello world", 11);
    expect_decode(gz.p, gz.len, INGEST_ENC_GZIP, 8, BL_ETOOBIG, NULL, 0);

    /* decode_body appends, raises max, and leaves out alone on failure. */
    buf_addstr(&out, "abc");
    CHECK_INT_EQ(decode_body(gz.p, gz.len, INGEST_ENC_GZIP, 4096, &out, NULL), 0);
    CHECK_STR_EQ(out.p, "abchello world");
    CHECK_INT_EQ(decode_body(gz.p, gz.len - 8, INGEST_ENC_GZIP, 4096, &out, NULL), BL_EPARSE);
    CHECK_STR_EQ(out.p, "abchello world");

    /* Several MiB of varied text stream through many growth steps intact. */
    for (int i = 0; big.len < (3u << 20); i++)
        buf_addf(&big, "line %d: the quick brown fox %x jumps\n", i, (unsigned)(i * 2654435761u));
    CHECK_INT_EQ(t_deflate_into(big.p, big.len, 15 + 16, &c), 0);
    CHECK_INT_EQ(decode_body(c.p, c.len, INGEST_ENC_GZIP, 4u << 20, &dec, NULL), 0);
    CHECK(dec.len == big.len && memcmp(dec.p, big.p, big.len) == 0);
    buf_reset(&c);
    buf_release(&dec);
    zstd_into(big.p, big.len, &c);
    CHECK_INT_EQ(decode_body(c.p, c.len, INGEST_ENC_NONE, 4u << 20, &dec, NULL), 0);
    CHECK(dec.len == big.len && memcmp(dec.p, big.p, big.len) == 0);
    buf_reset(&c);
    buf_release(&dec);
    if (brotli_into(big.p, big.len, &c) == 0) {
        CHECK_INT_EQ(decode_body(c.p, c.len, INGEST_ENC_BR, 4u << 20, &dec, NULL), 0);
        CHECK(dec.len == big.len && memcmp(dec.p, big.p, big.len) == 0);
        buf_release(&dec);
    }
    buf_release(&gz);
    buf_release(&out);
    buf_release(&big);
    buf_release(&c);
}

/*
 * The whole-buffer inflate (libdeflate) sizes its output from the gzip
 * trailer or 4x the input and doubles on "no room": a repetitive body far
 * over 4x with no trailer to go by (raw deflate, zlib, a gzip member with
 * padding after it), one exactly at the budget and one a byte over.
 */
static void test_output_sizing(void)
{
    struct buf big = BUF_INIT(8u << 20), c = BUF_INIT(8u << 20), dec = BUF_INIT(0);
    const int kinds[][2] = { { -15, INGEST_ENC_DEFLATE },
                             { 15, INGEST_ENC_NONE },
                             { 15 + 16, INGEST_ENC_GZIP } };

    for (int i = 0; big.len < (1u << 20); i++)
        buf_addf(&big, "repeat %d\n", i % 7);
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        buf_reset(&c);
        CHECK_INT_EQ(t_deflate_into(big.p, big.len, kinds[k][0], &c), 0);
        CHECK(c.len * 4 < big.len);
        buf_add(&c, "\0\0\0\0\0", 5); /* ignored after the stream; no trailer to go by */
        CHECK_INT_EQ(decode_body(c.p, c.len, kinds[k][1], big.len, &dec, NULL), 0);
        CHECK(dec.len == big.len && memcmp(dec.p, big.p, big.len) == 0);
        buf_release(&dec);
        expect_decode(c.p, c.len, kinds[k][1], big.len - 1, BL_ETOOBIG, NULL, 0);
    }
    buf_release(&big);
    buf_release(&c);
}

static void expect_b64(const char *in, int want_rc, const char *want)
{
    struct buf out = BUF_INIT(0);
    int rc = decode_base64(in, strlen(in), 64, &out, NULL);

    CHECK_INT_EQ(rc, want_rc);
    if (want != NULL)
        CHECK_STR_EQ(out.p, want);
    if (rc != 0)
        CHECK_INT_EQ(out.len, 0);
    buf_release(&out);
}

static void test_base64(void)
{
    struct buf zl = BUF_INIT(1 << 20), b64 = BUF_INIT(1 << 20), raw = BUF_INIT(0);
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    expect_b64("", 0, "");
    expect_b64("aGVsbG8=", 0, "hello");
    expect_b64("aGVsbG8", 0, "hello");
    expect_b64("aGVs\r\nbG8g d29y bGQ=\n", 0, "hello world");
    expect_b64("YQ==", 0, "a");
    expect_b64("YQ", 0, "a");
    expect_b64("YWI=", 0, "ab");
    expect_b64("+/+/", 0, "\xfb\xff\xbf");
    expect_b64("Y", BL_EPARSE, NULL);
    expect_b64("YQ=", BL_EPARSE, NULL);
    expect_b64("YQ===", BL_EPARSE, NULL);
    expect_b64("aGVsbG8=x", BL_EPARSE, NULL);
    expect_b64("aGV*bG8=", BL_EPARSE, NULL);
    expect_b64("aGVsbG8-", BL_EPARSE, NULL);
    expect_b64("{\"a\":1}", BL_EPARSE, NULL);
    /* 66 output bytes against a cap of 64; 63 fit. */
    for (int i = 0; i < 22; i++)
        buf_addstr(&b64, "QUFB");
    CHECK_INT_EQ(decode_base64(b64.p, b64.len, 64, &raw, NULL), BL_ETOOBIG);
    CHECK_INT_EQ(raw.len, 0);
    CHECK_INT_EQ(decode_base64(b64.p, b64.len - 4, 64, &raw, NULL), 0);
    CHECK_INT_EQ(raw.len, 63);
    buf_reset(&b64);
    buf_release(&raw);

    /* S3's body: base64(zlib(S1)) decodes back to S1 through both steps. */
    CHECK_INT_EQ(t_deflate_into(S1, strlen(S1), 15, &zl), 0);
    for (size_t i = 0; i < zl.len; i += 3) {
        unsigned v = (unsigned char)zl.p[i] << 16;

        v |= i + 1 < zl.len ? (unsigned char)zl.p[i + 1] << 8 : 0;
        v |= i + 2 < zl.len ? (unsigned char)zl.p[i + 2] : 0;
        buf_addch(&b64, tab[v >> 18]);
        buf_addch(&b64, tab[(v >> 12) & 63]);
        buf_addch(&b64, i + 1 < zl.len ? tab[(v >> 6) & 63] : '=');
        buf_addch(&b64, i + 2 < zl.len ? tab[v & 63] : '=');
    }
    CHECK_INT_EQ(decode_base64(b64.p, b64.len, 4096, &raw, NULL), 0);
    CHECK(raw.len == zl.len && memcmp(raw.p, zl.p, zl.len) == 0);
    buf_release(&zl);
    buf_release(&b64);
    buf_release(&raw);
}

/* Base64 of p[0..len) into out (appended). */
static void b64_into(const void *p, size_t len, struct buf *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *u = p;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)u[i] << 16;

        v |= i + 1 < len ? (unsigned)u[i + 1] << 8 : 0;
        v |= i + 2 < len ? (unsigned)u[i + 2] : 0;
        buf_addch(out, tab[v >> 18]);
        buf_addch(out, tab[(v >> 12) & 63]);
        buf_addch(out, i + 1 < len ? tab[(v >> 6) & 63] : '=');
        buf_addch(out, i + 2 < len ? tab[v & 63] : '=');
    }
}

/* decode_request: the one decode of door and digest. */
static void test_request(void)
{
    struct buf scratch = BUF_INIT(1 << 20), gz = BUF_INIT(1 << 20), zl = BUF_INIT(1 << 20);
    struct buf b64 = BUF_INIT(1 << 20), gzb64 = BUF_INIT(1 << 20);
    struct slice text;
    size_t n = strlen(S1);

    /* Plain: used in place, no copy. */
    CHECK_INT_EQ(decode_request(S1, n, INGEST_ENC_NONE, 4096, 0, &scratch, &text, NULL), 0);
    CHECK(text.p == S1 && text.len == n);
    CHECK_INT_EQ(decode_request(S1, n, INGEST_ENC_NONE, n - 1, 0, &scratch, &text, NULL),
                 BL_ETOOBIG);

    /* gzip whatever the header says; the text is in scratch. */
    CHECK_INT_EQ(t_deflate_into(S1, n, 31, &gz), 0);
    CHECK_INT_EQ(decode_request(gz.p, gz.len, INGEST_ENC_NONE, 4096, 0, &scratch, &text, NULL), 0);
    CHECK(text.p == scratch.p && text.len == n && memcmp(text.p, S1, n) == 0);
    CHECK_INT_EQ(decode_request(gz.p, gz.len, INGEST_ENC_GZIP, n - 1, 0, &scratch, &text, NULL),
                 BL_ETOOBIG);

    /* Legacy /store/ bodies: base64(JSON), base64(zlib(JSON)), also inside gzip. */
    b64_into(S1, n, &b64);
    CHECK_INT_EQ(decode_request(b64.p, b64.len, INGEST_ENC_NONE, 4096, DECODE_SENTRY_LEGACY,
                                &scratch, &text, NULL),
                 0);
    CHECK(text.len == n && memcmp(text.p, S1, n) == 0);
    /* Without the flag the body stays what it is. */
    CHECK_INT_EQ(decode_request(b64.p, b64.len, INGEST_ENC_NONE, 4096, 0, &scratch, &text, NULL),
                 0);
    CHECK(text.p == b64.p);
    CHECK_INT_EQ(t_deflate_into(S1, n, 15, &zl), 0);
    buf_reset(&b64);
    b64_into(zl.p, zl.len, &b64);
    CHECK_INT_EQ(decode_request(b64.p, b64.len, INGEST_ENC_NONE, 4096, DECODE_SENTRY_LEGACY,
                                &scratch, &text, NULL),
                 0);
    CHECK(text.len == n && memcmp(text.p, S1, n) == 0);
    CHECK_INT_EQ(t_deflate_into(b64.p, b64.len, 31, &gzb64), 0);
    CHECK_INT_EQ(decode_request(gzb64.p, gzb64.len, INGEST_ENC_GZIP, 4096, DECODE_SENTRY_LEGACY,
                                &scratch, &text, NULL),
                 0);
    CHECK(text.len == n && memcmp(text.p, S1, n) == 0);
    /* The inflated legacy body counts against the cap. */
    CHECK_INT_EQ(decode_request(b64.p, b64.len, INGEST_ENC_NONE, n - 1, DECODE_SENTRY_LEGACY,
                                &scratch, &text, NULL),
                 BL_ETOOBIG);
    /* Not legacy either: the text is left for the JSON check to judge. */
    CHECK_INT_EQ(decode_request("[1, 2]", 6, INGEST_ENC_NONE, 4096, DECODE_SENTRY_LEGACY, &scratch,
                                &text, NULL),
                 0);
    CHECK(text.len == 6 && memcmp(text.p, "[1, 2]", 6) == 0);
    buf_release(&scratch);
    buf_release(&gz);
    buf_release(&zl);
    buf_release(&b64);
    buf_release(&gzb64);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    load_brotli_encoder();
    test_header_values();
    test_round_trips();
    test_weak_zlib_magic();
    test_bombs();
    test_truncated_and_corrupt();
    test_members_and_append();
    test_output_sizing();
    test_base64();
    test_request();
    return t_done();
}
