/*
 * http.h - the HTTP server: libmicrohttpd glue, nothing else.
 *
 * DESIGN
 * One MHD daemon with an epoll thread pool serves every door, the API and
 * the operations endpoints on one port. A request's life:
 *   1. headers in: route lookup, Content-Length cap, the route's early check
 *      (auth, backlog budget): a refusal is answered before the body is read;
 *   2. body chunks are collected into a capped buffer (413 past the cap);
 *   3. the handler runs; an ingest handler appends to the journal and asks to
 *      wait: the connection is suspended (no thread blocks) and resumed by the
 *      journal's flusher once the record is durable;
 *   4. the answer is queued only after the whole body was read, so MHD keeps
 *      the connection alive (queuing on the first callback makes MHD close it,
 *      and throughput falls from ~200k to ~43k requests/s here).
 * The fate of a request is decided on its headers: bad framing (two
 * different Content-Lengths, a length beside a transfer coding) is 400, an
 * unknown path 404/405, a body the route does not take or over its limit
 * 413, a refused key 401/403, a full budget 503/429. A refused request with
 * a body is answered at once and MHD closes the connection without reading
 * the body, so nothing is kept or counted for it.
 * Memory is bounded: MHD limits each connection's headers, each body has a
 * cap (413), all bodies held at once share one budget (503 past it, the
 * declared length is counted when the headers arrive) and each client
 * address has a share of it (429 past it).
 * Time is bounded: MHD's timeout is an idle timeout that every byte
 * restarts, so a reaper thread gives each request's headers and body a
 * total deadline and closes the connection past it; and each client address
 * has a share of the connections (http/peers.h), so one client trickling
 * bytes on many sockets cannot take them all.
 * Every answer carries X-Content-Type-Options: nosniff and Referrer-Policy:
 * same-origin; answers of routes that are not CORS ingest doors (the API,
 * HTML, operations) also X-Frame-Options: DENY and a Content-Security-Policy
 * without inline scripts. With a certificate and key it serves HTTPS only.
 */
#ifndef BL_HTTP_H
#define BL_HTTP_H

#include <stddef.h>

#include "api/api.h"
#include "core/err.h"

enum { HTTP_POLL_AUTO = 0, HTTP_POLL_POLL, HTTP_POLL_EPOLL };

struct http_config {
    const char *host;
    int port; /* 0: pick a free port (see http_port) */
    unsigned threads;
    int poll;        /* how the threads wait: HTTP_POLL_AUTO (0), HTTP_POLL_POLL, HTTP_POLL_EPOLL */
    int ingest_loop; /* the ingest doors' POSTs on the lean loop (http/hfast.h); not with TLS */
    unsigned max_connections;
    unsigned per_ip_connections; /* one client address's share (0: no limit) */
    unsigned timeout_s;          /* idle connection timeout (MHD's, restarted by every byte) */
    unsigned header_timeout_s;   /* total time for a request's headers, keep-alive idle included */
    unsigned body_timeout_s;     /* total time for a body, plus received / min_body_rate */
    size_t min_body_rate;        /* bytes per second */
    size_t max_body;             /* raw body cap (a route may lower it) */
    size_t max_inflight;         /* all bodies held in memory together (503 above) */
    size_t per_ip_inflight;      /* one client address's share of it (429 above); 0: derived */
    const char *tls_cert_pem;    /* with tls_key_pem: HTTPS (MHD_USE_TLS, GnuTLS); NULL: HTTP */
    const char *tls_key_pem;
    const char *trusted_proxy; /* address whose X-Forwarded-For is believed; NULL/"": none */
    int listen_fd;             /* from http_listen (http_start takes it over), or -1 */
    /*
     * Prepended to every request path before routing (static string), or
     * NULL: "/es" makes a port whose "/" is the Elasticsearch API's /es/.
     */
    const char *path_prefix;
};

/*
 * Binds and listens on host:port (never SO_REUSEPORT: a taken port is an
 * error naming it). `bilor serve` calls it before anything else it does, so
 * a taken port fails the start before a data directory or secrets exist.
 */
int http_listen(const char *host, int port, int *fd, struct bl_err *err);

struct http_server;

int http_start(struct http_server **out, struct app *app, const struct http_config *cfg,
               struct bl_err *err);
/*
 * How cfg's threads wait: HTTP_POLL_POLL or HTTP_POLL_EPOLL, auto resolved
 * by --max-connections per thread (the rule and its figures: http_server.c).
 */
int http_poll_mode(const struct http_config *cfg);
/* 1 when libmicrohttpd was built with TLS (GnuTLS). */
int http_tls_supported(void);
/* The port actually bound. */
int http_port(const struct http_server *s);
/* 1 when the lean ingest loop serves the ingest doors (http/hfast.h). */
int http_ingest_loop(const struct http_server *s);
/*
 * Stops taking new connections (under epoll they are accepted and closed at
 * once, see http_server.c); requests in flight go on.
 */
void http_quiesce(struct http_server *s);
/*
 * Waits up to timeout_ms until no request is in flight (journal waits
 * included), so no journal callback can outlive its connection.
 */
void http_drain(struct http_server *s, int timeout_ms);
/* Closes every connection and frees s. */
void http_stop(struct http_server *s);

#endif
