/*
 * test_logattr.c - a log line's "service" read from its payload
 * (store/logattr.c): fixed cases, then random objects against cJSON with
 * the search document's rule (la_diff.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "la_diff.h"
#include "store/logattr.h"
#include "t.h"

static void one(const char *json, int want, const char *want_v)
{
    const char *v;
    size_t n;
    int r = la_service(json, strlen(json), &v, &n);

    CHECK_INT_EQ(r, want);
    if (r == LA_VALUE && want == LA_VALUE)
        CHECK(n == strlen(want_v) && memcmp(v, want_v, n) == 0);
    if (r != want)
        fprintf(stderr, "  for %s\n", json);
    CHECK_INT_EQ(la_diff(json, strlen(json)), 0);
}

static void test_cases(void)
{
    one("{\"service\":\"checkout\"}", LA_VALUE, "checkout");
    one(" {\n\t\"msg\" : \"x\" , \"Service\" : \"web\" }", LA_VALUE, "web");
    one("{\"SERVICE\":\"\"}", LA_VALUE, "");
    one("{\"a\":{\"service\":\"inner\"},\"b\":[1,\"]\",{}],\"service\":\"outer\"}", LA_VALUE,
        "outer");
    one("{\"a\":\"q\\\"}\",\"service\":\"s\"}", LA_VALUE, "s");
    one("{\"service\":\"a\",\"service\":\"b\"}", LA_VALUE, "a");
    one("{\"message\":\"no service here\",\"services\":\"x\",\"servic\":\"y\"}", LA_NONE, NULL);
    one("{}", LA_NONE, NULL);
    one("{\"n\":-1.5e3,\"t\":true,\"z\":null}", LA_NONE, NULL);
    /* not plain: the payload must say */
    one("{\"service\":42}", LA_OTHER, NULL);
    one("{\"service\":true}", LA_OTHER, NULL);
    one("{\"service\":null}", LA_OTHER, NULL);
    one("{\"service\":{\"name\":\"x\"}}", LA_OTHER, NULL);
    one("{\"service\":\"a\\u0062c\"}", LA_OTHER, NULL);
    one("{\"s\\u0065rvice\":\"x\"}", LA_OTHER, NULL);
    one("{\"x\\n\":1,\"service\":\"y\"}", LA_OTHER, NULL);
    one("[\"service\",\"x\"]", LA_OTHER, NULL);
    one("[Filtered]", LA_OTHER, NULL);
    one("", LA_OTHER, NULL);
    one("{\"service\":\"unterminated", LA_OTHER, NULL);
    one("{\"a\":", LA_OTHER, NULL);
    one("{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]],\"service\":\"deep\"}", LA_OTHER, NULL);
    /* stops at every place of the bytes read 8 and 16 at a time */
    one("{\"timestamp_of_the_line\":\"2026-12-02T10:11:12.123456Z\",\"service\":\"api\"}", LA_VALUE,
        "api");
    one("{\"a\":\"0123456789abcdef\\\\\",\"service\":\"0123456789abcdefghijkl\"}", LA_VALUE,
        "0123456789abcdefghijkl");
    one("{\"a\":\"0123456789abcdef\\\"\",\"service\":\"x\"}", LA_VALUE, "x");
    one("{\"a\":\"0123456789abcde\\\"0123456789abcdef\\\"\",\"service\":\"x\"}", LA_VALUE, "x");
    one("{\"service\":\"0123456789abcdef\tx\"}", LA_OTHER, NULL);
    one("{\"service\":\"0123456789abcdefghij\\\"\"}", LA_OTHER, NULL);
    one("{\"0123456789abcdefghij\\\"\":1,\"service\":\"x\"}", LA_OTHER, NULL);
    one("{\"0123456789abcdefghij\\u0041\":"
        "\"\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\","
        "\"service\":\"x\"}",
        LA_OTHER, NULL);
    one("{\"\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\":"
        "\"\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\\\"\","
        "\"service\":\"\xc3\xb6-svc\"}",
        LA_VALUE, "\xc3\xb6-svc");
    {
        /* a string's end found in its last 1-20 bytes, whatever the length read */
        char j[128], want[8];

        for (int k = 0; k < 40; k++) {
            snprintf(j, sizeof(j), "{\"a\":\"%.*s\",\"service\":\"s%d\"}", k,
                     "0123456789abcdefghijklmnopqrstuvwxyz0123", k);
            snprintf(want, sizeof(want), "s%d", k);
            one(j, LA_VALUE, want);
            /* cut before the service's closing quote: no end within the length */
            CHECK_INT_EQ(la_service(j, strlen(j) - 2, &(const char *){ NULL }, &(size_t){ 0 }),
                         LA_OTHER);
        }
    }
    {
        const char *v;
        size_t n;

        CHECK_INT_EQ(la_service(NULL, 0, &v, &n), LA_OTHER);
        /* read within the length: the member past it is not seen */
        CHECK_INT_EQ(la_service("{\"service\":\"x\"}", 5, &v, &n), LA_OTHER);
    }
}

/* and names and strings longer than the 8 and 16 bytes read at a time, their stops past them */
static const char *const keys[] = { "service",
                                    "Service",
                                    "message",
                                    "level",
                                    "svc",
                                    "serv\\u0069ce",
                                    "host",
                                    "a b",
                                    "",
                                    "a_member_name_of_32_bytes_or_so_",
                                    "0123456789abcdefg\\\"service",
                                    "0123456\\u0073ervice_and_more_bytes",
                                    "n\xc3\xa4me_of_\xc3\xa4 few_more_bytes" };
static const char *const vals[] = { "\"checkout\"",
                                    "\"\"",
                                    "1",
                                    "-2.5",
                                    "true",
                                    "null",
                                    "{}",
                                    "[\"service\",{\"service\":\"x\"}]",
                                    "\"a\\\"b\"",
                                    "{\"service\":\"in\"}",
                                    "\"h\\u00f6st\"",
                                    "\"w\xc3\xb6rd\"",
                                    "\"0123456789abcdefghij\\\"service\\\\\"",
                                    "\"0123456789abcdefghij\\\\\"",
                                    "\"0123456\\\\\"",
                                    "\"0123456789abcdef\"",
                                    "\"0123456789abcde\"",
                                    "\"\xc3\xb6"
                                    "123456789abcdefghijklmnop\\\"q\"",
                                    "[\"0123456789abcdefghij}]\",\"\\\"]}\"]" };

/* Random objects of the pieces above, compared with cJSON. */
static void test_random(void)
{
    struct buf b = BUF_INIT(1 << 16);
    unsigned seed = 12345;

    for (int round = 0; round < 20000; round++) {
        size_t nm = (size_t)(rand_r(&seed) % 5);

        buf_reset(&b);
        buf_addstr(&b, rand_r(&seed) % 8 == 0 ? " { " : "{");
        for (size_t m = 0; m < nm; m++) {
            const char *k = keys[rand_r(&seed) % (sizeof(keys) / sizeof(keys[0]))];
            const char *v = vals[rand_r(&seed) % (sizeof(vals) / sizeof(vals[0]))];

            buf_addf(&b, "%s\"%s\"%s:%s", m > 0 ? "," : "", k, rand_r(&seed) % 4 ? "" : " ", v);
        }
        buf_addstr(&b, "}");
        if (la_diff(b.p, b.len) != 0) {
            fprintf(stderr, "differs: %.*s\n", (int)b.len, b.p);
            CHECK(0);
        } else {
            CHECK(1);
        }
    }
    buf_release(&b);
}

int main(void)
{
    test_cases();
    test_random();
    return t_done();
}
