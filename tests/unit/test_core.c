/* Unit tests for src/core: buf, pool, clock, json, event levels, hashes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "t.h"

static void test_buf(void)
{
    struct buf b = BUF_INIT(16);

    CHECK_STR_EQ(b.p, "");
    CHECK_INT_EQ(buf_addstr(&b, "hello"), 0);
    CHECK_INT_EQ(buf_addf(&b, " %d", 42), 0);
    CHECK_STR_EQ(b.p, "hello 42");
    /* Past the cap the append fails and changes nothing. */
    CHECK_INT_EQ(buf_addstr(&b, "0123456789"), BL_ETOOBIG);
    CHECK_STR_EQ(b.p, "hello 42");
    buf_reset(&b);
    CHECK_INT_EQ(buf_add_json_str(&b, "a\"\n\x01", 4), 0);
    CHECK_STR_EQ(b.p, "\"a\\\"\\n\\u0001\"");
    /* An empty slice may have no pointer (fuzz_otlp: a KeyValue without its key). */
    buf_reset(&b);
    CHECK_INT_EQ(buf_add_json_str(&b, NULL, 0), 0);
    CHECK_STR_EQ(b.p, "\"\"");
    buf_release(&b);
    CHECK_STR_EQ(b.p, "");
}

static void test_pool(void)
{
    struct pool p = POOL_INIT(1024);
    char *big;

    CHECK_STR_EQ(pool_strdup(&p, "abc"), "abc");
    CHECK_STR_EQ(pool_printf(&p, "%s-%d", "x", 7), "x-7");
    big = pool_alloc(&p, 100000);
    memset(big, 1, 100000);
    CHECK(((uintptr_t)pool_alloc(&p, 3) & 15) == 0);
    pool_reset(&p);
    CHECK_STR_EQ(pool_strdup(&p, "again"), "again");
    pool_release(&p);
}

static void test_clock(void)
{
    int64_t us = 0;
    char out[40];

    CHECK_INT_EQ(clock_parse_rfc3339("2024-05-01T12:00:00.5Z", 22, &us), 0);
    CHECK_INT_EQ(us, INT64_C(1714564800500000));
    clock_fmt_rfc3339(us, out);
    CHECK_STR_EQ(out, "2024-05-01T12:00:00.500000Z");
    CHECK_INT_EQ(clock_fmt_rfc3339(-1, out), 27);
    CHECK_STR_EQ(out, "1969-12-31T23:59:59.999999Z");
    /* The hand-written formatter agrees with gmtime_r over 400 years of seconds. */
    for (int64_t s = -INT64_C(2208988800); s < INT64_C(10413792000); s += 86399 * 37 + 13) {
        char want[96];
        time_t t = (time_t)s;
        struct tm tm;

        gmtime_r(&t, &tm);
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.000007Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        clock_fmt_rfc3339(s * CLOCK_US_PER_SEC + 7, out);
        if (strcmp(out, want) != 0) {
            CHECK_STR_EQ(out, want);
            break;
        }
    }
    CHECK_INT_EQ(clock_parse_rfc3339("2024-05-01T14:00:00+02:00", 25, &us), 0);
    CHECK_INT_EQ(us, INT64_C(1714564800000000));
    CHECK_INT_EQ(clock_parse_rfc3339("2024-05-01 12:00:00", 19, &us), 0);
    CHECK_INT_EQ(us, INT64_C(1714564800000000));
    CHECK_INT_EQ(clock_parse_rfc3339("2024-13-01T12:00:00Z", 20, &us), BL_EPARSE);
    /* Days that the month does not have, and the leap-year rule. */
    CHECK_INT_EQ(clock_parse_rfc3339("2026-02-30T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_parse_rfc3339("2026-04-31T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_parse_rfc3339("2025-02-29T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_parse_rfc3339("1900-02-29T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_parse_rfc3339("2000-02-29T00:00:00Z", 20, &us), 0);
    CHECK_INT_EQ(clock_parse_rfc3339("2024-02-29T00:00:00Z", 20, &us), 0);
    CHECK_INT_EQ(us, INT64_C(1709164800000000));
    CHECK_INT_EQ(clock_parse_rfc3339("2026-12-31T00:00:00Z", 20, &us), 0);
    CHECK_INT_EQ(clock_parse_rfc3339("yesterday", 9, &us), BL_EPARSE);
    /* Days that do not exist are refused, leap years counted. */
    CHECK_INT_EQ(clock_parse_rfc3339("2026-02-30T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_parse_rfc3339("2026-02-29T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_parse_rfc3339("2024-02-29T00:00:00Z", 20, &us), 0);
    CHECK_INT_EQ(clock_parse_rfc3339("2000-02-29T00:00:00Z", 20, &us), 0);
    CHECK_INT_EQ(clock_parse_rfc3339("1900-02-29T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_parse_rfc3339("2026-04-31T00:00:00Z", 20, &us), BL_EPARSE);
    CHECK_INT_EQ(clock_day_of(-1), -1);
    CHECK_INT_EQ(clock_day_of(CLOCK_US_PER_DAY), 1);
}

static void test_json(void)
{
    struct json_limits lim = { 1024, 3 };
    struct bl_err err = { 0 };
    cJSON *v;
    double d = 0;

    v = json_parse("{\"a\":\"b\",\"n\":2}", 15, &lim, &err);
    CHECK(v != NULL);
    CHECK_STR_EQ(json_str(v, "a"), "b");
    CHECK_INT_EQ(json_num(v, "n", &d), 0);
    CHECK(d == 2);
    CHECK(json_str(v, "n") == NULL);
    cJSON_Delete(v);
    CHECK(json_parse("[[[[1]]]]", 9, &lim, &err) == NULL);
    CHECK_INT_EQ(err.code, BL_EPARSE);
    CHECK(json_parse("{\"a\":1} x", 9, &lim, &err) == NULL);
    CHECK(json_parse("{\"a\":", 5, &lim, &err) == NULL);
    /* Brackets inside strings do not nest, escaped quotes do not end the string. */
    {
        static const char in_str[] = "{\"a\":\"[[[[\\\"[[[[\\\\\",\"b\":[\"\\\"]]]]\"]}";

        v = json_parse(in_str, sizeof(in_str) - 1, &lim, &err);
        CHECK(v != NULL);
        CHECK_STR_EQ(json_str(v, "a"), "[[[[\"[[[[\\");
        cJSON_Delete(v);
    }
    /* A string cut short (no closing quote) after an escape is refused, not read past. */
    CHECK(json_parse("{\"a\":\"x\\\"", 9, &lim, &err) == NULL);
    CHECK(json_parse("{\"a\":\"x\\", 8, &lim, &err) == NULL);
}

/* "\u0000" would end a C string: it reads as U+FFFD, in values and keys alike. */
static void test_json_nul(void)
{
    static const char doc[] = "{\"m\":\"a\\u0000b\\u0000\",\"k\\u0000\":[\"\\\\u0000\"],"
                              "\"u\":\"\\u00001\"} ";
    struct json_limits lim = { 1024, 8 };
    struct bl_err err = { 0 };
    cJSON *v = json_parse(doc, sizeof(doc) - 1, &lim, &err);

    CHECK(v != NULL);
    CHECK_STR_EQ(json_str(v, "m"), "a\xef\xbf\xbd"
                                   "b\xef\xbf\xbd");
    CHECK(json_arr(v, "k\xef\xbf\xbd") != NULL);
    /* An escaped backslash before "u0000" is text, not an escape. */
    CHECK_STR_EQ(cJSON_GetArrayItem(json_arr(v, "k\xef\xbf\xbd"), 0)->valuestring, "\\u0000");
    CHECK_STR_EQ(json_str(v, "u"), "\xef\xbf\xbd"
                                   "1");
    cJSON_Delete(v);
    /* Error offsets are in the client's bytes, copy or not. */
    CHECK(json_parse("{\"a\":\"\\u0000\" x}", 15, &lim, &err) == NULL);
    CHECK_STR_EQ(err.msg, "invalid JSON at byte 14");
    CHECK(json_parse("{\"a\":\"\\u0001\" x}", 15, &lim, &err) == NULL);
    CHECK_STR_EQ(err.msg, "invalid JSON at byte 14");
    CHECK(json_parse("{\"a\":\"\\u0000\"} x", 16, &lim, &err) == NULL);
    CHECK_STR_EQ(err.msg, "unexpected data after JSON at byte 15");
    CHECK(json_parse("\"\\u0000", 7, &lim, &err) == NULL);
}

/*
 * Documents of 64 bytes and more are prescanned 16 bytes at a time: the same
 * strings, escapes and depths as above, shifted across every block offset.
 */
static void test_json_long(void)
{
    static const char nul_doc[] = "{\"m\":\"a\\u0000b\\u0000\",\"k\\u0000\":[\"\\\\u0000\"],"
                                  "\"u\":\"\\u00001\",\"s\":\"[[[[\\\"{{{{\\\\\",\"d\":[[[1]]]} ";
    struct json_limits lim = { 4096, 4 };
    char doc[256];

    for (size_t pad = 0; pad < 48; pad++) {
        size_t n = pad + sizeof(nul_doc) - 1;
        cJSON *v, *arr;

        memset(doc, ' ', pad);
        memcpy(doc + pad, nul_doc, sizeof(nul_doc) - 1);
        v = json_parse(doc, n, &lim, NULL);
        CHECK(v != NULL);
        if (v == NULL)
            continue;
        CHECK_STR_EQ(json_str(v, "m"), "a\xef\xbf\xbd"
                                       "b\xef\xbf\xbd");
        arr = json_arr(v, "k\xef\xbf\xbd");
        CHECK(arr != NULL && strcmp(cJSON_GetArrayItem(arr, 0)->valuestring, "\\u0000") == 0);
        CHECK_STR_EQ(json_str(v, "u"), "\xef\xbf\xbd"
                                       "1");
        CHECK_STR_EQ(json_str(v, "s"), "[[[[\"{{{{\\");
        cJSON_Delete(v);
        /* One level deeper than the limit, outside a string: refused. */
        lim.max_depth = 3;
        CHECK(json_parse(doc, n, &lim, NULL) == NULL);
        lim.max_depth = 4;
    }
}

static void test_levels(void)
{
    int l = -1;

    CHECK_INT_EQ(ev_level_parse("WARN", 4, &l), 0);
    CHECK_INT_EQ(l, EV_WARNING);
    CHECK_INT_EQ(ev_level_parse("critical", 8, &l), 0);
    CHECK_INT_EQ(l, EV_FATAL);
    CHECK_INT_EQ(ev_level_parse("40", 2, &l), 0);
    CHECK_INT_EQ(l, EV_ERROR);
    CHECK_INT_EQ(ev_level_parse("bogus", 5, &l), -1);
    CHECK_STR_EQ(ev_level_name(EV_INFO), "info");
}

static void test_hash(void)
{
    char a[33], b[33];

    hash_hex128("x", 1, a);
    hash_hex128("x", 1, b);
    CHECK_STR_EQ(a, b);
    CHECK_INT_EQ(strlen(a), 32);
    rand_hex(a, 16);
    CHECK_INT_EQ(strlen(a), 32);
    CHECK(hash64("a", 1) != hash64("b", 1));
}

/*
 * The table hash reads every byte of a key of any length, the tail's too
 * (it is read with overlapping loads), and not past it: the same key at
 * another address hashes the same, and changing any one byte changes it.
 */
static void test_hash_table(void)
{
    unsigned char key[64], copy[80];

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 1; len <= 40; len++) {
        uint64_t h = hash_table(key, len);

        memset(copy, 0xa5, sizeof(copy));
        memcpy(copy + 3, key, len);
        CHECK(hash_table(copy + 3, len) == h);
        copy[3 + len] ^= 0xff; /* a byte after the key */
        CHECK(hash_table(copy + 3, len) == h);
        for (size_t at = 0; at < len; at++) {
            copy[3 + at] ^= 0x01;
            CHECK(hash_table(copy + 3, len) != h);
            copy[3 + at] ^= 0x01;
        }
        CHECK(hash_table(key, len - 1) != h);
    }
}

/*
 * The UTC shape ("...Z") has a fast reader of its own: over generated and
 * mutated timestamps it must give what the general parser gives for the
 * same instant written with "+00:00".
 */
static void test_clock_utc(void)
{
    static const char bytes[] = "0123456789-:.TZz ,+x";
    uint64_t r = UINT64_C(0x2545f4914f6cdd1d);
    int bad = 0;

    for (int n = 0; n < 20000; n++) {
        char z[64], off[72];
        int64_t a = 0, b = 0;
        int len, ra, rb;

        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        len = snprintf(z, sizeof(z), "%04u-%02u-%02uT%02u:%02u:%02u", (unsigned)(r % 10000),
                       (unsigned)(r >> 14) % 14, (unsigned)(r >> 18) % 33, (unsigned)(r >> 24) % 25,
                       (unsigned)(r >> 30) % 61, (unsigned)(r >> 36) % 62);
        if ((r >> 42) % 3 > 0)
            len += snprintf(z + len, sizeof(z) - (size_t)len, ".%.*u", (int)((r >> 44) % 10),
                            (unsigned)(r >> 48) % 1000000000u);
        if ((r >> 58) % 4 == 0)
            z[(r >> 50) % (unsigned)len] = bytes[(r >> 54) % (sizeof(bytes) - 1)];
        memcpy(off, z, (size_t)len);
        memcpy(off + len, "+00:00", 7);
        z[len] = 'Z';
        z[len + 1] = '\0';
        ra = clock_parse_rfc3339(z, (size_t)len + 1, &a);
        rb = clock_parse_rfc3339(off, (size_t)len + 6, &b);
        if ((ra != rb || (ra == 0 && a != b)) && bad++ < 5)
            fprintf(stderr, "\"%s\": %d %lld, \"%s\": %d %lld\n", z, ra, (long long)a, off, rb,
                    (long long)b);
    }
    CHECK_INT_EQ(bad, 0);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_buf();
    test_pool();
    test_clock();
    test_clock_utc();
    test_json();
    test_json_nul();
    test_json_long();
    test_levels();
    test_hash();
    test_hash_table();
    return t_done();
}
