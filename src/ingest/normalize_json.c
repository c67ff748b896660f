/*
 * normalize_json.c - the normalized event as the API's JSON document.
 *
 * The store keeps only the raw payload, so this document is rebuilt on
 * every read from the event (normalized fields, truncated as stored) and the
 * client's object (the free-form parts: contexts, request, frame vars,
 * breadcrumbs). Exceptions and frames of the two are matched by walking the
 * object with the normalizer's own filtering and trimming rules
 * (normalize_int.h); a mismatch can only drop the extras, never read out of
 * bounds.
 */
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/banned.h"

#define JW_MAX_DEPTH 16

/* A compact JSON writer with a sticky error, so call sites need no checks. */
struct jw {
    struct buf *b;
    int rc;
    int depth;
    unsigned char first[JW_MAX_DEPTH];
};

static void jw_raw(struct jw *w, const char *s, size_t n)
{
    if (w->rc == 0)
        w->rc = buf_add(w->b, s, n);
}

static void jw_sep(struct jw *w, const char *key)
{
    if (!w->first[w->depth])
        jw_raw(w, ",", 1);
    w->first[w->depth] = 0;
    if (key != NULL) {
        if (w->rc == 0)
            w->rc = buf_add_json_str(w->b, key, strlen(key));
        jw_raw(w, ":", 1);
    }
}

static void jw_open(struct jw *w, const char *key, char c)
{
    jw_sep(w, key);
    jw_raw(w, &c, 1);
    if (w->depth + 1 < JW_MAX_DEPTH)
        w->depth++;
    w->first[w->depth] = 1;
}

static void jw_close(struct jw *w, char c)
{
    jw_raw(w, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

static void jw_str(struct jw *w, const char *key, const char *s)
{
    jw_sep(w, key);
    if (s == NULL)
        jw_raw(w, "null", 4);
    else if (w->rc == 0)
        w->rc = buf_add_json_str(w->b, s, strlen(s));
}

static void jw_int(struct jw *w, const char *key, long long v)
{
    jw_sep(w, key);
    if (w->rc == 0)
        w->rc = buf_addf(w->b, "%lld", v);
}

static void jw_tri(struct jw *w, const char *key, int v)
{
    jw_sep(w, key);
    jw_raw(w, v < 0 ? "null" : v ? "true" : "false", v < 0 ? 4 : v ? 4 : 5);
}

static void jw_json(struct jw *w, const char *key, const cJSON *v)
{
    jw_sep(w, key);
    if (v == NULL)
        jw_raw(w, "null", 4);
    else if (w->rc == 0)
        w->rc = json_print_to(v, w->b);
}

static void jw_time(struct jw *w, const char *key, int64_t us)
{
    char t[40];

    clock_fmt_rfc3339(us, t);
    jw_str(w, key, t);
}

/* Present members only: an absent object is left out rather than written as null. */
static void jw_member(struct jw *w, const cJSON *obj, const char *key)
{
    const cJSON *v = json_obj(obj, key);

    if (v != NULL)
        jw_json(w, key, v);
}

static void write_frame(struct jw *w, const struct ev_frame *f, const cJSON *raw)
{
    jw_open(w, NULL, '{');
    jw_str(w, "function", f->function);
    jw_str(w, "module", f->module);
    jw_str(w, "filename", f->filename);
    jw_str(w, "abs_path", f->abs_path);
    if (f->lineno > 0)
        jw_int(w, "lineno", f->lineno);
    else
        jw_json(w, "lineno", NULL);
    if (f->colno > 0)
        jw_int(w, "colno", f->colno);
    else
        jw_json(w, "colno", NULL);
    jw_tri(w, "in_app", f->in_app);
    jw_str(w, "context_line", f->context_line);
    jw_json(w, "pre_context", raw != NULL ? json_arr(raw, "pre_context") : NULL);
    jw_json(w, "post_context", raw != NULL ? json_arr(raw, "post_context") : NULL);
    jw_json(w, "vars", raw != NULL ? json_obj(raw, "vars") : NULL);
    jw_close(w, '}');
}

/* Frames of x, each with the extras of the client frame it was built from. */
static void write_frames(struct jw *w, const struct ev_exception *x, const cJSON *frames)
{
    size_t nvalid = frames != NULL ? nz_count_objects(frames) : 0;
    size_t idx = 0, k = 0;
    const cJSON *it;

    jw_open(w, "stacktrace", '{');
    jw_open(w, "frames", '[');
    if (nvalid < x->nframes)
        frames = NULL; /* not the object the event came from: no extras */
    if (frames == NULL) {
        for (k = 0; k < x->nframes; k++)
            write_frame(w, &x->frames[k], NULL);
    } else {
        cJSON_ArrayForEach(it, frames) {
            if (!cJSON_IsObject(it))
                continue;
            if (nz_frame_kept(idx++, nvalid, x->nframes) && k < x->nframes)
                write_frame(w, &x->frames[k++], it);
        }
    }
    jw_close(w, ']');
    jw_close(w, '}');
}

static void write_exception(struct jw *w, const struct ev_exception *x, const cJSON *obj,
                            const cJSON *raw, int primary)
{
    jw_open(w, NULL, '{');
    jw_str(w, "type", x->type);
    jw_str(w, "value", x->value);
    jw_str(w, "module", x->module);
    jw_json(w, "mechanism", raw != NULL ? json_obj(raw, "mechanism") : NULL);
    if (x->nframes > 0)
        write_frames(w, x, raw != NULL ? nz_exc_frames(obj, raw, primary) : NULL);
    else
        jw_json(w, "stacktrace", NULL);
    jw_close(w, '}');
}

static void write_exceptions(struct jw *w, const struct event *ev, const cJSON *obj)
{
    const cJSON *list = nz_exc_list(obj);
    size_t nvalid = list != NULL ? nz_count_objects(list) : 0;
    size_t idx = 0, k = 0;
    const cJSON *it;

    jw_open(w, "exception", '{');
    jw_open(w, "values", '[');
    if (nvalid < ev->nexc) {
        for (k = 0; k < ev->nexc; k++)
            write_exception(w, &ev->exc[k], obj, NULL, 0);
    } else {
        cJSON_ArrayForEach(it, list) {
            if (!cJSON_IsObject(it))
                continue;
            if (idx++ >= nvalid - ev->nexc && k < ev->nexc) {
                write_exception(w, &ev->exc[k], obj, it, idx == nvalid);
                k++;
            }
        }
    }
    jw_close(w, ']');
    jw_close(w, '}');
}

static void write_breadcrumbs(struct jw *w, const cJSON *obj)
{
    const cJSON *bc = cJSON_GetObjectItemCaseSensitive(obj, "breadcrumbs");
    size_t n, idx = 0;
    const cJSON *it;

    if (cJSON_IsObject(bc))
        bc = json_arr(bc, "values");
    if (!cJSON_IsArray(bc))
        bc = NULL;
    n = bc != NULL ? nz_count_objects(bc) : 0;
    jw_open(w, "breadcrumbs", '[');
    cJSON_ArrayForEach(it, bc) {
        /* Only the newest ones: they lead up to the event. */
        if (cJSON_IsObject(it) && idx++ + NZ_MAX_BREADCRUMBS >= n)
            jw_json(w, NULL, it);
    }
    jw_close(w, ']');
}

static void write_user(struct jw *w, const struct event *ev, const cJSON *user)
{
    if (user != NULL) {
        jw_json(w, "user", user);
        return;
    }
    if (ev->user_id == NULL && ev->user_email == NULL && ev->user_name == NULL &&
        ev->user_ip == NULL) {
        jw_json(w, "user", NULL);
        return;
    }
    jw_open(w, "user", '{');
    jw_str(w, "id", ev->user_id);
    jw_str(w, "email", ev->user_email);
    jw_str(w, "username", ev->user_name);
    jw_str(w, "ip_address", ev->user_ip);
    jw_close(w, '}');
}

static void write_attributes(struct jw *w, const cJSON *obj)
{
    const cJSON *it;

    jw_open(w, "attributes", '{');
    if (!cJSON_IsObject(obj))
        obj = NULL;
    cJSON_ArrayForEach(it, obj) {
        if (!nz_log_consumed(obj, it))
            jw_json(w, it->string, it);
    }
    jw_close(w, '}');
}

static void write_head(struct jw *w, const struct event *ev)
{
    jw_str(w, "event_id", ev->event_id);
    jw_int(w, "project", ev->project_id);
    jw_time(w, "timestamp", ev->timestamp);
    jw_time(w, "received", ev->received_at);
    jw_str(w, "level", ev_level_name(ev->level));
    jw_str(w, "logger", ev->logger);
    jw_str(w, "message", ev->message);
    jw_str(w, "message_template", ev->message_template);
    jw_str(w, "platform", ev->platform);
    jw_str(w, "release", ev->release);
    jw_str(w, "environment", ev->environment);
    jw_str(w, "server_name", ev->server_name);
    jw_str(w, "transaction", ev->transaction);
    jw_str(w, "trace_id", ev->trace_id);
    jw_str(w, "span_id", ev->span_id);
    jw_str(w, "request_id", ev->request_id);
}

static void write_tags(struct jw *w, const struct event *ev)
{
    jw_open(w, "tags", '[');
    for (size_t i = 0; i < ev->ntags; i++) {
        jw_open(w, NULL, '[');
        jw_str(w, NULL, ev->tags[i].key);
        jw_str(w, NULL, ev->tags[i].value);
        jw_close(w, ']');
    }
    jw_close(w, ']');
}

int normalize_event_json(const struct event *ev, const cJSON *obj, struct buf *out)
{
    struct jw w = { out, 0, 0, { 1 } };
    int sentry = ev->source == EV_SRC_SENTRY && cJSON_IsObject(obj);

    jw_raw(&w, "{", 1);
    write_head(&w, ev);
    write_user(&w, ev, sentry ? json_obj(obj, "user") : NULL);
    write_tags(&w, ev);
    if (ev->nexc > 0)
        write_exceptions(&w, ev, sentry ? obj : NULL);
    if (sentry) {
        write_breadcrumbs(&w, obj);
        jw_member(&w, obj, "contexts");
        jw_member(&w, obj, "request");
        jw_member(&w, obj, "extra");
        jw_member(&w, obj, "sdk");
    } else if (ev->source == EV_SRC_LOGLINE) {
        write_attributes(&w, obj);
    }
    jw_str(&w, "fingerprint", ev->fingerprint);
    jw_int(&w, "grouping_version", ev->grouping_version);
    jw_str(&w, "title", ev->title);
    jw_str(&w, "culprit", ev->culprit);
    jw_raw(&w, "}", 1);
    return w.rc;
}
