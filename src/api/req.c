/* Request and response helpers shared by every handler. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/banned.h"

#define RESP_MAX_BODY (64u << 20)

const char *req_header(struct bl_req *req, const char *name)
{
    return req->header_fn != NULL ? req->header_fn(req->conn, name) : NULL;
}

const char *req_query(struct bl_req *req, const char *name)
{
    return req->query_fn != NULL ? req->query_fn(req->conn, name) : NULL;
}

int64_t req_param_id(const struct bl_req *req, size_t i)
{
    int64_t v = 0;
    struct slice s;

    if (i >= req->nparams)
        return -1;
    s = req->params[i];
    if (s.len == 0 || s.len > 18)
        return -1;
    for (size_t k = 0; k < s.len; k++) {
        if (s.p[k] < '0' || s.p[k] > '9')
            return -1;
        v = v * 10 + (s.p[k] - '0');
    }
    return v > 0 ? v : -1;
}

void resp_init(struct bl_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, RESP_MAX_BODY);
}

void resp_release(struct bl_resp *resp)
{
    buf_release(&resp->body);
}

void resp_header(struct bl_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders < RESP_MAX_HEADERS) {
        resp->headers[resp->nheaders].name = name;
        resp->headers[resp->nheaders].value = value;
        resp->nheaders++;
    }
}

void resp_json(struct bl_resp *resp, int status, const char *json, size_t len)
{
    resp->status = status;
    resp->content_type = "application/json";
    buf_reset(&resp->body);
    if (buf_add(&resp->body, json, len) < 0)
        resp_error(resp, 500, "response too large");
}

void resp_error(struct bl_resp *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = "application/json";
    buf_reset(&resp->body);
    /* A short message always fits the 64 MiB cap. */
    if (buf_addstr(&resp->body, "{\"error\":") < 0 ||
        buf_add_json_str(&resp->body, msg, strlen(msg)) < 0 || buf_addch(&resp->body, '}') < 0)
        abort();
}
