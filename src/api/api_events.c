/*
 * REST API: one event in full, and the logs listing.
 *
 * The store keeps each event's raw payload, not a normalized copy; the event
 * is rebuilt here by running the same normalizer the digest ran
 * (deterministic given received_at) and written by api_event_doc.c, with the
 * raw payload attached as "raw" so the original is always visible.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_event_doc.h"
#include "api/api_json.h"
#include "core/json.h"
#include "ingest/fingerprint.h"
#include "ingest/logfmt.h"
#include "ingest/normalize.h"
#include "core/banned.h"

/*
 * The normalizer the digest ran for the row's source. *obj_out is the
 * client's object for Sentry events and log lines; for syslog and GELF
 * (logfmt.h) it is the attributes object rebuilt from the raw message.
 * *raw becomes the event's own payload (an envelope's event item).
 */
static int renormalize(struct bl_req *req, const struct store_event *row, const char **raw,
                       size_t *raw_len, struct event *ev, cJSON **obj_out)
{
    struct json_limits lim = { req->app->limits.max_body, req->app->limits.max_depth };
    cJSON *obj;

    if (row->source == EV_SRC_SYSLOG) {
        normalize_syslog(*raw, *raw_len, ev, &req->app->limits, req->pool);
        *obj_out = normalize_syslog_attributes(*raw, *raw_len, row->received_at);
        return *obj_out != NULL ? 0 : BL_ENOMEM;
    }
    /* A whole envelope kept as received: the event is its event item. */
    if (row->source == EV_SRC_SENTRY_ENVELOPE) {
        struct slice json;

        if (ingest_envelope_event(*raw, *raw_len, req->pool, &json) < 0)
            return BL_EPARSE;
        *raw = json.p;
        *raw_len = json.len;
    }
    obj = json_parse(*raw, *raw_len, &lim, NULL);
    if (obj == NULL)
        return BL_EPARSE;
    if (row->source == EV_SRC_GELF) {
        normalize_gelf(obj, ev, &req->app->limits, req->pool);
        *obj_out = normalize_gelf_attributes(obj);
        cJSON_Delete(obj);
        return *obj_out != NULL ? 0 : BL_ENOMEM;
    }
    if (row->source == EV_SRC_LOGLINE)
        normalize_log_line(obj, ev, &req->app->limits, req->pool);
    else
        normalize_sentry(obj, ev, &req->app->limits, req->pool);
    *obj_out = obj;
    return 0;
}

/* Rebuilds the event of a stored row from its raw payload; *obj_out as renormalize's. */
static int rebuild(struct bl_req *req, const struct store_event *row, const char **raw,
                   size_t *raw_len, struct event *ev, cJSON **obj_out)
{
    int rc;

    memset(ev, 0, sizeof(*ev));
    memcpy(ev->event_id, row->event_id, sizeof(ev->event_id));
    ev->project_id = row->project_id;
    ev->received_at = row->received_at;
    rc = renormalize(req, row, raw, raw_len, ev, obj_out);
    if (rc < 0)
        return rc;
    fingerprint_event(ev, req->pool);
    /* What grouping decided at digest time is the truth, even if rules changed since. */
    memcpy(ev->fingerprint, row->fingerprint, sizeof(ev->fingerprint));
    ev->kind = row->kind;
    ev->issue_id = row->issue_id;
    return 0;
}

/* The id in the path as stored: 32 lowercase hex (dashed UUIDs and upper case accepted). */
static void path_event_id(const struct bl_req *req, char id[33])
{
    size_t n = req->nparams > 1 ? req->params[1].len : 0, k = 0;

    for (size_t i = 0; i < n && k < 32; i++) {
        char c = req->params[1].p[i];

        if (c != '-')
            id[k++] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
    }
    id[k] = '\0';
}

void api_event_get(struct bl_req *req, struct bl_resp *resp)
{
    int64_t pid = req_param_id(req, 0);
    char id[33];
    struct store_event row;
    struct event ev;
    const char *raw = NULL;
    size_t raw_len = 0;
    cJSON *obj = NULL;
    struct jw w;
    int rc;

    path_event_id(req, id);
    if (pid <= 0)
        goto not_found;
    if (api_require(req, resp, API_READ, pid) < 0)
        return;
    rc = store_event_get(req->app->store, pid, id, req->pool, &row, &raw, &raw_len, NULL);
    if (rc == BL_ENOTFOUND)
        goto not_found;
    if (rc < 0) {
        resp_error(resp, 500, "cannot read the event");
        return;
    }
    rc = rebuild(req, &row, &raw, &raw_len, &ev, &obj);
    if (rc < 0) {
        resp_error(resp, 500, "stored event cannot be shown: %s", bl_strerror(rc));
        return;
    }
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    api_write_event(&w, &ev, obj, req->pool);
    jw_int(&w, "issue_id", row.issue_id);
    jw_str(&w, "kind", row.kind == EV_KIND_ISSUE ? "issue" : "log");
    /* The payload parsed above, so it is one JSON value as the client sent it; a
     * syslog message is text, shown as a string. */
    if (row.source == EV_SRC_SYSLOG)
        jw_str(&w, "raw", pool_strndup(req->pool, raw, raw_len));
    else
        jw_raw(&w, "raw", raw, raw_len);
    rc = api_items_write_attachments(req, &w, "attachments", pid, id);
    jw_obj_end(&w);
    cJSON_Delete(obj);
    if (rc < 0) {
        resp_error(resp, 500, "cannot read the event's attachments");
        return;
    }
    aj_send(resp, &w);
    return;
not_found:
    resp_error(resp, 404, "no such event");
}

/* A log line for the listing: the row plus what only its payload holds. */
static void log_row(struct bl_req *req, struct jw *w, const struct store_event *row)
{
    struct event ev;
    cJSON *obj = NULL;
    const char *raw = row->raw;
    size_t raw_len = row->raw_len;

    api_write_event_row(w, row);
    if (raw == NULL || rebuild(req, row, &raw, &raw_len, &ev, &obj) < 0)
        return;
    api_write_attributes_of(w, &ev, obj);
    jw_str_opt(w, "server_name", ev.server_name);
    jw_str_opt(w, "trace_id", ev.trace_id);
    jw_str_opt(w, "request_id", ev.request_id);
    cJSON_Delete(obj);
}

void api_send_event_page(struct bl_req *req, struct bl_resp *resp,
                         const struct store_event_query *q, api_event_render_fn render)
{
    struct store_event *v = NULL;
    char next[STORE_CURSOR_MAX] = "";
    struct bl_err err = { 0 };
    size_t n = 0;
    struct jw w;
    int rc = store_event_list(req->app->store, q, req->pool, &v, &n, next, &err);

    if (rc < 0) {
        resp_error(resp, rc == BL_EINVAL ? 400 : rc == BL_ENOTFOUND ? 404 : 500, "%s",
                   bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++) {
        jw_obj(&w, NULL);
        render(req, &w, &v[i]);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    aj_send(resp, &w);
    aj_link_next(req, resp, next);
}

void api_logs_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_event_query q;

    memset(&q, 0, sizeof(q));
    q.project_id = req_param_id(req, 0);
    q.kind = EV_KIND_LOG;
    q.with_raw = 1;
    q.cursor = req_query(req, "cursor");
    if (q.project_id <= 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    if (api_require(req, resp, API_READ, q.project_id) < 0 ||
        aj_limit(req, resp, 100, 1000, &q.limit) < 0 ||
        aj_time_range(req, resp, &q.since, &q.until) < 0)
        return;
    api_send_event_page(req, resp, &q, log_row);
}
