/*
 * api_auth.c - signing in and out with a password (the web UI's door):
 * POST /api/0/auth/login, POST /api/0/auth/logout, GET /api/0/auth/me,
 * POST /api/0/auth/password.
 *
 * Login costs one argon2id verification whether or not the email exists
 * (an unknown email is checked against app->dummy_hash), and every failure
 * answers the same words, so neither the time nor the answer tells an
 * attacker which emails have accounts. Failures are throttled per account
 * and per client address (auth/throttle.h); a throttled attempt is refused
 * before any hashing.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "auth/throttle.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

#define BAD_CREDENTIALS "wrong email or password"
#define PASSWORD_MIN 8

/* {"user": {...}, "csrf_token": ...}: the login answer and /auth/me alike. */
static void send_me(struct bl_resp *resp, const struct store_user *u, const char *csrf)
{
    struct jw w;

    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    jw_obj(&w, "user");
    jw_int(&w, "id", u->id);
    jw_str(&w, "email", u->email);
    jw_str(&w, "name", u->name);
    jw_tri(&w, "is_admin", u->is_admin);
    jw_time(&w, "last_login", u->last_login);
    jw_obj_end(&w);
    jw_str(&w, "csrf_token", csrf);
    jw_obj_end(&w);
    aj_send(resp, &w);
}

static void set_cookie(struct bl_req *req, struct bl_resp *resp, const char *id, int64_t max_age)
{
    char *v = pool_alloc(req->pool, 256);

    snprintf(v, 256, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s", SESSION_COOKIE, id,
             (long long)max_age, req->app->secure_cookie ? "; Secure" : "");
    resp_header(resp, "Set-Cookie", v);
}

/* 429 when the account or the address must wait; the wait grows with each failure. */
static int throttled(struct bl_req *req, struct bl_resp *resp, const char *acct_key,
                     const char *addr_key)
{
    struct app *app = req->app;
    int64_t a = throttle_wait(app->login_account, acct_key, req->received_at);
    int64_t b = throttle_wait(app->login_address, addr_key, req->received_at);
    int64_t wait = a > b ? a : b;
    char *secs;

    if (wait <= 0)
        return 0;
    secs = pool_alloc(req->pool, 24);
    snprintf(secs, 24, "%lld", (long long)((wait + 999999) / 1000000));
    resp_error(resp, 429, "too many failed sign-ins; try again in %s s", secs);
    resp_header(resp, "Retry-After", secs);
    return 1;
}

/* A new session for u: stored, cookie set, answered. */
static void start_session(struct bl_req *req, struct bl_resp *resp, struct store_user *u)
{
    struct store_session ss;
    struct store_user_change ch = { NULL, NULL, NULL, -1, -1, req->received_at };
    struct bl_err err = { 0 };
    char id[SESSION_ID_LEN + 1];

    memset(&ss, 0, sizeof(ss));
    session_new(id, ss.csrf);
    auth_token_digest(id, SESSION_ID_LEN, ss.id_hash);
    ss.user_id = u->id;
    ss.created_at = ss.last_seen = req->received_at;
    if (store_session_add(req->app->store, &ss, &err) < 0 ||
        store_user_update(req->app->store, u->id, &ch, &err) < 0) {
        resp_error(resp, 500, "cannot start a session: %s", bl_err_msg(&err));
        return;
    }
    u->last_login = req->received_at;
    set_cookie(req, resp, id, req->app->session_max / 1000000);
    send_me(resp, u, ss.csrf);
}

void api_auth_login(struct bl_req *req, struct bl_resp *resp)
{
    struct app *app = req->app;
    struct session_login in;
    struct store_user u;
    struct bl_err err = { 0 };
    char acct_key[300], addr_key[64];
    int found, ok;

    if (session_login_parse(req->body.p, req->body.len, &in, &err) < 0) {
        resp_error(resp, 400, "%s", bl_err_msg(&err));
        return;
    }
    snprintf(acct_key, sizeof(acct_key), "acct:%s", in.email);
    /* req->client: an IPv4 address, or an IPv6 /64 (one host holds a whole /64) */
    memcpy(addr_key, "addr:", 5);
    for (size_t i = 0; i < sizeof(req->client); i++)
        snprintf(addr_key + 5 + 2 * i, 3, "%02x", req->client[i]);
    if (throttled(req, resp, acct_key, addr_key))
        goto done;
    found = store_user_get(app->store, 0, in.email, &u, &err);
    if (found < 0 && found != BL_ENOTFOUND) {
        resp_error(resp, 500, "cannot sign in: %s", bl_err_msg(&err));
        goto done;
    }
    /* The same argon2 work for an unknown email as for a wrong password. */
    ok = auth_password_verify(found == 0 ? u.password_hash : app->dummy_hash, in.password) == 0;
    if (found != 0 || !ok || u.disabled) {
        throttle_fail(app->login_account, acct_key, req->received_at);
        throttle_fail(app->login_address, addr_key, req->received_at);
        resp_error(resp, 401, BAD_CREDENTIALS);
        goto done;
    }
    throttle_clear(app->login_account, acct_key);
    start_session(req, resp, &u);
done:
    session_login_wipe(&in);
}

/* The signed-in user of a request that passed api_token_early. */
static int current_user(struct bl_req *req, struct bl_resp *resp, struct store_user *u)
{
    struct bl_err err = { 0 };

    if (api_require(req, resp, API_ACCOUNT, 0) < 0)
        return -1;
    if (store_user_get(req->app->store, req->who.user_id, NULL, u, &err) < 0) {
        resp_error(resp, 500, "cannot read the user: %s", bl_err_msg(&err));
        return -1;
    }
    return 0;
}

void api_auth_me(struct bl_req *req, struct bl_resp *resp)
{
    struct store_principal sp;
    struct store_user u;
    const char *csrf = NULL;

    /* /auth/me is the caller's own identity: any principal may read it. */
    if (api_require(req, resp, API_READ, 0) < 0)
        return;
    if (store_user_get(req->app->store, req->who.user_id, NULL, &u, NULL) < 0) {
        resp_error(resp, 500, "cannot read the user");
        return;
    }
    if (req->who.kind == PRINCIPAL_SESSION &&
        store_session_get(req->app->store, req->who.session_hash, &sp, NULL) == 0)
        csrf = pool_strdup(req->pool, sp.session.csrf);
    send_me(resp, &u, csrf);
}

void api_auth_logout(struct bl_req *req, struct bl_resp *resp)
{
    struct bl_err err = { 0 };

    if (api_require(req, resp, API_READ, 0) < 0)
        return;
    if (req->who.kind != PRINCIPAL_SESSION) {
        resp_error(resp, 400,
                   "only a web session signs out; revoke a token with DELETE "
                   "/api/0/tokens/{id}/");
        return;
    }
    if (store_session_delete(req->app->store, req->who.session_hash, &err) < 0) {
        resp_error(resp, 500, "cannot end the session: %s", bl_err_msg(&err));
        return;
    }
    set_cookie(req, resp, "", 0);
    resp->status = 204;
}

/* The new password's hash, after the current one was checked. */
static int check_new_password(struct bl_req *req, struct bl_resp *resp, const struct store_user *u,
                              char hash[AUTH_HASH_MAX])
{
    struct json_limits lim = { 16 * 1024, 4 };
    struct bl_err err = { 0 };
    cJSON *doc = json_parse(req->body.p, req->body.len, &lim, &err);
    const char *cur = doc != NULL ? json_str(doc, "current_password") : NULL;
    const char *pw = doc != NULL ? json_str(doc, "new_password") : NULL;
    int rc = -1;

    if (cur == NULL || pw == NULL) {
        resp_error(resp, 400, "current_password and new_password are required strings");
    } else if (strlen(pw) < PASSWORD_MIN || strlen(pw) > SESSION_PASSWORD_MAX) {
        resp_error(resp, 400, "the new password must be %d..%d bytes", PASSWORD_MIN,
                   SESSION_PASSWORD_MAX);
    } else if (auth_password_verify(u->password_hash, cur) != 0) {
        resp_error(resp, 403, "the current password is wrong");
    } else if (auth_password_hash(pw, hash, &err) < 0) {
        resp_error(resp, 500, "%s", bl_err_msg(&err));
    } else {
        rc = 0;
    }
    cJSON_Delete(doc);
    return rc;
}

void api_auth_password(struct bl_req *req, struct bl_resp *resp)
{
    struct store_user u;
    struct store_user_change ch = { NULL, NULL, NULL, -1, -1, 0 };
    struct bl_err err = { 0 };
    char hash[AUTH_HASH_MAX];

    if (current_user(req, resp, &u) < 0 || check_new_password(req, resp, &u, hash) < 0)
        return;
    ch.password_hash = hash;
    /* The session that changed it stays; every other one of the user ends. */
    ch.keep_session = req->who.kind == PRINCIPAL_SESSION ? req->who.session_hash : NULL;
    if (store_user_update(req->app->store, u.id, &ch, &err) < 0) {
        resp_error(resp, 500, "cannot change the password: %s", bl_err_msg(&err));
        return;
    }
    resp->status = 204;
}
