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

struct query_scan {
    const char *const *allowed;
    const char *unknown;
    const char *name; /* req_query_all */
    const char **out;
    size_t n, max;
};

static int check_one(void *arg, const char *name, const char *value)
{
    struct query_scan *qs = arg;

    (void)value;
    for (size_t i = 0; qs->allowed[i] != NULL; i++)
        if (strcmp(qs->allowed[i], name) == 0)
            return 0;
    qs->unknown = name;
    return 1;
}

int req_query_only(struct bl_req *req, struct bl_resp *resp, const char *const *allowed)
{
    struct query_scan qs = { allowed, NULL, NULL, NULL, 0, 0 };
    char list[256] = "";

    if (req->query_each_fn == NULL)
        return 0;
    req->query_each_fn(req->conn, check_one, &qs);
    if (qs.unknown == NULL)
        return 0;
    for (size_t i = 0; allowed[i] != NULL; i++) {
        size_t len = strlen(list);

        snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", allowed[i]);
    }
    resp_error(resp, 400, "unknown query parameter '%.64s' (this endpoint takes: %s)", qs.unknown,
               list);
    return -1;
}

static int collect_one(void *arg, const char *name, const char *value)
{
    struct query_scan *qs = arg;

    if (strcmp(name, qs->name) == 0 && qs->n < qs->max)
        qs->out[qs->n++] = value != NULL ? value : "";
    return 0;
}

size_t req_query_all(struct bl_req *req, const char *name, const char **out, size_t max)
{
    struct query_scan qs = { NULL, NULL, name, out, 0, max };
    const char *one;

    if (req->query_each_fn == NULL) {
        one = req_query(req, name);
        if (one != NULL && max > 0)
            out[qs.n++] = one;
        return qs.n;
    }
    req->query_each_fn(req->conn, collect_one, &qs);
    return qs.n;
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
    if (resp->stream != NULL && resp->stream_free != NULL)
        resp->stream_free(resp->stream_ctx); /* never handed to a connection */
    resp->stream = NULL;
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
