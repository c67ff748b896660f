#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "http/peers.h"
#include "core/banned.h"

struct hconn;

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    struct http_config cfg;
    int port;
    atomic_int suspended;          /* requests waiting for the journal */
    atomic_int live;               /* requests between first callback and completion */
    _Atomic size_t body_bytes;     /* request bodies held in memory, all connections */
    struct peers *peers;           /* per client address: connections and body bytes */
    struct sockaddr_storage proxy; /* --trusted-proxy */
    int has_proxy;
    /* every open connection, for the reaper (see reaper_main) */
    pthread_mutex_t conns_mu;
    struct hconn *conns;
    pthread_cond_t reaper_cv;
    pthread_t reaper;
    int reaper_running;
    int reaper_stop; /* under conns_mu */
    /* streamed answers (live tail), woken by the reaper's tick */
    pthread_mutex_t streams_mu;
    struct hstream *streams;
    int streams_closing; /* under streams_mu: the server is closing, streams end */
};

/*
 * A streamed answer. MHD asks stream_read for bytes whenever the socket can
 * take them; with nothing to send the connection is suspended (returning 0
 * without suspending would make MHD spin), and the reaper's tick resumes
 * every suspended stream a few times a second so it can look again.
 */
struct hstream {
    struct hstream *prev, *next; /* the server's list, under streams_mu */
    struct http_server *srv;
    struct MHD_Connection *conn;
    long (*fn)(void *ctx, char *buf, size_t max);
    void (*free_fn)(void *ctx);
    void *ctx;
    int suspended; /* under streams_mu */
};

/*
 * Where a connection is in its current request, for the deadlines the
 * reaper enforces. MHD's own timeout is an idle timeout, restarted by every
 * byte, so a client trickling one byte at a time would hold a connection
 * forever; these are total deadlines.
 */
enum hphase {
    PH_HEADERS = 0, /* waiting for a request's headers: header_timeout_s */
    PH_BODY,        /* reading a body: body_timeout_s + received / min_body_rate */
    PH_BUSY,        /* handler, journal wait, answer: MHD's idle timeout only */
};

/* One connection: lives from MHD's connection-started to -closed notice. */
struct hconn {
    struct hconn *prev, *next; /* the server's list, under conns_mu */
    struct peer_key peer;      /* the socket's client address */
    MHD_socket fd;
    int counted; /* holds a place in its address's connection share */
    int cut;     /* shut down by the reaper (under conns_mu) */
    _Atomic int phase;
    _Atomic int64_t since; /* clock_mono_us when the phase began */
    _Atomic size_t got;    /* body bytes received in PH_BODY */
    _Atomic size_t cap;    /* received bytes that still earn time (the body limit) */
};

enum hstate { HS_HEADERS = 0, HS_BODY, HS_SUSPENDED, HS_DONE_EARLY, HS_RESUMED };

/* One request: lives from the first callback to MHD's completion notice. */
struct hreq {
    struct http_server *srv;
    struct MHD_Connection *conn;
    struct hconn *hc;
    pthread_mutex_t mu;
    int state;
    int discard;      /* the body is read and dropped: the answer is decided */
    size_t limit;     /* this route's body limit */
    size_t accounted; /* bytes of this body counted in body_bytes and the client's share */
    struct peer_key client;
    struct pool pool;
    struct buf body;
    struct bl_req req;
    struct bl_resp resp;
};

static const struct {
    const char *name;
    int method;
} methods[] = {
    { "GET", BL_GET },       { "POST", BL_POST },       { "PUT", BL_PUT },
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

struct query_each {
    int (*fn)(void *arg, const char *name, const char *value);
    void *arg;
};

static enum MHD_Result query_each_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct query_each *qe = cls;

    (void)kind;
    return qe->fn(qe->arg, key, value) == 0 ? MHD_YES : MHD_NO;
}

static void conn_query_each(void *conn, int (*fn)(void *arg, const char *name, const char *value),
                            void *arg)
{
    struct query_each qe = { fn, arg };

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_each_one, &qe);
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

static void phase_set(struct hconn *hc, int phase)
{
    if (hc == NULL)
        return;
    atomic_store(&hc->got, 0);
    atomic_store(&hc->cap, 0);
    atomic_store(&hc->since, clock_mono_us());
    atomic_store(&hc->phase, phase);
}

static struct hconn *conn_hconn(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

/* Whether a and b hold the same IP address (ports aside). */
static int same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
    if (a == NULL || a->sa_family != b->ss_family)
        return 0;
    if (a->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
                      &((const struct sockaddr_in *)(const void *)b)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return 0;
}

/* An IP address in text into ss; -1 when it is not one. */
static int parse_addr(const char *s, size_t len, struct sockaddr_storage *ss)
{
    char tmp[INET6_ADDRSTRLEN];

    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, tmp, &((struct sockaddr_in *)(void *)ss)->sin_addr) == 1) {
        ss->ss_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, &((struct sockaddr_in6 *)(void *)ss)->sin6_addr) == 1) {
        ss->ss_family = AF_INET6;
        return 0;
    }
    return -1;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
    const void *a = NULL;

    out[0] = '\0';
    if (sa != NULL && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa != NULL && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)len) == NULL)
        out[0] = '\0';
}

/*
 * The client address a request counts against (body budget shares, and
 * req.client_ip for the API's throttling): the socket's peer, or, when
 * that peer is the --trusted-proxy, the last address of X-Forwarded-For
 * (the one the proxy itself saw; earlier entries are the client's to
 * invent). From anyone else the header is ignored.
 */
static void request_client(struct hreq *h, struct peer_key *out)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        h->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
    struct sockaddr_storage fwd;
    char text[INET6_ADDRSTRLEN];
    const char *xff;

    if (h->hc != NULL)
        *out = h->hc->peer;
    else
        memset(out, 0, sizeof(*out));
    if (h->srv->has_proxy && same_addr(sa, &h->srv->proxy) &&
        (xff = MHD_lookup_connection_value(h->conn, MHD_HEADER_KIND, "X-Forwarded-For")) != NULL) {
        const char *last = strrchr(xff, ',');

        last = last != NULL ? last + 1 : xff;
        if (parse_addr(last, strlen(last), &fwd) == 0) {
            sa = (const struct sockaddr *)&fwd;
            peer_key_of(sa, out);
        }
    }
    addr_text(sa, text, sizeof(text));
    h->req.client_ip = pool_strdup(&h->pool, text);
}

static struct hreq *hreq_new(struct http_server *srv, struct MHD_Connection *c, const char *url,
                             const char *method)
{
    struct hreq *h = xcalloc(1, sizeof(*h));

    h->srv = srv;
    h->conn = c;
    h->hc = conn_hconn(c);
    pthread_mutex_init(&h->mu, NULL);
    pool_init(&h->pool, 8192);
    buf_init(&h->body, 0);
    resp_init(&h->resp);
    h->req.method = method_of(method);
    h->req.path = srv->cfg.path_prefix != NULL
                      ? pool_printf(&h->pool, "%s%s", srv->cfg.path_prefix, url)
                      : pool_strdup(&h->pool, url);
    h->req.pool = &h->pool;
    h->req.app = srv->app;
    h->req.received_at = clock_now_us();
    h->req.conn = c;
    h->req.header_fn = conn_header;
    h->req.query_fn = conn_query;
    h->req.query_each_fn = conn_query_each;
    h->req.resume = hreq_resume;
    request_client(h, &h->client); /* after pool_init: client_ip lives in the pool */
    memcpy(h->req.client, h->client.b, sizeof(h->req.client));
    return h;
}

/* Drops what was held and gives its bytes back to the budgets. */
static void drop_body(struct hreq *h)
{
    if (h->accounted > 0) {
        atomic_fetch_sub(&h->srv->body_bytes, h->accounted);
        peers_give(h->srv->peers, &h->client, h->accounted);
        h->accounted = 0;
    }
    buf_release(&h->body);
}

static void hreq_free(struct hreq *h)
{
    drop_body(h);
    resp_release(&h->resp);
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

/* Whether the handler already set header name (its own value wins, e.g. the UI's CSP). */
static int has_header(const struct bl_resp *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return 1;
    return 0;
}

static void add_default(struct MHD_Response *r, const struct bl_resp *resp, const char *name,
                        const char *value)
{
    if (!has_header(resp, name))
        MHD_add_response_header(r, name, value);
}

/*
 * Headers every answer carries; pages and API answers (any route that is
 * not a CORS ingest door) may also never be framed nor run inline script.
 * A handler that set one of them (the UI's own CSP, an attachment's
 * sandbox) keeps its value.
 */
static void add_security(struct MHD_Response *r, const struct bl_resp *resp,
                         const struct route *route)
{
    add_default(r, resp, "X-Content-Type-Options", "nosniff");
    add_default(r, resp, "Referrer-Policy", "same-origin");
    if (route != NULL && (route->flags & ROUTE_CORS))
        return;
    add_default(r, resp, "X-Frame-Options", "DENY");
    add_default(r, resp, "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; object-src 'none'; "
                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'");
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct hstream *st = cls;
    struct http_server *s = st->srv;
    long n;

    (void)pos;
    pthread_mutex_lock(&s->streams_mu);
    n = s->streams_closing ? -1 : 0;
    pthread_mutex_unlock(&s->streams_mu);
    if (n == 0)
        n = st->fn(st->ctx, buf, max);
    if (n != 0)
        return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
    pthread_mutex_lock(&s->streams_mu);
    if (s->streams_closing) {
        pthread_mutex_unlock(&s->streams_mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    st->suspended = 1;
    MHD_suspend_connection(st->conn);
    pthread_mutex_unlock(&s->streams_mu);
    return 0;
}

static void stream_done(void *cls)
{
    struct hstream *st = cls;
    struct http_server *s = st->srv;

    pthread_mutex_lock(&s->streams_mu);
    if (st->prev != NULL)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    pthread_mutex_unlock(&s->streams_mu);
    st->free_fn(st->ctx);
    free(st);
}

/* Resumes every suspended stream; closing: and ends them all from now on. */
static void streams_wake(struct http_server *s, int closing)
{
    pthread_mutex_lock(&s->streams_mu);
    if (closing)
        s->streams_closing = 1;
    for (struct hstream *st = s->streams; st != NULL; st = st->next) {
        if (st->suspended) {
            st->suspended = 0;
            MHD_resume_connection(st->conn);
        }
    }
    pthread_mutex_unlock(&s->streams_mu);
}

static struct MHD_Response *stream_response(struct hreq *h)
{
    struct bl_resp *resp = &h->resp;
    struct hstream *st = xcalloc(1, sizeof(*st));
    struct MHD_Response *r;

    st->srv = h->srv;
    st->conn = h->conn;
    st->fn = resp->stream;
    st->free_fn = resp->stream_free;
    st->ctx = resp->stream_ctx;
    resp->stream = NULL; /* the stream owns ctx from here */
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_done);
    if (r == NULL) {
        st->free_fn(st->ctx);
        free(st);
        return NULL;
    }
    pthread_mutex_lock(&h->srv->streams_mu);
    st->next = h->srv->streams;
    if (st->next != NULL)
        st->next->prev = st;
    h->srv->streams = st;
    pthread_mutex_unlock(&h->srv->streams_mu);
    return r;
}

static enum MHD_Result send_resp(struct hreq *h)
{
    struct bl_resp *resp = &h->resp;
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (resp->status == 0)
        resp_error(resp, 500, "handler gave no answer");
    if (resp->stream != NULL)
        r = stream_response(h);
    else
        r = MHD_create_response_from_buffer(resp->body.len, resp->body.p, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (resp->content_type != NULL)
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    if (h->req.route == NULL || (h->req.route->flags & ROUTE_CORS))
        add_cors(r);
    add_security(r, resp, h->req.route);
    if (h->state == HS_HEADERS)
        MHD_add_response_header(r, "Connection", "close"); /* MHD will not read the body */
    ret = MHD_queue_response(h->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    metrics_request(h->srv->app->metrics, h->req.route ? h->req.route->door : DOOR_OTHER,
                    resp->status);
    return ret;
}

/*
 * Counts n more body bytes against the server's budget and the client's
 * share, or answers 503 (the server holds too much) or 429 (this client
 * does) and returns -1 with nothing counted.
 */
static int reserve(struct hreq *h, size_t n)
{
    struct http_server *s = h->srv;

    if (atomic_fetch_add(&s->body_bytes, n) + n > s->cfg.max_inflight) {
        atomic_fetch_sub(&s->body_bytes, n);
        resp_error(&h->resp, 503, "server is receiving too much at once, retry later");
        resp_header(&h->resp, "Retry-After", "2");
        return -1;
    }
    if (peers_take(s->peers, &h->client, n) < 0) {
        atomic_fetch_sub(&s->body_bytes, n);
        resp_error(&h->resp, 429, "this client is sending too much at once, retry later");
        resp_header(&h->resp, "Retry-After", "2");
        return -1;
    }
    h->accounted += n;
    return 0;
}

/*
 * Keeps a body chunk. A body of unknown length (chunked) is counted against
 * the budgets as it comes; one that passes its cap or a budget is read and
 * dropped from there on, and answered once it ends (MHD cannot answer in
 * the middle of a body). Returns -1 to close the connection when a dropped
 * body goes on far past its cap.
 */
static int take_body(struct hreq *h, const char *p, size_t n)
{
    size_t got = n;

    if (h->hc != NULL)
        got = atomic_fetch_add(&h->hc->got, n) + n;
    if (h->discard)
        return got / 2 > h->limit ? -1 : 0;
    if (h->body.len + n > h->limit) {
        resp_error(&h->resp, 413, "request body exceeds %zu bytes", h->limit);
        h->discard = 1;
        drop_body(h);
        return 0;
    }
    if (h->accounted < h->body.len + n && reserve(h, h->body.len + n - h->accounted) < 0) {
        h->discard = 1;
        drop_body(h);
        return 0;
    }
    if (buf_add(&h->body, p, n) < 0) {
        resp_error(&h->resp, 413, "request body exceeds %zu bytes", h->limit);
        h->discard = 1;
        drop_body(h);
    }
    return 0;
}

/* What MHD saw of the framing headers (it uses the first Content-Length only). */
struct framing {
    const char *length; /* the first Content-Length */
    int lengths_differ; /* another Content-Length with a different value */
    const char *coding; /* Transfer-Encoding */
    int codings;
};

static enum MHD_Result framing_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (value == NULL)
        return MHD_YES;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (f->length == NULL)
            f->length = value;
        else if (strcmp(f->length, value) != 0)
            f->lengths_differ = 1;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->coding = value;
        f->codings++;
    }
    return MHD_YES;
}

/*
 * Refuses ambiguous message framing (the root of request smuggling):
 * conflicting lengths, a length beside a transfer coding, a coding other
 * than chunked. Sets *declared (0 when unknown) and *has_body.
 */
static int check_framing(struct hreq *h, unsigned long long *declared, int *has_body)
{
    struct framing f = { 0 };

    MHD_get_connection_values(h->conn, MHD_HEADER_KIND, framing_scan, &f);
    *declared = f.length != NULL ? strtoull(f.length, NULL, 10) : 0; /* digits: MHD checked */
    *has_body = f.coding != NULL || *declared > 0;
    if (f.lengths_differ) {
        resp_error(&h->resp, 400, "conflicting Content-Length headers");
        return -1;
    }
    if (f.coding != NULL && f.length != NULL) {
        resp_error(&h->resp, 400, "both Content-Length and Transfer-Encoding");
        return -1;
    }
    if (f.coding != NULL && (f.codings > 1 || strcasecmp(f.coding, "chunked") != 0)) {
        resp_error(&h->resp, 501, "only the chunked transfer coding is supported");
        return -1;
    }
    return 0;
}

static size_t route_body_limit(const struct http_server *s, const struct route *r)
{
    return r->max_body < s->cfg.max_body ? r->max_body : s->cfg.max_body;
}

/*
 * First callback: headers only. A request's fate is decided here: a refused
 * one is answered at once and MHD drops its body unread (and closes the
 * connection), so nothing an unauthenticated client sends is kept or counted.
 * Returns 1 when the answer is to be sent now.
 */
static int on_headers(struct hreq *h)
{
    unsigned long long declared;
    int status = 404, has_body;

    if (check_framing(h, &declared, &has_body) < 0)
        return 1;
    if (api_route(&h->req, &status) == NULL) {
        resp_error(&h->resp, status, status == 404 ? "not found" : "method not allowed");
        return has_body; /* without a body, answer on the next callback: keep-alive */
    }
    h->limit = route_body_limit(h->srv, h->req.route);
    if (has_body && h->limit == 0) {
        resp_error(&h->resp, 413, "this URL takes no request body");
        return 1;
    }
    if (declared > h->limit) {
        resp_error(&h->resp, 413, "request body exceeds %zu bytes", h->limit);
        return 1;
    }
    if (h->req.route->early != NULL)
        h->req.route->early(&h->req, &h->resp);
    if (h->resp.status != 0)
        return 1;
    if (declared > 0 && reserve(h, (size_t)declared) < 0)
        return 1;
    buf_release(&h->body);
    buf_init(&h->body, h->limit);
    if (h->hc != NULL)
        atomic_store(&h->hc->cap, h->limit);
    return 0;
}

static enum MHD_Result on_body_done(struct hreq *h)
{
    if (h->state == HS_RESUMED || h->state == HS_DONE_EARLY) {
        if (h->req.finish != NULL)
            h->req.finish(&h->req, &h->resp);
        return send_resp(h);
    }
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
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **ctx)
{
    struct hreq *h = *ctx;

    (void)version;
    if (h == NULL) {
        h = hreq_new(cls, c, url, method);
        *ctx = h;
        atomic_fetch_add(&h->srv->live, 1);
        phase_set(h->hc, PH_BODY);
        if (on_headers(h))
            return send_resp(h);
        h->state = HS_BODY;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        int rc = take_body(h, upload_data, *upload_data_size);

        *upload_data_size = 0;
        return rc < 0 ? MHD_NO : MHD_YES;
    }
    if (h->state == HS_BODY)
        phase_set(h->hc, PH_BUSY);
    if (h->state == HS_RESUMED)
        atomic_fetch_sub(&h->srv->suspended, 1);
    return on_body_done(h);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;

    (void)toe;
    if (*ctx != NULL) {
        hreq_free(*ctx);
        atomic_fetch_sub(&s->live, 1);
    }
    *ctx = NULL;
    phase_set(conn_hconn(c), PH_HEADERS); /* keep-alive: the next request's headers */
}

/* Accept-time pre-check: an address at its connection share is refused before any work. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct http_server *s = cls;
    struct peer_key k;

    (void)len;
    peer_key_of(addr, &k);
    return peers_conn_full(s->peers, &k) ? MHD_NO : MHD_YES;
}

static void on_conn_started(struct http_server *s, struct MHD_Connection *c, void **socket_ctx)
{
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(
        c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c,
                                                                 MHD_CONNECTION_INFO_CONNECTION_FD);
    struct hconn *hc = xcalloc(1, sizeof(*hc));

    peer_key_of(ai != NULL ? ai->client_addr : NULL, &hc->peer);
    hc->fd = fi != NULL ? fi->connect_fd : MHD_INVALID_SOCKET;
    phase_set(hc, PH_HEADERS);
    /* the firm check: on_accept's can race between pool threads */
    hc->counted = peers_conn_open(s->peers, &hc->peer) == 0;
    pthread_mutex_lock(&s->conns_mu);
    hc->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = hc;
    s->conns = hc;
    if (!hc->counted && hc->fd != MHD_INVALID_SOCKET) {
        shutdown(hc->fd, SHUT_RDWR); /* MHD sees the end of the stream and closes it */
        hc->cut = 1;
    }
    pthread_mutex_unlock(&s->conns_mu);
    *socket_ctx = hc;
}

/* MHD calls this before it closes the socket, so the reaper never shuts a reused fd. */
static void on_conn_closed(struct http_server *s, void **socket_ctx)
{
    struct hconn *hc = *socket_ctx;

    if (hc == NULL)
        return;
    pthread_mutex_lock(&s->conns_mu);
    if (hc->prev != NULL)
        hc->prev->next = hc->next;
    else
        s->conns = hc->next;
    if (hc->next != NULL)
        hc->next->prev = hc->prev;
    pthread_mutex_unlock(&s->conns_mu);
    if (hc->counted)
        peers_conn_close(s->peers, &hc->peer);
    free(hc);
    *socket_ctx = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        on_conn_started(cls, c, socket_ctx);
    else
        on_conn_closed(cls, socket_ctx);
}

/* When the current phase of hc must be over, in clock_mono_us; INT64_MAX: no deadline. */
static int64_t deadline_of(const struct http_config *cfg, struct hconn *hc)
{
    int64_t since = atomic_load(&hc->since);
    size_t got = atomic_load(&hc->got), cap = atomic_load(&hc->cap);

    switch (atomic_load(&hc->phase)) {
    case PH_HEADERS:
        return since + (int64_t)cfg->header_timeout_s * 1000000;
    case PH_BODY:
        /* like Apache's mod_reqtimeout: a fixed time, plus one second per
           min_body_rate bytes received, up to the body's cap: a total bound */
        if (got > cap)
            got = cap;
        return since + (int64_t)cfg->body_timeout_s * 1000000 +
               (int64_t)((uint64_t)got * 1000000 / cfg->min_body_rate);
    default:
        return INT64_MAX;
    }
}

/*
 * The reaper: a few times a second, shuts down every connection past its
 * deadline. MHD only calls the application once headers are complete and
 * has no total deadline of its own, so this runs beside it: shutdown() makes
 * MHD see the end of the stream on its next read and close the connection
 * in its own thread. The list lock is held across shutdown() and MHD takes
 * it (on_conn_closed) before closing a socket, so the fd is still this
 * connection's.
 */
static void *reaper_main(void *arg)
{
    struct http_server *s = arg;
    struct timespec ts;

    pthread_mutex_lock(&s->conns_mu);
    while (!s->reaper_stop) {
        int64_t now = clock_mono_us();

        for (struct hconn *hc = s->conns; hc != NULL; hc = hc->next) {
            if (hc->cut || hc->fd == MHD_INVALID_SOCKET || now <= deadline_of(&s->cfg, hc))
                continue;
            shutdown(hc->fd, SHUT_RDWR);
            hc->cut = 1;
            log_debug("http: closed a connection past its %s deadline",
                      atomic_load(&hc->phase) == PH_HEADERS ? "header" : "body");
        }
        streams_wake(s, 0);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->reaper_cv, &s->conns_mu, &ts);
    }
    pthread_mutex_unlock(&s->conns_mu);
    return NULL;
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
    /* MHD reports mostly single connections (a client hung up mid-request):
       at any level above debug, hostile clients could flood the log */
    log_debug("http: %s", msg);
}

static int resolve(const char *host, int port, struct sockaddr_storage *sa, socklen_t *salen,
                   struct bl_err *err)
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
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/*
 * The listening socket, made here rather than by MHD so that a taken port
 * is a clear error: SO_REUSEADDR only (a restart need not wait for
 * TIME_WAIT), never SO_REUSEPORT, which would let a second server share the
 * port and split the requests.
 */
static int listen_on(const struct http_config *cfg, int *fd_out, int *port_out, struct bl_err *err);

int http_listen(const char *host, int port, int *fd_out, struct bl_err *err)
{
    struct http_config cfg;
    int bound;

    memset(&cfg, 0, sizeof(cfg));
    cfg.host = host;
    cfg.port = port;
    return listen_on(&cfg, fd_out, &bound, err);
}

static int listen_on(const struct http_config *cfg, int *fd_out, int *port_out, struct bl_err *err)
{
    struct sockaddr_storage sa;
    socklen_t salen = 0;
    int fd, on = 1, rc;

    rc = resolve(cfg->host, cfg->port, &sa, &salen, err);
    if (rc < 0)
        return rc;
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "cannot create a socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;

        close(fd);
        if (e == EADDRINUSE)
            return bl_err_set(err, BL_EIO,
                              "cannot listen on %s:%d: the port is already in use "
                              "(another bilor serve?)",
                              cfg->host, cfg->port);
        return bl_err_set(err, BL_EIO, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
                          strerror(e));
    }
    salen = sizeof(sa);
    *port_out = cfg->port;
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
        *port_out = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                   : ((struct sockaddr_in *)&sa)->sin_port);
    *fd_out = fd;
    return 0;
}

static int start_reaper(struct http_server *s)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&s->conns_mu, NULL);
    pthread_mutex_init(&s->streams_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->reaper_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0)
        return -1;
    s->reaper_running = 1;
    return 0;
}

static void stop_reaper(struct http_server *s)
{
    if (s->reaper_running) {
        pthread_mutex_lock(&s->conns_mu);
        s->reaper_stop = 1;
        pthread_cond_signal(&s->reaper_cv);
        pthread_mutex_unlock(&s->conns_mu);
        pthread_join(s->reaper, NULL);
        s->reaper_running = 0;
    }
}

static void server_free(struct http_server *s)
{
    stop_reaper(s);
    peers_free(s->peers);
    pthread_cond_destroy(&s->reaper_cv);
    pthread_mutex_destroy(&s->conns_mu);
    pthread_mutex_destroy(&s->streams_mu);
    free(s);
}

int http_start(struct http_server **out, struct app *app, const struct http_config *cfg,
               struct bl_err *err)
{
    struct http_server *s;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    size_t share = cfg->per_ip_inflight;
    int fd = -1, port = 0, rc;

    if (share == 0) /* derived: a quarter of the budget, but room for one largest body */
        share = cfg->max_inflight / 4 > cfg->max_body ? cfg->max_inflight / 4 : cfg->max_body;
    else if (share < cfg->max_body) {
        if (cfg->listen_fd >= 0)
            close(cfg->listen_fd);
        return bl_err_set(err, BL_EINVAL,
                          "the per-client in-flight share (%zu) is below the largest body "
                          "(%zu): such bodies could never be received",
                          share, cfg->max_body);
    }
    if (cfg->listen_fd >= 0) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);

        fd = cfg->listen_fd;
        port = cfg->port;
        if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
            port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                  : ((struct sockaddr_in *)&sa)->sin_port);
    } else {
        rc = listen_on(cfg, &fd, &port, err);
        if (rc < 0)
            return rc;
    }
    s = xcalloc(1, sizeof(*s));
    s->app = app;
    s->cfg = *cfg;
    s->cfg.per_ip_inflight = share;
    s->cfg.min_body_rate = cfg->min_body_rate > 0 ? cfg->min_body_rate : 1;
    s->port = port;
    if (cfg->trusted_proxy != NULL && cfg->trusted_proxy[0] != '\0') {
        if (parse_addr(cfg->trusted_proxy, strlen(cfg->trusted_proxy), &s->proxy) < 0) {
            close(fd);
            free(s);
            return bl_err_set(err, BL_EINVAL, "--trusted-proxy wants an IP address, not '%s'",
                              cfg->trusted_proxy);
        }
        s->has_proxy = 1;
    }
    if (cfg->tls_cert_pem != NULL)
        flags |= MHD_USE_TLS;
    /* entries: one per connection, plus one per request counted elsewhere (proxies later) */
    s->peers = peers_new((size_t)cfg->max_connections * 2, cfg->per_ip_connections, share);
    if (start_reaper(s) < 0) {
        close(fd);
        server_free(s);
        return bl_err_set(err, BL_EIO, "cannot start the HTTP reaper thread");
    }
    s->daemon = MHD_start_daemon(
        flags, 0, on_accept, s, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        s, cfg->tls_cert_pem != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
        cfg->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, cfg->tls_key_pem, MHD_OPTION_END);
    if (s->daemon == NULL) {
        close(fd);
        server_free(s);
        return bl_err_set(err, BL_EIO, "cannot start the HTTP server on %s:%d", cfg->host,
                          cfg->port);
    }
    *out = s;
    return 0;
}

int http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

int http_port(const struct http_server *s)
{
    return s->port;
}

void http_quiesce(struct http_server *s)
{
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);

    streams_wake(s, 1); /* live tails end: nothing holds the drain below */
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
    stop_reaper(s);
    streams_wake(s, 1); /* MHD must not be stopped with suspended connections */
    for (int waited = 0; waited < 2000; waited += 10) {
        int left;

        pthread_mutex_lock(&s->streams_mu);
        left = s->streams != NULL;
        pthread_mutex_unlock(&s->streams_mu);
        if (!left)
            break;
        streams_wake(s, 1);
        nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
    }
    MHD_stop_daemon(s->daemon);
    server_free(s);
}
