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
    {
        const char *v;
        size_t n;

        CHECK_INT_EQ(la_service(NULL, 0, &v, &n), LA_OTHER);
        /* read within the length: the member past it is not seen */
        CHECK_INT_EQ(la_service("{\"service\":\"x\"}", 5, &v, &n), LA_OTHER);
    }
}

static const char *const keys[] = { "service",       "Service", "message", "level", "svc",
                                    "serv\\u0069ce", "host",    "a b",     "" };
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
                                    "\"w\xc3\xb6rd\"" };

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
