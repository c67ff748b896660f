/*
 * Unit tests for src/ingest/handoff.c (the door's decompressed copies for
 * the digest) and decode_request's preset window (decode.h): a copy is
 * found only for exactly the same bytes, protocol and encoding, once; the
 * table stays within its bytes and its buckets; a preset answers only the
 * very body it was set for, and a real body decodes to the same text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ingest/decode.h"
#include "ingest/handoff.h"
#include "ingest/ingest.h"
#include "t.h"

static void test_exact_match(void)
{
    struct handoff *h = handoff_new(1u << 20, 10000000);
    static const char body[] = "\x1f\x8b compressed bytes of one request";
    char other[sizeof(body)];
    struct slice text = SLICE_NULL;
    struct handoff_copy *c;
    unsigned long long taken, missed;

    handoff_put(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, body, sizeof(body) - 1, "{\"a\":1}", 7);
    memcpy(other, body, sizeof(body));
    other[sizeof(body) - 2] ^= 1; /* the last byte differs */
    CHECK(handoff_take(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, other, sizeof(body) - 1, &text) ==
          NULL);
    CHECK(handoff_take(h, INGEST_SENTRY_ENVELOPE, INGEST_ENC_GZIP, body, sizeof(body) - 1, &text) ==
          NULL);
    CHECK(handoff_take(h, INGEST_SENTRY_STORE, INGEST_ENC_NONE, body, sizeof(body) - 1, &text) ==
          NULL);
    CHECK(handoff_take(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, body, sizeof(body) - 2, &text) ==
          NULL);
    c = handoff_take(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, body, sizeof(body) - 1, &text);
    CHECK(c != NULL);
    CHECK_INT_EQ((long long)text.len, 7);
    CHECK(c != NULL && memcmp(text.p, "{\"a\":1}", 7) == 0 && text.p[7] == '\0');
    handoff_release(c);
    /* Taken once: the copy is gone. */
    CHECK(handoff_take(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, body, sizeof(body) - 1, &text) ==
          NULL);
    handoff_counts(h, &taken, &missed);
    CHECK_INT_EQ((long long)taken, 1);
    CHECK_INT_EQ((long long)missed, 5);
    handoff_free(h);
}

/* Offers 200 copies of ~1 KB into h, then takes them all: how many were found, and the range. */
static int fill_and_take(struct handoff *h, int *first, int *last)
{
    char body[32], text[1000];
    struct slice t;
    int found = 0;

    memset(text, 'x', sizeof(text));
    for (int i = 0; i < 200; i++) {
        snprintf(body, sizeof(body), "body %d", i);
        handoff_put(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, body, strlen(body), text,
                    sizeof(text));
    }
    *first = *last = -1;
    for (int i = 0; i < 200; i++) {
        struct handoff_copy *c;

        snprintf(body, sizeof(body), "body %d", i);
        c = handoff_take(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, body, strlen(body), &t);
        if (c != NULL) {
            found++;
            *first = *first < 0 ? i : *first;
            *last = i;
            CHECK(t.len == sizeof(text) && t.p[0] == 'x');
        }
        handoff_release(c);
    }
    return found;
}

/*
 * When the bytes run out, the copies the digest will take first are kept and
 * the new ones dropped; only stale copies are evicted for new ones. A copy
 * over a sixteenth of the table is never kept.
 */
static void test_bounds(void)
{
    struct handoff *h = handoff_new(64u << 10, 10000000);
    struct slice t;
    int found, first, last;

    found = fill_and_take(h, &first, &last);
    CHECK(found > 20 && found < 64);
    CHECK(first == 0 && last == found - 1); /* the oldest kept, the newest dropped */
    /* Taken copies made room again: the next ones fit. */
    CHECK(fill_and_take(h, &first, &last) == found);
    handoff_free(h);

    /* Every copy stale at once: the oldest make room for the newest. */
    h = handoff_new(64u << 10, 0);
    found = fill_and_take(h, &first, &last);
    CHECK(found > 20 && found < 64);
    CHECK(last == 199 && first == 200 - found);
    {
        char *big = calloc(1, 5000);

        handoff_put(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, "big", 3, big, 5000);
        CHECK(handoff_take(h, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, "big", 3, &t) == NULL);
        free(big);
    }
    handoff_free(h);
    /* No table: nothing is kept, nothing found, nothing crashes. */
    CHECK(handoff_new(0, 10000000) == NULL);
    handoff_put(NULL, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, "a", 1, "b", 1);
    CHECK(handoff_take(NULL, INGEST_SENTRY_STORE, INGEST_ENC_GZIP, "a", 1, &t) == NULL);
}

/* Bodies that land in one bucket: the extra ones are dropped, the kept ones still found. */
static void test_full_bucket(void)
{
    struct handoff *h = handoff_new(1u << 20, 10000000);
    struct slice t;
    int found = 0;

    /* The same bytes under different encodings share a bucket (the key is the bytes). */
    for (int enc = 0; enc < 10; enc++)
        handoff_put(h, INGEST_SENTRY_STORE, enc, "same", 4, "t", 1);
    for (int enc = 0; enc < 10; enc++) {
        struct handoff_copy *c = handoff_take(h, INGEST_SENTRY_STORE, enc, "same", 4, &t);

        found += c != NULL;
        handoff_release(c);
    }
    CHECK(found >= 1 && found <= 4);
    handoff_free(h);
}

static size_t gzip_of(const char *s, unsigned char *out, size_t cap)
{
    z_stream zs;
    size_t n;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    zs.next_in = (unsigned char *)(uintptr_t)s;
    zs.avail_in = (unsigned)strlen(s);
    zs.next_out = out;
    zs.avail_out = (unsigned)cap;
    n = deflate(&zs, Z_FINISH) == Z_STREAM_END ? cap - zs.avail_out : 0;
    deflateEnd(&zs);
    return n;
}

/* decode_request answers the preset text for that body only, and within max only. */
static void test_preset(void)
{
    static const char json[] = "{\"event_id\":\"0123456789abcdef0123456789abcdef\"}";
    unsigned char gz[256], gz2[256];
    size_t n = gzip_of(json, gz, sizeof(gz));
    struct buf scratch = BUF_INIT(1u << 20);
    struct slice text, door = SLICE_NULL;

    CHECK(n > 0);
    memcpy(gz2, gz, n);
    /* What the door decoded is what the digest decodes: the copy is that text. */
    CHECK_INT_EQ(decode_request(gz, n, INGEST_ENC_GZIP, 1u << 20, 0, &scratch, &door, NULL), 0);
    CHECK(door.len == strlen(json) && memcmp(door.p, json, door.len) == 0);
    decode_preset_begin(gz, n, (struct slice){ "preset", 6 });
    CHECK_INT_EQ(decode_request(gz, n, INGEST_ENC_GZIP, 1u << 20, 0, &scratch, &text, NULL), 0);
    CHECK(text.len == 6 && memcmp(text.p, "preset", 6) == 0);
    /* Another buffer with the same bytes is decoded for real. */
    CHECK_INT_EQ(decode_request(gz2, n, INGEST_ENC_GZIP, 1u << 20, 0, &scratch, &text, NULL), 0);
    CHECK(text.len == strlen(json) && memcmp(text.p, json, text.len) == 0);
    /* Over the caller's max: decoded for real, and refused as it would be. */
    CHECK(decode_request(gz, n, INGEST_ENC_GZIP, 3, 0, &scratch, &text, NULL) == BL_ETOOBIG);
    decode_preset_end();
    CHECK_INT_EQ(decode_request(gz, n, INGEST_ENC_GZIP, 1u << 20, 0, &scratch, &text, NULL), 0);
    CHECK(text.len == strlen(json) && memcmp(text.p, json, text.len) == 0);
    buf_release(&scratch);
}

int main(void)
{
    test_exact_match();
    test_bounds();
    test_full_bucket();
    test_preset();
    return t_done();
}
