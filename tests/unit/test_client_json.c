/*
 * test_client_json.c - libbilor's JSON writer (escaping, UTF-8 repair,
 * cutting) and checker (the raw JSON of bilor_event_extra_json()), and the
 * capped buffer under it. The writer's output is read back with the
 * server's own parser, so both sides agree on every byte.
 */
#include <stdlib.h>
#include <string.h>

#include "client/buf.h"
#include "client/json.h"
#include "core/hash.h"
#include "core/json.h"

#include "t.h"

static struct bc_buf qbuf;

/* s as a JSON string, valid until the next call. */
static const char *quoted(const char *s, size_t n)
{
    if (qbuf.a != NULL)
        bc_buf_release(&qbuf);
    bc_buf_init(&qbuf, &bc_default_alloc, 1 << 20);
    bc_json_str(&qbuf, s, n);
    return bc_buf_str(&qbuf);
}

static void test_escapes(void)
{
    CHECK_STR_EQ(quoted("plain", 5), "\"plain\"");
    CHECK_STR_EQ(quoted("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    CHECK_STR_EQ(quoted("l1\nl2\r\t", 7), "\"l1\\nl2\\r\\t\"");
    CHECK_STR_EQ(quoted("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
    CHECK_STR_EQ(quoted("nul\0byte", 8), "\"nul\\u0000byte\"");
    CHECK_STR_EQ(quoted("", 0), "\"\"");
}

static void test_utf8(void)
{
    /* Valid sequences of 2, 3 and 4 bytes pass through unchanged. */
    CHECK_STR_EQ(quoted("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
                 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* Stray, overlong, surrogate, too large, truncated: U+FFFD each. */
    CHECK_STR_EQ(quoted("a\xff"
                        "b",
                        3),
                 "\"a\xef\xbf\xbd"
                 "b\"");
    CHECK_STR_EQ(quoted("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR_EQ(quoted("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR_EQ(quoted("\xf4\x90\x80\x80", 4),
                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR_EQ(quoted("x\xe2\x82", 3), "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_INT_EQ(bc_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
    CHECK_INT_EQ(bc_utf8_seq((const unsigned char *)"\xf0\x9f\x98", 3), 0);
}

static void test_cut(void)
{
    struct bc_buf b;

    bc_buf_init(&b, &bc_default_alloc, 1024);
    /* Three 2-byte characters cut at 5 bytes keep two whole ones. */
    bc_json_str_cut(&b, "\xc3\xa9\xc3\xa9\xc3\xa9", 6, 5);
    CHECK_STR_EQ(bc_buf_str(&b), "\"\xc3\xa9\xc3\xa9\"");
    bc_buf_release(&b);
    bc_json_str_cut(&b, "abcdef", 6, 3);
    CHECK_STR_EQ(bc_buf_str(&b), "\"abc\"");
    bc_buf_release(&b);
}

/* Every byte value survives a round trip through the server's parser. */
static void test_roundtrip(void)
{
    char in[256];
    struct bc_buf b;
    cJSON *v;

    for (int i = 0; i < 127; i++)
        in[i] = (char)(i + 1);
    bc_buf_init(&b, &bc_default_alloc, 4096);
    bc_json_str(&b, in, 127);
    v = json_parse(b.p, b.len, &JSON_LIMITS_DEFAULT, NULL);
    CHECK(v != NULL && cJSON_IsString(v));
    if (v != NULL && cJSON_IsString(v)) {
        CHECK_INT_EQ(strlen(v->valuestring), 127);
        CHECK(memcmp(v->valuestring, in, 127) == 0);
    }
    cJSON_Delete(v);
    bc_buf_release(&b);
}

static void test_numbers_keys(void)
{
    struct bc_buf b;
    int n = 0;

    bc_buf_init(&b, &bc_default_alloc, 4096);
    bc_buf_addc(&b, '{');
    bc_json_key(&b, &n, "a");
    bc_json_double(&b, 1.5);
    bc_json_key(&b, &n, "nan");
    bc_json_double(&b, 0.0 / 0.0);
    bc_json_key(&b, &n, "s");
    bc_json_strz(&b, NULL);
    bc_buf_addc(&b, '}');
    CHECK_STR_EQ(bc_buf_str(&b), "{\"a\":1.5,\"nan\":null,\"s\":null}");
    CHECK_INT_EQ(n, 3);
    bc_buf_release(&b);
}

static void check_ok(const char *in, const char *minified)
{
    struct bc_buf b;
    int rc;

    bc_buf_init(&b, &bc_default_alloc, 4096);
    rc = bc_json_check(in, strlen(in), &b);
    CHECK_INT_EQ(rc, 0);
    CHECK_STR_EQ(bc_buf_str(&b), minified);
    CHECK_INT_EQ(bc_json_check(in, strlen(in), NULL), 0);
    bc_buf_release(&b);
}

static void check_bad(const char *in)
{
    struct bc_buf b;
    int rc;

    bc_buf_init(&b, &bc_default_alloc, 4096);
    bc_buf_adds(&b, "keep");
    rc = bc_json_check(in, strlen(in), &b);
    if (rc != BILOR_EINVAL)
        fprintf(stderr, "accepted bad JSON: %s\n", in);
    CHECK_INT_EQ(rc, BILOR_EINVAL);
    CHECK_STR_EQ(bc_buf_str(&b), "keep");
    bc_buf_release(&b);
}

static void test_check(void)
{
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{'a':1}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "tru",
        "nul",
        "\"unterminated",
        "\"bad \\x escape\"",
        "\"\\u12\"",
        "{\"a\" 1}",
        "{1:2}",
        "[1 2]",
        "1 2",
        "\"ctl \x01\"",
        "\"\xff\"",
        "[-]",
        "{\"a\":}",
        "]",
        "[}",
    };
    char deep[200];

    check_ok(" { \"a\" : [ 1 , -2.5e+3 , true , false , null ] , \"b\" : { } } ",
             "{\"a\":[1,-2.5e+3,true,false,null],\"b\":{}}");
    check_ok("\"s p a c e s\\n\\u00e9\"", "\"s p a c e s\\n\\u00e9\"");
    check_ok("0", "0");
    check_ok("[[],{}]", "[[],{}]");
    check_ok("{\"\xc3\xa9\":\"\xe2\x82\xac\"}", "{\"\xc3\xa9\":\"\xe2\x82\xac\"}");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_bad(bad[i]);
    /* Nesting: BC_JSON_MAX_DEPTH levels pass, one more does not. */
    memset(deep, '[', BC_JSON_MAX_DEPTH);
    memset(deep + BC_JSON_MAX_DEPTH, ']', BC_JSON_MAX_DEPTH);
    deep[2 * BC_JSON_MAX_DEPTH] = '\0';
    CHECK_INT_EQ(bc_json_check(deep, strlen(deep), NULL), 0);
    memset(deep, '[', BC_JSON_MAX_DEPTH + 1);
    memset(deep + BC_JSON_MAX_DEPTH + 1, ']', BC_JSON_MAX_DEPTH + 1);
    deep[2 * BC_JSON_MAX_DEPTH + 2] = '\0';
    CHECK_INT_EQ(bc_json_check(deep, strlen(deep), NULL), BILOR_EINVAL);
}

static int fail_after;

static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    return fail_after-- > 0 ? malloc(n) : NULL;
}

static void *count_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return fail_after-- > 0 ? realloc(p, n) : NULL;
}

static void plain_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static void test_buf_limits(void)
{
    static const struct bilor_allocator failing = { count_malloc, count_realloc, plain_free, NULL };
    struct bc_buf b;
    char big[300];

    bc_buf_init(&b, &bc_default_alloc, 10);
    CHECK_INT_EQ(bc_buf_adds(&b, "0123456789"), 0);
    CHECK_INT_EQ(bc_buf_addc(&b, 'x'), BILOR_ETOOBIG);
    CHECK_INT_EQ(bc_buf_adds(&b, ""), BILOR_ETOOBIG); /* sticky */
    CHECK_STR_EQ(bc_buf_str(&b), "0123456789");
    bc_buf_release(&b);

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bc_buf_init(&b, &bc_default_alloc, 1000);
    CHECK_INT_EQ(bc_buf_addf(&b, "%s|%d", big, 42), 0);
    CHECK_INT_EQ(b.len, 302);
    bc_buf_release(&b);

    fail_after = 1;
    bc_buf_init(&b, &failing, 1 << 20);
    CHECK_INT_EQ(bc_buf_adds(&b, "first"), 0);
    CHECK_INT_EQ(bc_buf_add(&b, big, sizeof(big)), BILOR_ENOMEM);
    CHECK_INT_EQ(bc_buf_adds(&b, "x"), BILOR_ENOMEM);
    CHECK_STR_EQ(bc_buf_str(&b), "first");
    bc_buf_release(&b);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_escapes();
    test_utf8();
    test_cut();
    test_roundtrip();
    test_numbers_keys();
    test_check();
    test_buf_limits();
    bc_buf_release(&qbuf);
    return t_done();
}
