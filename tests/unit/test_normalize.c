/*
 * Unit tests for src/ingest/normalize*.c.
 *
 * Most cases are data files in tests/data/normalize/: a client payload
 * ("input", a Sentry event or a JSON-lines record), the receive time, and
 * "expect", a partial normalized document (api_event_doc). Every
 * member of expect must be in the document with the same value (objects
 * compared member by member, arrays element by element with equal lengths,
 * null matching null or absent). The C cases below cover what a document
 * cannot show: limits, trimming, and the shared helpers.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_event_doc.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/normalize.h"
#include "t.h"

#include "ingest/normalize_int.h"

/* Subset comparison; reports the first difference under path. */
static int json_subset(const cJSON *want, const cJSON *got, char *path, size_t cap)
{
    size_t plen = strlen(path);
    const cJSON *it;
    int i = 0;

    if (cJSON_IsNull(want))
        return got == NULL || cJSON_IsNull(got);
    if (got == NULL)
        return 0;
    if (cJSON_IsObject(want)) {
        if (!cJSON_IsObject(got))
            return 0;
        cJSON_ArrayForEach(it, want)
        {
            snprintf(path + plen, cap - plen, ".%s", it->string);
            if (!json_subset(it, cJSON_GetObjectItemCaseSensitive(got, it->string), path, cap))
                return 0;
            path[plen] = '\0';
        }
        return 1;
    }
    if (cJSON_IsArray(want)) {
        if (!cJSON_IsArray(got) || cJSON_GetArraySize(want) != cJSON_GetArraySize(got))
            return 0;
        cJSON_ArrayForEach(it, want)
        {
            snprintf(path + plen, cap - plen, "[%d]", i);
            if (!json_subset(it, cJSON_GetArrayItem(got, i++), path, cap))
                return 0;
            path[plen] = '\0';
        }
        return 1;
    }
    return cJSON_Compare(want, got, 1);
}

/* Normalizes input as given by source and returns the document (caller frees). */
static cJSON *normalize_doc(const cJSON *input, int logline, int64_t received,
                            const struct ingest_limits *lim, struct event *ev, struct pool *pool)
{
    struct buf out = BUF_INIT(1 << 24);
    cJSON *doc;

    memset(ev, 0, sizeof(*ev));
    ev->project_id = 1;
    ev->received_at = received;
    if (logline)
        normalize_log_line(input, ev, lim, pool);
    else
        normalize_sentry(input, ev, lim, pool);
    fingerprint_event(ev, pool);
    CHECK_INT_EQ(api_event_doc(ev, input, &out), 0);
    doc = cJSON_Parse(out.p);
    if (doc == NULL)
        fprintf(stderr, "document is not JSON: %s\n", out.p);
    buf_release(&out);
    return doc;
}

static void run_case(const char *dir, const char *name)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(16384);
    char path[1024], where[512] = "";
    struct event ev;
    size_t len;
    char *text;
    cJSON *c, *doc;
    int64_t received = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    text = t_read_file(path, &len);
    c = text != NULL ? cJSON_Parse(text) : NULL;
    CHECK(c != NULL);
    if (c == NULL) {
        free(text);
        return;
    }
    CHECK_INT_EQ(
        clock_parse_rfc3339(json_str(c, "received"), strlen(json_str(c, "received")), &received),
        0);
    doc = normalize_doc(cJSON_GetObjectItem(c, "input"), strcmp(json_str(c, "source"), "log") == 0,
                        received, &lim, &ev, &pool);
    CHECK(doc != NULL);
    if (doc != NULL && !json_subset(cJSON_GetObjectItem(c, "expect"), doc, where, sizeof(where))) {
        char *s = cJSON_PrintUnformatted(doc);

        t_fail++;
        fprintf(stderr, "%s: mismatch at expect%s\n  document: %s\n", name, where, s);
        free(s);
    } else if (doc != NULL) {
        t_pass++;
    }
    cJSON_Delete(doc);
    cJSON_Delete(c);
    free(text);
    pool_release(&pool);
}

static void test_data_cases(void)
{
    const char *dir = T_DATA "/normalize";
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    CHECK(d != NULL);
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t k = strlen(e->d_name);

        if (k > 5 && strcmp(e->d_name + k - 5, ".json") == 0) {
            run_case(dir, e->d_name);
            n++;
        }
    }
    if (d != NULL)
        closedir(d);
    CHECK(n >= 15);
}

static cJSON *parse(const char *s)
{
    cJSON *v = cJSON_Parse(s);

    CHECK(v != NULL);
    return v;
}

/* The level member of this JSON value, as both normalizers read it. */
static void level_case(const char *want, const char *value)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    char json[256];
    struct event ev;
    cJSON *obj, *doc, *attr;
    int none = strcmp(want, "-") == 0;

    snprintf(json, sizeof(json), "{\"message\":\"m\",\"level\":%s}", value);
    obj = cJSON_Parse(json);
    CHECK(obj != NULL);
    if (obj == NULL) {
        fprintf(stderr, "level case %s: not JSON\n", value);
        return;
    }
    doc = normalize_doc(obj, 1, 1, &lim, &ev, &pool);
    attr = doc != NULL ? json_obj(doc, "attributes") : NULL;
    if (strcmp(ev_level_name(ev.level), none ? "info" : want) != 0 ||
        (cJSON_GetObjectItem(attr, "level") != NULL) != none)
        fprintf(stderr, "level case %s: JSON line got %s (%s), want %s\n", value,
                ev_level_name(ev.level),
                cJSON_GetObjectItem(attr, "level") != NULL ? "kept as attribute" : "consumed",
                want);
    CHECK_STR_EQ(ev_level_name(ev.level), none ? "info" : want);
    CHECK_INT_EQ(cJSON_GetObjectItem(attr, "level") != NULL, none);
    cJSON_Delete(doc);
    memset(&ev, 0, sizeof(ev));
    normalize_sentry(obj, &ev, &lim, &pool);
    if (strcmp(ev_level_name(ev.level), none ? "error" : want) != 0)
        fprintf(stderr, "level case %s: Sentry event got %s, want %s\n", value,
                ev_level_name(ev.level), want);
    CHECK_STR_EQ(ev_level_name(ev.level), none ? "error" : want);
    cJSON_Delete(obj);
    pool_release(&pool);
}

/* tests/data/levels/levels.test: names, syslog and Python numbers, and what names nothing. */
static void test_levels(void)
{
    char line[256];
    FILE *f = fopen(T_DATA "/levels/levels.test", "r");
    int ncases = 0;

    CHECK(f != NULL);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *sp, *nl = strchr(line, '\n');

        if (nl != NULL)
            *nl = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        sp = strchr(line, ' ');
        CHECK(sp != NULL);
        if (sp == NULL)
            continue;
        *sp = '\0';
        level_case(line, sp + 1);
        ncases++;
    }
    if (f != NULL)
        fclose(f);
    CHECK(ncases > 50);
}

/*
 * "\u0000" in any string of a payload: the string stays whole, the NUL
 * shown as U+FFFD (core/json.c), through both normalizers and the document.
 */
static void test_nul_escape(void)
{
    static const char sentry[] =
        "{\"message\":\"before\\u0000after\",\"logger\":\"lo\\u0000g\","
        "\"tags\":{\"k\\u0000ey\":\"va\\u0000lue\"},\"user\":{\"id\":\"u\\u0000\"},"
        "\"exception\":[{\"type\":\"E\\u0000rr\",\"value\":\"bad \\u0000 byte\"}]}";
    static const char line[] = "{\"msg\":\"log\\u0000line\",\"attr\":\"a\\u0000b\"}";
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct json_limits jl = { 1 << 20, 64 };
    struct pool pool = POOL_INIT(4096);
    struct buf doc = BUF_INIT(1 << 20);
    struct event ev;
    cJSON *obj = json_parse(sentry, sizeof(sentry) - 1, &jl, NULL);

    CHECK(obj != NULL);
    memset(&ev, 0, sizeof(ev));
    normalize_sentry(obj, &ev, &lim, &pool);
    fingerprint_event(&ev, &pool);
    CHECK_STR_EQ(ev.message, "before\xef\xbf\xbd"
                             "after");
    CHECK_STR_EQ(ev.logger, "lo\xef\xbf\xbdg");
    CHECK_INT_EQ(ev.ntags, 1);
    if (ev.ntags == 1) {
        CHECK_STR_EQ(ev.tags[0].key, "k\xef\xbf\xbd"
                                     "ey");
        CHECK_STR_EQ(ev.tags[0].value, "va\xef\xbf\xbdlue");
    }
    CHECK_STR_EQ(ev.user_id, "u\xef\xbf\xbd");
    CHECK_INT_EQ(ev.nexc, 1);
    if (ev.nexc == 1) {
        CHECK_STR_EQ(ev.exc[0].type, "E\xef\xbf\xbdrr");
        CHECK_STR_EQ(ev.exc[0].value, "bad \xef\xbf\xbd byte");
    }
    CHECK_STR_EQ(ev.title, "E\xef\xbf\xbdrr: bad \xef\xbf\xbd byte");
    CHECK_INT_EQ(api_event_doc(&ev, obj, &doc), 0);
    CHECK(strstr(doc.p, "\"message\":\"before\xef\xbf\xbd"
                        "after\"") != NULL);
    cJSON_Delete(obj);
    obj = json_parse(line, sizeof(line) - 1, &jl, NULL);
    CHECK(obj != NULL);
    memset(&ev, 0, sizeof(ev));
    normalize_log_line(obj, &ev, &lim, &pool);
    fingerprint_event(&ev, &pool);
    CHECK_STR_EQ(ev.message, "log\xef\xbf\xbdline");
    buf_reset(&doc);
    CHECK_INT_EQ(api_event_doc(&ev, obj, &doc), 0);
    CHECK(strstr(doc.p, "\"attr\":\"a\xef\xbf\xbd"
                        "b\"") != NULL);
    cJSON_Delete(obj);
    buf_release(&doc);
    pool_release(&pool);
}

static void test_utf8_cut(void)
{
    struct pool pool = POOL_INIT(4096);

    /* "é" is two bytes: a cut inside it drops the whole character. */
    CHECK_STR_EQ(nz_strdup(&pool, "h\xc3\xa9llo", 6, 2), "h");
    CHECK_STR_EQ(nz_strdup(&pool, "h\xc3\xa9llo", 6, 3), "h\xc3\xa9");
    CHECK_STR_EQ(nz_strdup(&pool, "h\xc3\xa9llo", 6, 100), "h\xc3\xa9llo");
    CHECK_INT_EQ(nz_utf8_cut("\xe2\x82\xac\xe2\x82\xac", 6, 5), 3);
    CHECK_INT_EQ(nz_utf8_cut("abc", 3, 0), 0);
    pool_release(&pool);
}

static void test_limits(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct buf frames = BUF_INIT(1 << 20);
    struct buf doc = BUF_INIT(1 << 20);
    struct event ev;
    cJSON *obj, *d, *fr;

    lim.max_frames = 4;
    lim.max_string = 5;
    buf_addstr(&frames, "{\"message\":\"h\xc3\xa9llo w\",\"release\":\"\xe2\x82\xac\xe2\x82\xac\","
                        "\"exception\":{\"values\":[{\"type\":\"E\",\"stacktrace\":{\"frames\":[");
    for (int i = 0; i < 10; i++)
        buf_addf(&frames, "%s{\"function\":\"f%d\",\"vars\":{\"i\":%d}}", i ? "," : "", i, i);
    buf_addstr(&frames, "]}}]}}");
    obj = parse(frames.p);
    memset(&ev, 0, sizeof(ev));
    normalize_sentry(obj, &ev, &lim, &pool);
    CHECK_STR_EQ(ev.message, "h\xc3\xa9ll");
    CHECK_STR_EQ(ev.release, "\xe2\x82\xac");
    CHECK_INT_EQ(ev.nexc, 1);
    /* Both ends survive: the entry point and the raise site. */
    CHECK_INT_EQ(ev.exc[0].nframes, 4);
    CHECK_STR_EQ(ev.exc[0].frames[0].function, "f0");
    CHECK_STR_EQ(ev.exc[0].frames[1].function, "f1");
    CHECK_STR_EQ(ev.exc[0].frames[2].function, "f8");
    CHECK_STR_EQ(ev.exc[0].frames[3].function, "f9");
    fingerprint_event(&ev, &pool);
    /* The document pairs each kept frame with its own vars. */
    CHECK_INT_EQ(api_event_doc(&ev, obj, &doc), 0);
    d = parse(doc.p);
    fr = cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "exception"), "values"),
                               0),
            "stacktrace"),
        "frames");
    CHECK_INT_EQ(cJSON_GetArraySize(fr), 4);
    CHECK_INT_EQ(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(fr, 2), "vars"), "i")->valueint,
        8);
    cJSON_Delete(d);
    cJSON_Delete(obj);
    buf_release(&frames);
    buf_release(&doc);
    pool_release(&pool);
}

static void test_event_id_and_source(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct event ev;
    cJSON *obj = parse("{\"event_id\":\"FC6D8C0C43FC4630AD850EE518F1B9D0\",\"message\":\"x\"}");

    memset(&ev, 0, sizeof(ev));
    normalize_sentry(obj, &ev, &lim, &pool);
    CHECK_STR_EQ(ev.event_id, "fc6d8c0c43fc4630ad850ee518f1b9d0");
    CHECK_INT_EQ(ev.source, EV_SRC_SENTRY);
    CHECK_INT_EQ(ev.kind, EV_KIND_LOG);
    /* The caller's id wins over the payload's. */
    memset(&ev, 0, sizeof(ev));
    memcpy(ev.event_id, "0123456789abcdef0123456789abcdef", 33);
    normalize_sentry(obj, &ev, &lim, &pool);
    CHECK_STR_EQ(ev.event_id, "0123456789abcdef0123456789abcdef");
    memset(&ev, 0, sizeof(ev));
    normalize_log_line(obj, &ev, &lim, &pool);
    CHECK_INT_EQ(ev.source, EV_SRC_LOGLINE);
    CHECK_INT_EQ(ev.level, EV_INFO);
    CHECK(ev.event_id[0] == '\0');
    cJSON_Delete(obj);
    /* Not an object at all: defaults, no crash. */
    obj = parse("[1,2]");
    memset(&ev, 0, sizeof(ev));
    ev.received_at = 5;
    normalize_sentry(obj, &ev, &lim, &pool);
    CHECK_INT_EQ(ev.level, EV_ERROR);
    CHECK_INT_EQ(ev.timestamp, 5);
    CHECK_STR_EQ(ev.environment, "production");
    cJSON_Delete(obj);
    pool_release(&pool);
}

static void test_fingerprint_in(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct event ev;
    cJSON *obj = parse("{\"fingerprint\":[\"{{ default }}\",7,null,\"x\"],"
                       "\"tags\":{\"request_id\":\"r-1\"},\"extra\":{\"request_id\":\"r-2\"}}");

    memset(&ev, 0, sizeof(ev));
    normalize_sentry(obj, &ev, &lim, &pool);
    CHECK_INT_EQ(ev.nfingerprint_in, 3);
    CHECK_STR_EQ(ev.fingerprint_in[0], "{{ default }}");
    CHECK_STR_EQ(ev.fingerprint_in[1], "7");
    CHECK_STR_EQ(ev.fingerprint_in[2], "x");
    /* Tags win over extra for the request id. */
    CHECK_STR_EQ(ev.request_id, "r-1");
    cJSON_Delete(obj);
    pool_release(&pool);
}

static void test_timestamp(void)
{
    int64_t us = 0;
    cJSON *v = parse("[1714564800.5, \"2024-05-01T12:00:00Z\", \"1714564800\", true, "
                     "1714564800500]");

    CHECK_INT_EQ(normalize_timestamp(cJSON_GetArrayItem(v, 0), &us), 0);
    CHECK_INT_EQ(us, INT64_C(1714564800500000));
    CHECK_INT_EQ(normalize_timestamp(cJSON_GetArrayItem(v, 1), &us), 0);
    CHECK_INT_EQ(us, INT64_C(1714564800000000));
    CHECK_INT_EQ(normalize_timestamp(cJSON_GetArrayItem(v, 2), &us), 0);
    CHECK_INT_EQ(us, INT64_C(1714564800000000));
    CHECK_INT_EQ(normalize_timestamp(cJSON_GetArrayItem(v, 3), &us), -1);
    CHECK_INT_EQ(normalize_timestamp(cJSON_GetArrayItem(v, 4), &us), 0);
    CHECK_INT_EQ(us, INT64_C(1714564800500000));
    CHECK_INT_EQ(normalize_timestamp(NULL, &us), -1);
    cJSON_Delete(v);
}

static void test_number_text(void)
{
    char out[40];

    nz_number_text(3, out);
    CHECK_STR_EQ(out, "3");
    nz_number_text(-0.5, out);
    CHECK_STR_EQ(out, "-0.5");
    nz_number_text(0.1, out);
    CHECK_STR_EQ(out, "0.1");
    nz_number_text(1e20, out);
    CHECK_STR_EQ(out, "1e+20");
}

static void test_json_overflow(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct buf small = BUF_INIT(32);
    struct event ev;
    cJSON *obj = parse("{\"message\":\"a message longer than the output cap\"}");

    memset(&ev, 0, sizeof(ev));
    normalize_sentry(obj, &ev, &lim, &pool);
    fingerprint_event(&ev, &pool);
    CHECK_INT_EQ(api_event_doc(&ev, obj, &small), BL_ETOOBIG);
    cJSON_Delete(obj);
    buf_release(&small);
    pool_release(&pool);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_data_cases();
    test_levels();
    test_nul_escape();
    test_utf8_cut();
    test_limits();
    test_event_id_and_source();
    test_fingerprint_in();
    test_timestamp();
    test_number_text();
    test_json_overflow();
    return t_done();
}
