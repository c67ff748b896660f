/*
 * Unit tests for src/ingest/ingest.c: journal records of the three
 * protocols into events (protocols.md §1.13 vectors S1-S10 and JSON lines).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/ingest.h"
#include "t.h"
#include "t_zlib.h"

#define RECEIVED INT64_C(1714564805000000) /* 2024-05-01T12:00:05Z */

static const char s1[] =
    "{\"event_id\":\"fc6d8c0c43fc4630ad850ee518f1b9d0\",\"message\":\"hello\"}";

/* gzip (windowBits 31) or zlib (15) of p[0..len) into out. */
static size_t base64(const unsigned char *p, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static struct ingest_meta meta_of(int protocol, int encoding, uint64_t lsn, const char *id)
{
    struct ingest_meta m = { protocol, encoding, 7, RECEIVED, lsn, id, NULL, 0 };

    return m;
}

static int decode(const void *p, size_t len, const struct ingest_meta *m, struct pool *pool,
                  struct ingest_events *out, size_t items[INGEST_ITEM__N])
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct bl_err err = { 0, "" };
    int rc = ingest_decode(p, len, m, &lim, pool, out, items, &err);

    if (rc != 0)
        fprintf(stderr, "(ingest_decode: %s)\n", bl_err_msg(&err));
    return rc;
}

static void test_store(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    struct ingest_meta m = meta_of(INGEST_SENTRY_STORE, INGEST_ENC_NONE, 11,
                                   "fc6d8c0c43fc4630ad850ee518f1b9d0");
    unsigned char gz[512];
    size_t n;
    struct event *ev;

    /* S1: plain JSON. */
    CHECK_INT_EQ(decode(s1, strlen(s1), &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(out.n, 1);
    ev = &out.v[0];
    CHECK_STR_EQ(ev->event_id, "fc6d8c0c43fc4630ad850ee518f1b9d0");
    CHECK_STR_EQ(ev->message, "hello");
    CHECK_INT_EQ(ev->level, EV_ERROR);
    CHECK_INT_EQ(ev->project_id, 7);
    CHECK_INT_EQ(ev->lsn, 11);
    CHECK_INT_EQ(ev->seq, 0);
    CHECK_INT_EQ(ev->received_at, RECEIVED);
    CHECK_INT_EQ(ev->timestamp, RECEIVED);
    CHECK_INT_EQ(ev->kind, EV_KIND_LOG);
    CHECK_INT_EQ(ev->source, EV_SRC_SENTRY);
    CHECK_INT_EQ(ev->raw_encoding, EV_RAW_IDENTITY);
    CHECK(ev->raw_len == strlen(s1) && memcmp(ev->raw, s1, ev->raw_len) == 0);
    CHECK(ev->raw != (const void *)s1);
    CHECK(ev->fingerprint[0] != '\0' && ev->grouping_version == FINGERPRINT_VERSION);
    CHECK_STR_EQ(ev->title, "hello");

    /* S2: gzip; the client's own bytes are kept as the raw payload. */
    n = t_deflate_to(s1, strlen(s1), 31, gz, sizeof(gz));
    m.encoding = INGEST_ENC_GZIP;
    CHECK_INT_EQ(decode(gz, n, &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(out.n, 2);
    ev = &out.v[1];
    CHECK_STR_EQ(ev->message, "hello");
    CHECK_INT_EQ(ev->raw_encoding, EV_RAW_GZIP);
    CHECK(ev->raw_len == n && memcmp(ev->raw, gz, n) == 0);
    CHECK_STR_EQ(ev->fingerprint, out.v[0].fingerprint);

    /* S2 with deflate: decoded JSON is the raw payload. */
    n = t_deflate_to(s1, strlen(s1), 15, gz, sizeof(gz));
    m.encoding = INGEST_ENC_DEFLATE;
    CHECK_INT_EQ(decode(gz, n, &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(out.n, 3);
    CHECK_INT_EQ(out.v[2].raw_encoding, EV_RAW_IDENTITY);
    CHECK(out.v[2].raw_len == strlen(s1) && memcmp(out.v[2].raw, s1, strlen(s1)) == 0);
    pool_release(&pool);
}

static void test_store_legacy(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    struct ingest_meta m = meta_of(INGEST_SENTRY_STORE, INGEST_ENC_NONE, 12, "");
    unsigned char z[512];
    char b64[1024];
    size_t n;

    /* S3: base64(zlib(JSON)) with no header; no door id, so the payload's. */
    n = t_deflate_to(s1, strlen(s1), 15, z, sizeof(z));
    n = base64(z, n, b64);
    CHECK_INT_EQ(decode(b64, n, &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(out.n, 1);
    CHECK_STR_EQ(out.v[0].event_id, "fc6d8c0c43fc4630ad850ee518f1b9d0");
    CHECK_STR_EQ(out.v[0].message, "hello");
    /* base64 of plain JSON. */
    n = base64((const unsigned char *)s1, strlen(s1), b64);
    CHECK_INT_EQ(decode(b64, n, &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(out.n, 2);
    CHECK_STR_EQ(out.v[1].message, "hello");
    /* Neither JSON nor base64: the record is skipped whole. */
    CHECK_INT_EQ(decode("not json!", 9, &m, &pool, &out, NULL), BL_EPARSE);
    CHECK_INT_EQ(decode("[1,2]", 5, &m, &pool, &out, NULL), BL_EPARSE);
    CHECK_INT_EQ(out.n, 2);
    pool_release(&pool);
}

static void test_store_ids(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    struct ingest_meta m = meta_of(INGEST_SENTRY_STORE, INGEST_ENC_NONE, 99, "");
    const char *noid = "{\"message\":\"no id\"}";

    /* No id anywhere: derived from the lsn, the same on every replay. */
    CHECK_INT_EQ(decode(noid, strlen(noid), &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(decode(noid, strlen(noid), &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(out.n, 2);
    CHECK_INT_EQ(strlen(out.v[0].event_id), 32);
    CHECK_STR_EQ(out.v[0].event_id, out.v[1].event_id);
    pool_release(&pool);
}

static const char s4[] = "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n"
                         "{\"type\":\"event\",\"length\":41}\n"
                         "{\"message\":\"hello world\",\"level\":\"error\"}\n"
                         "{\"type\":\"attachment\",\"length\":7,\"filename\":\"note.txt\","
                         "\"content_type\":\"text/plain\"}\n"
                         "hello\r\n\n";

static const char s5[] =
    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"sent_at\":\"2024-05-01T12:00:00.600Z\","
    "\"sdk\":{\"name\":\"sentry.javascript.browser\",\"version\":\"10.0.0\"}}\n"
    "{\"type\":\"event\"}\n"
    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"timestamp\":1714564800.5,"
    "\"platform\":\"javascript\",\"level\":\"error\",\"exception\":{\"values\":[{\"type\":"
    "\"TypeError\",\"value\":\"x is undefined\",\"stacktrace\":{\"frames\":[{\"filename\":"
    "\"https://example.com/static/app.js\",\"function\":\"onClick\",\"lineno\":42,\"colno\":7,"
    "\"in_app\":true}]},\"mechanism\":{\"type\":\"onerror\",\"handled\":false}}]}}";

static void test_envelope(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    size_t items[INGEST_ITEM__N] = { 0 };
    struct ingest_meta m = meta_of(INGEST_SENTRY_ENVELOPE, INGEST_ENC_NONE, 20,
                                   "9ec79c33ec9942ab8353589fcb2e04dc");
    const char *payload = "{\"message\":\"hello world\",\"level\":\"error\"}";
    struct event *ev;

    /* S4: the event item's payload is the raw; the attachment is only counted. */
    CHECK_INT_EQ(decode(s4, strlen(s4), &m, &pool, &out, items), 0);
    CHECK_INT_EQ(out.n, 1);
    ev = &out.v[0];
    CHECK_STR_EQ(ev->event_id, "9ec79c33ec9942ab8353589fcb2e04dc");
    CHECK_STR_EQ(ev->message, "hello world");
    CHECK(ev->raw_len == strlen(payload) && memcmp(ev->raw, payload, ev->raw_len) == 0);
    CHECK_INT_EQ(ev->raw_encoding, EV_RAW_IDENTITY);
    CHECK_INT_EQ(items[INGEST_ITEM_EVENT], 1);
    CHECK_INT_EQ(items[INGEST_ITEM_ATTACHMENT], 1);

    /* S5: JS, no lengths, no final newline; float timestamp. */
    m = meta_of(INGEST_SENTRY_ENVELOPE, INGEST_ENC_NONE, 21, "0123456789abcdef0123456789abcdef");
    CHECK_INT_EQ(decode(s5, strlen(s5), &m, &pool, &out, items), 0);
    CHECK_INT_EQ(out.n, 2);
    ev = &out.v[1];
    CHECK_STR_EQ(ev->event_id, "0123456789abcdef0123456789abcdef");
    CHECK_INT_EQ(ev->timestamp, INT64_C(1714564800500000));
    CHECK_INT_EQ(ev->nexc, 1);
    CHECK_STR_EQ(ev->exc[0].mechanism, "onerror");
    CHECK_INT_EQ(ev->exc[0].handled, 0);
    CHECK_STR_EQ(ev->title, "TypeError: x is undefined");
    CHECK_INT_EQ(items[INGEST_ITEM_EVENT], 2);
    pool_release(&pool);
}

/*
 * A gzip envelope no larger than its event is kept as received (the store
 * then compresses nothing); the API finds the event item in it again.
 */
static void test_envelope_gzip_raw(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    struct ingest_meta m = meta_of(INGEST_SENTRY_ENVELOPE, INGEST_ENC_GZIP, 40,
                                   "9ec79c33ec9942ab8353589fcb2e04dc");
    char env[4096], msg[2100];
    unsigned char gz[4096];
    struct slice json;
    size_t n, gn;

    memset(msg, 'a', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    n = (size_t)snprintf(env, sizeof(env),
                         "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n"
                         "{\"type\":\"event\"}\n{\"message\":\"%s\",\"level\":\"error\"}\n",
                         msg);
    gn = t_deflate_to(env, n, 31, gz, sizeof(gz));
    CHECK_INT_EQ(decode(gz, gn, &m, &pool, &out, NULL), 0);
    CHECK_INT_EQ(out.n, 1);
    CHECK_INT_EQ(out.v[0].source, EV_SRC_SENTRY_ENVELOPE);
    CHECK_INT_EQ(out.v[0].raw_encoding, EV_RAW_GZIP);
    CHECK(out.v[0].raw_len == gn && memcmp(out.v[0].raw, gz, gn) == 0);
    CHECK_STR_EQ(out.v[0].message, msg);
    CHECK_INT_EQ(ingest_envelope_event(env, n, &pool, &json), 0);
    CHECK(json.len == strlen(msg) + 30 && memcmp(json.p, "{\"message\":\"aaa", 15) == 0);
    CHECK_INT_EQ(ingest_envelope_event("{}\n", 3, &pool, &json), BL_ENOTFOUND);
    CHECK_INT_EQ(ingest_envelope_event("nope", 4, &pool, &json), BL_EPARSE);
    pool_release(&pool);
}

static void test_envelope_other(void)
{
    static const char s9[] = "{}\n{\"type\":\"future_thing\",\"length\":3}\nabc\n"
                             "{\"type\":\"event\"}\n{\"message\":\"after\"}\n";
    static const char s10[] =
        "{}\n{\"type\":\"session\"}\n{\"sid\":\"7c7b6585-f901-4351-bf8d-02711b721929\","
        "\"init\":true,\"started\":\"2024-05-01T12:00:00Z\",\"status\":\"exited\",\"errors\":0,"
        "\"attrs\":{\"release\":\"app@1.0\",\"environment\":\"production\"}}\n";
    static const char s8[] = "{}\n{\"type\":\"event\",\"length\":500}\n{\"message\":\"x\"}\n";
    static const char badjson[] = "{}\n{\"type\":\"event\"}\n{\"message\":\n";
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    size_t items[INGEST_ITEM__N] = { 0 };
    struct ingest_meta m = meta_of(INGEST_SENTRY_ENVELOPE, INGEST_ENC_NONE, 30, "");

    /* S9: an unknown item is skipped; the event has no id anywhere, so a derived one. */
    CHECK_INT_EQ(decode(s9, strlen(s9), &m, &pool, &out, items), 0);
    CHECK_INT_EQ(out.n, 1);
    CHECK_STR_EQ(out.v[0].message, "after");
    CHECK_INT_EQ(strlen(out.v[0].event_id), 32);
    CHECK_INT_EQ(items[INGEST_ITEM_OTHER], 1);
    /* S10: a session only: counted, no event. */
    CHECK_INT_EQ(decode(s10, strlen(s10), &m, &pool, &out, items), 0);
    CHECK_INT_EQ(out.n, 1);
    CHECK_INT_EQ(items[INGEST_ITEM_SESSION], 1);
    /* S8 and broken event JSON: the whole record is skipped, nothing counted. */
    CHECK_INT_EQ(decode(s8, strlen(s8), &m, &pool, &out, items), BL_EPARSE);
    CHECK_INT_EQ(decode(badjson, strlen(badjson), &m, &pool, &out, items), BL_EPARSE);
    CHECK_INT_EQ(out.n, 1);
    CHECK_INT_EQ(items[INGEST_ITEM_EVENT], 1);
    /* Unknown protocol. */
    m.protocol = 77;
    CHECK_INT_EQ(decode(s9, strlen(s9), &m, &pool, &out, items), BL_EPARSE);
    pool_release(&pool);
}

static const char ndjson[] =
    "{\"ts\":1714564800.25,\"level\":\"warn\",\"msg\":\"disk almost full\",\"host\":\"web-1\"}\n"
    "\n"
    "not json\n"
    "{\"message\":\"second\",\"level\":\"error\",\"user\":\"bob\"}\r\n"
    "   \n"
    "{\"timestamp\":\"garbage\",\"message\":\"bad time\"}\n"
    "[1,2]\n"
    "{\"message\":\"last, no newline\"}";

static void test_ndjson(void)
{
    const char *line2 = "{\"message\":\"second\",\"level\":\"error\",\"user\":\"bob\"}";
    struct pool pool = POOL_INIT(16384);
    struct ingest_events a = { 0 }, b = { 0 }, c = { 0 };
    struct ingest_meta m = meta_of(INGEST_LOGS_NDJSON, INGEST_ENC_NONE, 40, "");
    unsigned char gz[1024];
    size_t n;

    CHECK_INT_EQ(decode(ndjson, strlen(ndjson), &m, &pool, &a, NULL), 0);
    CHECK_INT_EQ(a.n, 3);
    /* seq is the line index, counting blank and rejected lines. */
    CHECK_INT_EQ(a.v[0].seq, 0);
    CHECK_INT_EQ(a.v[1].seq, 3);
    CHECK_INT_EQ(a.v[2].seq, 7);
    CHECK_STR_EQ(a.v[0].message, "disk almost full");
    CHECK_INT_EQ(a.v[0].level, EV_WARNING);
    CHECK_STR_EQ(a.v[0].server_name, "web-1");
    CHECK_INT_EQ(a.v[0].timestamp, INT64_C(1714564800250000));
    CHECK_INT_EQ(a.v[0].source, EV_SRC_LOGLINE);
    CHECK_INT_EQ(a.v[1].level, EV_ERROR);
    CHECK_STR_EQ(a.v[2].message, "last, no newline");
    /* The raw payload is the line itself, without its line ending. */
    CHECK(a.v[1].raw_len == strlen(line2) && memcmp(a.v[1].raw, line2, a.v[1].raw_len) == 0);
    CHECK(strcmp(a.v[0].event_id, a.v[1].event_id) != 0);
    CHECK(strcmp(a.v[1].event_id, a.v[2].event_id) != 0);
    /*
     * Derived ids never change: lsn and seq in hex, then the first 8 hex
     * digits of the BLAKE2b-128 of "bilor-ev" and both, big-endian (what
     * stored lines carry, and what a replay must derive again).
     */
    CHECK_STR_EQ(a.v[0].event_id, "000000000000002800000000f978382f");
    CHECK_STR_EQ(a.v[1].event_id, "000000000000002800000003748449e2");

    /* Replaying the record (even gzip'd) gives the same ids; another lsn does not. */
    n = t_deflate_to(ndjson, strlen(ndjson), 31, gz, sizeof(gz));
    m.encoding = INGEST_ENC_GZIP;
    CHECK_INT_EQ(decode(gz, n, &m, &pool, &b, NULL), 0);
    CHECK_INT_EQ(b.n, 3);
    for (size_t i = 0; i < 3 && b.n == 3; i++) {
        CHECK_STR_EQ(b.v[i].event_id, a.v[i].event_id);
        CHECK_STR_EQ(b.v[i].fingerprint, a.v[i].fingerprint);
        CHECK_INT_EQ(b.v[i].raw_encoding, EV_RAW_IDENTITY);
    }
    m.lsn = 41;
    CHECK_INT_EQ(decode(ndjson, strlen(ndjson), &m, &pool, &c, NULL), 0);
    CHECK(c.n == 3 && strcmp(c.v[0].event_id, a.v[0].event_id) != 0);
    /* Every hex digit of the lsn, most significant first; then the line's seq. */
    m.lsn = UINT64_C(0x0123456789abcdef);
    m.encoding = INGEST_ENC_NONE;
    c.n = 0;
    CHECK_INT_EQ(decode(ndjson, strlen(ndjson), &m, &pool, &c, NULL), 0);
    CHECK(c.n == 3 && strncmp(c.v[0].event_id, "0123456789abcdef00000000", 24) == 0);
    CHECK(c.n == 3 && strncmp(c.v[1].event_id, "0123456789abcdef00000003", 24) == 0);
    CHECK(c.n == 3 && strspn(c.v[0].event_id, "0123456789abcdef") == 32);
    m.lsn = 41;
    m.encoding = INGEST_ENC_GZIP;
    /* An empty body has no events. */
    CHECK_INT_EQ(decode("", 0, &m, &pool, &c, NULL), 0);
    CHECK_INT_EQ(c.n, 3);
    pool_release(&pool);
}

/*
 * A body the door accepted whole is decoded without the per-line check
 * (ingest_checked_begin, when the door's copy was handed over): the same
 * events, whichever path (text or tree) each line takes.
 */
static void test_ndjson_checked(void)
{
    static const char body[] =
        "{\"timestamp\":\"2026-12-01T10:00:00Z\",\"level\":\"info\",\"message\":\"a \\\"q\\\"\"}\n"
        "\n"
        "{\"msg\":\"login\",\"password\":\"hunter2\",\"level\":40}\r\n"
        "{\"message\":{\"nested\":true},\"host\":\"h\"}\n"
        "  \n"
        "{\"message\":\"card 4111 1111 1111 1111\",\"ts\":1714564800}";
    struct pool pool = POOL_INIT(16384);
    struct ingest_events a = { 0 }, b = { 0 };
    struct ingest_meta m = meta_of(INGEST_LOGS_NDJSON, INGEST_ENC_NONE, 50, "");

    CHECK_INT_EQ(decode(body, strlen(body), &m, &pool, &a, NULL), 0);
    ingest_checked_begin();
    CHECK_INT_EQ(decode(body, strlen(body), &m, &pool, &b, NULL), 0);
    ingest_checked_end();
    CHECK_INT_EQ(a.n, 4);
    CHECK_INT_EQ(b.n, a.n);
    for (size_t i = 0; i < a.n && i < b.n; i++) {
        CHECK_INT_EQ(b.v[i].seq, a.v[i].seq);
        CHECK_STR_EQ(b.v[i].event_id, a.v[i].event_id);
        CHECK_INT_EQ(b.v[i].level, a.v[i].level);
        CHECK_INT_EQ(b.v[i].timestamp, a.v[i].timestamp);
        CHECK(b.v[i].raw_len == a.v[i].raw_len &&
              memcmp(b.v[i].raw, a.v[i].raw, a.v[i].raw_len) == 0);
        CHECK_STR_EQ(b.v[i].message != NULL ? b.v[i].message : "",
                     a.v[i].message != NULL ? a.v[i].message : "");
    }
    /* The scrubbed lines keep the scrubbed text, whichever way they were read. */
    CHECK(a.n == 4 && strstr(a.v[1].raw, "hunter2") == NULL);
    CHECK(a.n == 4 && strstr(a.v[3].raw, "4111") == NULL);
    CHECK_STR_EQ(a.n == 4 ? a.v[2].message : "", "{\"nested\":true}");
    pool_release(&pool);
}

static void test_events_push(void)
{
    struct pool pool = POOL_INIT(4096);
    struct ingest_events out = { 0 };

    for (int i = 0; i < 100; i++) {
        struct event *ev = ingest_events_push(&out, &pool);

        CHECK(ev->message == NULL && ev->seq == 0);
        ev->seq = (uint32_t)i;
    }
    CHECK_INT_EQ(out.n, 100);
    CHECK(out.cap >= 100);
    for (int i = 0; i < 100; i++) {
        if (out.v[i].seq != (uint32_t)i)
            CHECK_INT_EQ(out.v[i].seq, i);
    }
    CHECK_INT_EQ(out.v[99].seq, 99);
    pool_release(&pool);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_store();
    test_store_legacy();
    test_store_ids();
    test_envelope();
    test_envelope_gzip_raw();
    test_envelope_other();
    test_ndjson();
    test_ndjson_checked();
    test_events_push();
    return t_done();
}
