/*
 * api_gelf.c - GELF over HTTP (protocols.md §3.4): POST /gelf, and
 * /api/{project}/gelf.
 *
 * DESIGN
 * The body is one GELF message (or several, newline-separated, as Graylog
 * 4.3 takes them); its check and decode are the "gelf" wire format's
 * (fmt_gelf.c, shared with the UDP and TCP listeners). graypy's HTTP
 * handler cannot add headers, sends "Content-Encoding: gzip,deflate" over
 * a zlib body with no Content-Type and never reads the answer, so the body
 * is decoded by its magic bytes (decode.c) and the project key may also
 * come in the query (?key=KEY), besides X-Bilor-Key and Authorization.
 * Success is 202 with an empty body, as Graylog answers.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_logdoor.h"
#include "ingest/format.h"
#include "core/banned.h"

static void gelf_answer(struct bl_req *req, struct bl_resp *resp, int outcome)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);

    if (outcome != DOOR_ACCEPTED) {
        logdoor_refuse(req, resp, &ctx->dr, outcome);
        return;
    }
    resp->status = 202; /* graypy reads nothing: an empty body */
    resp->content_type = NULL;
    buf_reset(&resp->body);
}

void api_gelf_early(struct bl_req *req, struct bl_resp *resp)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);
    int64_t pid = req->nparams > 0 ? req_param_id(req, 0) : 0;
    int rc;

    ctx->answer = gelf_answer;
    if (format_by_name("gelf") == NULL) {
        resp_error(resp, 501, "this build has no GELF format");
        return;
    }
    if (req->nparams > 0 && pid <= 0) {
        resp_error(resp, 400, "project id in the path must be a positive integer");
        return;
    }
    rc = logdoor_open(req, ctx, pid);
    if (rc != DOOR_ACCEPTED)
        gelf_answer(req, resp, rc);
}

void api_gelf(struct bl_req *req, struct bl_resp *resp)
{
    logdoor_submit(req, resp, logdoor_ctx(req), format_by_name("gelf"));
}
