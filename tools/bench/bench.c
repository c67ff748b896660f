/*
 * bench.c - bilor-bench: Bilor's own load generator.
 *
 * DESIGN
 * Pre-generates realistic bodies (bench_events.c, bench_logs.c), gzip'd
 * once (bench_gz.c), then drives the server over N keep-alive connections
 * from one epoll loop (bench_net.c) for a fixed time and prints what the
 * client saw: accepted units per second, ack latency quantiles, status
 * counts. Server-side figures (digest rate, RSS, CPU) are collected by
 * scripts/bench.sh, which knows the server's pid and /metrics. The last line
 * of output is one "RESULT key=value ..." line for that script to parse.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_net.h"
#include "bench_req.h"
#include "core/json.h"
#include "core/banned.h"

struct opts {
    char host[256];
    char port[16];
    char host_header[300];
    struct breq_config req;
    struct bnet_config net;
    double rate; /* units per second, 0 = unpaced */
    int selftest;
    int describe;
    long dump; /* body to print as JSON, -1 = none */
};

enum opt_type { OPT_STR, OPT_INT, OPT_LONG, OPT_SIZE, OPT_U64, OPT_DOUBLE, OPT_FLAG };

struct opt_entry {
    const char *name;
    int type;
    size_t off; /* offset in struct opts */
    double min, max;
    const char *help;
};

#define O(field) offsetof(struct opts, field)

/* Options that are plain numbers; --url, --mode, --size, --rate-limit are parsed by hand. */
static const struct opt_entry opt_table[] = {
    { "--dsn-key", OPT_STR, O(req.key), 0, 0, "project DSN public key (required)" },
    { "--project", OPT_STR, O(req.project), 0, 0, "project id (default 1)" },
    { "--duration", OPT_DOUBLE, O(net.duration_s), 0.1, 86400, "seconds of load (default 60)" },
    { "--connections", OPT_INT, O(net.connections), 1, 4096, "keep-alive connections (32)" },
    { "--clients", OPT_INT, O(net.clients), 1, 4096,
      "loopback source addresses 127.0.0.1.. (one per 32 connections)" },
    { "--backoff-ms", OPT_INT, O(net.backoff_ms), 0, 60000, "pause after a 429 (20)" },
    { "--grace", OPT_DOUBLE, O(net.grace_s), 0, 600, "wait for in-flight after the end (10)" },
    { "--progress", OPT_DOUBLE, O(net.progress_s), 0, 3600, "interim line every S s (5, 0 off)" },
    { "--bodies", OPT_SIZE, O(req.bodies), 2, 100000, "distinct event bodies (400)" },
    { "--issues", OPT_SIZE, O(req.issues), 1, 100000, "distinct fingerprints (200)" },
    { "--batches", OPT_SIZE, O(req.batches), 1, 10000, "distinct log batches (32)" },
    { "--lines", OPT_SIZE, O(req.lines), 1, 1000000, "log lines per batch (1000)" },
    { "--gzip-level", OPT_INT, O(req.level_events), 1, 9, "gzip level of events (9)" },
    { "--seed", OPT_U64, O(req.seed), 0, 1e15, "body generator seed (1)" },
    { "--dump", OPT_LONG, O(dump), 0, 100000, "print event body N as JSON and exit" },
    { "--selftest", OPT_FLAG, O(selftest), 0, 0, "check every pooled body and exit" },
    { "--describe", OPT_FLAG, O(describe), 0, 0, "print pool sizes before running" },
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: bilor-bench --url http://HOST:PORT --dsn-key KEY [options]\n"
                 "  --url URL            server base URL (http only)\n"
                 "  --mode MODE          events (store+envelope), store, envelope, logs (events)\n"
                 "  --size SIZE          mixed, small (~3 KB) or large (~9 KB) events (mixed)\n"
                 "  --rate-limit R       none, or events (log lines) per second in total (none)\n");
    for (i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
        fprintf(out, "  %-20s %s\n", opt_table[i].name, opt_table[i].help);
}

static int parse_url(struct opts *o, const char *url)
{
    const char *p = url, *colon, *end;
    size_t n;

    if (strncmp(p, "http://", 7) != 0)
        return -1;
    p += 7;
    end = p + strcspn(p, "/");
    colon = memchr(p, ':', (size_t)(end - p));
    n = (size_t)((colon ? colon : end) - p);
    if (n == 0 || n >= sizeof(o->host))
        return -1;
    memcpy(o->host, p, n);
    o->host[n] = '\0';
    n = colon ? (size_t)(end - colon - 1) : 2;
    if (n == 0 || n >= sizeof(o->port))
        return -1;
    memcpy(o->port, colon ? colon + 1 : "80", n);
    o->port[n] = '\0';
    snprintf(o->host_header, sizeof(o->host_header), "%s:%s", o->host, o->port);
    return 0;
}

static int parse_mode(struct opts *o, const char *s)
{
    static const char *const names[] = { "events", "store", "envelope", "logs" };
    static const int modes[] = { BREQ_EVENTS, BREQ_STORE, BREQ_ENVELOPE, BREQ_LOGS };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            o->req.mode = modes[i];
            return 0;
        }
    }
    return -1;
}

static int parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* One table option with its value; returns the number of argv slots used or -1. */
static int set_table_opt(struct opts *o, const struct opt_entry *e, const char *val)
{
    char *field = (char *)o + e->off;
    double v;

    if (e->type == OPT_FLAG) {
        *(int *)(void *)field = 1;
        return 1;
    }
    if (val == NULL)
        return -1;
    if (e->type == OPT_STR) {
        *(const char **)(void *)field = val;
        return 2;
    }
    if (parse_number(val, e->min, e->max, &v) < 0)
        return -1;
    switch (e->type) {
    case OPT_DOUBLE:
        *(double *)(void *)field = v;
        break;
    case OPT_LONG:
        *(long *)(void *)field = (long)v;
        break;
    case OPT_SIZE:
        *(size_t *)(void *)field = (size_t)v;
        break;
    case OPT_U64:
        *(uint64_t *)(void *)field = (uint64_t)v;
        break;
    default:
        *(int *)(void *)field = (int)v;
        break;
    }
    return 2;
}

static int parse_size(struct opts *o, const char *s)
{
    static const char *const names[] = { "mixed", "small", "large" };
    static const int sizes[] = { BREQ_SIZE_MIXED, BREQ_SIZE_SMALL, BREQ_SIZE_LARGE };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            o->req.size = sizes[i];
            return 0;
        }
    }
    return -1;
}

static int parse_one(struct opts *o, const char *name, const char *val)
{
    size_t i;
    double v;

    if (strcmp(name, "--url") == 0)
        return val && parse_url(o, val) == 0 ? 2 : -1;
    if (strcmp(name, "--mode") == 0)
        return val && parse_mode(o, val) == 0 ? 2 : -1;
    if (strcmp(name, "--size") == 0)
        return val && parse_size(o, val) == 0 ? 2 : -1;
    if (strcmp(name, "--rate-limit") == 0) {
        if (val && strcmp(val, "none") == 0) {
            o->rate = 0;
            return 2;
        }
        if (val == NULL || parse_number(val, 1, 1e9, &v) < 0)
            return -1;
        o->rate = v;
        return 2;
    }
    for (i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
        if (strcmp(name, opt_table[i].name) == 0)
            return set_table_opt(o, &opt_table[i], val);
    return -1;
}

static void defaults(struct opts *o)
{
    memset(o, 0, sizeof(*o));
    parse_url(o, "http://127.0.0.1:8000");
    o->req.mode = BREQ_EVENTS;
    o->req.project = "1";
    o->req.bodies = 400;
    o->req.issues = 200;
    o->req.batches = 32;
    o->req.lines = 1000;
    o->req.level_events = 9;
    o->req.level_logs = 6;
    o->req.seed = 1;
    o->net.connections = 32;
    o->net.duration_s = 60;
    o->net.backoff_ms = 20;
    o->net.grace_s = 10;
    o->net.progress_s = 5;
    o->net.max_error_dumps = 3;
    o->dump = -1;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    int i = 1, used;

    defaults(o);
    while (i < argc) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        used = parse_one(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
        if (used < 0) {
            fprintf(stderr, "bilor-bench: bad option or value at '%s'\n", argv[i]);
            usage(stderr);
            return -1;
        }
        i += used;
    }
    if (o->req.key == NULL && !o->selftest && o->dump < 0) {
        fprintf(stderr, "bilor-bench: --dsn-key is required\n");
        return -1;
    }
    if (o->req.key == NULL)
        o->req.key = "0123456789abcdef0123456789abcdef";
    o->req.host = o->host_header;
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void report(const struct opts *o, const struct breq *q, const struct bnet_result *r,
                   double cpu)
{
    static const char *const names[3] = { "store", "envelope", "logs" };
    struct hist all;
    uint64_t req = 0, ok = 0, lim = 0, other = 0, units = 0;
    double el = r->elapsed_s > 0 ? r->elapsed_s : 1;
    int k;

    hist_init(&all);
    for (k = 0; k < 3; k++) {
        const struct bnet_kind_stats *s = &r->kind[k];

        if (s->requests == 0)
            continue;
        printf("  %-9s %9llu requests: %llu 2xx, %llu 429, %llu other; p50 %.2f ms, "
               "p99 %.2f ms\n",
               names[k], (unsigned long long)s->requests, (unsigned long long)s->ok,
               (unsigned long long)s->limited, (unsigned long long)s->other,
               ms(hist_quantile(&s->lat, 0.5)), ms(hist_quantile(&s->lat, 0.99)));
        hist_merge(&all, &s->lat);
        req += s->requests;
        ok += s->ok;
        lim += s->limited;
        other += s->other;
        units += s->units_ok;
    }
    printf("accepted  %.0f %s/s (%llu in %.1f s), %.1f MB/s on the wire\n", (double)units / el,
           breq_unit(q), (unsigned long long)units, el, (double)r->bytes_sent / el / 1e6);
    printf("ack       p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           ms(hist_quantile(&all, 0.5)), ms(hist_quantile(&all, 0.9)),
           ms(hist_quantile(&all, 0.99)), ms(all.max));
    printf("errors    %llu connection, %llu unfinished; client CPU %.2f s\n",
           (unsigned long long)r->errors, (unsigned long long)r->unfinished, cpu);
    printf("RESULT mode=%s unit=%s connections=%d duration=%.1f elapsed=%.3f requests=%llu "
           "ok=%llu limited=%llu other=%llu errors=%llu unfinished=%llu units=%llu "
           "accepted_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "client_cpu_s=%.3f\n",
           o->req.mode == BREQ_LOGS ? "logs" : "events", breq_unit(q), o->net.connections,
           o->net.duration_s, el, (unsigned long long)req, (unsigned long long)ok,
           (unsigned long long)lim, (unsigned long long)other, (unsigned long long)r->errors,
           (unsigned long long)r->unfinished, (unsigned long long)units, (double)units / el,
           ms(hist_quantile(&all, 0.5)), ms(hist_quantile(&all, 0.9)),
           ms(hist_quantile(&all, 0.99)), ms(all.max), cpu);
}

static int dump_body(const struct opts *o)
{
    size_t len;
    char *s = bev_event_json((size_t)o->dump, o->req.issues, o->req.seed, &len);

    if (s == NULL)
        return 1;
    fwrite(s, 1, len, stdout);
    putchar('\n');
    free(s);
    return 0;
}

static int run(struct opts *o, struct breq *q)
{
    static struct bnet_result res;
    double cpu0 = cpu_seconds(), units_per_req;

    units_per_req = o->req.mode == BREQ_LOGS ? (double)o->req.lines : 1.0;
    o->net.host = o->host;
    o->net.port = o->port;
    o->net.rate_rps = o->rate / units_per_req;
    o->net.build = breq_build;
    o->net.arg = q;
    o->net.kind_names[BREQ_KIND_STORE] = "store";
    o->net.kind_names[BREQ_KIND_ENVELOPE] = "envelope";
    o->net.kind_names[BREQ_KIND_LOGS] = "logs";
    fprintf(stderr, "bilor-bench: %s against %s for %.0f s, %d connections, rate %s\n",
            o->req.mode == BREQ_LOGS ? "logs" : "events", o->host_header, o->net.duration_s,
            o->net.connections, o->rate > 0 ? "limited" : "none");
    if (bnet_run(&o->net, &res) < 0)
        return 1;
    report(o, q, &res, cpu_seconds() - cpu0);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct breq q;
    int rc;

    json_global_init();
    if (parse_args(&o, argc, argv) < 0)
        return 2;
    if (o.dump >= 0)
        return dump_body(&o);
    if (breq_init(&q, &o.req) < 0) {
        fprintf(stderr, "bilor-bench: cannot build the request bodies\n");
        return 1;
    }
    if (o.selftest) {
        rc = breq_selftest(&q, stdout) < 0 ? 1 : 0;
    } else {
        if (o.describe)
            breq_describe(&q, stderr);
        rc = run(&o, &q);
    }
    breq_release(&q);
    return rc;
}
