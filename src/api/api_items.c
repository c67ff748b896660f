/*
 * api_items.c - REST answers for the envelope items kept beside events
 * (docs/api.md "Attachments, feedback and item counts"): an event's
 * attachments and their download, user feedback of a project or an issue,
 * and a project's client-report losses and received-only counts.
 *
 * DESIGN
 * Attachments are whatever a client uploaded, so the download must never be
 * rendered by a browser as a page of our origin: only a few types that
 * cannot run script keep their media type (without the client's
 * parameters); everything else is application/octet-stream, and every
 * download carries nosniff, a sandbox CSP and Content-Disposition:
 * attachment with a filename reduced to harmless characters.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_json.h"
#include "core/json.h"
#include "ingest/envelope.h"
#include "core/banned.h"

/* Feedback rows looked at to find those of one issue (newest first). */
#define ISSUE_FEEDBACK_SCAN 500

/* The {event_id} path parameter as 32 lowercase hex digits; -1 after answering 404. */
static int path_event_id(struct bl_req *req, struct bl_resp *resp, size_t idx, char out[33])
{
    if (req->nparams <= idx ||
        envelope_event_id(req->params[idx].p, req->params[idx].len, out) < 0) {
        resp_error(resp, 404, "no such event");
        return -1;
    }
    return 0;
}

static int path_project(struct bl_req *req, struct bl_resp *resp, int64_t *pid)
{
    struct store_project p;

    *pid = req_param_id(req, 0);
    if (*pid <= 0 || store_project_get(req->app->store, *pid, &p, NULL) < 0) {
        resp_error(resp, 404, "no such project");
        return -1;
    }
    return 0;
}

static cJSON *attachment_json(const struct store_attachment *a)
{
    cJSON *o = cJSON_CreateObject();
    char id[24];

    snprintf(id, sizeof(id), "%lld", (long long)a->id);
    json_add_str(o, "id", id);
    json_add_str(o, "event_id", a->event_id);
    json_add_str(o, "name", a->filename);
    json_add_str(o, "mimetype", a->content_type);
    json_add_str(o, "type", a->attachment_type);
    aj_add_int(o, "size", a->size);
    aj_add_time(o, "date_created", a->received_at);
    return o;
}

/* The attachments of an event as a JSON array, or NULL on a store error. */
static cJSON *attachments_array(struct bl_req *req, int64_t pid, const char *event_id)
{
    struct store_attachment *v = NULL;
    size_t n = 0;
    cJSON *arr;

    if (store_attachment_list(req->app->store, pid, event_id, req->pool, &v, &n, NULL) < 0)
        return NULL;
    arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, attachment_json(&v[i]));
    return arr;
}

int api_items_event_extras(struct bl_req *req, int64_t pid, const char *event_id,
                           struct buf *out)
{
    cJSON *arr = attachments_array(req, pid, event_id);
    int rc;

    if (arr == NULL)
        return BL_ESTORE;
    if (out->len == 0 || out->p[out->len - 1] != '}') {
        cJSON_Delete(arr);
        return BL_EPARSE;
    }
    out->len--;
    rc = buf_addstr(out, ",\"attachments\":");
    rc = rc ? rc : json_print_to(arr, out);
    rc = rc ? rc : buf_addch(out, '}');
    cJSON_Delete(arr);
    return rc;
}

void api_event_attachments(struct bl_req *req, struct bl_resp *resp)
{
    char id[33];
    int64_t pid;
    cJSON *arr;

    if (path_project(req, resp, &pid) < 0 || path_event_id(req, resp, 1, id) < 0)
        return;
    arr = attachments_array(req, pid, id);
    if (arr == NULL) {
        resp_error(resp, 500, "cannot read attachments");
        return;
    }
    aj_send(resp, arr);
}

/* Media types a browser shows without running anything; the rest download as bytes. */
static const char *safe_type(const char *ct)
{
    static const char *const safe[] = {
        "text/plain", "application/json", "image/png", "image/jpeg", "image/gif", "image/webp",
    };
    size_t n = strcspn(ct, "; \t");

    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
        if (strlen(safe[i]) == n && strncasecmp(ct, safe[i], n) == 0)
            return safe[i];
    }
    return "application/octet-stream";
}

/* attachment; filename="..." with anything but [A-Za-z0-9._ -] replaced by '_'. */
static const char *disposition(struct bl_req *req, const char *filename)
{
    char name[128];
    size_t n = 0;
    char *out;

    for (const char *p = filename; *p != '\0' && n < sizeof(name) - 1; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == ' ';

        name[n++] = ok ? c : '_';
    }
    name[n] = '\0';
    if (n == 0 || strspn(name, ".") == n)
        snprintf(name, sizeof(name), "attachment");
    out = pool_alloc(req->pool, sizeof(name) + 32);
    snprintf(out, sizeof(name) + 32, "attachment; filename=\"%s\"", name);
    return out;
}

void api_event_attachment_get(struct bl_req *req, struct bl_resp *resp)
{
    struct store_attachment a;
    char id[33];
    int64_t pid, aid = req_param_id(req, 2);
    int rc;

    if (path_project(req, resp, &pid) < 0 || path_event_id(req, resp, 1, id) < 0)
        return;
    rc = aid > 0 ? store_attachment_get(req->app->store, pid, id, aid, req->pool, &a, NULL)
                 : BL_ENOTFOUND;
    if (rc < 0) {
        resp_error(resp, rc == BL_ENOTFOUND ? 404 : 500, "%s",
                   rc == BL_ENOTFOUND ? "no such attachment" : "cannot read the attachment");
        return;
    }
    buf_reset(&resp->body);
    if (buf_add(&resp->body, a.data, (size_t)a.size) < 0) {
        resp_error(resp, 500, "attachment too large to send");
        return;
    }
    resp->status = 200;
    resp->content_type = safe_type(a.content_type);
    resp_header(resp, "X-Content-Type-Options", "nosniff");
    resp_header(resp, "Content-Security-Policy", "sandbox; default-src 'none'");
    resp_header(resp, "Content-Disposition", disposition(req, a.filename));
}

static cJSON *feedback_json(const struct store_feedback *f)
{
    cJSON *o = cJSON_CreateObject();

    aj_add_int(o, "id", f->id);
    json_add_str(o, "event_id", f->event_id[0] != '\0' ? f->event_id : NULL);
    json_add_str(o, "feedback_id", f->feedback_id[0] != '\0' ? f->feedback_id : NULL);
    json_add_str(o, "name", f->name);
    json_add_str(o, "email", f->email);
    json_add_str(o, "comments", f->message);
    json_add_str(o, "url", f->url);
    aj_add_time(o, "date_created", f->received_at);
    return o;
}

void api_project_feedback(struct bl_req *req, struct bl_resp *resp)
{
    struct store_feedback *v = NULL;
    size_t n = 0, limit;
    int64_t pid;
    cJSON *arr;

    if (path_project(req, resp, &pid) < 0 || aj_limit(req, resp, 100, 1000, &limit) < 0)
        return;
    if (store_feedback_list(req->app->store, pid, "", limit, req->pool, &v, &n, NULL) < 0) {
        resp_error(resp, 500, "cannot read feedback");
        return;
    }
    arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, feedback_json(&v[i]));
    aj_send(resp, arr);
}

/* Whether the event a feedback names was grouped into the issue. */
static int about_issue(struct bl_req *req, const struct store_feedback *f,
                       const struct store_issue *is)
{
    struct store_event ev;

    if (f->event_id[0] == '\0' ||
        store_event_get(req->app->store, is->project_id, f->event_id, req->pool, &ev, NULL,
                        NULL, NULL) < 0)
        return 0;
    return ev.issue_id == is->id;
}

void api_issue_feedback(struct bl_req *req, struct bl_resp *resp)
{
    struct store_feedback *v = NULL;
    struct store_issue is;
    size_t n = 0;
    int64_t id = req_param_id(req, 0);
    cJSON *arr;

    if (id <= 0 || store_issue_get(req->app->store, id, req->pool, &is, NULL) < 0) {
        resp_error(resp, 404, "no such issue");
        return;
    }
    if (store_feedback_list(req->app->store, is.project_id, "", ISSUE_FEEDBACK_SCAN, req->pool,
                            &v, &n, NULL) < 0) {
        resp_error(resp, 500, "cannot read feedback");
        return;
    }
    arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        if (about_issue(req, &v[i], &is))
            cJSON_AddItemToArray(arr, feedback_json(&v[i]));
    }
    aj_send(resp, arr);
}

static cJSON *counts_json(const struct store_item_count *v, size_t n)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();

        if (v[i].reason != NULL)
            json_add_str(o, "reason", v[i].reason);
        json_add_str(o, v[i].reason != NULL ? "category" : "type", v[i].category);
        aj_add_int(o, "quantity", v[i].quantity);
        aj_add_time(o, "last_seen", v[i].last_seen);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

void api_project_item_stats(struct bl_req *req, struct bl_resp *resp)
{
    struct store_item_count *rep = NULL, *rec = NULL;
    size_t nrep = 0, nrec = 0;
    int64_t pid;
    cJSON *o;

    if (path_project(req, resp, &pid) < 0)
        return;
    if (store_item_counts(req->app->store, pid, req->pool, &rep, &nrep, &rec, &nrec, NULL) < 0) {
        resp_error(resp, 500, "cannot read item counts");
        return;
    }
    o = cJSON_CreateObject();
    aj_add_int(o, "project_id", pid);
    cJSON_AddItemToObject(o, "received_not_stored", counts_json(rec, nrec));
    cJSON_AddItemToObject(o, "client_reports", counts_json(rep, nrep));
    aj_send(resp, o);
}
