/*
 * api_ingest.c - the HTTP ingest doors: Sentry /store/ and /envelope/, JSON
 * lines.
 *
 * DESIGN
 * Admission, checks and the journal are the door layer's (door/door.h);
 * this file is its HTTP listener: it takes the project from the path and
 * the key from Sentry's auth headers, picks the wire format from the route
 * and the Content-Type, and maps each door outcome to a status and headers
 * (429 + Retry-After, and X-Sentry-Rate-Limits for Sentry clients; 503,
 * 401, 403, 413, 400). The early half runs on the headers alone, so a 429
 * or a 401 never reads the body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "door/door.h"
#include "ingest/format.h"
#include "ingest/sentry_auth.h"
#include "core/banned.h"

/* Per-request state of an ingest door, in the request pool. */
struct ingest_ctx {
    struct door_req dr;
    int outcome; /* of the journal wait */
};

/* Sentry SDKs read X-Sentry-Rate-Limits; other clients only Retry-After. */
static int sentry_route(const struct bl_req *req)
{
    return req->route->door != DOOR_LOGS;
}

static void answer_units(struct bl_resp *resp, int status, const char *error,
                         const struct ingest_ndjson_result *r)
{
    struct buf *b = &resp->body;
    int rc;

    resp->status = status;
    resp->content_type = "application/json";
    buf_reset(b);
    rc = buf_addch(b, '{');
    if (rc == 0 && error != NULL) {
        rc = buf_addstr(b, "\"error\":");
        rc = rc ? rc : buf_add_json_str(b, error, strlen(error));
        rc = rc ? rc : buf_addch(b, ',');
    }
    rc = rc ? rc
            : buf_addf(b, "\"accepted\":%zu,\"rejected\":%zu,\"errors\":[", r->accepted,
                       r->rejected);
    for (size_t i = 0; rc == 0 && i < r->nerrors; i++) {
        rc = buf_addf(b, "%s{\"line\":%zu,\"error\":", i ? "," : "", r->errors[i].line);
        rc = rc ? rc : buf_add_json_str(b, r->errors[i].error, strlen(r->errors[i].error));
        rc = rc ? rc : buf_addch(b, '}');
    }
    rc = rc ? rc : buf_addstr(b, "]}");
    if (rc < 0)
        resp_error(resp, 500, "response too large");
}

static void answer_accepted(struct bl_resp *resp, const struct door_req *dr)
{
    const char *id = dr->result.check.event_id;
    char body[64];
    int n;

    if (dr->format->reply == FORMAT_REPLY_UNITS) {
        answer_units(resp, 200, NULL, &dr->result.units);
        return;
    }
    if (id[0] == '\0') {
        resp_json(resp, 200, "{}", 2);
        return;
    }
    n = snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
    resp_json(resp, 200, body, (size_t)n);
}

static void retry_after(struct bl_req *req, struct bl_resp *resp, const struct door_req *dr)
{
    if (dr->retry_after_s > 0)
        resp_header(resp, "Retry-After", pool_printf(req->pool, "%d", dr->retry_after_s));
}

/*
 * X-Sentry-Rate-Limits for a rate-limit refusal: one "wait:categories:scope"
 * per blocked category (protocols.md §1.9), so an SDK stops sending that
 * category only, for that long.
 */
static void rate_limits_header(struct bl_req *req, struct bl_resp *resp, const struct door_req *dr)
{
    const char *v = "";

    for (int c = 0; c < RL_CATS; c++) {
        if (dr->rl.wait_s[c] <= 0)
            continue;
        v = pool_printf(req->pool, "%s%s%d:%s:%s", v, v[0] ? "," : "", dr->rl.wait_s[c],
                        rl_cat_sentry(c), rl_scope_name(dr->rl.scope[c]));
    }
    if (v[0] != '\0')
        resp_header(resp, "X-Sentry-Rate-Limits", v);
}

/* The HTTP answer to a door outcome. */
static void answer(struct bl_req *req, struct bl_resp *resp, int outcome)
{
    const struct door_req *dr = &((struct ingest_ctx *)req->handler_data)->dr;
    const char *msg = dr->err.msg;

    switch (outcome) {
    case DOOR_ACCEPTED:
        answer_accepted(resp, dr);
        return;
    case DOOR_UNAUTHORIZED:
        resp_error(resp, 401, "%s", msg);
        return;
    case DOOR_FORBIDDEN:
        resp_error(resp, 403, "%s", msg);
        return;
    case DOOR_TOO_LARGE:
        resp_error(resp, 413, "%s", msg);
        return;
    case DOOR_BUSY:
        resp_error(resp, 429, "%s", msg);
        retry_after(req, resp, dr);
        if (sentry_route(req))
            resp_header(resp, "X-Sentry-Rate-Limits",
                        pool_printf(req->pool, "%d::organization:backlog", dr->retry_after_s));
        return;
    case DOOR_RATE_LIMITED:
        resp_error(resp, 429, "%s", msg);
        retry_after(req, resp, dr);
        if (sentry_route(req))
            rate_limits_header(req, resp, dr);
        return;
    case DOOR_BAD_INPUT:
        if (dr->no_units && dr->format->reply == FORMAT_REPLY_UNITS)
            answer_units(resp, 400, msg, &dr->result.units);
        else
            resp_error(resp, 400, "%s", msg);
        return;
    case DOOR_UNAVAILABLE:
    default:
        resp_error(resp, 503, "%s", msg);
        retry_after(req, resp, dr);
        return;
    }
}

void api_ingest_early(struct bl_req *req, struct bl_resp *resp)
{
    struct ingest_ctx *ctx = pool_calloc(req->pool, 1, sizeof(*ctx));
    struct door_req *dr = &ctx->dr;
    struct sentry_auth_in in;
    struct bl_err err = { 0 };
    char key[65];
    int rc;

    req->handler_data = ctx;
    door_req_init(dr, req->app->door, req_param_id(req, 0), req->pool);
    if (dr->project_id <= 0) {
        answer(
            req, resp,
            door_refuse(dr, DOOR_BAD_INPUT, "project id in the path must be a positive integer"));
        return;
    }
    rc = door_gate(dr);
    if (rc != DOOR_ACCEPTED) {
        answer(req, resp, rc);
        return;
    }
    in.x_sentry_auth = req_header(req, "X-Sentry-Auth");
    in.authorization = req_header(req, "Authorization");
    in.query_sentry_key = req_query(req, "sentry_key");
    if (sentry_auth_find(&in, key, &err) == 0) {
        rc = door_auth(dr, key);
        if (rc != DOOR_ACCEPTED)
            answer(req, resp, rc);
        return;
    }
    /* An envelope may authenticate itself with the "dsn" in its header. */
    if (req->route->door == DOOR_ENVELOPE && in.x_sentry_auth == NULL && in.authorization == NULL &&
        in.query_sentry_key == NULL)
        return;
    answer(req, resp,
           door_refuse(dr, DOOR_UNAUTHORIZED, "%s", err.msg[0] ? err.msg : "missing project key"));
}

static void ingest_finish(struct bl_req *req, struct bl_resp *resp)
{
    struct ingest_ctx *ctx = req->handler_data;

    /* An acknowledgement was prepared before the wait; only a failure replaces it. */
    if (ctx->outcome != DOOR_ACCEPTED)
        answer(req, resp, ctx->outcome);
}

/* Journal flusher thread: the record is durable (or failed); wake the request. */
static void ingest_durable(struct door_req *dr, int outcome)
{
    struct bl_req *req = dr->arg;
    struct ingest_ctx *ctx = req->handler_data;

    ctx->outcome = outcome;
    req->async_rc = outcome == DOOR_ACCEPTED ? 0 : -1;
    req->resume(req);
}

static void ingest(struct bl_req *req, struct bl_resp *resp, const struct ingest_format *f)
{
    struct ingest_ctx *ctx = req->handler_data;
    const char *enc = req_header(req, "Content-Encoding");
    int rc;

    req->finish = ingest_finish;
    rc = door_submit(&ctx->dr, f, req->body.p, req->body.len, decode_encoding_from_header(enc),
                     req->received_at, ingest_durable, req);
    answer(req, resp, rc);
    if (rc == DOOR_ACCEPTED && ctx->dr.pending)
        resp->pending = 1;
}

void api_store(struct bl_req *req, struct bl_resp *resp)
{
    const struct ingest_format *f = format_by_protocol(INGEST_SENTRY_STORE);

    ingest(req, resp, format_recognise(f, req_header(req, "Content-Type")));
}

void api_envelope(struct bl_req *req, struct bl_resp *resp)
{
    ingest(req, resp, format_by_protocol(INGEST_SENTRY_ENVELOPE));
}

void api_logs_ingest(struct bl_req *req, struct bl_resp *resp)
{
    ingest(req, resp, format_by_protocol(INGEST_LOGS_NDJSON));
}

void api_cors_preflight(struct bl_req *req, struct bl_resp *resp)
{
    (void)req;
    resp->status = 200;
    resp_header(resp, "Access-Control-Allow-Methods", "POST, OPTIONS");
    resp_header(resp, "Access-Control-Allow-Headers",
                "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, "
                "content-type, authentication, authorization, content-encoding, "
                "transfer-encoding, baggage, sentry-trace");
    resp_header(resp, "Access-Control-Max-Age", "3600");
}
