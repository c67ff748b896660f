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
 * Who is asking: an early check (api_token_early for the REST API) sets
 * req->who; every REST handler then asks api_access() whether that principal
 * may do the action on the project, so a new rule (users, roles, scoped
 * tokens) is written once there and no handler changes.
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

struct door;
struct metrics;
struct throttle;

/* Everything a handler may reach: built once by `bilor serve`. */
struct app {
    const struct config *cfg;
    struct store *store;
    struct journal *journal;
    struct digest *digest;
    struct door *door;       /* admission and journaling of ingest bodies (door/door.h) */
    struct metrics *metrics; /* the door's counters registry (door/metrics.h) */
    struct ingest_limits limits;
    char public_url[512]; /* no trailing slash */
    int64_t started_at;
    /* access (api_access.c, api_auth.c) */
    struct throttle *login_account; /* failed logins per account */
    struct throttle *login_address; /* failed logins per client address */
    int64_t session_idle;           /* µs a session lives without a request */
    int64_t session_max;            /* µs a session lives at most */
    int secure_cookie;              /* the session cookie says Secure (https public URL) */
    char dummy_hash[160];           /* verified for unknown emails: same cost as a wrong password */
    _Atomic int closing;            /* shutting down: ingest doors answer 503 */
};

enum bl_method { BL_GET = 0, BL_POST, BL_PUT, BL_DELETE, BL_OPTIONS, BL_HEAD, BL_OTHER };

/* Metric label of a route (not the door layer of door/: these name HTTP routes). */
enum route_label {
    DOOR_STORE = 0,
    DOOR_ENVELOPE,
    DOOR_LOGS,
    DOOR_API,
    DOOR_OPS,
    DOOR_OTHER,
    DOOR__N
};

#define REQ_MAX_PARAMS 4
#define RESP_MAX_HEADERS 12

struct bl_req;
struct bl_resp;

typedef void (*api_handler_fn)(struct bl_req *req, struct bl_resp *resp);

struct route {
    int method;
    /*
     * "/api/{}/store/": {} matches one non-empty path segment. A "*" that
     * ends the pattern matches whatever remains of the path, even nothing
     * (the web UI's assets under "/ui/"), and is the route's last parameter.
     */
    const char *pattern;
    int door;
    unsigned flags;         /* enum route_flags */
    api_handler_fn early;   /* on headers; sets resp->status to answer at once */
    api_handler_fn handler; /* on the complete body */
    size_t max_body; /* largest body (413 above); 0: takes none; ROUTE_BODY_MAX: --max-body */
};

#define ROUTE_BODY_MAX SIZE_MAX

enum route_flags {
    ROUTE_CORS = 1 << 0,      /* ingest: CORS headers on every answer */
    ROUTE_SLASH_OPT = 1 << 1, /* a trailing slash is optional */
};

/* Who sent a request, as its authentication established. */
enum principal_kind {
    PRINCIPAL_ANONYMOUS = 0, /* nothing checked, or nothing presented */
    PRINCIPAL_TOKEN,         /* an API token (Authorization: Bearer) */
    PRINCIPAL_SESSION,       /* a user's web session (cookie bilor_session) */
};

#define PRINCIPAL_PROJECTS 16 /* = STORE_TOKEN_PROJECTS */

struct principal {
    int kind;                             /* enum principal_kind */
    char token_id[17];                    /* API token: the first 16 hex of its stored digest */
    int64_t token_db_id;                  /* API token: its id (GET /api/0/tokens/) */
    char session_hash[65];                /* session: the digest of its id (its row in the store) */
    int64_t user_id;                      /* the user the token or session belongs to; 0 if none */
    int instance_admin;                   /* may administer the whole instance */
    unsigned scopes;                      /* STORE_SCOPE_* bits; a session has them all */
    int64_t projects[PRINCIPAL_PROJECTS]; /* a token limited to these projects */
    size_t nprojects;                     /* 0: not limited */
};

/*
 * What a handler is about to do, for api_access(). With a project: READ
 * needs the viewer role, WRITE member, ADMIN the project's admin. Without
 * one (project_id 0): READ is any signed-in principal (listings then ask
 * per project), WRITE and ADMIN are the instance admin's, ACCOUNT is the
 * caller's own account (its tokens, its password).
 */
enum api_action {
    API_READ = 0, /* list and show */
    API_WRITE,    /* change a project's data (issue status, ...) */
    API_ADMIN,    /* a project's settings, keys and members; the instance without a project */
    API_ACCOUNT,  /* the caller's own account: a session, or a token with the admin scope */
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
    struct principal who;  /* set by the route's early check; zero = anonymous */
    uint8_t client[16];    /* the client's address (IPv4 as ::ffff:a.b.c.d; IPv6 as its /64) */
    const char *client_ip; /* the client's address as text (behind --trusted-proxy, the
                            * forwarded one); "" when unknown */
    int64_t received_at;
    /* supplied by http/ */
    void *conn;
    const char *(*header_fn)(void *conn, const char *name);
    const char *(*query_fn)(void *conn, const char *name);
    /* every query argument in order (repeated names too); fn returns non-zero to stop */
    void (*query_each_fn)(void *conn, int (*fn)(void *arg, const char *name, const char *value),
                          void *arg);
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
    int status; /* 0 = not answered yet */
    struct buf body;
    const char *content_type;
    struct bl_header headers[RESP_MAX_HEADERS];
    size_t nheaders;
    int pending; /* async work started: wait for req->resume */
    /*
     * A streamed answer (Server-Sent Events): when stream is set, the body
     * is what stream(ctx, buf, max) produces: a byte count, 0 when it has
     * nothing now (the connection then waits and is asked again a few
     * times a second, or at once when the server closes), or -1 for the
     * end. stream_free(ctx) is called once, when the connection is done.
     */
    long (*stream)(void *ctx, char *buf, size_t max);
    void (*stream_free)(void *ctx);
    void *stream_ctx;
};

/* Header / query value or NULL. Header names are case-insensitive. */
const char *req_header(struct bl_req *req, const char *name);
const char *req_query(struct bl_req *req, const char *name);
/* Path parameter i as a positive integer; -1 when not one. */
int64_t req_param_id(const struct bl_req *req, size_t i);
/*
 * 0 when every query argument is one of allowed (NULL-terminated); else
 * answers 400 naming the first unknown one and returns -1.
 */
int req_query_only(struct bl_req *req, struct bl_resp *resp, const char *const *allowed);
/* The values of a repeated query argument, at most max; returns how many. */
size_t req_query_all(struct bl_req *req, const char *name, const char **out, size_t max);

void resp_init(struct bl_resp *resp);
void resp_release(struct bl_resp *resp);
void resp_header(struct bl_resp *resp, const char *name, const char *value);
/* status + {"error": msg} */
void resp_error(struct bl_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* status + body text as application/json */
void resp_json(struct bl_resp *resp, int status, const char *json, size_t len);

/*
 * THE access rule (api_access.c): whether req->who may do action on
 * project_id (0: no particular project). Every handler asks it; none decides
 * on its own. Returns 0, or the status to refuse with: 401 (not
 * authenticated), 404 (a project the caller cannot see: answered exactly as
 * if it did not exist), 403 (seen, but not allowed), 500 (store failure).
 */
int api_access(const struct bl_req *req, int action, int64_t project_id);
/* api_access(), answering the refusal: 0, or -1 when resp holds the answer. */
int api_require(struct bl_req *req, struct bl_resp *resp, int action, int64_t project_id);
/* The role the caller has in a project (enum store_role; instance admins: admin). */
int api_role(const struct bl_req *req, int64_t project_id);
/* api_role capped by a token's scopes: what the caller may do there (the listing's "role"). */
int api_effective_role(const struct bl_req *req, int64_t project_id);
/* "none", "viewer", "member" or "admin" (api_projects.c). */
const char *api_role_name(int role);

/*
 * Finds the route for method + path, filling req->params. Returns NULL with
 * *status 404 (no such path) or 405 (path exists, method does not).
 */
const struct route *api_route(struct bl_req *req, int *status);
/* The same over another table (tests). */
const struct route *api_route_in(const struct route *table, size_t n_routes, struct bl_req *req,
                                 int *status);

/* Handlers, grouped by file. */
void api_ingest_early(struct bl_req *req, struct bl_resp *resp);
void api_store(struct bl_req *req, struct bl_resp *resp);
void api_envelope(struct bl_req *req, struct bl_resp *resp);
void api_logs_ingest(struct bl_req *req, struct bl_resp *resp);
void api_cors_preflight(struct bl_req *req, struct bl_resp *resp);
/* api_es.c: the Elasticsearch API under /es/ */
void api_es_early(struct bl_req *req, struct bl_resp *resp);
void api_es(struct bl_req *req, struct bl_resp *resp);
/* api_otlp.c: OTLP/HTTP logs */
void api_otlp_early(struct bl_req *req, struct bl_resp *resp);
void api_otlp(struct bl_req *req, struct bl_resp *resp);
/* api_gelf.c: GELF over HTTP */
void api_gelf_early(struct bl_req *req, struct bl_resp *resp);
void api_gelf(struct bl_req *req, struct bl_resp *resp);
/* api_v1.c: the original Bilor API (--v1-api PROJECT_ID) */
void api_v1_early(struct bl_req *req, struct bl_resp *resp);
void api_v1(struct bl_req *req, struct bl_resp *resp);
void api_v1_get(struct bl_req *req, struct bl_resp *resp);
void api_projects_list(struct bl_req *req, struct bl_resp *resp);
void api_issues_list(struct bl_req *req, struct bl_resp *resp);
void api_issue_get(struct bl_req *req, struct bl_resp *resp);
/* Where a project's issues were seen (api_seen.c). */
void api_project_environments(struct bl_req *req, struct bl_resp *resp);
void api_project_releases(struct bl_req *req, struct bl_resp *resp);
void api_issue_put(struct bl_req *req, struct bl_resp *resp);
void api_issue_events(struct bl_req *req, struct bl_resp *resp);
void api_event_get(struct bl_req *req, struct bl_resp *resp);
void api_logs_list(struct bl_req *req, struct bl_resp *resp);
/*
 * The REST routes' early check: who is asking, from "Authorization: Bearer"
 * or else the session cookie (and its X-CSRF-Token on state-changing
 * methods). Answers 401/403 at once when neither holds.
 */
void api_token_early(struct bl_req *req, struct bl_resp *resp);
/* api_auth.c: sign in and out */
void api_auth_login(struct bl_req *req, struct bl_resp *resp);
void api_auth_logout(struct bl_req *req, struct bl_resp *resp);
void api_auth_me(struct bl_req *req, struct bl_resp *resp);
void api_auth_password(struct bl_req *req, struct bl_resp *resp);
/* api_projects.c: projects, their settings and members */
void api_project_create(struct bl_req *req, struct bl_resp *resp);
void api_project_get(struct bl_req *req, struct bl_resp *resp);
void api_project_put(struct bl_req *req, struct bl_resp *resp);
void api_members_list(struct bl_req *req, struct bl_resp *resp);
void api_member_add(struct bl_req *req, struct bl_resp *resp);
void api_member_put(struct bl_req *req, struct bl_resp *resp);
void api_member_delete(struct bl_req *req, struct bl_resp *resp);
/* api_users.c: the instance's users (instance admins) */
void api_users_list(struct bl_req *req, struct bl_resp *resp);
void api_user_create(struct bl_req *req, struct bl_resp *resp);
void api_user_put(struct bl_req *req, struct bl_resp *resp);
/* api_tokens.c: the caller's API tokens */
void api_tokens_list(struct bl_req *req, struct bl_resp *resp);
void api_token_create(struct bl_req *req, struct bl_resp *resp);
void api_token_delete(struct bl_req *req, struct bl_resp *resp);
/* search (api_search.c, api_events.c) */
void api_logs_histogram(struct bl_req *req, struct bl_resp *resp);
void api_logs_facets(struct bl_req *req, struct bl_resp *resp);
void api_logs_context(struct bl_req *req, struct bl_resp *resp);
void api_logs_tail(struct bl_req *req, struct bl_resp *resp);
/* retention (api_retention.c) */
void api_project_storage(struct bl_req *req, struct bl_resp *resp);
void api_events_list(struct bl_req *req, struct bl_resp *resp);
void api_events_histogram(struct bl_req *req, struct bl_resp *resp);
void api_events_facets(struct bl_req *req, struct bl_resp *resp);
/* api_grouping.c: a project's grouping rules */
void api_grouping_get(struct bl_req *req, struct bl_resp *resp);
void api_grouping_put(struct bl_req *req, struct bl_resp *resp);
void api_index(struct bl_req *req, struct bl_resp *resp);
/* api_items.c: envelope items kept beside events */
void api_event_attachments(struct bl_req *req, struct bl_resp *resp);
void api_event_attachment_get(struct bl_req *req, struct bl_resp *resp);
void api_project_feedback(struct bl_req *req, struct bl_resp *resp);
void api_issue_feedback(struct bl_req *req, struct bl_resp *resp);
void api_project_item_stats(struct bl_req *req, struct bl_resp *resp);
/* api_keys.c: DSN keys and project ingest settings */
void api_keys_list(struct bl_req *req, struct bl_resp *resp);
void api_keys_add(struct bl_req *req, struct bl_resp *resp);
void api_keys_put(struct bl_req *req, struct bl_resp *resp);
void api_keys_delete(struct bl_req *req, struct bl_resp *resp);
void api_settings_get(struct bl_req *req, struct bl_resp *resp);
void api_settings_put(struct bl_req *req, struct bl_resp *resp);
struct jw;
/* Writes the event's attachments as an array member key (NULL in an array); BL_ESTORE. */
int api_items_write_attachments(struct bl_req *req, struct jw *w, const char *key, int64_t pid,
                                const char *event_id);
/* api_ui.c: the web UI's files */
void api_ui_index(struct bl_req *req, struct bl_resp *resp);
void api_ui_asset(struct bl_req *req, struct bl_resp *resp);
void api_healthz(struct bl_req *req, struct bl_resp *resp);
void api_readyz(struct bl_req *req, struct bl_resp *resp);
void api_metrics(struct bl_req *req, struct bl_resp *resp);

#endif
