/*
 * fmt_bilor_v1.c - the original Bilor API (EnTeQuAk/bilor 2014,
 * protocols.md §7): the JSON a BilorHandler sends to POST /api/v1/message/.
 *
 * The digest rewrites the record as the Sentry event it describes and
 * keeps that as the raw payload (source EV_SRC_SENTRY), so grouping, the
 * exception chain and the API's rebuild on read are the Sentry ones:
 * formatted -> logentry.formatted, message + params -> the template that
 * groups, level as a Python number, logger, created -> timestamp, tags and
 * extra, and the Werkzeug traceback -> one exception (exception_type split
 * into module and type, the text after "Type: " as the value) whose frames
 * keep filename, function_name, lineno and current_line, HTML-unescaped
 * (Werkzeug escaped them); sourcelines (the whole file) is dropped.
 *
 * The door picks the event id and journals it, so a replay keeps it.
 */
#include <string.h>

#include "ingest/format.h"
#include "ingest/jsonscan.h"
#include "ingest/normalize.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/banned.h"

static int check_v1(const struct format_input *in, struct format_result *out, struct bl_err *err)
{
    return format_check_object(in, out, "the message is not a JSON object", err);
}

/* Werkzeug's escaping undone: &lt; &gt; &amp; &quot; &#39; &#x27;. Returns a cJSON string. */
static cJSON *unescaped(const char *s)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {
        { "&lt;", '<' },   { "&gt;", '>' },   { "&amp;", '&' },
        { "&quot;", '"' }, { "&#39;", '\'' }, { "&#x27;", '\'' },
    };
    size_t n = strlen(s), k = 0;
    char *out = cJSON_malloc(n + 1);
    cJSON *v;

    for (size_t i = 0; i < n;) {
        size_t e = 0;

        while (s[i] == '&' && e < sizeof(ents) / sizeof(ents[0]) &&
               strncmp(s + i, ents[e].ent, strlen(ents[e].ent)) != 0)
            e++;
        if (s[i] == '&' && e < sizeof(ents) / sizeof(ents[0])) {
            out[k++] = ents[e].c;
            i += strlen(ents[e].ent);
        } else {
            out[k++] = s[i++];
        }
    }
    out[k] = '\0';
    v = cJSON_CreateString(out);
    cJSON_free(out);
    return v;
}

static void copy_str(cJSON *to, const char *key, const cJSON *from, const char *from_key,
                     int unescape)
{
    const char *s = json_str(from, from_key);

    if (s != NULL)
        cJSON_AddItemToObject(to, key, unescape ? unescaped(s) : cJSON_CreateString(s));
}

static cJSON *frames_of(const cJSON *tb)
{
    const cJSON *f, *frames = json_arr(tb, "frames");
    cJSON *out = cJSON_CreateArray();
    double line;

    cJSON_ArrayForEach(f, frames)
    {
        cJSON *fr;

        if (!cJSON_IsObject(f))
            continue;
        fr = cJSON_CreateObject();
        copy_str(fr, "filename", f, "filename", 1);
        copy_str(fr, "abs_path", f, "filename", 1);
        copy_str(fr, "function", f, "function_name", 1);
        copy_str(fr, "context_line", f, "current_line", 1);
        if (json_num(f, "lineno", &line) == 0)
            cJSON_AddNumberToObject(fr, "lineno", line);
        cJSON_AddItemToArray(out, fr);
    }
    return out;
}

/* traceback -> exception.values[0]: "builtins.ZeroDivisionError" -> module + type. */
static void exception_of(cJSON *ev, const cJSON *tb)
{
    const char *etype = json_str(tb, "exception_type"), *text = json_str(tb, "exception");
    const char *dot = etype != NULL ? strrchr(etype, '.') : NULL;
    cJSON *exc = cJSON_CreateObject(), *st = cJSON_CreateObject(), *vals, *wrap;

    if (etype != NULL) {
        cJSON_AddItemToObject(exc, "type", unescaped(dot != NULL ? dot + 1 : etype));
        if (dot != NULL) {
            char *mod = cJSON_malloc((size_t)(dot - etype) + 1);

            memcpy(mod, etype, (size_t)(dot - etype));
            mod[dot - etype] = '\0';
            cJSON_AddStringToObject(exc, "module", mod);
            cJSON_free(mod);
        }
    }
    if (text != NULL) {
        const char *colon = strstr(text, ": ");

        cJSON_AddItemToObject(exc, "value", unescaped(colon != NULL ? colon + 2 : text));
    }
    cJSON_AddItemToObject(st, "frames", frames_of(tb));
    cJSON_AddItemToObject(exc, "stacktrace", st);
    vals = cJSON_CreateArray();
    cJSON_AddItemToArray(vals, exc);
    wrap = cJSON_CreateObject();
    cJSON_AddItemToObject(wrap, "values", vals);
    cJSON_AddItemToObject(ev, "exception", wrap);
}

static const char *python_level(const cJSON *msg)
{
    double n = 20;

    (void)json_num(msg, "level", &n);
    return n >= 50 ? "fatal" : n >= 40 ? "error" : n >= 30 ? "warning" : n >= 20 ? "info" : "debug";
}

/* The Sentry event a v1 message describes. */
static cJSON *sentry_event(const cJSON *msg, const char *event_id)
{
    cJSON *ev = cJSON_CreateObject(), *le = cJSON_CreateObject();
    const cJSON *v;
    double created;

    cJSON_AddStringToObject(ev, "event_id", event_id);
    cJSON_AddStringToObject(ev, "platform", "python");
    cJSON_AddStringToObject(ev, "level", python_level(msg));
    copy_str(ev, "logger", msg, "logger", 0);
    copy_str(le, "message", msg, "message", 0);
    copy_str(le, "formatted", msg, "formatted", 0);
    if ((v = json_arr(msg, "params")) != NULL)
        cJSON_AddItemToObject(le, "params", cJSON_Duplicate(v, 1));
    cJSON_AddItemToObject(ev, "logentry", le);
    if (json_num(msg, "created", &created) == 0 && created > 0)
        cJSON_AddNumberToObject(ev, "timestamp", created);
    if ((v = json_obj(msg, "tags")) != NULL)
        cJSON_AddItemToObject(ev, "tags", cJSON_Duplicate(v, 1));
    if ((v = cJSON_GetObjectItemCaseSensitive(msg, "extra")) != NULL && !cJSON_IsNull(v)) {
        cJSON *extra = cJSON_CreateObject();

        cJSON_AddItemToObject(extra, "extra", cJSON_Duplicate(v, 1));
        cJSON_AddItemToObject(ev, "extra", extra);
    }
    if ((v = json_obj(msg, "traceback")) != NULL)
        exception_of(ev, v);
    return ev;
}

static int decode_v1(const void *payload, size_t len, const struct ingest_meta *meta,
                     const struct ingest_limits *lim, struct pool *pool, struct ingest_events *out,
                     size_t items[INGEST_ITEM__N], struct bl_err *err)
{
    struct json_limits jl = { lim->max_event, lim->max_depth };
    struct buf scratch = BUF_INIT(lim->max_event);
    struct slice body = SLICE_NULL;
    cJSON *msg = NULL, *sev = NULL;
    char *text = NULL;
    struct event *ev;
    int rc;

    (void)items;
    rc = decode_request(payload, len, meta->encoding, lim->max_event, 0, &scratch, &body, err);
    if (rc == 0) {
        msg = json_parse(body.p, body.len, &jl, err);
        rc = cJSON_IsObject(msg) ? 0 : bl_err_set(err, BL_EPARSE, "not a JSON object");
    }
    if (rc == 0) {
        ev = ingest_event_new(meta, 0, out, pool);
        if (meta->event_id != NULL && strlen(meta->event_id) == 32)
            memcpy(ev->event_id, meta->event_id, 33);
        sev = sentry_event(msg, ev->event_id[0] ? ev->event_id : "");
        text = cJSON_PrintUnformatted(sev);
        if (text != NULL) {
            ev->raw_len = strlen(text);
            ev->raw = pool_memdup(pool, text, ev->raw_len);
            ev->raw_encoding = EV_RAW_IDENTITY;
        }
        normalize_sentry(sev, ev, lim, pool);
        ingest_event_finish(ev, meta, pool);
    }
    cJSON_free(text);
    cJSON_Delete(sev);
    cJSON_Delete(msg);
    buf_release(&scratch);
    return rc;
}

const struct ingest_format format_bilor_v1 = {
    .name = "bilor_v1",
    .protocol = INGEST_BILOR_V1,
    .family = "bilor_v1",
    .content_type = NULL,
    .reply = FORMAT_REPLY_EVENT_ID,
    .empty_error = "no message",
    .check = check_v1,
    .decode = decode_v1,
};
