/*
 * listen_udp.c - syslog and GELF over UDP (protocols.md §3.2, §4.4).
 *
 * Datagrams are read VLEN at a time with recvmmsg into fixed buffers (the
 * memory never grows with the rate), added to the listener's batch, and
 * the batch is journaled whenever the socket is drained or the batch is
 * full. GELF chunks are reassembled (gelf_chunk.h, bounded) and every GELF
 * message is stored decompressed. Over the journal budget a batch is
 * dropped and counted: a UDP sender cannot be slowed down.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "listen/listen_int.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "ingest/decode.h"
#include "ingest/gelf_chunk.h"
#include "core/banned.h"

#define VLEN 32
#define DGRAM_MAX 65536
/* Chunk sets in flight and the bytes they may hold, over all senders. */
#define GELF_SETS 1024
#define GELF_SET_BYTES (64u << 20)
#define HOUSEKEEPING_US 1000000

struct udp {
    struct listener *l;
    struct mmsghdr msgs[VLEN];
    struct iovec iov[VLEN];
    struct sockaddr_storage from[VLEN];
    char *data; /* VLEN x DGRAM_MAX */
    struct gelf_reasm *reasm;
    struct buf whole; /* a reassembled GELF message */
    struct buf plain; /* a decompressed one */
};

/* Any stable id of the sender's address and port, to key chunk sets. */
static uint64_t peer_id(const struct sockaddr_storage *ss, socklen_t len)
{
    return hash64(ss, len < sizeof(*ss) ? len : sizeof(*ss));
}

static void add_or_flush(struct listener *l, const char *p, size_t n)
{
    if (listen_add(l, p, n) == BL_ETOOBIG) {
        listen_flush(l, 0);
        listen_add(l, p, n);
    }
}

static void gelf_message(struct udp *u, const char *p, size_t n)
{
    struct listener *l = u->l;
    struct bl_err err;

    buf_reset(&u->plain);
    if (decode_body(p, n, INGEST_ENC_NONE, l->cfg.max_frame, &u->plain, &err) < 0) {
        metrics_add(&l->metrics->sock_dropped[l->fmt], 1);
        return;
    }
    add_or_flush(l, u->plain.p, u->plain.len);
}

static void gelf_datagram(struct udp *u, int i, size_t n)
{
    const char *p = u->data + (size_t)i * DGRAM_MAX;
    int rc;

    if (!gelf_is_chunk(p, n)) {
        gelf_message(u, p, n);
        return;
    }
    rc = gelf_reasm_add(u->reasm, peer_id(&u->from[i], u->msgs[i].msg_hdr.msg_namelen), p, n,
                        listen_now_us(), &u->whole);
    if (rc == 1)
        gelf_message(u, u->whole.p, u->whole.len);
    else if (rc < 0)
        metrics_add(&u->l->metrics->sock_dropped[u->l->fmt], 1);
}

static void prepare(struct udp *u)
{
    for (int i = 0; i < VLEN; i++) {
        u->iov[i].iov_base = u->data + (size_t)i * DGRAM_MAX;
        u->iov[i].iov_len = DGRAM_MAX;
        memset(&u->msgs[i].msg_hdr, 0, sizeof(u->msgs[i].msg_hdr));
        u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
        u->msgs[i].msg_hdr.msg_iovlen = 1;
        u->msgs[i].msg_hdr.msg_name = &u->from[i];
        u->msgs[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
    }
}

/* Reads until the socket is drained; returns how many datagrams. */
static int drain(struct udp *u)
{
    struct listener *l = u->l;
    int total = 0, n;

    do {
        prepare(u);
        n = recvmmsg(l->fd, u->msgs, VLEN, MSG_DONTWAIT, NULL);
        for (int i = 0; i < n; i++) {
            size_t len = u->msgs[i].msg_len;

            if (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
                metrics_add(&l->metrics->sock_oversize[l->fmt], 1);
            else if (u->reasm != NULL)
                gelf_datagram(u, i, len);
            else
                add_or_flush(l, u->data + (size_t)i * DGRAM_MAX, len);
        }
        total += n > 0 ? n : 0;
    } while (n == VLEN && !atomic_load(&l->stop));
    return total;
}

void *listen_udp_run(void *arg)
{
    struct udp *u = xcalloc(1, sizeof(*u));
    struct listener *l = arg;
    int64_t next = 0;

    u->l = l;
    u->data = xmalloc((size_t)VLEN * DGRAM_MAX);
    if (l->cfg.kind == LISTEN_GELF_UDP) {
        u->reasm = gelf_reasm_new(GELF_SETS, GELF_SET_BYTES);
        buf_init(&u->whole, l->cfg.max_frame);
        buf_init(&u->plain, l->cfg.max_frame);
    }
    while (!atomic_load(&l->stop)) {
        struct pollfd pfd = { l->fd, POLLIN, 0 };
        int64_t now;

        if (poll(&pfd, 1, LISTEN_TICK_MS) > 0)
            drain(u);
        listen_flush(l, 0); /* drained (or idle): one journal record for what came */
        now = listen_now_us();
        if (now >= next) {
            listen_kernel_drops(l);
            if (u->reasm != NULL)
                gelf_reasm_expire(u->reasm, now);
            next = now + HOUSEKEEPING_US;
        }
    }
    drain(u);
    listen_flush(l, 0);
    listen_kernel_drops(l);
    if (u->reasm != NULL)
        gelf_reasm_free(u->reasm);
    buf_release(&u->whole);
    buf_release(&u->plain);
    free(u->data);
    free(u);
    return NULL;
}
