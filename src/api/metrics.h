/*
 * metrics.h - counters for /metrics (Prometheus text format).
 *
 * Lock-free relaxed atomics: incremented on hot paths by every HTTP thread,
 * read when /metrics renders. Journal and digest numbers are read from
 * those modules at render time, not duplicated here.
 */
#ifndef BL_METRICS_H
#define BL_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "api/api.h"
#include "core/buf.h"

enum metrics_status {
    MS_200 = 0, MS_202, MS_400, MS_401, MS_403, MS_404, MS_405, MS_413, MS_429, MS_500, MS_503,
    MS_OTHER, MS__N
};

enum metrics_reject {
    MR_AUTH = 0,   /* no usable credentials (401) */
    MR_FORBIDDEN,  /* key of another project (403) */
    MR_TOO_LARGE,  /* 413 */
    MR_MALFORMED,  /* 400: bad JSON, bad envelope, bad encoding, bad lines */
    MR_BACKLOG,    /* 429: journal over budget */
    MR_JOURNAL,    /* 503: journal write failed */
    MR__N
};

struct metrics {
    _Atomic uint64_t requests[DOOR__N][MS__N];
    _Atomic uint64_t accepted[DOOR__N]; /* events (or log lines) acknowledged */
    _Atomic uint64_t rejected[MR__N];
    _Atomic uint64_t items[INGEST_ITEM__N];
    _Atomic uint64_t bytes_in[DOOR__N];
};

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
void metrics_request(struct metrics *m, int door, int status);
void metrics_add(_Atomic uint64_t *counter, uint64_t n);
/* Appends the whole exposition (our counters + journal + digest) to out. */
int metrics_render(const struct app *app, struct buf *out);

#endif
