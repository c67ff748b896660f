/*
 * http.c - the HTTP listener's request lifecycle over libmicrohttpd: headers
 * (framing, route, early checks), the capped body, the handler, and the
 * suspend/resume around journal waits. Answers are in http_resp.c, the
 * daemon, its connections and the reaper in http_server.c.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "http/http_int.h"
#include "core/banned.h"

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

void http_phase_set(struct hconn *hc, int phase)
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
int http_parse_addr(const char *s, size_t len, struct sockaddr_storage *ss)
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
        if (http_parse_addr(last, strlen(last), &fwd) == 0) {
            sa = (const struct sockaddr *)&fwd;
            peer_key_of(sa, out);
        }
    }
    addr_text(sa, text, sizeof(text));
    h->req.client_ip = pool_strdup(h->pool, text);
}

static struct hreq *hreq_new(struct http_server *srv, struct MHD_Connection *c, const char *url,
                             const char *method)
{
    struct hreq *h = xcalloc(1, sizeof(*h));

    h->srv = srv;
    h->conn = c;
    h->hc = conn_hconn(c);
    pthread_mutex_init(&h->mu, NULL);
    if (h->hc != NULL) {
        h->pool = &h->hc->pool;
    } else {
        pool_init(&h->own, 8192);
        h->pool = &h->own;
    }
    buf_init(&h->body, 0);
    resp_init(&h->resp);
    h->req.method = method_of(method);
    h->req.path = srv->cfg.path_prefix != NULL
                      ? pool_printf(h->pool, "%s%s", srv->cfg.path_prefix, url)
                      : pool_strdup(h->pool, url);
    h->req.pool = h->pool;
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
    if (h->pool == &h->own)
        pool_release(&h->own);
    else
        pool_reset(h->pool); /* the connection's next request starts on its chunk */
    pthread_mutex_destroy(&h->mu);
    free(h);
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
        return http_send_resp(h);
    }
    if (h->resp.status == 0) {
        h->req.body = (struct slice){ h->body.p, h->body.len };
        h->req.route->handler(&h->req, &h->resp);
    }
    if (!h->resp.pending)
        return http_send_resp(h);
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

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **ctx)
{
    struct hreq *h = *ctx;

    (void)version;
    if (h == NULL) {
        h = hreq_new(cls, c, url, method);
        *ctx = h;
        atomic_fetch_add(&h->srv->live, 1);
        http_phase_set(h->hc, PH_BODY);
        if (on_headers(h))
            return http_send_resp(h);
        h->state = HS_BODY;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        int rc = take_body(h, upload_data, *upload_data_size);

        *upload_data_size = 0;
        return rc < 0 ? MHD_NO : MHD_YES;
    }
    if (h->state == HS_BODY)
        http_phase_set(h->hc, PH_BUSY);
    if (h->state == HS_RESUMED)
        atomic_fetch_sub(&h->srv->suspended, 1);
    return on_body_done(h);
}

void http_on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                       enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;

    (void)toe;
    if (*ctx != NULL) {
        hreq_free(*ctx);
        atomic_fetch_sub(&s->live, 1);
    }
    *ctx = NULL;
    http_phase_set(conn_hconn(c), PH_HEADERS); /* keep-alive: the next request's headers */
}
