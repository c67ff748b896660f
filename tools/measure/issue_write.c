/*
 * issue_write.c - the store writer's cost per issue event (store_write_batch
 * only: no decode, no network), to weigh what the write path adds per event.
 *
 * Usage: bilor-measure-issue-write DATA_DIR [EVENTS [ISSUES [BATCH [small|large]]]]
 *   (default 200000 events over 500 issues, batches of 2000; the server's
 *   digest gathers 170-360 events a batch under the bench's load, where
 *   each issue's counters cost a larger share per event). Each event has one of 3 environments and one of 40
 *   releases and a small identity payload; timestamps spread over the last
 *   24 hours. Prints the writer's CPU µs and wall µs per event. DATA_DIR
 *   should be new (a second run appends). Single-threaded; run it on a
 *   quiet machine and compare runs of the same build settings.
 *
 * With small or large, the events are instead the bench's own bodies of that
 * size (tools/bench/bench_events.h, ISSUES distinct fingerprints, at most
 * BENCH_BODIES / 2), decoded as the digest decodes them (ingest_decode, the
 * payload zstd-compressed as digest.c does) and written in journal order,
 * all on one day as under the bench: the writer's cost on the traffic the
 * bench sends rather than on the synthetic rows above.
 *
 * With WAL_KEEP=1 in the environment the checkpointer is paused and the
 * writer never checkpoints, and the tool ends without closing the store:
 * every page this run's commits wrote stays in the WAL files, for
 * tools/measure/wal_pages.py to count by table and index (docs/bench.md).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "bench_events.h"
#include "core/clock.h"
#include "core/pool.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/xmalloc.h"
#include "ingest/ingest.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "core/banned.h"

#define BATCH_MAX 2000
#define BENCH_BODIES 400 /* half small, half large: bench_events.h */
#define BENCH_SEED 42
#define RAW_MIN_COMPRESS 1024 /* as digest.c */

/* A 64-bit finalizer (splitmix64): distinct inputs, random-looking outputs. */
static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/*
 * The bench's bodies of one size (large 0/1) for nissues issues, decoded
 * into pool as the digest's decode threads leave them; 0 or -1.
 */
static int bench_events(struct pool *pool, size_t nissues, int large, struct event **out,
                        size_t *nout)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct event *v = xcalloc(nissues, sizeof(*v));
    ZSTD_CCtx *z = ZSTD_createCCtx();
    size_t n = 0;

    for (size_t b = 0; b < 2 * nissues && z != NULL; b++) {
        struct ingest_meta meta = {
            INGEST_SENTRY_STORE, INGEST_ENC_NONE, 1, clock_now_us(), 1, "", NULL, 0
        };
        struct ingest_events evs;
        size_t len, bound;
        char *json;

        if ((int)((b / nissues) % 2) != large)
            continue;
        json = bev_event_json(b, nissues, BENCH_SEED, &len);
        memset(&evs, 0, sizeof(evs));
        if (json == NULL || ingest_decode(json, len, &meta, &lim, pool, &evs, NULL, NULL) != 0 ||
            evs.n != 1) {
            free(json);
            break;
        }
        free(json);
        v[n] = evs.v[0];
        v[n].kind = EV_KIND_ISSUE; /* what the digest's classify makes of an exception */
        if (v[n].raw_encoding == EV_RAW_IDENTITY && v[n].raw_len > RAW_MIN_COMPRESS) {
            void *zb = pool_alloc(pool, bound = ZSTD_compressBound(v[n].raw_len));
            size_t zl = ZSTD_compressCCtx(z, zb, bound, v[n].raw, v[n].raw_len, 1);

            if (!ZSTD_isError(zl) && zl < v[n].raw_len) {
                v[n].raw = zb;
                v[n].raw_len = zl;
                v[n].raw_encoding = EV_RAW_ZSTD;
            }
        }
        n++;
    }
    ZSTD_freeCCtx(z);
    *out = v;
    *nout = n;
    return n == nissues ? 0 : -1;
}

static const char *const envs[] = { "production", "staging", "development" };

int main(int argc, char **argv)
{
    static char rels[40][32], fps[1000][33];
    struct store *st = NULL;
    struct store_project p;
    struct bl_err err = { 0, "" };
    struct event *ev = xcalloc(BATCH_MAX, sizeof(*ev));
    uint64_t total = argc > 2 ? strtoull(argv[2], NULL, 10) : 200000, done = 0, lsn = 0;
    size_t nissues = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 500;
    size_t batch = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : BATCH_MAX;
    int64_t span = 24 * CLOCK_US_PER_HOUR, t0, wr_us = 0, wr_cpu = 0;
    int large = argc > 5 && strcmp(argv[5], "large") == 0;
    struct event *bench = NULL;
    size_t nbench = 0;
    struct pool bpool;

    if (argc < 2 || total == 0 || nissues == 0 || nissues > 1000 || batch == 0 ||
        batch > BATCH_MAX ||
        (argc > 5 && (nissues > BENCH_BODIES / 2 || (!large && strcmp(argv[5], "small") != 0)))) {
        fprintf(stderr,
                "usage: %s DATA_DIR [EVENTS [ISSUES<=1000 [BATCH<=2000 [small|large]]]]\n"
                "  (with small or large: ISSUES<=%d)\n",
                argv[0], BENCH_BODIES / 2);
        return 2;
    }
    hash_global_init();
    json_global_init();
    pool_init(&bpool, 1u << 20);
    if (argc > 5 && bench_events(&bpool, nissues, large, &bench, &nbench) != 0) {
        fprintf(stderr, "cannot decode the bench's bodies\n");
        return 1;
    }
    if (bench != NULL) /* one day, as under the bench: 1 µs apart from an hour ago */
        span = (int64_t)total;
    if (store_open(&st, argv[1], "measure-issue-write", &err) != 0 ||
        (store_project_get(st, 1, &p, NULL) != 0 && store_project_add(st, "m", &p, &err) != 0)) {
        fprintf(stderr, "setup failed: %s\n", bl_err_msg(&err));
        return 1;
    }
    if (getenv("WAL_KEEP") != NULL)
        sq_ckpt_test_set(sq_of(st), INT_MAX, INT_MAX, 1);
    if (store_get_checkpoint(st, &lsn, NULL) != 0)
        lsn = 0;
    for (size_t i = 0; i < 40; i++)
        snprintf(rels[i], sizeof(rels[i]), "shop@1.%zu.0", i);
    for (size_t i = 0; i < nissues; i++)
        snprintf(fps[i], sizeof(fps[i]), "%032zx", i * 2654435761u);
    t0 = clock_now_us() - (bench != NULL ? CLOCK_US_PER_HOUR : span);
    while (done < total) {
        size_t n = total - done < batch ? (size_t)(total - done) : batch;
        struct store_batch_result res;
        int64_t a, ca;

        lsn++;
        for (size_t i = 0; i < n; i++) {
            struct event *e = &ev[i];
            uint64_t k = done + i, hi;

            if (bench != NULL)
                *e = bench[k % nbench];
            else
                memset(e, 0, sizeof(*e));
            /*
             * The bench's ids are random (rng_hex, as SDKs' uuid4 are): a hash
             * of (lsn, k) in all 32 digits. (Until stop 12 the first 16 were
             * the batch's own, so a batch's ids shared one index leaf.)
             */
            hi = mix64(mix64(lsn) ^ k);
            snprintf(e->event_id, sizeof(e->event_id), "%016llx%016llx",
                     (unsigned long long)(bench != NULL ? hi : lsn),
                     (unsigned long long)(bench != NULL ? mix64(hi ^ lsn) : k));
            e->project_id = p.id;
            e->lsn = lsn;
            e->seq = (uint32_t)i;
            e->timestamp = t0 + (int64_t)(k * (uint64_t)span / total);
            e->received_at = e->timestamp;
            if (bench != NULL)
                continue;
            e->level = EV_ERROR;
            e->kind = EV_KIND_ISSUE;
            memcpy(e->fingerprint, fps[(k * 7919) % nissues], 33);
            e->grouping_version = 1;
            e->message = "connection refused to db";
            e->title = "ConnectionRefusedError: connection refused";
            e->culprit = "app.views.index";
            e->search_text = "ConnectionRefusedError connection refused";
            e->logger = "app";
            e->environment = envs[k % 3];
            e->release = rels[(k / 7) % 40];
            e->raw = "{\"message\":\"connection refused to db\"}";
            e->raw_len = strlen(e->raw);
            e->raw_encoding = EV_RAW_IDENTITY;
        }
        a = clock_mono_us();
        ca = clock_thread_cpu_us();
        if (store_write_batch(st, ev, n, lsn + 1, &res, &err) != 0) {
            fprintf(stderr, "write: %s\n", bl_err_msg(&err));
            return 1;
        }
        wr_us += clock_mono_us() - a;
        wr_cpu += clock_thread_cpu_us() - ca;
        done += n;
    }
    printf("events %llu issues %zu: writer %.2f us/event cpu, %.2f us/event wall\n",
           (unsigned long long)total, nissues, (double)wr_cpu / (double)total,
           (double)wr_us / (double)total);
    if (getenv("WAL_KEEP") != NULL) {
        fflush(stdout);
        _exit(0); /* no close: its checkpoint would empty the WALs */
    }
    store_close(st);
    free(ev);
    free(bench);
    pool_release(&bpool);
    return 0;
}
