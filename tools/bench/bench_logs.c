/*
 * bench_logs.c - NDJSON log batches for the benchmark (see bench_logs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_logs.h"
#include "bench_rng.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "core/banned.h"

static const char *const methods[] = { "GET", "GET", "GET", "POST", "PUT", "DELETE" };
static const char *const access_paths[] = {
    "/api/orders/",      "/api/cart/items/", "/api/catalog/products/", "/static/app.js",
    "/api/accounts/me/", "/healthz",         "/api/search/",           "/api/shipping/rates/",
};
static const int statuses[] = { 200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 500 };
static const char *const levels[] = { "debug", "info", "info", "info", "warning" };
static const char *const loggers[] = {
    "shop.orders.services", "shop.payments.gateway", "shop.cart.views", "shop.inventory.sync",
    "celery.worker",        "shop.accounts.auth",    "django.request",
};

/* Application messages: a template and how many integers it takes. */
static const char *const templates[] = {
    "order %ld created for user %ld",
    "cache miss for key product:%ld, loading from database (%ld ms)",
    "retrying charge for order %ld, attempt %ld of 5",
    "stock sync done: %ld items updated in %ld ms",
    "user %ld logged in from session %ld",
    "task shop.payments.tasks.settle[%ld] succeeded in %ld ms",
    "slow query on orders_order took %ld ms (rows=%ld)",
    "cart %ld merged into cart %ld",
};

static const char *const errors[] = {
    "payment failed for order %ld: card declined (code %ld)",
    "upstream timeout calling api.stripe.com after %ld ms (retry %ld)",
    "could not reserve stock for SKU-%ld: only %ld left",
};

static void add_common(struct buf *b, struct rng *r, int64_t ts, const char *level,
                       const char *logger, int *failed)
{
    char t[40], rid[32];

    clock_fmt_rfc3339(ts, t);
    rng_hex(r, rid, sizeof(rid));
    if (buf_addf(b,
                 "{\"timestamp\":\"%s\",\"level\":\"%s\",\"logger\":\"%s\",\"host\":\"web-%ld\","
                 "\"service\":\"shop\",\"request_id\":\"%.32s\"",
                 t, level, logger, rng_range(r, 1, 8), rid) < 0)
        *failed = 1;
}

static void add_access(struct buf *b, struct rng *r, int64_t ts, int *failed)
{
    const char *m = RNG_PICK(r, methods), *path = RNG_PICK(r, access_paths);
    int status = RNG_PICK(r, statuses);
    long id = rng_range(r, 1, 99999), bytes = rng_range(r, 120, 48000);
    double ms = (double)rng_range(r, 1, 40000) / 100.0;

    add_common(b, r, ts,
               status >= 500   ? "error"
               : status >= 400 ? "warning"
                               : "info",
               "nginx.access", failed);
    if (buf_addf(b,
                 ",\"message\":\"%s %s%ld HTTP/1.1 %d %ld %.2fms\",\"method\":\"%s\","
                 "\"path\":\"%s%ld\",\"status\":%d,\"bytes\":%ld,\"duration_ms\":%.2f,"
                 "\"remote_addr\":\"203.0.113.%ld\",\"user_agent\":\"Mozilla/5.0 (X11; Linux "
                 "x86_64) Firefox/126.0\"}\n",
                 m, path, id, status, bytes, ms, m, path, id, status, bytes, ms,
                 rng_range(r, 1, 254)) < 0)
        *failed = 1;
}

static void add_app(struct buf *b, struct rng *r, int64_t ts, int *failed)
{
    int err = rng_below(r, 20) == 0;
    const char *level = err ? "error" : RNG_PICK(r, levels);
    const char *tmpl = err ? RNG_PICK(r, errors) : RNG_PICK(r, templates);
    char msg[256];

    add_common(b, r, ts, level, RNG_PICK(r, loggers), failed);
    snprintf(msg, sizeof(msg), tmpl, rng_range(r, 1, 99999), rng_range(r, 1, 5000));
    if (buf_addf(b, ",\"message\":\"%s\",\"user_id\":\"u_%ld\",\"duration_ms\":%ld", msg,
                 rng_range(r, 1, 50000), rng_range(r, 0, 900)) < 0)
        *failed = 1;
    if (err && buf_addstr(b, ",\"exception\":\"stripe.error.CardError\",\"trace_id\":\"") < 0)
        *failed = 1;
    if (err) {
        char tid[32];

        rng_hex(r, tid, sizeof(tid));
        if (buf_addf(b, "%.32s\"", tid) < 0)
            *failed = 1;
    }
    if (buf_addstr(b, "}\n") < 0)
        *failed = 1;
}

static int build_batch(struct bgz_tmpl *t, size_t k, size_t lines, uint64_t seed, int64_t now,
                       int level)
{
    struct buf b = BUF_INIT(64u << 20);
    struct rng r = { seed ^ ((k + 1) * UINT64_C(0x9e3779b97f4a7c15)) };
    int failed = 0, rc = -1;
    size_t i;

    for (i = 0; i < lines; i++) {
        /* Spread a batch over the second before start-up, oldest first. */
        int64_t ts = now - 1000000 + (int64_t)(i * 1000000 / lines);

        if (rng_below(&r, 10) < 6)
            add_access(&b, &r, ts, &failed);
        else
            add_app(&b, &r, ts, &failed);
    }
    if (!failed)
        rc = bgz_build(t, b.p, b.len, BGZ_NO_SLOT, level);
    buf_release(&b);
    return rc;
}

int blog_pool_build(struct blog_pool *p, size_t n, size_t lines, uint64_t seed, int level)
{
    int64_t now = clock_now_us();
    size_t k;

    memset(p, 0, sizeof(*p));
    if (n == 0 || lines == 0)
        return -1;
    p->batches = xcalloc(n, sizeof(*p->batches));
    p->n = n;
    p->lines = lines;
    for (k = 0; k < n; k++) {
        if (build_batch(&p->batches[k], k, lines, seed, now, level) < 0) {
            blog_pool_release(p);
            return -1;
        }
    }
    return 0;
}

void blog_pool_release(struct blog_pool *p)
{
    size_t k;

    for (k = 0; k < p->n; k++)
        bgz_release(&p->batches[k]);
    free(p->batches);
    memset(p, 0, sizeof(*p));
}
