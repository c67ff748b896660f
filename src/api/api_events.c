/*
 * REST API: one event in full, and the logs listing.
 *
 * The store keeps each event's raw payload, not a normalized copy; the full
 * event is rebuilt here by running the same normalizer the digest ran
 * (deterministic given received_at), and the raw payload is attached as
 * "raw" so the original is always visible.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "core/json.h"
#include "ingest/fingerprint.h"
#include "ingest/normalize.h"
#include "core/banned.h"

cJSON *api_event_summary(struct bl_req *req, const struct store_event *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *tags = e->tags_json ? cJSON_Parse(e->tags_json) : NULL;

    (void)req;
    json_add_str(o, "event_id", e->event_id);
    aj_add_int(o, "project_id", e->project_id);
    aj_add_time(o, "timestamp", e->timestamp);
    aj_add_time(o, "received", e->received_at);
    json_add_str(o, "level", ev_level_name(e->level));
    json_add_str(o, "kind", e->kind == EV_KIND_ISSUE ? "issue" : "log");
    if (e->issue_id > 0)
        aj_add_int(o, "issue_id", e->issue_id);
    json_add_str(o, "logger", e->logger);
    json_add_str(o, "message", e->message ? e->message : "");
    json_add_str(o, "title", e->title);
    json_add_str(o, "culprit", e->culprit);
    json_add_str(o, "release", e->release);
    json_add_str(o, "environment", e->environment);
    cJSON_AddItemToObject(o, "tags", tags != NULL ? tags : cJSON_CreateArray());
    return o;
}

/* Rebuilds the normalized event from its raw payload into out (without "raw"). */
static int rebuild(struct bl_req *req, const struct store_event *row, const char *raw,
                   size_t raw_len, cJSON **obj_out, struct buf *out)
{
    struct json_limits lim = { req->app->limits.max_body, req->app->limits.max_depth };
    struct event ev;
    cJSON *obj = json_parse(raw, raw_len, &lim, NULL);

    if (obj == NULL)
        return BL_EPARSE;
    memset(&ev, 0, sizeof(ev));
    memcpy(ev.event_id, row->event_id, sizeof(ev.event_id));
    ev.project_id = row->project_id;
    ev.received_at = row->received_at;
    if (row->source == EV_SRC_LOGLINE)
        normalize_log_line(obj, &ev, &req->app->limits, req->pool);
    else
        normalize_sentry(obj, &ev, &req->app->limits, req->pool);
    fingerprint_event(&ev, req->pool);
    /* What grouping decided at digest time is the truth, even if rules changed since. */
    memcpy(ev.fingerprint, row->fingerprint, sizeof(ev.fingerprint));
    ev.kind = row->kind;
    ev.issue_id = row->issue_id;
    *obj_out = obj;
    return normalize_event_json(&ev, obj, out);
}

/* Appends ,"raw":... and ,"issue_id":... inside the object in out. */
static int attach_extras(struct buf *out, const struct store_event *row, const char *raw,
                         size_t raw_len)
{
    int rc;

    if (out->len == 0 || out->p[out->len - 1] != '}')
        return BL_EPARSE;
    out->len--;
    rc = buf_addf(out, ",\"issue_id\":%lld,\"kind\":\"%s\",\"raw\":", (long long)row->issue_id,
                  row->kind == EV_KIND_ISSUE ? "issue" : "log");
    rc = rc ? rc : buf_add(out, raw, raw_len);
    rc = rc ? rc : buf_addch(out, '}');
    return rc;
}

void api_event_get(struct bl_req *req, struct bl_resp *resp)
{
    int64_t pid = req_param_id(req, 0);
    char id[33];
    struct store_event row;
    const char *raw = NULL;
    size_t raw_len = 0, n = req->nparams > 1 ? req->params[1].len : 0, k = 0;
    cJSON *obj = NULL;
    int rc;

    /* Accept dashed UUIDs and upper case: ids are stored as 32 lowercase hex. */
    for (size_t i = 0; i < n && k < 32; i++) {
        char c = req->params[1].p[i];

        if (c != '-')
            id[k++] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
    }
    id[k] = '\0';
    rc = pid > 0 ? store_event_get(req->app->store, pid, id, req->pool, &row, &raw, &raw_len, NULL)
                 : BL_ENOTFOUND;
    if (rc < 0) {
        resp_error(resp, rc == BL_ENOTFOUND ? 404 : 500, "%s",
                   rc == BL_ENOTFOUND ? "no such event" : "cannot read the event");
        return;
    }
    buf_reset(&resp->body);
    rc = rebuild(req, &row, raw, raw_len, &obj, &resp->body);
    rc = rc ? rc : attach_extras(&resp->body, &row, raw, raw_len);
    rc = rc ? rc : api_items_event_extras(req, pid, id, &resp->body);
    cJSON_Delete(obj);
    if (rc < 0) {
        resp_error(resp, 500, "stored event cannot be shown: %s", bl_strerror(rc));
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
}

/* A log line for the listing: the summary plus its attributes, rebuilt from raw. */
static cJSON *log_json(struct bl_req *req, const struct store_event *row)
{
    cJSON *o = api_event_summary(req, row);
    struct buf doc = BUF_INIT(req->app->limits.max_body * 2);
    cJSON *obj = NULL, *norm;

    if (row->raw == NULL || rebuild(req, row, row->raw, row->raw_len, &obj, &doc) < 0)
        goto out;
    norm = cJSON_ParseWithLength(doc.p, doc.len);
    if (norm != NULL) {
        cJSON *attrs = cJSON_DetachItemFromObjectCaseSensitive(norm, "attributes");

        if (attrs != NULL)
            cJSON_AddItemToObject(o, "attributes", attrs);
        json_add_str(o, "server_name", json_str(norm, "server_name"));
        json_add_str(o, "trace_id", json_str(norm, "trace_id"));
        json_add_str(o, "request_id", json_str(norm, "request_id"));
        cJSON_Delete(norm);
    }
out:
    cJSON_Delete(obj);
    buf_release(&doc);
    return o;
}

void api_send_event_page(struct bl_req *req, struct bl_resp *resp,
                         const struct store_event_query *q, api_event_render_fn render)
{
    struct store_event *v = NULL;
    char next[STORE_CURSOR_MAX] = "";
    struct bl_err err = { 0 };
    size_t n = 0;
    cJSON *arr;
    int rc = store_event_list(req->app->store, q, req->pool, &v, &n, next, &err);

    if (rc < 0) {
        resp_error(resp, rc == BL_EINVAL ? 400 : rc == BL_ENOTFOUND ? 404 : 500, "%s",
                   bl_err_msg(&err));
        return;
    }
    arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, render(req, &v[i]));
    aj_send(resp, arr);
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
    if (aj_limit(req, resp, 100, 1000, &q.limit) < 0 ||
        aj_time_param(req, resp, "since", &q.since) < 0 ||
        aj_time_param(req, resp, "until", &q.until) < 0)
        return;
    api_send_event_page(req, resp, &q, log_json);
}
