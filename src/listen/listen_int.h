/*
 * listen_int.h - what the listeners of listen/ share (listen.c): the
 * listener object, the batch they journal, and the per-message key check.
 */
#ifndef BL_LISTEN_INT_H
#define BL_LISTEN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"
#include "door/metrics.h"
#include "ingest/format.h"
#include "listen/listen.h"

/* A batch is sent at this size or count, or when the socket is drained. */
#define LISTEN_BATCH_BYTES (512u << 10)
#define LISTEN_BATCH_MSGS 4096
/* Poll period: how soon a stop request or an expiry is noticed. */
#define LISTEN_TICK_MS 100

struct listener {
    struct listen_config cfg;
    const struct ingest_format *format;
    int64_t project_id;
    int fd; /* the bound socket (UDP, TCP listening) */
    int port;
    char host[256];
    pthread_t thread;
    _Atomic int stop;
    struct metrics *metrics;
    size_t fmt;       /* format_index(format), for the metrics */
    struct buf batch; /* messages waiting for the journal */
    size_t nbatch;
    uint64_t kernel_drops; /* last value read from /proc/net/udp */
};

/*
 * Adds one message to the batch, after the key check when the listener
 * requires one. Returns 0 (added or dropped and counted) or BL_ETOOBIG when
 * the batch is full (send it first).
 */
int listen_add(struct listener *l, const char *msg, size_t len);

/*
 * Journals the batch. Returns DOOR_ACCEPTED (sent, or empty), DOOR_BUSY
 * (kept: retry later, only when keep is set; else dropped and counted) or
 * another outcome (dropped and counted).
 */
int listen_flush(struct listener *l, int keep);

/* Adds the kernel's new drops of the UDP socket (from /proc/net/udp{,6}). */
void listen_kernel_drops(struct listener *l);

int64_t listen_now_us(void);

void *listen_udp_run(void *arg);
void *listen_tcp_run(void *arg);
void *listen_relp_run(void *arg);

#endif
