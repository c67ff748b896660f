/*
 * http_req.c - what both HTTP engines share of a request's life: who the
 * client is, the framing check, the route and its early check on the
 * headers alone, the body budgets, and the headers every answer carries.
 * libmicrohttpd's glue is http.c, the lean ingest loop hfast.c; each reads
 * the wire its own way and calls these in the same order, so a request is
 * refused, limited and answered alike whichever engine read it.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/metrics.h"
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

int http_method_of(const char *m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(m, methods[i].name) == 0)
            return methods[i].method;
    return BL_OTHER;
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
 * req.client_ip for the API's throttling): the socket's peer sa, or, when
 * that peer is the --trusted-proxy, the last address of X-Forwarded-For
 * (xff; the one the proxy itself saw; earlier entries are the client's to
 * invent). From anyone else the header is ignored.
 */
static void request_client(struct hreq *h, const struct sockaddr *sa, const char *xff)
{
    struct sockaddr_storage fwd;
    char text[INET6_ADDRSTRLEN];

    if (h->hc != NULL)
        h->client = h->hc->peer;
    else
        memset(&h->client, 0, sizeof(h->client));
    if (h->srv->has_proxy && same_addr(sa, &h->srv->proxy) && xff != NULL) {
        const char *last = strrchr(xff, ',');

        last = last != NULL ? last + 1 : xff;
        if (http_parse_addr(last, strlen(last), &fwd) == 0) {
            sa = (const struct sockaddr *)&fwd;
            peer_key_of(sa, &h->client);
        }
    }
    addr_text(sa, text, sizeof(text));
    h->req.client_ip = pool_strdup(h->pool, text);
    memcpy(h->req.client, h->client.b, sizeof(h->req.client));
}

struct hreq *hreq_new(struct http_server *srv, void *conn, struct hconn *hc, const char *url,
                      const char *method, const struct sockaddr *peer, const char *xff)
{
    struct hreq *h = xcalloc(1, sizeof(*h));

    h->srv = srv;
    h->conn = conn;
    h->hc = hc;
    pthread_mutex_init(&h->mu, NULL);
    if (h->hc != NULL) {
        h->pool = &h->hc->pool;
    } else {
        pool_init(&h->own, 8192);
        h->pool = &h->own;
    }
    buf_init(&h->body, 0);
    resp_init(&h->resp);
    h->req.method = http_method_of(method);
    h->req.path = srv->cfg.path_prefix != NULL
                      ? pool_printf(h->pool, "%s%s", srv->cfg.path_prefix, url)
                      : pool_strdup(h->pool, url);
    h->req.pool = h->pool;
    h->req.app = srv->app;
    h->req.received_at = clock_now_us();
    h->req.conn = conn;
    request_client(h, peer, xff); /* after pool_init: client_ip lives in the pool */
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

void hreq_free(struct hreq *h)
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

/* The body is refused from here on: its bytes are read and dropped. */
static void discard(struct hreq *h)
{
    h->discard = 1;
    drop_body(h);
}

/*
 * Keeps a body chunk. A body of unknown length (chunked) is counted against
 * the budgets as it comes; one that passes its cap or a budget is read and
 * dropped from there on, and answered once it ends (MHD cannot answer in
 * the middle of a body). Returns -1 to close the connection when a dropped
 * body goes on far past its cap.
 */
int http_take_body(struct hreq *h, const char *p, size_t n)
{
    size_t got = n;

    if (h->hc != NULL)
        got = atomic_fetch_add(&h->hc->got, n) + n;
    if (h->discard)
        return got / 2 > h->limit ? -1 : 0;
    if (h->body.len + n > h->limit) {
        resp_error(&h->resp, 413, "request body exceeds %zu bytes", h->limit);
        discard(h);
        return 0;
    }
    if (h->accounted < h->body.len + n && reserve(h, h->body.len + n - h->accounted) < 0) {
        discard(h);
        return 0;
    }
    if (buf_add(&h->body, p, n) < 0) {
        resp_error(&h->resp, 413, "request body exceeds %zu bytes", h->limit);
        discard(h);
    }
    return 0;
}

/* One request header, as the engine reads them: the framing ones are noted. */
void http_framing_add(struct http_framing *f, const char *key, const char *value)
{
    if (value == NULL)
        return;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (f->length == NULL)
            f->length = value;
        else if (strcmp(f->length, value) != 0)
            f->lengths_differ = 1;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->coding = value;
        f->codings++;
    }
}

/*
 * Refuses ambiguous message framing (the root of request smuggling):
 * conflicting lengths, a length beside a transfer coding, a coding other
 * than chunked. Sets *declared (0 when unknown) and *has_body. The engine
 * has checked that a Content-Length is digits only.
 */
static int check_framing(struct hreq *h, const struct http_framing *f, unsigned long long *declared,
                         int *has_body)
{
    *declared = f->length != NULL ? strtoull(f->length, NULL, 10) : 0;
    *has_body = f->coding != NULL || *declared > 0;
    if (f->lengths_differ) {
        resp_error(&h->resp, 400, "conflicting Content-Length headers");
        return -1;
    }
    if (f->coding != NULL && f->length != NULL) {
        resp_error(&h->resp, 400, "both Content-Length and Transfer-Encoding");
        return -1;
    }
    if (f->coding != NULL && (f->codings > 1 || strcasecmp(f->coding, "chunked") != 0)) {
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
 * Headers only. A request's fate is decided here: a refused one is answered
 * at once and its body is never read (the connection is closed), so nothing
 * an unauthenticated client sends is kept or counted. Returns 1 when the
 * answer is to be sent now (then *has_body says whether a body follows,
 * unread), 0 to read the body (an unknown path without a body is answered
 * after it, as the handler's answer would be).
 */
int http_on_headers(struct hreq *h, const struct http_framing *f, int *has_body)
{
    unsigned long long declared;
    int status = 404;

    if (check_framing(h, f, &declared, has_body) < 0)
        return 1;
    if (api_route(&h->req, &status) == NULL) {
        resp_error(&h->resp, status, status == 404 ? "not found" : "method not allowed");
        return *has_body; /* without a body, answered once it is "read": keep-alive */
    }
    h->limit = route_body_limit(h->srv, h->req.route);
    if (*has_body && h->limit == 0) {
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

/* The whole body is in: the handler runs unless the headers already decided. */
void http_run_handler(struct hreq *h)
{
    if (h->resp.status == 0) {
        h->req.body = (struct slice){ h->body.p, h->body.len };
        h->req.route->handler(&h->req, &h->resp);
    }
}

/*
 * Journal flusher thread: the record is durable. Returns 1 when the engine
 * must now wake the request (it was waiting), 0 when the handler has not
 * yet returned (it will see HS_DONE_EARLY and answer itself). h is not to
 * be touched by the caller after waking it: the engine may free it at once.
 */
int hreq_resumed(struct hreq *h)
{
    int wake;

    pthread_mutex_lock(&h->mu);
    wake = h->state == HS_SUSPENDED;
    h->state = wake ? HS_RESUMED : HS_DONE_EARLY;
    pthread_mutex_unlock(&h->mu);
    return wake;
}

/*
 * After the handler asked to wait: 1 when the engine must now park the
 * request (state HS_SUSPENDED, counted in srv->suspended, park() called
 * under the request's lock so a resume cannot pass it), 0 when the record
 * was already durable and the answer can be finished now.
 */
int hreq_park(struct hreq *h, void (*park)(void *conn), void *conn)
{
    pthread_mutex_lock(&h->mu);
    if (h->state == HS_DONE_EARLY) {
        pthread_mutex_unlock(&h->mu);
        return 0;
    }
    h->state = HS_SUSPENDED;
    atomic_fetch_add(&h->srv->suspended, 1);
    if (park != NULL)
        park(conn);
    pthread_mutex_unlock(&h->mu);
    return 1;
}

/* Whether the handler set header name (its own value wins, e.g. the UI's CSP). */
static int has_header(const struct bl_resp *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return 1;
    return 0;
}

static void add_default(const struct bl_resp *resp, const char *name, const char *value,
                        http_header_fn fn, void *arg)
{
    if (!has_header(resp, name))
        fn(arg, name, value);
}

/*
 * Every header of h's answer but the framing ones (length, connection):
 * the content type, the handler's own, CORS on the ingest doors, and those
 * every answer carries; pages and API answers (any route that is not a
 * CORS ingest door) may also never be framed nor run inline script. A
 * handler that set one of them (the UI's own CSP, an attachment's sandbox)
 * keeps its value.
 */
void http_resp_headers(const struct hreq *h, http_header_fn fn, void *arg)
{
    const struct bl_resp *resp = &h->resp;
    const struct route *route = h->req.route;

    if (resp->content_type != NULL)
        fn(arg, "Content-Type", resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++)
        fn(arg, resp->headers[i].name, resp->headers[i].value);
    if (route == NULL || (route->flags & ROUTE_CORS)) {
        fn(arg, "Access-Control-Allow-Origin", "*");
        fn(arg, "Access-Control-Expose-Headers",
           "x-sentry-error, x-sentry-rate-limits, retry-after");
    }
    add_default(resp, "X-Content-Type-Options", "nosniff", fn, arg);
    add_default(resp, "Referrer-Policy", "same-origin", fn, arg);
    if (route != NULL && (route->flags & ROUTE_CORS))
        return;
    add_default(resp, "X-Frame-Options", "DENY", fn, arg);
    add_default(resp, "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; object-src 'none'; "
                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
                fn, arg);
}

/* The answer is on its way: counted by route and status. */
void http_resp_count(const struct hreq *h)
{
    metrics_request(h->srv->app->metrics, h->req.route ? h->req.route->door : DOOR_OTHER,
                    h->resp.status);
}
