/* REST API: issues, their hourly counts, status changes and events. */
#include <string.h>

#include "api/api.h"
#include "api/api_event_doc.h"
#include "api/api_json.h"
#include "api/api_search.h"
#include "api/api_seen.h"
#include "core/clock.h"
#include "core/json.h"
#include "search/query.h"
#include "core/banned.h"

#define ISSUE_HOURS 24
#define ISSUE_HOURS_14D (14 * 24)
#define ISSUE_SCAN_MAX 100000 /* issues a query looks at per page at most */

static const struct {
    const char *name;
    int sort;
} sorts[] = {
    { "last_seen", STORE_SORT_LAST_SEEN },   { "date", STORE_SORT_LAST_SEEN },
    { "first_seen", STORE_SORT_FIRST_SEEN }, { "new", STORE_SORT_FIRST_SEEN },
    { "count", STORE_SORT_COUNT },           { "freq", STORE_SORT_COUNT },
};

/* The members of an issue into an open object. */
static void write_issue(struct jw *w, const struct store_issue *is)
{
    jw_int(w, "id", is->id);
    jw_int(w, "project_id", is->project_id);
    jw_str(w, "title", is->title ? is->title : "");
    jw_str(w, "culprit", is->culprit ? is->culprit : "");
    jw_str(w, "level", ev_level_name(is->level));
    jw_str(w, "status", store_issue_status_name(is->status));
    jw_int(w, "count", is->times_seen);
    jw_time(w, "first_seen", is->first_seen);
    jw_time(w, "last_seen", is->last_seen);
    jw_str(w, "fingerprint", is->fingerprint);
    jw_int(w, "grouping_version", is->grouping_version);
    jw_int(w, "rules_version", is->rules_version);
    jw_str_opt(w, "first_release", is->first_release);
    jw_str_opt(w, "last_release", is->last_release);
    jw_str_opt(w, "resolved_in_release", is->resolved_in_release);
}

/* One issue as the whole answer. */
static void send_issue(struct bl_resp *resp, const struct store_issue *is)
{
    struct jw w;

    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    write_issue(&w, is);
    jw_obj_end(&w);
    aj_send(resp, &w);
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
    if (api_require(req, resp, API_READ, q->project_id) < 0)
        return -1;
    if (status != NULL && (store_issue_status_parse(status, &q->status) < 0 ||
                           q->status == STORE_ISSUE_RESOLVED_NEXT_RELEASE)) {
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

/* An issue as the search language sees it (target issues). */
struct issue_doc {
    const struct store_issue *is;
    struct pool *pool;
    struct api_seen_cache *seen; /* its environments and releases, loaded when asked */
};

static size_t issue_get(const void *doc, const char *f, struct slice *vals, size_t max)
{
    const struct issue_doc *d = doc;
    const struct store_issue *is = d->is;
    const char *one = NULL;
    size_t n = 0;

    if (max == 0)
        return 0;
    if (strcmp(f, "title") == 0 || strcmp(f, "message") == 0)
        one = is->title;
    else if (strcmp(f, "culprit") == 0)
        one = is->culprit;
    else if (strcmp(f, "level") == 0)
        one = ev_level_name(is->level);
    else if (strcmp(f, "is") == 0)
        one = store_issue_status_name(is->status);
    else if (strcmp(f, "times_seen") == 0)
        one = pool_printf(d->pool, "%lld", (long long)is->times_seen);
    else if (strcmp(f, "first_seen") == 0)
        one = pool_printf(d->pool, "%lld", (long long)is->first_seen);
    else if (strcmp(f, "last_seen") == 0)
        one = pool_printf(d->pool, "%lld", (long long)is->last_seen);
    if (one != NULL) {
        vals[0] = slice_from(one);
        return 1;
    }
    if (strcmp(f, "release") == 0) {
        if (is->first_release != NULL)
            vals[n++] = slice_from(is->first_release);
        if (is->last_release != NULL && n < max)
            vals[n++] = slice_from(is->last_release);
        n += api_seen_values(d->seen, STORE_SEEN_RELEASE, vals + n, max - n);
    }
    if (strcmp(f, "environment") == 0)
        n = api_seen_values(d->seen, STORE_SEEN_ENVIRONMENT, vals, max);
    return n;
}

/*
 * The issues of q that query matches: store pages of exactly the number
 * still wanted, so that when the page fills, the store's cursor names the
 * last issue looked at, which is the last one returned.
 */
static int issues_filtered(struct bl_req *req, struct store_issue_query *q,
                           const struct query_node *query, struct store_issue **out, size_t *n,
                           char next[STORE_CURSOR_MAX], struct bl_err *err)
{
    struct store_issue *all = pool_calloc(req->pool, q->limit, sizeof(*all));
    size_t want = q->limit, have = 0, seen = 0;
    int64_t now = clock_now_us();
    int rc = 0;

    next[0] = '\0';
    while (rc == 0 && have < want && seen < ISSUE_SCAN_MAX) {
        struct store_issue *v = NULL;
        size_t k = 0;

        q->limit = want - have;
        rc = store_issue_list(req->app->store, q, req->pool, &v, &k, next, err);
        for (size_t i = 0; rc == 0 && i < k; i++) {
            struct api_seen_cache c = {
                req->app->store, req->pool, v[i].id, { 0 }, { 0 }, { 0 }, 0
            };
            struct issue_doc d = { &v[i], req->pool, &c };

            if (query_match(query, issue_get, &d, now))
                all[have++] = v[i];
            if (c.failed)
                rc = bl_err_set(err, BL_ESTORE, "cannot read where issue %lld was seen",
                                (long long)v[i].id);
        }
        seen += k;
        if (next[0] == '\0')
            break;
        q->cursor = pool_strdup(req->pool, next);
    }
    *out = all;
    *n = have;
    return rc;
}

static const char *const issues_params[] = { "status", "sort",        "limit",   "cursor", "query",
                                             "hourly", "environment", "release", NULL };

/*
 * "hourly": the last 24 hours' counts, oldest first, "hourly_since", and
 * "count_14d", the events of the last 14 days; -1 on a store error.
 */
static int write_hourly(struct bl_req *req, struct jw *w, int64_t issue_id)
{
    int64_t counts[ISSUE_HOURS_14D] = { 0 }, sum = 0;
    int64_t hour = clock_now_us() / CLOCK_US_PER_HOUR * CLOCK_US_PER_HOUR;
    int64_t since = hour - (ISSUE_HOURS_14D - 1) * CLOCK_US_PER_HOUR;

    if (store_issue_hourly(req->app->store, issue_id, since, ISSUE_HOURS_14D, counts, NULL) < 0)
        return -1;
    jw_arr(w, "hourly");
    for (size_t i = ISSUE_HOURS_14D - ISSUE_HOURS; i < ISSUE_HOURS_14D; i++)
        jw_int(w, NULL, counts[i]);
    jw_arr_end(w);
    jw_time(w, "hourly_since", hour - (ISSUE_HOURS - 1) * CLOCK_US_PER_HOUR);
    for (size_t i = 0; i < ISSUE_HOURS_14D; i++)
        sum += counts[i];
    jw_int(w, "count_14d", sum);
    return 0;
}

/* ?hourly=1 adds each issue's 24 h counts, so a list page needs no request per row. */
static int want_hourly(struct bl_req *req, struct bl_resp *resp, int *out)
{
    const char *v = req_query(req, "hourly");

    *out = v != NULL && strcmp(v, "1") == 0;
    if (v != NULL && !*out && strcmp(v, "0") != 0) {
        resp_error(resp, 400, "hourly must be 0 or 1");
        return -1;
    }
    return 0;
}

void api_issues_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_issue_query q;
    struct store_project p;
    struct store_issue *v = NULL;
    const struct query_node *query = NULL;
    char next[STORE_CURSOR_MAX] = "";
    struct bl_err err = { 0 };
    size_t n = 0;
    struct jw w;
    int rc, hourly, had_query;

    if (parse_issue_query(req, resp, &q) < 0 || req_query_only(req, resp, issues_params) < 0 ||
        want_hourly(req, resp, &hourly) < 0 ||
        api_query_parse(req, resp, req_query(req, "query"), QUERY_ISSUES, &query) < 0)
        return;
    had_query = query != NULL;
    if (api_seen_filters(req, resp, &query, &q) < 0)
        return;
    if (store_project_get(req->app->store, q.project_id, &p, NULL) < 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    /* With a query, is: in it says which statuses; ?status= still narrows. */
    if (had_query && req_query(req, "status") == NULL)
        q.status = STORE_ISSUE_ANY;
    if (query != NULL)
        rc = issues_filtered(req, &q, query, &v, &n, next, &err);
    else
        rc = store_issue_list(req->app->store, &q, req->pool, &v, &n, next, &err);
    if (rc < 0) {
        resp_error(resp, rc == BL_EINVAL ? 400 : 500, "%s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++) {
        jw_obj(&w, NULL);
        write_issue(&w, &v[i]);
        if (hourly && write_hourly(req, &w, v[i].id) < 0) {
            resp_error(resp, 500, "cannot read hourly counts");
            return;
        }
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    aj_send(resp, &w);
    aj_link_next(req, resp, next);
}

/* The issue of the path, if the principal may do action on its project. */
static int load_issue(struct bl_req *req, struct bl_resp *resp, int action, struct store_issue *is)
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
    return api_require(req, resp, action, is->project_id);
}

/* The issue page's counts chart: ?period=24h (hourly), 14d or 90d (daily). */
static const struct {
    const char *name;
    size_t buckets;
    size_t hours; /* per bucket */
} periods[] = { { "24h", 24, 1 }, { "14d", 14, 24 }, { "90d", 90, 24 } };

/* "counts", "counts_since" and "counts_interval" (seconds) of one period; -1 on a store error. */
static int write_period(struct bl_req *req, struct jw *w, int64_t issue_id, size_t p)
{
    size_t nh = periods[p].buckets * periods[p].hours;
    int64_t *hourly = pool_calloc(req->pool, nh, sizeof(*hourly));
    int64_t hour = clock_now_us() / CLOCK_US_PER_HOUR * CLOCK_US_PER_HOUR;
    int64_t since = hour - (int64_t)(nh - 1) * CLOCK_US_PER_HOUR;

    if (store_issue_hourly(req->app->store, issue_id, since, nh, hourly, NULL) < 0)
        return -1;
    jw_arr(w, "counts");
    for (size_t b = 0; b < periods[p].buckets; b++) {
        int64_t sum = 0;

        for (size_t k = 0; k < periods[p].hours; k++)
            sum += hourly[b * periods[p].hours + k];
        jw_int(w, NULL, sum);
    }
    jw_arr_end(w);
    jw_time(w, "counts_since", since);
    jw_int(w, "counts_interval", (int64_t)periods[p].hours * 3600);
    return 0;
}

void api_issue_get(struct bl_req *req, struct bl_resp *resp)
{
    static const char *const params[] = { "period", NULL };
    const char *period = req_query(req, "period");
    struct store_issue is;
    size_t p = 0;
    struct jw w;

    if (load_issue(req, resp, API_READ, &is) < 0 || req_query_only(req, resp, params) < 0)
        return;
    while (period != NULL && p < sizeof(periods) / sizeof(periods[0]) &&
           strcmp(period, periods[p].name) != 0)
        p++;
    if (p == sizeof(periods) / sizeof(periods[0])) {
        resp_error(resp, 400, "period must be 24h, 14d or 90d");
        return;
    }
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    write_issue(&w, &is);
    if (api_write_issue_seen(req, &w, is.id) < 0) {
        resp_error(resp, 500, "cannot read where the issue was seen");
        return;
    }
    if (write_hourly(req, &w, is.id) < 0 ||
        (period != NULL && write_period(req, &w, is.id, p) < 0)) {
        resp_error(resp, 500, "cannot read hourly counts");
        return;
    }
    jw_obj_end(&w);
    aj_send(resp, &w);
}

void api_issue_put(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { 64 * 1024, 8 };
    struct store_issue is;
    const char *status;
    cJSON *body;
    int st = -1;

    if (load_issue(req, resp, API_WRITE, &is) < 0)
        return;
    body = json_parse(req->body.p, req->body.len, &lim, NULL);
    status = body != NULL ? json_str(body, "status") : NULL;
    if (status == NULL || store_issue_status_parse(status, &st) < 0 || st == STORE_ISSUE_ANY) {
        cJSON_Delete(body);
        resp_error(resp, 400,
                   "body must be {\"status\": \"resolved\"|\"resolved_in_next_release\"|"
                   "\"unresolved\"|\"ignored\"}");
        return;
    }
    cJSON_Delete(body);
    if (st == STORE_ISSUE_RESOLVED_NEXT_RELEASE && is.last_release == NULL) {
        resp_error(resp, 400, "the issue has seen no release: resolve it instead");
        return;
    }
    if (store_issue_set_status(req->app->store, is.id, st, NULL) < 0) {
        resp_error(resp, 500, "cannot update the issue");
        return;
    }
    is.resolved_in_release = st == STORE_ISSUE_RESOLVED_NEXT_RELEASE ? is.last_release : NULL;
    is.status = st == STORE_ISSUE_RESOLVED_NEXT_RELEASE ? STORE_ISSUE_RESOLVED : st;
    send_issue(resp, &is);
}

static void issue_event_row(struct bl_req *req, struct jw *w, const struct store_event *e)
{
    (void)req;
    api_write_event_row(w, e);
}

void api_issue_events(struct bl_req *req, struct bl_resp *resp)
{
    struct store_event_query q;
    struct store_issue is;

    if (load_issue(req, resp, API_READ, &is) < 0)
        return;
    memset(&q, 0, sizeof(q));
    q.project_id = is.project_id;
    q.issue_id = is.id;
    q.kind = -1;
    q.cursor = req_query(req, "cursor");
    if (aj_limit(req, resp, 50, 1000, &q.limit) < 0)
        return;
    api_retention_clamp(req, q.project_id, clock_now_us(), &q.since, &q.until);
    api_send_event_page(req, resp, &q, issue_event_row);
}
