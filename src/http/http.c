#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/metrics.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "http/http.h"
#include "core/banned.h"

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    struct http_config cfg;
    int port;
    atomic_int suspended; /* requests waiting for the journal */
    atomic_int live;      /* requests between first callback and completion */
    _Atomic size_t body_bytes; /* request bodies held in memory, all connections */
};

enum hstate { HS_HEADERS = 0, HS_BODY, HS_SUSPENDED, HS_DONE_EARLY, HS_RESUMED };

/* One request: lives from the first callback to MHD's completion notice. */
struct hreq {
    struct http_server *srv;
    struct MHD_Connection *conn;
    pthread_mutex_t mu;
    int state;
    int too_big;
    int overloaded;       /* the global body budget was full */
    size_t accounted;     /* bytes of this body counted in body_bytes */
    struct pool pool;
    struct buf body;
    struct bl_req req;
    struct bl_resp resp;
};

static const struct {
    const char *name;
    int method;
} methods[] = {
    { "GET", BL_GET }, { "POST", BL_POST }, { "PUT", BL_PUT },
    { "DELETE", BL_DELETE }, { "OPTIONS", BL_OPTIONS }, { "HEAD", BL_HEAD },
};

static int method_of(const char *m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(m, methods[i].name) == 0)
            return methods[i].method;
    return BL_OTHER;
}

static const char *conn_header(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static const char *conn_query(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/*
 * Journal flusher thread: the record is durable; resume or mark done.
 * MHD_resume_connection is called after unlocking and h is not touched
 * after it: once resumed, an HTTP thread may answer and free h at once.
 * The connection itself stays valid until it is resumed.
 */
static void hreq_resume(struct bl_req *req)
{
    struct hreq *h = (struct hreq *)((char *)req - offsetof(struct hreq, req));
    struct MHD_Connection *conn = NULL;

    pthread_mutex_lock(&h->mu);
    if (h->state == HS_SUSPENDED) {
        h->state = HS_RESUMED;
        conn = h->conn;
    } else {
        h->state = HS_DONE_EARLY;
    }
    pthread_mutex_unlock(&h->mu);
    if (conn != NULL)
        MHD_resume_connection(conn);
}

static struct hreq *hreq_new(struct http_server *srv, struct MHD_Connection *c, const char *url,
                             const char *method)
{
    struct hreq *h = xcalloc(1, sizeof(*h));

    h->srv = srv;
    h->conn = c;
    pthread_mutex_init(&h->mu, NULL);
    pool_init(&h->pool, 8192);
    buf_init(&h->body, srv->cfg.max_body);
    resp_init(&h->resp);
    h->req.method = method_of(method);
    h->req.path = pool_strdup(&h->pool, url);
    h->req.pool = &h->pool;
    h->req.app = srv->app;
    h->req.received_at = clock_now_us();
    h->req.conn = c;
    h->req.header_fn = conn_header;
    h->req.query_fn = conn_query;
    h->req.resume = hreq_resume;
    return h;
}

static void hreq_free(struct hreq *h)
{
    atomic_fetch_sub(&h->srv->body_bytes, h->accounted);
    resp_release(&h->resp);
    buf_release(&h->body);
    pool_release(&h->pool);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void add_cors(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "x-sentry-error, x-sentry-rate-limits, retry-after");
}

static enum MHD_Result send_resp(struct hreq *h)
{
    struct bl_resp *resp = &h->resp;
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (resp->status == 0)
        resp_error(resp, 500, "handler gave no answer");
    r = MHD_create_response_from_buffer(resp->body.len, resp->body.p, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (resp->content_type != NULL)
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    if (h->req.route == NULL || (h->req.route->flags & ROUTE_CORS))
        add_cors(r);
    ret = MHD_queue_response(h->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    metrics_request(h->srv->app->metrics, h->req.route ? h->req.route->door : DOOR_OTHER,
                    resp->status);
    return ret;
}

/* Drops what was held and gives its bytes back to the global budget. */
static void drop_body(struct hreq *h)
{
    atomic_fetch_sub(&h->srv->body_bytes, h->accounted);
    h->accounted = 0;
    buf_release(&h->body);
}

/*
 * Keeps a body chunk unless this body passed its cap or all bodies in
 * memory together passed the server's budget: then the rest is read and
 * dropped, and the request is answered 413 or 503. This bounds memory
 * whatever the number of connections.
 */
static void take_body(struct hreq *h, const char *p, size_t n)
{
    size_t total;

    if (h->too_big || h->overloaded)
        return;
    total = atomic_fetch_add(&h->srv->body_bytes, n) + n;
    h->accounted += n;
    if (total > h->srv->cfg.max_inflight) {
        h->overloaded = 1;
        drop_body(h);
    } else if (buf_add(&h->body, p, n) < 0) {
        h->too_big = 1;
        drop_body(h);
    }
}

static void answer_overloaded(struct hreq *h)
{
    resp_error(&h->resp, 503, "server is receiving too much at once, retry later");
    resp_header(&h->resp, "Retry-After", "2");
}

/* First callback: headers only. Returns 1 when the answer is already decided. */
static int on_headers(struct hreq *h)
{
    const char *cl = MHD_lookup_connection_value(h->conn, MHD_HEADER_KIND, "Content-Length");
    unsigned long long declared;
    int status = 404;

    if (api_route(&h->req, &status) == NULL) {
        resp_error(&h->resp, status, status == 404 ? "not found" : "method not allowed");
        return 0; /* answer after the body (if any) is drained */
    }
    declared = cl != NULL ? strtoull(cl, NULL, 10) : 0;
    if (declared > h->srv->cfg.max_body) {
        resp_error(&h->resp, 413, "request body exceeds %zu bytes", h->srv->cfg.max_body);
        return 1;
    }
    if (declared > 0 && atomic_load(&h->srv->body_bytes) + declared > h->srv->cfg.max_inflight) {
        answer_overloaded(h);
        return 1;
    }
    if (h->req.route->early != NULL)
        h->req.route->early(&h->req, &h->resp);
    return h->resp.status != 0;
}

static enum MHD_Result on_body_done(struct hreq *h)
{
    if (h->state == HS_RESUMED || h->state == HS_DONE_EARLY) {
        if (h->req.finish != NULL)
            h->req.finish(&h->req, &h->resp);
        return send_resp(h);
    }
    if (h->too_big)
        resp_error(&h->resp, 413, "request body exceeds %zu bytes", h->srv->cfg.max_body);
    else if (h->overloaded)
        answer_overloaded(h);
    if (h->resp.status == 0) {
        h->req.body = (struct slice){ h->body.p, h->body.len };
        h->req.route->handler(&h->req, &h->resp);
    }
    if (!h->resp.pending)
        return send_resp(h);
    pthread_mutex_lock(&h->mu);
    if (h->state == HS_DONE_EARLY) {
        pthread_mutex_unlock(&h->mu);
        return on_body_done(h);
    }
    h->state = HS_SUSPENDED;
    atomic_fetch_add(&h->srv->suspended, 1);
    MHD_suspend_connection(h->conn);
    pthread_mutex_unlock(&h->mu);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **ctx)
{
    struct hreq *h = *ctx;

    (void)version;
    if (h == NULL) {
        h = hreq_new(cls, c, url, method);
        *ctx = h;
        atomic_fetch_add(&h->srv->live, 1);
        h->state = HS_BODY;
        return on_headers(h) ? send_resp(h) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        take_body(h, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (h->state == HS_RESUMED)
        atomic_fetch_sub(&h->srv->suspended, 1);
    return on_body_done(h);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;

    (void)c;
    (void)toe;
    if (*ctx != NULL) {
        hreq_free(*ctx);
        atomic_fetch_sub(&s->live, 1);
    }
    *ctx = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_warn("http: %s", msg);
}

static int resolve(const char *host, int port, struct sockaddr_storage *sa, struct bl_err *err)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
    if (rc != 0)
        return bl_err_set(err, BL_EINVAL, "cannot resolve '%s': %s", host, gai_strerror(rc));
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int http_start(struct http_server **out, struct app *app, const struct http_config *cfg,
               struct bl_err *err)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    struct sockaddr_storage sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;

    s->app = app;
    s->cfg = *cfg;
    if (resolve(cfg->host, cfg->port, &sa, err) < 0) {
        free(s);
        return err ? err->code : BL_EINVAL;
    }
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, s, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_END);
    if (s->daemon == NULL) {
        free(s);
        return bl_err_set(err, BL_EIO, "cannot listen on %s:%d (in use or not permitted)",
                          cfg->host, cfg->port);
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : cfg->port;
    *out = s;
    return 0;
}

int http_port(const struct http_server *s)
{
    return s->port;
}

void http_quiesce(struct http_server *s)
{
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);

    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void http_drain(struct http_server *s, int timeout_ms)
{
    for (int waited = 0; atomic_load(&s->live) > 0 && waited < timeout_ms; waited += 10)
        nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
}

void http_stop(struct http_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
