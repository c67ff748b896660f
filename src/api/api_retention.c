/*
 * api_retention.c - a project's retention and what its events take.
 *
 *   PUT /api/0/projects/{id}/  {"retention_days": N}  (other project
 *       settings join this body; this file reads only retention_days)
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

/* {"retention_days": N}: 0 and set, 1 when absent, -1 after answering 400. */
int api_project_put_retention(struct bl_req *req, struct bl_resp *resp, int64_t pid,
                              const cJSON *body)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "retention_days");
    struct bl_err err = { 0 };
    int rc;

    if (v == NULL)
        return 1;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble || v->valuedouble < 1 ||
        v->valuedouble > STORE_RETENTION_DAYS_MAX) {
        resp_error(resp, 400, "retention_days must be a whole number of days, 1..%d",
                   STORE_RETENTION_DAYS_MAX);
        return -1;
    }
    rc = store_retention_set(req->app->store, pid, (int)v->valuedouble, &err);
    if (rc < 0) {
        resp_error(resp, rc == BL_ENOTFOUND ? 404 : 500, "%s", bl_err_msg(&err));
        return -1;
    }
    return 0;
}

static const char *const put_fields[] = { "retention_days", NULL };

void api_project_put(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { 64 * 1024, 8 };
    int64_t pid = req_param_id(req, 0);
    const cJSON *it;
    cJSON *body;
    int rc;

    if (pid <= 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    if (api_require(req, resp, API_ADMIN, pid) < 0)
        return;
    body = json_parse(req->body.p, req->body.len, &lim, NULL);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        resp_error(resp, 400, "body must be a JSON object such as {\"retention_days\": 30}");
        return;
    }
    cJSON_ArrayForEach(it, body)
    {
        size_t k = 0;

        while (put_fields[k] != NULL && strcmp(put_fields[k], it->string) != 0)
            k++;
        if (put_fields[k] == NULL) {
            resp_error(resp, 400, "unknown project setting '%.64s'", it->string);
            cJSON_Delete(body);
            return;
        }
    }
    rc = api_project_put_retention(req, resp, pid, body);
    cJSON_Delete(body);
    if (rc < 0)
        return;
    api_project_storage(req, resp);
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
