/*
 * Unit tests for src/api without a socket: the route table (exact, optional
 * slash, prefix routes, 404/405), the token check and the principal it sets,
 * api_access, the JSON writer, the time-range parser, and the REST handlers
 * against a temporary SQLite store filled through the real normalizer. A
 * request is a struct bl_req whose header/query callbacks read a test
 * double, and it runs the way http/ runs it: route, early check, handler.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_logdoor.h"
#include "api/jw.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "ingest/fingerprint.h"
#include "ingest/normalize.h"
#include "api/api_ui.h"
#include "t.h"

#define TOKEN "bilor_test_token_0123456789abcdef0123456789"

/* The test double behind req->header_fn / req->query_fn: "name", "value" pairs. */
struct fake_conn {
    const char *headers[8];
    const char *query[16];
};

static const char *fake_lookup(const char *const *kv, size_t n, const char *name, int nocase)
{
    for (size_t i = 0; i + 1 < n && kv[i] != NULL; i += 2) {
        if (nocase ? strcasecmp(kv[i], name) == 0 : strcmp(kv[i], name) == 0)
            return kv[i + 1];
    }
    return NULL;
}

static const char *fake_header(void *conn, const char *name)
{
    struct fake_conn *c = conn;

    return fake_lookup(c->headers, 8, name, 1);
}

static const char *fake_query(void *conn, const char *name)
{
    struct fake_conn *c = conn;

    return fake_lookup(c->query, 16, name, 0);
}

/* obj[key] as an integer, def when absent or not a number. */
static long long jint(const cJSON *obj, const char *key, long long def)
{
    double d;

    return json_num(obj, key, &d) == 0 ? (long long)d : def;
}

struct call {
    struct pool pool;
    struct bl_req req;
    struct bl_resp resp;
    cJSON *json; /* the answer parsed, when it is JSON */
};

static struct app app;
static struct pool app_pool;

/* Runs one request the way http/ does: route, early check on headers, handler on the body. */
static void run(struct call *c, int method, const char *path, struct fake_conn *conn,
                const char *body)
{
    int status = 0;

    memset(c, 0, sizeof(*c));
    pool_init(&c->pool, 4096);
    resp_init(&c->resp);
    c->req.method = method;
    c->req.path = path;
    c->req.pool = &c->pool;
    c->req.app = &app;
    c->req.conn = conn;
    c->req.header_fn = fake_header;
    c->req.query_fn = fake_query;
    c->req.body = body != NULL ? slice_from(body) : SLICE_NULL;
    if (api_route(&c->req, &status) == NULL) {
        resp_error(&c->resp, status, "route");
    } else {
        if (c->req.route->early != NULL)
            c->req.route->early(&c->req, &c->resp);
        if (c->resp.status == 0)
            c->req.route->handler(&c->req, &c->resp);
    }
    c->json = cJSON_ParseWithLength(c->resp.body.p, c->resp.body.len);
}

static void done(struct call *c)
{
    cJSON_Delete(c->json);
    resp_release(&c->resp);
    pool_release(&c->pool);
}

static const char *resp_hdr(const struct call *c, const char *name)
{
    for (size_t i = 0; i < c->resp.nheaders; i++)
        if (strcasecmp(c->resp.headers[i].name, name) == 0)
            return c->resp.headers[i].value;
    return NULL;
}

/* GET path with the admin token and the given query pairs (NULL-terminated). */
static void get(struct call *c, const char *path, const char *const *query)
{
    static struct fake_conn conn;

    memset(&conn, 0, sizeof(conn));
    conn.headers[0] = "authorization";
    conn.headers[1] = "Bearer " TOKEN;
    for (size_t i = 0; query != NULL && query[i] != NULL && i < 15; i++)
        conn.query[i] = query[i];
    run(c, BL_GET, path, &conn, NULL);
}

/* ---------------------------------------------------------------- routing */

static void test_routes(void)
{
    struct fake_conn conn = { { NULL }, { NULL } };
    struct call c;

    run(&c, BL_GET, "/api/0/nope/", &conn, NULL);
    CHECK_INT_EQ(c.resp.status, 404);
    done(&c);
    run(&c, BL_DELETE, "/api/0/projects/", &conn, NULL);
    CHECK_INT_EQ(c.resp.status, 405);
    CHECK(c.json != NULL && json_str(c.json, "error") != NULL);
    done(&c);
    run(&c, BL_GET, "/api/1/store/", &conn, NULL);
    CHECK_INT_EQ(c.resp.status, 405); /* the door exists for POST only */
    done(&c);
    /* Parameters and the optional trailing slash. */
    memset(&c, 0, sizeof(c));
    c.req.method = BL_GET;
    c.req.path = "/api/0/projects/12/events/abc-def";
    {
        int st = 0;
        const struct route *r = api_route(&c.req, &st);

        CHECK(r != NULL && r->handler == api_event_get);
        CHECK_INT_EQ(c.req.nparams, 2);
        CHECK(slice_eq(c.req.params[0], "12"));
        CHECK(slice_eq(c.req.params[1], "abc-def"));
        CHECK_INT_EQ(req_param_id(&c.req, 0), 12);
        CHECK_INT_EQ(req_param_id(&c.req, 1), -1);
        c.req.method = BL_HEAD; /* HEAD is served by the GET route */
        CHECK(api_route(&c.req, &st) != NULL);
        c.req.path = "/api/0/projects//events/x/"; /* {} needs a non-empty segment */
        CHECK(api_route(&c.req, &st) == NULL);
        CHECK_INT_EQ(st, 404);
    }
}

static void h_exact(struct bl_req *req, struct bl_resp *resp)
{
    (void)req;
    resp->status = 201;
}

static void h_assets(struct bl_req *req, struct bl_resp *resp)
{
    (void)req;
    resp->status = 202;
}

static void test_prefix_routes(void)
{
    static const struct route table[] = {
        { BL_GET, "/ui/api", DOOR_OTHER, 0, NULL, h_exact, 0 },
        { BL_GET, "/ui/{}/x/*", DOOR_OTHER, 0, NULL, h_exact, 0 },
        { BL_GET, "/ui/*", DOOR_OTHER, 0, NULL, h_assets, 0 },
    };
    static const struct {
        int method;
        const char *path;
        int status; /* 0: matched */
        api_handler_fn handler;
        const char *rest; /* the last parameter */
    } cases[] = {
        { BL_GET, "/ui/api", 0, h_exact, NULL },
        { BL_GET, "/ui/", 0, h_assets, "" },
        { BL_GET, "/ui/app/main.js", 0, h_assets, "app/main.js" },
        { BL_GET, "/ui/a%20b/c.css?x", 0, h_assets, "a%20b/c.css?x" },
        { BL_GET, "/ui/7/x/deep/er", 0, h_exact, "deep/er" },
        { BL_HEAD, "/ui/index.html", 0, h_assets, "index.html" },
        { BL_GET, "/ui", 404, NULL, NULL },
        { BL_GET, "/uix/a", 404, NULL, NULL },
        { BL_POST, "/ui/app.js", 405, NULL, NULL },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bl_req req;
        int st = 0;
        const struct route *r;

        memset(&req, 0, sizeof(req));
        req.method = cases[i].method;
        req.path = cases[i].path;
        r = api_route_in(table, sizeof(table) / sizeof(table[0]), &req, &st);
        if (cases[i].status != 0) {
            CHECK(r == NULL);
            CHECK_INT_EQ(st, cases[i].status);
            continue;
        }
        CHECK(r != NULL && r->handler == cases[i].handler);
        if (r != NULL && cases[i].rest != NULL) {
            struct slice last = req.params[req.nparams - 1];

            CHECK_INT_EQ(last.len, strlen(cases[i].rest));
            CHECK(last.len == strlen(cases[i].rest) &&
                  memcmp(last.p, cases[i].rest, last.len) == 0);
        }
    }
}

/* ------------------------------------------------------------ web UI */

static void test_ui(void)
{
    struct fake_conn conn = { { NULL }, { NULL } };
    const struct ui_asset *idx = ui_asset_find("index.html");
    const char *etag;
    char *path;
    struct call c;

    CHECK(ui_accepts_gzip("gzip, deflate, br"));
    CHECK(ui_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    CHECK(!ui_accepts_gzip("gzip;q=0, br"));
    CHECK(!ui_accepts_gzip("gzip;q=0.000"));
    CHECK(!ui_accepts_gzip("x-gzip2"));
    CHECK(!ui_accepts_gzip(NULL));
    CHECK(ui_etag_matches("\"a\", W/\"b\"", "\"b\""));
    CHECK(!ui_etag_matches("\"bb\"", "\"b\""));
    CHECK(ui_etag_matches("*", "\"b\""));
    CHECK(strcmp(ui_content_type("js/app.js"), "text/javascript; charset=utf-8") == 0);
    CHECK(idx != NULL && idx->gz_len > 0 && idx->len > 0);

    /* index.html: revalidated, CSP, the version filled in, no placeholder left. */
    run(&c, BL_GET, "/", &conn, NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK(strcmp(resp_hdr(&c, "Cache-Control"), "no-cache") == 0);
    CHECK(resp_hdr(&c, "Content-Security-Policy") != NULL);
    CHECK(resp_hdr(&c, "Content-Encoding") == NULL);
    {
        const char *html = pool_strndup(&c.pool, c.resp.body.p, c.resp.body.len);

        CHECK(strstr(html, ui_embedded_version) != NULL);
        CHECK(strstr(html, "%V%") == NULL);
    }
    etag = pool_strdup(&app_pool, resp_hdr(&c, "ETag"));
    conn.headers[0] = "If-None-Match";
    conn.headers[1] = etag;
    done(&c);
    run(&c, BL_GET, "/", &conn, NULL);
    CHECK_INT_EQ(c.resp.status, 304);
    CHECK_INT_EQ(c.resp.body.len, 0);
    done(&c);

    /* A fingerprinted asset: a year of caching, gzip when accepted. */
    conn.headers[0] = "Accept-Encoding";
    conn.headers[1] = "gzip";
    path = pool_printf(&app_pool, "/ui/v/%s/js/app.js", ui_embedded_version);
    run(&c, BL_GET, path, &conn, NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK(strstr(resp_hdr(&c, "Cache-Control"), "immutable") != NULL);
    CHECK(resp_hdr(&c, "Content-Encoding") != NULL);
    CHECK(c.resp.body.len > 2 && (unsigned char)c.resp.body.p[0] == 0x1f);
    done(&c);
    /* A stale version still gets the file, but not for a year. */
    run(&c, BL_GET, "/ui/v/000000000000/js/app.js", &conn, NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK(strcmp(resp_hdr(&c, "Cache-Control"), "no-cache") == 0);
    done(&c);
    /* Nothing outside the table, and no way out of the folder. */
    static const char *const bad[] = { "/ui/nope.js",          "/ui/../CMakeLists.txt", "/ui/v/x",
                                       "/ui/js/../index.html", "/ui/.hidden",           "/ui/" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run(&c, BL_GET, bad[i], &conn, NULL);
        CHECK_INT_EQ(c.resp.status, 404);
        done(&c);
    }
}

/* ------------------------------------------------------- who is asking */

static void test_token_check(void)
{
    struct fake_conn none = { { NULL }, { NULL } };
    struct fake_conn bad = { { "Authorization", "Bearer bilor_wrong" }, { NULL } };
    struct fake_conn basic = { { "Authorization", "Basic " TOKEN }, { NULL } };
    struct call c;

    run(&c, BL_GET, "/api/0/projects/", &none, NULL);
    CHECK_INT_EQ(c.resp.status, 401);
    CHECK(resp_hdr(&c, "WWW-Authenticate") != NULL);
    CHECK(c.json != NULL && json_str(c.json, "error") != NULL);
    CHECK_INT_EQ(c.req.who.kind, PRINCIPAL_ANONYMOUS);
    done(&c);
    run(&c, BL_GET, "/api/0/projects/", &bad, NULL);
    CHECK_INT_EQ(c.resp.status, 401);
    done(&c);
    run(&c, BL_GET, "/api/0/issues/1/", &basic, NULL);
    CHECK_INT_EQ(c.resp.status, 401);
    done(&c);
    get(&c, "/api/0/projects/", NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_INT_EQ(c.req.who.kind, PRINCIPAL_TOKEN);
    CHECK(c.req.who.user_id > 0);
    CHECK_INT_EQ(strlen(c.req.who.token_id), 16);
    CHECK(c.req.who.instance_admin);
    CHECK_INT_EQ(api_access(&c.req, API_ADMIN, 0), 0);
    done(&c);
}

static void test_access(void)
{
    struct bl_req req;
    struct bl_resp resp;

    memset(&req, 0, sizeof(req));
    resp_init(&resp);
    /* A handler reached without an early check is anonymous: refused, never open. */
    CHECK_INT_EQ(api_access(&req, API_READ, 1), 401);
    CHECK_INT_EQ(api_require(&req, &resp, API_WRITE, 1), -1);
    CHECK_INT_EQ(resp.status, 401);
    /* An instance admin's unlimited token may do everything (the rule: test_access.c). */
    req.app = &app;
    req.who.kind = PRINCIPAL_TOKEN;
    req.who.user_id = 1;
    req.who.instance_admin = 1;
    req.who.scopes = STORE_SCOPE_ALL;
    CHECK_INT_EQ(api_access(&req, API_READ, 1), 0);
    CHECK_INT_EQ(api_access(&req, API_WRITE, 99), 0);
    resp_release(&resp);
}

/* ------------------------------------------------------------ the writer */

static void test_writer(void)
{
    struct buf b = BUF_INIT(1024), small = BUF_INIT(8);
    struct jw w;
    cJSON *v = cJSON_Parse("{\"a\":[1,true]}");

    jw_init(&w, &b);
    jw_obj(&w, NULL);
    jw_str(&w, "s", "q\"\\\n\x01\xc3\xa9");
    jw_str(&w, "null", NULL);
    jw_str_opt(&w, "absent", NULL);
    jw_int(&w, "i", -42);
    jw_tri(&w, "t", 1);
    jw_tri(&w, "f", 0);
    jw_tri(&w, "u", -1);
    jw_time(&w, "t0", 0);
    jw_time(&w, "t1", INT64_C(1714521600000001));
    jw_arr(&w, "arr");
    jw_int(&w, NULL, 1);
    jw_int(&w, NULL, INT64_MIN);
    jw_int(&w, NULL, 0);
    jw_arr(&w, NULL);
    jw_arr_end(&w);
    jw_obj(&w, NULL);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_cjson(&w, "c", v);
    jw_raw(&w, "r", "[[\"k\",\"v\"]]", 11);
    jw_obj_end(&w);
    CHECK_INT_EQ(jw_end(&w), 0);
    CHECK_STR_EQ(
        b.p,
        "{\"s\":\"q\\\"\\\\\\n\\u0001\xc3\xa9\",\"null\":null,\"i\":-42,\"t\":true,"
        "\"f\":false,\"u\":null,\"t0\":null,\"t1\":\"2024-05-01T00:00:00.000001Z\","
        "\"arr\":[1,-9223372036854775808,0,[],{}],\"c\":{\"a\":[1,true]},\"r\":[[\"k\",\"v\"]]}");

    /* Errors stick: a full buffer, unclosed or unbalanced containers, too deep. */
    jw_init(&w, &small);
    jw_obj(&w, NULL);
    jw_str(&w, "key", "a value longer than the cap");
    jw_int(&w, "after", 1);
    jw_obj_end(&w);
    CHECK_INT_EQ(jw_end(&w), BL_ETOOBIG);
    buf_reset(&b);
    jw_init(&w, &b);
    jw_arr(&w, NULL);
    CHECK_INT_EQ(jw_end(&w), BL_EINVAL);
    jw_init(&w, &b);
    jw_arr_end(&w);
    CHECK_INT_EQ(jw_end(&w), BL_EINVAL);
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH + 2; i++)
        jw_arr(&w, NULL);
    CHECK_INT_EQ(jw_end(&w), BL_EINVAL);
    cJSON_Delete(v);
    buf_release(&b);
    buf_release(&small);
}

static void test_time_parse(void)
{
    static const struct {
        const char *s;
        int ok;
        int64_t us;
    } cases[] = {
        { "2024-05-01T00:00:00Z", 1, INT64_C(1714521600000000) },
        { "2024-05-01T02:00:00+02:00", 1, INT64_C(1714521600000000) },
        { "1714521600", 1, INT64_C(1714521600000000) },
        { "1714521600.5", 1, INT64_C(1714521600500000) },
        { "2024-02-29T00:00:00Z", 1, INT64_C(1709164800000000) }, /* a leap day */
        { "2026-02-30T00:00:00Z", 0, 0 },
        { "2025-02-29T00:00:00Z", 0, 0 },
        { "2026-04-31T00:00:00Z", 0, 0 },
        { "2026-13-01T00:00:00Z", 0, 0 },
        { "2026-02-30", 0, 0 },
        { "0", 0, 0 },
        { "0.0", 0, 0 },
        { "-5", 0, 0 },
        { "", 0, 0 },
        { "yesterday", 0, 0 },
        { "1e9", 0, 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = 0;
        int rc = aj_parse_time(cases[i].s, &us);

        if (cases[i].ok) {
            CHECK_INT_EQ(rc, 0);
            CHECK_INT_EQ(us, cases[i].us);
        } else if (rc == 0) {
            fprintf(stderr, "accepted bad time '%s'\n", cases[i].s);
            CHECK(rc != 0);
        }
    }
}

/* ------------------------------------------------- REST against a store */

static char tmpdir[256];
static char event_id[33], log_id[3][33];
static int64_t issue_id;

/* Builds a stored event the way the digest does: normalize, fingerprint, keep the raw payload. */
static void mk_event(struct event *ev, const char *raw, int logline, int64_t received, uint64_t lsn,
                     struct pool *pool)
{
    cJSON *obj = cJSON_Parse(raw);
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;

    memset(ev, 0, sizeof(*ev));
    snprintf(ev->event_id, sizeof(ev->event_id), "%016llx%016llx", (unsigned long long)lsn,
             (unsigned long long)lsn * 7);
    ev->project_id = 1;
    ev->lsn = lsn;
    ev->received_at = received;
    ev->source = logline ? EV_SRC_LOGLINE : EV_SRC_SENTRY;
    if (logline)
        normalize_log_line(obj, ev, &lim, pool);
    else
        normalize_sentry(obj, ev, &lim, pool);
    fingerprint_event(ev, pool);
    ev->kind = logline ? EV_KIND_LOG : EV_KIND_ISSUE;
    ev->raw = raw;
    ev->raw_len = strlen(raw);
    ev->raw_encoding = EV_RAW_IDENTITY;
    cJSON_Delete(obj);
}

static int setup_store(void)
{
    static const char sentry[] =
        "{\"message\":\"ignored\",\"level\":\"error\",\"release\":\"r1\","
        "\"tags\":{\"browser\":\"Firefox\"},\"contexts\":{\"os\":{\"name\":\"Linux\"}},"
        "\"exception\":{\"values\":[{\"type\":\"ValueError\",\"value\":\"bad input\","
        "\"mechanism\":{\"type\":\"generic\",\"handled\":false},"
        "\"stacktrace\":{\"frames\":[{\"function\":\"main\",\"filename\":\"app.py\",\"lineno\":3,"
        "\"vars\":{\"x\":1},\"in_app\":true}]}}]}}";
    static char lines[3][256];
    struct pool pool = POOL_INIT(16384);
    struct store_project p;
    struct event ev[4];
    struct bl_err err = { 0, "" };
    int64_t uid = 0, now = clock_now_us();

    if (store_open(&app.store, tmpdir, "test-node", &err) < 0) {
        fprintf(stderr, "store: %s\n", bl_err_msg(&err));
        return -1;
    }
    CHECK_INT_EQ(store_project_add(app.store, "web", &p, NULL), 0);
    CHECK_INT_EQ(store_user_add(app.store, "admin", "$argon2id$x", 1, &uid, NULL), 0);
    CHECK_INT_EQ(auth_token_register(app.store, uid, TOKEN, "test", NULL), 0);
    mk_event(&ev[0], sentry, 0, now - 1000, 1, &pool);
    for (int i = 0; i < 3; i++) {
        /* An hour apart, so time bounds can pick them. */
        snprintf(lines[i], sizeof(lines[i]),
                 "{\"ts\":%lld,\"level\":\"info\",\"msg\":\"line %d\",\"trace_id\":\"t%d\","
                 "\"host\":\"web-1\",\"user\":{\"id\":%d},\"n\":%d.5}",
                 (long long)((now - (3 - i) * CLOCK_US_PER_HOUR) / CLOCK_US_PER_SEC), i, i, i, i);
        mk_event(&ev[1 + i], lines[i], 1, now - 500 + i, (uint64_t)(2 + i), &pool);
        memcpy(log_id[i], ev[1 + i].event_id, 33);
    }
    memcpy(event_id, ev[0].event_id, 33);
    CHECK_INT_EQ(store_write_batch(app.store, ev, 4, 10, NULL, &err), 0);
    issue_id = ev[0].issue_id;
    CHECK(issue_id > 0);
    pool_release(&pool);
    return 0;
}

static void test_projects_and_index(void)
{
    struct call c;
    const cJSON *p, *links;

    get(&c, "/api/0/projects/", NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_STR_EQ(c.resp.content_type, "application/json");
    CHECK(cJSON_GetArraySize(c.json) == 1);
    p = cJSON_GetArrayItem(c.json, 0);
    CHECK_INT_EQ(jint(p, "id", 0), 1);
    CHECK_STR_EQ(json_str(p, "name"), "web");
    CHECK(strncmp(json_str(p, "dsn"), "http://", 7) == 0);
    CHECK(strstr(json_str(p, "dsn"), "@127.0.0.1:8000/1") != NULL);
    CHECK_STR_EQ(json_str(p, "issue_level"), "error");
    done(&c);

    get(&c, "/api/0/", NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK(json_str(c.json, "version") != NULL);
    links = json_obj(c.json, "links");
    CHECK_STR_EQ(json_str(links, "projects"), "http://127.0.0.1:8000/api/0/projects/");
    done(&c);
    get(&c, "/api/0", NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    done(&c);
}

static void test_issues(void)
{
    static const char *const all[] = { "status", "all", NULL };
    static const char *const bad_sort[] = { "sort", "size", NULL };
    static const char *const all_hourly[] = { "status", "all", "hourly", "1", NULL };
    static const char *const bad_hourly[] = { "hourly", "yes", NULL };
    struct fake_conn conn = { { "Authorization", "Bearer " TOKEN }, { NULL } };
    char path[128];
    struct call c;
    const cJSON *is, *tag;

    get(&c, "/api/0/projects/1/issues/", all);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_INT_EQ(cJSON_GetArraySize(c.json), 1);
    is = cJSON_GetArrayItem(c.json, 0);
    CHECK_STR_EQ(json_str(is, "title"), "ValueError: bad input");
    CHECK_STR_EQ(json_str(is, "status"), "unresolved");
    CHECK_INT_EQ(jint(is, "count", 0), 1);
    CHECK_STR_EQ(json_str(is, "first_release"), "r1");
    CHECK(cJSON_GetObjectItem(is, "hourly") == NULL);
    done(&c);
    get(&c, "/api/0/projects/1/issues/", all_hourly);
    CHECK_INT_EQ(c.resp.status, 200);
    is = cJSON_GetArrayItem(c.json, 0);
    CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(is, "hourly")), 24);
    CHECK(json_str(is, "hourly_since") != NULL);
    done(&c);
    get(&c, "/api/0/projects/1/issues/", bad_hourly);
    CHECK_INT_EQ(c.resp.status, 400);
    done(&c);
    get(&c, "/api/0/projects/1/issues/", bad_sort);
    CHECK_INT_EQ(c.resp.status, 400);
    done(&c);
    get(&c, "/api/0/projects/9/issues/", NULL);
    CHECK_INT_EQ(c.resp.status, 404);
    done(&c);

    snprintf(path, sizeof(path), "/api/0/issues/%lld/", (long long)issue_id);
    get(&c, path, NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(c.json, "hourly")), 24);
    CHECK(json_str(c.json, "hourly_since") != NULL);
    done(&c);
    run(&c, BL_PUT, path, &conn, "{\"status\":\"sideways\"}");
    CHECK_INT_EQ(c.resp.status, 400);
    done(&c);
    run(&c, BL_PUT, path, &conn, "{\"status\":\"resolved\"}");
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_STR_EQ(json_str(c.json, "status"), "resolved");
    done(&c);

    snprintf(path, sizeof(path), "/api/0/issues/%lld/events/", (long long)issue_id);
    get(&c, path, NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    is = cJSON_GetArrayItem(c.json, 0);
    CHECK_STR_EQ(json_str(is, "event_id"), event_id);
    CHECK_STR_EQ(json_str(is, "kind"), "issue");
    CHECK_INT_EQ(jint(is, "issue_id", 0), issue_id);
    tag = cJSON_GetArrayItem(json_arr(is, "tags"), 0);
    CHECK(cJSON_IsString(cJSON_GetArrayItem(tag, 0)) &&
          strcmp(cJSON_GetArrayItem(tag, 0)->valuestring, "browser") == 0);
    CHECK(cJSON_IsString(cJSON_GetArrayItem(tag, 1)) &&
          strcmp(cJSON_GetArrayItem(tag, 1)->valuestring, "Firefox") == 0);
    done(&c);
}

static void test_event_doc(void)
{
    char path[128];
    struct call c;
    const cJSON *x, *frame;

    snprintf(path, sizeof(path), "/api/0/projects/1/events/%s/", event_id);
    get(&c, path, NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_STR_EQ(json_str(c.json, "event_id"), event_id);
    CHECK_STR_EQ(json_str(c.json, "kind"), "issue");
    CHECK_INT_EQ(jint(c.json, "issue_id", 0), issue_id);
    CHECK_STR_EQ(json_str(c.json, "title"), "ValueError: bad input");
    CHECK_STR_EQ(json_str(json_obj(json_obj(c.json, "contexts"), "os"), "name"), "Linux");
    CHECK(json_obj(c.json, "raw") != NULL);
    x = cJSON_GetArrayItem(json_arr(json_obj(c.json, "exception"), "values"), 0);
    CHECK_STR_EQ(json_str(json_obj(x, "mechanism"), "type"), "generic");
    frame = cJSON_GetArrayItem(json_arr(json_obj(x, "stacktrace"), "frames"), 0);
    CHECK_STR_EQ(json_str(frame, "function"), "main");
    CHECK_INT_EQ(jint(json_obj(frame, "vars"), "x", 0), 1);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(frame, "in_app")));
    done(&c);
    get(&c, "/api/0/projects/1/events/00000000000000000000000000000000/", NULL);
    CHECK_INT_EQ(c.resp.status, 404);
    done(&c);
}

static void test_logs(void)
{
    static const char *const until0[] = { "until", "0", NULL };
    static const char *const feb30[] = { "since", "2026-02-30T00:00:00Z", NULL };
    static const char *const reversed[] = { "since", "1714521600", "until", "1714500000", NULL };
    static const char *const limit0[] = { "limit", "0", NULL };
    static const char *const page[] = { "limit", "2", NULL };
    char since[40], until[40];
    const char *window[] = { "since", since, "until", until, NULL };
    int64_t now = clock_now_us();
    struct call c;
    const cJSON *row, *attrs;

    get(&c, "/api/0/projects/1/logs/", NULL);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_INT_EQ(cJSON_GetArraySize(c.json), 3);
    row = cJSON_GetArrayItem(c.json, 0); /* newest first */
    CHECK_STR_EQ(json_str(row, "event_id"), log_id[2]);
    CHECK_STR_EQ(json_str(row, "message"), "line 2");
    CHECK_STR_EQ(json_str(row, "kind"), "log");
    CHECK_STR_EQ(json_str(row, "trace_id"), "t2");
    CHECK_STR_EQ(json_str(row, "server_name"), "web-1");
    CHECK(cJSON_GetObjectItem(row, "request_id") == NULL);
    attrs = json_obj(row, "attributes");
    CHECK_INT_EQ(jint(json_obj(attrs, "user"), "id", -1), 2);
    CHECK(cJSON_GetObjectItem(attrs, "n") != NULL &&
          cJSON_GetObjectItem(attrs, "n")->valuedouble == 2.5);
    CHECK(cJSON_GetObjectItem(attrs, "msg") == NULL); /* consumed, not an attribute */
    CHECK(cJSON_GetObjectItem(attrs, "trace_id") == NULL);
    CHECK(cJSON_GetObjectItem(attrs, "host") == NULL);
    done(&c);

    get(&c, "/api/0/projects/1/logs/", page);
    CHECK_INT_EQ(cJSON_GetArraySize(c.json), 2);
    CHECK(resp_hdr(&c, "Link") != NULL && strstr(resp_hdr(&c, "Link"), "rel=\"next\"") != NULL);
    CHECK(resp_hdr(&c, "Link") != NULL && strstr(resp_hdr(&c, "Link"), "&limit=2") != NULL);
    done(&c);

    /* A window that holds only the middle line (lines are 3, 2 and 1 hours old). */
    clock_fmt_rfc3339(now - 2 * CLOCK_US_PER_HOUR - CLOCK_US_PER_HOUR / 2, since);
    clock_fmt_rfc3339(now - CLOCK_US_PER_HOUR - CLOCK_US_PER_HOUR / 2, until);
    get(&c, "/api/0/projects/1/logs/", window);
    CHECK_INT_EQ(c.resp.status, 200);
    CHECK_INT_EQ(cJSON_GetArraySize(c.json), 1);
    CHECK_STR_EQ(json_str(cJSON_GetArrayItem(c.json, 0), "message"), "line 1");
    done(&c);

    get(&c, "/api/0/projects/1/logs/", until0);
    CHECK_INT_EQ(c.resp.status, 400);
    CHECK(c.json != NULL && strstr(json_str(c.json, "error"), "until") != NULL);
    done(&c);
    get(&c, "/api/0/projects/1/logs/", feb30);
    CHECK_INT_EQ(c.resp.status, 400);
    done(&c);
    get(&c, "/api/0/projects/1/logs/", reversed);
    CHECK_INT_EQ(c.resp.status, 400);
    done(&c);
    get(&c, "/api/0/projects/1/logs/", limit0);
    CHECK_INT_EQ(c.resp.status, 400);
    done(&c);
    get(&c, "/api/0/projects/0/logs/", NULL);
    CHECK_INT_EQ(c.resp.status, 404);
    done(&c);
}

/* ------------------------------------------------------- log door keys */

/* The key logdoor_find_key reads from one Authorization header ("" when refused). */
static const char *door_key(const char *authorization, char key[65])
{
    struct fake_conn conn = { { "Authorization", authorization }, { NULL } };
    struct bl_req req;
    struct bl_err err = { 0 };

    memset(&req, 0, sizeof(req));
    req.conn = &conn;
    req.header_fn = fake_header;
    req.query_fn = fake_query;
    if (logdoor_find_key(&req, key, &err) < 0)
        key[0] = '\0';
    return key;
}

static void test_door_keys(void)
{
    /* This key is valid base64 whose bytes hold a ':' (one key in eight is). */
    static const char k[] = "6efed9ba272d7032dfc6eda7f235b059";
    char key[65];

    CHECK_STR_EQ(door_key("ApiKey 6efed9ba272d7032dfc6eda7f235b059", key), k);
    CHECK_STR_EQ(door_key("ApiKey aWQ6NmVmZWQ5YmEyNzJkNzAzMmRmYzZlZGE3ZjIzNWIwNTk=", key), k);
    CHECK_STR_EQ(door_key("Basic aWQ6NmVmZWQ5YmEyNzJkNzAzMmRmYzZlZGE3ZjIzNWIwNTk=", key), k);
    CHECK_STR_EQ(door_key("Bearer 6efed9ba272d7032dfc6eda7f235b059", key), k);
    CHECK_STR_EQ(door_key("Basic 6efed9ba272d7032dfc6eda7f235b059", key), "");
    CHECK_STR_EQ(door_key("Digest x", key), "");
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_routes();
    test_prefix_routes();
    pool_init(&app_pool, 4096);
    test_ui();
    pool_release(&app_pool);
    test_access();
    test_writer();
    test_time_parse();
    test_door_keys();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-api-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    app.limits = INGEST_LIMITS_DEFAULT;
    snprintf(app.public_url, sizeof(app.public_url), "http://127.0.0.1:8000");
    if (setup_store() == 0) {
        test_token_check();
        test_projects_and_index();
        test_issues();
        test_event_doc();
        test_logs();
    }
    store_close(app.store);
    t_rm_tree(tmpdir);
    return t_done();
}
