/*
 * api_access.c - who is asking (api_token_early) and what they may do
 * (api_access): the one place that decides access for every REST request.
 *
 * The rule (docs/api.md "Access"): a principal is a user's web session or
 * one of the user's API tokens. A session has the user's rights; a token
 * has the intersection of the user's rights, its scopes (read < write <
 * admin) and its project list. Instance admins have the admin role in
 * every project. A project where the principal has no role (or that its
 * token does not name) is invisible: 404, as if it did not exist.
 *
 * Nothing positive is cached: each request reads its token or session row
 * with the owner's disabled flag, so a revocation or a disabled account
 * holds on the very next request. Those rows' last-used times are written
 * at most once a minute, so reads stay reads.
 */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/banned.h"

#define TOUCH_EVERY (60 * INT64_C(1000000))
#define CSRF_MISSING 1 /* principal_from_cookie: a session without its CSRF token */

static void refuse_anonymous(struct bl_resp *resp)
{
    resp_error(resp, 401, "sign in, or send an API token (Authorization: Bearer TOKEN)");
    resp_header(resp, "WWW-Authenticate", "Bearer realm=\"bilor\"");
}

static int is_safe_method(int m)
{
    return m == BL_GET || m == BL_HEAD || m == BL_OPTIONS;
}

/* "Authorization: Bearer T": 0 with who filled, or BL_EAUTH. */
static int principal_from_token(struct bl_req *req, const char *header)
{
    struct principal *who = &req->who;
    struct store_principal sp;
    char digest[65];
    size_t len;

    if (strncasecmp(header, "Bearer ", 7) != 0)
        return BL_EAUTH;
    header += 7;
    while (*header == ' ')
        header++;
    len = strlen(header);
    while (len > 0 && header[len - 1] == ' ')
        len--;
    if (len == 0 || len > AUTH_TOKEN_MAX)
        return BL_EAUTH;
    auth_token_digest(header, len, digest);
    if (store_token_get(req->app->store, digest, &sp, NULL) < 0 || sp.disabled)
        return BL_EAUTH;
    who->kind = PRINCIPAL_TOKEN;
    memcpy(who->token_id, digest, sizeof(who->token_id) - 1);
    who->token_db_id = sp.token.id;
    who->user_id = sp.user_id;
    who->instance_admin = sp.is_admin;
    who->scopes = sp.token.scopes;
    who->nprojects = sp.token.nprojects;
    memcpy(who->projects, sp.token.projects, sizeof(who->projects));
    if (req->received_at - sp.token.last_used > TOUCH_EVERY)
        (void)store_token_touch(req->app->store, sp.token.id, req->received_at, NULL);
    return 0;
}

/* The session cookie: 0 with who filled, BL_EAUTH, or CSRF_MISSING. */
static int principal_from_cookie(struct bl_req *req, const char *cookie)
{
    struct principal *who = &req->who;
    struct app *app = req->app;
    struct store_principal sp;
    char id[SESSION_ID_LEN + 1], digest[65];
    int64_t now = req->received_at, touch;
    const char *csrf;

    if (session_cookie_get(cookie, id) < 0)
        return BL_EAUTH;
    auth_token_digest(id, SESSION_ID_LEN, digest);
    if (store_session_get(app->store, digest, &sp, NULL) < 0 || sp.disabled)
        return BL_EAUTH;
    if (now - sp.session.last_seen > app->session_idle ||
        now - sp.session.created_at > app->session_max) {
        (void)store_session_delete(app->store, digest, NULL);
        return BL_EAUTH;
    }
    csrf = req_header(req, "X-CSRF-Token");
    if (!is_safe_method(req->method) && (csrf == NULL || !session_str_eq(csrf, sp.session.csrf)))
        return CSRF_MISSING;
    who->kind = PRINCIPAL_SESSION;
    memcpy(who->session_hash, digest, sizeof(digest));
    who->user_id = sp.user_id;
    who->instance_admin = sp.is_admin;
    who->scopes = STORE_SCOPE_ALL;
    /* Idle expiry needs last_seen, but not to the microsecond: one write a minute at most. */
    touch = app->session_idle / 4 < TOUCH_EVERY ? app->session_idle / 4 : TOUCH_EVERY;
    if (now - sp.session.last_seen > touch)
        (void)store_session_touch(app->store, digest, now, NULL);
    return 0;
}

void api_token_early(struct bl_req *req, struct bl_resp *resp)
{
    const char *authz = req_header(req, "Authorization");
    const char *cookie = req_header(req, "Cookie");
    int rc = BL_EAUTH;

    memset(&req->who, 0, sizeof(req->who));
    /* A bearer token wins: API clients never depend on a browser's cookies. */
    if (authz != NULL)
        rc = principal_from_token(req, authz);
    else if (cookie != NULL)
        rc = principal_from_cookie(req, cookie);
    if (rc == 0)
        return;
    memset(&req->who, 0, sizeof(req->who));
    if (rc == CSRF_MISSING)
        resp_error(resp, 403,
                   "a signed-in request that changes something needs the session's "
                   "X-CSRF-Token header");
    else
        refuse_anonymous(resp);
}

int api_role(const struct bl_req *req, int64_t project_id)
{
    const struct principal *who = &req->who;
    int role = STORE_ROLE_NONE;
    struct bl_err err = { 0 };

    if (who->kind == PRINCIPAL_ANONYMOUS)
        return STORE_ROLE_NONE;
    if (who->nprojects > 0) {
        size_t i;

        for (i = 0; i < who->nprojects && who->projects[i] != project_id; i++)
            ;
        if (i == who->nprojects)
            return STORE_ROLE_NONE; /* the token does not name it */
    }
    if (who->instance_admin)
        return STORE_ROLE_ADMIN;
    if (store_member_role(req->app->store, project_id, who->user_id, &role, &err) < 0) {
        log_warn("access: %s", bl_err_msg(&err));
        return -1;
    }
    return role;
}

/* The token scope an action needs (a scope includes the ones below it). */
static unsigned scope_for(int action)
{
    switch (action) {
    case API_READ:
        return STORE_SCOPE_READ | STORE_SCOPE_WRITE | STORE_SCOPE_ADMIN;
    case API_WRITE:
        return STORE_SCOPE_WRITE | STORE_SCOPE_ADMIN;
    default:
        return STORE_SCOPE_ADMIN;
    }
}

/* Without a project: listings, the instance, the caller's own account. */
static int access_instance(const struct principal *who, int action)
{
    if ((who->scopes & scope_for(action)) == 0)
        return 403;
    if (action == API_READ || action == API_ACCOUNT)
        return 0;
    /* A token limited to projects never administers the instance. */
    return who->instance_admin && who->nprojects == 0 ? 0 : 403;
}

int api_access(const struct bl_req *req, int action, int64_t project_id)
{
    const struct principal *who = &req->who;
    static const int role_for[] = { STORE_ROLE_VIEWER, STORE_ROLE_MEMBER, STORE_ROLE_ADMIN,
                                    STORE_ROLE_ADMIN };
    int role;

    if (who->kind == PRINCIPAL_ANONYMOUS)
        return 401;
    if (action < API_READ || action > API_ACCOUNT)
        return 403;
    if (project_id <= 0)
        return access_instance(who, action);
    role = api_role(req, project_id);
    if (role < 0)
        return 500;
    if (role == STORE_ROLE_NONE)
        return 404;
    if ((who->scopes & scope_for(action)) == 0 || role < role_for[action])
        return 403;
    return 0;
}

int api_effective_role(const struct bl_req *req, int64_t project_id)
{
    unsigned scopes = req->who.scopes;
    int role = api_role(req, project_id);

    /* What api_access would allow: a token's scopes cap its user's role. */
    if (role > STORE_ROLE_MEMBER && (scopes & STORE_SCOPE_ADMIN) == 0)
        role = STORE_ROLE_MEMBER;
    if (role > STORE_ROLE_VIEWER && (scopes & (STORE_SCOPE_WRITE | STORE_SCOPE_ADMIN)) == 0)
        role = STORE_ROLE_VIEWER;
    return role;
}

int api_require(struct bl_req *req, struct bl_resp *resp, int action, int64_t project_id)
{
    int st = api_access(req, action, project_id);

    switch (st) {
    case 0:
        return 0;
    case 401:
        refuse_anonymous(resp);
        break;
    case 404:
        /* The words a missing resource of this route gets, so nothing tells the two apart. */
        resp_error(resp, 404, "no such %s",
                   strncmp(req->route != NULL ? req->route->pattern : "", "/api/0/issues/", 14) == 0
                       ? "issue"
                       : "project");
        break;
    case 500:
        resp_error(resp, 500, "cannot check access");
        break;
    default:
        resp_error(resp, 403, "you may not do that here");
        break;
    }
    return -1;
}
