/* REST API: issues, their hourly counts, status changes and events. */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/banned.h"

#define ISSUE_HOURS 24

static const struct {
    const char *name;
    int sort;
} sorts[] = {
    { "last_seen", STORE_SORT_LAST_SEEN }, { "date", STORE_SORT_LAST_SEEN },
    { "first_seen", STORE_SORT_FIRST_SEEN }, { "new", STORE_SORT_FIRST_SEEN },
    { "count", STORE_SORT_COUNT }, { "freq", STORE_SORT_COUNT },
};

static cJSON *issue_json(const struct store_issue *is)
{
    cJSON *o = cJSON_CreateObject();

    aj_add_int(o, "id", is->id);
    aj_add_int(o, "project_id", is->project_id);
    json_add_str(o, "title", is->title ? is->title : "");
    json_add_str(o, "culprit", is->culprit ? is->culprit : "");
    json_add_str(o, "level", ev_level_name(is->level));
    json_add_str(o, "status", store_issue_status_name(is->status));
    aj_add_int(o, "count", is->times_seen);
    aj_add_time(o, "first_seen", is->first_seen);
    aj_add_time(o, "last_seen", is->last_seen);
    json_add_str(o, "fingerprint", is->fingerprint);
    aj_add_int(o, "grouping_version", is->grouping_version);
    if (is->first_release != NULL)
        json_add_str(o, "first_release", is->first_release);
    if (is->last_release != NULL)
        json_add_str(o, "last_release", is->last_release);
    return o;
}

static int parse_issue_query(struct bl_req *req, struct bl_resp *resp, struct store_issue_query *q)
{
    const char *status = req_query(req, "status");
    const char *sort = req_query(req, "sort");

    memset(q, 0, sizeof(*q));
    q->project_id = req_param_id(req, 0);
    q->status = STORE_ISSUE_UNRESOLVED;
    q->cursor = req_query(req, "cursor");
    if (q->project_id <= 0) {
        resp_error(resp, 404, "no such project");
        return -1;
    }
    if (status != NULL && store_issue_status_parse(status, &q->status) < 0) {
        resp_error(resp, 400, "status must be unresolved, resolved, ignored or all");
        return -1;
    }
    q->sort = -1;
    for (size_t i = 0; sort != NULL && i < sizeof(sorts) / sizeof(sorts[0]); i++)
        if (strcmp(sort, sorts[i].name) == 0)
            q->sort = sorts[i].sort;
    if (sort == NULL)
        q->sort = STORE_SORT_LAST_SEEN;
    if (q->sort < 0) {
        resp_error(resp, 400, "sort must be last_seen, first_seen or count");
        return -1;
    }
    return aj_limit(req, resp, 100, 1000, &q->limit);
}

void api_issues_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_issue_query q;
    struct store_project p;
    struct store_issue *v = NULL;
    char next[STORE_CURSOR_MAX] = "";
    struct bl_err err = { 0 };
    size_t n = 0;
    cJSON *arr;
    int rc;

    if (parse_issue_query(req, resp, &q) < 0)
        return;
    if (store_project_get(req->app->store, q.project_id, &p, NULL) < 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    rc = store_issue_list(req->app->store, &q, req->pool, &v, &n, next, &err);
    if (rc < 0) {
        resp_error(resp, rc == BL_EINVAL ? 400 : 500, "%s", bl_err_msg(&err));
        return;
    }
    arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, issue_json(&v[i]));
    aj_send(resp, arr);
    aj_link_next(req, resp, next);
}

static int load_issue(struct bl_req *req, struct bl_resp *resp, struct store_issue *is)
{
    int64_t id = req_param_id(req, 0);
    struct bl_err err = { 0 };
    int rc;

    if (id <= 0) {
        resp_error(resp, 404, "no such issue");
        return -1;
    }
    rc = store_issue_get(req->app->store, id, req->pool, is, &err);
    if (rc == BL_ENOTFOUND) {
        resp_error(resp, 404, "no such issue");
        return -1;
    }
    if (rc < 0) {
        resp_error(resp, 500, "%s", bl_err_msg(&err));
        return -1;
    }
    return 0;
}

void api_issue_get(struct bl_req *req, struct bl_resp *resp)
{
    struct store_issue is;
    int64_t counts[ISSUE_HOURS] = { 0 };
    int64_t hour = clock_now_us() / CLOCK_US_PER_HOUR * CLOCK_US_PER_HOUR;
    int64_t since = hour - (ISSUE_HOURS - 1) * CLOCK_US_PER_HOUR;
    cJSON *o, *hourly;

    if (load_issue(req, resp, &is) < 0)
        return;
    if (store_issue_hourly(req->app->store, is.id, since, ISSUE_HOURS, counts, NULL) < 0) {
        resp_error(resp, 500, "cannot read hourly counts");
        return;
    }
    o = issue_json(&is);
    hourly = cJSON_AddArrayToObject(o, "hourly");
    for (size_t i = 0; i < ISSUE_HOURS; i++)
        cJSON_AddItemToArray(hourly, cJSON_CreateNumber((double)counts[i]));
    aj_add_time(o, "hourly_since", since);
    aj_send(resp, o);
}

void api_issue_put(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { 64 * 1024, 8 };
    struct store_issue is;
    const char *status;
    cJSON *body;
    int st = -1;

    if (load_issue(req, resp, &is) < 0)
        return;
    body = json_parse(req->body.p, req->body.len, &lim, NULL);
    status = body != NULL ? json_str(body, "status") : NULL;
    if (status == NULL || store_issue_status_parse(status, &st) < 0 || st == STORE_ISSUE_ANY) {
        cJSON_Delete(body);
        resp_error(resp, 400, "body must be {\"status\": \"resolved\"|\"unresolved\"|\"ignored\"}");
        return;
    }
    cJSON_Delete(body);
    if (store_issue_set_status(req->app->store, is.id, st, NULL) < 0) {
        resp_error(resp, 500, "cannot update the issue");
        return;
    }
    is.status = st;
    aj_send(resp, issue_json(&is));
}


void api_issue_events(struct bl_req *req, struct bl_resp *resp)
{
    struct store_event_query q;
    struct store_issue is;

    if (load_issue(req, resp, &is) < 0)
        return;
    memset(&q, 0, sizeof(q));
    q.project_id = is.project_id;
    q.issue_id = is.id;
    q.kind = -1;
    q.cursor = req_query(req, "cursor");
    if (aj_limit(req, resp, 50, 1000, &q.limit) < 0)
        return;
    api_send_event_page(req, resp, &q, api_event_summary);
}
