/*
 * hfast.c - the lean ingest loop's threads (hfast.h): the listener, the
 * first look at a connection, the hand-over and the relay to
 * libmicrohttpd, reads, sends and closes. Requests are hfast_req.c's.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "http/hfast.h"
#include "http/http_int.h"
#include "core/banned.h"

#define EVENTS 64
#define ACCEPTS_PER_WAKE 64
#define PEEK_BYTES 1024      /* the request line must show its path within this */
#define IN_FIRST (16 * 1024) /* a connection's read buffer at first */
#define IN_MAX (32 * 1024)   /* a head may take this (libmicrohttpd's side: its pool) */
#define RELAY_BYTES (16 * 1024)
#define OUT_MAX (1024 * 1024) /* an ingest answer is a few hundred bytes */

/* epoll data: what an event is for */
enum { TAG_LISTEN = 1, TAG_WAKE, TAG_CONN, TAG_PEER };

struct hf_tag {
    int tag;
};

struct hf_thread {
    struct hf_tag tag_listen, tag_wake;
    struct hfast *f;
    pthread_t tid;
    int started;
    int ep;
    int wake;
    pthread_mutex_t mu;
    struct fconn *ready;  /* resumed requests, under mu */
    int signaled;         /* under mu: the eventfd holds a wake-up not yet read */
    struct fconn *conns;  /* this thread's connections (only it touches the list) */
    struct fconn *graves; /* closed during this batch of events, freed after it */
};

/* The socketpair end towards libmicrohttpd of a relayed connection. */
struct hf_peer {
    struct hf_tag tag;
    struct fconn *c;
    int fd;
    int readable, writable, eof_in, eof_out;
    char down[RELAY_BYTES]; /* libmicrohttpd's answers on their way to the client */
    size_t down_len, down_off;
};

struct hfast {
    struct http_server *srv;
    struct MHD_Daemon *mhd;
    int listen_fd;
    unsigned nthreads;
    struct hf_thread *threads;
    atomic_int quiesced;
    atomic_int stop;
    atomic_uint next; /* round robin of resumed connections does not apply: each stays */
};

/* A connection's tag: struct fconn starts with nothing we can tag, so one rides beside. */
struct fconn_tagged {
    struct hf_tag tag;
    struct fconn c;
};

static struct fconn_tagged *tagged_of(struct fconn *c)
{
    return (struct fconn_tagged *)((char *)c - offsetof(struct fconn_tagged, c));
}

struct http_server *hf_server(const struct fconn *c)
{
    return c->t->f->srv;
}

static int ep_add(int ep, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = ptr;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Puts c in the server's connection list (the reaper) and counts it for its address. */
static int conn_register(struct http_server *s, struct fconn *c)
{
    struct hconn *hc = xcalloc(1, sizeof(*hc));

    pool_init(&hc->pool, 8192);
    peer_key_of((struct sockaddr *)&c->addr, &hc->peer);
    hc->fd = c->fd;
    http_phase_set(hc, PH_HEADERS);
    if (peers_conn_open(s->peers, &hc->peer) < 0) {
        pool_release(&hc->pool);
        free(hc);
        return -1;
    }
    hc->counted = 1;
    pthread_mutex_lock(&s->conns_mu);
    hc->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = hc;
    s->conns = hc;
    s->nconns++;
    pthread_mutex_unlock(&s->conns_mu);
    c->hc = hc;
    return 0;
}

/* Takes c out of the server's list before its socket closes or changes hands. */
static void conn_unregister(struct http_server *s, struct fconn *c)
{
    struct hconn *hc = c->hc;

    if (hc == NULL)
        return;
    pthread_mutex_lock(&s->conns_mu);
    if (hc->prev != NULL)
        hc->prev->next = hc->next;
    else
        s->conns = hc->next;
    if (hc->next != NULL)
        hc->next->prev = hc->prev;
    s->nconns--;
    pthread_mutex_unlock(&s->conns_mu);
    if (hc->counted)
        peers_conn_close(s->peers, &hc->peer);
    pool_release(&hc->pool);
    free(hc);
    c->hc = NULL;
}

static void list_remove(struct fconn *c)
{
    struct hf_thread *t = c->t;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_free(struct fconn *c)
{
    list_remove(c);
    free(c->in);
    buf_release(&c->out);
    buf_release(&c->dechunk);
    free(c->peer);
    free(tagged_of(c));
}

/*
 * Out of the thread's list, freed after the current batch of events: a
 * later event of the same batch may still name c or its relay's end.
 */
static void grave(struct fconn *c)
{
    struct hf_thread *t = c->t;

    list_remove(c);
    c->state = FC_CLOSED;
    c->next = t->graves;
    t->graves = c;
}

void hf_close(struct fconn *c)
{
    if (c->state == FC_CLOSED)
        return;
    if (c->state == FC_WAIT) { /* the journal still holds the request: close when it returns */
        c->dead = 1;
        return;
    }
    hf_request_drop(c);
    conn_unregister(hf_server(c), c); /* before close: the reaper never shuts a reused fd */
    close(c->fd);
    if (c->peer != NULL)
        close(c->peer->fd);
    grave(c);
}

static struct fconn *conn_new(struct hf_thread *t, int fd, const struct sockaddr_storage *addr,
                              socklen_t addrlen)
{
    struct fconn_tagged *ct = xcalloc(1, sizeof(*ct));
    struct fconn *c = &ct->c;

    ct->tag.tag = TAG_CONN;
    c->t = t;
    c->fd = fd;
    c->addr = *addr;
    c->addrlen = addrlen;
    buf_init(&c->out, OUT_MAX);
    buf_init(&c->dechunk, 0);
    c->next = t->conns;
    if (t->conns != NULL)
        t->conns->prev = c;
    t->conns = c;
    return c;
}

/* Whether the server may take one more connection (all engines together). */
static int room_for_one(struct http_server *s)
{
    int ok;

    pthread_mutex_lock(&s->conns_mu);
    ok = s->nconns < s->cfg.max_connections;
    pthread_mutex_unlock(&s->conns_mu);
    return ok;
}

static void accept_one(struct hf_thread *t, int fd, const struct sockaddr_storage *addr,
                       socklen_t addrlen)
{
    struct hfast *f = t->f;
    struct fconn *c;
    int on = 1;

    if (atomic_load(&f->quiesced) || !room_for_one(f->srv)) {
        close(fd);
        return;
    }
    c = conn_new(t, fd, addr, addrlen);
    if (conn_register(f->srv, c) < 0) { /* its address holds its whole share */
        close(fd);
        conn_free(c);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (ep_add(t->ep, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, tagged_of(c)) < 0) {
        hf_close(c);
        return;
    }
    c->state = FC_NEW;
    c->writable = 1;
}

static void on_listen(struct hf_thread *t)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof(addr);
        int fd = accept4(t->f->listen_fd, (struct sockaddr *)&addr, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                log_warn("http: cannot accept a connection: %s", strerror(errno));
            return; /* EAGAIN: another thread took it, or none left */
        }
        accept_one(t, fd, &addr, len);
    }
}

/*
 * Gives the whole connection to libmicrohttpd: it has read nothing of it
 * (the first request line was only peeked at), so MHD starts from its
 * first byte. MHD counts it again (on_conn_started) and closes the socket
 * when it is done, or at once if it cannot take it.
 */
static void hand_over(struct fconn *c)
{
    struct hfast *f = c->t->f;
    int fd = c->fd;

    epoll_ctl(c->t->ep, EPOLL_CTL_DEL, fd, NULL);
    conn_unregister(f->srv, c);
    grave(c);
    if (MHD_add_connection(f->mhd, fd, (struct sockaddr *)&c->addr, c->addrlen) != MHD_YES)
        log_debug("http: libmicrohttpd refused a connection: %s", strerror(errno));
}

/*
 * FC_NEW: decides from a peek at the first request line whose connection
 * this is, without taking its bytes off the socket.
 */
static void classify(struct fconn *c)
{
    char line[PEEK_BYTES];
    const char *sp1, *end;
    ssize_t n = recv(c->fd, line, sizeof(line), MSG_PEEK);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        hf_close(c);
        return;
    }
    if (n < 0) {
        c->readable = 0;
        return;
    }
    sp1 = memchr(line, ' ', (size_t)n);
    end = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(line + n - sp1 - 1)) : NULL;
    if (end != NULL) {
        const char *q = memchr(sp1 + 1, '?', (size_t)(end - sp1 - 1));

        if (q != NULL)
            end = q;
    }
    if (end == NULL && n < (ssize_t)sizeof(line) && memchr(line, '\n', (size_t)n) == NULL) {
        c->readable = 0; /* more of the line to come: its edge wakes us again */
        return;
    }
    if (end == NULL ||
        !hf_is_ingest(hf_server(c), line, (size_t)(sp1 - line), sp1 + 1, (size_t)(end - sp1 - 1))) {
        hand_over(c);
        return;
    }
    c->state = FC_HEAD;
    hf_process(c);
}

long hf_read(struct fconn *c)
{
    ssize_t n;

    if (c->in == NULL) {
        c->in_cap = IN_FIRST;
        c->in = xmalloc(c->in_cap + 1);
    }
    if (c->in_off > 0 && c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    } else if (c->in_off > 0 && c->in_len == c->in_cap) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_len == c->in_cap && c->in_cap < IN_MAX) {
        c->in_cap = IN_MAX;
        c->in = xrealloc(c->in, c->in_cap + 1);
    }
    if (c->in_len == c->in_cap || !c->readable)
        return 0;
    n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n > 0) {
        /* a short read emptied the socket: the next bytes bring a new edge */
        if ((size_t)n < c->in_cap - c->in_len)
            c->readable = 0;
        c->in_len += (size_t)n;
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        c->readable = 0;
        return 0;
    }
    return -1;
}

int hf_flush(struct fconn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n;

        if (!c->writable)
            return 0;
        n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            c->writable = 0;
            return 0;
        }
        if (n <= 0)
            return -1;
        c->out_off += (size_t)n;
    }
    buf_reset(&c->out);
    c->out_off = 0;
    return 1;
}

void hf_wake(struct fconn *c)
{
    struct hf_thread *t = c->t;
    int signal_it;

    pthread_mutex_lock(&t->mu);
    c->ready_next = t->ready;
    t->ready = c;
    signal_it = !t->signaled;
    t->signaled = 1;
    pthread_mutex_unlock(&t->mu);
    if (signal_it) {
        uint64_t one = 1;

        if (write(t->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
            log_warn("http: cannot wake an HTTP thread: %s", strerror(errno));
    }
}

/* The eventfd: answers of durable requests, or the stop. */
static void on_wake(struct hf_thread *t)
{
    uint64_t n;
    struct fconn *list;

    if (read(t->wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&t->mu);
    list = t->ready;
    t->ready = NULL;
    t->signaled = 0;
    pthread_mutex_unlock(&t->mu);
    while (list != NULL) {
        struct fconn *c = list;

        list = c->ready_next;
        c->ready_next = NULL;
        hf_resumed(c);
    }
}

/*
 * FC_PROXY: moves bytes both ways until either side ends. What the client
 * sends goes from c->in to libmicrohttpd (the request that caused the relay
 * first); its answers go back through p->down.
 */
static void relay_pump(struct fconn *c)
{
    struct hf_peer *p = c->peer;
    int moved = 1;

    while (moved && c->state == FC_PROXY) {
        ssize_t n;

        moved = 0;
        if (c->in_off < c->in_len && p->writable) {
            n = send(p->fd, c->in + c->in_off, c->in_len - c->in_off, MSG_NOSIGNAL);
            if (n > 0) {
                c->in_off += (size_t)n;
                moved = 1;
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                p->writable = 0;
            } else {
                hf_close(c);
                return;
            }
        }
        if (c->in_off == c->in_len && !p->eof_out) {
            long r = hf_read(c);

            if (r > 0)
                moved = 1;
            else if (r < 0) { /* the client is done sending: libmicrohttpd hears it */
                shutdown(p->fd, SHUT_WR);
                p->eof_out = 1;
            }
        }
        if (p->down_off < p->down_len && c->writable) {
            n = send(c->fd, p->down + p->down_off, p->down_len - p->down_off, MSG_NOSIGNAL);
            if (n > 0) {
                p->down_off += (size_t)n;
                moved = 1;
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                c->writable = 0;
            } else {
                hf_close(c);
                return;
            }
        }
        if (p->down_off == p->down_len && p->readable && !p->eof_in) {
            p->down_off = p->down_len = 0;
            n = recv(p->fd, p->down, sizeof(p->down), 0);
            if (n > 0) {
                p->down_len = (size_t)n;
                moved = 1;
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                p->readable = 0;
            } else {
                p->eof_in = 1;
            }
        }
        if (p->eof_in && p->down_off == p->down_len) { /* libmicrohttpd closed: so do we */
            hf_close(c);
            return;
        }
    }
}

/*
 * A later request on c is not for an ingest door: from its first byte on
 * (c->in from c->in_off), the connection is relayed to libmicrohttpd over
 * a socketpair, which counts and times it as its own (the pair's end it
 * holds carries the client's address). Closes c when that cannot be done.
 */
void hf_relay(struct fconn *c)
{
    struct hfast *f = c->t->f;
    struct hf_peer *p;
    int sp[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
        hf_close(c);
        return;
    }
    p = xcalloc(1, sizeof(*p));
    p->tag.tag = TAG_PEER;
    p->c = c;
    p->fd = sp[0];
    p->writable = 1;
    c->peer = p;
    c->state = FC_PROXY;
    hf_request_drop(c);
    conn_unregister(f->srv, c);
    if (ep_add(c->t->ep, sp[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, p) < 0) {
        close(sp[1]);
        hf_close(c);
        return;
    }
    if (MHD_add_connection(f->mhd, sp[1], (struct sockaddr *)&c->addr, c->addrlen) != MHD_YES) {
        hf_close(c); /* MHD closed sp[1] */
        return;
    }
    relay_pump(c);
}

static void on_conn_event(struct fconn *c, uint32_t ev)
{
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = 1;
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->writable = 1;
    switch (c->state) {
    case FC_NEW:
        if (c->readable)
            classify(c);
        break;
    case FC_PROXY:
        relay_pump(c);
        break;
    case FC_WAIT:
        if (ev & (EPOLLHUP | EPOLLERR))
            c->dead = 1;
        break;
    case FC_CLOSED:
        break;
    default:
        hf_process(c);
        break;
    }
}

static void on_peer_event(struct hf_peer *p, uint32_t ev)
{
    if (p->c->state != FC_PROXY)
        return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        p->readable = 1;
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        p->writable = 1;
    relay_pump(p->c);
}

/* Frees the connections closed during one batch of events, after it. */
static void bury(struct hf_thread *t)
{
    while (t->graves != NULL) {
        struct fconn *c = t->graves;

        t->graves = c->next;
        c->next = NULL;
        c->prev = NULL;
        free(c->in);
        buf_release(&c->out);
        buf_release(&c->dechunk);
        free(c->peer);
        free(tagged_of(c));
    }
}

static void *thread_main(void *arg)
{
    struct hf_thread *t = arg;
    struct epoll_event evs[EVENTS];

    pthread_setname_np(pthread_self(), "bilor-http");
    while (!atomic_load(&t->f->stop)) {
        int n = epoll_wait(t->ep, evs, EVENTS, -1);

        for (int i = 0; i < n; i++) {
            struct hf_tag *tag = evs[i].data.ptr;

            if (tag->tag == TAG_LISTEN) {
                on_listen(t);
            } else if (tag->tag == TAG_WAKE) {
                on_wake(t);
            } else if (tag->tag == TAG_CONN) {
                on_conn_event(&((struct fconn_tagged *)(void *)tag)->c, evs[i].events);
            } else {
                on_peer_event((struct hf_peer *)(void *)tag, evs[i].events);
            }
        }
        bury(t);
    }
    return NULL;
}

static int thread_init(struct hfast *f, struct hf_thread *t)
{
    t->f = f;
    t->tag_listen.tag = TAG_LISTEN;
    t->tag_wake.tag = TAG_WAKE;
    pthread_mutex_init(&t->mu, NULL);
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->ep < 0 || t->wake < 0)
        return -1;
    /* EPOLLEXCLUSIVE: a new connection wakes one thread, not all of them */
    if (ep_add(t->ep, f->listen_fd, EPOLLIN | EPOLLEXCLUSIVE, &t->tag_listen) < 0 ||
        ep_add(t->ep, t->wake, EPOLLIN, &t->tag_wake) < 0)
        return -1;
    if (pthread_create(&t->tid, NULL, thread_main, t) != 0)
        return -1;
    t->started = 1;
    return 0;
}

struct hfast *hfast_start(struct http_server *srv, struct MHD_Daemon *mhd, int listen_fd,
                          unsigned threads)
{
    struct hfast *f = xcalloc(1, sizeof(*f));

    f->srv = srv;
    f->mhd = mhd;
    f->listen_fd = listen_fd;
    f->nthreads = threads > 0 ? threads : 1;
    f->threads = xcalloc(f->nthreads, sizeof(*f->threads));
    for (unsigned i = 0; i < f->nthreads; i++) {
        f->threads[i].ep = f->threads[i].wake = -1;
        if (thread_init(f, &f->threads[i]) < 0) {
            log_error("http: cannot start the ingest loop: %s", strerror(errno));
            hfast_stop(f);
            return NULL;
        }
    }
    return f;
}

void hfast_quiesce(struct hfast *f)
{
    if (f != NULL)
        atomic_store(&f->quiesced, 1);
}

static void thread_end(struct hf_thread *t)
{
    if (t->started) {
        uint64_t one = 1;

        if (write(t->wake, &one, sizeof(one)) < 0)
            log_warn("http: cannot wake an HTTP thread: %s", strerror(errno));
        pthread_join(t->tid, NULL);
    }
    while (t->conns != NULL) {
        struct fconn *c = t->conns;

        if (c->state == FC_WAIT) { /* drained before: the journal is done with it */
            c->state = FC_HEAD;
            atomic_fetch_sub(&t->f->srv->suspended, 1);
        }
        hf_close(c);
    }
    bury(t);
    if (t->ep >= 0)
        close(t->ep);
    if (t->wake >= 0)
        close(t->wake);
    pthread_mutex_destroy(&t->mu);
}

void hfast_stop(struct hfast *f)
{
    if (f == NULL)
        return;
    atomic_store(&f->stop, 1);
    for (unsigned i = 0; i < f->nthreads; i++)
        thread_end(&f->threads[i]);
    close(f->listen_fd);
    free(f->threads);
    free(f);
}
