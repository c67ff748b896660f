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
 * Memory is bounded: MHD limits each connection's headers, each body has a
 * cap (413), and all bodies held at once share one budget (503 past it).
 */
#ifndef BL_HTTP_H
#define BL_HTTP_H

#include <stddef.h>

#include "api/api.h"
#include "core/err.h"

struct http_config {
    const char *host;
    int port;             /* 0: pick a free port (see http_port) */
    unsigned threads;
    unsigned max_connections;
    unsigned per_ip_connections;
    unsigned timeout_s;   /* idle connection timeout */
    size_t max_body;      /* raw body cap */
    size_t max_inflight;  /* all bodies held in memory together (503 above) */
};

struct http_server;

int http_start(struct http_server **out, struct app *app, const struct http_config *cfg,
               struct bl_err *err);
/* The port actually bound. */
int http_port(const struct http_server *s);
/* Stops accepting new connections; requests in flight go on. */
void http_quiesce(struct http_server *s);
/*
 * Waits up to timeout_ms until no request is in flight (journal waits
 * included), so no journal callback can outlive its connection.
 */
void http_drain(struct http_server *s, int timeout_ms);
/* Closes every connection and frees s. */
void http_stop(struct http_server *s);

#endif
