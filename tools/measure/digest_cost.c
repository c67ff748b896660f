/*
 * digest_cost.c - the CPU cost of one Sentry event from door to store
 * input, stage by stage, on the bench's own bodies (tools/bench/).
 *
 * For each size of the bench's events (~3 KB and ~9 KB, gzip'd at level 9)
 * and each door (/store/ JSON, /envelope/), prints the thread CPU time per
 * body of:
 *   - the door check (ingest_check_store / ingest_check_envelope), which
 *     every request pays before it is acknowledged;
 *   - the digest's decode (ingest_decode: decompress, parse, scrub,
 *     normalize, fingerprint), as a decode thread runs it, with cJSON in
 *     an arena (json_pool_begin);
 *   - the same with the door's decompressed copy preset (ingest/handoff.h),
 *     as when the digest keeps up: no second decompression.
 * The store's writer and the network are not included (docs/bench.md has
 * the whole server's figures).
 *
 * Usage: bilor-measure-digest [rounds [small|large]]   (default 20, both).
 * Single-threaded. The times depend on the machine's load; for instruction
 * counts that do not (inclusive cost of check_us and decode_us, divided by
 * 200 bodies x 2 doors x rounds; decode_us counts both decodes, with and
 * without the door's copy):
 *   valgrind --tool=callgrind --callgrind-out-file=cg.out bilor-measure-digest 1 large
 *   callgrind_annotate --inclusive=yes cg.out | grep -E 'check_us|decode_us'

 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_events.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/decode.h"
#include "ingest/ingest.h"
#include "core/banned.h"

#define SEED 42
#define NBODIES 400
#define NISSUES 200
#define SMALL_MAX 6000 /* decoded bytes: the pool's small bodies are ~3.3 KB, large ~9.3 KB */

static int64_t thread_cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct set {
    const struct bgz_tmpl *v[NBODIES];
    size_t n;
};

/* µs per door check of each body. */
__attribute__((noinline)) static double check_us(const struct set *s, int envelope, int rounds)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct buf scratch = BUF_INIT(lim.max_body);
    int64_t t0 = thread_cpu_us();

    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < s->n; i++) {
            struct ingest_check out;
            int rc = envelope ? ingest_check_envelope(s->v[i]->gz, s->v[i]->len, INGEST_ENC_GZIP,
                                                      &lim, &scratch, &out, NULL)
                              : ingest_check_store(s->v[i]->gz, s->v[i]->len, INGEST_ENC_GZIP, &lim,
                                                   &scratch, &out, NULL);

            if (rc != 0)
                abort();
        }
    }
    buf_release(&scratch);
    return (double)(thread_cpu_us() - t0) / (rounds * (double)s->n);
}

/* The door's decompressed copy of each body (what decode_request returns for it). */
static struct slice *door_copies(const struct set *s, struct pool *p)
{
    struct slice *v = pool_calloc(p, s->n, sizeof(*v));
    struct buf scratch = BUF_INIT(64u << 20);

    for (size_t i = 0; i < s->n; i++) {
        if (decode_request(s->v[i]->gz, s->v[i]->len, INGEST_ENC_GZIP, 64u << 20, 0, &scratch,
                           &v[i], NULL) != 0)
            abort();
        v[i].p = pool_memdup(p, v[i].p, v[i].len);
    }
    buf_release(&scratch);
    return v;
}

/* µs per digest decode of each body, as a decode thread does it (with copy: handed off). */
__attribute__((noinline)) static double decode_us(const struct set *s, int envelope, int rounds,
                                                  const struct slice *copy)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool batch, arena;
    int64_t t0;

    pool_init(&batch, 1u << 20);
    pool_init(&arena, 1u << 20);
    t0 = thread_cpu_us();
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < s->n; i++) {
            struct ingest_meta meta = {
                envelope ? INGEST_SENTRY_ENVELOPE : INGEST_SENTRY_STORE,
                INGEST_ENC_GZIP,
                1,
                1764547200000000,
                (uint64_t)(r * NBODIES + (int)i + 1),
                "",
                NULL,
                0,
            };
            struct ingest_events evs;

            memset(&evs, 0, sizeof(evs));
            if (copy != NULL)
                decode_preset_begin(s->v[i]->gz, s->v[i]->len, copy[i]);
            json_pool_begin(&arena);
            if (ingest_decode(s->v[i]->gz, s->v[i]->len, &meta, &lim, &batch, &evs, NULL, NULL) !=
                    0 ||
                evs.n != 1)
                abort();
            json_pool_end();
            decode_preset_end();
            pool_reset(&arena);
            pool_reset(&batch);
        }
    }
    t0 = thread_cpu_us() - t0;
    pool_release(&arena);
    pool_release(&batch);
    return (double)t0 / (rounds * (double)s->n);
}

static void report(const char *name, const struct set *store, const struct set *env, int rounds)
{
    struct pool p;
    const struct slice *store_copy, *env_copy;
    double cs, ds, hs, ce, de, he;

    pool_init(&p, 1u << 20);
    store_copy = door_copies(store, &p);
    env_copy = door_copies(env, &p);
    cs = check_us(store, 0, rounds);
    ds = decode_us(store, 0, rounds, NULL);
    hs = decode_us(store, 0, rounds, store_copy);
    ce = check_us(env, 1, rounds);
    de = decode_us(env, 1, rounds, NULL);
    he = decode_us(env, 1, rounds, env_copy);
    printf("%s (%zu bodies)\n", name, store->n);
    printf("  /store/    door check %7.2f us  digest decode %7.2f us (handed off %7.2f us)\n", cs,
           ds, hs);
    printf("  /envelope/ door check %7.2f us  digest decode %7.2f us (handed off %7.2f us)\n", ce,
           de, he);
    pool_release(&p);
}

int main(int argc, char **argv)
{
    static struct set small_store, small_env, large_store, large_env;
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20;
    struct bev_pool p;

    json_global_init(); /* as bilor serve: cJSON allocates from the arena when one is set */
    if (rounds < 1 || bev_pool_build(&p, NBODIES, NISSUES, SEED, 9) != 0)
        return 1;
    for (size_t i = 0; i < p.n; i++) {
        int small = p.store[i].raw_len < SMALL_MAX;

        (small ? &small_store : &large_store)->v[(small ? small_store.n++ : large_store.n++)] =
            &p.store[i];
        (small ? &small_env : &large_env)->v[(small ? small_env.n++ : large_env.n++)] =
            &p.envelope[i];
    }
    if (argc <= 2 || strcmp(argv[2], "large") != 0)
        report("events ~3 KB", &small_store, &small_env, rounds);
    if (argc <= 2 || strcmp(argv[2], "small") != 0)
        report("events ~9 KB", &large_store, &large_env, rounds);
    bev_pool_release(&p);
    return 0;
}
