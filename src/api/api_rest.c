/*
 * REST API: the index of /api/0/ and the projects listing. Who is asking
 * and what they may do is api_access.c's.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "core/banned.h"

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
        jw_str(&w, "role",
               api_role_name(api_effective_role(req, v[i].id))); /* what the UI offers */
        jw_time(&w, "created_at", v[i].created_at);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    aj_send(resp, &w);
}
