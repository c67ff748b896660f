#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

void aj_add_time(cJSON *obj, const char *key, int64_t us)
{
    char s[40];

    if (us == 0) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    clock_fmt_rfc3339(us, s);
    json_add_str(obj, key, s);
}

void aj_add_int(cJSON *obj, const char *key, int64_t v)
{
    cJSON_AddNumberToObject(obj, key, (double)v);
}

void aj_send(struct bl_resp *resp, cJSON *v)
{
    buf_reset(&resp->body);
    if (json_print_to(v, &resp->body) < 0) {
        resp_error(resp, 500, "response too large");
    } else {
        resp->status = 200;
        resp->content_type = "application/json";
    }
    cJSON_Delete(v);
}

void aj_link_next(struct bl_req *req, struct bl_resp *resp, const char *next_cursor)
{
    const char *limit = req_query(req, "limit");

    if (next_cursor == NULL || next_cursor[0] == '\0')
        return;
    resp_header(resp, "Link",
                pool_printf(req->pool, "<%s%s?cursor=%s%s%s>; rel=\"next\"; results=\"true\"; cursor=\"%s\"",
                            req->app->public_url, req->path, next_cursor, limit ? "&limit=" : "",
                            limit ? limit : "", next_cursor));
}

int aj_limit(struct bl_req *req, struct bl_resp *resp, size_t def, size_t max, size_t *out)
{
    const char *s = req_query(req, "limit");
    char *end;
    long v;

    *out = def;
    if (s == NULL)
        return 0;
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || (size_t)v > max) {
        resp_error(resp, 400, "limit must be an integer from 1 to %zu", max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

char *aj_dsn(struct bl_req *req, const char *key, int64_t project_id)
{
    const char *url = req->app->public_url;
    const char *sep = strstr(url, "://");

    if (sep == NULL)
        return pool_printf(req->pool, "http://%s@%s/%lld", key, url, (long long)project_id);
    return pool_printf(req->pool, "%.*s://%s@%s/%lld", (int)(sep - url), url, key, sep + 3,
                       (long long)project_id);
}

int aj_time_param(struct bl_req *req, struct bl_resp *resp, const char *name, int64_t *out)
{
    const char *s = req_query(req, name);

    *out = 0;
    if (s == NULL || *s == '\0')
        return 0;
    if (ingest_time_from_string(s, strlen(s), out) == 0)
        return 0;
    resp_error(resp, 400, "'%s' must be an RFC 3339 time or epoch seconds", name);
    return -1;
}
