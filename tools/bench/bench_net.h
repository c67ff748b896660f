/*
 * bench_net.h - the load loop: N keep-alive HTTP/1.1 connections, one epoll.
 *
 * DESIGN
 * One thread, because the generator shares the 2-core machine with the
 * server and every cycle it burns is one the server does not get. Each
 * connection is closed-loop (send a request, wait for the whole response,
 * send the next), so N connections means at most N requests in flight; an
 * optional global pace (requests per second) turns it into an open loop up
 * to that rate. Requests are produced by a caller's callback into the
 * connection's own buffer, so the loop knows nothing about Sentry or logs.
 *
 * Ack latency is measured from the first byte written to the last byte of
 * the response read, per request, into a histogram per request kind. A 429
 * pauses that connection for backoff_ms (the server asked us to slow down;
 * hammering it would only steal its CPU). A broken connection is counted,
 * closed and reopened after a short pause.
 *
 * Against a loopback IPv4 address the connections come from several source
 * addresses (127.0.0.1, .2, ... bound before connect), one per 32
 * connections unless --clients says otherwise: the server shares its
 * connections per client address (--max-conns-per-ip, 64 by default), and
 * a bench of 128 connections is many clients, as in real life, not one
 * client the server rightly refuses half of.
 */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include <stddef.h>
#include <stdint.h>

#include "bench_hist.h"

#define BNET_KINDS 4

/* One request as built by the callback; memory belongs to the connection. */
struct bnet_req {
    unsigned char *p;
    size_t len;
    size_t cap;
    unsigned units; /* events or log lines it carries */
    int kind;       /* 0 .. BNET_KINDS-1, for per-door figures */
};

/* Makes the next request into r (grow r->p with bnet_req_reserve). */
typedef void (*bnet_build_fn)(void *arg, struct bnet_req *r);

/* Makes room for at least need bytes in r->p. */
void bnet_req_reserve(struct bnet_req *r, size_t need);

struct bnet_config {
    const char *host; /* numeric or name, resolved once */
    const char *port;
    int connections;
    int clients; /* source addresses the connections are spread over (see bnet_run) */
    double duration_s;
    double rate_rps;     /* requests per second across all connections; 0 = unpaced */
    int backoff_ms;      /* pause after a 429 */
    double grace_s;      /* wait this long for in-flight responses after the end */
    double progress_s;   /* interim line on stderr every so often; 0 = never */
    int max_error_dumps; /* print the first responses that were neither 2xx nor 429 */
    bnet_build_fn build;
    void *arg;
    const char *kind_names[BNET_KINDS];
};

struct bnet_kind_stats {
    uint64_t requests;
    uint64_t ok;      /* 2xx */
    uint64_t limited; /* 429 */
    uint64_t other;   /* any other status */
    uint64_t units_ok;
    struct hist lat; /* 2xx ack latency, µs */
};

struct bnet_result {
    struct bnet_kind_stats kind[BNET_KINDS];
    uint64_t errors;     /* connection failures, malformed responses */
    uint64_t unfinished; /* requests still in flight when the grace period ended */
    uint64_t bytes_sent;
    double elapsed_s; /* first request to last response */
};

/* Runs the load. 0, or -1 when the target cannot be resolved or reached at all. */
int bnet_run(const struct bnet_config *cfg, struct bnet_result *res);

#endif
