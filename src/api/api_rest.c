/*
 * REST API: who is asking (the token check, api_access), the index of
 * /api/0/ and the projects endpoint.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "auth/auth.h"
#include "core/banned.h"

static void refuse_anonymous(struct bl_resp *resp)
{
    resp_error(resp, 401, "a valid API token is required (Authorization: Bearer TOKEN)");
    resp_header(resp, "WWW-Authenticate", "Bearer realm=\"bilor\"");
}

void api_token_early(struct bl_req *req, struct bl_resp *resp)
{
    struct principal *who = &req->who;
    char digest[65];

    memset(who, 0, sizeof(*who));
    if (auth_check_bearer(req->app->store, req_header(req, "Authorization"), &who->user_id,
                          digest) < 0) {
        who->user_id = 0;
        refuse_anonymous(resp);
        return;
    }
    who->kind = PRINCIPAL_TOKEN;
    memcpy(who->token_id, digest, sizeof(who->token_id) - 1);
    who->token_id[sizeof(who->token_id) - 1] = '\0';
    /* Every token today belongs to the admin user made at first start (or by the CLI). */
    who->instance_admin = 1;
}

int api_access(const struct bl_req *req, int action, int64_t project_id)
{
    const struct principal *who = &req->who;

    (void)action;
    (void)project_id;
    if (who->kind == PRINCIPAL_ANONYMOUS)
        return 401;
    /*
     * Today's rule: a valid token may do everything. Users, roles and scoped
     * tokens add their rules here (403 when the principal may not).
     */
    return 0;
}

int api_require(struct bl_req *req, struct bl_resp *resp, int action, int64_t project_id)
{
    int st = api_access(req, action, project_id);

    if (st == 0)
        return 0;
    if (st == 401) {
        refuse_anonymous(resp);
    } else {
        resp_error(resp, st, "this token may not do that");
    }
    return -1;
}

/* GET /api/0/: what this API is and where its resources are (the URL bilor prints). */
void api_index(struct bl_req *req, struct bl_resp *resp)
{
    static const struct {
        const char *name, *path;
    } links[] = {
        { "projects", "/api/0/projects/" },
        { "issues", "/api/0/projects/{project_id}/issues/" },
        { "events", "/api/0/projects/{project_id}/events/{event_id}/" },
        { "logs", "/api/0/projects/{project_id}/logs/" },
        { "issue", "/api/0/issues/{issue_id}/" },
        { "issue_events", "/api/0/issues/{issue_id}/events/" },
    };
    struct buf url = BUF_INIT(1024);
    struct jw w;

    if (api_require(req, resp, API_READ, 0) < 0)
        return;
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    jw_str(&w, "name", "bilor");
    jw_str(&w, "version", BILOR_VERSION);
    jw_str(&w, "api", "0");
    jw_obj(&w, "links");
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        buf_reset(&url);
        buf_addstr(&url, req->app->public_url);
        buf_addstr(&url, links[i].path);
        jw_str(&w, links[i].name, url.p);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    buf_release(&url);
    aj_send(resp, &w);
}

void api_projects_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;
    struct jw w;

    if (api_require(req, resp, API_READ, 0) < 0)
        return;
    if (store_project_list(req->app->store, req->pool, &v, &n, &err) < 0) {
        resp_error(resp, 500, "cannot list projects: %s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++) {
        if (api_access(req, API_READ, v[i].id) != 0)
            continue; /* a scoped principal sees only its projects */
        jw_obj(&w, NULL);
        jw_int(&w, "id", v[i].id);
        jw_str(&w, "name", v[i].name);
        jw_str(&w, "slug", v[i].slug);
        jw_str(&w, "dsn", aj_dsn(req, v[i].key, v[i].id));
        jw_str(&w, "issue_level", ev_level_name(v[i].issue_level));
        jw_time(&w, "created_at", v[i].created_at);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    aj_send(resp, &w);
}
