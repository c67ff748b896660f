/*
 * http.c - the request lifecycle over libmicrohttpd: its callbacks fed to
 * the steps both engines share (http_req.c: framing, route, early checks,
 * the capped body, the handler), and the suspend/resume around journal
 * waits. Answers are in http_resp.c, the daemon, its connections and the
 * reaper in http_server.c.
 */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "http/http_int.h"
#include "core/banned.h"

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
    struct MHD_Connection *conn = h->conn;

    if (hreq_resumed(h))
        MHD_resume_connection(conn);
}

static void park(void *conn)
{
    MHD_suspend_connection(conn);
}

static struct hconn *conn_hconn(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result on_body_done(struct hreq *h)
{
    if (h->state == HS_RESUMED || h->state == HS_DONE_EARLY) {
        if (h->req.finish != NULL)
            h->req.finish(&h->req, &h->resp);
        return http_send_resp(h);
    }
    http_run_handler(h);
    if (!h->resp.pending)
        return http_send_resp(h);
    if (!hreq_park(h, park, h->conn))
        return on_body_done(h);
    return MHD_YES;
}

static enum MHD_Result framing_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    http_framing_add(cls, key, value);
    return MHD_YES;
}

static struct hreq *request_start(struct http_server *s, struct MHD_Connection *c, const char *url,
                                  const char *method)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const char *xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
    struct hreq *h = hreq_new(s, c, conn_hconn(c), url, method, ci != NULL ? ci->client_addr : NULL,
                              xff);

    h->req.header_fn = conn_header;
    h->req.query_fn = conn_query;
    h->req.query_each_fn = conn_query_each;
    h->req.resume = hreq_resume;
    return h;
}

/* First callback: headers only (http_on_headers decides the request's fate). */
static enum MHD_Result on_first(struct hreq *h)
{
    struct http_framing f = { 0 };
    int has_body;

    atomic_fetch_add(&h->srv->live, 1);
    http_phase_set(h->hc, PH_BODY);
    MHD_get_connection_values(h->conn, MHD_HEADER_KIND, framing_scan, &f);
    if (http_on_headers(h, &f, &has_body))
        return http_send_resp(h);
    h->state = HS_BODY;
    return MHD_YES;
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **ctx)
{
    struct hreq *h = *ctx;

    (void)version;
    if (h == NULL) {
        h = request_start(cls, c, url, method);
        *ctx = h;
        return on_first(h);
    }
    if (*upload_data_size > 0) {
        int rc = http_take_body(h, upload_data, *upload_data_size);

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
