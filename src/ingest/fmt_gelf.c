/*
 * fmt_gelf.c - GELF 1.1 (protocols.md §3) as a wire format: the door check
 * and digest decode of one message (POST /gelf) or of a batch written by a
 * GELF listener (logfmt.h), and the normalizer of one message.
 *
 * Mapping (docs/ingest.md): short_message (else message) -> message, level
 * (syslog 0-7; Python numbers translated; anything else clamped to 0..7;
 * absent means 1, alert, as the spec says) -> level, host -> server_name,
 * timestamp (epoch seconds with decimals; missing or <= 0 means receive
 * time) -> timestamp, facility -> logger (graypy puts the logger name
 * there). Attributes: every "_x" field as "x" ("_id" is reserved and
 * dropped, as is the listener key "_bilor_key"), null values skipped, and
 * full_message, facility, file, line and unknown top-level keys kept.
 */
#include <string.h>

#include "ingest/format.h"
#include "ingest/jsonscan.h"
#include "ingest/logfmt.h"
#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/json.h"
#include "core/banned.h"

/* Per-message errors described in the answer; more are counted only. */
#define MAX_MSG_ERRORS 100
/* The spec's default severity when a message has no level: 1 (alert). */
#define GELF_DEFAULT_SEVERITY 1

struct gelf_scan {
    int host_type;
    struct slice host;
    int has_text; /* short_message or message, a non-null value */
    struct slice key;
};

static int scan_member(void *arg, struct slice key, int type, struct slice value)
{
    struct gelf_scan *g = arg;

    if (slice_eq(key, "host")) {
        g->host_type = type;
        g->host = value;
    } else if (slice_eq(key, "short_message") || slice_eq(key, "message")) {
        if (type != JSONSCAN_NULL)
            g->has_text = 1;
    } else if (slice_eq(key, LOGFMT_GELF_KEY) && type == JSONSCAN_STRING) {
        g->key = value;
    }
    return 0;
}

int logfmt_gelf_ok(const char *p, size_t len, const struct ingest_limits *lim, struct slice *key,
                   struct bl_err *err)
{
    struct gelf_scan g = { JSONSCAN_NULL, SLICE_NULL, 0, SLICE_NULL };
    struct bl_err jerr;
    int type = JSONSCAN_NULL;

    if (key != NULL)
        *key = SLICE_NULL;
    if (len > lim->max_event)
        return bl_err_set(err, BL_EPARSE, "message longer than %zu bytes", lim->max_event);
    if (jsonscan(p, len, lim->max_depth, scan_member, &g, &type, &jerr) < 0)
        return bl_err_set(err, BL_EPARSE, "%s", jerr.msg);
    if (type != JSONSCAN_OBJECT)
        return bl_err_set(err, BL_EPARSE, "not a JSON object");
    /* Graylog's rule: an absent host only warns; a blank or non-string one is refused. */
    if (g.host.p != NULL && (g.host_type != JSONSCAN_STRING || g.host.len <= 2))
        return bl_err_set(err, BL_EPARSE, "\"host\" must be a non-empty string");
    if (!g.has_text)
        return bl_err_set(err, BL_EPARSE, "no \"short_message\"");
    if (key != NULL)
        *key = g.key;
    return 0;
}

static void note_error(struct ingest_ndjson_result *u, size_t idx, const struct bl_err *e,
                       struct pool *pool)
{
    u->rejected++;
    if (u->nerrors >= MAX_MSG_ERRORS)
        return;
    if (u->errors == NULL) {
        u->errors = pool_calloc(pool, MAX_MSG_ERRORS, sizeof(*u->errors));
        if (u->errors == NULL)
            return;
    }
    u->errors[u->nerrors].line = idx;
    memcpy(u->errors[u->nerrors].error, e->msg, sizeof(u->errors[0].error) - 1);
    u->errors[u->nerrors].error[sizeof(u->errors[0].error) - 1] = '\0';
    u->nerrors++;
}

static int check_gelf(const struct format_input *in, struct format_result *out, struct bl_err *err)
{
    struct slice text = SLICE_NULL, msg;
    size_t pos = 0, idx = 0;
    struct bl_err merr;
    int rc = decode_request(in->body, in->len, in->encoding, in->lim->max_body, 0, in->scratch,
                            &text, err);

    if (rc < 0)
        return rc;
    if (text.len == 0 || !(text.p[0] >= '1' && text.p[0] <= '9')) {
        /* One message (POST /gelf): its own error is the answer. */
        rc = logfmt_gelf_ok(text.p, text.len, in->lim, NULL, err);
        if (rc == 0)
            out->units.accepted = 1;
        return rc;
    }
    while (logfmt_batch_next(text.p, text.len, &pos, &msg) == 1) {
        idx++;
        if (logfmt_gelf_ok(msg.p, msg.len, in->lim, NULL, &merr) == 0)
            out->units.accepted++;
        else
            note_error(&out->units, idx, &merr, in->pool);
    }
    return 0;
}

static int gelf_level(const cJSON *obj)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "level");
    double n = GELF_DEFAULT_SEVERITY;
    int level = EV_INFO;

    if (cJSON_IsNumber(v))
        n = v->valuedouble;
    else if (cJSON_IsString(v) && nz_level(v, &level) == 0)
        return level;
    if (n >= 0 && n <= 7)
        n = (double)(int)n;
    else if (ev_level_from_number(n, &level) == 0)
        return level; /* a Python level graypy passed through */
    else
        n = n < 0 ? 0 : 7;
    return ev_level_from_number(n, &level) == 0 ? level : EV_INFO;
}

void normalize_gelf(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                    struct pool *pool)
{
    const cJSON *ts, *text;
    size_t max = lim->max_string;

    ev->source = EV_SRC_GELF;
    ev->kind = EV_KIND_LOG;
    ev->level = EV_INFO;
    ev->timestamp = ev->received_at;
    ev->platform = "gelf";
    if (!cJSON_IsObject(obj))
        return;
    ev->level = gelf_level(obj);
    ts = cJSON_GetObjectItemCaseSensitive(obj, "timestamp");
    if ((cJSON_IsNumber(ts) && ts->valuedouble > 0) || cJSON_IsString(ts))
        ev->timestamp = nz_clamp_time(ts, ev->received_at);
    text = cJSON_GetObjectItemCaseSensitive(obj, "short_message");
    if (text == NULL || cJSON_IsNull(text))
        text = cJSON_GetObjectItemCaseSensitive(obj, "message");
    ev->message = nz_scalar(text, pool, max);
    ev->server_name = nz_str(obj, "host", pool, max);
    ev->logger = nz_str(obj, "facility", pool, max);
}

/* Top-level members that are event fields, not attributes. */
static int is_field(const char *name)
{
    static const char *const fields[] = { "version", "host", "short_message", "timestamp",
                                          "level",   "_id",  LOGFMT_GELF_KEY };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcmp(name, fields[i]) == 0)
            return 1;
    }
    return 0;
}

cJSON *normalize_gelf_attributes(const cJSON *obj)
{
    cJSON *attrs = cJSON_CreateObject();
    const cJSON *it;

    if (attrs == NULL || !cJSON_IsObject(obj))
        return attrs;
    cJSON_ArrayForEach(it, obj)
    {
        const char *name = it->string;

        if (name == NULL || is_field(name) || cJSON_IsNull(it))
            continue;
        /* "message" is the text when short_message is absent, else an attribute. */
        if (strcmp(name, "message") == 0 &&
            cJSON_GetObjectItemCaseSensitive(obj, "short_message") == NULL)
            continue;
        if (name[0] == '_' && name[1] != '\0')
            name++;
        if (cJSON_GetObjectItemCaseSensitive(attrs, name) == NULL)
            cJSON_AddItemToObject(attrs, name, cJSON_Duplicate(it, 1));
    }
    return attrs;
}

static void decode_one(const char *p, size_t n, uint32_t idx, const struct ingest_meta *meta,
                       const struct ingest_limits *lim, struct pool *pool,
                       struct ingest_events *out)
{
    struct json_limits jl = { lim->max_event, lim->max_depth };
    struct event *ev;
    cJSON *obj;

    /* The door judged each message; those it refused were never promised. */
    if (logfmt_gelf_ok(p, n, lim, NULL, NULL) != 0)
        return;
    obj = json_parse(p, n, &jl, NULL);
    if (obj == NULL)
        return;
    ev = ingest_event_new(meta, idx, out, pool);
    ev->raw = p;
    ev->raw_len = n;
    ev->raw_encoding = EV_RAW_IDENTITY;
    normalize_gelf(obj, ev, lim, pool);
    ingest_event_finish(ev, meta, pool);
    cJSON_Delete(obj);
}

static int decode_gelf(const void *payload, size_t len, const struct ingest_meta *meta,
                       const struct ingest_limits *lim, struct pool *pool,
                       struct ingest_events *out, size_t items[INGEST_ITEM__N], struct bl_err *err)
{
    struct buf scratch = BUF_INIT(lim->max_body);
    struct slice body = SLICE_NULL, msg;
    const char *text;
    size_t pos = 0;
    uint32_t idx = 0;
    int rc;

    (void)items;
    rc = decode_request(payload, len, meta->encoding, lim->max_body, 0, &scratch, &body, err);
    if (rc < 0)
        goto out;
    text = pool_memdup(pool, body.p, body.len);
    for (; logfmt_batch_next(text, body.len, &pos, &msg) == 1; idx++)
        decode_one(msg.p, msg.len, idx, meta, lim, pool, out);
out:
    buf_release(&scratch);
    return rc;
}

const struct ingest_format format_gelf = {
    .name = "gelf",
    .protocol = INGEST_GELF,
    .family = "gelf",
    .content_type = NULL,
    .reply = FORMAT_REPLY_UNITS,
    .empty_error = "no valid GELF messages",
    .check = check_gelf,
    .decode = decode_gelf,
};
