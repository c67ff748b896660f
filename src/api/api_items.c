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
#include "door/door.h"
#include "api/api_json.h"
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

/* The project in the path, when the caller may read it; -1 after answering (404 as if absent). */
static int path_project(struct bl_req *req, struct bl_resp *resp, int64_t *pid)
{
    struct store_project p;

    *pid = req_param_id(req, 0);
    if (*pid <= 0 || store_project_get(req->app->store, *pid, &p, NULL) < 0) {
        resp_error(resp, 404, "no such project");
        return -1;
    }
    return api_require(req, resp, API_READ, *pid);
}

static void write_attachment(struct jw *w, const struct store_attachment *a)
{
    char id[24];

    snprintf(id, sizeof(id), "%lld", (long long)a->id);
    jw_obj(w, NULL);
    jw_str(w, "id", id);
    jw_str(w, "event_id", a->event_id);
    jw_str(w, "name", a->filename);
    jw_str(w, "mimetype", a->content_type);
    jw_str(w, "type", a->attachment_type);
    jw_int(w, "size", a->size);
    jw_time(w, "date_created", a->received_at);
    jw_obj_end(w);
}

int api_items_write_attachments(struct bl_req *req, struct jw *w, const char *key, int64_t pid,
                                const char *event_id)
{
    struct store_attachment *v = NULL;
    size_t n = 0;

    if (store_attachment_list(req->app->store, pid, event_id, req->pool, &v, &n, NULL) < 0)
        return BL_ESTORE;
    jw_arr(w, key);
    for (size_t i = 0; i < n; i++)
        write_attachment(w, &v[i]);
    jw_arr_end(w);
    return 0;
}

void api_event_attachments(struct bl_req *req, struct bl_resp *resp)
{
    char id[33];
    int64_t pid;
    struct jw w;

    if (path_project(req, resp, &pid) < 0 || path_event_id(req, resp, 1, id) < 0)
        return;
    aj_begin(resp, &w);
    if (api_items_write_attachments(req, &w, NULL, pid, id) < 0) {
        resp_error(resp, 500, "cannot read attachments");
        return;
    }
    aj_send(resp, &w);
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

static void write_feedback(struct jw *w, const struct store_feedback *f)
{
    jw_obj(w, NULL);
    jw_int(w, "id", f->id);
    jw_str(w, "event_id", f->event_id[0] != '\0' ? f->event_id : NULL);
    jw_str(w, "feedback_id", f->feedback_id[0] != '\0' ? f->feedback_id : NULL);
    jw_str(w, "name", f->name);
    jw_str(w, "email", f->email);
    jw_str(w, "comments", f->message);
    jw_str(w, "url", f->url);
    jw_time(w, "date_created", f->received_at);
    jw_obj_end(w);
}

void api_project_feedback(struct bl_req *req, struct bl_resp *resp)
{
    struct store_feedback *v = NULL;
    size_t n = 0, limit;
    int64_t pid;
    struct jw w;

    if (path_project(req, resp, &pid) < 0 || aj_limit(req, resp, 100, 1000, &limit) < 0)
        return;
    if (store_feedback_list(req->app->store, pid, "", limit, req->pool, &v, &n, NULL) < 0) {
        resp_error(resp, 500, "cannot read feedback");
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++)
        write_feedback(&w, &v[i]);
    jw_arr_end(&w);
    aj_send(resp, &w);
}

/* Whether the event a feedback names was grouped into the issue. */
static int about_issue(struct bl_req *req, const struct store_feedback *f,
                       const struct store_issue *is)
{
    struct store_event ev;

    if (f->event_id[0] == '\0' || store_event_get(req->app->store, is->project_id, f->event_id,
                                                  req->pool, &ev, NULL, NULL, NULL) < 0)
        return 0;
    return ev.issue_id == is->id;
}

void api_issue_feedback(struct bl_req *req, struct bl_resp *resp)
{
    struct store_feedback *v = NULL;
    struct store_issue is;
    size_t n = 0;
    int64_t id = req_param_id(req, 0);
    struct jw w;

    if (id <= 0 || store_issue_get(req->app->store, id, req->pool, &is, NULL) < 0) {
        resp_error(resp, 404, "no such issue");
        return;
    }
    if (api_require(req, resp, API_READ, is.project_id) < 0)
        return;
    if (store_feedback_list(req->app->store, is.project_id, "", ISSUE_FEEDBACK_SCAN, req->pool, &v,
                            &n, NULL) < 0) {
        resp_error(resp, 500, "cannot read feedback");
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++)
        if (about_issue(req, &v[i], &is))
            write_feedback(&w, &v[i]);
    jw_arr_end(&w);
    aj_send(resp, &w);
}

static void write_counts(struct jw *w, const char *key, const struct store_item_count *v, size_t n)
{
    jw_arr(w, key);
    for (size_t i = 0; i < n; i++) {
        jw_obj(w, NULL);
        if (v[i].reason != NULL)
            jw_str(w, "reason", v[i].reason);
        jw_str(w, v[i].reason != NULL ? "category" : "type", v[i].category);
        jw_int(w, "quantity", v[i].quantity);
        jw_time(w, "last_seen", v[i].last_seen);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/*
 * The door's counts for the project (door/ratelimit.h), newest hour first:
 * units accepted, requests rate-limited, requests or units otherwise
 * refused. Kept in memory since the server started.
 */
static void write_ingest_hours(struct bl_req *req, struct jw *w, int64_t pid)
{
    struct rl_hour h[RL_HOURS];
    uint64_t tot[RL_COUNTS] = { 0 };

    ratelimit_hours(door_ratelimit(req->app->door), pid, h);
    jw_arr(w, "ingest_hourly");
    for (int i = 0; i < RL_HOURS; i++) {
        jw_obj(w, NULL);
        jw_time(w, "hour", h[i].hour_us);
        jw_int(w, "accepted", (int64_t)h[i].n[RL_ACCEPTED]);
        jw_int(w, "rate_limited", (int64_t)h[i].n[RL_RATE_LIMITED]);
        jw_int(w, "rejected", (int64_t)h[i].n[RL_REJECTED]);
        jw_obj_end(w);
        for (int k = 0; k < RL_COUNTS; k++)
            tot[k] += h[i].n[k];
    }
    jw_arr_end(w);
    jw_obj(w, "ingest_24h");
    jw_int(w, "accepted", (int64_t)tot[RL_ACCEPTED]);
    jw_int(w, "rate_limited", (int64_t)tot[RL_RATE_LIMITED]);
    jw_int(w, "rejected", (int64_t)tot[RL_REJECTED]);
    jw_obj_end(w);
}

void api_project_item_stats(struct bl_req *req, struct bl_resp *resp)
{
    struct store_item_count *rep = NULL, *rec = NULL;
    size_t nrep = 0, nrec = 0;
    int64_t pid;
    struct jw w;

    if (path_project(req, resp, &pid) < 0)
        return;
    if (store_item_counts(req->app->store, pid, req->pool, &rep, &nrep, &rec, &nrec, NULL) < 0) {
        resp_error(resp, 500, "cannot read item counts");
        return;
    }
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    jw_int(&w, "project_id", pid);
    write_counts(&w, "received_not_stored", rec, nrec);
    write_counts(&w, "client_reports", rep, nrep);
    if (req->app->door != NULL)
        write_ingest_hours(req, &w, pid);
    jw_obj_end(&w);
    aj_send(resp, &w);
}
