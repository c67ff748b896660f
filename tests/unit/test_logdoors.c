/*
 * test_logdoors.c - the HTTP log doors' formats: OTLP JSON (protocols.md
 * §6.5 O1, O4-O7, O9, malformed) walked like the protobuf form, the
 * Elasticsearch bulk check and decode (§5.6 B1, B5, B6; ECS mapping), the
 * single-document id, and the original Bilor API (§7.3 L3).
 */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/json.h"
#include "ingest/format.h"
#include "ingest/otlp.h"

struct seen {
    int n;
    char out[4][1024];
};

static int collect(void *arg, const struct otlp_record *r)
{
    struct seen *s = arg;

    if (s->n < 4)
        snprintf(s->out[s->n], sizeof(s->out[0]),
                 "res=%s scope=%.*s/%.*s t=%llu o=%llu sev=%d/%.*s body%d=%.*s attrs=%s "
                 "trace=%s span=%s flags=%u err=%s",
                 r->resource_attrs, (int)r->scope_name.len, r->scope_name.p,
                 (int)r->scope_version.len, r->scope_version.p, (unsigned long long)r->time_ns,
                 (unsigned long long)r->observed_ns, r->severity_number, (int)r->severity_text.len,
                 r->severity_text.p, r->body_kind, (int)r->body.len, r->body.p, r->attrs,
                 r->trace_id, r->span_id, r->flags, r->error ? r->error : "-");
    s->n++;
    return 0;
}

static int walk(const char *json, struct seen *s, struct bl_err *err)
{
    memset(s, 0, sizeof(*s));
    return otlp_decode_json(json, strlen(json), 65536, 32, collect, s, err);
}

static void test_otlp_json(void)
{
    static const char o1[] =
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"checkout\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"app\","
        "\"version\":\"1.2.0\"},\"logRecords\":[{\"timeUnixNano\":\"1714564800000000000\","
        "\"observedTimeUnixNano\":\"1714564800001000000\",\"severityNumber\":17,"
        "\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"payment failed\"},"
        "\"attributes\":[{\"key\":\"order.id\",\"value\":{\"intValue\":\"42\"}},{\"key\":"
        "\"retry\",\"value\":{\"boolValue\":false}}],\"traceId\":"
        "\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\",\"flags\":1,"
        "\"eventName\":\"\"}]}]}]}";
    struct bl_err err = { 0 };
    struct seen s;

    CHECK_INT_EQ(walk(o1, &s, &err), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_STR_EQ(s.out[0], "res={\"service.name\":\"checkout\"} scope=app/1.2.0 "
                           "t=1714564800000000000 o=1714564800001000000 sev=17/ERROR "
                           "body1=payment failed attrs={\"order.id\":42,\"retry\":false} "
                           "trace=5b8efff798038103d269b633813fc60c span=eee19b7ec3c1b174 "
                           "flags=1 err=-");
    /* O4 number time, O5 upper-case id, snake_case names, old instrumentationLibraryLogs */
    CHECK_INT_EQ(walk("{\"resource_logs\":[{\"instrumentationLibraryLogs\":[{\"log_records\":[{"
                      "\"time_unix_nano\":1714564800000000000,\"trace_id\":"
                      "\"5B8EFFF798038103D269B633813FC60C\"}]}]}]}",
                      &s, NULL),
                 0);
    CHECK(s.n == 1 && strstr(s.out[0], "t=1714564800000000000 ") != NULL);
    CHECK(strstr(s.out[0], "trace=5b8efff798038103d269b633813fc60c ") != NULL);
    /* O6 kvlist body as JSON, O7 empty body, O9 a bad id */
    CHECK_INT_EQ(walk("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":"
                      "{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"arrayValue\":"
                      "{\"values\":[{\"intValue\":\"1\"},{\"doubleValue\":1.5},{}]}}}]}}},"
                      "{\"body\":{}},{\"traceId\":\"abc\"}]}]}]}",
                      &s, NULL),
                 0);
    CHECK_INT_EQ(s.n, 3);
    CHECK(strstr(s.out[0], "body2={\"a\":[1,1.5,null]} ") != NULL);
    CHECK(strstr(s.out[1], "body0= ") != NULL);
    CHECK(strstr(s.out[2], "err=traceId must be 32 hex digits") != NULL);
    /* malformed */
    CHECK_INT_EQ(walk("{not json", &s, &err), BL_EPARSE);
    CHECK_INT_EQ(walk("[]", &s, NULL), BL_EPARSE);
    CHECK_INT_EQ(walk("{\"resourceLogs\":{}}", &s, NULL), BL_EPARSE);
    CHECK_INT_EQ(
        walk("{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"value\":{}}]}}]}", &s, NULL),
        BL_EPARSE);
    CHECK_INT_EQ(walk("{}", &s, NULL), 0);
    CHECK_INT_EQ(s.n, 0);
}

struct decoded {
    struct pool pool;
    struct ingest_events out;
};

static int decode(int proto, const char *body, const char *event_id, struct decoded *d)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct ingest_meta meta = { proto, 0, 1, INT64_C(1714564805000000), 4096, event_id, NULL, 0 };

    memset(&d->out, 0, sizeof(d->out));
    return ingest_decode(body, strlen(body), &meta, &lim, &d->pool, &d->out, NULL, NULL);
}

static int check(int proto, const char *body, struct format_result *res)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    static struct pool pool = POOL_INIT(4096);
    struct buf scratch = BUF_INIT(1u << 20);
    struct format_input in = { body, strlen(body), INGEST_ENC_NONE, &lim, &pool, &scratch };
    int rc;

    memset(res, 0, sizeof(*res));
    rc = format_by_protocol(proto)->check(&in, res, NULL);
    buf_release(&scratch);
    return rc;
}

static const char b1[] = "{\"create\":{\"_index\":\"fluent-bit\",\"_type\":\"_doc\"}}\n"
                         "{\"@timestamp\":\"2024-05-01T12:00:00.000Z\",\"log\":\"GET /health 200\","
                         "\"stream\":\"stdout\"}\n"
                         "{\"create\":{\"_index\":\"fluent-bit\",\"_type\":\"_doc\"}}\n"
                         "{\"@timestamp\":\"2024-05-01T12:00:01.000Z\",\"log\":\"GET /login 500\","
                         "\"stream\":\"stderr\"}\n";

static void test_es(void)
{
    struct decoded d = { POOL_INIT(4096), { 0 } };
    struct format_result res;
    const char *raw;

    CHECK_INT_EQ(check(INGEST_ES_BULK, b1, &res), 0);
    CHECK_INT_EQ(res.units.accepted, 2);
    CHECK_INT_EQ(decode(INGEST_ES_BULK, b1, "", &d), 0);
    CHECK_INT_EQ(d.out.n, 2);
    CHECK_STR_EQ(d.out.v[1].message, "GET /login 500");
    CHECK_INT_EQ(d.out.v[1].seq, 1);
    raw = d.out.n == 2 ? d.out.v[0].raw : "";
    CHECK(strstr(raw, "\"stream\":\"stdout\"") != NULL && strstr(raw, "\"_index\":\"fluent-bit\""));
    /* B5 + B6: a bad source, CRLF, blank lines, no final newline: the good item keeps its place */
    {
        static const char b5[] =
            "{\"create\":{}}\r\nnot json\r\n\r\n{\"index\":{\"_id\":\"x\"}}\r\n"
            "{\"message\":\"two\",\"log\":{\"level\":\"warn\",\"logger\":"
            "\"lg\"},\"host\":{\"name\":\"h1\"},\"trace.id\":\"abc\","
            "\"service\":{\"name\":\"svc\"},\"time\":\"x\",\"@timestamp\":1714564800}";

        CHECK_INT_EQ(check(INGEST_ES_BULK, b5, &res), 0);
        CHECK_INT_EQ(res.units.accepted, 1);
        CHECK_INT_EQ(res.units.rejected, 1);
        CHECK_INT_EQ(decode(INGEST_ES_BULK, b5, "", &d), 0);
        CHECK_INT_EQ(d.out.n, 1);
        if (d.out.n == 1) {
            CHECK_INT_EQ(d.out.v[0].seq, 1);
            CHECK_INT_EQ(d.out.v[0].level, EV_WARNING);
            CHECK_STR_EQ(d.out.v[0].logger, "lg");
            CHECK_STR_EQ(d.out.v[0].server_name, "h1");
            CHECK_STR_EQ(d.out.v[0].trace_id, "abc");
            /* service.name stays an attribute; "time" would clash with the time: renamed */
            CHECK(strstr(d.out.v[0].raw, "\"service.name\":\"svc\"") != NULL);
            CHECK(strstr(d.out.v[0].raw, "\"_time\":\"x\"") != NULL);
        }
    }
    CHECK_INT_EQ(check(INGEST_ES_BULK, "{\"frob\":{}}\n{}\n", &res), BL_EPARSE);
    /* a single document keeps the id the door chose */
    CHECK_INT_EQ(check(INGEST_ES_DOC, "{\"message\":\"one\"}", &res), 0);
    CHECK_INT_EQ(strlen(res.check.event_id), 32);
    CHECK_INT_EQ(decode(INGEST_ES_DOC, "{\"message\":\"one\"}", res.check.event_id, &d), 0);
    CHECK(d.out.n == 1 && strcmp(d.out.v[0].event_id, res.check.event_id) == 0);
    CHECK_INT_EQ(check(INGEST_ES_DOC, "[1]", &res), BL_EPARSE);
    pool_release(&d.pool);
}

static void test_v1(void)
{
    static const char l3[] =
        "{\"message\":\"boom %s\",\"formatted\":\"boom x\",\"params\":[\"x\"],\"created\":"
        "1714564800.6,\"level\":40,\"logger\":\"app\",\"traceback\":{\"exception\":"
        "\"ZeroDivisionError: division by zero\",\"exception_type\":"
        "\"builtins.ZeroDivisionError\",\"frames\":[{\"filename\":\"app.py\",\"lineno\":3,"
        "\"function_name\":\"&lt;module&gt;\",\"current_line\":\"1/0\",\"sourcelines\":"
        "[\"import x\"]}]}}";
    struct decoded d = { POOL_INIT(4096), { 0 } };
    struct format_result res;

    CHECK_INT_EQ(check(INGEST_BILOR_V1, l3, &res), 0);
    CHECK_INT_EQ(decode(INGEST_BILOR_V1, l3, res.check.event_id, &d), 0);
    CHECK_INT_EQ(d.out.n, 1);
    if (d.out.n == 1) {
        const struct event *ev = &d.out.v[0];

        CHECK_STR_EQ(ev->event_id, res.check.event_id);
        CHECK_INT_EQ(ev->level, EV_ERROR);
        CHECK_STR_EQ(ev->message, "boom x");
        CHECK_STR_EQ(ev->logger, "app");
        CHECK_INT_EQ(ev->nexc, 1);
        if (ev->nexc == 1 && ev->exc[0].nframes == 1) {
            CHECK_STR_EQ(ev->exc[0].type, "ZeroDivisionError");
            CHECK_STR_EQ(ev->exc[0].value, "division by zero");
            CHECK_STR_EQ(ev->exc[0].frames[0].function, "<module>");
            CHECK_INT_EQ(ev->exc[0].frames[0].lineno, 3);
        }
        CHECK(strstr(ev->raw, "sourcelines") == NULL);
    }
    CHECK_INT_EQ(check(INGEST_BILOR_V1, "\"text\"", &res), BL_EPARSE);
    pool_release(&d.pool);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_otlp_json();
    test_es();
    test_v1();
    return t_done();
}
