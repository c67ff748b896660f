/*
 * test_json.c - json_parse's own one-pass parse against the prescan and
 * cJSON (json_parse_slow): the same tree, node for node (types, keys,
 * strings, both number fields bit for bit, the next and prev links), or the
 * same error, on hand-made edge cases, on the test data's JSON documents and
 * thousands of mutations of them, and on generated text that is strict JSON
 * or one of cJSON's leniencies. Run without cJSON's hooks, with them, and
 * inside a json_pool window, as the server runs it.
 */
#include <math.h>
#include <stdint.h>

#include "../fuzz/json_diff.h"
#include "t.h"
#include "core/json.h"
#include "core/pool.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static int fast_trees;      /* documents json_parse accepted: the comparison is not vacuous */
static struct pool *window; /* the json_pool window's pool, reset after each document */

static void both(const char *p, size_t len, int max_depth)
{
    int fast = 0;

    if (json_diff(p, len, max_depth, &fast) != 0) {
        t_fail++;
        fprintf(stderr, "differs on %zu bytes: %.*s\n", len, (int)(len < 300 ? len : 300), p);
    } else {
        t_pass++;
    }
    fast_trees += fast;
    if (window != NULL) { /* as the digest does it: the window ends before the reset */
        json_pool_end();
        pool_reset(window);
        json_pool_begin(window);
    }
}

static void both_str(const char *s)
{
    both(s, strlen(s), 8);
}

static const char *const cases[] = {
    "{}",
    "[]",
    " {} ",
    "\t[\r\n]\n",
    "{\"a\":1}",
    "[1,2,3]",
    "[[[]]]",
    "{\"a\":{\"b\":{}}}",
    "\"x\"",
    "1",
    "-1",
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1e5",
    "1E+5",
    "1e-5",
    "1.5e300",
    "1e400",
    "-1e400",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "123456789012345",
    "-123456789012345",
    "1234567890123456",
    "9007199254740993",
    "0.1",
    "3.14159265358979323846",
    "1.7976931348623157e308",
    "4.9e-324",
    "2.5e-324",
    "1e-400",
    "123456789012345678901234567890123456789012345678901234567890123",
    "1234567890123456789012345678901234567890123456789012345678901234",
    "12345678901234567890123456789012345678901234567890123456789012345678",
    "01",
    "-01",
    "00",
    "1.",
    "-",
    "+1",
    ".5",
    "1e",
    "1e+",
    "1.5.3",
    "1-",
    "1e5e5",
    "-a",
    "0x10",
    "1 2",
    "true",
    "false",
    "null",
    "tru",
    "nul",
    "fals",
    "nullx",
    "truefalse",
    "True",
    "NULL",
    "\"\\u0000\"",
    "\"a\\u0000b\"",
    "\"\\u00e9\\u20ac\\ud83d\\ude00\"",
    "\"\\ud83d\"",
    "\"\\ud83dx\"",
    "\"\\ude00\"",
    "\"\\ud83d\\u0041\"",
    "\"\\ud83d\\u0000\"",
    "\"\\uZZZZ\"",
    "\"\\u12\"",
    "\"\\u\"",
    "\"\\x\"",
    "\"\\\"",
    "\"\\",
    "\"",
    "\"a",
    "\"a\\\"\"",
    "\"\\/\"",
    "\"\\b\\f\\n\\r\\t\"",
    "\"\\U0041\"",
    "\"\\u00411\"",
    "\"\\uDBFF\\uDFFF\"",
    "\"\\uD800\\uDC00\"",
    "\"tab\there\"",
    "\"nl\nhere\"",
    "\"\x01\"",
    "\"\x7f\"",
    "\"\xff\xfe\"",
    "\"\xc3\xa9\"",
    "{\"a\":1,}",
    "[1,]",
    "[,1]",
    "{,}",
    "{\"a\" 1}",
    "{\"a\":}",
    "{a:1}",
    "{\"a\":1 \"b\":2}",
    "[1 2]",
    "{\"a\":1}}",
    "[1]]",
    "[",
    "{",
    "]",
    "}",
    "",
    " ",
    "\x01{}",
    "{}\x01",
    "{\x0b}",
    "\xef\xbb\xbf{}",
    "{\"a\":1,\"a\":2}",
    "{\"\":\"\"}",
    "{\"k\\u0000\":1}",
    "{\"k\\\"\":1}",
    "[null,true,false,\"s\",1.5,{},[]]",
    "{\"a\":[{\"b\":[1,{\"c\":null}]}]}",
    "[[[[[[[[1]]]]]]]]",
    "[[[[[[[[[1]]]]]]]]]",
    "[[[[[[[[[\"]]]]]]]]]\"",
    "{\"a\":\"[[[[[[[[[[\"}",
    "  \"x\"  ",
    "\"x\" \"y\"",
    "[\"a\",\"b\\\"c\",\"\\\\\"]",
    "[1e5,-2E-3,0.5e+7]",
    "{\"n\":-0,\"m\":-0.0e0}",
    "[1\x00]",
    "{\"a\":\"\x00\"}",
};

/* A piece of JSON or almost-JSON text, appended to b. */
static void gen_value(struct buf *b, int depth);

static void gen_ws(struct buf *b)
{
    static const char *const ws[] = { "", "", "", " ", "\n  ", "\t", "\r\n", "\x0b", "\x01" };
    uint32_t i = rnd(40);

    (void)buf_addstr(b, i < 8 ? ws[i] : "");
}

static void gen_string(struct buf *b)
{
    static const char *const parts[] = {
        "a",
        "hello",
        " ",
        "é",
        "\xff",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\t",
        "\\u0041",
        "\\u00e9",
        "\\u20ac",
        "\\u0000",
        "\\ud83d\\ude00",
        "\\ud83d",
        "\\ude00",
        "\\uZZ12",
        "\\x",
        "\t",
        "\x01",
        "[",
        "{",
        "}",
        "]",
        ",",
        ":",
        "0123456789",
        "\\u0000\\u0000",
        "\\",
        "\"",
    };
    int n = (int)rnd(6);

    (void)buf_addstr(b, "\"");
    for (int i = 0; i < n; i++) {
        uint32_t k = rnd(sizeof(parts) / sizeof(parts[0]));

        /* the last two break the string: rarely */
        if (k >= sizeof(parts) / sizeof(parts[0]) - 2 && rnd(8) != 0)
            k = 0;
        (void)buf_addstr(b, parts[k]);
    }
    (void)buf_addstr(b, "\"");
}

static void gen_value(struct buf *b, int depth)
{
    static const char *const scalars[] = {
        "0",
        "-0",
        "1",
        "-17",
        "3.25",
        "1e3",
        "-2.5E-7",
        "123456789012345",
        "1234567890123456789",
        "2147483648",
        "-2147483649",
        "1e400",
        "0.1",
        "true",
        "false",
        "null",
        "01",
        "1.",
        "+1",
        ".5",
        "-",
        "1e",
        "nul",
        "tru",
        "1.2.3",
        "0x1",
        "1e5e",
        "-0.0",
        "4.9e-324",
        "99999999999999999999",
    };
    uint32_t k = rnd(depth > 6 ? 4 : 10);

    gen_ws(b);
    if (k < 2) {
        uint32_t s = rnd(sizeof(scalars) / sizeof(scalars[0]));

        (void)buf_addstr(b, scalars[s >= 16 && rnd(6) != 0 ? s % 16 : s]);
    } else if (k < 4) {
        gen_string(b);
    } else {
        int obj = k < 7, n = (int)rnd(5);

        (void)buf_addstr(b, obj ? "{" : "[");
        for (int i = 0; i < n; i++) {
            if (i > 0)
                (void)buf_addstr(b, rnd(60) == 0 ? "" : ",");
            if (obj) {
                gen_ws(b);
                gen_string(b);
                gen_ws(b);
                (void)buf_addstr(b, rnd(60) == 0 ? "" : ":");
            }
            gen_value(b, depth + 1);
        }
        if (n > 0 && rnd(80) == 0)
            (void)buf_addstr(b, ",");
        gen_ws(b);
        (void)buf_addstr(b, obj ? "}" : "]");
    }
    gen_ws(b);
}

static void run_generated(int rounds)
{
    struct buf b = BUF_INIT(256);

    for (int i = 0; i < rounds; i++) {
        b.len = 0;
        gen_value(&b, 0);
        both(b.p, b.len, 1 + (int)rnd(10));
    }
    buf_release(&b);
}

/* Each of the data's JSON documents, and mutations of it. */
static void run_mutations(const char *dir, int per_file)
{
    static const char bytes[] = "\"\\{}[],:0-.eE+ \n\tu\x01\xff"
                                "a";
    char path[1024];
    DIR *d = opendir(dir);
    struct dirent *de;

    CHECK(d != NULL);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name), len = 0;
        char *doc, *m;

        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        doc = t_read_file(path, &len);
        CHECK(doc != NULL);
        if (doc == NULL)
            continue;
        both(doc, len, 64);
        both(doc, len, 3);
        m = malloc(len + 2);
        for (int i = 0; i < per_file && m != NULL && len > 0; i++) {
            size_t at = rnd((uint32_t)len), mlen = len;

            memcpy(m, doc, len);
            switch (rnd(4)) {
            case 0: /* replace a byte */
                m[at] = bytes[rnd(sizeof(bytes) - 1)];
                break;
            case 1: /* delete one */
                memmove(m + at, m + at + 1, len - at - 1);
                mlen--;
                break;
            case 2: /* insert one */
                memmove(m + at + 1, m + at, len - at);
                m[at] = bytes[rnd(sizeof(bytes) - 1)];
                mlen++;
                break;
            default: /* cut short */
                mlen = at;
                break;
            }
            both(m, mlen, 64);
        }
        free(m);
        free(doc);
    }
    closedir(d);
}

static void run_all(int rounds)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        both_str(cases[i]);
    /* cases with a NUL inside: strlen would cut them */
    both("[1\0]", 4, 8);
    both("{\"a\":\"\0\"}", 9, 8);
    both("\"a\0b\"", 5, 8);
    run_generated(rounds);
    run_mutations(T_DATA "/fingerprint", rounds / 100);
    run_mutations(T_DATA "/grouping", rounds / 100);
    run_mutations(T_DATA "/normalize", rounds / 100);
}

/* Nesting at cJSON's own limit of 1000 and the configured one. */
static void test_depth(void)
{
    struct buf b = BUF_INIT(4096);

    for (int n = 998; n <= 1002; n++) {
        b.len = 0;
        for (int i = 0; i < n; i++)
            (void)buf_addstr(&b, "[");
        for (int i = 0; i < n; i++)
            (void)buf_addstr(&b, "]");
        both(b.p, b.len, 2000);
        both(b.p, b.len, n);
        both(b.p, b.len, n - 1);
    }
    buf_release(&b);
}

int main(void)
{
    struct pool pool;

    run_all(3000); /* cJSON's default hooks: malloc and free */
    json_global_init();
    run_all(20000);
    test_depth();
    pool_init(&pool, 64 * 1024);
    json_pool_begin(&pool); /* the digest's way: frees are no-ops, the pool is reset */
    window = &pool;
    run_all(3000);
    window = NULL;
    json_pool_end();
    pool_release(&pool);
    CHECK(fast_trees > 10000);
    return t_done();
}
