/*
 * http_int.h - what the HTTP listener's files share: the server, its
 * connections, requests and streams. Only http/ includes this.
 */
#ifndef BL_HTTP_INT_H
#define BL_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core/buf.h"
#include "core/pool.h"
#include "http/http.h"
#include "http/peers.h"

struct hconn;
struct hfast;
struct hstream;

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    struct http_config cfg;
    int port;
    atomic_int suspended;          /* requests waiting for the journal */
    atomic_int live;               /* requests between first callback and completion */
    atomic_int quiesced;           /* on_accept turns every new connection away */
    _Atomic size_t body_bytes;     /* request bodies held in memory, all connections */
    struct peers *peers;           /* per client address: connections and body bytes */
    struct sockaddr_storage proxy; /* --trusted-proxy */
    int has_proxy;
    /* every open connection, for the reaper (see reaper_main) */
    pthread_mutex_t conns_mu;
    struct hconn *conns;
    unsigned nconns;    /* under conns_mu: both engines' connections */
    struct hfast *fast; /* the lean ingest loop (hfast.h), or NULL: libmicrohttpd listens */
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
    PH_SEND,        /* hfast: an answer the client is slow to take: timeout_s in all */
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
    /* The arena of this connection's requests, one after the other: reset, not freed,
       after each (a new 8 KB chunk per request was a malloc and free per event). */
    struct pool pool;
};

enum hstate { HS_HEADERS = 0, HS_BODY, HS_SUSPENDED, HS_DONE_EARLY, HS_RESUMED };

/* One request: lives from its headers to the engine's completion (MHD's notice). */
struct hreq {
    struct http_server *srv;
    void *conn; /* the engine's connection: struct MHD_Connection, or hfast's */
    struct hconn *hc;
    pthread_mutex_t mu;
    int state;
    int discard;      /* the body is read and dropped: the answer is decided */
    size_t limit;     /* this route's body limit */
    size_t accounted; /* bytes of this body counted in body_bytes and the client's share */
    struct peer_key client;
    struct pool own;   /* the arena when there is no connection's (hc NULL) */
    struct pool *pool; /* the connection's arena, or own */
    struct buf body;
    struct bl_req req;
    struct bl_resp resp;
};

/* What a request's headers say of its framing (http_framing_add, one header at a time). */
struct http_framing {
    const char *length; /* the first Content-Length */
    int lengths_differ; /* another Content-Length with a different value */
    const char *coding; /* Transfer-Encoding */
    int codings;
};

typedef void (*http_header_fn)(void *arg, const char *name, const char *value);

/* http_req.c: the steps both engines take, in this order. */
int http_method_of(const char *m);
void http_phase_set(struct hconn *hc, int phase);
int http_parse_addr(const char *s, size_t len, struct sockaddr_storage *ss);
/* peer: the socket's address; xff: the X-Forwarded-For header or NULL. */
struct hreq *hreq_new(struct http_server *srv, void *conn, struct hconn *hc, const char *url,
                      const char *method, const struct sockaddr *peer, const char *xff);
void hreq_free(struct hreq *h);
void http_framing_add(struct http_framing *f, const char *key, const char *value);
int http_on_headers(struct hreq *h, const struct http_framing *f, int *has_body);
int http_take_body(struct hreq *h, const char *p, size_t n);
void http_run_handler(struct hreq *h);
int hreq_park(struct hreq *h, void (*park)(void *conn), void *conn);
int hreq_resumed(struct hreq *h);
void http_resp_headers(const struct hreq *h, http_header_fn fn, void *arg);
void http_resp_count(const struct hreq *h);

/* http.c: libmicrohttpd's callbacks. */
enum MHD_Result http_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **ctx);
void http_on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                       enum MHD_RequestTerminationCode toe);

/* http_resp.c: answers, headers and streams. */
enum MHD_Result http_send_resp(struct hreq *h);
void http_streams_wake(struct http_server *s, int closing);

#endif
