/*
 * api_logdoor.c - shared parts of the HTTP log doors (api_logdoor.h).
 */
#include <string.h>
#include <strings.h>

#include "api/api_logdoor.h"
#include "door/keycache.h"
#include "ingest/decode.h"
#include "core/banned.h"

int logdoor_status(int outcome)
{
    switch (outcome) {
    case DOOR_UNAUTHORIZED:
        return 401;
    case DOOR_FORBIDDEN:
        return 403;
    case DOOR_TOO_LARGE:
        return 413;
    case DOOR_BAD_INPUT:
        return 400;
    case DOOR_BUSY:
    case DOOR_RATE_LIMITED:
        return 429;
    default:
        return 503;
    }
}

int logdoor_retryable(int outcome)
{
    int st = logdoor_status(outcome);

    return st == 429 || st == 503;
}

void logdoor_retry_after(struct bl_req *req, struct bl_resp *resp, const struct door_req *dr)
{
    resp_header(resp, "Retry-After",
                pool_printf(req->pool, "%d", dr->retry_after_s > 0 ? dr->retry_after_s : 1));
}

void logdoor_refuse(struct bl_req *req, struct bl_resp *resp, const struct door_req *dr,
                    int outcome)
{
    resp_error(resp, logdoor_status(outcome), "%s", dr->err.msg);
    if (logdoor_retryable(outcome))
        logdoor_retry_after(req, resp, dr);
}

struct logdoor_ctx *logdoor_ctx(struct bl_req *req)
{
    if (req->handler_data == NULL)
        req->handler_data = pool_calloc(req->pool, 1, sizeof(struct logdoor_ctx));
    return req->handler_data;
}

static int copy_key(const char *p, size_t n, char key[65], struct bl_err *err)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 64)
        return bl_err_set(err, BL_EINVAL, "malformed project key");
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
            return bl_err_set(err, BL_EINVAL, "malformed project key");
    }
    memcpy(key, p, n);
    key[n] = '\0';
    return 0;
}

/* A key as Bilor makes them (32 lowercase hex digits, sq_key_add). */
static int is_bilor_key(const char *tok)
{
    size_t n = strspn(tok, "0123456789abcdef");

    return n == 32 && tok[n] == '\0';
}

/*
 * base64("x:KEY") -> KEY; with plain_ok, a token that is no such pair is the
 * key itself. A plain key is tried first: 32 hex digits are valid base64 too,
 * and about one key in eight decodes to bytes holding a ':', which once sent
 * the Elasticsearch client's `auth: {apiKey: KEY}` to a 401.
 */
static int key_after_colon(const char *tok, char key[65], int plain_ok, struct bl_err *err)
{
    struct buf b = BUF_INIT(512);
    const char *colon;
    int rc = -1;

    if (plain_ok && is_bilor_key(tok))
        rc = copy_key(tok, strlen(tok), key, err);
    else if (decode_base64(tok, strlen(tok), 512, &b, NULL) == 0 && b.len > 0 &&
             (colon = memchr(b.p, ':', b.len)) != NULL)
        rc = copy_key(colon + 1, b.len - (size_t)(colon + 1 - (const char *)b.p), key, err);
    else if (plain_ok)
        rc = copy_key(tok, strlen(tok), key, err);
    else
        rc = bl_err_set(err, BL_EINVAL, "malformed Basic credentials");
    buf_release(&b);
    return rc;
}

int logdoor_find_key(struct bl_req *req, char key[65], struct bl_err *err)
{
    const char *h = req_header(req, "X-Bilor-Key");

    if (h != NULL)
        return copy_key(h, strlen(h), key, err);
    h = req_header(req, "Authorization");
    if (h == NULL) {
        /* Clients that cannot add a header (graypy's HTTP handler) put it in the URL. */
        h = req_query(req, "key");
        if (h != NULL)
            return copy_key(h, strlen(h), key, err);
        return bl_err_set(err, BL_EINVAL, "missing project key");
    }
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "ApiKey ", 7) == 0)
        return key_after_colon(h + 7, key, 1, err);
    if (strncasecmp(h, "Basic ", 6) == 0)
        return key_after_colon(h + 6, key, 0, err);
    if (strncasecmp(h, "Bearer ", 7) == 0)
        return copy_key(h + 7, strlen(h + 7), key, err);
    return bl_err_set(err, BL_EINVAL, "unsupported Authorization scheme");
}

int logdoor_open(struct bl_req *req, struct logdoor_ctx *ctx, int64_t project_id)
{
    struct door_req *dr = &ctx->dr;
    struct bl_err err = { 0 };
    char key[65];
    int rc;

    door_req_init(dr, req->app->door, project_id, req->pool);
    rc = door_gate(dr);
    if (rc != DOOR_ACCEPTED)
        return rc;
    if (logdoor_find_key(req, key, &err) < 0)
        return door_refuse(dr, DOOR_UNAUTHORIZED, "%s", err.msg);
    if (project_id <= 0) {
        int64_t pid = 0;

        rc = keycache_lookup(door_keys(req->app->door), key, &pid);
        if (rc == BL_ENOTFOUND)
            return door_refuse(dr, DOOR_UNAUTHORIZED, "unknown or revoked project key");
        if (rc < 0) {
            dr->retry_after_s = 1;
            return door_refuse(dr, DOOR_UNAVAILABLE, "cannot check the project key, retry later");
        }
        dr->project_id = pid;
    }
    return door_auth(dr, key);
}

static void logdoor_finish(struct bl_req *req, struct bl_resp *resp)
{
    struct logdoor_ctx *ctx = req->handler_data;

    if (ctx->outcome != DOOR_ACCEPTED)
        ctx->answer(req, resp, ctx->outcome);
}

static void logdoor_durable(struct door_req *dr, int outcome)
{
    struct bl_req *req = dr->arg;
    struct logdoor_ctx *ctx = req->handler_data;

    ctx->outcome = outcome;
    req->async_rc = outcome == DOOR_ACCEPTED ? 0 : -1;
    req->resume(req);
}

void logdoor_submit(struct bl_req *req, struct bl_resp *resp, struct logdoor_ctx *ctx,
                    const struct ingest_format *f)
{
    const char *enc = req_header(req, "Content-Encoding");
    int rc;

    req->finish = logdoor_finish;
    rc = door_submit(&ctx->dr, f, req->body.p, req->body.len, decode_encoding_from_header(enc),
                     req->received_at, logdoor_durable, req);
    ctx->answer(req, resp, rc);
    if (rc == DOOR_ACCEPTED && ctx->dr.pending)
        resp->pending = 1;
}
