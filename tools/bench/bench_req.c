/*
 * bench_req.c - HTTP requests from the body pools, plus the pool self-test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_req.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define SDK_CLIENT "sentry.python/1.9.10"

static char *make_head(const struct breq_config *c, int kind)
{
    struct buf b = BUF_INIT(4096);
    int rc;

    if (kind == BREQ_KIND_LOGS)
        rc = buf_addf(&b,
                      "POST /api/%s/logs HTTP/1.1\r\nHost: %s\r\nUser-Agent: bilor-bench\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                      "Content-Encoding: gzip\r\nContent-Length: ",
                      c->project, c->host, c->key);
    else
        rc = buf_addf(&b,
                      "POST /api/%s/%s/ HTTP/1.1\r\nHost: %s\r\nUser-Agent: " SDK_CLIENT
                      "\r\nX-Sentry-Auth: Sentry sentry_key=%s, sentry_version=7, "
                      "sentry_client=" SDK_CLIENT "\r\nContent-Type: %s\r\n"
                      "Content-Encoding: gzip\r\nContent-Length: ",
                      c->project, kind == BREQ_KIND_STORE ? "store" : "envelope", c->host, c->key,
                      kind == BREQ_KIND_STORE ? "application/json"
                                              : "application/x-sentry-envelope");
    if (rc < 0) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

int breq_init(struct breq *q, const struct breq_config *c)
{
    int k, rc;

    memset(q, 0, sizeof(*q));
    q->mode = c->mode;
    q->size = c->size;
    /* Body b is large when (b / issues) is odd: one size needs a whole pair of halves. */
    if (c->size != BREQ_SIZE_MIXED && c->bodies < 2 * c->issues) {
        fprintf(stderr, "bilor-bench: --size needs --bodies >= 2 x --issues\n");
        return -1;
    }
    q->rng.s = c->seed * 31 + 7;
    for (k = 0; k < 3; k++) {
        q->head[k] = make_head(c, k);
        if (q->head[k] == NULL)
            return -1;
        q->head_len[k] = strlen(q->head[k]);
    }
    if (c->mode == BREQ_LOGS)
        rc = blog_pool_build(&q->logs, c->batches, c->lines, c->seed, c->level_logs);
    else
        rc = bev_pool_build(&q->ev, c->bodies, c->issues, c->seed, c->level_events);
    return rc;
}

void breq_release(struct breq *q)
{
    int k;

    for (k = 0; k < 3; k++)
        free(q->head[k]);
    bev_pool_release(&q->ev);
    blog_pool_release(&q->logs);
    memset(q, 0, sizeof(*q));
}

/* Header block + length + body; returns where the body starts. */
static unsigned char *put_request(struct breq *q, struct bnet_req *r, int kind,
                                  const struct bgz_tmpl *t)
{
    char len[32];
    int n = snprintf(len, sizeof(len), "%zu\r\n\r\n", t->len);
    unsigned char *body;

    bnet_req_reserve(r, q->head_len[kind] + (size_t)n + t->len);
    memcpy(r->p, q->head[kind], q->head_len[kind]);
    memcpy(r->p + q->head_len[kind], len, (size_t)n);
    body = r->p + q->head_len[kind] + n;
    memcpy(body, t->gz, t->len);
    r->len = q->head_len[kind] + (size_t)n + t->len;
    r->kind = kind;
    return body;
}

/*
 * The pooled body for the seq-th request of a door: all bodies in turn, or
 * with --size only those of one size (every issue still appears).
 */
static size_t pick_body(const struct breq *q, uint64_t seq)
{
    size_t ni = q->ev.nissues, pairs = q->ev.n / (2 * ni);

    if (q->size == BREQ_SIZE_MIXED)
        return seq % q->ev.n;
    return seq % ni + ni * (2 * ((seq / ni) % pairs) + (q->size == BREQ_SIZE_LARGE));
}

void breq_build(void *arg, struct bnet_req *r)
{
    struct breq *q = arg;
    uint64_t seq = q->seq++;
    const struct bgz_tmpl *t;
    unsigned char *body;
    char id[BGZ_SLOT];
    int kind;

    if (q->mode == BREQ_LOGS) {
        t = &q->logs.batches[seq % q->logs.n];
        put_request(q, r, BREQ_KIND_LOGS, t);
        r->units = (unsigned)q->logs.lines;
        return;
    }
    if (q->mode == BREQ_EVENTS)
        kind = seq % 2 ? BREQ_KIND_ENVELOPE : BREQ_KIND_STORE;
    else
        kind = q->mode == BREQ_STORE ? BREQ_KIND_STORE : BREQ_KIND_ENVELOPE;
    if (q->mode == BREQ_EVENTS)
        seq /= 2;
    t = kind == BREQ_KIND_STORE ? &q->ev.store[pick_body(q, seq)]
                                : &q->ev.envelope[pick_body(q, seq)];
    body = put_request(q, r, kind, t);
    rng_hex(&q->rng, id, sizeof(id));
    bgz_patch(body, t, id);
    r->units = 1;
}

const char *breq_unit(const struct breq *q)
{
    return q->mode == BREQ_LOGS ? "lines" : "events";
}

static void sizes(const struct bgz_tmpl *v, size_t n, size_t from, size_t step, double *raw,
                  double *gz)
{
    size_t i, k = 0;

    *raw = *gz = 0;
    for (i = from; i < n; i += step, k++) {
        *raw += (double)v[i].raw_len;
        *gz += (double)v[i].len;
    }
    if (k > 0) {
        *raw /= (double)k;
        *gz /= (double)k;
    }
}

void breq_describe(const struct breq *q, FILE *out)
{
    double raw, gz;
    size_t half = q->ev.n / 2;

    if (q->mode == BREQ_LOGS) {
        sizes(q->logs.batches, q->logs.n, 0, 1, &raw, &gz);
        fprintf(out,
                "log batches: %zu x %zu lines, avg %.0f bytes raw, %.0f gzip "
                "(%.0f bytes/line raw)\n",
                q->logs.n, q->logs.lines, raw, gz, raw / (double)q->logs.lines);
        return;
    }
    sizes(q->ev.store, half, 0, 1, &raw, &gz);
    fprintf(out, "events: %zu bodies, %zu issues\n  small store: avg %.0f bytes raw, %.0f gzip\n",
            q->ev.n, q->ev.nissues, raw, gz);
    sizes(q->ev.store, q->ev.n, half, 1, &raw, &gz);
    fprintf(out, "  large store: avg %.0f bytes raw, %.0f gzip\n", raw, gz);
    sizes(q->ev.envelope, q->ev.n, 0, 1, &raw, &gz);
    fprintf(out, "  envelope (all): avg %.0f bytes raw, %.0f gzip\n", raw, gz);
}

/* Parses p[0..len) as one JSON value; 0 or -1. */
static int json_ok(const char *p, size_t len)
{
    struct json_limits lim = { 4u << 20, 64 };
    cJSON *v = json_parse(p, len, &lim, NULL);

    if (v == NULL)
        return -1;
    cJSON_Delete(v);
    return 0;
}

/* Every line of p must be JSON; returns the number of lines or -1. */
static long check_lines(const char *p, size_t len)
{
    size_t i = 0;
    long n = 0;

    while (i < len) {
        const char *nl = memchr(p + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - p) : len;

        if (json_ok(p + i, e - i) < 0)
            return -1;
        n++;
        i = e + 1;
    }
    return n;
}

/* Inflates t after patching id; checks the id is where the slot was. */
static int check_one(const struct bgz_tmpl *t, const char *id, size_t id_at, char **raw,
                     size_t *raw_len)
{
    unsigned char *copy = xmemdup(t->gz, t->len);
    int rc;

    bgz_patch(copy, t, id);
    rc = bgz_inflate(copy, t->len, raw, raw_len);
    free(copy);
    if (rc < 0 || *raw_len != t->raw_len)
        return -1;
    if (id_at != BGZ_NO_SLOT && memcmp(*raw + id_at, id, BGZ_SLOT) != 0)
        return -1;
    return 0;
}

static int check_event(const struct bgz_tmpl *store, const struct bgz_tmpl *env, const char *id)
{
    char *raw = NULL;
    size_t len;
    int rc = -1;

    if (check_one(store, id, 13, &raw, &len) < 0 || json_ok(raw, len) < 0)
        goto out;
    free(raw);
    raw = NULL;
    /* Envelope: header, item header, event, each one line of JSON. */
    if (check_one(env, id, 13, &raw, &len) < 0 || check_lines(raw, len) != 3)
        goto out;
    rc = 0;
out:
    free(raw);
    return rc;
}

int breq_selftest(struct breq *q, FILE *out)
{
    char id[BGZ_SLOT], *raw = NULL;
    size_t i, len, bad = 0;

    for (i = 0; i < q->ev.n; i++) {
        rng_hex(&q->rng, id, sizeof(id));
        bad += check_event(&q->ev.store[i], &q->ev.envelope[i], id) < 0;
    }
    for (i = 0; i < q->logs.n; i++) {
        if (check_one(&q->logs.batches[i], id, BGZ_NO_SLOT, &raw, &len) < 0 ||
            check_lines(raw, len) != (long)q->logs.lines)
            bad++;
        free(raw);
        raw = NULL;
    }
    breq_describe(q, out);
    fprintf(out, "selftest: %zu bodies checked, %zu bad\n", q->ev.n + q->logs.n, bad);
    return bad == 0 ? 0 : -1;
}
