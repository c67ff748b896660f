/*
 * api_es.c - the Elasticsearch API door (protocols.md §5), under /es/ on
 * the main port.
 *
 * DESIGN
 * Log shippers speak to "an Elasticsearch": they probe it at start (GET /,
 * /_license, templates, ILM policies), then send _bulk bodies or single
 * documents. The probes get the minimal answers of §5.5 with no key (they
 * reveal nothing); ingest needs a project key (api_logdoor.h), and the
 * key's project is where the lines go: the index name is kept as the
 * attribute "_index", it does not pick a project. Every answer carries
 * X-Elastic-Product, which the official clients check, and errors have
 * Elasticsearch's shape with a top-level "status" (rsyslog counts such a
 * reply as a failed document).
 *
 * Item ids: a single document's id is chosen by the door and journaled, so
 * the _id answered is the stored event's. A bulk item's stored id derives
 * from the journal position, which is known only once the record is
 * written; the answer reports the client's _id when it gave one and no _id
 * otherwise, never one that names nothing.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_logdoor.h"
#include "ingest/esbulk.h"
#include "ingest/format.h"
#include "core/clock.h"
#include "core/banned.h"

#define ES_VERSION "8.17.0"

enum es_op { ES_PROBE = 0, ES_BULK, ES_DOC };

static void es_error(struct bl_resp *resp, int status, const char *type, const char *reason)
{
    struct buf *b = &resp->body;
    int rc;

    resp->status = status;
    resp->content_type = "application/json";
    buf_reset(b);
    rc = buf_addstr(b, "{\"error\":{\"root_cause\":[],\"type\":");
    rc = rc ? rc : buf_add_json_str(b, type, strlen(type));
    rc = rc ? rc : buf_addstr(b, ",\"reason\":");
    rc = rc ? rc : buf_add_json_str(b, reason, strlen(reason));
    rc = rc ? rc : buf_addf(b, "},\"status\":%d}", status);
    if (rc < 0)
        resp_error(resp, 500, "response too large");
}

static void es_header(struct bl_req *req, struct bl_resp *resp, const struct door_req *dr)
{
    resp_header(resp, "X-Elastic-Product", "Elasticsearch");
    if (dr != NULL && dr->retry_after_s > 0 && (resp->status == 429 || resp->status == 503))
        resp_header(resp, "Retry-After", pool_printf(req->pool, "%d", dr->retry_after_s));
}

static void answer_doc(struct bl_req *req, struct bl_resp *resp, const struct logdoor_ctx *ctx)
{
    const char *index = ctx->index != NULL ? ctx->index : "bilor";
    const char *id = ctx->dr.result.check.event_id;
    struct buf *b = &resp->body;
    int rc;

    resp->status = 201;
    resp->content_type = "application/json";
    buf_reset(b);
    rc = buf_addstr(b, "{\"_index\":");
    rc = rc ? rc : buf_add_json_str(b, index, strlen(index));
    rc = rc ? rc : buf_addstr(b, ",\"_id\":");
    rc = rc ? rc : buf_add_json_str(b, id, strlen(id));
    rc = rc ? rc
            : buf_addstr(b, ",\"_version\":1,\"result\":\"created\",\"_shards\":{\"total\":1,"
                            "\"successful\":1,\"failed\":0},\"_seq_no\":0,\"_primary_term\":1}");
    if (rc < 0)
        resp_error(resp, 500, "response too large");
    (void)req;
}

static void answer_bulk(struct bl_req *req, struct bl_resp *resp, const struct logdoor_ctx *ctx)
{
    const struct esbulk_items *items = ctx->dr.result.detail;
    struct esbulk_items none = { NULL, 0, 0 };
    int64_t took = (clock_now_us() - req->received_at) / 1000;

    resp->status = 200;
    resp->content_type = "application/json";
    buf_reset(&resp->body);
    if (esbulk_response(items != NULL ? items : &none, NULL,
                        ctx->index != NULL ? ctx->index : "bilor", took < 0 ? 0 : took,
                        &resp->body) < 0)
        resp_error(resp, 500, "response too large");
}

static void es_answer(struct bl_req *req, struct bl_resp *resp, int outcome)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);
    const char *msg = ctx->dr.err.msg;

    switch (outcome) {
    case DOOR_ACCEPTED:
        if (ctx->op == ES_BULK)
            answer_bulk(req, resp, ctx);
        else
            answer_doc(req, resp, ctx);
        break;
    case DOOR_UNAUTHORIZED:
        es_error(resp, 401, "security_exception", msg);
        resp_header(resp, "WWW-Authenticate", "ApiKey");
        break;
    case DOOR_FORBIDDEN:
        es_error(resp, 403, "security_exception", msg);
        break;
    case DOOR_TOO_LARGE:
        es_error(resp, 413, "content_too_long_exception", msg);
        break;
    case DOOR_BUSY:
    case DOOR_RATE_LIMITED:
        es_error(resp, 429, "es_rejected_execution_exception", msg);
        break;
    case DOOR_BAD_INPUT:
        es_error(resp, 400,
                 ctx->op == ES_DOC ? "mapper_parsing_exception" : "illegal_argument_exception",
                 msg);
        break;
    default:
        es_error(resp, 503, "unavailable_shards_exception", msg);
        break;
    }
    es_header(req, resp, &ctx->dr);
}

/* The path below the mount point, split: up to 4 segments. */
struct es_path {
    struct slice seg[4];
    size_t n;
};

static void split(const struct bl_req *req, struct es_path *p)
{
    struct slice rest = req->nparams > 0 ? req->params[req->nparams - 1] : SLICE_NULL;
    size_t i = 0;

    memset(p, 0, sizeof(*p));
    while (i < rest.len) {
        size_t start;

        while (i < rest.len && rest.p[i] == '/')
            i++;
        start = i;
        while (i < rest.len && rest.p[i] != '/')
            i++;
        if (i > start) {
            if (p->n == 4) {
                p->n = 5; /* too deep: nothing of ours */
                return;
            }
            p->seg[p->n++] = (struct slice){ rest.p + start, i - start };
        }
    }
}

static int seg_is(const struct es_path *p, size_t i, const char *lit)
{
    return i < p->n && slice_eq(p->seg[i], lit);
}

static const char *seg_dup(struct bl_req *req, const struct es_path *p, size_t i)
{
    return i < p->n ? pool_strndup(req->pool, p->seg[i].p, p->seg[i].len) : NULL;
}

/* Which ingest operation the path names (ES_PROBE: none). */
static int ingest_op(struct bl_req *req, const struct es_path *p, struct logdoor_ctx *ctx)
{
    int write = req->method == BL_POST || req->method == BL_PUT;

    if (!write || p->n == 0 || p->n > 3)
        return ES_PROBE;
    if (p->n == 1)
        return seg_is(p, 0, "_bulk") ? ES_BULK : ES_PROBE;
    if (p->seg[0].p[0] == '_')
        return ES_PROBE;
    ctx->index = seg_dup(req, p, 0);
    if (p->n == 2 && seg_is(p, 1, "_bulk"))
        return ES_BULK;
    if (p->n == 2 && (seg_is(p, 1, "_doc") || p->seg[1].p[0] != '_'))
        return ES_DOC; /* /{index}/_doc, and rsyslog's /{index}/{type} */
    if (p->n == 3 && (seg_is(p, 1, "_doc") || seg_is(p, 1, "_create"))) {
        ctx->id = seg_dup(req, p, 2);
        return ES_DOC;
    }
    return ES_PROBE;
}

static const char es_info[] =
    "{\"name\":\"bilor\",\"cluster_name\":\"bilor\",\"cluster_uuid\":\"bilor\",\"version\":{"
    "\"number\":\"" ES_VERSION "\",\"build_flavor\":\"default\",\"build_type\":\"bilor\","
    "\"lucene_version\":\"9.12.0\",\"minimum_wire_compatibility_version\":\"7.17.0\","
    "\"minimum_index_compatibility_version\":\"7.0.0\"},\"tagline\":\"You Know, for Search\"}";
static const char es_license[] =
    "{\"license\":{\"uid\":\"00000000-0000-0000-0000-000000000000\",\"type\":\"basic\","
    "\"mode\":\"basic\",\"status\":\"active\",\"issue_date_in_millis\":0,"
    "\"expiry_date_in_millis\":4102444800000}}";
static const char es_health[] =
    "{\"cluster_name\":\"bilor\",\"status\":\"green\",\"timed_out\":false,"
    "\"number_of_nodes\":1,\"number_of_data_nodes\":1}";

/* Index management a shipper does at start: it exists, and any change is taken. */
static int management_path(const struct es_path *p)
{
    static const char *const names[] = { "_template", "_index_template", "_component_template",
                                         "_ilm",      "_ingest",         "_data_stream",
                                         "_xpack" };

    for (size_t i = 0; p->n > 0 && i < sizeof(names) / sizeof(names[0]); i++) {
        if (seg_is(p, 0, names[i]))
            return 1;
    }
    return 0;
}

static void probe(struct bl_req *req, struct bl_resp *resp, const struct es_path *p)
{
    int get = req->method == BL_GET || req->method == BL_HEAD;
    const char *format = req_query(req, "format");

    if (p->n == 0 && get)
        resp_json(resp, 200, es_info, sizeof(es_info) - 1);
    else if (seg_is(p, 0, "_license") && p->n == 1 && get)
        resp_json(resp, 200, es_license, sizeof(es_license) - 1);
    else if (seg_is(p, 0, "_cluster") && seg_is(p, 1, "health") && get)
        resp_json(resp, 200, es_health, sizeof(es_health) - 1);
    else if (seg_is(p, 0, "_cat") && seg_is(p, 1, "health") && get) {
        if (format != NULL && strcmp(format, "json") == 0) {
            resp_json(resp, 200, "[{\"status\":\"green\"}]", 20);
        } else {
            resp_json(resp, 200, "0 bilor green 1 1\n", 18);
            resp->content_type = "text/plain; charset=UTF-8";
        }
    } else if (seg_is(p, 0, "_nodes") && get)
        resp_json(resp, 200, "{\"nodes\":{}}", 12);
    else if (management_path(p) && get)
        resp_json(resp, 200, "{}", 2);
    else if (management_path(p) && req->method == BL_PUT)
        resp_json(resp, 200, "{\"acknowledged\":true}", 21);
    else
        es_error(resp, 404, "not_found", "no such Elasticsearch endpoint in Bilor");
    es_header(req, resp, NULL);
}

void api_es_early(struct bl_req *req, struct bl_resp *resp)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);
    struct es_path p;
    int rc;

    ctx->answer = es_answer;
    split(req, &p);
    ctx->op = ingest_op(req, &p, ctx);
    if (ctx->op == ES_PROBE) {
        probe(req, resp, &p);
        return;
    }
    rc = logdoor_open(req, ctx, 0);
    if (rc != DOOR_ACCEPTED)
        es_answer(req, resp, rc);
}

void api_es(struct bl_req *req, struct bl_resp *resp)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);

    logdoor_submit(req, resp, ctx,
                   format_by_protocol(ctx->op == ES_BULK ? INGEST_ES_BULK : INGEST_ES_DOC));
}
