/*
 * api_projects.c - a project's own resource and its members:
 *   POST /api/0/projects/                     create (instance admin)
 *   GET  /api/0/projects/{id}/                show (viewer)
 *   PUT  /api/0/projects/{id}/                settings (project admin), fields below
 *   GET  /api/0/projects/{id}/members/        list (viewer)
 *   POST /api/0/projects/{id}/members/        {"email", "role"} add or change (project admin)
 *   PUT  /api/0/projects/{id}/members/{uid}/  {"role"} (project admin)
 *   DELETE /api/0/projects/{id}/members/{uid}/ (project admin)
 *
 * PUT's settings are a table (put_fields): one row per JSON member with the
 * function that checks and applies it. A new setting is one row and one
 * function; a body naming an unknown member is refused (400) before
 * anything changes, and every row checks before any row applies.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_search.h"
#include "core/json.h"
#include "core/banned.h"

#define BODY_LIMITS ((struct json_limits){ 64 * 1024, 8 })

static const char *const role_names[] = { "none", "viewer", "member", "admin" };

const char *api_role_name(int role)
{
    return role_names[role >= 0 && role <= STORE_ROLE_ADMIN ? role : 0];
}

static int role_parse(const char *s)
{
    for (int i = STORE_ROLE_VIEWER; s != NULL && i <= STORE_ROLE_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

/* The project's retention in days (api_retention.c), 0 when it cannot be read. */
static int retention_of(struct bl_req *req, int64_t pid)
{
    struct bl_err err = { 0 };
    int days = 0;

    if (store_retention_get(req->app->store, pid, &days, &err) < 0)
        return 0;
    return days;
}

static void write_project(struct bl_req *req, struct jw *w, const struct store_project *p)
{
    int role = api_role(req, p->id);

    jw_obj(w, NULL);
    jw_int(w, "id", p->id);
    jw_str(w, "name", p->name);
    jw_str(w, "slug", p->slug);
    jw_str(w, "dsn", aj_dsn(req, p->key, p->id));
    jw_str(w, "issue_level", ev_level_name(p->issue_level));
    jw_str(w, "role", role_names[role >= 0 && role <= STORE_ROLE_ADMIN ? role : 0]);
    jw_int(w, "retention_days", retention_of(req, p->id));
    jw_time(w, "created_at", p->created_at);
    jw_obj_end(w);
}

/* The project the path names, when the caller may do action on it; -1 after answering. */
static int project_of_path(struct bl_req *req, struct bl_resp *resp, int action,
                           struct store_project *p)
{
    struct bl_err err = { 0 };
    int64_t pid = req_param_id(req, 0);
    int rc;

    if (pid <= 0) {
        resp_error(resp, 404, "no such project");
        return -1;
    }
    if (api_require(req, resp, action, pid) < 0)
        return -1;
    rc = store_project_get(req->app->store, pid, p, &err);
    if (rc < 0) {
        resp_error(resp, rc == BL_ENOTFOUND ? 404 : 500, "%s",
                   rc == BL_ENOTFOUND ? "no such project" : bl_err_msg(&err));
        return -1;
    }
    return 0;
}

static void send_project(struct bl_req *req, struct bl_resp *resp, const struct store_project *p,
                         int status)
{
    struct jw w;

    aj_begin(resp, &w);
    write_project(req, &w, p);
    aj_send(resp, &w);
    if (resp->status == 200)
        resp->status = status;
}

/* A JSON object body, or NULL after answering 400. */
static cJSON *body_object(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = BODY_LIMITS;
    struct bl_err err = { 0 };
    cJSON *doc = json_parse(req->body.p, req->body.len, &lim, &err);

    if (doc == NULL || !cJSON_IsObject(doc)) {
        resp_error(resp, 400, "the body must be a JSON object");
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

void api_project_create(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project p;
    struct bl_err err = { 0 };
    const char *name;
    cJSON *doc;
    int rc;

    if (api_require(req, resp, API_ADMIN, 0) < 0 || (doc = body_object(req, resp)) == NULL)
        return;
    name = json_str(doc, "name");
    if (name == NULL) {
        resp_error(resp, 400, "name is a required string");
        cJSON_Delete(doc);
        return;
    }
    rc = store_project_add(req->app->store, name, &p, &err);
    cJSON_Delete(doc);
    if (rc < 0) {
        resp_error(resp, rc == BL_EINVAL ? 400 : 500, "%s", bl_err_msg(&err));
        return;
    }
    send_project(req, resp, &p, 201);
}

void api_project_get(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project p;

    if (project_of_path(req, resp, API_READ, &p) == 0)
        send_project(req, resp, &p, 200);
}

/*
 * PUT's settings, one row each. check() reads the member's value into the
 * change (or answers 400 and returns -1); once every member of the body
 * passed, apply() writes the rows that were present, in table order. A new
 * setting adds its value to struct put_change, a check and an apply.
 */
struct put_change {
    const char *name;
    int issue_level;
    int retention_days;
};

static int check_retention(struct bl_req *req, struct bl_resp *resp, const cJSON *v,
                           struct put_change *c)
{
    (void)req;
    return api_retention_check(resp, v, &c->retention_days);
}

static int apply_retention(struct bl_req *req, int64_t pid, const struct put_change *c,
                           struct bl_err *err)
{
    return api_retention_store(req, pid, c->retention_days, err);
}

struct put_field {
    const char *member;
    int (*check)(struct bl_req *req, struct bl_resp *resp, const cJSON *v, struct put_change *c);
    int (*apply)(struct bl_req *req, int64_t pid, const struct put_change *c, struct bl_err *err);
};

static int check_name(struct bl_req *req, struct bl_resp *resp, const cJSON *v,
                      struct put_change *c)
{
    (void)req;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > 127) {
        resp_error(resp, 400, "name must be a string of 1..127 bytes");
        return -1;
    }
    c->name = v->valuestring;
    return 0;
}

static int check_issue_level(struct bl_req *req, struct bl_resp *resp, const cJSON *v,
                             struct put_change *c)
{
    (void)req;
    if (!cJSON_IsString(v) ||
        ev_level_parse(v->valuestring, strlen(v->valuestring), &c->issue_level) < 0) {
        resp_error(resp, 400,
                   "issue_level must be a level name (debug, info, warning, error, "
                   "fatal)");
        return -1;
    }
    return 0;
}

static int apply_name(struct bl_req *req, int64_t pid, const struct put_change *c,
                      struct bl_err *err)
{
    return store_project_update(req->app->store, pid, c->name, -1, err);
}

static int apply_issue_level(struct bl_req *req, int64_t pid, const struct put_change *c,
                             struct bl_err *err)
{
    return store_project_update(req->app->store, pid, NULL, c->issue_level, err);
}

static const struct put_field put_fields[] = {
    { "name", check_name, apply_name },                      /* display name; the slug stays */
    { "issue_level", check_issue_level, apply_issue_level }, /* at or above: an issue */
    { "retention_days", check_retention, apply_retention },  /* api_retention.c */
};

#define NFIELDS (sizeof(put_fields) / sizeof(put_fields[0]))

/* Every member checked against the table before anything changes; present[i] per row. */
static int put_check(struct bl_req *req, struct bl_resp *resp, const cJSON *doc,
                     struct put_change *c, int *present)
{
    for (const cJSON *m = doc->child; m != NULL; m = m->next) {
        size_t i;

        for (i = 0; i < NFIELDS && strcmp(m->string, put_fields[i].member) != 0; i++)
            ;
        if (i == NFIELDS) {
            resp_error(resp, 400, "unknown project setting '%.64s'", m->string);
            return -1;
        }
        if (put_fields[i].check(req, resp, m, c) < 0)
            return -1;
        present[i] = 1;
    }
    return 0;
}

void api_project_put(struct bl_req *req, struct bl_resp *resp)
{
    struct put_change c = { NULL, -1, 0 };
    struct store_project p;
    struct bl_err err = { 0 };
    int present[NFIELDS] = { 0 };
    cJSON *doc;
    int rc;

    if (project_of_path(req, resp, API_ADMIN, &p) < 0 || (doc = body_object(req, resp)) == NULL)
        return;
    rc = put_check(req, resp, doc, &c, present);
    for (size_t i = 0; rc == 0 && i < NFIELDS; i++)
        if (present[i])
            rc = put_fields[i].apply(req, p.id, &c, &err);
    if (rc == 0)
        rc = store_project_get(req->app->store, p.id, &p, &err);
    cJSON_Delete(doc);
    if (rc == 0)
        send_project(req, resp, &p, 200);
    else if (resp->status == 0)
        resp_error(resp, rc == BL_EINVAL ? 400 : 500, "%s", bl_err_msg(&err));
}

static void write_member(struct jw *w, const struct store_member *m)
{
    jw_obj(w, NULL);
    jw_int(w, "user_id", m->user_id);
    jw_str(w, "email", m->email);
    jw_str(w, "name", m->name);
    jw_str(w, "role", role_names[m->role >= 0 && m->role <= STORE_ROLE_ADMIN ? m->role : 0]);
    jw_time(w, "created_at", m->created_at);
    jw_obj_end(w);
}

void api_members_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project p;
    struct store_member *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;
    struct jw w;

    if (project_of_path(req, resp, API_READ, &p) < 0)
        return;
    if (store_member_list(req->app->store, p.id, req->pool, &v, &n, &err) < 0) {
        resp_error(resp, 500, "cannot list members: %s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++)
        write_member(&w, &v[i]);
    jw_arr_end(&w);
    aj_send(resp, &w);
}

/* Sets user's role in p and answers the member as it now is. */
static void set_member(struct bl_req *req, struct bl_resp *resp, int64_t pid,
                       const struct store_user *u, int role)
{
    struct store_member m = { u->id, u->email, u->name, role, 0 };
    struct bl_err err = { 0 };
    struct jw w;

    if (store_member_set(req->app->store, pid, u->id, role, &err) < 0) {
        resp_error(resp, 500, "cannot set the role: %s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    write_member(&w, &m);
    aj_send(resp, &w);
}

void api_member_add(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project p;
    struct store_user u;
    const char *email;
    cJSON *doc;
    int role;

    if (project_of_path(req, resp, API_ADMIN, &p) < 0 || (doc = body_object(req, resp)) == NULL)
        return;
    email = json_str(doc, "email");
    role = role_parse(json_str(doc, "role"));
    if (email == NULL || role < 0)
        resp_error(resp, 400, "email (a string) and role (viewer, member or admin) are required");
    else if (store_user_get(req->app->store, 0, email, &u, NULL) < 0)
        resp_error(resp, 400, "no user has that email (bilor user add EMAIL creates one)");
    else
        set_member(req, resp, p.id, &u, role);
    cJSON_Delete(doc);
}

/* The member the path names ({uid} after the project); -1 after answering 404. */
static int member_of_path(struct bl_req *req, struct bl_resp *resp, int64_t pid,
                          struct store_user *u)
{
    int64_t uid = req_param_id(req, 1);
    int role = STORE_ROLE_NONE;

    if (uid <= 0 || store_member_role(req->app->store, pid, uid, &role, NULL) < 0 ||
        role == STORE_ROLE_NONE || store_user_get(req->app->store, uid, NULL, u, NULL) < 0) {
        resp_error(resp, 404, "no such member");
        return -1;
    }
    return 0;
}

void api_member_put(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project p;
    struct store_user u;
    cJSON *doc;
    int role;

    if (project_of_path(req, resp, API_ADMIN, &p) < 0 || member_of_path(req, resp, p.id, &u) < 0 ||
        (doc = body_object(req, resp)) == NULL)
        return;
    role = role_parse(json_str(doc, "role"));
    if (role < 0)
        resp_error(resp, 400, "role must be viewer, member or admin");
    else
        set_member(req, resp, p.id, &u, role);
    cJSON_Delete(doc);
}

void api_member_delete(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project p;
    struct store_user u;
    struct bl_err err = { 0 };

    if (project_of_path(req, resp, API_ADMIN, &p) < 0 || member_of_path(req, resp, p.id, &u) < 0)
        return;
    if (store_member_set(req->app->store, p.id, u.id, STORE_ROLE_NONE, &err) < 0) {
        resp_error(resp, 500, "cannot remove the member: %s", bl_err_msg(&err));
        return;
    }
    resp->status = 204;
}
