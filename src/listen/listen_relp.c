/*
 * listen_relp.c - RELP (rsyslog's omrelp): our own server over the wire
 * format of ingest/relp.h.
 *
 * Why not librelp: librelp answers "200 OK" as soon as its receive callback
 * returns and has no way to defer an answer, so durability there meant one
 * journal fsync per message (a few thousand messages a second). RELP itself
 * lets a server answer later, in order: omrelp keeps a window of commands
 * (128 by default) unanswered. So this listener does what the TCP one does,
 * and answers late:
 *
 * One thread polls the listening socket, every connection and an eventfd.
 * Each connection has one fixed input buffer (max_frame plus a header);
 * every complete frame in it is handled at once: a "syslog" message goes
 * into the listener's batch (ingest/logfmt.h, the same octet-counted batch
 * the TCP syslog listener journals) and its TXNR into the connection's
 * queue of answers, tagged with the batch's sequence number. When every
 * readable connection has been read the batch is submitted to the door as
 * one journal record; the door's done callback (on the journal's flusher
 * thread, after the fsync) marks the batch and wakes the thread through
 * the eventfd, which then writes the "200 OK" of every command of that
 * batch, across all connections, in each connection's order. Nothing is
 * answered 200 before its record is on disk.
 *
 * Limits: at most RELP_WINDOW unanswered commands and OUT_MAX bytes of
 * unwritten answers per connection (past either, the connection is not
 * read: a client that does not read its answers stalls only itself), an
 * idle timeout and a connection cap as for TCP, and max_frame for a
 * message: a longer one is skipped on the wire, counted and answered 500
 * (final: the client drops it) and the session goes on. A frame that is
 * not RELP closes the connection, as the RELP spec says. Over the journal
 * budget nothing is read (backpressure) and the batch is retried; a batch
 * the door refuses for good (bad input, unauthorized) is answered 500, and
 * one the journal failed to write is not answered at all: its connections
 * are closed and the client resends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen/listen_int.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "ingest/relp.h"
#include "core/banned.h"

/* Commands a connection may have unanswered; omrelp's default window is 128. */
#define RELP_WINDOW 1024
/* Batches submitted whose fsync has not come back yet. */
#define RELP_INFLIGHT 64
/* Answers not yet written, per connection; past half of it the connection is not read. */
#define OUT_MAX (64u << 10)
/* Room for the longest answer (the open one). */
#define ANSWER_ROOM 256
/* How long a listener over the journal budget waits before trying again. */
#define BUSY_WAIT_MS 50
/* Seconds a stopping listener waits for its last batches' fsync. */
#define STOP_WAIT_S 5

enum answer {
    ANS_OK,       /* 200, once the batch is durable */
    ANS_OPEN,     /* 200 with our offers */
    ANS_OPEN_BAD, /* 500: no relp_version or no syslog command offered */
    ANS_CLOSE,    /* 200, then the connection is closed */
    ANS_TOOBIG,   /* 500: over max_frame */
    ANS_NOKEY,    /* 500: no key of the project (--socket-require-key) */
    ANS_REFUSED,  /* 500: the door refused the batch for good */
    ANS_UNKNOWN,  /* 500: a command we do not know */
};

struct pending {
    uint64_t batch; /* 0: answerable now; else once that batch is durable */
    uint32_t txnr;
    uint8_t answer; /* enum answer */
    int8_t version; /* ANS_OPEN: the client's relp_version */
};

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
    size_t skip;      /* data octets of an oversized frame still to skip */
    int skip_trailer; /* then its LF */
    int opened;
    int closing; /* "close" received or a refused open: no more reading */
    int more;    /* the buffer may hold frames not handled yet */
    struct pending *q;
    size_t qhead, qlen;
    struct buf out;
    size_t outpos;
    int64_t last_us;
};

struct relp;

/* One batch in the journal: done() marks it from the flusher thread. */
struct batch_sub {
    struct door_req req; /* first: the door's callback gets it */
    struct pool pool;
    struct relp *r;
    uint64_t seq;
    int outcome;
    _Atomic int done;
};

struct relp {
    struct listener *l;
    struct conn *conns; /* max_conns */
    struct pollfd *pfd; /* 2 + max_conns */
    int nconns;
    int wake; /* eventfd, written by batch_done */
    struct batch_sub *subs[RELP_INFLIGHT];
    size_t shead, slen;
    uint64_t seq;     /* the batch being filled */
    uint64_t durable; /* every batch up to this one is resolved */
    int busy;         /* the journal refused the batch for its budget: read nothing */
    int unavailable;  /* ... because the disk is low or the server stops: no use waiting */
};

static void conn_free(struct relp *r, int i)
{
    struct conn *c = &r->conns[i];

    close(c->fd);
    free(c->buf);
    free(c->q);
    buf_release(&c->out);
    r->conns[i] = r->conns[--r->nconns];
    metrics_add(&r->l->metrics->sock_connections, (uint64_t)-1);
}

static void accept_one(struct relp *r)
{
    struct listener *l = r->l;
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), one = 1;
    struct conn *c;

    if (fd < 0)
        return;
    if (r->nconns >= l->cfg.max_conns) {
        close(fd);
        metrics_add(&l->metrics->sock_dropped[l->fmt], 1);
        return;
    }
    /* Answers leave in one write per round already: Nagle would only hold them back. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = &r->conns[r->nconns++];
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->cap = l->cfg.max_frame + RELP_HEADER_MAX + 1;
    c->buf = xmalloc(c->cap);
    c->q = xcalloc(RELP_WINDOW, sizeof(*c->q));
    buf_init(&c->out, OUT_MAX);
    c->last_us = listen_now_us();
    metrics_add(&l->metrics->sock_connections, 1);
}

static void push(struct conn *c, uint32_t txnr, int answer, uint64_t batch, int version)
{
    struct pending *p = &c->q[(c->qhead + c->qlen++) % RELP_WINDOW];

    p->txnr = txnr;
    p->answer = (uint8_t)answer;
    p->batch = batch;
    p->version = (int8_t)version;
}

/* The answer of p into out. */
static int format_answer(struct buf *out, const struct pending *p)
{
    struct relp_offers o = { p->version, 1 };

    switch (p->answer) {
    case ANS_OPEN:
        return relp_rsp_open(out, p->txnr, &o);
    case ANS_OPEN_BAD:
        return relp_rsp(out, p->txnr, 500, "relp_version and commands=syslog are required", "");
    case ANS_TOOBIG:
        return relp_rsp(out, p->txnr, 500, "message too large", "");
    case ANS_NOKEY:
        return relp_rsp(out, p->txnr, 500, "no key of the project", "");
    case ANS_REFUSED:
        return relp_rsp(out, p->txnr, 500, "message refused", "");
    case ANS_UNKNOWN:
        return relp_rsp(out, p->txnr, 500, "command not supported", "");
    default:
        return relp_rsp(out, p->txnr, 200, "OK", "");
    }
}

/* Writes the answers that are due and what the socket takes; -1 to close the connection. */
static int conn_answer(struct relp *r, struct conn *c)
{
    ssize_t n;

    while (c->qlen > 0 && c->out.len + ANSWER_ROOM <= OUT_MAX) {
        struct pending *p = &c->q[c->qhead];

        if (p->batch != 0 && p->batch > r->durable)
            break;
        if (format_answer(&c->out, p) < 0)
            break;
        c->qhead = (c->qhead + 1) % RELP_WINDOW;
        c->qlen--;
    }
    while (c->outpos < c->out.len) {
        n = send(c->fd, c->out.p + c->outpos, c->out.len - c->outpos, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->outpos += (size_t)n;
        c->last_us = listen_now_us();
    }
    buf_reset(&c->out);
    c->outpos = 0;
    if (c->closing && c->qlen == 0)
        return -1;
    return 0;
}

/* Whether the connection may take more commands now. */
static int conn_open_for_more(const struct relp *r, const struct conn *c)
{
    return !r->busy && !c->closing && c->qlen < RELP_WINDOW && c->out.len < OUT_MAX / 2 &&
           r->slen < RELP_INFLIGHT;
}

/* One "syslog" message: 1 when the batch is full (nothing done), else 0. */
static int on_syslog(struct relp *r, struct conn *c, const struct relp_frame *f)
{
    struct listener *l = r->l;
    size_t before = l->nbatch;

    if (f->data.len == 0) {
        push(c, f->txnr, ANS_OK, 0, 0); /* nothing to store: nothing to lose */
        return 0;
    }
    if (listen_add(l, f->data.p, f->data.len) == BL_ETOOBIG)
        return 1;
    if (l->nbatch > before)
        push(c, f->txnr, ANS_OK, r->seq, 0);
    else
        push(c, f->txnr, ANS_NOKEY, 0, 0); /* counted by listen_add */
    return 0;
}

/* One whole frame: 0, 1 (batch full: not consumed) or -1 (protocol error). */
static int on_frame(struct relp *r, struct conn *c, const struct relp_frame *f)
{
    struct relp_offers o;

    if (f->txnr == 0)
        return 0; /* a hint: never answered */
    if (!c->opened && f->cmd != RELP_CMD_OPEN)
        return -1;
    switch (f->cmd) {
    case RELP_CMD_SYSLOG:
        return on_syslog(r, c, f);
    case RELP_CMD_OPEN:
        relp_offers_parse(f->data, &o);
        if (c->opened) {
            push(c, f->txnr, ANS_OK, 0, 0); /* librelp also tolerates a second open */
        } else if (o.version < 0 || !o.syslog) {
            push(c, f->txnr, ANS_OPEN_BAD, 0, 0);
            c->closing = 1;
        } else {
            c->opened = 1;
            push(c, f->txnr, ANS_OPEN, 0, o.version < RELP_VERSION ? o.version : RELP_VERSION);
        }
        return 0;
    case RELP_CMD_CLOSE:
        push(c, f->txnr, ANS_CLOSE, 0, 0);
        c->closing = 1;
        return 0;
    case RELP_CMD_RSP:
        return -1; /* the client does not answer */
    default:
        push(c, f->txnr, ANS_UNKNOWN, 0, 0);
        return 0;
    }
}

/*
 * Handles the complete frames in the connection's buffer while it may
 * take more: 0, 1 when it stopped because the batch is full, -1 to close.
 */
static int conn_frames(struct relp *r, struct conn *c)
{
    struct listener *l = r->l;
    struct relp_frame f;
    struct bl_err err;
    size_t pos = 0, used;
    int rc = 0;

    c->more = 0;
    while (pos < c->len && rc == 0) {
        if (c->skip > 0 || c->skip_trailer) {
            size_t n = c->skip < c->len - pos ? c->skip : c->len - pos;

            pos += n;
            c->skip -= n;
            if (c->skip == 0 && pos < c->len) {
                if (!relp_trailer(c->buf[pos++]))
                    return -1;
                c->skip_trailer = 0;
            }
            continue;
        }
        if (!conn_open_for_more(r, c)) {
            c->more = 1;
            break;
        }
        rc = relp_parse(c->buf + pos, c->len - pos, l->cfg.max_frame, &f, &used, &err);
        if (rc < 0)
            return -1;
        if (rc == RELP_MORE)
            break;
        if (rc == RELP_OVERSIZE) {
            metrics_add(&l->metrics->sock_oversize[l->fmt], 1);
            push(c, f.txnr, ANS_TOOBIG, 0, 0);
            c->skip = f.datalen;
            c->skip_trailer = 1;
            pos += used;
            rc = 0;
            continue;
        }
        rc = on_frame(r, c, &f);
        if (rc < 0)
            return -1;
        if (rc == 0)
            pos += used;
        else
            c->more = 1;
    }
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
    return rc;
}

/* The door's done callback, on the journal's flusher thread. */
static void batch_done(struct door_req *req, int outcome)
{
    struct batch_sub *s = (struct batch_sub *)req;
    uint64_t one = 1;

    s->outcome = outcome;
    atomic_store(&s->done, 1);
    if (write(s->r->wake, &one, sizeof(one)) < 0)
        log_error("relp: cannot wake the listener: %s", strerror(errno));
}

/* Every pending answer of batch seq becomes ans (or, with ans < 0, its connection closes). */
static void resolve_batch(struct relp *r, uint64_t seq, int ans)
{
    for (int i = r->nconns - 1; i >= 0; i--) {
        struct conn *c = &r->conns[i];
        int hit = 0;

        for (size_t k = 0; k < c->qlen; k++) {
            struct pending *p = &c->q[(c->qhead + k) % RELP_WINDOW];

            if (p->batch == seq) {
                hit = 1;
                p->batch = 0;
                p->answer = (uint8_t)(ans < 0 ? ANS_OK : ans);
            }
        }
        if (hit && ans < 0)
            conn_free(r, i);
    }
}

static int final_refusal(int outcome)
{
    return outcome == DOOR_BAD_INPUT || outcome == DOOR_TOO_LARGE || outcome == DOOR_UNAUTHORIZED ||
           outcome == DOOR_FORBIDDEN;
}

/* Submits the batch being filled; sets r->busy when the journal cannot take it now. */
static void submit(struct relp *r)
{
    struct listener *l = r->l;
    struct batch_sub *s;
    int rc;

    r->busy = 0;
    if (l->nbatch == 0)
        return;
    if (r->slen == RELP_INFLIGHT) {
        r->busy = 1;
        return;
    }
    s = xcalloc(1, sizeof(*s));
    pool_init(&s->pool, 1024);
    s->r = r;
    s->seq = r->seq;
    door_req_init(&s->req, l->cfg.door, l->project_id, &s->pool);
    rc = door_gate(&s->req);
    if (rc == DOOR_ACCEPTED)
        rc = door_bind(&s->req);
    if (rc == DOOR_ACCEPTED)
        rc = door_submit(&s->req, l->format, l->batch.p, l->batch.len, INGEST_ENC_NONE,
                         listen_now_us(), batch_done, s);
    if (rc == DOOR_ACCEPTED || final_refusal(rc)) {
        if (rc != DOOR_ACCEPTED) {
            metrics_add(&l->metrics->sock_dropped[l->fmt], l->nbatch);
            resolve_batch(r, s->seq, ANS_REFUSED);
            pool_release(&s->pool);
            free(s);
        } else {
            if (!s->req.pending) /* nothing to store (cannot happen for syslog) */
                batch_done(&s->req, DOOR_ACCEPTED);
            r->subs[(r->shead + r->slen++) % RELP_INFLIGHT] = s;
        }
        buf_reset(&l->batch);
        l->nbatch = 0;
        r->seq++;
        return;
    }
    /* Busy, rate-limited or unavailable: kept, retried; nothing more is read meanwhile. */
    pool_release(&s->pool);
    free(s);
    r->busy = 1;
    r->unavailable = rc == DOOR_UNAVAILABLE;
}

/* Takes the batches whose fsync came back, in order. */
static void collect(struct relp *r)
{
    uint64_t n;

    if (read(r->wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_error("relp: eventfd: %s", strerror(errno));
    while (r->slen > 0) {
        struct batch_sub *s = r->subs[r->shead];

        if (!atomic_load(&s->done))
            break;
        if (s->outcome != DOOR_ACCEPTED) {
            log_error("relp: the journal could not store a batch; its connections are closed "
                      "unanswered (the clients resend)");
            resolve_batch(r, s->seq, -1);
        }
        r->durable = s->seq;
        r->shead = (r->shead + 1) % RELP_INFLIGHT;
        r->slen--;
        pool_release(&s->pool);
        free(s);
    }
}

/* Reads a connection and handles its frames; -1 to close it. */
static int conn_read(struct relp *r, struct conn *c, int readable)
{
    ssize_t n;
    int rc;

    for (;;) {
        rc = conn_frames(r, c);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        submit(r); /* the batch is full: send it and go on with this buffer */
        if (r->busy)
            return 0;
    }
    if (!readable || !conn_open_for_more(r, c) || c->len == c->cap || c->more)
        return 0;
    n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    c->len += (size_t)n;
    c->last_us = listen_now_us();
    return conn_read(r, c, 0);
}

/* Closes connections silent for longer than the idle timeout, with the serverclose hint. */
static void reap_idle(struct relp *r)
{
    int64_t limit = listen_now_us() - (int64_t)r->l->cfg.idle_timeout_s * 1000000;

    for (int i = r->nconns - 1; i >= 0; i--) {
        struct conn *c = &r->conns[i];

        if (c->last_us < limit) {
            buf_reset(&c->out);
            c->outpos = 0;
            relp_serverclose(&c->out);
            if (send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                log_debug("relp: serverclose: %s", strerror(errno));
            conn_free(r, i);
        }
    }
}

/* Whether some connection holds frames it could handle without reading. */
static int work_left(const struct relp *r)
{
    for (int i = 0; i < r->nconns; i++) {
        if (r->conns[i].more && conn_open_for_more(r, &r->conns[i]))
            return 1;
    }
    return 0;
}

static void poll_once(struct relp *r, int stopping)
{
    int n = r->nconns, timeout = r->busy ? BUSY_WAIT_MS : LISTEN_TICK_MS;

    if (!stopping && work_left(r))
        timeout = 0;
    r->pfd[0] = (struct pollfd){ stopping ? -1 : r->l->fd, POLLIN, 0 };
    r->pfd[1] = (struct pollfd){ r->wake, POLLIN, 0 };
    for (int i = 0; i < n; i++) {
        struct conn *c = &r->conns[i];
        short ev = (short)(c->outpos < c->out.len ? POLLOUT : 0);

        if (!stopping && conn_open_for_more(r, c))
            ev |= POLLIN;
        r->pfd[2 + i] = (struct pollfd){ c->fd, ev, 0 };
    }
    if (poll(r->pfd, (nfds_t)(2 + n), timeout) < 0)
        return;
    /* Backwards: conn_free moves the last connection into the freed one's slot. */
    for (int i = n - 1; i >= 0; i--) {
        short rev = r->pfd[2 + i].revents;
        int readable = !stopping && (rev & (POLLIN | POLLHUP | POLLERR)) != 0;

        if ((readable || r->conns[i].more) && !stopping && conn_read(r, &r->conns[i], readable) < 0)
            conn_free(r, i);
    }
    /* After the reads: collect may close connections, which moves them in r->conns. */
    if (r->pfd[1].revents & POLLIN)
        collect(r);
    if (r->pfd[0].revents & POLLIN)
        accept_one(r);
}

/* After a round: the batch goes to the journal, due answers go out. */
static void answer_all(struct relp *r)
{
    for (int i = r->nconns - 1; i >= 0; i--) {
        if (conn_answer(r, &r->conns[i]) < 0)
            conn_free(r, i);
    }
}

/*
 * Stopping: what was read is journaled and answered once durable, for at
 * most STOP_WAIT_S; then every session gets the serverclose hint. 0 when
 * every batch came back, -1 when some are still in the journal (r must
 * then outlive us: their callbacks write to r->wake).
 */
static int drain(struct relp *r)
{
    int64_t until = listen_now_us() + (int64_t)STOP_WAIT_S * 1000000;

    submit(r);
    while ((r->slen > 0 || (r->busy && !r->unavailable)) && listen_now_us() < until) {
        poll_once(r, 1);
        if (r->busy)
            submit(r);
        answer_all(r);
    }
    for (int i = r->nconns - 1; i >= 0; i--) {
        struct conn *c = &r->conns[i];

        /* What is due first, then the hint; unanswered commands are resent by the client. */
        conn_answer(r, c);
        relp_serverclose(&c->out);
        conn_answer(r, c);
        conn_free(r, i);
    }
    return r->slen > 0 ? -1 : 0;
}

void *listen_relp_run(void *arg)
{
    struct listener *l = arg;
    struct relp *r = xcalloc(1, sizeof(*r));

    r->l = l;
    r->seq = 1;
    r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->conns = xcalloc((size_t)l->cfg.max_conns, sizeof(*r->conns));
    r->pfd = xcalloc((size_t)l->cfg.max_conns + 2, sizeof(*r->pfd));
    if (r->wake < 0) {
        log_error("relp: eventfd: %s", strerror(errno));
        atomic_store(&l->stop, 1);
    }
    while (!atomic_load(&l->stop)) {
        poll_once(r, 0);
        submit(r);
        answer_all(r);
        reap_idle(r);
    }
    if (drain(r) < 0) {
        log_error("relp: the journal did not confirm the last batches within %d s; their "
                  "commands stay unanswered (the clients resend them)",
                  STOP_WAIT_S);
        return NULL; /* r is still referenced by those batches: not freed */
    }
    if (r->wake >= 0)
        close(r->wake);
    free(r->conns);
    free(r->pfd);
    free(r);
    return NULL;
}
