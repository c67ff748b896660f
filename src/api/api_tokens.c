/*
 * api_tokens.c - the caller's API tokens:
 *   GET    /api/0/tokens/       the caller's tokens (never their secret)
 *   POST   /api/0/tokens/       {"name", "scopes": ["read"|"write"|"admin"], "projects": [ids]}
 *                               answers the token once, in "token"
 *   DELETE /api/0/tokens/{id}/  revoke (the caller's own; an instance admin's: anyone's)
 *
 * A token never has more than its creator: one made by a token gets at most
 * that token's scopes and projects (a project-limited token cannot mint an
 * unlimited one).
 */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "auth/auth.h"
#include "core/json.h"
#include "core/banned.h"

static const char *const scope_names[] = { "read", "write", "admin" };

static void write_token(struct jw *w, const struct store_token *t, const char *secret)
{
    jw_obj(w, NULL);
    jw_int(w, "id", t->id);
    jw_int(w, "user_id", t->user_id);
    jw_str(w, "name", t->name);
    jw_arr(w, "scopes");
    for (size_t i = 0; i < 3; i++)
        if (t->scopes & (1u << i))
            jw_str(w, NULL, scope_names[i]);
    jw_arr_end(w);
    jw_arr(w, "projects");
    for (size_t i = 0; i < t->nprojects; i++)
        jw_int(w, NULL, t->projects[i]);
    jw_arr_end(w);
    jw_time(w, "created_at", t->created_at);
    jw_time(w, "last_used", t->last_used);
    jw_str_opt(w, "token", secret);
    jw_obj_end(w);
}

void api_tokens_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_token *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;
    struct jw w;

    if (api_require(req, resp, API_ACCOUNT, 0) < 0)
        return;
    if (store_token_list(req->app->store, req->who.user_id, req->pool, &v, &n, &err) < 0) {
        resp_error(resp, 500, "cannot list tokens: %s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++)
        write_token(&w, &v[i], NULL);
    jw_arr_end(&w);
    aj_send(resp, &w);
}

/* "scopes": a non-empty array of scope names, within what the caller holds. */
static int parse_scopes(const struct principal *who, const cJSON *arr, unsigned *out,
                        const char **why)
{
    const cJSON *it;

    *out = 0;
    if (arr == NULL) {
        *out = who->scopes; /* default: what the caller has */
        return 0;
    }
    cJSON_ArrayForEach(it, arr)
    {
        size_t i;

        for (i = 0; i < 3 && !(cJSON_IsString(it) && strcmp(it->valuestring, scope_names[i]) == 0);
             i++)
            ;
        if (i == 3)
            return *why = "scopes must name read, write or admin", -1;
        *out |= 1u << i;
    }
    if (*out == 0)
        return *why = "scopes must not be empty", -1;
    if ((*out & ~who->scopes) != 0)
        return *why = "a token cannot have a scope its creator lacks", -1;
    return 0;
}

/* "projects": ids, within the creating token's projects when it has a list. */
static int parse_projects(const struct principal *who, const cJSON *arr, struct store_token *t,
                          const char **why)
{
    const cJSON *it;

    t->nprojects = 0;
    cJSON_ArrayForEach(it, arr)
    {
        size_t k;

        if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 1e15 ||
            t->nprojects == STORE_TOKEN_PROJECTS)
            return *why = "projects must be up to 16 project ids", -1;
        t->projects[t->nprojects] = (int64_t)it->valuedouble;
        for (k = 0; k < who->nprojects && who->projects[k] != t->projects[t->nprojects]; k++)
            ;
        if (who->nprojects > 0 && k == who->nprojects)
            return *why = "a token cannot name a project its creator's token does not", -1;
        t->nprojects++;
    }
    if (t->nprojects == 0 && who->nprojects > 0) {
        memcpy(t->projects, who->projects, sizeof(t->projects));
        t->nprojects = who->nprojects;
    }
    return 0;
}

void api_token_create(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { 64 * 1024, 4 };
    struct store_token t;
    struct bl_err err = { 0 };
    const char *name, *why = NULL;
    char secret[AUTH_TOKEN_MAX], digest[65];
    cJSON *doc;
    struct jw w;

    if (api_require(req, resp, API_ACCOUNT, 0) < 0)
        return;
    doc = json_parse(req->body.p, req->body.len, &lim, &err);
    memset(&t, 0, sizeof(t));
    t.user_id = req->who.user_id;
    name = doc != NULL ? json_str(doc, "name") : NULL;
    if (doc == NULL || !cJSON_IsObject(doc)) {
        why = "the body must be a JSON object";
    } else if (name != NULL && strlen(name) >= sizeof(t.name)) {
        why = "name must be at most 127 bytes";
    } else if (parse_scopes(&req->who, json_arr(doc, "scopes"), &t.scopes, &why) == 0) {
        (void)parse_projects(&req->who, json_arr(doc, "projects"), &t, &why);
    }
    if (why == NULL && name != NULL)
        memcpy(t.name, name, strlen(name) + 1);
    cJSON_Delete(doc);
    if (why != NULL) {
        resp_error(resp, 400, "%s", why);
        return;
    }
    auth_token_new(secret);
    auth_token_digest(secret, strlen(secret), digest);
    if (store_token_create(req->app->store, digest, &t, &err) < 0) {
        resp_error(resp, 500, "cannot create the token: %s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    write_token(&w, &t, secret);
    aj_send(resp, &w);
    if (resp->status == 200)
        resp->status = 201;
}

void api_token_delete(struct bl_req *req, struct bl_resp *resp)
{
    struct bl_err err = { 0 };
    int64_t id = req_param_id(req, 0);
    int rc;

    if (api_require(req, resp, API_ACCOUNT, 0) < 0)
        return;
    /* An instance admin's session or unlimited admin token may revoke anyone's. */
    rc = id <= 0
             ? BL_ENOTFOUND
             : store_token_revoke(req->app->store, id,
                                  api_access(req, API_ADMIN, 0) == 0 ? 0 : req->who.user_id, &err);
    if (rc < 0) {
        resp_error(resp, rc == BL_ENOTFOUND ? 404 : 500, "%s",
                   rc == BL_ENOTFOUND ? "no such token" : bl_err_msg(&err));
        return;
    }
    resp->status = 204;
}
