/*
 * api_keys.c - DSN keys of a project and its ingest settings (issue 8).
 *
 *   GET    /api/0/projects/{id}/keys/        the keys, revoked ones included
 *   POST   /api/0/projects/{id}/keys/        a new key: {label, events_per_minute,
 *                                            events_per_hour, lines_per_minute}
 *   PUT    /api/0/projects/{id}/keys/{kid}/  change label, enabled, limits
 *   DELETE /api/0/projects/{id}/keys/{kid}/  revoke (kept, listed as disabled)
 *   GET/PUT /api/0/projects/{id}/settings/   project-wide quota and scrubbing keys
 *
 * Reading needs API_READ on the project, changing API_ADMIN. A key change
 * reaches the doors through the key cache's re-validation (at most 1 s).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "core/json.h"
#include "core/banned.h"

#define KEYS_BODY_MAX (16 * 1024)

/* The project in the path and the caller's right to act on it; -1 after answering. */
static int key_project(struct bl_req *req, struct bl_resp *resp, int action, int64_t *pid)
{
    struct store_project p;

    *pid = req_param_id(req, 0);
    if (*pid <= 0 || store_project_get(req->app->store, *pid, &p, NULL) < 0) {
        resp_error(resp, 404, "no such project");
        return -1;
    }
    return api_require(req, resp, action, *pid);
}

static void write_limits(struct jw *w, const struct store_limits *l)
{
    jw_int(w, "events_per_minute", l->events_per_minute);
    jw_int(w, "events_per_hour", l->events_per_hour);
    jw_int(w, "lines_per_minute", l->lines_per_minute);
}

static void write_key(struct bl_req *req, struct jw *w, const struct store_key *k)
{
    jw_obj(w, NULL);
    jw_int(w, "id", k->id);
    jw_int(w, "project_id", k->project_id);
    jw_str(w, "label", k->label);
    jw_str(w, "public_key", k->public_key);
    jw_str(w, "dsn", aj_dsn(req, k->public_key, k->project_id));
    jw_tri(w, "enabled", k->active != 0);
    write_limits(w, &k->limits);
    jw_time(w, "created_at", k->created_at);
    jw_obj_end(w);
}

static void send_key(struct bl_req *req, struct bl_resp *resp, int status,
                     const struct store_key *k)
{
    struct jw w;

    aj_begin(resp, &w);
    write_key(req, &w, k);
    aj_send(resp, &w);
    if (resp->status == 200)
        resp->status = status;
}

/* One optional non-negative integer member; -1 with msg when present and bad. */
static int limit_member(const cJSON *body, const char *name, int64_t *out, const char **msg)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);

    if (v == NULL)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e12 ||
        v->valuedouble != floor(v->valuedouble)) {
        *msg = "rate limits must be integers >= 0 (0: unlimited)";
        return -1;
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int read_limits(const cJSON *body, struct store_limits *l, const char **msg)
{
    if (limit_member(body, "events_per_minute", &l->events_per_minute, msg) < 0 ||
        limit_member(body, "events_per_hour", &l->events_per_hour, msg) < 0 ||
        limit_member(body, "lines_per_minute", &l->lines_per_minute, msg) < 0)
        return -1;
    return 0;
}

/* label, enabled and the limits present in body, over k; -1 with msg. */
static int read_key_body(const cJSON *body, struct store_key *k, const char **msg)
{
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(body, "label");
    const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(body, "enabled");

    if (label != NULL) {
        if (!cJSON_IsString(label) || strlen(label->valuestring) == 0 ||
            strlen(label->valuestring) >= sizeof(k->label)) {
            *msg = "label must be a string of 1..127 bytes";
            return -1;
        }
        snprintf(k->label, sizeof(k->label), "%s", label->valuestring);
    }
    if (enabled != NULL) {
        if (!cJSON_IsBool(enabled)) {
            *msg = "enabled must be true or false";
            return -1;
        }
        k->active = cJSON_IsTrue(enabled);
    }
    return read_limits(body, &k->limits, msg);
}

static cJSON *parse_body(struct bl_req *req, struct bl_resp *resp)
{
    struct json_limits lim = { KEYS_BODY_MAX, 4 };
    struct bl_err err = { 0 };
    cJSON *body = json_parse(req->body.p, req->body.len, &lim, &err);

    if (body == NULL || !cJSON_IsObject(body)) {
        cJSON_Delete(body);
        resp_error(resp, 400, "body must be a JSON object%s%s", err.msg[0] ? ": " : "", err.msg);
        return NULL;
    }
    return body;
}

void api_keys_list(struct bl_req *req, struct bl_resp *resp)
{
    struct store_key *v = NULL;
    size_t n = 0;
    int64_t pid;
    struct jw w;

    if (key_project(req, resp, API_READ, &pid) < 0)
        return;
    if (store_key_list(req->app->store, pid, req->pool, &v, &n, NULL) < 0) {
        resp_error(resp, 500, "cannot list keys");
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++)
        write_key(req, &w, &v[i]);
    jw_arr_end(&w);
    aj_send(resp, &w);
}

void api_keys_add(struct bl_req *req, struct bl_resp *resp)
{
    struct bl_err err = { 0 };
    const char *msg = NULL;
    struct store_key k;
    int64_t pid;
    cJSON *body;

    if (key_project(req, resp, API_ADMIN, &pid) < 0)
        return;
    memset(&k, 0, sizeof(k));
    k.project_id = pid;
    body = req->body.len > 0 ? parse_body(req, resp) : cJSON_CreateObject();
    if (body == NULL)
        return;
    if (read_key_body(body, &k, &msg) < 0) {
        cJSON_Delete(body);
        resp_error(resp, 400, "%s", msg);
        return;
    }
    cJSON_Delete(body);
    if (store_key_add(req->app->store, &k, &err) < 0) {
        resp_error(resp, 500, "cannot add the key: %s", bl_err_msg(&err));
        return;
    }
    send_key(req, resp, 201, &k);
}

/* The key in the path, of the project in the path; -1 after answering 404. */
static int path_key(struct bl_req *req, struct bl_resp *resp, int64_t pid, struct store_key *out)
{
    int64_t kid = req_param_id(req, 1);
    struct store_key *v = NULL;
    size_t n = 0;

    if (kid > 0 && store_key_list(req->app->store, pid, req->pool, &v, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (v[i].id == kid) {
                *out = v[i];
                return 0;
            }
        }
    }
    resp_error(resp, 404, "no such key");
    return -1;
}

static void key_write(struct bl_req *req, struct bl_resp *resp, const struct store_key *k)
{
    struct bl_err err = { 0 };
    int rc = store_key_update(req->app->store, k, &err);

    if (rc == BL_ENOTFOUND)
        resp_error(resp, 404, "no such key");
    else if (rc < 0)
        resp_error(resp, 500, "cannot update the key: %s", bl_err_msg(&err));
    else
        send_key(req, resp, 200, k);
}

void api_keys_put(struct bl_req *req, struct bl_resp *resp)
{
    const char *msg = NULL;
    struct store_key k;
    int64_t pid;
    cJSON *body;

    if (key_project(req, resp, API_ADMIN, &pid) < 0 || path_key(req, resp, pid, &k) < 0)
        return;
    body = parse_body(req, resp);
    if (body == NULL)
        return;
    if (read_key_body(body, &k, &msg) < 0) {
        cJSON_Delete(body);
        resp_error(resp, 400, "%s", msg);
        return;
    }
    cJSON_Delete(body);
    key_write(req, resp, &k);
}

void api_keys_delete(struct bl_req *req, struct bl_resp *resp)
{
    struct store_key k;
    int64_t pid;

    if (key_project(req, resp, API_ADMIN, &pid) < 0 || path_key(req, resp, pid, &k) < 0)
        return;
    k.active = 0;
    key_write(req, resp, &k);
}

static void send_settings(struct bl_resp *resp, int64_t pid, const struct store_project_settings *s)
{
    struct jw w;

    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    jw_int(&w, "project_id", pid);
    write_limits(&w, &s->limits);
    jw_str(&w, "scrub_fields", s->scrub_fields);
    jw_str(&w, "safe_fields", s->safe_fields);
    jw_obj_end(&w);
    aj_send(resp, &w);
}

void api_settings_get(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project_settings s;
    int64_t pid;

    if (key_project(req, resp, API_READ, &pid) < 0)
        return;
    if (store_settings_get(req->app->store, pid, &s, NULL) < 0) {
        resp_error(resp, 500, "cannot read the project settings");
        return;
    }
    send_settings(resp, pid, &s);
}

/* A comma-separated key list member; -1 with msg when present and bad. */
static int fields_member(const cJSON *body, const char *name, char *out, size_t outsz,
                         const char **msg)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);

    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= outsz) {
        *msg = "scrub_fields and safe_fields must be strings (comma-separated keys) "
               "under 1024 bytes";
        return -1;
    }
    snprintf(out, outsz, "%s", v->valuestring);
    return 0;
}

void api_settings_put(struct bl_req *req, struct bl_resp *resp)
{
    struct store_project_settings s;
    const char *msg = NULL;
    int64_t pid;
    cJSON *body;
    int rc;

    if (key_project(req, resp, API_ADMIN, &pid) < 0)
        return;
    if (store_settings_get(req->app->store, pid, &s, NULL) < 0) {
        resp_error(resp, 500, "cannot read the project settings");
        return;
    }
    body = parse_body(req, resp);
    if (body == NULL)
        return;
    rc = read_limits(body, &s.limits, &msg);
    if (rc == 0)
        rc = fields_member(body, "scrub_fields", s.scrub_fields, sizeof(s.scrub_fields), &msg);
    if (rc == 0)
        rc = fields_member(body, "safe_fields", s.safe_fields, sizeof(s.safe_fields), &msg);
    cJSON_Delete(body);
    if (rc < 0) {
        resp_error(resp, 400, "%s", msg);
        return;
    }
    if (store_settings_set(req->app->store, pid, &s, NULL) < 0) {
        resp_error(resp, 500, "cannot write the project settings");
        return;
    }
    send_settings(resp, pid, &s);
}
