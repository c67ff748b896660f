/*
 * Unit tests for src/ingest/slim.c: an event parsed without the parts the
 * digest never reads must scrub, normalize and group exactly as the whole
 * text does (tests/fuzz/slim_diff.h), or be declined. Differential over
 * hand-made edge cases, every scrubbing case (tests/data/scrub/scrub.test)
 * put where values are skipped (breadcrumbs, request, a frame's vars and
 * source context), the Sentry normalizer cases (tests/data/normalize) and
 * every line of every fuzz corpus, each under the default limits, tiny
 * limits and a project's scrubbing additions. Events like the bench's must
 * take the slim path, or it would be tested by nothing.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "../fuzz/slim_diff.h"
#include "t.h"

struct tally {
    size_t same, tree;
};

static struct tally tally;

/* Runs one document under every configuration; returns the answer under the defaults. */
static int diff_all(const char *doc, size_t n, const char *where)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT, tiny = INGEST_LIMITS_DEFAULT;
    struct scrub_rules extra = { "user, remote_addr, crumb", "token,X-Auth,Cookie" };
    const char *why;
    int first = SD_TREE;

    tiny.max_string = 7;
    tiny.max_depth = 4;
    tiny.max_event = 300;
    tiny.max_frames = 2;
    for (int cfg = 0; cfg < 3; cfg++) {
        int rc = slim_diff(doc, n, cfg == 2 ? &extra : NULL, cfg == 1 ? &tiny : &lim, &why);

        if (rc == SD_DIFF)
            fprintf(stderr, "%s (config %d): %s: %.*s\n", where, cfg, why, (int)(n > 400 ? 400 : n),
                    doc);
        CHECK(rc != SD_DIFF);
        if (cfg == 0)
            first = rc;
    }
    tally.same += first == SD_SAME;
    tally.tree += first == SD_TREE;
    return first;
}

static int diff_str(const char *doc)
{
    return diff_all(doc, strlen(doc), "case");
}

#define FRAME_OPEN                                                                                 \
    "{\"exception\":{\"values\":[{\"type\":\"E\",\"value\":\"v\",\"stacktrace\":{\"frames\":["
#define FRAME_CLOSE "]}}]}}"

/* A python-like event: everything the digest never reads is skipped. */
static const char bench_like[] =
    "{\"event_id\":\"9f2c1e0d4b7a44d5a1c3e9f0b2d4c6e8\",\"level\":\"error\",\"platform\":"
    "\"python\",\"timestamp\":\"2026-12-02T01:59:00.200585Z\",\"server_name\":\"web-3\","
    "\"release\":\"shop@1.2.3\",\"environment\":\"production\",\"transaction\":\"/api/orders/\","
    "\"exception\":{\"values\":[{\"type\":\"ValueError\",\"value\":\"bad order 48213\","
    "\"mechanism\":{\"type\":\"django\",\"handled\":false},\"stacktrace\":{\"frames\":["
    "{\"filename\":\"django/core/handlers/base.py\",\"module\":\"django.core.handlers.base\","
    "\"function\":\"_get_response\",\"lineno\":197,\"context_line\":\"response = x(request)\","
    "\"pre_context\":[\"    try:\",\"        return None\"],\"post_context\":[\"    except "
    "Exception:\"],\"vars\":{\"self\":\"<Handler>\",\"request\":\"<WSGIRequest: GET '/x'>\","
    "\"callback_args\":[],\"n\":12,\"ratio\":0.5,\"ok\":true,\"none\":null,\"q\":\"a \\\"b\\\" "
    "caf\\u00e9 \\ud83d\\ude00\"},\"in_app\":false},"
    "{\"filename\":\"shop/orders/views.py\",\"module\":\"shop.orders.views\",\"function\":"
    "\"get_queryset\",\"lineno\":52,\"context_line\":\"if not ok:\",\"vars\":{\"order_id\":"
    "\"'48213'\",\"total\":\"Decimal('129.90')\",\"big\":1700000000000},\"in_app\":true}]}}]},"
    "\"breadcrumbs\":{\"values\":[{\"timestamp\":\"2026-12-02T01:59:00.2Z\",\"type\":\"default\","
    "\"category\":\"query\",\"level\":\"info\",\"data\":{},\"message\":\"SELECT \\\"id\\\" FROM "
    "\\\"orders\\\" WHERE id = %s\"},{\"category\":\"http\",\"data\":{\"url\":\"https://x/y?a=1\","
    "\"status_code\":200}}]},"
    "\"request\":{\"url\":\"https://shop.example.com/api/orders/\",\"query_string\":\"page=2\","
    "\"method\":\"GET\",\"env\":{\"SERVER_NAME\":\"web-3\"},\"headers\":{\"Host\":\"shop\","
    "\"Cookie\":\"[Filtered]\",\"X-Request-Id\":\"d1611a2444f0025f5869b37f2c88e0a4\"},"
    "\"data\":{\"items\":[{\"sku\":\"SKU-1\",\"quantity\":3}],\"note\":\"\"}},"
    "\"tags\":{\"region\":\"eu\"},\"contexts\":{\"trace\":{\"trace_id\":"
    "\"5b8efff798038103d269b633813fc60c\",\"span_id\":\"b0e6f15b45c36b12\"}},\"user\":{\"id\":"
    "\"42\",\"email\":\"alice@example.com\"},\"extra\":{\"request_id\":\"r-1\"},\"modules\":{"
    "\"django\":\"4.2.7\"},\"sdk\":{\"name\":\"sentry.python\",\"version\":\"1.39.1\","
    "\"packages\":[{\"name\":\"pypi:sentry-sdk\",\"version\":\"1.39.1\"}]}}";

/* Events the slim path must take. */
static void test_slim_path_taken(void)
{
    static const char *const docs[] = {
        bench_like,
        "{\"message\":\"m\",\"breadcrumbs\":[{\"message\":\"a=b\"}]}",
        "{\"message\":\"m\",\"request\":{\"headers\":{\"Authorization\":\"[Filtered]\"}}}",
        "{\"message\":\"m\",\"request\":{\"cookies\":{\"sid\":null,\"x\":true}}}",
        FRAME_OPEN "{\"function\":\"f\",\"vars\":{\"password\":\"[Filtered]\"}}" FRAME_CLOSE,
        "{\"stacktrace\":{\"frames\":[{\"function\":\"f\",\"vars\":{\"a\":1}}]}}",
        "{\"threads\":{\"values\":[{\"stacktrace\":{\"frames\":[{\"function\":\"f\","
        "\"pre_context\":[\"x\"]}]}}]}}",
        "{\"exception\":[{\"type\":\"E\",\"stacktrace\":{\"frames\":[{\"function\":\"f\","
        "\"post_context\":[\"y\"]}]}}]}",
        "{\"exception\":{\"type\":\"E\",\"stacktrace\":{\"frames\":[{\"vars\":{\"n\":-1.5e3}}]}}}",
        "  {\"sdk\" : { \"name\" : \"x\" } , \"message\" : \"spaces\" }  ",
        "{\"contexts\":{\"os\":{\"name\":\"Linux\"},\"trace\":{\"trace_id\":\"t\"}}}",
        "{\"contexts\":{\"os\":{\"a\":1},\"trace\\u0000\":{\"trace_id\":\"t\"}}}",
        "{\"request\":{\"s\":\"nul\\u0000\"}}",
    };

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        int rc = diff_str(docs[i]);

        if (rc != SD_SAME)
            fprintf(stderr, "slim path not taken (%d): %s\n", rc, docs[i]);
        CHECK_INT_EQ(rc, SD_SAME);
    }
}

/* Events only the whole parse may decode: something to scrub in a skipped value, or a surprise. */
static void test_whole_path_taken(void)
{
    static const char *const docs[] = {
        "{\"message\":\"m\"}", /* nothing to skip */
        "{\"breadcrumbs\":[{\"message\":\"paid with 4111 1111 1111 1111\"}]}",
        "{\"breadcrumbs\":[{\"data\":{\"password\":\"hunter2\"}}]}",
        "{\"breadcrumbs\":[{\"data\":{\"api_key\":7}}]}",
        "{\"breadcrumbs\":[{\"n\":4111111111111111}]}",
        "{\"breadcrumbs\":[{\"n\":4.111111111111111e15}]}",
        "{\"request\":{\"query_string\":\"q=1&token=abc\"}}",
        "{\"request\":{\"data\":\"user=bob&pass\\u0077d=x\"}}",
        "{\"request\":{\"headers\":[[\"Accept\",\"*/*\"]]}}", /* pairs: the tree walk's */
        "{\"request\":{\"pass\\u0077ord\":\"x\"}}",
        "{\"request\":{\"s\":\"4111 1111 1111 1111 nul\\u0000\"}}",
        "{\"request\":{\"m\":\"\\u0034\\u0031\\u00311 1111 1111 1111\"}}",
        "{\"request\":{\"query\":\"a\\u003d1&token\\u003dx\"}}",
        FRAME_OPEN "{\"function\":\"f\",\"vars\":{\"secret\":\"s\"}}" FRAME_CLOSE,
        FRAME_OPEN "{\"function\":\"f\",\"vars\":{\"token\":{\"a\":[1]}}}" FRAME_CLOSE,
        FRAME_OPEN "{\"pre_context\":[\"4111-1111-1111-1111\"]}" FRAME_CLOSE,
        /* what cJSON or the depth limit would refuse is never skipped */
        "{\"request\":{\"a\":\"\\ud800\"}}",
        "{\"request\":{\"a\":\"\\udc00x\"}}",
        "{\"request\":{\"a\":\"\\x\"}}",
        "{\"request\":{\"a\":01}}",
        "{\"request\":{\"a\":1.}}",
        "{\"request\":{\"a\":tru}}",
        "{\"request\":{\"a\":1,}}",
        "{\"request\":{\"a\":\"raw\ttab\"}}",
        "{\"request\":{\"a\":1234567890123456789012345678901234567890123456789012345678901234}}",
        "{\"request\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]"
        "]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        /* a message's params print whatever they hold: vars there are read */
        "{\"logentry\":{\"message\":\"%s\",\"params\":[{\"stacktrace\":{\"frames\":[{\"vars\":"
        "{\"a\":1}}]}}]}}",
        "{\"tags\":{\"breadcrumbs\":{\"a\":1}},\"extra\":{\"vars\":{\"a\":1}}}",
        "{\"contexts\":{\"os\":{\"secret\":\"s\"},\"trace\":{\"trace_id\":\"t\"}}}",
        "{\"contexts\":{\"trace\":{\"trace_id\":\"t\",\"span_id\":{\"a\":1}}}}",
    };

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        int rc = diff_str(docs[i]);

        if (rc != SD_TREE)
            fprintf(stderr, "whole path not taken (%d): %s\n", rc, docs[i]);
        CHECK_INT_EQ(rc, SD_TREE);
    }
}

/* A raw NUL cuts a key in cJSON's tree: "trace\0x" is contexts' trace there. */
static void test_raw_nul_keys(void)
{
    static const char docs[][80] = {
        "{\"contexts\":{\"os\":{\"a\":1},\"trace\0x\":{\"trace_id\":\"t\"}}}",
        "{\"contexts\":{\"tags\0\":[[\"password\",\"x\"]],\"trace\":{}}}",
        "{\"request\":{\"url\0x\":\"a=1&token=x\"}}",
        "{\"breadcrumbs\":[{\"pass\0word\":\"x\"}]}",
    };
    static const size_t lens[] = { 54, 52, 35, 35 };

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        CHECK(lens[i] < sizeof(docs[i]) && docs[i][lens[i] - 1] == '}' && docs[i][lens[i]] == 0);
        CHECK(diff_all(docs[i], lens[i], "raw NUL") != SD_DIFF);
    }
}

/* Strings are read 16 bytes at a time: a card, an escape and a quote at every offset. */
static void test_offsets(void)
{
    char doc[512], pad[40];

    for (int off = 0; off < 34; off++) {
        memset(pad, 'a', (size_t)off);
        pad[off] = '\0';
        snprintf(doc, sizeof(doc), "{\"request\":{\"m\":\"%s 4111 1111 1111 1111\"}}", pad);
        CHECK_INT_EQ(diff_str(doc), SD_TREE);
        snprintf(doc, sizeof(doc), "{\"request\":{\"m\":\"%s 4111111111111112 x\"}}", pad);
        CHECK(diff_str(doc) != SD_DIFF);
        snprintf(doc, sizeof(doc), "{\"request\":{\"m\":\"%s\\\"\\u0041\\\\\",\"n\":\"%s\"}}", pad,
                 pad);
        CHECK_INT_EQ(diff_str(doc), SD_SAME);
        snprintf(doc, sizeof(doc), "{\"request\":{\"query\":\"%s=1&token=%s\"}}", pad, pad);
        CHECK_INT_EQ(diff_str(doc), SD_TREE);
        snprintf(doc, sizeof(doc), "{\"request\":{\"m\":\"%s\x01\"}}", pad);
        CHECK_INT_EQ(diff_str(doc), SD_TREE);
    }
}

static void diff_text(const char *doc, const char *where)
{
    (void)diff_all(doc, strlen(doc), where);
}

/* A scrubbing case's document as it is, and put where values are skipped. */
static void diff_placed(const char *d, const char *where)
{
    static const char *const shapes[] = {
        "{\"message\":\"m\",\"breadcrumbs\":%s}",
        "{\"message\":\"m\",\"request\":%s}",
        "{\"sdk\":{\"a\":%s},\"modules\":[%s]}",
        FRAME_OPEN "{\"function\":\"f\",\"vars\":%s,\"pre_context\":[%s]}" FRAME_CLOSE,
        "{\"stacktrace\":{\"frames\":[{\"post_context\":%s}]},\"debug_meta\":[%s]}",
        "{\"contexts\":{\"os\":%s,\"trace\":{\"trace_id\":\"t\"},\"runtime\":[%s]}}",
    };
    size_t n = strlen(d) * 2 + 256;
    char *doc = malloc(n);

    diff_text(d, where);
    for (size_t i = 0; doc != NULL && i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        snprintf(doc, n, shapes[i], d, d);
        diff_text(doc, where);
    }
    free(doc);
}

/* A member of a cJSON case printed as one line. */
static void diff_member(const cJSON *c, const char *name, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
    char *s;

    if (!cJSON_IsObject(v))
        return;
    s = cJSON_PrintUnformatted(v);
    if (s != NULL)
        diff_placed(s, where);
    free(s);
}

static void test_scrub_cases(void)
{
    char *text = t_read_file(T_DATA "/scrub/scrub.test", NULL);
    char *line = text, *nl;
    size_t docs = 0;

    CHECK(text != NULL);
    for (; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
        cJSON *c;

        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (line[0] != '{' || (c = cJSON_Parse(line)) == NULL)
            continue;
        diff_member(c, "in", "scrub.test in");
        diff_member(c, "want", "scrub.test want");
        docs += cJSON_GetObjectItemCaseSensitive(c, "in") != NULL;
        cJSON_Delete(c);
    }
    free(text);
    CHECK(docs > 20);
}

static void test_normalize_cases(void)
{
    const char *dir = T_DATA "/normalize";
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    CHECK(d != NULL);
    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[1024];
        char *text;
        cJSON *c;

        if (strstr(de->d_name, ".json") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        text = t_read_file(path, NULL);
        c = text != NULL ? cJSON_Parse(text) : NULL;
        if (c != NULL) {
            diff_member(c, "input", path);
            n++;
        }
        cJSON_Delete(c);
        free(text);
    }
    if (d != NULL)
        closedir(d);
    CHECK(n > 10);
}

/* Every file of every fuzz corpus, whole and line by line. */
static void diff_file(const char *path)
{
    size_t len = 0, pos = 0;
    char *text = t_read_file(path, &len);

    if (text == NULL)
        return;
    (void)diff_all(text, len, path);
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

        pos += n + 1;
        (void)diff_all(line, n, path);
    }
    free(text);
}

static void test_fuzz_corpora(void)
{
    const char *root = T_DATA "/../fuzz/corpus";
    DIR *d = opendir(root);
    struct dirent *de;
    size_t files = 0;

    CHECK(d != NULL);
    while (d != NULL && (de = readdir(d)) != NULL) {
        char dir[1024];
        DIR *sub;
        struct dirent *f;

        if (de->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name);
        if ((sub = opendir(dir)) == NULL)
            continue;
        while ((f = readdir(sub)) != NULL) {
            char path[2048];

            if (f->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
            diff_file(path);
            files++;
        }
        closedir(sub);
    }
    if (d != NULL)
        closedir(d);
    CHECK(files > 50);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_slim_path_taken();
    test_whole_path_taken();
    test_offsets();
    test_raw_nul_keys();
    test_scrub_cases();
    test_normalize_cases();
    test_fuzz_corpora();
    printf("events: %zu slim, %zu whole\n", tally.same, tally.tree);
    CHECK(tally.same > 50);
    return t_done();
}
