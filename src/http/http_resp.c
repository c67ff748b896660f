/*
 * http_resp.c - turning a handler's struct bl_resp into libmicrohttpd's
 * answer: default and security headers, CORS on the ingest doors, and
 * streamed answers (live tail) suspended while they have nothing to send.
 */
#include <stdlib.h>
#include <strings.h>

#include <microhttpd.h>

#include "api/metrics.h"
#include "core/xmalloc.h"
#include "http/http_int.h"
#include "core/banned.h"

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
void http_streams_wake(struct http_server *s, int closing)
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

enum MHD_Result http_send_resp(struct hreq *h)
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
