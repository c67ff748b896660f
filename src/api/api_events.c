/*
 * REST API: one event in full, and the logs listing.
 *
 * The store keeps each event's raw payload, not a normalized copy; the event
 * is rebuilt here by running the same normalizer the digest ran
 * (deterministic given received_at) and written by api_event_doc.c, with the
 * raw payload attached as "raw" so the original is always visible.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_event_doc.h"
#include "api/api_json.h"
#include "api/api_search.h"
#include "core/clock.h"
#include "search/query.h"
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
    if (rc == 0 && row.timestamp < api_retention_cutoff(req, pid, clock_now_us()))
        rc = BL_ENOTFOUND; /* past its project's retention */
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
void api_write_log_row(struct bl_req *req, struct jw *w, const struct store_event *row)
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
        resp_error(resp,
                   rc == BL_EINVAL      ? 400
                   : rc == BL_ENOTFOUND ? 404
                                        : 500,
                   "%s", bl_err_msg(&err));
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

static const char *const logs_params[] = { "query", "since", "until", "limit", "cursor", NULL };

void api_logs_list(struct bl_req *req, struct bl_resp *resp)
{
    struct search_req s;

    if (api_search_begin(req, resp, QUERY_LOGS, EV_KIND_LOG, logs_params, &s) < 0 ||
        aj_limit(req, resp, 100, 1000, &s.q.limit) < 0)
        return;
    s.q.with_raw = 1;
    s.q.cursor = req_query(req, "cursor");
    api_send_event_page(req, resp, &s.q, api_write_log_row);
}

/*
 * The context of a line: the lines just before and after it from the same
 * host and service (as the search language reads them), oldest first.
 */
#define CONTEXT_MAX 100
#define CONTEXT_WINDOW CLOCK_US_PER_HOUR

static const char *const context_params[] = { "line", "before", "after", NULL };

/* host:"h" service:"s" of the line, for what it has (quotes are not in the language). */
static const char *same_source(struct bl_req *req, const struct store_event *row)
{
    struct api_doc d;
    struct slice host[1], svc[1];
    size_t nh = 0, ns = 0;
    const char *q = NULL;

    if (api_doc_init(&d, row, &req->app->limits, req->pool) == 0) {
        nh = api_search_doc_get(&d, "host", host, 1);
        ns = api_search_doc_get(&d, "service", svc, 1);
    }
    if (nh > 0 && memchr(host[0].p, '"', host[0].len) == NULL)
        q = pool_printf(req->pool, "host:\"%.*s\"", (int)host[0].len, host[0].p);
    if (ns > 0 && memchr(svc[0].p, '"', svc[0].len) == NULL)
        q = pool_printf(req->pool, "%s service:\"%.*s\"", q != NULL ? q : "", (int)svc[0].len,
                        svc[0].p);
    api_doc_free(&d);
    return q;
}

/* The oldest n of the lines after the line (a scan goes newest first: keep the last n). */
struct after_ring {
    struct bl_req *req;
    struct store_event *v;
    size_t n, seen;
    const char *skip_id;
};

static int after_row(void *arg, const struct store_event *row)
{
    struct after_ring *r = arg;
    struct store_event *e;

    if (r->n == 0 || strcmp(row->event_id, r->skip_id) == 0)
        return 0;
    e = &r->v[r->seen++ % r->n];
    *e = *row;
    e->logger = row->logger ? pool_strdup(r->req->pool, row->logger) : NULL;
    e->message = row->message ? pool_strdup(r->req->pool, row->message) : NULL;
    e->title = row->title ? pool_strdup(r->req->pool, row->title) : NULL;
    e->culprit = row->culprit ? pool_strdup(r->req->pool, row->culprit) : NULL;
    e->release = row->release ? pool_strdup(r->req->pool, row->release) : NULL;
    e->environment = row->environment ? pool_strdup(r->req->pool, row->environment) : NULL;
    e->tags_json = row->tags_json ? pool_strdup(r->req->pool, row->tags_json) : "[]";
    e->raw = row->raw ? pool_memdup(r->req->pool, row->raw, row->raw_len + 1) : NULL;
    return 0;
}

static size_t context_num(struct bl_req *req, const char *name, int *bad)
{
    const char *s = req_query(req, name);
    char *end;
    long v;

    if (s == NULL)
        return 10;
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > CONTEXT_MAX)
        *bad = 1;
    return v < 0 || v > CONTEXT_MAX ? 0 : (size_t)v;
}

static void write_lines(struct bl_req *req, struct jw *w, const char *key,
                        const struct store_event *v, size_t n, int reverse)
{
    jw_arr(w, key);
    for (size_t i = 0; i < n; i++) {
        jw_obj(w, NULL);
        api_write_log_row(req, w, &v[reverse ? n - 1 - i : i]);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static int context_parts(struct bl_req *req, struct bl_resp *resp, struct search_req *s,
                         const struct store_event *line, size_t nb, struct store_event **before,
                         size_t *nbefore, struct after_ring *ar)
{
    char next[STORE_CURSOR_MAX];
    struct bl_err err = { 0 };
    size_t scanned = 0;
    int rc = 0;

    s->q.with_raw = 1;
    s->q.since = line->timestamp - CONTEXT_WINDOW;
    s->q.until = line->timestamp;
    s->q.limit = nb;
    if (nb > 0)
        rc = store_event_list(req->app->store, &s->q, req->pool, before, nbefore, next, &err);
    s->q.since = line->timestamp;
    s->q.until = line->timestamp + CONTEXT_WINDOW;
    if (rc == 0 && ar->n > 0)
        rc = store_event_scan(req->app->store, &s->q, 0, after_row, ar, &scanned, &err);
    if (rc < 0)
        resp_error(resp, 500, "%s", bl_err_msg(&err));
    return rc;
}

void api_logs_context(struct bl_req *req, struct bl_resp *resp)
{
    struct search_req s;
    struct store_event line, *before = NULL;
    const char *id = req_query(req, "line"), *raw = NULL;
    size_t raw_len = 0, nbefore = 0, nb, na;
    struct after_ring ar = { req, NULL, 0, 0, id };
    int bad = 0;
    struct jw w;

    if (api_search_begin(req, resp, QUERY_LOGS, EV_KIND_LOG, context_params, &s) < 0)
        return;
    nb = context_num(req, "before", &bad);
    na = context_num(req, "after", &bad);
    if (id == NULL || bad) {
        resp_error(resp, 400, "context needs line=ID and before/after from 0 to %d", CONTEXT_MAX);
        return;
    }
    if (store_event_get(req->app->store, s.q.project_id, id, req->pool, &line, &raw, &raw_len,
                        NULL) < 0 ||
        line.kind != EV_KIND_LOG) {
        resp_error(resp, 404, "no such line");
        return;
    }
    line.raw = raw;
    line.raw_len = raw_len;
    if (api_query_parse(req, resp, same_source(req, &line), QUERY_LOGS, &s.m.query) < 0)
        return;
    s.q.query = s.m.query;
    ar.n = na;
    ar.v = pool_calloc(req->pool, na + 1, sizeof(*ar.v));
    if (context_parts(req, resp, &s, &line, nb, &before, &nbefore, &ar) < 0)
        return;
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    write_lines(req, &w, "before", before, nbefore, 1);
    jw_obj(&w, "line");
    api_write_log_row(req, &w, &line);
    jw_obj_end(&w);
    /* the ring holds the oldest ar.n after the line, newest first from its write position */
    jw_arr(&w, "after");
    for (size_t i = 0; i < ar.n && i < ar.seen; i++) {
        size_t k = (ar.seen - 1 - i) % ar.n;

        jw_obj(&w, NULL);
        api_write_log_row(req, &w, &ar.v[k]);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    aj_send(resp, &w);
}
