/*
 * api_grouping.c - a project's own grouping rules (docs/api.md "Grouping
 * rules"): GET and PUT /api/0/projects/{id}/grouping/.
 *
 * The body holds two texts in Sentry's syntax (ingest/grouprules.h):
 * "fingerprint_rules" and "stack_rules". Both are parsed before anything
 * is stored, so a rule set that would not load in the digest is never
 * saved; the first error is a 400 naming the field, line and column. Each
 * accepted change bumps the project's rule-set version, which new issues
 * record; the digest picks the rules up within its cache TTL.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "core/json.h"
#include "ingest/grouprules.h"
#include "core/banned.h"

static void send_grouping(struct bl_resp *resp, int64_t pid, const struct store_grouping *g)
{
    struct jw w;

    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    jw_int(&w, "project", pid);
    jw_str(&w, "fingerprint_rules", g->fingerprint_rules);
    jw_str(&w, "stack_rules", g->stack_rules);
    jw_int(&w, "version", g->version);
    if (g->updated_at > 0)
        jw_time(&w, "updated_at", g->updated_at);
    else
        jw_null(&w, "updated_at");
    jw_obj_end(&w);
    aj_send(resp, &w);
}

/* The project of the path, readable by the caller for action; -1 after answering. */
static int grouping_project(struct bl_req *req, struct bl_resp *resp, int action, int64_t *pid)
{
    struct store_project p;

    *pid = req_param_id(req, 0);
    if (*pid <= 0 || store_project_get(req->app->store, *pid, &p, NULL) < 0) {
        resp_error(resp, 404, "no such project");
        return -1;
    }
    return api_require(req, resp, action, *pid);
}

void api_grouping_get(struct bl_req *req, struct bl_resp *resp)
{
    struct store_grouping g;
    int64_t pid;

    if (grouping_project(req, resp, API_READ, &pid) < 0)
        return;
    if (store_grouping_get(req->app->store, pid, req->pool, &g, NULL) < 0) {
        resp_error(resp, 500, "cannot read the grouping rules");
        return;
    }
    send_grouping(resp, pid, &g);
}

/* One rules field: "" when absent; -1 after answering 400 (wrong type or a bad rule). */
static int rules_field(struct bl_resp *resp, const cJSON *body, const char *key, int kind,
                       const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    struct grules r;
    struct grules_error e;
    int rc;

    *out = "";
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        resp_error(resp, 400, "%s must be a string", key);
        return -1;
    }
    rc = grules_parse(v->valuestring, strlen(v->valuestring), kind, &r, &e);
    grules_free(&r);
    if (rc != 0) {
        struct jw w;

        aj_begin(resp, &w);
        jw_obj(&w, NULL);
        jw_str(&w, "error", "invalid grouping rule");
        jw_str(&w, "field", key);
        jw_int(&w, "line", e.line);
        jw_int(&w, "column", e.column);
        jw_str(&w, "detail", e.msg);
        jw_obj_end(&w);
        aj_send(resp, &w);
        resp->status = 400;
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

void api_grouping_put(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { GRULES_MAX_TEXT * 2 + 1024, 4 };
    const char *fp = "", *stack = "";
    struct store_grouping g;
    int64_t pid;
    cJSON *body;
    int version = 0;

    if (grouping_project(req, resp, API_ADMIN, &pid) < 0)
        return;
    body = json_parse(req->body.p, req->body.len, &lim, NULL);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        resp_error(resp, 400,
                   "body must be {\"fingerprint_rules\": \"...\", "
                   "\"stack_rules\": \"...\"}");
        return;
    }
    if (rules_field(resp, body, "fingerprint_rules", GRULES_FINGERPRINT, &fp) < 0 ||
        rules_field(resp, body, "stack_rules", GRULES_STACK, &stack) < 0) {
        cJSON_Delete(body);
        return;
    }
    if (store_grouping_set(req->app->store, pid, fp, stack, &version, NULL) < 0 ||
        store_grouping_get(req->app->store, pid, req->pool, &g, NULL) < 0) {
        cJSON_Delete(body);
        resp_error(resp, 500, "cannot store the grouping rules");
        return;
    }
    cJSON_Delete(body);
    send_grouping(resp, pid, &g);
}
