/*
 * listen.h - the socket doors: syslog over UDP and TCP, GELF over UDP and
 * TCP, and RELP (docs/doors.md).
 *
 * DESIGN
 * A socket has no per-request key, so each listener is bound by the
 * operator to one project (ADDR:PORT=PROJECT_ID) and admitted with
 * door_bind; with require_key, each message must also carry a key of that
 * project (an SD-param bilor@0 key="..." in syslog, "_bilor_key" in GELF),
 * checked through the door's key cache. Every listener runs on a thread of
 * its own and journals what it receives in groups through door_submit: one
 * journal record is a batch of messages (ingest/logfmt.h), sent when the
 * socket is drained or the batch is full, so one fsync covers thousands of
 * datagrams.
 *
 * Losses are counted, never hidden, and memory is bounded: UDP reads
 * datagrams in batches (recvmmsg) and, over the journal budget, drops them
 * (counted, with the kernel's own buffer drops from /proc/net/udp); TCP
 * connections have a fixed buffer, a frame limit (a longer frame is counted
 * and skipped), an idle timeout and a cap, and over the budget they are
 * simply not read (the sender's TCP window fills: backpressure). RELP
 * (our own server over ingest/relp.h) batches like TCP and answers each
 * message "200 OK" only once its batch's record is durable.
 */
#ifndef BL_LISTEN_H
#define BL_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "door/door.h"

enum listen_kind {
    LISTEN_SYSLOG_UDP = 0,
    LISTEN_SYSLOG_TCP,
    LISTEN_GELF_UDP,
    LISTEN_GELF_TCP,
    LISTEN_RELP,
    LISTEN__N
};

struct listen_config {
    int kind;         /* enum listen_kind */
    const char *spec; /* "HOST:PORT=PROJECT_ID" */
    struct door *door;
    int rcvbuf;         /* UDP SO_RCVBUF bytes; 0: the system's */
    size_t max_frame;   /* largest message (TCP frame, reassembled GELF) */
    int idle_timeout_s; /* TCP: a silent connection is closed after this */
    int max_conns;      /* TCP: connections held at once */
    int require_key;    /* each message must carry a key of the project */
};

struct listener;

/* "syslog-udp", ... (the flag's name). */
const char *listen_kind_name(int kind);

/* Binds the socket and starts the listener's thread. */
int listen_start(struct listener **out, const struct listen_config *c, struct bl_err *err);
/* The bound port. */
int listen_port(const struct listener *l);
/* The project it is bound to. */
int64_t listen_project(const struct listener *l);
/* Stops reading, journals what it holds, joins the thread and frees l (NULL is fine). */
void listen_stop(struct listener *l);

#endif
