/*
 * api_retention.c - a project's retention and what its events take.
 *
 *   PUT /api/0/projects/{id}/  {"retention_days": N}: the check and the
 *       store of that one row of api_projects.c's put_fields
 *   GET /api/0/projects/{id}/storage/  retention, bytes and rows per day
 *
 * Retention itself runs in the digest (store.h retention_run); what is
 * past it is cut off by the API at once (api_retention_clamp).
 */
#include <string.h>

#include "api/api_json.h"
#include "api/api_search.h"
#include "core/json.h"
#include "core/banned.h"

/*
 * The retention_days row of PUT /api/0/projects/{id}/ (api_projects.c's
 * put_fields): check reads N (1..STORE_RETENTION_DAYS_MAX) or answers 400;
 * store writes it once every member of the body passed its check.
 */
int api_retention_check(struct bl_resp *resp, const cJSON *v, int *days)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble || v->valuedouble < 1 ||
        v->valuedouble > STORE_RETENTION_DAYS_MAX) {
        resp_error(resp, 400, "retention_days must be a whole number of days, 1..%d",
                   STORE_RETENTION_DAYS_MAX);
        return -1;
    }
    *days = (int)v->valuedouble;
    return 0;
}

int api_retention_store(struct bl_req *req, int64_t pid, int days, struct bl_err *err)
{
    return store_retention_set(req->app->store, pid, days, err);
}

void api_project_storage(struct bl_req *req, struct bl_resp *resp)
{
    int64_t pid = req_param_id(req, 0);
    struct store_usage *u = NULL;
    struct bl_err err = { 0 };
    int64_t bytes = 0, rows = 0;
    size_t n = 0;
    int days = 0;
    struct jw w;

    if (pid <= 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    if (api_require(req, resp, API_READ, pid) < 0)
        return;
    if (store_retention_get(req->app->store, pid, &days, &err) < 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    if (store_usage(req->app->store, pid, req->pool, &u, &n, &err) < 0) {
        resp_error(resp, 500, "%s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    jw_int(&w, "project_id", pid);
    jw_int(&w, "retention_days", days);
    jw_arr(&w, "partitions");
    for (size_t i = 0; i < n; i++) {
        jw_obj(&w, NULL);
        jw_time(&w, "day", u[i].day_start);
        jw_int(&w, "rows", u[i].rows);
        jw_int(&w, "bytes", u[i].bytes);
        jw_int(&w, "file_bytes", u[i].file_bytes);
        jw_obj_end(&w);
        bytes += u[i].bytes;
        rows += u[i].rows;
    }
    jw_arr_end(&w);
    jw_int(&w, "rows", rows);
    jw_int(&w, "bytes", bytes);
    jw_obj_end(&w);
    aj_send(resp, &w);
}
