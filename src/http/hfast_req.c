/*
 * hfast_req.c - the lean ingest loop's requests (hfast.h): the head through
 * h1.c, the steps shared with libmicrohttpd's side (http_req.c), the body
 * by Content-Length or chunks, the park while the journal writes, and the
 * answer's bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xmalloc.h"
#include "http/hfast.h"
#include "http/http_int.h"
#include "core/banned.h"

#define HEAD_MAX (32 * 1024) /* as hfast.c's IN_MAX: a head must fit the read buffer */

int hf_is_ingest(struct http_server *srv, const char *method, size_t mlen, const char *path,
                 size_t plen)
{
    char full[2048];
    struct bl_req req;
    const struct route *r;
    const char *prefix = srv->cfg.path_prefix != NULL ? srv->cfg.path_prefix : "";
    size_t pre = strlen(prefix);
    int status;

    if (mlen != 4 || memcmp(method, "POST", 4) != 0 || pre + plen >= sizeof(full) ||
        memchr(path, '\0', plen) != NULL)
        return 0;
    memcpy(full, prefix, pre);
    memcpy(full + pre, path, plen);
    full[pre + plen] = '\0';
    memset(&req, 0, sizeof(req));
    req.method = BL_POST;
    req.path = full;
    r = api_route(&req, &status);
    return r != NULL && r->method == BL_POST &&
           (r->door == DOOR_STORE || r->door == DOOR_ENVELOPE || r->door == DOOR_LOGS);
}

static struct fconn *conn_of(void *conn)
{
    return conn;
}

static const char *fc_header(void *conn, const char *name)
{
    struct slice v = h1_header_get(&conn_of(conn)->head, name);

    return v.p; /* NUL-terminated in the request's copy (keep_head) */
}

static const char *fc_query(void *conn, const char *name)
{
    struct fconn *c = conn_of(conn);

    for (size_t i = 0; i < c->nargs; i++)
        if (strcasecmp(c->arg_name[i], name) == 0) /* libmicrohttpd compares without case */
            return c->arg_value[i];
    return NULL;
}

static void fc_query_each(void *conn, int (*fn)(void *arg, const char *name, const char *value),
                          void *arg)
{
    struct fconn *c = conn_of(conn);

    for (size_t i = 0; i < c->nargs; i++)
        if (fn(arg, c->arg_name[i], c->arg_value[i]) != 0)
            return;
}

static int keep_arg(void *arg, const char *name, const char *value)
{
    struct fconn *c = arg;

    if (c->nargs == HF_ARGS_MAX)
        return 1;
    c->arg_name[c->nargs] = name;
    c->arg_value[c->nargs] = value;
    c->nargs++;
    return 0;
}

/* Journal flusher thread: the record is durable. */
static void fc_resume(struct bl_req *req)
{
    struct hreq *h = (struct hreq *)((char *)req - offsetof(struct hreq, req));
    struct fconn *c = h->conn;

    if (hreq_resumed(h))
        hf_wake(c);
}

static void park(void *conn)
{
    conn_of(conn)->state = FC_WAIT;
}

static void rebase(struct slice *x, const char *from, char *to)
{
    if (x->p != NULL)
        x->p = to + (x->p - from);
}

/*
 * Moves the head out of the read buffer, which the body's bytes will reuse,
 * into the request's pool (reset when the request ends), and ends its
 * strings where their slices end: the byte after each is one the parser
 * already passed (a separator, a line end or a trimmed blank), so handlers
 * get C strings without a copy each.
 */
static void keep_head(struct fconn *c)
{
    struct h1_head *hd = &c->head;
    const char *from = c->in + c->in_off;
    char *to = pool_memdup(&c->hc->pool, from, hd->len);

    rebase(&hd->method, from, to);
    rebase(&hd->target, from, to);
    rebase(&hd->path, from, to);
    rebase(&hd->query, from, to);
    ((char *)hd->method.p)[hd->method.len] = '\0';
    ((char *)hd->path.p)[hd->path.len] = '\0';
    if (hd->query.p != NULL)
        ((char *)hd->query.p)[hd->query.len] = '\0';
    for (size_t i = 0; i < hd->nheaders; i++) {
        struct h1_header *x = &hd->headers[i];

        rebase(&x->name, from, to);
        rebase(&x->value, from, to);
        ((char *)x->name.p)[x->name.len] = '\0';
        ((char *)x->value.p)[x->value.len] = '\0';
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

static void add_header(void *arg, const char *name, const char *value)
{
    struct buf *out = arg;

    buf_addstr(out, name);
    buf_add(out, ": ", 2);
    buf_addstr(out, value);
    buf_add(out, "\r\n", 2);
}

/* The Date header's value, formatted once a second per thread. */
static const char *date_now(void)
{
    static _Thread_local char text[64];
    static _Thread_local time_t at;
    time_t now = time(NULL);
    struct tm tm;

    if (now != at && gmtime_r(&now, &tm) != NULL) {
        strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        at = now;
    }
    return text;
}

void hf_request_drop(struct fconn *c)
{
    if (c->h == NULL)
        return;
    hreq_free(c->h);
    c->h = NULL;
    atomic_fetch_sub(&hf_server(c)->live, 1);
}

/* The answer's bytes into c->out, and the request is over. Returns 1 (go on: FC_SEND). */
static int answer(struct fconn *c)
{
    struct hreq *h = c->h;
    struct bl_resp *resp = &h->resp;

    if (resp->stream != NULL) { /* no ingest door streams; never a half-served one */
        resp->stream_free(resp->stream_ctx);
        resp->stream = NULL;
        resp_error(resp, 500, "this answer cannot be streamed here");
    }
    if (resp->status == 0)
        resp_error(resp, 500, "handler gave no answer");
    buf_addf(&c->out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", resp->status, reason(resp->status),
             date_now());
    http_resp_headers(h, add_header, &c->out);
    buf_addf(&c->out, "Content-Length: %zu\r\n%s\r\n", resp->body.len,
             c->close_after ? "Connection: close\r\n" : "");
    buf_add(&c->out, resp->body.p, resp->body.len);
    http_resp_count(h);
    hf_request_drop(c);
    c->state = FC_SEND;
    return 1;
}

/* A head the parser refused: answered, then the connection closes. */
static int refuse_head(struct fconn *c, int status, const struct bl_err *err)
{
    struct http_server *s = hf_server(c);

    c->h = hreq_new(s, c, c->hc, "/", "GET", (struct sockaddr *)&c->addr, NULL);
    atomic_fetch_add(&s->live, 1);
    resp_error(&c->h->resp, status, "%s", bl_err_msg(err));
    c->close_after = 1;
    c->in_off = c->in_len; /* nothing after a bad head can be trusted */
    return answer(c);
}

/* Whether the client asked to close after this request. */
static int wants_close(const struct h1_head *hd)
{
    struct slice v = h1_header_get(hd, "Connection");

    if (hd->minor == 0) /* HTTP/1.0: closed unless kept alive, which is not worth it here */
        return 1;
    if (v.p == NULL)
        return 0;
    for (size_t i = 0; i + 5 <= v.len; i++)
        if (strncasecmp(v.p + i, "close", 5) == 0 &&
            (i == 0 || v.p[i - 1] == ' ' || v.p[i - 1] == ',') &&
            (i + 5 == v.len || v.p[i + 5] == ' ' || v.p[i + 5] == ','))
            return 1;
    return 0;
}

/* The framing headers, as http_req.c reads them; -1 on a Content-Length that is not a number. */
static int scan_framing(const struct h1_head *hd, struct http_framing *f)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < hd->nheaders; i++) {
        const struct h1_header *x = &hd->headers[i];
        uint64_t n;

        if (slice_eqi(x->name, "Content-Length") && h1_content_length(x->value, &n) != H1_OK)
            return -1;
        http_framing_add(f, x->name.p, x->value.p);
    }
    return 0;
}

static struct hreq *request_new(struct fconn *c)
{
    struct h1_head *hd = &c->head;
    struct slice xff = h1_header_get(hd, "X-Forwarded-For");
    struct hreq *h = hreq_new(hf_server(c), c, c->hc, hd->path.p, hd->method.p,
                              (struct sockaddr *)&c->addr, xff.p);

    h->req.header_fn = fc_header;
    h->req.query_fn = fc_query;
    h->req.query_each_fn = fc_query_each;
    h->req.resume = fc_resume;
    c->nargs = 0;
    return h;
}

/* The body's framing once the headers let it in; sends 100 Continue when asked. */
static void body_begin(struct fconn *c, const struct http_framing *f)
{
    struct slice expect = h1_header_get(&c->head, "Expect");

    c->chunked = f->coding != NULL;
    c->body_left = f->length != NULL ? strtoull(f->length, NULL, 10) : 0;
    if (c->chunked) {
        h1_chunked_init(&c->ck);
        buf_release(&c->dechunk);
        buf_init(&c->dechunk, c->h->limit);
    }
    if (expect.p != NULL && slice_eqi(expect, "100-continue") && c->head.minor == 1 &&
        (c->chunked || c->body_left > 0) && c->in_off == c->in_len)
        buf_addstr(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
    c->state = FC_BODY;
}

/*
 * A complete head: an ingest POST starts here, anything else goes to
 * libmicrohttpd with the rest of the connection. Returns as the steps do.
 */
static int start_request(struct fconn *c)
{
    struct h1_head *hd = &c->head;
    struct http_server *s = hf_server(c);
    struct http_framing f;
    int has_body;

    if (!hf_is_ingest(s, hd->method.p, hd->method.len, hd->path.p, hd->path.len)) {
        hf_relay(c);
        return -1;
    }
    keep_head(c);
    c->h = request_new(c);
    atomic_fetch_add(&s->live, 1);
    http_phase_set(c->hc, PH_BODY);
    c->in_off += hd->len;
    c->close_after = wants_close(hd);
    if (scan_framing(hd, &f) < 0) {
        resp_error(&c->h->resp, 400, "Content-Length is not a number");
        c->close_after = 1;
        return answer(c);
    }
    if (hd->minor == 1 && h1_header_get(hd, "Host").p == NULL) { /* RFC 9112 3.2: MUST */
        resp_error(&c->h->resp, 400, "an HTTP/1.1 request needs a Host header");
        c->close_after = 1;
        return answer(c);
    }
    if (hd->query.p != NULL && h1_query_each(hd->query, c->h->pool, keep_arg, c) < 0) {
        resp_error(&c->h->resp, 400, "malformed query string");
        c->close_after = 1;
        return answer(c);
    }
    if (http_on_headers(c->h, &f, &has_body)) {
        if (has_body) /* its body is never read: the connection cannot go on */
            c->close_after = 1;
        return answer(c);
    }
    body_begin(c, &f);
    return 1;
}

/*
 * Parses the coming head only when new bytes hold a line end (a head can
 * only end on one): a client trickling its head byte by byte costs a parse
 * per line, not one per byte over the whole head.
 */
static int step_head(struct fconn *c)
{
    struct bl_err err = { 0, "" };
    int status = 400;

    for (;;) {
        size_t avail = c->in_len - c->in_off;
        long r;

        if (avail > c->head_seen &&
            memchr(c->in + c->in_off + c->head_seen, '\n', avail - c->head_seen) != NULL) {
            int rc = h1_parse_head(c->in + c->in_off, avail, HEAD_MAX, &c->head, &status, &err);

            c->head_seen = avail;
            if (rc == H1_OK) {
                c->head_seen = 0;
                return start_request(c);
            }
            if (rc == H1_BAD)
                return refuse_head(c, status, &err);
        } else if (avail >= HEAD_MAX) {
            bl_err_set(&err, BL_ETOOBIG, "request head larger than %d bytes", HEAD_MAX);
            return refuse_head(c, 431, &err);
        }
        c->head_seen = avail;
        r = hf_read(c);
        if (r < 0) {
            hf_close(c);
            return -1;
        }
        if (r == 0)
            return 0;
    }
}

/* The whole body is in: the handler, then the answer or the park. */
static int body_done(struct fconn *c)
{
    struct hreq *h = c->h;

    http_phase_set(c->hc, PH_BUSY);
    http_run_handler(h);
    if (h->resp.pending && hreq_park(h, park, c))
        return 0; /* FC_WAIT until hf_resumed */
    if (h->resp.pending && h->req.finish != NULL)
        h->req.finish(&h->req, &h->resp);
    return answer(c);
}

/* Feeds what c->in holds to the body. 1: complete, 0: more to come, -1: closed. */
static int feed_body(struct fconn *c)
{
    const char *p = c->in + c->in_off;
    size_t avail = c->in_len - c->in_off, used = avail;
    int rc = H1_PARTIAL, status = 400;
    struct bl_err err = { 0, "" };

    if (c->chunked) {
        rc = h1_chunked_feed(&c->ck, p, avail, &used, &c->dechunk, &status, &err);
        p = c->dechunk.p;
        avail = c->dechunk.len;
    } else if (avail > c->body_left) {
        avail = used = (size_t)c->body_left;
    }
    c->in_off += used;
    c->body_left -= c->chunked ? 0 : used;
    if (avail > 0 && http_take_body(c->h, p, avail) < 0) {
        hf_close(c);
        return -1;
    }
    buf_reset(&c->dechunk);
    if (rc == H1_BAD) { /* answered, and what follows is not a request we can find */
        if (c->h->resp.status == 0 || status == 413)
            resp_error(&c->h->resp, status, "%s", bl_err_msg(&err));
        c->h->discard = 1;
        c->close_after = 1;
        return 1;
    }
    return c->chunked ? rc == H1_OK : c->body_left == 0;
}

static int step_body(struct fconn *c)
{
    for (;;) {
        long r;

        if (c->in_off < c->in_len || (!c->chunked && c->body_left == 0)) {
            int rc = feed_body(c);

            if (rc < 0)
                return -1;
            if (rc == 1)
                return body_done(c);
        }
        if (c->out.len > 0 && hf_flush(c) < 0) { /* a 100 Continue */
            hf_close(c);
            return -1;
        }
        r = hf_read(c);
        if (r < 0) {
            hf_close(c);
            return -1;
        }
        if (r == 0)
            return 0;
    }
}

static int step_send(struct fconn *c)
{
    int rc = hf_flush(c);

    if (rc < 0 || (rc == 1 && c->close_after)) {
        hf_close(c);
        return -1;
    }
    if (rc == 0) {
        if (atomic_load(&c->hc->phase) != PH_SEND)
            http_phase_set(c->hc, PH_SEND);
        return 0;
    }
    http_phase_set(c->hc, PH_HEADERS);
    c->state = FC_HEAD;
    return 1;
}

void hf_process(struct fconn *c)
{
    int go = 1;

    while (go > 0) {
        switch (c->state) {
        case FC_HEAD:
            go = step_head(c);
            break;
        case FC_BODY:
            go = step_body(c);
            break;
        case FC_SEND:
            go = step_send(c);
            break;
        default:
            return;
        }
    }
}

void hf_resumed(struct fconn *c)
{
    struct hreq *h = c->h;

    atomic_fetch_sub(&hf_server(c)->suspended, 1);
    c->state = FC_BODY;
    if (c->dead) {
        hf_close(c);
        return;
    }
    if (h->req.finish != NULL)
        h->req.finish(&h->req, &h->resp);
    answer(c);
    hf_process(c);
}
