/*
 * Unit tests for src/ingest/fingerprint*.c.
 *
 * The files in tests/data/fingerprint/ hold grouping vectors (protocols.md §2,
 * G1-G6 and more): "groups" is a list of groups of Sentry events; events
 * in one group must share a fingerprint and events of different groups must
 * not. "components", when present, is the component list of the first
 * event. parameterize.json holds [input, expected] pairs for the message
 * parameteriser.
 *
 * tests/data/grouping/ is the conformance suite of issue 11, in the same
 * format plus: "rules" {"fingerprint": text, "stack": text, "version": n}
 * (a project's own rules), "titles" (the title of each group's first
 * event) and "issue_fields" checks of grouping_version/rules_version.
 * Payloads under "sdk" were captured from the real SDKs
 * (tests/data/grouping/README.md says how). rules_errors.json holds
 * malformed rule sets with the line and column the parser must report.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/grouprules.h"
#include "ingest/normalize.h"
#include "t.h"

#define RECEIVED INT64_C(1714564805000000)

static cJSON *load_from(const char *dir, const char *name)
{
    char path[1024];
    char *text;
    cJSON *v;

    snprintf(path, sizeof(path), "%s/%s/%s", T_DATA, dir, name);
    text = t_read_file(path, NULL);
    v = text != NULL ? cJSON_Parse(text) : NULL;
    free(text);
    if (v == NULL)
        fprintf(stderr, "cannot load '%s'\n", path);
    CHECK(v != NULL);
    return v;
}

static cJSON *load(const char *name)
{
    return load_from("fingerprint", name);
}

/* A project's rules as a vector gives them; parsed into r (freed by rules_free). */
struct vec_rules {
    struct grules fp, stack;
    struct fingerprint_rules fr;
};

static const struct fingerprint_rules *rules_load(const char *name, const cJSON *spec,
                                                  struct vec_rules *r)
{
    const char *fp = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "fingerprint"));
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "stack"));
    const cJSON *ver = cJSON_GetObjectItem(spec, "version");
    struct grules_error e;

    memset(r, 0, sizeof(*r));
    if (spec == NULL)
        return NULL;
    fp = fp != NULL ? fp : "";
    st = st != NULL ? st : "";
    if (grules_parse(fp, strlen(fp), GRULES_FINGERPRINT, &r->fp, &e) != 0 ||
        grules_parse(st, strlen(st), GRULES_STACK, &r->stack, &e) != 0) {
        fprintf(stderr, "%s: rules: line %d column %d: %s\n", name, e.line, e.column, e.msg);
        CHECK(0);
    }
    r->fr.fingerprint = &r->fp;
    r->fr.stack = &r->stack;
    r->fr.version = cJSON_IsNumber(ver) ? ver->valueint : 1;
    return &r->fr;
}

static void rules_free(struct vec_rules *r)
{
    grules_free(&r->fp);
    grules_free(&r->stack);
}

static void normalize_rules(const char *json, struct event *ev, struct pool *pool,
                            const struct fingerprint_rules *rules)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    cJSON *obj = cJSON_Parse(json);

    CHECK(obj != NULL);
    memset(ev, 0, sizeof(*ev));
    ev->received_at = RECEIVED;
    normalize_sentry(obj, ev, &lim, pool);
    fingerprint_event_rules(ev, pool, rules);
    cJSON_Delete(obj);
}

static void normalize(const char *json, struct event *ev, struct pool *pool)
{
    normalize_rules(json, ev, pool, NULL);
}

/* An event of a vector: a Sentry event as a client sends it. */
static void normalize_obj(const cJSON *obj, struct event *ev, struct pool *pool,
                          const struct fingerprint_rules *rules)
{
    char *s = cJSON_PrintUnformatted(obj);

    normalize_rules(s, ev, pool, rules);
    free(s);
}

static void check_components(const char *name, const cJSON *want, const struct event *ev,
                             const struct fingerprint_rules *rules)
{
    struct buf exp = BUF_INIT(1 << 20), got = BUF_INIT(1 << 20);
    const cJSON *it;

    cJSON_ArrayForEach(it, want)
    {
        buf_addstr(&exp, it->valuestring);
        buf_addch(&exp, '\n');
    }
    CHECK_INT_EQ(fingerprint_components_rules(ev, rules, &got), 0);
    if (strcmp(exp.p, got.p) != 0)
        fprintf(stderr, "%s: components differ:\n--- want\n%s--- got\n%s", name, exp.p, got.p);
    CHECK_STR_EQ(got.p, exp.p);
    buf_release(&exp);
    buf_release(&got);
}

static void check_title(const char *name, const cJSON *titles, int g, const struct event *ev)
{
    const char *want = cJSON_GetStringValue(cJSON_GetArrayItem(titles, g));

    if (want == NULL)
        return;
    if (strcmp(want, ev->title) != 0)
        fprintf(stderr, "%s: group %d title '%s', want '%s'\n", name, g, ev->title, want);
    CHECK_STR_EQ(ev->title, want);
}

/* Fingerprints of all events, group by group; firsts[g] is group g's. */
static void run_vector(const char *dir, const char *name)
{
    struct pool pool = POOL_INIT(16384);
    cJSON *v = load_from(dir, name);
    const cJSON *groups = cJSON_GetObjectItem(v, "groups"), *g, *e;
    const cJSON *titles = cJSON_GetObjectItem(v, "titles");
    struct vec_rules vr;
    const struct fingerprint_rules *rules = rules_load(name, cJSON_GetObjectItem(v, "rules"), &vr);
    char firsts[16][33];
    int ng = 0;

    cJSON_ArrayForEach(g, groups)
    {
        int ne = 0;

        cJSON_ArrayForEach(e, g)
        {
            struct event ev;

            normalize_obj(e, &ev, &pool, rules);
            CHECK_INT_EQ(ev.grouping_version, FINGERPRINT_VERSION);
            CHECK_INT_EQ(ev.rules_version, rules != NULL ? rules->version : 0);
            if (ne == 0 && ng == 0 && cJSON_GetObjectItem(v, "components") != NULL)
                check_components(name, cJSON_GetObjectItem(v, "components"), &ev, rules);
            if (ne == 0)
                check_title(name, titles, ng, &ev);
            if (ne++ == 0) {
                memcpy(firsts[ng], ev.fingerprint, 33);
                continue;
            }
            if (strcmp(firsts[ng], ev.fingerprint) != 0) {
                struct buf got = BUF_INIT(1 << 20);

                (void)fingerprint_components_rules(&ev, rules, &got);
                fprintf(stderr, "%s: group %d event %d does not share the fingerprint:\n%s", name,
                        ng, ne - 1, got.p);
                buf_release(&got);
            }
            CHECK_STR_EQ(ev.fingerprint, firsts[ng]);
        }
        for (int k = 0; k < ng; k++) {
            if (strcmp(firsts[k], firsts[ng]) == 0)
                fprintf(stderr, "%s: groups %d and %d share a fingerprint\n", name, k, ng);
            CHECK(strcmp(firsts[k], firsts[ng]) != 0);
        }
        if (ng < 15)
            ng++;
    }
    CHECK(ng > 0);
    rules_free(&vr);
    cJSON_Delete(v);
    pool_release(&pool);
}

static int run_dir(const char *dir)
{
    char path[1024];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", T_DATA, dir);
    d = opendir(path);
    CHECK(d != NULL);
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t k = strlen(e->d_name);

        if (k > 5 && strcmp(e->d_name + k - 5, ".json") == 0 &&
            strcmp(e->d_name, "parameterize.json") != 0 &&
            strcmp(e->d_name, "rules_errors.json") != 0 &&
            strcmp(e->d_name, "v2_fingerprints.json") != 0) {
            run_vector(dir, e->d_name);
            n++;
        }
    }
    if (d != NULL)
        closedir(d);
    return n;
}

static void test_vectors(void)
{
    CHECK(run_dir("fingerprint") >= 6);
    CHECK(run_dir("grouping") >= 10);
}

/*
 * The previous version stays computable: fingerprint_prev of every event of
 * the fingerprint vectors is what version 2 gave before version 3 existed.
 */
static void test_previous_version(void)
{
    cJSON *v = load_from("grouping", "v2_fingerprints.json");
    const cJSON *file;
    int n = 0;

    cJSON_ArrayForEach(file, cJSON_GetObjectItem(v, "files"))
    {
        cJSON *vec = load(file->string);
        const cJSON *g, *e;
        int i = 0;

        cJSON_ArrayForEach(g, cJSON_GetObjectItem(vec, "groups"))
        {
            cJSON_ArrayForEach(e, g)
            {
                struct pool pool = POOL_INIT(16384);
                const char *want = cJSON_GetStringValue(cJSON_GetArrayItem(file, i++));
                struct event ev;

                normalize_obj(e, &ev, &pool, NULL);
                CHECK_INT_EQ(ev.grouping_version_prev, 2);
                if (want == NULL || strcmp(want, ev.fingerprint_prev) != 0)
                    fprintf(stderr, "%s: event %d: version 2 gives %s, was %s\n", file->string,
                            i - 1, ev.fingerprint_prev, want != NULL ? want : "(none)");
                CHECK(want != NULL && strcmp(want, ev.fingerprint_prev) == 0);
                pool_release(&pool);
                n++;
            }
        }
        CHECK_INT_EQ(i, cJSON_GetArraySize(file));
        cJSON_Delete(vec);
    }
    CHECK(n >= 50);
    cJSON_Delete(v);
}

/* Globs of stack-trace rules: which of these paths "-group" reaches. */
static void test_rule_globs(void)
{
    static const struct {
        const char *pattern, *path;
        int hit;
    } cases[] = {
        { "**/vendor/*.py", "/srv/vendor/a/vendor/x.py", 1 },
        { "**/vendor/*.py", "/srv/vendor/a/x.py", 0 },
        { "**/node_modules/**", "/srv/app/node_modules/a/b.js", 1 },
        { "/srv/*.js", "/srv/a/b.js", 0 },
        { "/srv/*.js", "/SRV/B.JS", 1 },
        { "/srv/?.js", "/srv/b.js", 1 },
        { "node:**", "node:internal/timers", 1 },
        { "**", "", 1 },
        { "a*b*c", "a/x/b/y/c", 0 },
        { "**a*", "x/y/za/q", 0 },
        { "**a*", "x/y/zaq", 1 },
        /* "**TEXT**" is matched as a substring (grouprules.c contains_form) */
        { "**/Site-Packages/**", "/usr/lib/python3/site-packages/x.py", 1 },
        { "**/site-packages/**", "/usr/lib/python3/site-packages", 0 },
        { "**/node_modules/**", "node_modules/a.js", 0 },
        { "**aab**", "x/aaab", 1 },
        { "**a.b**", "a", 0 },
        { "**a.b**", "", 0 },
        { "**a*b**", "a/x/b", 0 },
        { "**a*b**", "x/ayb/z", 1 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[200];
        struct grules r;
        struct grules_error e;
        struct ev_frame f = { .abs_path = cases[i].path, .in_app = 1 };
        struct event ev = { .frames = &f, .nframes = 1, .platform = "python" };

        snprintf(text, sizeof(text), "path:\"%s\" -group", cases[i].pattern);
        CHECK_INT_EQ(grules_parse(text, strlen(text), GRULES_STACK, &r, &e), 0);
        grules_apply_stack(&r, &ev);
        if (f.no_group != cases[i].hit)
            fprintf(stderr, "glob '%s' on '%s': %d\n", cases[i].pattern, cases[i].path, f.no_group);
        CHECK_INT_EQ(f.no_group, cases[i].hit);
        grules_free(&r);
    }
}

/* Malformed rule sets: [kind, text, line, column, words of the message]. */
static void test_rules_errors(void)
{
    cJSON *v = load_from("grouping", "rules_errors.json");
    const cJSON *c;
    int n = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "cases"))
    {
        const char *kind = cJSON_GetArrayItem(c, 0)->valuestring;
        const char *text = cJSON_GetArrayItem(c, 1)->valuestring;
        const char *words = cJSON_GetArrayItem(c, 4)->valuestring;
        struct grules r;
        struct grules_error e;
        int rc = grules_parse(text, strlen(text),
                              strcmp(kind, "stack") == 0 ? GRULES_STACK : GRULES_FINGERPRINT, &r,
                              &e);

        grules_free(&r);
        if (rc == 0 || e.line != cJSON_GetArrayItem(c, 2)->valueint ||
            e.column != cJSON_GetArrayItem(c, 3)->valueint || strstr(e.msg, words) == NULL)
            fprintf(stderr, "rules %s '%s': rc %d line %d column %d '%s'\n", kind, text, rc, e.line,
                    e.column, e.msg);
        CHECK_INT_EQ(rc, -1);
        CHECK_INT_EQ(e.line, cJSON_GetArrayItem(c, 2)->valueint);
        CHECK_INT_EQ(e.column, cJSON_GetArrayItem(c, 3)->valueint);
        CHECK(strstr(e.msg, words) != NULL);
        n++;
    }
    CHECK(n >= 10);
    cJSON_Delete(v);
    /* A NUL byte cannot travel in the JSON file. */
    {
        struct grules r;
        struct grules_error e;

        CHECK_INT_EQ(grules_parse("type:X\0 -> y", 13, GRULES_FINGERPRINT, &r, &e), -1);
        CHECK_INT_EQ(e.column, 7);
        CHECK(strstr(e.msg, "NUL") != NULL);
        grules_free(&r);
    }
}

static void test_parameterize(void)
{
    cJSON *v = load("parameterize.json");
    const cJSON *c;
    int n = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "cases"))
    {
        const char *in = cJSON_GetArrayItem(c, 0)->valuestring;
        struct buf out = BUF_INIT(4096);

        CHECK_INT_EQ(fingerprint_parameterize(in, strlen(in), &out), 0);
        if (strcmp(out.p, cJSON_GetArrayItem(c, 1)->valuestring) != 0)
            fprintf(stderr, "parameterize(\"%s\")\n", in);
        CHECK_STR_EQ(out.p, cJSON_GetArrayItem(c, 1)->valuestring);
        buf_release(&out);
        n++;
    }
    CHECK(n >= 20);
    cJSON_Delete(v);
}

static void test_parameterize_cap(void)
{
    struct buf out = BUF_INIT(8);

    /* The output cap is honoured, never overrun. */
    CHECK_INT_EQ(fingerprint_parameterize("abc 1 2 3 4 5", 13, &out), BL_ETOOBIG);
    CHECK(out.len <= 8);
    buf_release(&out);
}

static void test_title_culprit(void)
{
    struct pool pool = POOL_INIT(16384);
    struct event ev;
    char big[400];

    normalize("{\"logger\":\"app\",\"message\":\"first line\\nsecond\"}", &ev, &pool);
    CHECK_STR_EQ(ev.title, "first line");
    CHECK_STR_EQ(ev.culprit, "app");
    CHECK(ev.search_text == NULL);
    normalize("{\"transaction\":\"/api/x\",\"logger\":\"app\",\"exception\":[{\"type\":\"E\"}]}",
              &ev, &pool);
    CHECK_STR_EQ(ev.title, "E");
    CHECK_STR_EQ(ev.culprit, "/api/x");
    CHECK_STR_EQ(ev.search_text, "E");
    normalize("{}", &ev, &pool);
    CHECK_STR_EQ(ev.title, "<unlabeled event>");
    CHECK(ev.culprit == NULL);
    /* The value's first line only, the title cut at 200 bytes. */
    memset(big, 'v', sizeof(big));
    memcpy(big, "{\"exception\":[{\"type\":\"T\",\"value\":\"", 35);
    memcpy(big + sizeof(big) - 6, "\"}]}", 5);
    normalize(big, &ev, &pool);
    CHECK_INT_EQ(strlen(ev.title), 200);
    CHECK(strncmp(ev.title, "T: vvv", 6) == 0);
    /* Culprit: the primary exception's last in-app frame. */
    normalize("{\"exception\":{\"values\":[{\"type\":\"A\",\"value\":\"a\","
              "\"stacktrace\":{\"frames\":"
              "[{\"module\":\"x\",\"function\":\"old\",\"in_app\":true}]}},"
              "{\"type\":\"B\",\"value\":\"b\",\"stacktrace\":{\"frames\":["
              "{\"module\":\"app.a\",\"function\":\"f\",\"in_app\":true},"
              "{\"filename\":\"lib/x.py\",\"function\":\"g\",\"in_app\":false}]}}]}}",
              &ev, &pool);
    CHECK_STR_EQ(ev.title, "B: b");
    CHECK_STR_EQ(ev.culprit, "app.a in f");
    CHECK_STR_EQ(ev.search_text, "A a\nB b");
    pool_release(&pool);
}

static void test_template_hash(void)
{
    struct pool pool = POOL_INIT(16384);
    struct event a, b, c;

    normalize("{\"logentry\":{\"message\":\"Failed for user %s\",\"params\":[\"bob\"]}}", &a,
              &pool);
    normalize("{\"logentry\":{\"message\":\"Failed for user %s\",\"params\":[\"al\"]},"
              "\"logger\":\"other\"}",
              &b, &pool);
    normalize("{\"message\":\"Failed for user 42\"}", &c, &pool);
    /* Patterns ignore the logger, unlike grouping. */
    CHECK(a.template_hash == b.template_hash);
    CHECK(strcmp(a.fingerprint, b.fingerprint) != 0);
    CHECK(a.template_hash != c.template_hash);
    normalize("{\"message\":\"Failed for user 977\"}", &a, &pool);
    CHECK(a.template_hash == c.template_hash);
    CHECK(a.template_hash != 0);
    pool_release(&pool);
}

static void test_variables(void)
{
    struct pool pool = POOL_INIT(16384);
    struct buf comps = BUF_INIT(4096);
    struct event ev;

    normalize("{\"transaction\":\"/t\",\"level\":\"warning\",\"logger\":\"lg\","
              "\"tags\":{\"tenant\":\"acme\"},\"fingerprint\":[\"{{ transaction }}\","
              "\"{{ error.type }}\",\"{{level}}\",\"{{ logger }}\",\"{{ tags.tenant }}\","
              "\"{{ tags.none }}\",\"{{ function }}\",\"{{ value }}\",\"{{ nope }}\","
              "\"{{ package }}\",\"{{ stack.module }}\"],"
              "\"exception\":[{\"type\":\"E\",\"value\":\"id 42\",\"stacktrace\":{\"frames\":"
              "[{\"function\":\"fn\",\"module\":\"m\",\"package\":\"/usr/lib/libx.so\"}]}}]}",
              &ev, &pool);
    CHECK_INT_EQ(fingerprint_components(&ev, &comps), 0);
    CHECK_STR_EQ(comps.p, "custom:/t\ncustom:E\ncustom:warning\ncustom:lg\ncustom:acme\n"
                          "custom:\ncustom:fn\ncustom:id <int>\ncustom:{{ nope }}\n"
                          "custom:/usr/lib/libx.so\ncustom:m\n");
    buf_release(&comps);
    pool_release(&pool);
}

static void test_app_vs_system(void)
{
    struct pool pool = POOL_INIT(16384);
    struct buf comps = BUF_INIT(4096);
    struct event ev;

    /* No frame says in_app: every frame counts, in order. */
    normalize("{\"exception\":[{\"type\":\"E\",\"stacktrace\":{\"frames\":["
              "{\"function\":\"a\",\"module\":\"m1\"},{\"function\":\"b\",\"module\":\"m2\","
              "\"in_app\":false}]}}]}",
              &ev, &pool);
    CHECK_INT_EQ(fingerprint_components(&ev, &comps), 0);
    CHECK_STR_EQ(comps.p, "type:E\nframe:m1|a|\nframe:m2|b|\n");
    buf_reset(&comps);
    /*
     * Filenames that are not paths do not contribute; the function still
     * does, except that since version 3 a JavaScript frame in native code
     * is dropped whole (V8 reports Array.forEach, Safari forEach@[native
     * code], Firefox nothing: keeping it would split browsers).
     */
    normalize("{\"platform\":\"node\",\"exception\":[{\"type\":\"E\",\"stacktrace\":{\"frames\":["
              "{\"function\":\"?\",\"filename\":\"<anonymous>\"},"
              "{\"function\":\"run\",\"filename\":\"[native code]\"},"
              "{\"function\":\"h\",\"filename\":\"C:\\\\App\\\\Src\\\\Main.JS\","
              "\"context_line\":\"  h( 1 )\"}]}}]}",
              &ev, &pool);
    CHECK_INT_EQ(fingerprint_components(&ev, &comps), 0);
    CHECK_STR_EQ(comps.p, "type:E\nframe:main.js|h|h(1)\n");
    buf_release(&comps);
    pool_release(&pool);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_vectors();
    test_rules_errors();
    test_previous_version();
    test_rule_globs();
    test_parameterize();
    test_parameterize_cap();
    test_title_culprit();
    test_template_hash();
    test_variables();
    test_app_vs_system();
    return t_done();
}
