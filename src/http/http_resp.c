/*
 * http_resp.c - turning a handler's struct bl_resp into libmicrohttpd's
 * answer (its headers: http_resp_headers), and streamed answers (live tail)
 * suspended while they have nothing to send.
 */
#include <stdlib.h>

#include <microhttpd.h>

#include "core/xmalloc.h"
#include "http/http_int.h"
#include "core/banned.h"

static void add_header(void *arg, const char *name, const char *value)
{
    MHD_add_response_header(arg, name, value);
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
    http_resp_headers(h, add_header, r);
    if (h->state == HS_HEADERS)
        MHD_add_response_header(r, "Connection", "close"); /* MHD will not read the body */
    ret = MHD_queue_response(h->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    http_resp_count(h);
    return ret;
}
