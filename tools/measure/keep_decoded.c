/*
 * keep_decoded.c - should the door journal the body it already
 * decompressed, so the digest does not decompress it again?
 *
 * For the bench's bodies (sentry-python events of about 3 and 9 KB gzip'd
 * at level 9, and 1000-line NDJSON batches), prints:
 *   - the journal bytes of each choice (as received vs decoded);
 *   - what the digest saves: decode_request() of the body, per body;
 *   - what the store then pays for /store/ events, which it keeps as the
 *     client's gzip today: a zstd level-1 compression of the JSON;
 *   - what the journal pays: a burst of records appended without waiting
 *     (group commit, fdatasync on), until all are durable, for each choice.
 *
 * Usage: bilor-measure-keep [dir [nojournal]]   (dir: where the journal
 * goes, default /tmp; use the data directory's disk). Single-threaded and
 * short. For instruction counts that do not depend on the machine's load:
 *   valgrind --tool=callgrind --toggle-collect=decode_us --toggle-collect=zstd_us \
 *       --dump-after=decode_us --dump-after=zstd_us \
 *       bilor-measure-keep /tmp nojournal
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "bench_events.h"
#include "bench_logs.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "ingest/decode.h"
#include "journal/journal.h"
#include "core/banned.h"

#define SEED 42
#define NEVENTS 64
#define DECODE_ROUNDS 20
#define JOURNAL_RECORDS 4000

/* CPU time of this thread (or process): the machine may be shared, wall time is not ours. */
static int64_t cpu_us(clockid_t which)
{
    struct timespec ts;

    clock_gettime(which, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct body {
    const unsigned char *gz;
    size_t gz_len;
    char *raw; /* decoded */
    size_t raw_len;
};

static struct body decoded(const struct bgz_tmpl *t)
{
    struct buf out = BUF_INIT(64u << 20);
    struct slice text;
    struct body b = { t->gz, t->len, NULL, 0 };

    if (decode_request(t->gz, t->len, INGEST_ENC_GZIP, 64u << 20, 0, &out, &text, NULL) != 0)
        abort();
    b.raw = xmalloc(text.len);
    memcpy(b.raw, text.p, text.len);
    b.raw_len = text.len;
    buf_release(&out);
    return b;
}

/* µs per decode_request of each body, averaged over rounds. */
__attribute__((noinline)) static double decode_us(const struct body *v, size_t n)
{
    struct buf out = BUF_INIT(64u << 20);
    struct slice text;
    int64_t t0 = cpu_us(CLOCK_THREAD_CPUTIME_ID);

    for (int r = 0; r < DECODE_ROUNDS; r++) {
        for (size_t i = 0; i < n; i++) {
            if (decode_request(v[i].gz, v[i].gz_len, INGEST_ENC_GZIP, 64u << 20, 0, &out, &text,
                               NULL) != 0)
                abort();
        }
    }
    buf_release(&out);
    return (double)(cpu_us(CLOCK_THREAD_CPUTIME_ID) - t0) / (DECODE_ROUNDS * (double)n);
}

__attribute__((noinline)) static double zstd_us(const struct body *v, size_t n)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t cap = 0;
    void *dst = NULL;
    int64_t t0;

    for (size_t i = 0; i < n; i++)
        cap = ZSTD_compressBound(v[i].raw_len) > cap ? ZSTD_compressBound(v[i].raw_len) : cap;
    dst = xmalloc(cap);
    t0 = cpu_us(CLOCK_THREAD_CPUTIME_ID);
    for (int r = 0; r < DECODE_ROUNDS; r++)
        for (size_t i = 0; i < n; i++)
            if (ZSTD_isError(ZSTD_compressCCtx(cc, dst, cap, v[i].raw, v[i].raw_len, 1)))
                abort();
    t0 = cpu_us(CLOCK_THREAD_CPUTIME_ID) - t0;
    free(dst);
    ZSTD_freeCCtx(cc);
    return (double)t0 / (DECODE_ROUNDS * (double)n);
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void on_done(void *arg, int rc)
{
    struct waiter *w = arg;

    (void)rc;
    pthread_mutex_lock(&w->mu);
    w->done++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/*
 * Appends nrec records cycling through v (raw or gz) and waits until all are
 * durable: wall time (write + fdatasync, noisy on a shared disk) and the
 * process's CPU time (copies into the group, write syscalls).
 */
static void journal_cost(const char *base, const struct body *v, size_t n, int nrec, int use_raw,
                         const char *what)
{
    struct journal_config jc = { NULL, 64u << 20, 8ull << 30, 32u << 20, 1, 0 };
    struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    struct journal_stats st;
    struct journal *j = NULL;
    char dir[512], cmd[600];
    int64_t t0, us, c0, cpu;

    snprintf(dir, sizeof(dir), "%s/bilor-measure-XXXXXX", base);
    jc.dir = dir;
    if (mkdtemp(dir) == NULL || journal_open(&j, &jc, 0, NULL) != 0)
        abort();
    t0 = clock_mono_us();
    c0 = cpu_us(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < nrec; i++) {
        const struct body *b = &v[(size_t)i % n];
        struct journal_record rec = { 0 };

        rec.protocol = 1;
        rec.payload = use_raw ? (const void *)b->raw : (const void *)b->gz;
        rec.len = use_raw ? b->raw_len : b->gz_len;
        while (journal_append(j, &rec, on_done, &w) != 0)
            ;
    }
    pthread_mutex_lock(&w.mu);
    while (w.done < nrec)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    us = clock_mono_us() - t0;
    cpu = cpu_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
    journal_stats(j, &st);
    journal_close(j);
    printf("  journal %-8s %5d records %9.1f KiB  wall %7.2f us/record  cpu %6.2f us/record"
           "  %3llu fsyncs\n",
           what, nrec, (double)st.appended_bytes / 1024.0, (double)us / nrec, (double)cpu / nrec,
           (unsigned long long)st.fsyncs);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static int journal_too = 1;

static void report(const char *name, const char *base, struct body *v, size_t n, int nrec)
{
    size_t gz = 0, raw = 0;

    for (size_t i = 0; i < n; i++) {
        gz += v[i].gz_len;
        raw += v[i].raw_len;
    }
    printf("%s: %zu bodies, mean %.0f B as received, %.0f B decoded (x%.1f)\n", name, n,
           (double)gz / (double)n, (double)raw / (double)n, (double)raw / (double)gz);
    printf("  digest decode_request  %8.2f us/body (saved by journaling decoded)\n",
           decode_us(v, n));
    printf("  zstd -1 of the JSON    %8.2f us/body (paid by the store instead of keeping gzip)\n",
           zstd_us(v, n));
    if (!journal_too)
        return;
    journal_cost(base, v, n, nrec, 0, "received");
    journal_cost(base, v, n, nrec, 1, "decoded");
}

static void split_events(const struct bev_pool *p, struct body *small, size_t *ns,
                         struct body *large, size_t *nl)
{
    *ns = *nl = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct body b = decoded(&p->store[i]);

        if (b.raw_len < 6000)
            small[(*ns)++] = b;
        else
            large[(*nl)++] = b;
    }
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "/tmp";
    struct body small[NEVENTS], large[NEVENTS], logs[8];
    struct bev_pool ev;
    struct blog_pool lp;
    size_t ns, nl;

    journal_too = !(argc > 2 && strcmp(argv[2], "nojournal") == 0);
    if (bev_pool_build(&ev, NEVENTS, 16, SEED, 9) != 0 ||
        blog_pool_build(&lp, 8, 1000, SEED, 6) != 0)
        return 1;
    split_events(&ev, small, &ns, large, &nl);
    for (size_t i = 0; i < lp.n; i++)
        logs[i] = decoded(&lp.batches[i]);
    report("events ~3 KB", base, small, ns, JOURNAL_RECORDS);
    report("events ~9 KB", base, large, nl, JOURNAL_RECORDS);
    report("log batches of 1000 lines", base, logs, lp.n, JOURNAL_RECORDS / 10);
    return 0;
}
