/*
 * test_client_envelope.c - what libbilor puts on the wire, read back with
 * the server's own envelope and JSON parsers: envelope framing, the
 * client report, and the event a bilor_event turns into (message
 * template, tags, extra values of every kind, exception with a symbolized
 * stack trace, caller first).
 */
#include <stdlib.h>
#include <string.h>

#include "client/buf.h"
#include "client/envelope.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/envelope.h"

#include "t.h"

static void test_event_envelope(void)
{
    const char *payload = "{\"message\":\"line1\\nline2\",\"level\":\"error\"}";
    struct envelope env;
    struct pool pool = POOL_INIT(4096);
    struct bc_buf b;
    int rc;

    bc_buf_init(&b, &bc_default_alloc, 1 << 20);
    CHECK_INT_EQ(bc_envelope_event(&b, "0123456789abcdef0123456789abcdef", payload, strlen(payload),
                                   1714564800500000LL),
                 0);
    rc = envelope_parse(b.p, b.len, &ENVELOPE_LIMITS_DEFAULT, &pool, &env, NULL);
    CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        CHECK_STR_EQ(env.event_id, "0123456789abcdef0123456789abcdef");
        CHECK_INT_EQ(env.nitems, 1);
        CHECK(env.nitems == 1 && env.items[0].type.len == 5 &&
              memcmp(env.items[0].type.p, "event", 5) == 0);
        CHECK(env.nitems == 1 && env.items[0].payload.len == strlen(payload) &&
              memcmp(env.items[0].payload.p, payload, strlen(payload)) == 0);
    }
    CHECK(strstr(b.p, "\"sent_at\":\"2024-05-01T12:00:00.500000Z\"") != NULL);
    CHECK(strstr(b.p, "\"sdk\":{\"name\":\"bilor.c\"") != NULL);
    bc_buf_release(&b);
    pool_release(&pool);
}

static void test_client_report(void)
{
    struct envelope env;
    struct pool pool = POOL_INIT(4096);
    struct bc_buf rep, b;
    cJSON *v = NULL, *arr;
    double q = 0;

    bc_buf_init(&rep, &bc_default_alloc, 4096);
    bc_buf_init(&b, &bc_default_alloc, 8192);
    CHECK_INT_EQ(bc_client_report(&rep, 1714564800000000LL, 17, 2), 0);
    CHECK_INT_EQ(bc_envelope_report(&b, rep.p, rep.len, 1714564800000000LL), 0);
    CHECK_INT_EQ(envelope_parse(b.p, b.len, &ENVELOPE_LIMITS_DEFAULT, &pool, &env, NULL), 0);
    CHECK(env.nitems == 1 && env.items[0].type.len == 13 &&
          memcmp(env.items[0].type.p, "client_report", 13) == 0);
    if (env.nitems == 1)
        v = json_parse(env.items[0].payload.p, env.items[0].payload.len, &JSON_LIMITS_DEFAULT,
                       NULL);
    arr = v != NULL ? json_arr(v, "discarded_events") : NULL;
    CHECK_INT_EQ(cJSON_GetArraySize(arr), 2);
    if (cJSON_GetArraySize(arr) == 2) {
        CHECK_STR_EQ(json_str(cJSON_GetArrayItem(arr, 0), "reason"), "queue_overflow");
        CHECK_STR_EQ(json_str(cJSON_GetArrayItem(arr, 0), "category"), "error");
        CHECK(json_num(cJSON_GetArrayItem(arr, 0), "quantity", &q) == 0 && q == 17);
        CHECK_STR_EQ(json_str(cJSON_GetArrayItem(arr, 1), "reason"), "send_error");
    }
    CHECK(v != NULL && json_num(v, "timestamp", &q) == 0 && q == 1714564800.0);
    cJSON_Delete(v);
    bc_buf_release(&rep);
    bc_buf_release(&b);
    pool_release(&pool);
}

/* ---- whole events, through a client without a server (callback sink) ---- */

static char *last;

static void keep_last(void *ud, const char *json, size_t len)
{
    (void)ud;
    free(last);
    last = malloc(len + 1);
    memcpy(last, json, len);
    last[len] = '\0';
}

static cJSON *sent_event(struct bilor *c)
{
    bilor_flush(c, 10000);
    CHECK(last != NULL);
    if (last == NULL)
        return NULL;
    return json_parse(last, strlen(last), &JSON_LIMITS_DEFAULT, NULL);
}

static struct bilor *client(void)
{
    struct bilor_options o;
    struct bilor *c = NULL;

    bilor_options_init(&o);
    o.release = "app@2.0";
    o.environment = "test";
    o.server_name = "unit";
    o.sink = BILOR_SINK_CALLBACK;
    o.sink_fn = keep_last;
    CHECK_INT_EQ(bilor_new(&c, &o), 0);
    return c;
}

static void test_message_event(struct bilor *c)
{
    struct bilor_event *ev = bilor_event_new(c, BILOR_WARNING, "unit.logger");
    cJSON *v, *extra, *cart;
    char id[33];
    double d = 0;

    bilor_event_message(ev, "user %s has %d items", "bob", 3);
    CHECK_INT_EQ(bilor_event_tag(ev, "tier", "gold"), 0);
    CHECK_INT_EQ(bilor_event_tag(ev, NULL, "x"), BILOR_EINVAL);
    bilor_event_extra_str(ev, "s", "quote\" and \xff");
    bilor_event_extra_int(ev, "i", -42);
    bilor_event_extra_double(ev, "d", 2.25);
    bilor_event_extra_bool(ev, "b", 1);
    CHECK_INT_EQ(bilor_event_extra_json(ev, "cart", " {\"items\": [1, {\"x\": null}]} "), 0);
    CHECK_INT_EQ(bilor_event_extra_json(ev, "bad", "{nope"), BILOR_EINVAL);
    CHECK_INT_EQ(bilor_event_send(ev, id), 0);
    CHECK_INT_EQ(strlen(id), 32);
    v = sent_event(c);
    CHECK(v != NULL);
    if (v == NULL)
        return;
    CHECK_STR_EQ(json_str(v, "event_id"), id);
    CHECK_STR_EQ(json_str(v, "platform"), "native");
    CHECK_STR_EQ(json_str(v, "level"), "warning");
    CHECK_STR_EQ(json_str(v, "logger"), "unit.logger");
    CHECK_STR_EQ(json_str(v, "release"), "app@2.0");
    CHECK_STR_EQ(json_str(v, "environment"), "test");
    CHECK_STR_EQ(json_str(v, "server_name"), "unit");
    CHECK_STR_EQ(json_str(json_obj(v, "sdk"), "name"), "bilor.c");
    CHECK_STR_EQ(json_str(json_obj(v, "logentry"), "message"), "user %s has %d items");
    CHECK_STR_EQ(json_str(json_obj(v, "logentry"), "formatted"), "user bob has 3 items");
    CHECK_STR_EQ(json_str(json_obj(v, "tags"), "tier"), "gold");
    extra = json_obj(v, "extra");
    CHECK_STR_EQ(json_str(extra, "s"), "quote\" and \xef\xbf\xbd");
    CHECK(json_num(extra, "i", &d) == 0 && d == -42);
    CHECK(json_num(extra, "d", &d) == 0 && d == 2.25);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(extra, "b")));
    cart = json_obj(extra, "cart");
    CHECK_INT_EQ(cJSON_GetArraySize(json_arr(cart, "items")), 2);
    CHECK(cJSON_GetObjectItemCaseSensitive(extra, "bad") == NULL);
    CHECK(json_num(v, "timestamp", &d) == 0 && d > 1.7e9);
    cJSON_Delete(v);
}

static void test_long_message(struct bilor *c)
{
    char *big = malloc(20000);
    cJSON *v;

    memset(big, 'x', 19999);
    big[19999] = '\0';
    CHECK_INT_EQ(bilor_log(c, BILOR_ERROR, NULL, "%s", big), 0);
    v = sent_event(c);
    CHECK(v != NULL && strlen(json_str(json_obj(v, "logentry"), "formatted")) == 8192);
    cJSON_Delete(v);
    free(big);
}

static const char *last_function(cJSON *v, size_t *nframes)
{
    cJSON *values = json_arr(json_obj(v, "exception"), "values");
    cJSON *frames = json_arr(json_obj(cJSON_GetArrayItem(values, 0), "stacktrace"), "frames");
    int n = cJSON_GetArraySize(frames);

    *nframes = (size_t)n;
    return n > 0 ? json_str(cJSON_GetArrayItem(frames, n - 1), "function") : NULL;
}

__attribute__((noinline)) static int report_parse_failure(struct bilor *c, int line)
{
    int rc = bilor_capture_error(c, "ParseError", "unexpected token at line %d", line);

    __asm__ volatile("" ::: "memory"); /* keeps the call from being a tail call */
    return rc;
}

static void test_error_event(struct bilor *c)
{
    cJSON *v, *exc;
    size_t n = 0;
    const char *fn;

    CHECK_INT_EQ(report_parse_failure(c, 7), 0);
    v = sent_event(c);
    CHECK(v != NULL);
    if (v == NULL)
        return;
    exc = cJSON_GetArrayItem(json_arr(json_obj(v, "exception"), "values"), 0);
    CHECK_STR_EQ(json_str(exc, "type"), "ParseError");
    CHECK_STR_EQ(json_str(exc, "value"), "unexpected token at line 7");
    CHECK_STR_EQ(json_str(v, "level"), "error");
    fn = last_function(v, &n);
    CHECK(n >= 2);
    CHECK_STR_EQ(fn, "report_parse_failure");
    /* caller first: the frame before is our caller, test_error_event */
    {
        cJSON *frames = json_arr(json_obj(exc, "stacktrace"), "frames");
        cJSON *callee = cJSON_GetArrayItem(frames, (int)n - 1);
        cJSON *caller = cJSON_GetArrayItem(frames, (int)n - 2);
        double line = 0;

        CHECK_STR_EQ(json_str(caller, "function"), "test_error_event");
        CHECK(strstr(json_str(callee, "filename") ? json_str(callee, "filename") : "",
                     "test_client_envelope.c") != NULL);
        CHECK(json_num(callee, "lineno", &line) == 0 && line > 0);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(callee, "in_app")));
    }
    cJSON_Delete(v);
}

static void test_bad_args(struct bilor *c)
{
    struct bilor_event *ev;

    CHECK(bilor_event_new(NULL, BILOR_INFO, NULL) == NULL);
    CHECK_INT_EQ(bilor_event_send(NULL, NULL), BILOR_EINVAL);
    CHECK_INT_EQ(bilor_capture_error(c, NULL, "x"), BILOR_EINVAL);
    ev = bilor_event_new(c, (enum bilor_level)99, NULL);
    CHECK(ev != NULL);
    bilor_event_discard(ev);
    bilor_event_discard(NULL);
    CHECK_STR_EQ(bilor_strerror(BILOR_ENOMEM), "out of memory");
    CHECK_STR_EQ(bilor_strerror(12345), "unknown error");
}

int main(void)
{
    struct bilor *c;

    hash_global_init();
    json_global_init();
    test_event_envelope();
    test_client_report();
    c = client();
    if (c != NULL) {
        test_message_event(c);
        test_long_message(c);
        test_error_event(c);
        test_bad_args(c);
        bilor_free(c);
    }
    free(last);
    return t_done();
}
