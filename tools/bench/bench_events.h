/*
 * bench_events.h - a pool of realistic, pre-compressed Sentry events.
 *
 * DESIGN
 * Bodies look like what sentry-python 1.x sends from a Django/Celery shop:
 * an exception with 10-30 frames (library and in-app, context lines, vars),
 * breadcrumbs, tags, contexts, request, user, sdk. Half are about 3 KB and
 * half about 9 KB before gzip. Body b belongs to issue b % nissues; an
 * issue fixes the exception type and the in-app frames (module, function),
 * so the server's grouping sees exactly nissues distinct fingerprints
 * whatever else varies (library frames, values, vars, breadcrumbs).
 *
 * Each body exists twice: as a /store/ JSON object whose "event_id" value
 * is a 32-byte slot, and as a python-style envelope whose header carries the
 * slot. Both are gzip templates (bench_gz.h), so a request costs a memcpy
 * and a CRC combine, not a compression.
 */
#ifndef BENCH_EVENTS_H
#define BENCH_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "bench_gz.h"

struct bev_pool {
    struct bgz_tmpl *store;    /* n templates for POST /api/{pid}/store/ */
    struct bgz_tmpl *envelope; /* n templates for POST /api/{pid}/envelope/ */
    size_t n;
    size_t nissues;
};

/*
 * Builds n bodies (n >= 2) for nissues issues from seed, gzip'd at level
 * (sentry-python uses 9). 0 or -1.
 */
int bev_pool_build(struct bev_pool *p, size_t n, size_t nissues, uint64_t seed, int level);
void bev_pool_release(struct bev_pool *p);

/*
 * Writes body b's uncompressed event JSON (store form, slot as zeros) into a
 * malloc'd string; for the self-test and --dump. NULL when b is out of range.
 */
char *bev_event_json(size_t b, size_t nissues, uint64_t seed, size_t *len);

#endif
