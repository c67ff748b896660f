/*
 * otlp_json.c - the JSON form of OTLP logs (protocols.md §6.2), handed to
 * the same record callback as the protobuf walker (otlp.h), so both forms
 * give the same records: attributes rendered as JSON objects with typed
 * values, ids as lowercase hex, a non-string body as JSON text.
 *
 * Tolerant as the spec asks receivers to be: lowerCamelCase and snake_case
 * names, 64-bit integers as strings or numbers, ids in either case, the old
 * instrumentationLibraryLogs, unknown fields ignored. A document that is not
 * JSON, or whose structure has the wrong types, fails as a whole (400); a
 * record with a bad id is handed over with rec->error set.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/otlp.h"
#include "core/json.h"
#include "core/banned.h"

struct jwalk {
    size_t max_json;
    otlp_record_fn fn;
    void *arg;
    struct bl_err *err;
    struct buf resource, attrs, body;
    struct otlp_record rec;
};

/* obj[camel], else obj[snake]. */
static const cJSON *member(const cJSON *obj, const char *camel, const char *snake)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, camel);

    if (v == NULL && snake != NULL)
        v = cJSON_GetObjectItemCaseSensitive(obj, snake);
    return v;
}

static int bad(struct jwalk *w, const char *what)
{
    return bl_err_set(w->err, BL_EPARSE, "malformed OTLP JSON: %s", what);
}

/* An array member, absent being empty; another type is malformed. */
static int array_of(struct jwalk *w, const cJSON *obj, const char *camel, const char *snake,
                    const cJSON **out)
{
    const cJSON *v = member(obj, camel, snake);

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return bad(w, camel);
    *out = v;
    return 0;
}

static int render_any(struct jwalk *w, const cJSON *v, struct buf *out, int depth);

static int render_kvs(struct jwalk *w, const cJSON *arr, struct buf *out, int depth)
{
    const cJSON *kv;
    int rc = buf_addch(out, '{'), n = 0;

    cJSON_ArrayForEach(kv, arr)
    {
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(kv, "key");

        if (rc != 0)
            break;
        if (!cJSON_IsObject(kv) || !cJSON_IsString(key))
            return bad(w, "KeyValue without a key");
        rc = n++ ? buf_addch(out, ',') : 0;
        rc = rc ? rc : buf_add_json_str(out, key->valuestring, strlen(key->valuestring));
        rc = rc ? rc : buf_addch(out, ':');
        rc = rc ? rc : render_any(w, cJSON_GetObjectItemCaseSensitive(kv, "value"), out, depth + 1);
    }
    return rc ? rc : buf_addch(out, '}');
}

static int render_array(struct jwalk *w, const cJSON *arr, struct buf *out, int depth)
{
    const cJSON *v;
    int rc = buf_addch(out, '['), n = 0;

    cJSON_ArrayForEach(v, arr)
    {
        if (rc != 0)
            break;
        rc = n++ ? buf_addch(out, ',') : 0;
        rc = rc ? rc : render_any(w, v, out, depth + 1);
    }
    return rc ? rc : buf_addch(out, ']');
}

/* intValue: a decimal string or a number; written as an exact integer. */
static int render_int(struct jwalk *w, const cJSON *v, struct buf *out)
{
    char *end;
    long long n;

    if (cJSON_IsNumber(v)) {
        /* Past 2^63 a double has no exact integer to give: refused, not undefined. */
        if (!(v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18))
            return bad(w, "intValue out of range");
        return buf_addf(out, "%lld", (long long)v->valuedouble);
    }
    if (!cJSON_IsString(v))
        return bad(w, "intValue");
    n = strtoll(v->valuestring, &end, 10);
    if (end == v->valuestring || *end != '\0')
        return bad(w, "intValue");
    return buf_addf(out, "%lld", n);
}

static int render_any(struct jwalk *w, const cJSON *v, struct buf *out, int depth)
{
    const cJSON *x;

    if (depth > OTLP_MAX_DEPTH)
        return bl_err_set(w->err, BL_EPARSE, "OTLP value nested deeper than %d", OTLP_MAX_DEPTH);
    if (!cJSON_IsObject(v))
        return buf_addstr(out, "null");
    if ((x = member(v, "stringValue", "string_value")) != NULL && cJSON_IsString(x))
        return buf_add_json_str(out, x->valuestring, strlen(x->valuestring));
    if ((x = member(v, "boolValue", "bool_value")) != NULL && cJSON_IsBool(x))
        return buf_addstr(out, cJSON_IsTrue(x) ? "true" : "false");
    if ((x = member(v, "intValue", "int_value")) != NULL)
        return render_int(w, x, out);
    if ((x = member(v, "doubleValue", "double_value")) != NULL && cJSON_IsNumber(x)) {
        if (!isfinite(x->valuedouble))
            return buf_addstr(out, "null"); /* 1e999 reads as infinity, which JSON lacks */
        return buf_addf(out, "%.17g", x->valuedouble);
    }
    if ((x = member(v, "bytesValue", "bytes_value")) != NULL && cJSON_IsString(x))
        return buf_add_json_str(out, x->valuestring, strlen(x->valuestring));
    if ((x = member(v, "arrayValue", "array_value")) != NULL && cJSON_IsObject(x))
        return render_array(w, cJSON_GetObjectItemCaseSensitive(x, "values"), out, depth);
    if ((x = member(v, "kvlistValue", "kvlist_value")) != NULL && cJSON_IsObject(x))
        return render_kvs(w, cJSON_GetObjectItemCaseSensitive(x, "values"), out, depth);
    return buf_addstr(out, "null");
}

static int render_attrs(struct jwalk *w, const cJSON *obj, struct buf *out)
{
    const cJSON *arr = NULL;
    int rc;

    buf_reset(out);
    rc = array_of(w, obj, "attributes", NULL, &arr);
    rc = rc ? rc : render_kvs(w, arr, out, 1);
    if (rc == BL_ETOOBIG)
        return bl_err_set(w->err, BL_ETOOBIG, "OTLP attributes larger than %zu bytes", w->max_json);
    return rc;
}

static uint64_t u64_of(const cJSON *v)
{
    if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1.8e19)
        return (uint64_t)v->valuedouble;
    if (cJSON_IsString(v))
        return strtoull(v->valuestring, NULL, 10);
    return 0;
}

static void id_of(struct jwalk *w, const cJSON *v, size_t want, char *out)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0)
        return;
    if (n != want || strspn(s, "0123456789abcdefABCDEF") != n) {
        w->rec.error = want == 32 ? "traceId must be 32 hex digits"
                                  : "spanId must be 16 hex digits";
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] + 32 : s[i]);
    out[n] = '\0';
}

static struct slice str_slice(const cJSON *v)
{
    return cJSON_IsString(v) ? slice_from(v->valuestring) : SLICE_NULL;
}

static int record_body(struct jwalk *w, const cJSON *body)
{
    const cJSON *s = member(body, "stringValue", "string_value");
    int rc;

    if (!cJSON_IsObject(body) || body->child == NULL)
        return 0; /* "body":{} is no value */
    if (cJSON_IsString(s)) {
        w->rec.body_kind = OTLP_BODY_STRING;
        w->rec.body = slice_from(s->valuestring);
        return 0;
    }
    buf_reset(&w->body);
    rc = render_any(w, body, &w->body, 1);
    if (rc < 0)
        return rc == BL_ETOOBIG ? bl_err_set(w->err, rc, "OTLP body too large") : rc;
    w->rec.body_kind = OTLP_BODY_JSON;
    w->rec.body = (struct slice){ w->body.p, w->body.len };
    return 0;
}

static int log_record(struct jwalk *w, const cJSON *lr, struct slice sname, struct slice sver)
{
    struct otlp_record *rec = &w->rec;
    const cJSON *sev;
    int rc;

    if (!cJSON_IsObject(lr))
        return bad(w, "a log record is not an object");
    memset(rec, 0, sizeof(*rec));
    rec->resource_attrs = w->resource.p;
    rec->scope_name = sname;
    rec->scope_version = sver;
    rec->time_ns = u64_of(member(lr, "timeUnixNano", "time_unix_nano"));
    rec->observed_ns = u64_of(member(lr, "observedTimeUnixNano", "observed_time_unix_nano"));
    sev = member(lr, "severityNumber", "severity_number");
    if (cJSON_IsNumber(sev) && sev->valuedouble >= 0 && sev->valuedouble <= 24)
        rec->severity_number = (int)sev->valuedouble;
    rec->severity_text = str_slice(member(lr, "severityText", "severity_text"));
    rec->event_name = str_slice(member(lr, "eventName", "event_name"));
    rec->flags = (uint32_t)u64_of(member(lr, "flags", NULL));
    id_of(w, member(lr, "traceId", "trace_id"), 32, rec->trace_id);
    id_of(w, member(lr, "spanId", "span_id"), 16, rec->span_id);
    rc = record_body(w, member(lr, "body", NULL));
    rc = rc ? rc : render_attrs(w, lr, &w->attrs);
    if (rc < 0)
        return rc;
    rec->attrs = w->attrs.p;
    return w->fn(w->arg, rec);
}

static int scope_logs(struct jwalk *w, const cJSON *sl)
{
    const cJSON *scope = member(sl, "scope", "instrumentationLibrary"), *recs = NULL, *lr;
    struct slice name = SLICE_NULL, version = SLICE_NULL;
    int rc;

    if (!cJSON_IsObject(sl))
        return bad(w, "scopeLogs entry is not an object");
    if (cJSON_IsObject(scope)) {
        name = str_slice(cJSON_GetObjectItemCaseSensitive(scope, "name"));
        version = str_slice(cJSON_GetObjectItemCaseSensitive(scope, "version"));
    }
    rc = array_of(w, sl, "logRecords", "log_records", &recs);
    cJSON_ArrayForEach(lr, recs)
    {
        if (rc != 0)
            break;
        rc = log_record(w, lr, name, version);
    }
    return rc;
}

static int resource_logs(struct jwalk *w, const cJSON *rl)
{
    const cJSON *res = member(rl, "resource", NULL), *arr = NULL, *sl;
    int rc = 0;

    if (!cJSON_IsObject(rl))
        return bad(w, "resourceLogs entry is not an object");
    buf_reset(&w->resource);
    if (cJSON_IsObject(res))
        rc = render_attrs(w, res, &w->resource);
    else
        rc = buf_addstr(&w->resource, "{}");
    rc = rc ? rc : array_of(w, rl, "scopeLogs", "scope_logs", &arr);
    if (rc == 0 && arr == NULL)
        rc = array_of(w, rl, "instrumentationLibraryLogs", "instrumentation_library_logs", &arr);
    cJSON_ArrayForEach(sl, arr)
    {
        if (rc != 0)
            break;
        rc = scope_logs(w, sl);
    }
    return rc;
}

int otlp_decode_json(const void *p, size_t len, size_t max_json, int max_depth, otlp_record_fn fn,
                     void *arg, struct bl_err *err)
{
    struct json_limits jl = { len + 1, max_depth };
    struct bl_err local = { 0 };
    struct jwalk w;
    const cJSON *arr = NULL, *rl;
    cJSON *doc;
    int rc;

    memset(&w, 0, sizeof(w));
    w.max_json = max_json;
    w.fn = fn;
    w.arg = arg;
    w.err = err != NULL ? err : &local;
    doc = json_parse(p, len, &jl, w.err);
    if (doc == NULL)
        return w.err->code == BL_ETOOBIG ? BL_ETOOBIG : bad(&w, "not JSON");
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return bad(&w, "not an object");
    }
    buf_init(&w.resource, max_json);
    buf_init(&w.attrs, max_json);
    buf_init(&w.body, max_json);
    rc = array_of(&w, doc, "resourceLogs", "resource_logs", &arr);
    cJSON_ArrayForEach(rl, arr)
    {
        if (rc != 0)
            break;
        rc = resource_logs(&w, rl);
    }
    buf_release(&w.resource);
    buf_release(&w.attrs);
    buf_release(&w.body);
    cJSON_Delete(doc);
    return rc;
}
