/*
 * bench_logs.h - pre-compressed NDJSON batches of realistic log lines.
 *
 * A batch is `lines` JSON objects, one a line, as an application and its
 * nginx would ship them: most are access lines (method, path, status,
 * bytes, duration), the rest application messages at debug..error with a
 * logger, request and user ids, and now and then an exception name. Fields:
 * timestamp (RFC 3339), level, logger, message, host, service, request_id,
 * plus per-kind attributes. Batches are gzip'd once at start-up.
 */
#ifndef BENCH_LOGS_H
#define BENCH_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "bench_gz.h"

struct blog_pool {
    struct bgz_tmpl *batches;
    size_t n;
    size_t lines; /* per batch */
};

/* Builds n batches of lines lines each from seed, gzip'd at level. 0 or -1. */
int blog_pool_build(struct blog_pool *p, size_t n, size_t lines, uint64_t seed, int level);
void blog_pool_release(struct blog_pool *p);

#endif
