/*
 * api.h - request handlers, independent of the HTTP library.
 *
 * DESIGN
 * http/ owns sockets and libmicrohttpd; api/ owns meaning. A handler gets
 * a struct bl_req (method, path parameters, headers and query through
 * callbacks, the complete body, a request pool) and fills a struct bl_resp.
 * That keeps every handler testable without a socket and confines the HTTP
 * library to one folder.
 *
 * Routes are a table (routes.c): method, pattern, door label, an optional
 * early check that runs on the headers alone (auth, backlog budget: a 429
 * must not read the body), and the handler that runs once the body is in.
 *
 * Ingest handlers are asynchronous: they append to the journal and set
 * resp->pending; the journal's flusher calls req->resume() once the record
 * is durable, and http/ then calls req->finish() and sends the answer. No
 * thread waits for a disk.
 */
#ifndef BL_API_H
#define BL_API_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/pool.h"
#include "digest/digest.h"
#include "ingest/ingest.h"
#include "journal/journal.h"
#include "store/store.h"

struct keycache;
struct metrics;

/* Everything a handler may reach: built once by `bilor serve`. */
struct app {
    const struct config *cfg;
    struct store *store;
    struct journal *journal;
    struct digest *digest;
    struct keycache *keys;
    struct metrics *metrics;
    struct ingest_limits limits;
    char public_url[512]; /* no trailing slash */
    int64_t started_at;
    _Atomic int closing; /* shutting down: ingest doors answer 503 */
};

enum bl_method { BL_GET = 0, BL_POST, BL_PUT, BL_DELETE, BL_OPTIONS, BL_HEAD, BL_OTHER };

/* Metric label of the door a route belongs to. */
enum bl_door { DOOR_STORE = 0, DOOR_ENVELOPE, DOOR_LOGS, DOOR_API, DOOR_OPS, DOOR_OTHER, DOOR__N };

#define REQ_MAX_PARAMS 4
#define RESP_MAX_HEADERS 12

struct bl_req;
struct bl_resp;

typedef void (*api_handler_fn)(struct bl_req *req, struct bl_resp *resp);

struct route {
    int method;
    const char *pattern; /* "/api/{}/store/": {} matches one path segment */
    int door;
    unsigned flags;      /* enum route_flags */
    api_handler_fn early;   /* on headers; sets resp->status to answer at once */
    api_handler_fn handler; /* on the complete body */
    size_t max_body;        /* largest body (413 above); 0: takes none; ROUTE_BODY_MAX: --max-body */
};

#define ROUTE_BODY_MAX SIZE_MAX

enum route_flags {
    ROUTE_CORS = 1 << 0,      /* ingest: CORS headers on every answer */
    ROUTE_SLASH_OPT = 1 << 1, /* a trailing slash is optional */
};

struct bl_req {
    int method;
    const char *path;
    struct slice params[REQ_MAX_PARAMS];
    size_t nparams;
    struct slice body;
    struct pool *pool;
    struct app *app;
    const struct route *route;
    int64_t received_at;
    /* supplied by http/ */
    void *conn;
    const char *(*header_fn)(void *conn, const char *name);
    const char *(*query_fn)(void *conn, const char *name);
    void (*resume)(struct bl_req *req);
    /* supplied by an async handler: completes resp after resume */
    void (*finish)(struct bl_req *req, struct bl_resp *resp);
    int async_rc;
    void *handler_data;
};

struct bl_header {
    const char *name;
    const char *value; /* owned by the request pool or static */
};

struct bl_resp {
    int status;        /* 0 = not answered yet */
    struct buf body;
    const char *content_type;
    struct bl_header headers[RESP_MAX_HEADERS];
    size_t nheaders;
    int pending;       /* async work started: wait for req->resume */
};

/* Header / query value or NULL. Header names are case-insensitive. */
const char *req_header(struct bl_req *req, const char *name);
const char *req_query(struct bl_req *req, const char *name);
/* Path parameter i as a positive integer; -1 when not one. */
int64_t req_param_id(const struct bl_req *req, size_t i);

void resp_init(struct bl_resp *resp);
void resp_release(struct bl_resp *resp);
void resp_header(struct bl_resp *resp, const char *name, const char *value);
/* status + {"error": msg} */
void resp_error(struct bl_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* status + body text as application/json */
void resp_json(struct bl_resp *resp, int status, const char *json, size_t len);

/*
 * Finds the route for method + path, filling req->params. Returns NULL with
 * *status 404 (no such path) or 405 (path exists, method does not).
 */
const struct route *api_route(struct bl_req *req, int *status);

/* Handlers, grouped by file. */
void api_ingest_early(struct bl_req *req, struct bl_resp *resp);
void api_store(struct bl_req *req, struct bl_resp *resp);
void api_envelope(struct bl_req *req, struct bl_resp *resp);
void api_logs_ingest(struct bl_req *req, struct bl_resp *resp);
void api_cors_preflight(struct bl_req *req, struct bl_resp *resp);
void api_projects_list(struct bl_req *req, struct bl_resp *resp);
void api_issues_list(struct bl_req *req, struct bl_resp *resp);
void api_issue_get(struct bl_req *req, struct bl_resp *resp);
void api_issue_put(struct bl_req *req, struct bl_resp *resp);
void api_issue_events(struct bl_req *req, struct bl_resp *resp);
void api_event_get(struct bl_req *req, struct bl_resp *resp);
void api_logs_list(struct bl_req *req, struct bl_resp *resp);
void api_token_early(struct bl_req *req, struct bl_resp *resp);
void api_healthz(struct bl_req *req, struct bl_resp *resp);
void api_readyz(struct bl_req *req, struct bl_resp *resp);
void api_metrics(struct bl_req *req, struct bl_resp *resp);

#endif
