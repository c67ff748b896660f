/*
 * logs_fill.c - fills a data directory with log lines through the digest's
 * own decode (ingest_decode of the bench's gzip'd NDJSON batches) and the
 * store's write path (store_write_batch), and says what each costs.
 *
 * Usage: bilor-measure-logs-fill DATA_DIR LINES [RECORDS_PER_BATCH]
 *
 * Lines: with MODE=bench (the default) the bench's generator
 * (tools/bench/bench_logs.c: access and application lines of a shop, ~5%
 * errors, which become issue events as the digest would classify them at
 * the default issue level), 400 distinct gzip'd batches of 1000 lines
 * cycled, timestamps rewritten to spread the lines evenly over the 24 hours
 * before the start. With MODE=search, the lines of
 * tools/measure/search_latency.py (a rare, a medium and a common marker
 * word, hosts, services, an http.status attribute, the same 24 hours), so
 * that script can time its queries on the directory (SEARCH_DATA_DIR).
 * Each store batch holds RECORDS_PER_BATCH journal records (default 8,
 * 8000 lines), as the digest's writer commits them. Prints decode and
 * write µs per line and the writer's lines/s (the single store writer is
 * what the digest cannot spread over threads). Project 1 is created when
 * the store has none. The decode knows the project's issue level (error),
 * as the digest's decode threads do, so log lines are not grouped; DEFER=0
 * groups every line, as the digest did before it knew; WRITE=0 only decodes
 * (no store writes: decode figures without the writer's cache effects, and
 * a profile of the decode alone); HANDOFF=1 decodes as the digest does when
 * the door handed its decompressed copy over (ingest/handoff.h): the body
 * is decompressed once beforehand, outside the timing, and the per-line
 * check is skipped (ingest_checked_begin). The decode step ends as the
 * digest's decode threads end theirs, with store_prepare (the log blocks
 * built ahead of the writer, timed on its own as "prepare"); PREP=0 leaves
 * it out, so the writer builds every block as it did before.
 * LOG_COMPRESSION=zstd writes the frames as `serve --log-compression zstd`
 * does. The digest's live tail takes part as it does there: its entries
 * made with prepare (tailring_prepare) and published after the write
 * (tailring_publish_prepared, in the write's time); TAIL=plain publishes
 * without them, copying on the writer as before stop 12, TAIL=0 leaves the
 * tail out. Single-threaded; run it on a quiet machine.
 *
 * CHECK=1 times the door's per-line check instead (ingest_check_ndjson on
 * each batch's decompressed text, so the inflate is not counted) and stores
 * nothing; its instructions per line:
 *   CHECK=1 valgrind --tool=callgrind --toggle-collect=ingest_check_ndjson \
 *       bilor-measure-logs-fill /tmp/somedir 40000
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_logs.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/hash.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "digest/tailring.h"
#include "ingest/decode.h"
#include "ingest/fingerprint.h"
#include "ingest/ingest.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "core/banned.h"

#define SEED 7
#define POOL_BATCHES 400
#define LINES_PER_RECORD 1000

#define S(x) ((x) != NULL ? (x) : "(null)")

/* DUMP=FILE: the fields the decode set, one event a line, to compare two builds' events. */
static void dump_event(FILE *f, const struct event *e)
{
    fprintf(f, "%s %llu %u %lld %d %d %d %s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%zu %s %d %s %llx\n",
            e->event_id, (unsigned long long)e->lsn, e->seq, (long long)e->timestamp, e->level,
            e->kind, e->source, S(e->message), S(e->logger), S(e->server_name), S(e->trace_id),
            S(e->span_id), S(e->request_id), S(e->release), S(e->environment), S(e->title),
            S(e->culprit), S(e->message_template), e->raw_len, e->fingerprint, e->grouping_version,
            e->fingerprint_prev, (unsigned long long)e->template_hash);
}

static int ensure_project(struct store *st)
{
    struct store_project p;

    if (store_project_get(st, 1, &p, NULL) == 0)
        return 0;
    return store_project_add(st, "fill", &p, NULL);
}

static const char *const words[] = { "request", "handled",  "user",      "session", "cache",
                                     "miss",    "upstream", "latency",   "token",   "refresh",
                                     "queue",   "worker",   "retry",     "payment", "invoice",
                                     "order",   "shipment", "inventory", "report",  "export",
                                     "import" };

/* search_latency.py's line i of n (its words are drawn differently; the markers are the same). */
static void search_line(struct buf *b, uint64_t i, uint64_t n, int64_t now)
{
    static const char *const levels[] = { "info", "info", "info", "debug", "warning" };
    static const char *const services[] = { "api", "web", "worker" };
    static const int status[] = { 200, 200, 200, 404, 500 };
    uint64_t r = i * UINT64_C(6364136223846793005) + 1442695040888963407u;

    buf_addf(b, "{\"timestamp\":%.6f,\"level\":\"%s\",\"message\":\"",
             (double)now / 1e6 - 86400.0 + 86400.0 * (double)i / (double)n, levels[i % 5]);
    for (int k = 0; k < 8; k++) {
        r = r * UINT64_C(6364136223846793005) + 1442695040888963407u;
        buf_addf(b, "%s%s", k ? " " : "", words[(r >> 33) % (sizeof(words) / sizeof(*words))]);
    }
    if (i % 100000 == 7)
        buf_addstr(b, " zanzibarrare");
    if (i % 1000 == 3)
        buf_addstr(b, " mediumterm");
    if (i % 5 == 0)
        buf_addstr(b, " commonterm");
    buf_addf(b, " id=%llu\",\"host\":\"web%llu\",\"service\":\"%s\",\"http\":{\"status\":%d}}\n",
             (unsigned long long)i, (unsigned long long)(i % 20), services[i % 3], status[i % 5]);
}

/* The door's check of LINES lines (CHECK=1): µs of CPU per line. */
static int check_only(const struct buf *texts, size_t n, uint64_t total)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct buf scratch = BUF_INIT(64u << 20);
    struct pool pool;
    uint64_t done = 0, rejected = 0;
    int64_t c0 = clock_thread_cpu_us();

    pool_init(&pool, 1u << 16);
    for (size_t rec = 0; done < total; rec++) {
        struct ingest_ndjson_result res;
        struct bl_err err;

        pool_reset(&pool);
        if (ingest_check_ndjson(texts[rec % n].p, texts[rec % n].len, INGEST_ENC_NONE, &lim, &pool,
                                100, &scratch, &res, &err) != 0) {
            fprintf(stderr, "check: %s\n", bl_err_msg(&err));
            return 1;
        }
        done += res.accepted + res.rejected;
        rejected += res.rejected;
    }
    printf("check: %llu lines (%llu rejected), %.3f us/line cpu\n", (unsigned long long)done,
           (unsigned long long)rejected, (double)(clock_thread_cpu_us() - c0) / (double)done);
    pool_release(&pool);
    buf_release(&scratch);
    return 0;
}

int main(int argc, char **argv)
{
    struct blog_pool bp;
    struct store *st = NULL;
    struct bl_err err = { 0, "" };
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool, jpool;
    int rc;
    uint64_t lsn = 0, total, done = 0;
    size_t per_batch = 8, rec = 0, nbatches = POOL_BATCHES;
    int64_t t0, span = 24 * CLOCK_US_PER_HOUR, dec_us = 0, wr_us = 0, start;
    int64_t dec_cpu = 0, wr_cpu = 0;
    const char *mode = getenv("MODE");
    int search = mode != NULL && strcmp(mode, "search") == 0;
    const char *defer = getenv("DEFER");
    int level = defer != NULL && strcmp(defer, "0") == 0 ? 0 : EV_ERROR;
    struct buf body = BUF_INIT(64u << 20);
    const char *write = getenv("WRITE");
    int no_write = write != NULL && strcmp(write, "0") == 0;
    const char *handoff = getenv("HANDOFF");
    const char *check = getenv("CHECK");
    int check_mode = check != NULL && strcmp(check, "1") == 0;
    int handed = check_mode || (handoff != NULL && strcmp(handoff, "1") == 0);
    struct buf *texts = NULL;
    const char *prep_env = getenv("PREP");
    int use_prep = prep_env == NULL || strcmp(prep_env, "0") != 0;
    struct store_prep *prep = NULL;
    const char *tail_env = getenv("TAIL");
    int tail_mode = tail_env == NULL                 ? 1
                    : strcmp(tail_env, "plain") == 0 ? 2
                                                     : strcmp(tail_env, "0") != 0;
    struct tailring *tail = tail_mode != 0 ? tailring_new() : NULL;
    struct tailring_prep *tprep = NULL;
    int64_t prep_us = 0, prep_cpu = 0;
    uint64_t blocks_prepared = 0, blocks_built = 0;
    struct event *keep = NULL;
    size_t keep_cap = 0;
    FILE *dump = getenv("DUMP") != NULL ? fopen(getenv("DUMP"), "w") : NULL;

    if (argc < 3) {
        fprintf(stderr, "usage: %s DATA_DIR LINES [RECORDS_PER_BATCH]\n", argv[0]);
        return 2;
    }
    total = strtoull(argv[2], NULL, 10);
    if (argc > 3)
        per_batch = (size_t)strtoul(argv[3], NULL, 10);
    if (total == 0 || per_batch == 0)
        return 2;
    hash_global_init();
    json_global_init();
    /* BATCHES=N: fewer distinct batches, for a quick run under valgrind --tool=callgrind. */
    if (getenv("BATCHES") != NULL)
        nbatches = (size_t)strtoul(getenv("BATCHES"), NULL, 10);
    if (blog_pool_build(&bp, search ? 1 : nbatches, LINES_PER_RECORD, SEED, 1) != 0 ||
        store_open(&st, argv[1], "measure-fill", &err) != 0 || ensure_project(st) != 0) {
        fprintf(stderr, "setup failed: %s\n", bl_err_msg(&err));
        return 1;
    }
    if (getenv("LOG_COMPRESSION") != NULL && strcmp(getenv("LOG_COMPRESSION"), "zstd") == 0)
        store_set_log_codec(st, STORE_LOG_ZSTD);
    if (getenv("WAL_KEEP") != NULL) /* tools/measure/wal_pages.py reads the WALs afterwards */
        sq_ckpt_test_set(sq_of(st), INT_MAX, INT_MAX, 1);
    if (store_get_checkpoint(st, &lsn, NULL) != 0)
        lsn = 0;
    /* The door's copies: each batch decompressed once (the door's work, not timed). */
    if (handed && !search) {
        texts = xcalloc(bp.n, sizeof(*texts));
        for (size_t i = 0; i < bp.n; i++) {
            buf_init(&texts[i], 64u << 20);
            if (decode_body(bp.batches[i].gz, bp.batches[i].len, INGEST_ENC_GZIP, 64u << 20,
                            &texts[i], &err) != 0) {
                fprintf(stderr, "decode: %s\n", bl_err_msg(&err));
                return 1;
            }
        }
    }
    if (check_mode && texts != NULL) {
        rc = check_only(texts, bp.n, total);
        for (size_t i = 0; i < bp.n; i++)
            buf_release(&texts[i]);
        free(texts);
        store_close(st);
        blog_pool_release(&bp);
        return rc;
    }
    t0 = clock_now_us() - span;
    pool_init(&pool, 1u << 20);
    pool_init(&jpool, 1u << 20);
    start = clock_mono_us();
    while (done < total) {
        struct ingest_events evs;
        struct store_batch_result res;
        int64_t a = clock_mono_us(), b, ca = clock_thread_cpu_us(), cb;

        memset(&evs, 0, sizeof(evs));
        pool_reset(&pool);
        /* As the digest's slots (digest.c decode_slot): the events array kept from batch to
         * batch, so the decode does not pay for growing it by doubling each time. */
        evs.v = keep;
        evs.cap = keep_cap;
        for (size_t r = 0; r < per_batch && done + evs.n < total; r++, rec++) {
            const struct bgz_tmpl *t = &bp.batches[rec % bp.n];
            struct ingest_meta meta = {
                INGEST_LOGS_NDJSON, INGEST_ENC_GZIP, 1, clock_now_us(), ++lsn, "", NULL, level
            };
            const void *p = t->gz;
            size_t len = t->len;

            if (search) {
                /* the body outlives the decode: raw payloads point into it */
                char *copy;

                buf_reset(&body);
                for (uint64_t k = done + evs.n; k < done + evs.n + LINES_PER_RECORD && k < total;
                     k++)
                    search_line(&body, k, total, t0 + span);
                copy = pool_alloc(&pool, body.len);
                memcpy(copy, body.p, body.len);
                p = copy;
                len = body.len;
                meta.encoding = INGEST_ENC_NONE;
            }
            /* As the digest's decode threads do: each record's cJSON trees in a pool. */
            json_pool_begin(&jpool);
            if (texts != NULL) {
                const struct buf *tx = &texts[rec % bp.n];

                decode_preset_begin(p, len, (struct slice){ (const char *)tx->p, tx->len });
                ingest_checked_begin();
            }
            rc = ingest_decode(p, len, &meta, &lim, &pool, &evs, NULL, &err);
            decode_preset_end();
            ingest_checked_end();
            json_pool_end();
            pool_reset(&jpool);
            if (rc != 0) {
                fprintf(stderr, "decode: %s\n", bl_err_msg(&err));
                return 1;
            }
        }
        for (size_t i = 0; dump != NULL && i < evs.n; i++)
            dump_event(dump, &evs.v[i]);
        for (size_t i = 0; i < evs.n; i++) {
            struct event *e = &evs.v[i];

            if (!search)
                e->timestamp = t0 + (int64_t)((done + i) * (uint64_t)span / total);
            e->kind = e->nexc > 0 || e->level >= EV_ERROR ? EV_KIND_ISSUE : EV_KIND_LOG;
            /* As the digest's writer does (never here: the level is the same). */
            if (e->kind == EV_KIND_ISSUE && fingerprint_is_deferred(e))
                fingerprint_event(e, &pool);
        }
        if (use_prep) {
            int64_t pa = clock_mono_us(), pca = clock_thread_cpu_us();

            store_prepare(st, &prep, evs.v, evs.n);
            if (tail_mode == 1)
                tailring_prepare(&tprep, evs.v, evs.n);
            prep_us += clock_mono_us() - pa;
            prep_cpu += clock_thread_cpu_us() - pca;
        }
        b = clock_mono_us();
        cb = clock_thread_cpu_us();
        dec_us += b - a;
        dec_cpu += cb - ca;
        if (!no_write && store_write_prepared(st, evs.v, evs.n, prep, lsn + 1, &res, &err) != 0) {
            fprintf(stderr, "write: %s\n", bl_err_msg(&err));
            return 1;
        }
        if (tail_mode == 1)
            tailring_publish_prepared(tail, tprep, evs.v, evs.n);
        else if (tail_mode == 2)
            tailring_publish(tail, evs.v, evs.n);
        blocks_prepared += no_write ? 0 : res.log_blocks_prepared;
        blocks_built += no_write ? 0 : res.log_blocks_built;
        wr_us += clock_mono_us() - b;
        wr_cpu += clock_thread_cpu_us() - cb;
        done += evs.n;
        if (evs.v != keep) {
            free(keep);
            keep = xmalloc(evs.cap * sizeof(*keep));
            keep_cap = evs.cap;
        }
        if ((done / (per_batch * LINES_PER_RECORD)) % 125 == 0)
            fprintf(stderr, "\r%llu lines", (unsigned long long)done);
    }
    fprintf(stderr, "\n");
    printf("lines %llu in %.1f s: decode %.2f us/line (cpu %.2f; of which prepare %.2f, cpu %.2f), "
           "write %.2f us/line (cpu %.2f), writer %.0f lines/s (by cpu %.0f), decode+write %.0f "
           "lines/s; log blocks prepared %llu, built by the writer %llu\n",
           (unsigned long long)done, (double)(clock_mono_us() - start) / 1e6, (double)dec_us / done,
           (double)dec_cpu / done, (double)prep_us / done, (double)prep_cpu / done,
           (double)wr_us / done, (double)wr_cpu / done, (double)done * 1e6 / (double)wr_us,
           (double)done * 1e6 / (double)wr_cpu, (double)done * 1e6 / (double)(dec_us + wr_us),
           (unsigned long long)blocks_prepared, (unsigned long long)blocks_built);
    store_prep_free(st, prep);
    tailring_prep_free(tprep);
    tailring_free(tail);
    free(keep);
    if (dump != NULL)
        fclose(dump);
    for (size_t i = 0; texts != NULL && i < bp.n; i++)
        buf_release(&texts[i]);
    free(texts);
    buf_release(&body);
    pool_release(&pool);
    pool_release(&jpool);
    if (getenv("WAL_KEEP") != NULL) {
        fflush(stdout);
        _exit(0); /* no close: its checkpoint would empty the WALs */
    }
    store_close(st);
    blog_pool_release(&bp);
    return 0;
}
