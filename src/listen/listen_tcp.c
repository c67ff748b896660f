/*
 * listen_tcp.c - syslog and GELF over TCP (protocols.md §3.3, §4.4).
 *
 * One thread polls the listening socket and every connection. Each
 * connection has one fixed buffer (max_frame plus a little): frames are cut
 * from it as they complete (syslog: octet counting or a LF/NUL trailer,
 * detected per frame by syslog_frame; GELF: a NUL or LF trailer), a frame
 * longer than the buffer is counted and skipped up to its end, and the
 * stream goes on. Frames of all connections go into the listener's batch,
 * journaled when every readable connection has been read. Over the
 * journal budget no connection is read until the digest catches up, so the
 * senders' TCP windows fill (backpressure) and memory stays flat. Idle
 * connections are closed after idle_timeout_s; past max_conns a new
 * connection is closed at once (counted).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen/listen_int.h"
#include "core/xmalloc.h"
#include "ingest/syslog.h"
#include "core/banned.h"

/* A frame longer than this is skipped; the buffer holds one whole frame plus its header. */
#define FRAME_SLACK 32
/* How long a listener over the journal budget waits before looking again. */
#define BUSY_WAIT_MS 50

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
    int64_t last_us;
    struct syslog_framer framer; /* syslog */
    int skipping;                /* GELF: dropping an over-long frame up to its trailer */
};

struct tcp {
    struct listener *l;
    struct conn *conns; /* max_conns */
    struct pollfd *pfd; /* 1 + max_conns */
    int nconns;
};

static void conn_close(struct tcp *t, int i)
{
    struct conn *c = &t->conns[i];

    close(c->fd);
    free(c->buf);
    t->conns[i] = t->conns[--t->nconns];
    metrics_add(&t->l->metrics->sock_connections, (uint64_t)-1);
}

static void accept_one(struct tcp *t)
{
    struct listener *l = t->l;
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    struct conn *c;

    if (fd < 0)
        return;
    if (t->nconns >= l->cfg.max_conns) {
        close(fd);
        metrics_add(&l->metrics->sock_dropped[l->fmt], 1);
        return;
    }
    c = &t->conns[t->nconns++];
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->cap = l->cfg.max_frame + FRAME_SLACK;
    c->buf = xmalloc(c->cap);
    c->last_us = listen_now_us();
    syslog_framer_init(&c->framer, l->cfg.max_frame);
    metrics_add(&l->metrics->sock_connections, 1);
}

static void add_frame(struct listener *l, const char *p, size_t n)
{
    if (listen_add(l, p, n) == BL_ETOOBIG) {
        listen_flush(l, 0);
        listen_add(l, p, n);
    }
}

/* GELF framing: NUL (or LF) trailers; a full buffer without one is an over-long frame. */
static size_t gelf_frames(struct listener *l, struct conn *c)
{
    size_t pos = 0;

    for (;;) {
        const char *p = c->buf + pos, *end = c->buf + c->len, *q = p;

        while (q < end && *q != '\0' && *q != '\n')
            q++;
        if (q == end)
            break;
        if (!c->skipping)
            add_frame(l, p, (size_t)(q - p));
        c->skipping = 0;
        pos = (size_t)(q - c->buf) + 1;
    }
    if (pos == 0 && c->len == c->cap) {
        if (!c->skipping)
            metrics_add(&l->metrics->sock_oversize[l->fmt], 1);
        c->skipping = 1;
        pos = c->len;
    }
    return pos;
}

/* Syslog framing (syslog_frame); -1 when the stream is not syslog at all. */
static int syslog_frames(struct listener *l, struct conn *c, size_t *pos)
{
    uint64_t before = c->framer.oversize;
    struct slice msg;
    size_t used;
    int rc;

    *pos = 0;
    for (;;) {
        rc = syslog_frame(&c->framer, c->buf + *pos, c->len - *pos, &msg, &used);
        *pos += used;
        if (rc <= 0)
            break;
        add_frame(l, msg.p, msg.len);
    }
    if (c->framer.oversize > before)
        metrics_add(&l->metrics->sock_oversize[l->fmt], c->framer.oversize - before);
    return rc < 0 ? -1 : 0;
}

/* Reads what a connection has; 0 to keep it, -1 to close it. */
static int conn_read(struct tcp *t, struct conn *c)
{
    struct listener *l = t->l;
    size_t pos = 0;
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    c->len += (size_t)n;
    c->last_us = listen_now_us();
    if (l->cfg.kind == LISTEN_GELF_TCP)
        pos = gelf_frames(l, c);
    else if (syslog_frames(l, c, &pos) < 0)
        return -1;
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
    return 0;
}

/* Closes connections silent for longer than the idle timeout. */
static void reap_idle(struct tcp *t)
{
    int64_t limit = listen_now_us() - (int64_t)t->l->cfg.idle_timeout_s * 1000000;

    for (int i = t->nconns - 1; i >= 0; i--) {
        if (t->conns[i].last_us < limit)
            conn_close(t, i);
    }
}

static void poll_once(struct tcp *t, int reading)
{
    int n = t->nconns;

    t->pfd[0] = (struct pollfd){ t->l->fd, POLLIN, 0 };
    for (int i = 0; i < n; i++)
        t->pfd[1 + i] = (struct pollfd){ t->conns[i].fd, (short)(reading ? POLLIN : 0), 0 };
    if (poll(t->pfd, (nfds_t)(1 + n), reading ? LISTEN_TICK_MS : BUSY_WAIT_MS) <= 0)
        return;
    /* Backwards: conn_close moves the last connection into the closed one's slot. */
    for (int i = n - 1; i >= 0; i--) {
        if ((t->pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
            conn_read(t, &t->conns[i]) < 0)
            conn_close(t, i);
    }
    if (t->pfd[0].revents & POLLIN)
        accept_one(t);
}

void *listen_tcp_run(void *arg)
{
    struct listener *l = arg;
    struct tcp t = { l, NULL, NULL, 0 };
    int busy = 0;

    t.conns = xcalloc((size_t)l->cfg.max_conns, sizeof(*t.conns));
    t.pfd = xcalloc((size_t)l->cfg.max_conns + 1, sizeof(*t.pfd));
    while (!atomic_load(&l->stop)) {
        poll_once(&t, !busy);
        /* A batch the journal refused for its budget is kept and retried: nothing read is lost. */
        busy = listen_flush(l, 1) == DOOR_BUSY;
        reap_idle(&t);
    }
    listen_flush(l, 0);
    while (t.nconns > 0)
        conn_close(&t, t.nconns - 1);
    free(t.conns);
    free(t.pfd);
    return NULL;
}
