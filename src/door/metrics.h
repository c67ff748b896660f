/*
 * metrics.h - the counters registry: what the doors did, for /metrics.
 *
 * Lock-free relaxed atomics: incremented on hot paths by every listener
 * thread, read when /metrics renders (api/metrics.c names and prints them;
 * journal and digest numbers are read from those modules at render time,
 * not duplicated here). Nothing in it is HTTP: per-format counters are
 * indexed by format_index() (ingest/format.h), refusals by door outcome,
 * and listener replies by a label and a reply class the listener defines
 * (HTTP: route label x status).
 */
#ifndef BL_DOOR_METRICS_H
#define BL_DOOR_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "door/door.h"
#include "ingest/format.h"
#include "ingest/ingest.h"

#define METRICS_LABELS 8   /* listener labels (HTTP: enum route_label) */
#define METRICS_REPLIES 16 /* reply classes per label (HTTP: status codes) */

struct metrics {
    _Atomic uint64_t accepted[FORMAT_MAX];      /* events (or log lines) acknowledged */
    _Atomic uint64_t bytes_in[FORMAT_MAX];      /* request bytes as received */
    _Atomic uint64_t rejected[DOOR_OUTCOME__N]; /* refusals, by outcome */
    _Atomic uint64_t items[INGEST_ITEM__N];     /* Sentry envelope items */
    _Atomic uint64_t replies[METRICS_LABELS][METRICS_REPLIES];
    /* Socket listeners (listen/), by format index. */
    _Atomic uint64_t sock_kernel_drops[FORMAT_MAX]; /* UDP datagrams the kernel dropped */
    _Atomic uint64_t sock_dropped[FORMAT_MAX];      /* messages we dropped: busy, no key, bad */
    _Atomic uint64_t sock_oversize[FORMAT_MAX];     /* TCP frames over the limit, skipped */
    _Atomic uint64_t sock_connections;              /* open TCP and RELP connections */
};

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
void metrics_add(_Atomic uint64_t *counter, uint64_t n);
uint64_t metrics_read(const _Atomic uint64_t *counter);
/* Counts one listener reply; out-of-range values land in the last slot. */
void metrics_reply(struct metrics *m, int label, int reply);

#endif
