/*
 * bench_req.h - turns the body pools into complete HTTP requests.
 *
 * Header blocks are formatted once per door; a request is that block, its
 * Content-Length, and a copy of a pooled gzip body with a fresh event id
 * patched in. Mode "events" alternates /store/ and /envelope/ and walks the
 * pool so both doors see every body; "logs" posts NDJSON batches.
 */
#ifndef BENCH_REQ_H
#define BENCH_REQ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_events.h"
#include "bench_logs.h"
#include "bench_net.h"
#include "bench_rng.h"

enum breq_mode { BREQ_EVENTS, BREQ_STORE, BREQ_ENVELOPE, BREQ_LOGS };
enum breq_kind { BREQ_KIND_STORE = 0, BREQ_KIND_ENVELOPE = 1, BREQ_KIND_LOGS = 2 };
enum breq_size { BREQ_SIZE_MIXED, BREQ_SIZE_SMALL, BREQ_SIZE_LARGE };

struct breq_config {
    int mode;            /* enum breq_mode */
    const char *host;    /* Host header value */
    const char *key;     /* DSN public key */
    const char *project; /* project id */
    size_t bodies;       /* distinct event bodies (half small, half large) */
    int size;            /* enum breq_size: which half of the bodies is sent */
    size_t issues;       /* distinct fingerprints */
    size_t batches;      /* distinct log batches */
    size_t lines;        /* log lines per batch */
    int level_events;    /* gzip level (sentry-python uses 9) */
    int level_logs;
    uint64_t seed;
};

struct breq {
    int mode;
    int size;      /* enum breq_size */
    char *head[3]; /* header block up to "Content-Length: " per kind */
    size_t head_len[3];
    struct bev_pool ev;
    struct blog_pool logs;
    struct rng rng; /* event ids */
    uint64_t seq;
};

/* Builds the pools the mode needs. 0 or -1. */
int breq_init(struct breq *q, const struct breq_config *c);
void breq_release(struct breq *q);

/* The bnet_build_fn: arg is a struct breq. */
void breq_build(void *arg, struct bnet_req *r);

/* Units (events or lines) one request of the mode carries, on average. */
const char *breq_unit(const struct breq *q);

/* Prints body counts and average raw/gzip sizes. */
void breq_describe(const struct breq *q, FILE *out);

/*
 * Checks every pooled body: inflates it (after patching a fresh id where
 * there is a slot), parses the JSON (each NDJSON line, the envelope header,
 * item header and event) and checks the id landed where it should.
 * Prints a summary; 0 when all is well, -1 otherwise.
 */
int breq_selftest(struct breq *q, FILE *out);

#endif
