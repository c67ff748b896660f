/*
 * api_ingest.c - the ingest doors: Sentry /store/ and /envelope/, JSON lines.
 *
 * A door does cheap work only: authenticate the key, check the backlog
 * budget (before the body is read), validate the body (api answers 400/413
 * itself rather than acking garbage), append the raw body to the journal,
 * and answer once the journal says it is durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/keycache.h"
#include "api/metrics.h"
#include "core/log.h"
#include "ingest/sentry_auth.h"
#include "ingest/sentry_items.h"
#include "core/banned.h"

#define MAX_LINE_ERRORS 100

/* Per-request state of an ingest door, in the request pool. */
struct ingest_ctx {
    int64_t project_id; /* from the path */
    int authed;         /* key checked against the path's project */
    int protocol;
    struct ingest_check check;
    struct ingest_ndjson_result lines;
};

/*
 * The decompressed body lives only while the door checks it. It is sized
 * up front for a typical gzip ratio so it rarely has to grow, and freed
 * before the journal wait.
 */
static void scratch_init(struct buf *b, size_t body_len, size_t max)
{
    size_t guess = body_len * 6 + 1024;

    buf_init(b, max);
    if (buf_grow(b, guess < max ? guess : max) < 0)
        buf_init(b, max);
}

static void reject(struct bl_req *req, struct bl_resp *resp, int reason, int status,
                   const char *msg)
{
    metrics_add(&req->app->metrics->rejected[reason], 1);
    resp_error(resp, status, "%s", msg);
}

static void answer_backlog(struct bl_req *req, struct bl_resp *resp)
{
    const char *secs = pool_printf(req->pool, "%lld", (long long)req->app->cfg->retry_after);

    reject(req, resp, MR_BACKLOG, 429, "server is busy digesting a backlog, retry later");
    resp_header(resp, "Retry-After", secs);
    if (req->route->door != DOOR_LOGS)
        resp_header(resp, "X-Sentry-Rate-Limits",
                    pool_printf(req->pool, "%s::organization:backlog", secs));
}

/* Checks key against the project in the path: 0, or answers 401/403. */
static int check_key(struct bl_req *req, struct bl_resp *resp, struct ingest_ctx *ctx,
                     const char *key)
{
    int64_t pid = 0;

    if (keycache_lookup(req->app->keys, key, &pid) < 0) {
        reject(req, resp, MR_AUTH, 401, "unknown or revoked project key");
        return -1;
    }
    if (pid != ctx->project_id) {
        reject(req, resp, MR_FORBIDDEN, 403, "this key belongs to another project");
        return -1;
    }
    ctx->authed = 1;
    return 0;
}

void api_ingest_early(struct bl_req *req, struct bl_resp *resp)
{
    struct ingest_ctx *ctx = pool_calloc(req->pool, 1, sizeof(*ctx));
    struct sentry_auth_in in;
    struct bl_err err = { 0 };
    char key[65];
    int rc;

    req->handler_data = ctx;
    ctx->project_id = req_param_id(req, 0);
    if (ctx->project_id <= 0) {
        reject(req, resp, MR_MALFORMED, 400, "project id in the path must be a positive integer");
        return;
    }
    if (journal_over_budget(req->app->journal)) {
        answer_backlog(req, resp);
        return;
    }
    if (req->app->closing) {
        resp_error(resp, 503, "server is shutting down, retry later");
        resp_header(resp, "Retry-After", "5");
        return;
    }
    in.x_sentry_auth = req_header(req, "X-Sentry-Auth");
    in.authorization = req_header(req, "Authorization");
    in.query_sentry_key = req_query(req, "sentry_key");
    rc = sentry_auth_find(&in, key, &err);
    if (rc == 0) {
        check_key(req, resp, ctx, key);
        return;
    }
    /* An envelope may authenticate itself with the "dsn" in its header. */
    if (req->route->door == DOOR_ENVELOPE && in.x_sentry_auth == NULL &&
        in.authorization == NULL && in.query_sentry_key == NULL)
        return;
    reject(req, resp, MR_AUTH, 401, err.msg[0] ? err.msg : "missing project key");
}

static void ingest_finish(struct bl_req *req, struct bl_resp *resp)
{
    struct ingest_ctx *ctx = req->handler_data;
    struct metrics *m = req->app->metrics;

    if (req->async_rc < 0) {
        reject(req, resp, MR_JOURNAL, 503, "cannot write the journal, retry later");
        return;
    }
    if (ctx->protocol == INGEST_LOGS_NDJSON) {
        metrics_add(&m->accepted[DOOR_LOGS], ctx->lines.accepted);
        metrics_add(&m->rejected[MR_MALFORMED], ctx->lines.rejected);
        return; /* the body was written before journaling */
    }
    metrics_add(&m->accepted[req->route->door], 1);
}

/* Journal flusher thread: the record is durable (or failed); wake the request. */
static void ingest_durable(void *arg, int rc)
{
    struct bl_req *req = arg;

    req->async_rc = rc;
    req->resume(req);
}

/* Appends the body to the journal; the answer goes out once it is durable. */
static void journal_body(struct bl_req *req, struct bl_resp *resp, struct ingest_ctx *ctx)
{
    struct journal_record rec;
    int rc;

    memset(&rec, 0, sizeof(rec));
    rec.protocol = ctx->protocol;
    rec.encoding = decode_encoding_from_header(req_header(req, "Content-Encoding"));
    rec.project_id = ctx->project_id;
    rec.received_at = req->received_at;
    memcpy(rec.event_id, ctx->check.event_id, sizeof(rec.event_id));
    rec.payload = req->body.p;
    rec.len = req->body.len;
    req->finish = ingest_finish;
    rc = journal_append(req->app->journal, &rec, ingest_durable, req);
    if (rc == BL_EBUSY) {
        answer_backlog(req, resp);
    } else if (rc == BL_ETOOBIG) {
        reject(req, resp, MR_TOO_LARGE, 413, "request body is too large for the journal");
    } else if (rc < 0) {
        reject(req, resp, MR_JOURNAL, 503, "cannot write the journal, retry later");
    } else {
        resp->pending = 1;
    }
}

static void answer_check_error(struct bl_req *req, struct bl_resp *resp, int rc,
                               const struct bl_err *err)
{
    if (rc == BL_ETOOBIG)
        reject(req, resp, MR_TOO_LARGE, 413, bl_err_msg(err));
    else
        reject(req, resp, MR_MALFORMED, 400, bl_err_msg(err));
}

static void answer_event_id(struct bl_resp *resp, const struct ingest_check *chk)
{
    char body[64];
    int n;

    if (chk->event_id[0] == '\0') {
        resp_json(resp, 200, "{}", 2);
        return;
    }
    n = snprintf(body, sizeof(body), "{\"id\":\"%s\"}", chk->event_id);
    resp_json(resp, 200, body, (size_t)n);
}

static int is_envelope_type(const char *ct)
{
    return ct != NULL && strncasecmp(ct, "application/x-sentry-envelope", 29) == 0;
}

static void count_items(struct bl_req *req, const struct ingest_check *chk)
{
    for (int i = 0; i < INGEST_ITEM__N; i++)
        if (chk->items[i] != 0)
            metrics_add(&req->app->metrics->items[i], chk->items[i]);
}

/* The envelope header's dsn authenticates when no header/query did (the tunnel case). */
static int envelope_auth(struct bl_req *req, struct bl_resp *resp, struct ingest_ctx *ctx)
{
    const struct ingest_check *chk = &ctx->check;

    if (ctx->authed) {
        return 0;
    }
    if (chk->dsn_key[0] == '\0') {
        reject(req, resp, MR_AUTH, 401, "missing project key");
        return -1;
    }
    if (chk->dsn_project != 0 && chk->dsn_project != ctx->project_id) {
        reject(req, resp, MR_FORBIDDEN, 403, "the envelope's dsn names another project");
        return -1;
    }
    return check_key(req, resp, ctx, chk->dsn_key);
}

static void sentry_door(struct bl_req *req, struct bl_resp *resp, int protocol)
{
    struct ingest_ctx *ctx = req->handler_data;
    const struct ingest_limits *lim = &req->app->limits;
    int enc = decode_encoding_from_header(req_header(req, "Content-Encoding"));
    struct bl_err err = { 0 };
    struct buf scratch;
    int rc;

    ctx->protocol = protocol;
    metrics_add(&req->app->metrics->bytes_in[req->route->door], req->body.len);
    scratch_init(&scratch, req->body.len, lim->max_body);
    if (protocol == INGEST_SENTRY_STORE)
        rc = ingest_check_store(req->body.p, req->body.len, enc, lim, &scratch, &ctx->check,
                                &err);
    else
        rc = ingest_check_envelope(req->body.p, req->body.len, enc, lim, &scratch, &ctx->check,
                                   &err);
    buf_release(&scratch);
    if (rc < 0) {
        answer_check_error(req, resp, rc, &err);
        return;
    }
    if (protocol == INGEST_SENTRY_ENVELOPE && envelope_auth(req, resp, ctx) < 0)
        return;
    count_items(req, &ctx->check);
    answer_event_id(resp, &ctx->check);
    /* Every item is kept or counted now (sentry_items.h); only an empty envelope is not. */
    if (protocol == INGEST_SENTRY_ENVELOPE && !sentry_items_journal(ctx->check.items))
        return;
    journal_body(req, resp, ctx);
}

void api_store(struct bl_req *req, struct bl_resp *resp)
{
    int envelope = is_envelope_type(req_header(req, "Content-Type"));

    sentry_door(req, resp, envelope ? INGEST_SENTRY_ENVELOPE : INGEST_SENTRY_STORE);
}

void api_envelope(struct bl_req *req, struct bl_resp *resp)
{
    sentry_door(req, resp, INGEST_SENTRY_ENVELOPE);
}

static void answer_lines(struct bl_req *req, struct bl_resp *resp,
                         const struct ingest_ndjson_result *r)
{
    struct buf *b = &resp->body;
    int rc;

    resp->status = r->accepted > 0 ? 200 : 400;
    resp->content_type = "application/json";
    buf_reset(b);
    rc = buf_addf(b, "{%s\"accepted\":%zu,\"rejected\":%zu,\"errors\":[",
                  r->accepted > 0 ? "" : "\"error\":\"no valid lines\",", r->accepted,
                  r->rejected);
    for (size_t i = 0; rc == 0 && i < r->nerrors; i++) {
        rc = buf_addf(b, "%s{\"line\":%zu,\"error\":", i ? "," : "", r->errors[i].line);
        rc = rc ? rc : buf_add_json_str(b, r->errors[i].error, strlen(r->errors[i].error));
        rc = rc ? rc : buf_addch(b, '}');
    }
    rc = rc ? rc : buf_addstr(b, "]}");
    if (rc < 0)
        resp_error(resp, 500, "response too large");
    (void)req;
}

void api_logs_ingest(struct bl_req *req, struct bl_resp *resp)
{
    struct ingest_ctx *ctx = req->handler_data;
    const struct ingest_limits *lim = &req->app->limits;
    int enc = decode_encoding_from_header(req_header(req, "Content-Encoding"));
    struct bl_err err = { 0 };
    struct buf scratch;
    int rc;

    ctx->protocol = INGEST_LOGS_NDJSON;
    metrics_add(&req->app->metrics->bytes_in[DOOR_LOGS], req->body.len);
    scratch_init(&scratch, req->body.len, lim->max_body);
    rc = ingest_check_ndjson(req->body.p, req->body.len, enc, lim, req->pool, MAX_LINE_ERRORS,
                             &scratch, &ctx->lines, &err);
    buf_release(&scratch);
    if (rc < 0) {
        answer_check_error(req, resp, rc, &err);
        return;
    }
    answer_lines(req, resp, &ctx->lines);
    if (ctx->lines.accepted == 0) {
        metrics_add(&req->app->metrics->rejected[MR_MALFORMED], ctx->lines.rejected);
        return;
    }
    journal_body(req, resp, ctx);
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
