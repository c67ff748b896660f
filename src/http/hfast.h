/*
 * hfast.h - the lean ingest loop: HTTP/1.1 for the ingest doors' POSTs,
 * beside libmicrohttpd on the same port. Only http/ includes this.
 *
 * DESIGN
 * Under the event bench libmicrohttpd's threads took ~58 µs of a 9 KB
 * event's ~134 µs of server CPU (docs/bench.md, stop 15): five system calls
 * a request, four of them its suspend and resume around the journal wait
 * (two epoll_ctl, an eventfd write per resume, a recv that finds nothing),
 * and its per-request state machine, pool reset and answer objects. This
 * loop owns the listening socket; each of its threads has an epoll set
 * holding the listener (EPOLLEXCLUSIVE) and its connections, registered
 * once, edge-triggered, for their whole life. A request costs a recv and a
 * send; a request waiting for the journal is parked in user space (no
 * system call), and the journal's flusher hands the durable ones back
 * through one list and one eventfd write per thread and group commit.
 *
 * It serves only what it is for. A new connection is classified by peeking
 * at its first request line: a POST to an ingest door (Sentry store and
 * envelope, the JSON lines, OTLP, GELF, Elasticsearch bulk and v1 doors)
 * stays here; anything else (the API, the UI, a live tail, a preflight) is
 * handed to libmicrohttpd whole (MHD_add_connection), which serves it as
 * before. A later request on a kept connection that is not an ingest POST
 * (a client mixing API calls into its ingest connection) is relayed to
 * libmicrohttpd through a socketpair for the rest of that connection, so
 * every request gets exactly one engine's full behaviour.
 *
 * The same rules as libmicrohttpd's side, through http_req.c: the framing
 * checks, the route's early check on the headers alone (a refused request
 * is answered without reading its body, then the connection is closed),
 * the route's body cap, the in-memory body budget and each address's
 * share, the connection share per address, and the reaper's total
 * deadlines (each connection is in the server's list like MHD's). The head
 * parser is http/h1.c, with its limits and its fuzz driver.
 */
#ifndef BL_HFAST_H
#define BL_HFAST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core/buf.h"
#include "http/h1.h"

struct http_server;
struct hfast;

/*
 * Starts the loop's threads on listen_fd (taken over, also on failure),
 * handing connections it does not serve to mhd, a daemon started without
 * a listening socket. NULL on failure.
 */
struct hfast *hfast_start(struct http_server *srv, struct MHD_Daemon *mhd, int listen_fd,
                          unsigned threads);
/* New connections are closed at once from now on. */
void hfast_quiesce(struct hfast *f);
/* Stops the threads, closes the listener and every connection it holds. */
void hfast_stop(struct hfast *f);

/* ---- shared by hfast.c (the loop) and hfast_req.c (requests) ---- */

enum fstate {
    FC_NEW = 0, /* first request line not seen yet: peeked at, not read */
    FC_HEAD,    /* reading a request's head */
    FC_BODY,    /* reading its body */
    FC_WAIT,    /* parked until the journal has the record */
    FC_SEND,    /* the answer did not go out in one send */
    FC_PROXY,   /* relayed to libmicrohttpd (hfast.c) */
    FC_CLOSED,  /* closed, freed after the current batch of events */
};

#define HF_ARGS_MAX 64 /* query arguments kept for a request */

struct hf_thread;

/* One client connection of the loop. */
struct fconn {
    struct fconn *prev, *next; /* the thread's list */
    struct fconn *ready_next;  /* the thread's resumed list, under its lock */
    struct hf_thread *t;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct hconn *hc; /* in the server's list: the reaper's deadlines, the peer's share */
    int state;
    int readable, writable; /* edge-triggered: what the last event said, until EAGAIN */
    int close_after;        /* close once the answer is out */
    int dead;               /* the socket failed while a request waits: close when it returns */
    char *in;               /* read buffer: the head, then body bytes as they come */
    size_t in_len, in_off, in_cap;
    struct buf out; /* the answer */
    size_t out_off;
    /* the request in progress */
    struct hreq *h;
    struct h1_head head;
    size_t head_seen; /* bytes of the coming head already parsed without finding its end */
    int chunked;
    struct h1_chunked ck;
    struct buf dechunk;
    uint64_t body_left; /* Content-Length bytes not yet read */
    size_t nargs;
    const char *arg_name[HF_ARGS_MAX], *arg_value[HF_ARGS_MAX];
    /* FC_PROXY: the socketpair end towards libmicrohttpd */
    struct hf_peer *peer;
};

/* hfast_req.c */
/* Works through what c has read: requests, their bodies and answers. */
void hf_process(struct fconn *c);
/* A parked request is durable: its answer goes out (the thread, after the flusher). */
void hf_resumed(struct fconn *c);
/* Whether a POST to path goes to an ingest door (it stays in the loop). */
int hf_is_ingest(struct http_server *srv, const char *method, size_t mlen, const char *path,
                 size_t plen);
/* The request in progress is dropped (the connection is closing). */
void hf_request_drop(struct fconn *c);

/* hfast.c */
struct http_server *hf_server(const struct fconn *c);
/* Reads into c->in up to its capacity: >0 bytes read, 0 nothing now, -1 end or error. */
long hf_read(struct fconn *c);
/* Sends what c->out holds: 1 all sent, 0 later (EPOLLOUT), -1 error. */
int hf_flush(struct fconn *c);
/* Queues c on its thread's resumed list (journal flusher thread). */
void hf_wake(struct fconn *c);
/* Hands c's request in progress and the rest of the connection to libmicrohttpd. */
void hf_relay(struct fconn *c);
void hf_close(struct fconn *c);

#endif
