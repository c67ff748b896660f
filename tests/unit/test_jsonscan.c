/*
 * test_jsonscan.c - the door's JSON validator: data-driven accept/reject
 * cases (tests/data/ingest/jsonscan.test), member callbacks, unquoting, the
 * agreement with cJSON that the digest relies on, and a speed measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/jsonscan.h"

#include "t.h"

/*
 * Decodes the case-file escapes into out and returns the length: \xHH is
 * that byte, \s a space (for edges); every other backslash is literal, so
 * JSON escapes are written as they are.
 */
static size_t unescape(const char *s, char *out)
{
    size_t n = 0;

    while (*s != '\0') {
        if (s[0] == '\\' && s[1] == 's') {
            out[n++] = ' ';
            s += 2;
        } else if (s[0] == '\\' && s[1] == 'x' && s[2] != '\0' && s[3] != '\0') {
            char hex[3] = { s[2], s[3], 0 };

            out[n++] = (char)strtol(hex, NULL, 16);
            s += 4;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    return n;
}

static void run_case_file(void)
{
    char path[512], line[4096], in[4096];
    FILE *f;
    int ncases = 0;

    snprintf(path, sizeof(path), "%s/ingest/jsonscan.test", T_DATA);
    f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *sp, *nl = strchr(line, '\n');
        int want_ok, depth = 64, rc, cj;
        size_t n;
        struct bl_err err = { 0, "" };
        struct json_limits jl = { 1 << 20, 64 };
        cJSON *tree;

        if (nl != NULL)
            *nl = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        sp = strchr(line, ' ');
        n = unescape(sp != NULL ? sp + 1 : "", in);
        if (sp != NULL)
            *sp = '\0';
        want_ok = strncmp(line, "ok", 2) == 0;
        if (strchr(line, '-') != NULL)
            depth = (int)strtol(strchr(line, '-') + 1, NULL, 10);
        rc = jsonscan(in, n, depth, NULL, NULL, NULL, &err);
        ncases++;
        if ((rc == 0) != want_ok)
            fprintf(stderr, "case '%s %s': rc %d (%s)\n", line, sp ? sp + 1 : "", rc, err.msg);
        CHECK((rc == 0) == want_ok);
        CHECK(rc == 0 || rc == BL_EPARSE);
        if (rc != 0 || depth == 0)
            continue;
        /* What the door accepts the digest must be able to parse. */
        jl.max_depth = depth;
        tree = json_parse(in, n, &jl, NULL);
        cj = tree != NULL;
        if (!cj)
            fprintf(stderr, "cJSON rejects accepted case '%s'\n", sp ? sp + 1 : "");
        CHECK(cj);
        cJSON_Delete(tree);
    }
    fclose(f);
    CHECK(ncases > 60);
}

struct seen {
    int n;
    char keys[8][32];
    int types[8];
    char vals[8][64];
    int stop_after;
};

static int on_member(void *arg, struct slice key, int type, struct slice value)
{
    struct seen *s = arg;

    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%.*s", (int)key.len, key.p);
        snprintf(s->vals[s->n], sizeof(s->vals[0]), "%.*s", (int)value.len, value.p);
        s->types[s->n] = type;
    }
    s->n++;
    return s->stop_after > 0 && s->n >= s->stop_after;
}

static void test_members(void)
{
    const char *doc = " {\"a\" : 1 , \"b\":\"x\\\"y\",\"c\":{\"d\":[1,{\"e\":2}]},"
                      "\"f\":[],\"g\":true,\"h\":null,\"i\":false,\"k\\n\":-2.5e3 } ";
    struct seen s;
    int top = -1;

    memset(&s, 0, sizeof(s));
    CHECK_INT_EQ(jsonscan(doc, strlen(doc), 8, on_member, &s, &top, NULL), 0);
    CHECK_INT_EQ(top, JSONSCAN_OBJECT);
    CHECK_INT_EQ(s.n, 8);
    CHECK_STR_EQ(s.keys[0], "a");
    CHECK_STR_EQ(s.vals[0], "1");
    CHECK_INT_EQ(s.types[0], JSONSCAN_NUMBER);
    CHECK_STR_EQ(s.vals[1], "\"x\\\"y\"");
    CHECK_INT_EQ(s.types[1], JSONSCAN_STRING);
    CHECK_STR_EQ(s.keys[2], "c");
    CHECK_STR_EQ(s.vals[2], "{\"d\":[1,{\"e\":2}]}");
    CHECK_INT_EQ(s.types[2], JSONSCAN_OBJECT);
    CHECK_STR_EQ(s.vals[3], "[]");
    CHECK_INT_EQ(s.types[3], JSONSCAN_ARRAY);
    CHECK_INT_EQ(s.types[4], JSONSCAN_TRUE);
    CHECK_INT_EQ(s.types[5], JSONSCAN_NULL);
    CHECK_INT_EQ(s.types[6], JSONSCAN_FALSE);
    CHECK_STR_EQ(s.keys[7], "k\\n");
    CHECK_STR_EQ(s.vals[7], "-2.5e3");

    /* Stopping early returns 0 without looking at the (broken) rest. */
    memset(&s, 0, sizeof(s));
    s.stop_after = 1;
    CHECK_INT_EQ(jsonscan("{\"a\":1,\"b\":}", 12, 8, on_member, &s, NULL, NULL), 0);
    CHECK_INT_EQ(s.n, 1);

    /* Arrays and scalars at the top report no members. */
    memset(&s, 0, sizeof(s));
    CHECK_INT_EQ(jsonscan("[{\"a\":1}]", 9, 8, on_member, &s, &top, NULL), 0);
    CHECK_INT_EQ(s.n, 0);
    CHECK_INT_EQ(top, JSONSCAN_ARRAY);
    CHECK_INT_EQ(jsonscan("\"s\"", 3, 8, on_member, &s, &top, NULL), 0);
    CHECK_INT_EQ(top, JSONSCAN_STRING);
    CHECK_INT_EQ(s.n, 0);
}

static void test_errors(void)
{
    struct bl_err err = { 0, "" };
    char deep[200001];

    CHECK_INT_EQ(jsonscan("{\"a\":1,,}", 9, 8, NULL, NULL, NULL, &err), BL_EPARSE);
    CHECK_STR_EQ(err.msg, "invalid JSON at byte 7: string key expected");
    CHECK_INT_EQ(jsonscan("[1] x", 5, 8, NULL, NULL, NULL, &err), BL_EPARSE);
    CHECK_STR_EQ(err.msg, "invalid JSON at byte 4: unexpected data after the value");
    /* The length is respected: the NUL-less prefix of a longer buffer. */
    CHECK_INT_EQ(jsonscan("[1]]]]", 3, 8, NULL, NULL, NULL, NULL), 0);
    CHECK_INT_EQ(jsonscan("\"abc\"", 4, 8, NULL, NULL, NULL, NULL), BL_EPARSE);
    CHECK_INT_EQ(jsonscan("tru", 3, 8, NULL, NULL, NULL, NULL), BL_EPARSE);
    CHECK_INT_EQ(jsonscan("\"\\u00", 5, 8, NULL, NULL, NULL, NULL), BL_EPARSE);
    CHECK_INT_EQ(jsonscan("\"\\ud83d\\ude0", 12, 8, NULL, NULL, NULL, NULL), BL_EPARSE);

    /* Depth: exactly at the limit is fine, one more is not, a huge one fails fast. */
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    CHECK_INT_EQ(jsonscan(deep, 128, 64, NULL, NULL, NULL, NULL), 0);
    CHECK_INT_EQ(jsonscan(deep, 128, 63, NULL, NULL, NULL, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "nested too deeply") != NULL);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    CHECK_INT_EQ(jsonscan(deep, 200000, 1 << 30, NULL, NULL, NULL, NULL), BL_EPARSE);
}

/*
 * Strings are skipped 16 and 8 bytes at a time: whatever needs a closer look
 * (the closing quote, an escape, UTF-8, a control byte) is found at every
 * offset from the start, and a string cut at every length is unterminated.
 */
static void test_string_offsets(void)
{
    static const struct {
        const char *tail;
        int rc;
    } cases[] = { { "\"", 0 },
                  { "\\n\"", 0 },
                  { "\xc3\xa9\"", 0 },
                  { "\x01\"", BL_EPARSE },
                  { "\xff\"", BL_EPARSE },
                  { "\\q\"", BL_EPARSE },
                  { "\x7f\"", 0 } };
    char doc[128];

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        for (size_t off = 0; off < 48; off++) {
            size_t n = 1 + off, tl = strlen(cases[k].tail);

            doc[0] = '"';
            memset(doc + 1, 'a', off);
            memcpy(doc + n, cases[k].tail, tl);
            n += tl;
            CHECK_INT_EQ(jsonscan(doc, n, 8, NULL, NULL, NULL, NULL), cases[k].rc);
            for (size_t cut = 1; cases[k].rc == 0 && cut < n; cut++)
                CHECK_INT_EQ(jsonscan(doc, cut, 8, NULL, NULL, NULL, NULL), BL_EPARSE);
        }
    }
}

static void check_unquote(const char *lit, const char *want, size_t want_len)
{
    struct buf b = BUF_INIT(1024);
    int rc = jsonscan_unquote(slice_from(lit), &b);

    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(b.len, want_len);
    CHECK(b.len == want_len && memcmp(b.p, want, want_len) == 0);
    buf_release(&b);
}

static void test_unquote(void)
{
    struct buf b = BUF_INIT(4);

    check_unquote("\"\"", "", 0);
    check_unquote("\"plain\"", "plain", 5);
    check_unquote("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "a\"b\\c/d\b\f\n\r\t", 12);
    check_unquote("\"\\u00e9\\u20ac\\ud83d\\ude00\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
    check_unquote("\"nul\\u0000x\"", "nul\0x", 5);
    CHECK_INT_EQ(jsonscan_unquote(slice_from("abc"), &b), BL_EPARSE);
    CHECK_INT_EQ(jsonscan_unquote(slice_from("\""), &b), BL_EPARSE);
    CHECK_INT_EQ(jsonscan_unquote(slice_from("\"\\ud800\""), &b), BL_EPARSE);
    CHECK_INT_EQ(jsonscan_unquote(slice_from("\"\\x\""), &b), BL_EPARSE);
    CHECK_INT_EQ(jsonscan_unquote(slice_from("\"a\"b\""), &b), BL_EPARSE);
    CHECK_INT_EQ(jsonscan_unquote(slice_from("\"\\\""), &b), BL_EPARSE);
    buf_reset(&b);
    CHECK_INT_EQ(jsonscan_unquote(slice_from("\"toolong\""), &b), BL_ETOOBIG);
    buf_release(&b);
}

/* A ~9 KB event shaped like what sentry-python sends for an exception. */
static void sentry_like_event(struct buf *b)
{
    buf_addstr(b, "{\"event_id\":\"fc6d8c0c43fc4630ad850ee518f1b9d0\",\"timestamp\":"
                  "\"2024-05-01T12:00:00.123456Z\",\"platform\":\"python\",\"level\":\"error\","
                  "\"server_name\":\"web-1\",\"release\":\"app@1.0\","
                  "\"environment\":\"production\","
                  "\"sdk\":{\"name\":\"sentry.python\",\"version\":\"1.9.10\",\"packages\":"
                  "[{\"name\":\"pypi:sentry-sdk\",\"version\":\"1.9.10\"}],\"integrations\":"
                  "[\"argv\",\"atexit\",\"dedupe\",\"excepthook\",\"logging\",\"modules\"]},"
                  "\"exception\":{\"values\":[{\"type\":\"ZeroDivisionError\",\"value\":"
                  "\"division by zero\",\"module\":null,\"mechanism\":null,\"stacktrace\":"
                  "{\"frames\":[");
    for (int i = 0; i < 14; i++) {
        buf_addf(b,
                 "%s{\"filename\":\"app/handlers/module_%d.py\",\"abs_path\":"
                 "\"/srv/app/handlers/module_%d.py\",\"function\":\"handle_request_%d\","
                 "\"module\":\"app.handlers.module_%d\",\"lineno\":%d,\"pre_context\":"
                 "[\"    def handle(self, request):\",\"        user = request.user\"],"
                 "\"context_line\":\"        return compute(a, b) / total\",\"post_context\":"
                 "[\"\",\"    def other(self):\"],\"vars\":{\"self\":\"<Handler object at "
                 "0x7f3a2c1d5e80>\",\"request\":\"<Request GET /api/v1/items?page=2>\","
                 "\"total\":\"0\",\"caf\xc3\xa9\":\"\\u00e9t\\u00e9 \\\"quoted\\\"\"},"
                 "\"in_app\":true}",
                 i ? "," : "", i, i, i, i, 40 + i);
    }
    buf_addstr(b, "]}}]},\"breadcrumbs\":{\"values\":[");
    for (int i = 0; i < 10; i++)
        buf_addf(b,
                 "%s{\"timestamp\":1714564800.%03d,\"type\":\"default\",\"category\":\"query\","
                 "\"message\":\"SELECT id, name FROM items WHERE owner_id = %d\",\"level\":"
                 "\"info\",\"data\":{}}",
                 i ? "," : "", i * 7, i);
    buf_addstr(b, "]},\"contexts\":{\"runtime\":{\"name\":\"CPython\",\"version\":\"3.11.2\"},"
                  "\"os\":{\"name\":\"Linux\"}},\"modules\":{\"django\":\"4.2\",\"requests\":"
                  "\"2.31.0\"},\"extra\":{\"sys.argv\":[\"manage.py\",\"runserver\"]}}");
}

static void test_speed(void)
{
    struct buf ev = BUF_INIT(1 << 20);
    struct json_limits jl = { 1 << 20, 64 };
    int iters = 300;
    double t0, t1, t2;
    int rc = 0;

    sentry_like_event(&ev);
    CHECK(ev.len > 8000 && ev.len < 11000);
    CHECK_INT_EQ(jsonscan(ev.p, ev.len, 64, NULL, NULL, NULL, NULL), 0);
    t0 = (double)clock() / CLOCKS_PER_SEC;
    for (int i = 0; i < iters; i++)
        rc |= jsonscan(ev.p, ev.len, 64, NULL, NULL, NULL, NULL);
    t1 = (double)clock() / CLOCKS_PER_SEC;
    for (int i = 0; i < iters; i++)
        cJSON_Delete(json_parse(ev.p, ev.len, &jl, NULL));
    t2 = (double)clock() / CLOCKS_PER_SEC;
    CHECK_INT_EQ(rc, 0);
    printf("jsonscan: %zu-byte event, %.0f MB/s (cJSON tree: %.0f MB/s)\n", ev.len,
           (double)ev.len * iters / 1e6 / (t1 - t0 > 1e-9 ? t1 - t0 : 1e-9),
           (double)ev.len * iters / 1e6 / (t2 - t1 > 1e-9 ? t2 - t1 : 1e-9));
    buf_release(&ev);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    run_case_file();
    test_members();
    test_errors();
    test_string_offsets();
    test_unquote();
    test_speed();
    return t_done();
}
