/*
 * api_event_doc.c - the REST representation of events.
 *
 * Three shapes, all written with the one writer (jw.h) from the event model
 * and the store's rows: the listing row of an event (the store's indexed
 * columns), a log line's extras (attributes, server_name, trace_id,
 * request_id) and the full normalized event of
 * GET /api/0/projects/{id}/events/{event_id}/ (docs/api.md). The model
 * fields come from struct event; the free-form parts the model does not keep
 * (contexts, request, frame vars, breadcrumbs, attributes) are copied from
 * the client's object, found by the normalizer's own rules (normalize_src).
 */
#include <string.h>

#include "api/api.h"
#include "api/api_event_doc.h"
#include "core/json.h"
#include "ingest/jsonscan.h"
#include "ingest/normalize.h"
#include "core/banned.h"

static void write_frame(struct jw *w, const struct ev_frame *f, const cJSON *src)
{
    jw_obj(w, NULL);
    jw_str(w, "function", f->function);
    jw_str(w, "module", f->module);
    jw_str(w, "filename", f->filename);
    jw_str(w, "abs_path", f->abs_path);
    if (f->lineno > 0)
        jw_int(w, "lineno", f->lineno);
    else
        jw_null(w, "lineno");
    if (f->colno > 0)
        jw_int(w, "colno", f->colno);
    else
        jw_null(w, "colno");
    jw_tri(w, "in_app", f->in_app);
    jw_str(w, "context_line", f->context_line);
    jw_cjson(w, "pre_context", src != NULL ? json_arr(src, "pre_context") : NULL);
    jw_cjson(w, "post_context", src != NULL ? json_arr(src, "post_context") : NULL);
    jw_cjson(w, "vars", src != NULL ? json_obj(src, "vars") : NULL);
    jw_obj_end(w);
}

static void write_exception(struct jw *w, const struct event *ev, const cJSON *obj, size_t k,
                            struct pool *pool)
{
    const struct ev_exception *x = &ev->exc[k];
    const cJSON *src = normalize_src_exception(ev, obj, k);

    jw_obj(w, NULL);
    jw_str(w, "type", x->type);
    jw_str(w, "value", x->value);
    jw_str(w, "module", x->module);
    jw_cjson(w, "mechanism", src != NULL ? json_obj(src, "mechanism") : NULL);
    if (x->nframes > 0) {
        const cJSON **fsrc = pool_alloc(pool, x->nframes * sizeof(*fsrc));

        normalize_src_frames(ev, obj, k, fsrc);
        jw_obj(w, "stacktrace");
        jw_arr(w, "frames");
        for (size_t i = 0; i < x->nframes; i++)
            write_frame(w, &x->frames[i], fsrc[i]);
        jw_arr_end(w);
        jw_obj_end(w);
    } else {
        jw_null(w, "stacktrace");
    }
    jw_obj_end(w);
}

static void write_breadcrumbs(struct jw *w, const cJSON *obj)
{
    size_t skip, idx = 0;
    const cJSON *bc = normalize_src_breadcrumbs(obj, &skip), *it;

    jw_arr(w, "breadcrumbs");
    cJSON_ArrayForEach(it, bc)
    {
        if (cJSON_IsObject(it) && idx++ >= skip)
            jw_cjson(w, NULL, it);
    }
    jw_arr_end(w);
}

static void write_user(struct jw *w, const struct event *ev, const cJSON *user)
{
    if (user != NULL) {
        jw_cjson(w, "user", user);
        return;
    }
    if (ev->user_id == NULL && ev->user_email == NULL && ev->user_name == NULL &&
        ev->user_ip == NULL) {
        jw_null(w, "user");
        return;
    }
    jw_obj(w, "user");
    jw_str(w, "id", ev->user_id);
    jw_str(w, "email", ev->user_email);
    jw_str(w, "username", ev->user_name);
    jw_str(w, "ip_address", ev->user_ip);
    jw_obj_end(w);
}

void api_write_attributes(struct jw *w, const cJSON *obj)
{
    const cJSON *it, *members = cJSON_IsObject(obj) ? obj : NULL;

    jw_obj(w, "attributes");
    cJSON_ArrayForEach(it, members)
    {
        if (normalize_src_attribute(obj, it))
            jw_cjson(w, it->string, it);
    }
    jw_obj_end(w);
}

void api_write_attributes_of(struct jw *w, const struct event *ev, const cJSON *obj)
{
    if (ev->source == EV_SRC_SYSLOG || ev->source == EV_SRC_GELF)
        jw_cjson(w, "attributes", obj); /* rebuilt by the format's normalizer (logfmt.h) */
    else
        api_write_attributes(w, obj);
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
    jw_arr(w, "tags");
    for (size_t i = 0; i < ev->ntags; i++) {
        jw_arr(w, NULL);
        jw_str(w, NULL, ev->tags[i].key);
        jw_str(w, NULL, ev->tags[i].value);
        jw_arr_end(w);
    }
    jw_arr_end(w);
}

void api_write_event(struct jw *w, const struct event *ev, const cJSON *obj, struct pool *pool)
{
    int sentry = ev->source == EV_SRC_SENTRY && cJSON_IsObject(obj);

    write_head(w, ev);
    write_user(w, ev, sentry ? json_obj(obj, "user") : NULL);
    write_tags(w, ev);
    if (ev->nexc > 0) {
        jw_obj(w, "exception");
        jw_arr(w, "values");
        for (size_t k = 0; k < ev->nexc; k++)
            write_exception(w, ev, sentry ? obj : NULL, k, pool);
        jw_arr_end(w);
        jw_obj_end(w);
    }
    if (sentry) {
        static const char *const members[] = { "contexts", "request", "extra", "sdk" };

        write_breadcrumbs(w, obj);
        /* Present members only: an absent object is left out rather than written as null. */
        for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
            const cJSON *v = json_obj(obj, members[i]);

            if (v != NULL)
                jw_cjson(w, members[i], v);
        }
    } else if (ev->source != EV_SRC_SENTRY) {
        api_write_attributes_of(w, ev, obj);
    }
    jw_str(w, "fingerprint", ev->fingerprint);
    jw_int(w, "grouping_version", ev->grouping_version);
    jw_str(w, "title", ev->title);
    jw_str(w, "culprit", ev->culprit);
}

int api_event_doc(const struct event *ev, const cJSON *obj, struct buf *out)
{
    struct pool pool = POOL_INIT(4096);
    struct jw w;
    int rc;

    jw_init(&w, out);
    jw_obj(&w, NULL);
    api_write_event(&w, ev, obj, &pool);
    jw_obj_end(&w);
    rc = jw_end(&w);
    pool_release(&pool);
    return rc;
}

/* Tags as the store keeps them ([["k","v"],...], written by the store's own JSON escaping). */
static void write_row_tags(struct jw *w, const char *tags_json)
{
    size_t len = tags_json != NULL ? strlen(tags_json) : 0;
    int type = JSONSCAN_NULL;

    /* Checked, not trusted: a damaged column must not break the whole answer. */
    if (len > 0 && jsonscan(tags_json, len, 4, NULL, NULL, &type, NULL) == 0 &&
        type == JSONSCAN_ARRAY)
        jw_raw(w, "tags", tags_json, len);
    else
        jw_raw(w, "tags", "[]", 2);
}

void api_write_event_row(struct jw *w, const struct store_event *e)
{
    jw_str(w, "event_id", e->event_id);
    jw_int(w, "project_id", e->project_id);
    jw_time(w, "timestamp", e->timestamp);
    jw_time(w, "received", e->received_at);
    jw_str(w, "level", ev_level_name(e->level));
    jw_str(w, "kind", e->kind == EV_KIND_ISSUE ? "issue" : "log");
    if (e->issue_id > 0)
        jw_int(w, "issue_id", e->issue_id);
    jw_str_opt(w, "logger", e->logger);
    jw_str(w, "message", e->message != NULL ? e->message : "");
    jw_str_opt(w, "title", e->title);
    jw_str_opt(w, "culprit", e->culprit);
    jw_str_opt(w, "release", e->release);
    jw_str_opt(w, "environment", e->environment);
    write_row_tags(w, e->tags_json);
}
