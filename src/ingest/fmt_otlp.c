/*
 * fmt_otlp.c - OTLP/HTTP logs (protocols.md §6), protobuf and JSON: one
 * format each, named by the request's Content-Type within the "otlp"
 * family, since the journal must know how to read the body it keeps.
 *
 * The door walks the whole request (the walkers are bounded) to count the
 * records it will keep and those it refuses (a malformed trace id), which
 * the answer reports as partial success. The digest walks it again and
 * keeps each good record as a JSON line (normalize_line.c): severity
 * number, else text, as the level; the body as the message (a structured
 * body as its JSON text, and as the attribute "body"); trace and span ids;
 * the scope name as the logger; the record's attributes, then its
 * resource's (service.name, host.name, ...) as attributes, the record's
 * winning a clash; host.name, service.version and deployment.environment
 * also fill the event's host, release and environment. A record is numbered by its position in the request, so
 * replay gives the same ids.
 */
#include <string.h>

#include "ingest/format.h"
#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "ingest/otlp.h"
#include "core/json.h"
#include "core/banned.h"

/* What the door learned, for the partial-success answer (format_result.detail). */
struct otlp_check {
    size_t accepted, rejected;
    const char *first_error;
};

static int walk(const void *p, size_t len, int json, const struct ingest_limits *lim,
                otlp_record_fn fn, void *arg, struct bl_err *err)
{
    if (json)
        return otlp_decode_json(p, len, lim->max_line, lim->max_depth, fn, arg, err);
    return otlp_decode_pb(p, len, lim->max_line, fn, arg, err);
}

static int count_record(void *arg, const struct otlp_record *rec)
{
    struct otlp_check *c = arg;

    if (rec->error != NULL) {
        c->rejected++;
        if (c->first_error == NULL)
            c->first_error = rec->error;
    } else {
        c->accepted++;
    }
    return 0;
}

static int check(const struct format_input *in, struct format_result *out, int json,
                 struct bl_err *err)
{
    struct otlp_check *c = pool_calloc(in->pool, 1, sizeof(*c));
    struct slice body = SLICE_NULL;
    int rc;

    rc = decode_request(in->body, in->len, in->encoding, in->lim->max_body, 0, in->scratch, &body,
                        err);
    if (rc == 0)
        rc = walk(body.p, body.len, json, in->lim, count_record, c, err);
    if (rc < 0)
        return rc;
    out->units.accepted = c->accepted;
    out->units.rejected = c->rejected;
    out->detail = c;
    return 0;
}

static int check_pb(const struct format_input *in, struct format_result *out, struct bl_err *err)
{
    return check(in, out, 0, err);
}

static int check_json(const struct format_input *in, struct format_result *out, struct bl_err *err)
{
    return check(in, out, 1, err);
}

struct otlp_decode {
    const struct ingest_meta *meta;
    const struct ingest_limits *lim;
    struct pool *pool;
    struct ingest_events *out;
    uint32_t seq;
};

static const char *severity_name(const struct otlp_record *rec)
{
    static const char *const names[] = { "trace", "debug", "info", "warning", "error", "fatal" };

    if (rec->severity_number >= 1 && rec->severity_number <= 24)
        return names[(rec->severity_number - 1) / 4];
    return NULL;
}

/* Semantic-convention attributes that also fill an event field (they stay attributes). */
static const struct {
    const char *attr, *field;
} semconv[] = {
    { "host.name", "host" },
    { "service.version", "release" },
    { "deployment.environment.name", "environment" },
    { "deployment.environment", "environment" },
};

static void semconv_field(cJSON *line, const cJSON *it)
{
    for (size_t i = 0; cJSON_IsString(it) && i < sizeof(semconv) / sizeof(semconv[0]); i++) {
        if (strcmp(it->string, semconv[i].attr) == 0 &&
            cJSON_GetObjectItemCaseSensitive(line, semconv[i].field) == NULL)
            cJSON_AddStringToObject(line, semconv[i].field, it->valuestring);
    }
}

/* Attributes rendered by the walker: a JSON object's members, first one wins. */
static void add_attrs(cJSON *line, const char *json, const struct ingest_limits *lim)
{
    struct json_limits jl = { strlen(json) + 1, lim->max_depth + OTLP_MAX_DEPTH };
    cJSON *obj = json_parse(json, strlen(json), &jl, NULL), *it, *next;

    for (it = obj != NULL ? obj->child : NULL; it != NULL; it = next) {
        next = it->next;
        semconv_field(line, it);
        nz_line_attr(line, it->string, cJSON_DetachItemViaPointer(obj, it));
    }
    cJSON_Delete(obj);
}

static void record_line(cJSON *line, const struct otlp_record *rec, const struct ingest_limits *lim)
{
    uint64_t ns = rec->time_ns != 0 ? rec->time_ns : rec->observed_ns;
    const char *level = severity_name(rec);

    nz_line_time(line, (int64_t)(ns / 1000));
    if (level != NULL)
        cJSON_AddStringToObject(line, "level", level);
    else
        nz_line_str(line, "level", rec->severity_text.p, rec->severity_text.len);
    if (rec->body_kind != OTLP_BODY_NONE)
        nz_line_str(line, "message", rec->body.p, rec->body.len);
    if (rec->trace_id[0] != '\0')
        cJSON_AddStringToObject(line, "trace_id", rec->trace_id);
    if (rec->span_id[0] != '\0')
        cJSON_AddStringToObject(line, "span_id", rec->span_id);
    if (rec->scope_name.len > 0)
        nz_line_str(line, "logger", rec->scope_name.p, rec->scope_name.len);
    if (rec->body_kind == OTLP_BODY_JSON) {
        struct json_limits jl = { rec->body.len + 1, lim->max_depth + OTLP_MAX_DEPTH };

        nz_line_attr(line, "body", json_parse(rec->body.p, rec->body.len, &jl, NULL));
    }
    add_attrs(line, rec->attrs, lim);
    add_attrs(line, rec->resource_attrs, lim);
    if (rec->event_name.len > 0)
        nz_line_str(line, "event.name", rec->event_name.p, rec->event_name.len);
}

static int decode_record(void *arg, const struct otlp_record *rec)
{
    struct otlp_decode *d = arg;
    uint32_t seq = d->seq++;
    struct event *ev;
    cJSON *line;

    if (rec->error != NULL)
        return 0; /* refused in the answer's partial success: never promised */
    line = cJSON_CreateObject();
    if (line == NULL)
        return BL_ENOMEM;
    record_line(line, rec, d->lim);
    ev = ingest_event_new(d->meta, seq, d->out, d->pool);
    normalize_line_object(line, ev, d->lim, d->pool);
    ingest_event_finish(ev, d->meta, d->pool);
    cJSON_Delete(line);
    return 0;
}

static int decode(const void *payload, size_t len, const struct ingest_meta *meta,
                  const struct ingest_limits *lim, struct pool *pool, struct ingest_events *out,
                  int json, struct bl_err *err)
{
    struct otlp_decode d = { meta, lim, pool, out, 0 };
    struct buf scratch = BUF_INIT(lim->max_body);
    struct slice body = SLICE_NULL;
    int rc;

    rc = decode_request(payload, len, meta->encoding, lim->max_body, 0, &scratch, &body, err);
    if (rc == 0)
        rc = walk(body.p, body.len, json, lim, decode_record, &d, err);
    buf_release(&scratch);
    return rc;
}

static int decode_pb(const void *payload, size_t len, const struct ingest_meta *meta,
                     const struct ingest_limits *lim, struct pool *pool, struct ingest_events *out,
                     size_t items[INGEST_ITEM__N], struct bl_err *err)
{
    (void)items;
    return decode(payload, len, meta, lim, pool, out, 0, err);
}

static int decode_json(const void *payload, size_t len, const struct ingest_meta *meta,
                       const struct ingest_limits *lim, struct pool *pool,
                       struct ingest_events *out, size_t items[INGEST_ITEM__N], struct bl_err *err)
{
    (void)items;
    return decode(payload, len, meta, lim, pool, out, 1, err);
}

const struct ingest_format format_otlp_pb = {
    .name = "otlp_protobuf",
    .protocol = INGEST_OTLP_PB,
    .family = "otlp",
    .content_type = "application/x-protobuf",
    .reply = FORMAT_REPLY_UNITS,
    .empty_error = NULL, /* no record to keep: success (or partial success), nothing journaled */
    .check = check_pb,
    .decode = decode_pb,
};

const struct ingest_format format_otlp_json = {
    .name = "otlp_json",
    .protocol = INGEST_OTLP_JSON,
    .family = "otlp",
    .content_type = "application/json",
    .reply = FORMAT_REPLY_UNITS,
    .empty_error = NULL,
    .check = check_json,
    .decode = decode_json,
};
