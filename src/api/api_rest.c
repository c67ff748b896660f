/* REST API: authentication of /api/0/ and the projects endpoint. */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "auth/auth.h"
#include "core/json.h"
#include "core/banned.h"

void api_token_early(struct bl_req *req, struct bl_resp *resp)
{
    int64_t user_id = 0;

    if (auth_check_bearer(req->app->store, req_header(req, "Authorization"), &user_id) < 0) {
        resp_error(resp, 401, "a valid API token is required (Authorization: Bearer TOKEN)");
        resp_header(resp, "WWW-Authenticate", "Bearer realm=\"bilor\"");
    }
}

void api_projects_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;
    cJSON *arr;

    if (store_project_list(req->app->store, req->pool, &v, &n, &err) < 0) {
        resp_error(resp, 500, "cannot list projects: %s", bl_err_msg(&err));
        return;
    }
    arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();

        aj_add_int(o, "id", v[i].id);
        json_add_str(o, "name", v[i].name);
        json_add_str(o, "slug", v[i].slug);
        json_add_str(o, "dsn", aj_dsn(req, v[i].key, v[i].id));
        json_add_str(o, "issue_level", ev_level_name(v[i].issue_level));
        aj_add_time(o, "created_at", v[i].created_at);
        cJSON_AddItemToArray(arr, o);
    }
    aj_send(resp, arr);
}
