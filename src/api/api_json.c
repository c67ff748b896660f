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

/* Appends &name=value (percent-encoded) when the request had that query parameter. */
static void keep_param(struct bl_req *req, struct buf *b, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *v = req_query(req, name);

    if (v == NULL || buf_addf(b, "&%s=", name) < 0)
        return;
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == ':')
            buf_addch(b, c);
        else
            buf_addf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

void aj_link_next(struct bl_req *req, struct bl_resp *resp, const char *next_cursor)
{
    static const char *const keep[] = { "limit", "status", "sort", "since", "until" };
    struct buf b = BUF_INIT(4096);

    if (next_cursor == NULL || next_cursor[0] == '\0')
        return;
    buf_addf(&b, "<%s%s?cursor=%s", req->app->public_url, req->path, next_cursor);
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        keep_param(req, &b, keep[i]);
    buf_addf(&b, ">; rel=\"next\"; results=\"true\"; cursor=\"%s\"", next_cursor);
    resp_header(resp, "Link", pool_strndup(req->pool, b.p, b.len));
    buf_release(&b);
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
    char *out = pool_alloc(req->pool, 1024);

    config_dsn(req->app->public_url, key, (long long)project_id, out, 1024);
    return out;
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
