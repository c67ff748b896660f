/*
 * api_users.c - the instance's users, for instance admins:
 *   GET  /api/0/users/       [{"id", "email", "name", "is_admin", "disabled", "created_at", "last_login"}]
 *   POST /api/0/users/       {"email", "password", "name"?, "is_admin"?} -> 201 the user
 *   PUT  /api/0/users/{id}/  any of {"name", "is_admin", "disabled", "password"} -> the user
 * Disabling a user ends their sessions; their tokens are refused from the next request.
 * Setting a password (an admin's reset) ends every session of that user too, so whoever
 * knew the old one is signed out; their API tokens stay.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "core/json.h"
#include "core/banned.h"

#define PASSWORD_MIN 8

static void write_user(struct jw *w, const struct store_user *u)
{
    jw_obj(w, NULL);
    jw_int(w, "id", u->id);
    jw_str(w, "email", u->email);
    jw_str(w, "name", u->name);
    jw_tri(w, "is_admin", u->is_admin);
    jw_tri(w, "disabled", u->disabled);
    jw_time(w, "created_at", u->created_at);
    jw_time(w, "last_login", u->last_login);
    jw_obj_end(w);
}

static void send_user(struct bl_req *req, struct bl_resp *resp, int64_t id, int status)
{
    struct store_user u;
    struct bl_err err = { 0 };
    struct jw w;

    if (store_user_get(req->app->store, id, NULL, &u, &err) < 0) {
        resp_error(resp, 500, "cannot read the user: %s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    write_user(&w, &u);
    aj_send(resp, &w);
    if (resp->status == 200)
        resp->status = status;
}

void api_users_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_user *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;
    struct jw w;

    if (api_require(req, resp, API_ADMIN, 0) < 0)
        return;
    if (store_user_list(req->app->store, req->pool, &v, &n, &err) < 0) {
        resp_error(resp, 500, "cannot list users: %s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++)
        write_user(&w, &v[i]);
    jw_arr_end(&w);
    aj_send(resp, &w);
}

/* The new user's fields, checked; NULL why when fine. */
static const char *check_new_user(const cJSON *doc, char email[STORE_EMAIL_MAX + 1],
                                  const char **pw, const char **name)
{
    const char *e = json_str(doc, "email");

    *pw = json_str(doc, "password");
    *name = json_str(doc, "name");
    if (e == NULL || strlen(e) > STORE_EMAIL_MAX)
        return "email is a required string";
    for (size_t i = 0; i <= strlen(e); i++)
        email[i] = (char)(e[i] >= 'A' && e[i] <= 'Z' ? e[i] - 'A' + 'a' : e[i]);
    if (session_email_check(email) < 0)
        return "email is not an email address";
    if (*pw == NULL || strlen(*pw) < PASSWORD_MIN || strlen(*pw) > SESSION_PASSWORD_MAX)
        return "password is a required string of 8..1024 bytes";
    if (*name != NULL && strlen(*name) > 127)
        return "name is at most 127 bytes";
    return NULL;
}

void api_user_create(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { 64 * 1024, 4 };
    struct bl_err err = { 0 };
    char email[STORE_EMAIL_MAX + 1], hash[AUTH_HASH_MAX];
    const char *pw = NULL, *name = NULL, *why;
    struct store_user_change ch = { NULL, NULL, NULL, -1, -1, 0 };
    int64_t id = 0;
    cJSON *doc;
    int rc;

    if (api_require(req, resp, API_ADMIN, 0) < 0)
        return;
    doc = json_parse(req->body.p, req->body.len, &lim, &err);
    why = doc == NULL || !cJSON_IsObject(doc) ? "the body must be a JSON object"
                                              : check_new_user(doc, email, &pw, &name);
    if (why != NULL) {
        resp_error(resp, 400, "%s", why);
        cJSON_Delete(doc);
        return;
    }
    ch.name = name;
    rc = auth_password_hash(pw, hash, &err);
    if (rc == 0)
        rc = store_user_add(req->app->store, email, hash,
                            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "is_admin")), &id,
                            &err);
    if (rc == 0 && name != NULL)
        rc = store_user_update(req->app->store, id, &ch, &err);
    cJSON_Delete(doc);
    if (rc < 0) {
        resp_error(resp, rc == BL_EEXIST ? 409 : 500, "%s", bl_err_msg(&err));
        return;
    }
    send_user(req, resp, id, 201);
}

/* A boolean member into *out (0/1), -1 when absent; BL_EINVAL when not a boolean. */
static int opt_bool(const cJSON *doc, const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

    *out = -1;
    if (v == NULL)
        return 0;
    if (!cJSON_IsBool(v))
        return BL_EINVAL;
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

void api_user_put(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { 64 * 1024, 4 };
    struct store_user_change ch = { NULL, NULL, NULL, -1, -1, 0 };
    struct bl_err err = { 0 };
    int64_t id = req_param_id(req, 0);
    char hash[AUTH_HASH_MAX];
    const char *pw;
    cJSON *doc;
    int rc;

    if (api_require(req, resp, API_ADMIN, 0) < 0)
        return;
    doc = json_parse(req->body.p, req->body.len, &lim, &err);
    ch.name = doc != NULL ? json_str(doc, "name") : NULL;
    if (doc == NULL || !cJSON_IsObject(doc) || opt_bool(doc, "is_admin", &ch.is_admin) < 0 ||
        opt_bool(doc, "disabled", &ch.disabled) < 0 || (ch.name != NULL && strlen(ch.name) > 127)) {
        resp_error(resp, 400,
                   "the body is {\"name\": string, \"is_admin\": bool, \"disabled\": bool, "
                   "\"password\": string}");
        cJSON_Delete(doc);
        return;
    }
    pw = json_str(doc, "password");
    if (cJSON_GetObjectItemCaseSensitive(doc, "password") != NULL &&
        (pw == NULL || strlen(pw) < PASSWORD_MIN || strlen(pw) > SESSION_PASSWORD_MAX)) {
        resp_error(resp, 400, "password is a string of 8..1024 bytes");
        cJSON_Delete(doc);
        return;
    }
    rc = id > 0 ? 0 : BL_ENOTFOUND;
    if (rc == 0 && pw != NULL) {
        rc = auth_password_hash(pw, hash, &err);
        ch.password_hash = hash;
    }
    if (rc == 0)
        rc = store_user_update(req->app->store, id, &ch, &err);
    cJSON_Delete(doc);
    if (rc < 0) {
        resp_error(resp, rc == BL_ENOTFOUND ? 404 : 500, "%s",
                   rc == BL_ENOTFOUND ? "no such user" : bl_err_msg(&err));
        return;
    }
    send_user(req, resp, id, 200);
}
