/*
 * bench_net.c - one epoll loop driving N keep-alive HTTP/1.1 connections
 * (see bench_net.h for the design).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_http.h"
#include "bench_net.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define RBUF_MAX (4u << 20)
#define RECONNECT_PAUSE_US 50000

enum cstate { C_IDLE, C_SENDING, C_WAITING, C_PAUSED, C_DONE };

struct conn {
    int fd;
    int connecting;
    enum cstate st;
    uint32_t events; /* what epoll watches now */
    int have_slot;   /* a paced send slot is already claimed (resume sends at once) */
    struct bnet_req req;
    size_t woff;
    char *rbuf;
    size_t rlen;
    size_t rcap;
    int64_t t0;
    int64_t resume_at;
};

struct loop {
    const struct bnet_config *cfg;
    struct bnet_result *res;
    struct conn *conns;
    int nconns;
    int ep;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int clients; /* source addresses 127.0.0.1 .. 127.0.0.clients; 1: the kernel's choice */
    int64_t start;
    int64_t end;
    int64_t interval_us; /* pacing, 0 = none */
    int64_t next_slot;
    int64_t next_progress;
    uint64_t progress_units;
    uint64_t progress_limited;
    int stopping;
    int dumps;
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bnet_req_reserve(struct bnet_req *r, size_t need)
{
    if (need <= r->cap)
        return;
    r->cap = need + need / 2;
    r->p = xrealloc(r->p, r->cap);
}

static int resolve(struct loop *l)
{
    struct addrinfo hints, *ai = NULL;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(l->cfg->host, l->cfg->port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "bilor-bench: cannot resolve '%s:%s': %s\n", l->cfg->host, l->cfg->port,
                gai_strerror(rc));
        return -1;
    }
    memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
    l->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static void watch(struct loop *l, struct conn *c, uint32_t events)
{
    struct epoll_event ev;

    if (c->events == events)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = c;
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = events;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->connecting = 0;
    c->events = 0;
    c->rlen = 0;
}

/*
 * Binds connection c's socket to its client's source address. The port is
 * left to connect (IP_BIND_ADDRESS_NO_PORT), so each address has the whole
 * ephemeral range towards the one server port.
 */
static int bind_client(struct loop *l, struct conn *c)
{
    struct sockaddr_in src;
    int one = 1;
    long k = (long)(c - l->conns) % l->clients;

    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)k);
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    return bind(c->fd, (struct sockaddr *)&src, sizeof(src));
}

static int conn_open(struct loop *l, struct conn *c)
{
    struct epoll_event ev;
    int one = 1;

    c->fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (l->clients > 1 && bind_client(l, c) < 0) {
        conn_close(c);
        return -1;
    }
    if (connect(c->fd, (struct sockaddr *)&l->addr, l->addrlen) < 0 && errno != EINPROGRESS) {
        conn_close(c);
        return -1;
    }
    c->connecting = 1;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        conn_close(c);
        return -1;
    }
    c->events = ev.events;
    return 0;
}

static void conn_pause(struct conn *c, int64_t until)
{
    c->st = C_PAUSED;
    c->resume_at = until;
}

/* A broken connection: count it, drop the request, reconnect later. */
static void conn_fail(struct loop *l, struct conn *c, int64_t now)
{
    l->res->errors++;
    conn_close(c);
    c->have_slot = 0;
    if (l->stopping)
        c->st = C_DONE;
    else
        conn_pause(c, now + RECONNECT_PAUSE_US);
}

static void conn_write(struct loop *l, struct conn *c, int64_t now)
{
    while (c->woff < c->req.len) {
        ssize_t n = send(c->fd, c->req.p + c->woff, c->req.len - c->woff, MSG_NOSIGNAL);

        if (n > 0) {
            c->woff += (size_t)n;
            l->res->bytes_sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(l, c, EPOLLIN | EPOLLOUT);
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        conn_fail(l, c, now);
        return;
    }
    c->st = C_WAITING;
    watch(l, c, EPOLLIN);
}

/* Builds and starts the next request (pacing and reconnecting as needed). */
static void conn_send(struct loop *l, struct conn *c, int64_t now)
{
    if (c->fd < 0 && conn_open(l, c) < 0) {
        conn_fail(l, c, now);
        return;
    }
    c->req.len = 0;
    c->req.units = 0;
    c->req.kind = 0;
    l->cfg->build(l->cfg->arg, &c->req);
    if (c->req.kind < 0 || c->req.kind >= BNET_KINDS)
        c->req.kind = 0;
    c->woff = 0;
    c->rlen = 0;
    c->t0 = now;
    c->have_slot = 0;
    c->st = C_SENDING;
    l->res->kind[c->req.kind].requests++;
    if (!c->connecting)
        conn_write(l, c, now);
}

static void conn_next(struct loop *l, struct conn *c, int64_t now)
{
    int64_t slot;

    if (l->stopping) {
        conn_close(c);
        c->st = C_DONE;
        return;
    }
    if (l->interval_us > 0 && !c->have_slot) {
        slot = l->next_slot;
        if (slot < now - 100000)
            slot = now; /* do not catch up a long stall in one burst */
        l->next_slot = slot + l->interval_us;
        if (slot > now) {
            c->have_slot = 1;
            conn_pause(c, slot);
            return;
        }
    }
    conn_send(l, c, now);
}

static void dump_response(struct loop *l, const struct conn *c, int status)
{
    size_t n = c->rlen < 400 ? c->rlen : 400;

    if (l->dumps >= l->cfg->max_error_dumps)
        return;
    l->dumps++;
    fprintf(stderr, "bilor-bench: %s request got HTTP %d:\n%.*s\n",
            l->cfg->kind_names[c->req.kind] ? l->cfg->kind_names[c->req.kind] : "?", status, (int)n,
            c->rbuf);
}

static void conn_done(struct loop *l, struct conn *c, const struct http_resp *r, int64_t now)
{
    struct bnet_kind_stats *k = &l->res->kind[c->req.kind];
    int early = c->st == C_SENDING;

    if (r->status >= 200 && r->status < 300) {
        k->ok++;
        k->units_ok += c->req.units;
        hist_add(&k->lat, (uint64_t)(now - c->t0));
    } else if (r->status == 429) {
        k->limited++;
    } else {
        k->other++;
        dump_response(l, c, r->status);
    }
    /* A response before the whole body was sent leaves the stream unusable. */
    if (early || r->close)
        conn_close(c);
    c->rlen = 0;
    c->st = C_IDLE;
    if (r->status == 429 && !l->stopping)
        conn_pause(c, now + (int64_t)l->cfg->backoff_ms * 1000);
    else
        conn_next(l, c, now);
}

static void conn_read(struct loop *l, struct conn *c, int64_t now)
{
    struct http_resp r;
    ssize_t n;
    int rc;

    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            if (c->rcap >= RBUF_MAX) {
                conn_fail(l, c, now);
                return;
            }
            c->rcap = c->rcap ? c->rcap * 2 : 16384;
            c->rbuf = xrealloc(c->rbuf, c->rcap);
        }
        n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0)
            break;
        c->rlen += (size_t)n;
        rc = http_parse_response(c->rbuf, c->rlen, 0, &r);
        if (rc > 0) {
            conn_done(l, c, &r, now);
            return;
        }
        if (rc < 0) {
            conn_fail(l, c, now);
            return;
        }
    }
    /* End of stream: complete only if the body ran to the close. */
    if (c->st != C_IDLE && c->st != C_PAUSED && http_parse_response(c->rbuf, c->rlen, 1, &r) > 0) {
        r.close = 1;
        conn_done(l, c, &r, now);
    } else if (c->st == C_SENDING || c->st == C_WAITING) {
        conn_fail(l, c, now);
    } else {
        conn_close(c); /* an idle keep-alive connection the server let go */
    }
}

static void conn_writable(struct loop *l, struct conn *c, int64_t now)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (c->connecting) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
            conn_fail(l, c, now);
            return;
        }
        c->connecting = 0;
    }
    if (c->st == C_SENDING)
        conn_write(l, c, now);
    else
        watch(l, c, EPOLLIN);
}

static void on_event(struct loop *l, struct conn *c, uint32_t ev, int64_t now)
{
    if (c->fd < 0)
        return;
    if ((ev & EPOLLERR) && c->connecting) {
        conn_fail(l, c, now);
        return;
    }
    if ((ev & EPOLLOUT) && c->fd >= 0)
        conn_writable(l, c, now);
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->fd >= 0 && !c->connecting)
        conn_read(l, c, now);
}

static uint64_t total_units(const struct bnet_result *res, int limited)
{
    uint64_t n = 0;
    int k;

    for (k = 0; k < BNET_KINDS; k++)
        n += limited ? res->kind[k].limited : res->kind[k].units_ok;
    return n;
}

static void progress(struct loop *l, int64_t now)
{
    uint64_t units = total_units(l->res, 0), limited = total_units(l->res, 1);
    double dt;

    if (l->cfg->progress_s <= 0 || now < l->next_progress)
        return;
    dt = l->cfg->progress_s;
    fprintf(stderr, "[%6.1fs] accepted %.0f/s, 429 %.0f/s\n", (double)(now - l->start) / 1e6,
            (double)(units - l->progress_units) / dt, (double)(limited - l->progress_limited) / dt);
    l->progress_units = units;
    l->progress_limited = limited;
    l->next_progress += (int64_t)(l->cfg->progress_s * 1e6);
}

/* Wakes paused connections and decides whether the run is over. */
static int tick(struct loop *l, int64_t now, int *timeout_ms)
{
    int64_t wake = now + 100000;
    int i, busy = 0;

    if (!l->stopping && now >= l->end)
        l->stopping = 1;
    for (i = 0; i < l->nconns; i++) {
        struct conn *c = &l->conns[i];

        if ((c->st == C_PAUSED && now >= c->resume_at) || c->st == C_IDLE) {
            if (c->have_slot && !l->stopping)
                conn_send(l, c, now);
            else
                conn_next(l, c, now);
        }
        if (c->st == C_PAUSED && c->resume_at < wake)
            wake = c->resume_at;
        busy += c->st == C_SENDING || c->st == C_WAITING;
    }
    if (l->stopping && busy == 0)
        return 0;
    if (l->stopping && now >= l->end + (int64_t)(l->cfg->grace_s * 1e6)) {
        l->res->unfinished += (uint64_t)busy;
        return 0;
    }
    if (!l->stopping && l->end < wake)
        wake = l->end;
    *timeout_ms = wake > now ? (int)((wake - now + 999) / 1000) : 0;
    return 1;
}

static void run_loop(struct loop *l)
{
    struct epoll_event evs[256];
    int64_t now = mono_us();
    int n, i, timeout_ms = 0;

    l->start = now;
    l->end = now + (int64_t)(l->cfg->duration_s * 1e6);
    l->next_slot = now;
    l->next_progress = now + (int64_t)(l->cfg->progress_s * 1e6);
    while (tick(l, now, &timeout_ms)) {
        n = epoll_wait(l->ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), timeout_ms);
        now = mono_us();
        for (i = 0; i < n; i++)
            on_event(l, evs[i].data.ptr, evs[i].events, now);
        progress(l, now);
    }
    l->res->elapsed_s = (double)(mono_us() - l->start) / 1e6;
}

/*
 * How many source addresses to use: cfg->clients, or one per 32
 * connections (0), at most one per connection; only towards a loopback
 * IPv4 server, where every 127.x address is this machine's.
 */
static int client_addresses(const struct loop *l)
{
    const struct sockaddr_in *dst = (const struct sockaddr_in *)(const void *)&l->addr;
    int n = l->cfg->clients > 0 ? l->cfg->clients : (l->nconns + 31) / 32;

    if (l->addr.ss_family != AF_INET || (ntohl(dst->sin_addr.s_addr) >> 24) != 127)
        return 1;
    if (n > l->nconns)
        n = l->nconns;
    return n < 1 ? 1 : n;
}

int bnet_run(const struct bnet_config *cfg, struct bnet_result *res)
{
    struct loop l;
    int i, rc = -1;

    memset(&l, 0, sizeof(l));
    memset(res, 0, sizeof(*res));
    l.cfg = cfg;
    l.res = res;
    l.nconns = cfg->connections > 0 ? cfg->connections : 1;
    l.interval_us = cfg->rate_rps > 0 ? (int64_t)(1e6 / cfg->rate_rps) : 0;
    l.ep = -1;
    if (resolve(&l) < 0)
        return -1;
    l.clients = client_addresses(&l);
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    if (l.ep < 0)
        return -1;
    l.conns = xcalloc((size_t)l.nconns, sizeof(*l.conns));
    for (i = 0; i < l.nconns; i++) {
        l.conns[i].fd = -1;
        l.conns[i].st = C_IDLE;
    }
    for (i = 0; i < BNET_KINDS; i++)
        hist_init(&res->kind[i].lat);
    run_loop(&l);
    rc = 0;
    for (i = 0; i < l.nconns; i++) {
        conn_close(&l.conns[i]);
        free(l.conns[i].req.p);
        free(l.conns[i].rbuf);
    }
    free(l.conns);
    close(l.ep);
    return rc;
}
