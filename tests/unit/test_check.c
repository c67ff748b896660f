/*
 * test_check.c - the door checks: /store/ bodies (S1-S3, S12), envelopes
 * (S4-S10), JSON lines, item type names and the timestamp rules.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/ingest.h"

#include "t.h"
#include "t_zlib.h"

#define KEY "0123456789abcdef0123456789abcdef"

static const char S1[] =
    "{\"event_id\":\"fc6d8c0c43fc4630ad850ee518f1b9d0\",\"message\":\"hello\"}";

/* S1 compressed by libbrotlienc (quality 4, window 22). */
static const unsigned char S1_BR[] =
    "\x1b\x40\x00\x00\xc4\xda\xdc\xb4\xdf\xec\xf0\xa2\xca\xe7\xb6\x44\xfd\xdf\x53\x20\xb5\x44"
    "\x4b\x54\x02\x99\x14\x67\xff\xc0\x97\xd7\xb3\x9e\x8e\x81\xb0\xee\x6a\x62\xb5\x84\xd5\x5e"
    "\x64\x73\x6d\x42\xb6\xac\x91\xf7\xc5\x05\x09\x02\x01\x0c\x1c\x9c\xf3\xc6\x0f";

static const char S4[] = "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n"
                         "{\"type\":\"event\",\"length\":41}\n"
                         "{\"message\":\"hello world\",\"level\":\"error\"}\n"
                         "{\"type\":\"attachment\",\"length\":7,\"filename\":\"note.txt\","
                         "\"content_type\":\"text/plain\"}\n"
                         "hello\r\n\n";

static const char S4_ITEMS[] = "{\"type\":\"event\",\"length\":41}\n"
                               "{\"message\":\"hello world\",\"level\":\"error\"}\n"
                               "{\"type\":\"attachment\",\"length\":7,\"filename\":\"note.txt\","
                               "\"content_type\":\"text/plain\"}\n"
                               "hello\r\n\n";

static const char S5[] =
    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"sent_at\":\"2024-05-01T12:00:00.600Z\","
    "\"sdk\":{\"name\":\"sentry.javascript.browser\",\"version\":\"10.0.0\"}}\n"
    "{\"type\":\"event\"}\n"
    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"timestamp\":1714564800.5,\"platform\":"
    "\"javascript\",\"level\":\"error\",\"exception\":{\"values\":[{\"type\":\"TypeError\","
    "\"value\":\"x is undefined\",\"stacktrace\":{\"frames\":[{\"filename\":"
    "\"https://example.com/static/app.js\",\"function\":\"onClick\",\"lineno\":42,\"colno\":7,"
    "\"in_app\":true}]},\"mechanism\":{\"type\":\"onerror\",\"handled\":false}}]}}";

static void base64_into(const void *data, size_t len, struct buf *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;

        v |= i + 1 < len ? (unsigned)p[i + 1] << 8 : 0;
        v |= i + 2 < len ? (unsigned)p[i + 2] : 0;
        buf_addch(out, tab[v >> 18]);
        buf_addch(out, tab[(v >> 12) & 63]);
        buf_addch(out, i + 1 < len ? tab[(v >> 6) & 63] : '=');
        buf_addch(out, i + 2 < len ? tab[v & 63] : '=');
    }
}

static int is_hex32(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static int store(const void *body, size_t len, int enc, struct ingest_check *out,
                 struct bl_err *err)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct buf scratch = BUF_INIT(0);
    int rc = ingest_check_store(body, len, enc, &lim, &scratch, out, err);

    buf_release(&scratch);
    return rc;
}

static void expect_store_s1(const void *body, size_t len, const char *header)
{
    struct ingest_check out;
    struct bl_err err = { 0, "" };
    int rc = store(body, len, decode_encoding_from_header(header), &out, &err);

    CHECK_INT_EQ(rc, 0);
    if (rc != 0)
        fprintf(stderr, "  Content-Encoding '%s': %s\n", header ? header : "-", err.msg);
    CHECK_STR_EQ(out.event_id, "fc6d8c0c43fc4630ad850ee518f1b9d0");
}

static void test_store(void)
{
    size_t n = strlen(S1);
    struct buf gz = BUF_INIT(1 << 20), zl = BUF_INIT(1 << 20), b64 = BUF_INIT(1 << 20);
    struct buf zs = BUF_INIT(1 << 20);
    struct ingest_check out;
    struct bl_err err = { 0, "" };

    /* S1, and S2 with each Content-Encoding, including the lying ones. */
    expect_store_s1(S1, n, NULL);
    CHECK_INT_EQ(t_deflate_into(S1, n, 15 + 16, &gz), 0);
    CHECK_INT_EQ(t_deflate_into(S1, n, 15, &zl), 0);
    buf_grow(&zs, ZSTD_compressBound(n));
    zs.len = ZSTD_compress(zs.p, zs.cap, S1, n, 3);
    expect_store_s1(gz.p, gz.len, "gzip");
    expect_store_s1(zl.p, zl.len, "deflate");
    expect_store_s1(zl.p, zl.len, "gzip,deflate");
    expect_store_s1(S1_BR, sizeof(S1_BR) - 1, "br");
    expect_store_s1(zs.p, zs.len, "zstd");
    expect_store_s1(S1, n, "");
    expect_store_s1(S1, n, "UTF-8");
    expect_store_s1(gz.p, gz.len, "UTF-8");

    /* S3: base64(zlib(S1)) with no header; plain base64 of JSON too. */
    base64_into(zl.p, zl.len, &b64);
    expect_store_s1(b64.p, b64.len, NULL);
    buf_reset(&b64);
    base64_into(S1, n, &b64);
    expect_store_s1(b64.p, b64.len, NULL);

    /* Ids: normalized, or generated when missing or unusable. */
    {
        const char *dashed = "{\"event_id\":\"FC6D8C0C-43FC-4630-AD85-0EE518F1B9D0\"}";

        CHECK_INT_EQ(store(dashed, strlen(dashed), 0, &out, NULL), 0);
    }
    CHECK_STR_EQ(out.event_id, "fc6d8c0c43fc4630ad850ee518f1b9d0");
    CHECK_INT_EQ(store(" {\"message\":\"no id\"} ", 21, 0, &out, NULL), 0);
    CHECK(is_hex32(out.event_id));
    CHECK_INT_EQ(store("{\"event_id\":\"nope\"}", 19, 0, &out, NULL), 0);
    CHECK(is_hex32(out.event_id));
    CHECK_INT_EQ(store("{\"event_id\":42}", 15, 0, &out, NULL), 0);
    CHECK(is_hex32(out.event_id));

    /* Bad bodies. */
    CHECK_INT_EQ(store("", 0, 0, &out, &err), BL_EPARSE);
    CHECK_INT_EQ(store("[1,2]", 5, 0, &out, &err), BL_EPARSE);
    CHECK_STR_EQ(err.msg, "event is not a JSON object");
    CHECK_INT_EQ(store("{\"a\":}", 6, 0, &out, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "invalid JSON at byte 5") != NULL);
    CHECK_INT_EQ(store("not json", 8, 0, &out, &err), BL_EPARSE);
    CHECK_INT_EQ(store("aGVsbG8=", 8, 0, &out, &err), BL_EPARSE);
    CHECK_INT_EQ(store(gz.p, gz.len - 3, INGEST_ENC_GZIP, &out, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "truncated") != NULL);
    buf_release(&gz);
    buf_release(&zl);
    buf_release(&b64);
    buf_release(&zs);
}

/* S12: 1.5 MiB events are refused, plain or compressed. */
static void test_store_oversize(void)
{
    struct buf ev = BUF_INIT(4u << 20), gz = BUF_INIT(4u << 20);
    struct ingest_check out;
    struct bl_err err = { 0, "" };

    buf_addstr(&ev, "{\"message\":\"");
    while (ev.len < (3u << 19))
        buf_addstr(&ev, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    buf_addstr(&ev, "\"}");
    CHECK_INT_EQ(store(ev.p, ev.len, 0, &out, &err), BL_ETOOBIG);
    CHECK_INT_EQ(t_deflate_into(ev.p, ev.len, 15 + 16, &gz), 0);
    CHECK(gz.len < 64 * 1024);
    CHECK_INT_EQ(store(gz.p, gz.len, INGEST_ENC_GZIP, &out, &err), BL_ETOOBIG);
    buf_release(&ev);
    buf_release(&gz);
}

static int envelope(const void *body, size_t len, int enc, struct ingest_check *out,
                    struct bl_err *err)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct buf scratch = BUF_INIT(0);
    int rc = ingest_check_envelope(body, len, enc, &lim, &scratch, out, err);

    buf_release(&scratch);
    return rc;
}

static void test_envelope_vectors(void)
{
    struct ingest_check out;
    struct bl_err err = { 0, "" };
    struct buf b = BUF_INIT(1 << 20), gz = BUF_INIT(1 << 20);

    /* S4 */
    CHECK_INT_EQ(envelope(S4, strlen(S4), 0, &out, &err), 0);
    CHECK_STR_EQ(out.event_id, "9ec79c33ec9942ab8353589fcb2e04dc");
    CHECK_INT_EQ(out.items[INGEST_ITEM_EVENT], 1);
    CHECK_INT_EQ(out.items[INGEST_ITEM_ATTACHMENT], 1);
    CHECK_STR_EQ(out.dsn_key, "");
    CHECK_INT_EQ(out.dsn_project, 0);
    /* Python sends it gzip'd. */
    CHECK_INT_EQ(t_deflate_into(S4, strlen(S4), 15 + 16, &gz), 0);
    CHECK_INT_EQ(envelope(gz.p, gz.len, INGEST_ENC_GZIP, &out, &err), 0);
    CHECK_STR_EQ(out.event_id, "9ec79c33ec9942ab8353589fcb2e04dc");

    /* S5 */
    CHECK_INT_EQ(envelope(S5, strlen(S5), 0, &out, &err), 0);
    CHECK_STR_EQ(out.event_id, "0123456789abcdef0123456789abcdef");
    CHECK_INT_EQ(out.items[INGEST_ITEM_EVENT], 1);

    /* S6: dsn in the header; no id anywhere, so one is generated. */
    buf_addstr(&b, "{\"dsn\":\"http://" KEY "@127.0.0.1:8000/1\"}\n");
    buf_addstr(&b, S4_ITEMS);
    CHECK_INT_EQ(envelope(b.p, b.len, 0, &out, &err), 0);
    CHECK_STR_EQ(out.dsn_key, KEY);
    CHECK_INT_EQ(out.dsn_project, 1);
    CHECK(is_hex32(out.event_id));
    CHECK_INT_EQ(envelope("{\"dsn\":\"garbage\"}\n", 18, 0, &out, &err), BL_EPARSE);
    CHECK_STR_EQ(err.msg, "envelope header: malformed dsn");

    /* S7 */
    CHECK_INT_EQ(envelope("{}", 2, 0, &out, &err), 0);
    CHECK_STR_EQ(out.event_id, "");
    CHECK_INT_EQ(envelope("{}\n", 3, 0, &out, &err), 0);
    CHECK_STR_EQ(out.event_id, "");
    {
        const char *s7 = "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":"
                         "\"attachment\",\"length\":0}\n\n{\"type\":\"attachment\",\"length\":0}\n";

        CHECK_INT_EQ(envelope(s7, strlen(s7), 0, &out, &err), 0);
        CHECK_INT_EQ(out.items[INGEST_ITEM_ATTACHMENT], 2);
        /* No event item: no id to answer with. */
        CHECK_STR_EQ(out.event_id, "");
    }

    /* S8 */
    {
        const char *a = "{}\n{\"type\":\"event\",\"length\":500}\n"
                        "{\"message\":\"hello world\",\"level\":\"error\"}\n";
        const char *x = "{}\n{\"type\":\"event\",\"length\":41}\n"
                        "{\"message\":\"hello world\",\"level\":\"error\"}X";

        CHECK_INT_EQ(envelope(a, strlen(a), 0, &out, &err), BL_EPARSE);
        CHECK_INT_EQ(envelope(x, strlen(x), 0, &out, &err), BL_EPARSE);
        CHECK_INT_EQ(envelope("nope\n{}\n", 8, 0, &out, &err), BL_EPARSE);
    }

    /* S9 */
    {
        const char *s9 = "{}\n{\"type\":\"future_thing\",\"length\":3}\nabc\n{\"type\":\"event\"}\n"
                         "{\"message\":\"after\"}\n";

        CHECK_INT_EQ(envelope(s9, strlen(s9), 0, &out, &err), 0);
        CHECK_INT_EQ(out.items[INGEST_ITEM_OTHER], 1);
        CHECK_INT_EQ(out.items[INGEST_ITEM_EVENT], 1);
        CHECK(is_hex32(out.event_id));
    }
    buf_release(&b);
    buf_release(&gz);
}

static void test_envelope_s10(void)
{
    static const struct {
        const char *body;
        int item;
    } cases[] = {
        { "{}\n{\"type\":\"session\"}\n{\"sid\":\"7c7b6585-f901-4351-bf8d-02711b721929\","
          "\"init\":true,\"started\":\"2024-05-01T12:00:00Z\",\"status\":\"exited\",\"errors\":0,"
          "\"attrs\":{\"release\":\"app@1.0\",\"environment\":\"production\"}}\n",
          INGEST_ITEM_SESSION },
        { "{}\n{\"type\":\"client_report\",\"length\":110}\n{\"timestamp\":1714564800.0,"
          "\"discarded_events\":[{\"reason\":\"ratelimit_backoff\",\"category\":\"error\","
          "\"quantity\":3}]}\n",
          INGEST_ITEM_CLIENT_REPORT },
        { "{}\n{\"type\":\"check_in\",\"length\":136}\n{\"check_in_id\":"
          "\"83a7c03ed0a04e1b97e2e3b18d38f244\",\"monitor_slug\":\"nightly-job\",\"status\":\"ok\","
          "\"duration\":12.5,\"environment\":\"production\"}\n",
          INGEST_ITEM_CHECK_IN },
        { "{}\n{\"type\":\"log\",\"item_count\":1,\"content_type\":"
          "\"application/vnd.sentry.items.log+json\",\"length\":247}\n{\"items\":[{\"timestamp\":"
          "1714564800.25,\"level\":\"warn\",\"body\":\"disk almost full\",\"trace_id\":"
          "\"5b8efff798038103d269b633813fc60c\",\"attributes\":{\"disk.free_mb\":{\"value\":120,"
          "\"type\":\"integer\"},\"sentry.environment\":{\"value\":\"production\",\"type\":"
          "\"string\"}}}]}\n",
          INGEST_ITEM_LOG },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ingest_check out;
        struct bl_err err = { 0, "" };
        int rc = envelope(cases[i].body, strlen(cases[i].body), 0, &out, &err);

        CHECK_INT_EQ(rc, 0);
        if (rc != 0)
            fprintf(stderr, "  S10 case %zu: %s\n", i, err.msg);
        CHECK_INT_EQ(out.items[cases[i].item], 1);
        CHECK_STR_EQ(out.event_id, "");
    }
}

static void test_envelope_events(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct buf scratch = BUF_INIT(0), b = BUF_INIT(4u << 20), gz = BUF_INIT(4u << 20);
    struct ingest_check out;
    struct bl_err err = { 0, "" };
    const char *own = "{}\n{\"type\":\"event\"}\n{\"event_id\":\"AAAAAAAA-BBBB-CCCC-DDDD-"
                      "EEEEEEEEEEEE\"}\n{\"type\":\"event\"}\n{\"event_id\":"
                      "\"ffffffffffffffffffffffffffffffff\"}\n";
    const char *wins = "{\"event_id\":\"11111111111111111111111111111111\"}\n{\"type\":"
                       "\"event\"}\n{\"event_id\":\"22222222222222222222222222222222\"}\n";

    /* Without a header id, the first event's own id (normalized). */
    CHECK_INT_EQ(envelope(own, strlen(own), 0, &out, &err), 0);
    CHECK_STR_EQ(out.event_id, "aaaaaaaabbbbccccddddeeeeeeeeeeee");
    CHECK_INT_EQ(out.items[INGEST_ITEM_EVENT], 2);
    CHECK_INT_EQ(envelope(wins, strlen(wins), 0, &out, &err), 0);
    CHECK_STR_EQ(out.event_id, "11111111111111111111111111111111");

    /* Event payloads must be JSON objects; other items are not looked at. */
    CHECK_INT_EQ(envelope("{}\n{\"type\":\"event\"}\n{\"a\":\n", 25, 0, &out, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "event: invalid JSON") != NULL);
    CHECK_INT_EQ(envelope("{}\n{\"type\":\"event\"}\n[1]\n", 24, 0, &out, &err), BL_EPARSE);
    CHECK_STR_EQ(err.msg, "event is not a JSON object");
    CHECK_INT_EQ(envelope("{}\n{\"type\":\"event\"}", 19, 0, &out, &err), BL_EPARSE);
    CHECK_INT_EQ(envelope("{}\n{\"type\":\"session\"}\n[1\n", 25, 0, &out, &err), 0);
    CHECK_INT_EQ(envelope("{}\n{\"type\":\"transaction\"}\nx\n", 28, 0, &out, &err), 0);
    CHECK_INT_EQ(out.items[INGEST_ITEM_TRANSACTION], 1);

    /* An event item over max_event, and an envelope over max_body after gunzip. */
    buf_addstr(&b, "{}\n{\"type\":\"event\"}\n{\"m\":\"");
    while (b.len < (3u << 19))
        buf_addstr(&b, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
    buf_addstr(&b, "\"}\n");
    CHECK_INT_EQ(ingest_check_envelope(b.p, b.len, 0, &lim, &scratch, &out, &err), BL_ETOOBIG);
    CHECK_INT_EQ(t_deflate_into(b.p, b.len, 15 + 16, &gz), 0);
    lim.max_body = 1u << 20;
    CHECK_INT_EQ(ingest_check_envelope(gz.p, gz.len, INGEST_ENC_GZIP, &lim, &scratch, &out, &err),
                 BL_ETOOBIG);
    CHECK(scratch.cap <= (2u << 20) + 64);
    buf_release(&scratch);
    buf_release(&b);
    buf_release(&gz);
}

static void test_items(void)
{
    static const struct {
        const char *type;
        int item;
    } cases[] = {
        { "event", INGEST_ITEM_EVENT },
        { "transaction", INGEST_ITEM_TRANSACTION },
        { "attachment", INGEST_ITEM_ATTACHMENT },
        { "session", INGEST_ITEM_SESSION },
        { "sessions", INGEST_ITEM_SESSIONS },
        { "client_report", INGEST_ITEM_CLIENT_REPORT },
        { "check_in", INGEST_ITEM_CHECK_IN },
        { "log", INGEST_ITEM_LOG },
        { "span", INGEST_ITEM_SPAN },
        { "profile", INGEST_ITEM_PROFILE },
        { "profile_chunk", INGEST_ITEM_PROFILE },
        { "replay_event", INGEST_ITEM_REPLAY },
        { "replay_recording", INGEST_ITEM_REPLAY },
        { "otel_log", INGEST_ITEM_OTHER },
        { "statsd", INGEST_ITEM_OTHER },
        { "", INGEST_ITEM_OTHER },
        { "other", INGEST_ITEM_OTHER },
        { "Event", INGEST_ITEM_OTHER },
        { "events", INGEST_ITEM_OTHER },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_INT_EQ(ingest_item_from_type(cases[i].type, strlen(cases[i].type)), cases[i].item);
    CHECK_INT_EQ(ingest_item_from_type("eventX", 5), INGEST_ITEM_EVENT);
    CHECK_STR_EQ(ingest_item_name(INGEST_ITEM_EVENT), "event");
    CHECK_STR_EQ(ingest_item_name(INGEST_ITEM_CLIENT_REPORT), "client_report");
    CHECK_STR_EQ(ingest_item_name(INGEST_ITEM_REPLAY), "replay");
    CHECK_STR_EQ(ingest_item_name(INGEST_ITEM_OTHER), "other");
    CHECK_STR_EQ(ingest_item_name(-1), "other");
    CHECK_STR_EQ(ingest_item_name(INGEST_ITEM__N), "other");
    for (int i = 0; i < INGEST_ITEM_OTHER; i++) {
        const char *n = ingest_item_name(i);

        CHECK_INT_EQ(ingest_item_from_type(n, strlen(n)), i);
    }
}

static void expect_num(double v, int want_rc, int64_t want)
{
    int64_t us = -1;

    CHECK_INT_EQ(ingest_time_from_number(v, &us), want_rc);
    if (want_rc == 0)
        CHECK_INT_EQ(us, want);
}

static void expect_str(const char *s, int want_rc, int64_t want)
{
    int64_t us = -1;

    CHECK_INT_EQ(ingest_time_from_string(s, strlen(s), &us), want_rc);
    if (want_rc == 0)
        CHECK_INT_EQ(us, want);
}

static void test_times(void)
{
    const int64_t t = INT64_C(1714564800000000);

    expect_num(1714564800.5, 0, t + 500000);
    expect_num(1714564800.25, 0, t + 250000);
    expect_num(1714564800.123456, 0, t + 123456);
    expect_num(1714564800.0, 0, t);
    expect_num(1714564800123.0, 0, t + 123000);
    expect_num(1714564800123456.0, 0, t + 123456);
    expect_num(0, 0, 0);
    expect_num(99999999999.0, 0, INT64_C(99999999999000000));
    expect_num(1e11, 0, INT64_C(100000000000000));
    expect_num(1e14, 0, INT64_C(100000000000000));
    expect_num(1e17, -1, 0);
    expect_num(-1, -1, 0);
    expect_num(-0.5, -1, 0);
    expect_num(NAN, -1, 0);
    expect_num(INFINITY, -1, 0);
    expect_num(-INFINITY, -1, 0);

    expect_str("2024-05-01T12:00:00Z", 0, t);
    expect_str("2024-05-01T12:00:00.5Z", 0, t + 500000);
    expect_str("2024-05-01T14:00:00.000+02:00", 0, t);
    expect_str("2024-05-01 12:00:00", 0, t);
    expect_str("1714564800", 0, t);
    expect_str("1714564800.5", 0, t + 500000);
    expect_str("1714564800123", 0, t + 123000);
    expect_str("", -1, 0);
    expect_str("yesterday", -1, 0);
    expect_str("-5", -1, 0);
    expect_str(".5", -1, 0);
    expect_str("1.2.3", -1, 0);
    expect_str("1e5", -1, 0);
    expect_str(" 1714564800", -1, 0);
    expect_str("100000000000000000", -1, 0);
    expect_str("2024-13-01T00:00:00Z", -1, 0);
}

static const char NDJSON[] =
    "{\"message\":\"ok\",\"timestamp\":\"2024-05-01T12:00:00Z\"}\n"   /* 1 ok */
    "{\"msg\":\"ms\",\"ts\":1714564800123}\n"                         /* 2 ok */
    "\n"                                                              /* 3 blank */
    "   \t\r\n"                                                       /* 4 blank */
    "{\"@timestamp\":\"2024-05-01T12:00:00.000Z\",\"log\":\"x\"}\r\n" /* 5 ok */
    "not json\n"                                                      /* 6 bad */
    "[1,2]\n"                                                         /* 7 bad */
    "{\"timestamp\":\"yesterday\"}\n"                                 /* 8 bad */
    "{\"timestamp\":null,\"ts\":\"1714564800.5\"}\n"                  /* 9 ok */
    "{\"timestamp\":true}\n"                                          /* 10 bad */
    "{\"timestamp\":-5}\n"                                            /* 11 bad */
    "{\"ts\":1e30}\n"                                                 /* 12 bad */
    "{\"a\":1\n"                                                      /* 13 bad */
    "{\"timestamp\":\"1714564800\",\"ts\":\"bogus\"}\n"               /* 14 ok */
    "{\"time\":\"whatever\",\"level\":\"info\"}\n"                    /* 15 ok */
    "{\"timestamp\":\"2024-05-01T12:00:00\\u005a\"}\n"                /* 16 ok */
    "{\"x\":1}";                                                      /* 17 ok */

static int ndjson(const void *body, size_t len, int enc, const struct ingest_limits *lim,
                  size_t max_errors, struct pool *pool, struct ingest_ndjson_result *out,
                  struct bl_err *err)
{
    struct buf scratch = BUF_INIT(0);
    int rc = ingest_check_ndjson(body, len, enc, lim, pool, max_errors, &scratch, out, err);

    buf_release(&scratch);
    return rc;
}

static void test_ndjson(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct ingest_ndjson_result r;
    struct bl_err err = { 0, "" };
    struct buf gz = BUF_INIT(1 << 20);
    static const size_t bad_lines[] = { 6, 7, 8, 10, 11, 12, 13 };

    CHECK_INT_EQ(ndjson(NDJSON, strlen(NDJSON), 0, &lim, 100, &pool, &r, &err), 0);
    CHECK_INT_EQ(r.accepted, 8);
    CHECK_INT_EQ(r.rejected, 7);
    CHECK_INT_EQ(r.nerrors, 7);
    for (size_t i = 0; i < r.nerrors && i < 7; i++)
        CHECK_INT_EQ(r.errors[i].line, bad_lines[i]);
    CHECK_STR_EQ(r.errors[0].error, "invalid JSON at byte 0: invalid literal");
    CHECK_STR_EQ(r.errors[1].error, "not a JSON object");
    CHECK_STR_EQ(r.errors[2].error, "unparseable timestamp in \"timestamp\"");
    CHECK_STR_EQ(r.errors[5].error, "unparseable timestamp in \"ts\"");
    CHECK(strncmp(r.errors[6].error, "invalid JSON at byte 6", 22) == 0);

    /* Only the first max_errors are described, all are counted. */
    CHECK_INT_EQ(ndjson(NDJSON, strlen(NDJSON), 0, &lim, 2, &pool, &r, &err), 0);
    CHECK_INT_EQ(r.rejected, 7);
    CHECK_INT_EQ(r.nerrors, 2);
    CHECK_INT_EQ(r.errors[1].line, 7);
    CHECK_INT_EQ(ndjson(NDJSON, strlen(NDJSON), 0, &lim, 0, &pool, &r, &err), 0);
    CHECK_INT_EQ(r.nerrors, 0);

    /* Compressed bodies, empty bodies. */
    CHECK_INT_EQ(t_deflate_into(NDJSON, strlen(NDJSON), 15 + 16, &gz), 0);
    CHECK_INT_EQ(ndjson(gz.p, gz.len, INGEST_ENC_GZIP, &lim, 100, &pool, &r, &err), 0);
    CHECK_INT_EQ(r.accepted, 8);
    CHECK_INT_EQ(r.rejected, 7);
    CHECK_INT_EQ(ndjson("", 0, 0, &lim, 100, &pool, &r, &err), 0);
    CHECK_INT_EQ(r.accepted + r.rejected, 0);
    CHECK_INT_EQ(ndjson("\n\n\r\n", 4, 0, &lim, 100, &pool, &r, &err), 0);
    CHECK_INT_EQ(r.accepted + r.rejected, 0);

    /* Too many lines fails the request; blank lines do not count. */
    lim.max_lines = 14;
    CHECK_INT_EQ(ndjson(NDJSON, strlen(NDJSON), 0, &lim, 100, &pool, &r, &err), BL_ETOOBIG);
    CHECK_STR_EQ(err.msg, "more than 14 lines");
    lim.max_lines = 15;
    CHECK_INT_EQ(ndjson(NDJSON, strlen(NDJSON), 0, &lim, 100, &pool, &r, &err), 0);
    /* Over max_body after decompression. */
    lim.max_body = 100;
    CHECK_INT_EQ(ndjson(gz.p, gz.len, INGEST_ENC_GZIP, &lim, 100, &pool, &r, &err), BL_ETOOBIG);
    CHECK_INT_EQ(ndjson(NDJSON, strlen(NDJSON), 0, &lim, 100, &pool, &r, &err), BL_ETOOBIG);

    /* Lines longer than max_line are rejected, the rest of the body is fine. */
    lim = INGEST_LIMITS_DEFAULT;
    lim.max_line = 20;
    CHECK_INT_EQ(
        ndjson("{\"a\":\"0123456789abcdef\"}\n{\"b\":1}\n", 32, 0, &lim, 10, &pool, &r, &err), 0);
    CHECK_INT_EQ(r.accepted, 1);
    CHECK_INT_EQ(r.rejected, 1);
    CHECK_STR_EQ(r.errors[0].error, "line longer than 20 bytes");
    buf_release(&gz);
    pool_release(&pool);
}

static void test_line_ok(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct bl_err err = { 0, "" };

    CHECK_INT_EQ(ingest_ndjson_line_ok("{}", 2, &lim, &err), 0);
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"ts\":1714564800}", 17, &lim, &err), 0);
    /* The first of timestamp, ts, @timestamp that is present and not null decides. */
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"@timestamp\":\"x\",\"timestamp\":1}", 32, &lim, &err),
                 0);
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"@timestamp\":\"x\",\"ts\":null}", 28, &lim, &err),
                 BL_EPARSE);
    CHECK_STR_EQ(err.msg, "unparseable timestamp in \"@timestamp\"");
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"timestamp\":{}}", 16, &lim, &err), BL_EPARSE);
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"timestamp\":[]}", 16, &lim, &err), BL_EPARSE);
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"timestamp\":\"\"}", 16, &lim, &err), BL_EPARSE);
    /* Nested "timestamp" keys are not the record's timestamp. */
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"x\":{\"timestamp\":\"no\"}}", 24, &lim, &err), 0);
    CHECK_INT_EQ(ingest_ndjson_line_ok("\"str\"", 5, &lim, &err), BL_EPARSE);
    CHECK_STR_EQ(err.msg, "not a JSON object");
    CHECK_INT_EQ(ingest_ndjson_line_ok("", 0, &lim, &err), BL_EPARSE);
    lim.max_depth = 2;
    CHECK_INT_EQ(ingest_ndjson_line_ok("{\"a\":{\"b\":{}}}", 14, &lim, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "nested too deeply") != NULL);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_store();
    test_store_oversize();
    test_envelope_vectors();
    test_envelope_s10();
    test_envelope_events();
    test_items();
    test_times();
    test_ndjson();
    test_line_ok();
    return t_done();
}
