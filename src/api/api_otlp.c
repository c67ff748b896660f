/*
 * api_otlp.c - OTLP/HTTP logs (protocols.md §6): POST /v1/logs, and
 * /api/{project}/otlp/v1/logs for a collector that must name the project.
 *
 * DESIGN
 * The project key comes in a header (Authorization: Bearer KEY, or
 * X-Bilor-Key: KEY; exporters take a headers map), and names the project
 * on /v1/logs; under /api/{project}/ the key must be that project's. The
 * Content-Type picks the format (protobuf or JSON) and the answer is
 * encoded like the request, as the spec says: 200 with an empty
 * ExportLogsServiceResponse ({} in JSON), partial success with the count of
 * refused records, and a google.rpc.Status on failure (400, 401, 403, 413,
 * 415; 429 and 503 with Retry-After, the only ones a client retries).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_logdoor.h"
#include "ingest/format.h"
#include "core/banned.h"

struct otlp_check {
    size_t accepted, rejected;
    const char *first_error;
};

/* Protobuf varint and length-delimited string, for the answers' two small messages. */
static int pb_varint(struct buf *b, uint64_t v)
{
    int rc = 0;

    while (rc == 0 && v >= 0x80) {
        rc = buf_addch(b, (int)((v & 0x7f) | 0x80));
        v >>= 7;
    }
    return rc ? rc : buf_addch(b, (int)v);
}

static int pb_string(struct buf *b, int field, const char *s)
{
    size_t n = strlen(s);
    int rc = buf_addch(b, field << 3 | 2);

    rc = rc ? rc : pb_varint(b, n);
    return rc ? rc : buf_add(b, s, n);
}

/* google.rpc.Status { 1 code, 2 message }. */
static void status_body(struct bl_resp *resp, int http, int code, const char *msg, int json)
{
    struct buf *b = &resp->body;
    int rc;

    resp->status = http;
    buf_reset(b);
    if (json) {
        resp->content_type = "application/json";
        rc = buf_addf(b, "{\"code\":%d,\"message\":", code);
        rc = rc ? rc : buf_add_json_str(b, msg, strlen(msg));
        rc = rc ? rc : buf_addch(b, '}');
    } else {
        resp->content_type = "application/x-protobuf";
        rc = buf_addch(b, 1 << 3);
        rc = rc ? rc : pb_varint(b, (uint64_t)code);
        rc = rc ? rc : pb_string(b, 2, msg);
    }
    if (rc < 0)
        resp_error(resp, 500, "response too large");
}

static void answer_ok(struct bl_resp *resp, const struct otlp_check *c, int json)
{
    struct buf *b = &resp->body;
    const char *msg = c != NULL && c->first_error != NULL ? c->first_error : "";
    struct buf part = BUF_INIT(1024);
    int rc = 0;

    resp->status = 200;
    resp->content_type = json ? "application/json" : "application/x-protobuf";
    buf_reset(b);
    if (c == NULL || c->rejected == 0) {
        rc = json ? buf_addstr(b, "{}") : 0; /* the empty message is zero bytes */
    } else if (json) {
        rc = buf_addf(b, "{\"partialSuccess\":{\"rejectedLogRecords\":\"%zu\",\"errorMessage\":",
                      c->rejected);
        rc = rc ? rc : buf_add_json_str(b, msg, strlen(msg));
        rc = rc ? rc : buf_addstr(b, "}}");
    } else {
        /* ExportLogsServiceResponse { 1 partial_success { 1 rejected_log_records, 2 error_message } } */
        rc = buf_addch(&part, 1 << 3);
        rc = rc ? rc : pb_varint(&part, c->rejected);
        rc = rc ? rc : pb_string(&part, 2, msg);
        rc = rc ? rc : buf_addch(b, 1 << 3 | 2);
        rc = rc ? rc : pb_varint(b, part.len);
        rc = rc ? rc : buf_add(b, part.p, part.len);
    }
    buf_release(&part);
    if (rc < 0)
        resp_error(resp, 500, "response too large");
}

/* The google.rpc.Status code beside each HTTP status of a refusal (OTLP §6.4). */
static int rpc_code(int status)
{
    switch (status) {
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 403:
        return 7; /* PERMISSION_DENIED */
    case 400:
        return 3; /* INVALID_ARGUMENT */
    case 413:
    case 429:
        return 8; /* RESOURCE_EXHAUSTED */
    default:
        return 14; /* UNAVAILABLE */
    }
}

static void otlp_answer(struct bl_req *req, struct bl_resp *resp, int outcome)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);
    int status = logdoor_status(outcome);

    if (outcome == DOOR_ACCEPTED) {
        answer_ok(resp, ctx->dr.result.detail, ctx->json);
        return;
    }
    status_body(resp, status, rpc_code(status), ctx->dr.err.msg, ctx->json);
    if (logdoor_retryable(outcome))
        logdoor_retry_after(req, resp, &ctx->dr);
}

static int media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);

    return ct != NULL && strncasecmp(ct, type, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void api_otlp_early(struct bl_req *req, struct bl_resp *resp)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);
    const char *ct = req_header(req, "Content-Type");
    int64_t pid = req->nparams > 0 ? req_param_id(req, 0) : 0;
    int rc;

    ctx->answer = otlp_answer;
    ctx->json = media_is(ct, "application/json");
    if (!ctx->json && !media_is(ct, "application/x-protobuf")) {
        ctx->json = 1;
        door_req_init(&ctx->dr, req->app->door, 0, req->pool);
        status_body(resp, 415, 3, "OTLP/HTTP takes application/x-protobuf or application/json", 1);
        return;
    }
    if (req->nparams > 0 && pid <= 0) {
        status_body(resp, 400, 3, "project id in the path must be a positive integer", ctx->json);
        return;
    }
    rc = logdoor_open(req, ctx, pid);
    if (rc != DOOR_ACCEPTED)
        otlp_answer(req, resp, rc);
}

void api_otlp(struct bl_req *req, struct bl_resp *resp)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);

    logdoor_submit(req, resp, ctx,
                   format_by_protocol(ctx->json ? INGEST_OTLP_JSON : INGEST_OTLP_PB));
}
