/*
 * Unit tests for src/journal: concurrent appends and callbacks, reading back
 * in order, group commit, reopen, torn tails, segment rolling and deletion,
 * budget and limits, read timeouts and wakes. Ends with a small throughput
 * measurement (printed, not asserted).
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "journal/journal.h"
#include "journal/journal_int.h"
#include "t.h"

#define SEG0 "0000000000000000.jnl"

/* Counts completions; the callback runs on the flusher thread. */
struct counter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int failed;
};

static void counter_init(struct counter *c)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->done = 0;
    c->failed = 0;
}

static void counter_destroy(struct counter *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

static void count_done(void *arg, int rc)
{
    struct counter *c = arg;

    pthread_mutex_lock(&c->mu);
    c->done++;
    c->failed += rc != 0;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Waits (at most 20 s) until n callbacks ran; returns how many did. */
static int counter_wait(struct counter *c, int n)
{
    int64_t end = clock_mono_us() + 20 * CLOCK_US_PER_SEC;
    int done;

    pthread_mutex_lock(&c->mu);
    while (c->done < n && clock_mono_us() < end) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    done = c->done;
    pthread_mutex_unlock(&c->mu);
    return done;
}

static void make_tmpdir(char *out, size_t outsz)
{
    const char *base = getenv("TMPDIR");

    snprintf(out, outsz, "%s/bilor-journal-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int count_segments(const char *dir, uint64_t max_size)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        size_t len = strlen(e->d_name);

        if (len < 4 || strcmp(e->d_name + len - 4, ".jnl") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && max_size > 0 && (uint64_t)st.st_size > max_size)
            n += 1000; /* too big: makes the caller's count check fail */
        n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

static struct journal *open_j(const char *dir, uint64_t seg, uint64_t budget, size_t maxrec,
                              int fsync, uint64_t ckpt)
{
    struct journal_config cfg = { dir, seg, budget, maxrec, fsync, 0 };
    struct journal *j = NULL;
    struct bl_err err = { 0 };
    int rc = journal_open(&j, &cfg, ckpt, &err);

    if (rc != 0) {
        fprintf(stderr, "journal_open '%s': %s\n", dir, bl_err_msg(&err));
        exit(2);
    }
    return j;
}

/* Deterministic payload of record i of thread t: a tag then a pattern. */
static size_t make_payload(int t, int i, char *out, size_t cap)
{
    size_t len = (size_t)(i * 37 + t * 11) % 300 + 20;
    int n = snprintf(out, cap, "t%d-r%d:", t, i);

    for (size_t k = (size_t)n; k < len && k < cap; k++)
        out[k] = (char)('a' + (k + (size_t)i) % 26);
    return len < cap ? len : cap;
}

static int append_one(struct journal *j, int t, int i, struct counter *c)
{
    char payload[512];
    struct journal_record rec = { 0 };

    rec.protocol = t % 3;
    rec.encoding = 1;
    rec.project_id = 1000 + t;
    rec.received_at = (int64_t)i * 1000;
    snprintf(rec.event_id, sizeof(rec.event_id), "%02x%030d", t, i);
    rec.len = make_payload(t, i, payload, sizeof(payload));
    rec.payload = payload;
    return journal_append(j, &rec, c != NULL ? count_done : NULL, c);
}

/* Reads every durable record from lsn on; returns the count, *end the next LSN. */
static int read_all(struct journal *j, uint64_t lsn, size_t max_records, uint64_t *lsns,
                    int lsn_cap, uint64_t *end)
{
    struct journal_batch b = { 0 };
    int total = 0, n;

    while ((n = journal_read_batch(j, lsn, max_records, 1 << 20, 0, &b)) > 0) {
        for (int i = 0; i < n; i++) {
            if (lsns != NULL && total + i < lsn_cap)
                lsns[total + i] = b.recs[i].lsn;
        }
        total += n;
        lsn = b.end_lsn;
    }
    if (n < 0)
        total = n;
    *end = lsn;
    journal_batch_release(&b);
    return total;
}

struct appender {
    struct journal *j;
    struct counter *c;
    int t;
    int n;
    int errors;
};

static void *appender_main(void *arg)
{
    struct appender *a = arg;

    for (int i = 0; i < a->n; i++)
        a->errors += append_one(a->j, a->t, i, a->c) != 0;
    return NULL;
}

static int run_appenders(struct journal *j, struct counter *c, int threads, int per)
{
    pthread_t tid[16];
    struct appender a[16];
    int errors = 0;

    for (int t = 0; t < threads; t++) {
        a[t] = (struct appender){ j, c, t, per, 0 };
        pthread_create(&tid[t], NULL, appender_main, &a[t]);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        errors += a[t].errors;
    }
    return errors;
}

/* Checks one read-back record against what thread t wrote as its record i. */
static int rec_matches(const struct journal_record *r, int t, int i)
{
    char want[512], id[33];
    size_t len = make_payload(t, i, want, sizeof(want));

    snprintf(id, sizeof(id), "%02x%030d", t, i);
    return r->len == len && memcmp(r->payload, want, len) == 0 && r->protocol == t % 3 &&
           r->encoding == 1 && r->received_at == (int64_t)i * 1000 && strcmp(r->event_id, id) == 0;
}

static void test_threads_in_order(void)
{
    enum { THREADS = 4, PER = 500 };
    char dir[256];
    struct counter c;
    struct journal *j;
    struct journal_batch b = { 0 };
    struct journal_stats st;
    int next[THREADS] = { 0 }, bad = 0, total = 0, n;
    uint64_t lsn, prev_end;

    make_tmpdir(dir, sizeof(dir));
    counter_init(&c);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK_INT_EQ(run_appenders(j, &c, THREADS, PER), 0);
    CHECK_INT_EQ(counter_wait(&c, THREADS * PER), THREADS * PER);
    CHECK_INT_EQ(c.failed, 0);
    lsn = journal_start_lsn(j);
    prev_end = lsn;
    while ((n = journal_read_batch(j, lsn, 97, 1 << 20, 0, &b)) > 0) {
        for (int i = 0; i < n; i++) {
            const struct journal_record *r = &b.recs[i];
            int t = (int)(r->project_id - 1000);

            /* Each thread's records come back in the order it appended them. */
            if (t < 0 || t >= THREADS || !rec_matches(r, t, next[t]++) || r->lsn != prev_end ||
                r->lsn % 8 != 0)
                bad++;
            prev_end = r->next_lsn;
        }
        total += n;
        lsn = b.end_lsn;
    }
    CHECK_INT_EQ(n, 0);
    CHECK_INT_EQ(total, THREADS * PER);
    CHECK_INT_EQ(bad, 0);
    CHECK(lsn == journal_durable_lsn(j));
    journal_stats(j, &st);
    CHECK_INT_EQ(st.appended_records, THREADS * PER);
    CHECK(st.appended_bytes == st.durable_lsn);
    CHECK_INT_EQ(st.segments, 1);
    CHECK(st.backlog_bytes == st.durable_lsn);
    journal_batch_release(&b);
    journal_close(j);
    counter_destroy(&c);
    rm_rf(dir);
}

static void test_group_commit(void)
{
    enum { THREADS = 8, PER = 250 };
    char dir[256];
    struct counter c;
    struct journal *j;
    struct journal_stats st;
    uint64_t end;

    make_tmpdir(dir, sizeof(dir));
    counter_init(&c);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK_INT_EQ(run_appenders(j, &c, THREADS, PER), 0);
    CHECK_INT_EQ(counter_wait(&c, THREADS * PER), THREADS * PER);
    journal_stats(j, &st);
    printf("group commit: %d records, %llu fsyncs\n", THREADS * PER, (unsigned long long)st.fsyncs);
    CHECK(st.fsyncs > 0);
    CHECK(st.fsyncs < THREADS * PER);
    CHECK_INT_EQ(read_all(j, 0, 1000, NULL, 0, &end), THREADS * PER);
    journal_close(j);
    counter_destroy(&c);
    rm_rf(dir);
}

static void test_reopen(void)
{
    char dir[256];
    struct counter c;
    struct journal *j;
    struct journal_batch b = { 0 };
    uint64_t lsns[100], end, end2;
    int n;

    make_tmpdir(dir, sizeof(dir));
    counter_init(&c);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    for (int i = 0; i < 100; i++)
        append_one(j, 1, i, &c);
    /* Close flushes what is pending and runs its callbacks. */
    journal_close(j);
    CHECK_INT_EQ(c.done, 100);
    CHECK_INT_EQ(c.failed, 0);

    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK_INT_EQ(read_all(j, 0, 1000, lsns, 100, &end), 100);
    CHECK(end == journal_durable_lsn(j));
    journal_close(j);

    j = open_j(dir, 0, 0, 1 << 20, 1, lsns[50]);
    CHECK(journal_start_lsn(j) == lsns[50]);
    CHECK(journal_durable_lsn(j) == end);
    CHECK(journal_backlog_bytes(j) == end - lsns[50]);
    n = journal_read_batch(j, journal_start_lsn(j), 1000, 1 << 20, 0, &b);
    CHECK_INT_EQ(n, 50);
    CHECK(n == 50 && rec_matches(&b.recs[0], 1, 50) && rec_matches(&b.recs[49], 1, 99));
    CHECK(n == 50 && b.recs[0].lsn == lsns[50] && b.end_lsn == end);
    /* New records continue the LSN sequence. */
    CHECK_INT_EQ(append_one(j, 1, 100, &c), 0);
    CHECK_INT_EQ(counter_wait(&c, 101), 101);
    n = journal_read_batch(j, end, 1000, 1 << 20, 0, &b);
    CHECK_INT_EQ(n, 1);
    CHECK(n == 1 && b.recs[0].lsn == end && rec_matches(&b.recs[0], 1, 100));
    end2 = journal_durable_lsn(j);
    journal_close(j);
    j = open_j(dir, 0, 0, 1 << 20, 1, lsns[50]);
    CHECK(journal_durable_lsn(j) == end2);
    journal_close(j);
    journal_batch_release(&b);
    counter_destroy(&c);
    rm_rf(dir);
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void write_at(const char *path, off_t off, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY);

    if (fd < 0 || pwrite(fd, p, n, off) != (ssize_t)n)
        perror(path);
    if (fd >= 0)
        close(fd);
}

/* Appends n records of thread 2 starting at index first, then closes. */
static void append_and_close(const char *dir, int first, int n)
{
    struct journal *j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    struct counter c;

    counter_init(&c);
    for (int i = first; i < first + n; i++)
        append_one(j, 2, i, &c);
    journal_close(j);
    CHECK_INT_EQ(c.done, n);
    counter_destroy(&c);
}

static void test_torn_tail(void)
{
    char dir[256], seg[300], garbage[100];
    struct journal *j;
    uint64_t lsns[20], end;
    off_t size;

    make_tmpdir(dir, sizeof(dir));
    snprintf(seg, sizeof(seg), "%s/%s", dir, SEG0);
    append_and_close(dir, 0, 10);
    size = file_size(seg);

    /* Garbage after the last record is cut; the records before it stay. */
    memset(garbage, 0xab, sizeof(garbage));
    write_at(seg, size, garbage, sizeof(garbage));
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK(file_size(seg) == size);
    CHECK(journal_durable_lsn(j) == (uint64_t)size);
    CHECK_INT_EQ(read_all(j, 0, 1000, lsns, 20, &end), 10);
    journal_close(j);
    append_and_close(dir, 10, 1);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK_INT_EQ(read_all(j, 0, 1000, lsns, 20, &end), 11);
    CHECK(lsns[10] == (uint64_t)size);
    journal_close(j);

    /* A record cut in the middle (crash during the write) disappears. */
    size = file_size(seg);
    CHECK(truncate(seg, size - 5) == 0);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK(journal_durable_lsn(j) == lsns[10]);
    CHECK(file_size(seg) == (off_t)lsns[10]);
    CHECK_INT_EQ(read_all(j, 0, 1000, NULL, 0, &end), 10);
    journal_close(j);

    /* A flipped payload byte fails the CRC: the log ends before that record. */
    write_at(seg, (off_t)lsns[9] + JOURNAL__HDR + 3, "\x01", 1);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK(journal_durable_lsn(j) == lsns[9]);
    CHECK_INT_EQ(read_all(j, 0, 1000, NULL, 0, &end), 9);
    journal_close(j);

    /* A whole header whose (consistent) lengths point far past the end of the file. */
    {
        unsigned char hdr[JOURNAL__HDR];
        struct journal_record fake = { 0 };

        char *zeros = calloc(1, 1000000);

        fake.payload = zeros;
        fake.len = 1000000;
        journal__rec_header(hdr, &fake);
        write_at(seg, (off_t)lsns[9], hdr, sizeof(hdr));
        free(zeros);
    }
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK(journal_durable_lsn(j) == lsns[9]);
    CHECK_INT_EQ(read_all(j, 0, 1000, NULL, 0, &end), 9);
    journal_close(j);
    append_and_close(dir, 9, 2);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    CHECK_INT_EQ(read_all(j, 0, 1000, NULL, 0, &end), 11);
    journal_close(j);
    rm_rf(dir);
}

/* Copies file from to to (a crash's view of a segment the journal still writes). */
static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    size_t n;

    while (in != NULL && out != NULL && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    if (in != NULL)
        fclose(in);
    if (out != NULL)
        fclose(out);
}

/* Copies every segment file of dir from into dir to. */
static void copy_dir(const char *from, const char *to)
{
    DIR *d = opendir(from);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char a[4096], b[4096];

        if (strlen(e->d_name) < 4 || strcmp(e->d_name + strlen(e->d_name) - 4, ".jnl") != 0)
            continue;
        snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
        snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
        copy_file(a, b);
    }
    if (d != NULL)
        closedir(d);
}

/*
 * With fsync on, the active segment is written ahead with zeros (so an
 * fdatasync does not commit a new file size each time): while it runs the
 * file is longer than its records, a crash's copy recovers exactly the
 * durable records, a stop cuts the zeros, and a rolled segment holds its
 * records only.
 */
static void test_zeros_ahead(void)
{
    char dir[256], crash[256], seg[300], seg_crash[300];
    struct counter c;
    struct journal *j;
    uint64_t lsns[40], end;
    off_t size;

    make_tmpdir(dir, sizeof(dir));
    make_tmpdir(crash, sizeof(crash));
    snprintf(seg, sizeof(seg), "%s/%s", dir, SEG0);
    snprintf(seg_crash, sizeof(seg_crash), "%s/%s", crash, SEG0);
    counter_init(&c);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    for (int i = 0; i < 30; i++)
        append_one(j, 3, i, &c);
    CHECK_INT_EQ(counter_wait(&c, 30), 30);
    end = journal_durable_lsn(j);
    size = file_size(seg);
    CHECK(size > (off_t)end); /* zeros past the records */
    CHECK(size % (128 * 1024) == 0);
    copy_file(seg, seg_crash);
    journal_close(j);
    CHECK(file_size(seg) == (off_t)end); /* a stop cuts them */

    j = open_j(crash, 0, 0, 1 << 20, 1, 0);
    CHECK(journal_durable_lsn(j) == end);
    CHECK(file_size(seg_crash) == (off_t)end);
    CHECK_INT_EQ(read_all(j, 0, 1000, lsns, 40, &end), 30);
    journal_close(j);

    /* Rolling: the segments left behind are cut to their records before the next one
       exists, so a crash's copy of them all opens and reads back every record. */
    rm_rf(dir);
    rm_rf(crash);
    make_tmpdir(dir, sizeof(dir));
    make_tmpdir(crash, sizeof(crash));
    j = open_j(dir, 4096, 0, 1 << 20, 1, 0);
    for (int i = 30; i < 80; i++)
        append_one(j, 3, i, &c);
    CHECK_INT_EQ(counter_wait(&c, 80), 80);
    CHECK(count_segments(dir, 4096) > 2);
    copy_dir(dir, crash);
    journal_close(j);
    j = open_j(crash, 4096, 0, 1 << 20, 1, 0);
    CHECK_INT_EQ(read_all(j, 0, 1000, NULL, 0, &end), 50);
    journal_close(j);
    counter_destroy(&c);
    rm_rf(dir);
    rm_rf(crash);
}

static void test_rolling(void)
{
    char dir[256];
    struct counter c;
    struct journal *j;
    struct journal_stats st;
    struct journal_batch b = { 0 };
    uint64_t lsns[40], end;
    int n;

    make_tmpdir(dir, sizeof(dir));
    counter_init(&c);
    /* 20..319-byte payloads: several records per 2 KiB segment. */
    j = open_j(dir, 2048, 0, 1 << 20, 1, 0);
    for (int i = 0; i < 40; i++)
        append_one(j, 3, i, &c);
    CHECK_INT_EQ(counter_wait(&c, 40), 40);
    journal_stats(j, &st);
    CHECK(st.segments > 3);
    CHECK_INT_EQ(count_segments(dir, 2048), (int)st.segments);
    /* A batch stops at the end of its segment. */
    n = journal_read_batch(j, 0, 1000, 1 << 20, 0, &b);
    CHECK(n > 0 && n < 40 && b.end_lsn <= 2048);
    CHECK_INT_EQ(read_all(j, 0, 1000, lsns, 40, &end), 40);
    CHECK(end == journal_durable_lsn(j));

    journal_checkpoint(j, lsns[25]);
    journal_stats(j, &st);
    CHECK(st.checkpoint_lsn == lsns[25]);
    CHECK(st.backlog_bytes == end - lsns[25]);
    CHECK_INT_EQ(count_segments(dir, 0), (int)st.segments);
    n = read_all(j, lsns[25], 1000, lsns + 25, 15, &end);
    CHECK_INT_EQ(n, 15);
    /* Everything digested: only the active segment is left. */
    journal_checkpoint(j, end);
    CHECK_INT_EQ(count_segments(dir, 0), 1);
    journal_stats(j, &st);
    CHECK_INT_EQ(st.segments, 1);
    journal_close(j);

    j = open_j(dir, 2048, 0, 1 << 20, 1, end);
    CHECK(journal_durable_lsn(j) == end);
    CHECK_INT_EQ(count_segments(dir, 0), 1);
    CHECK_INT_EQ(append_one(j, 3, 40, &c), 0);
    CHECK_INT_EQ(counter_wait(&c, 41), 41);
    n = journal_read_batch(j, end, 10, 1 << 20, 0, &b);
    CHECK(n == 1 && b.recs[0].lsn == end && rec_matches(&b.recs[0], 3, 40));
    journal_close(j);
    journal_batch_release(&b);
    counter_destroy(&c);
    rm_rf(dir);
}

static void test_budget_and_limits(void)
{
    char dir[256], big[101];
    struct counter c;
    struct journal *j;
    struct journal_record rec = { 0 };
    int ok = 0, rc = 0;

    make_tmpdir(dir, sizeof(dir));
    counter_init(&c);
    memset(big, 'x', sizeof(big));
    /* 100-byte payloads take 176 bytes: 11 fit in 2000, the 12th passes it. */
    j = open_j(dir, 0, 2000, 100, 0, 0);
    rec.payload = big;
    rec.len = 100;
    for (int i = 0; i < 100; i++) {
        rc = journal_append(j, &rec, count_done, &c);
        if (rc != 0)
            break;
        ok++;
    }
    CHECK_INT_EQ(rc, BL_EBUSY);
    CHECK_INT_EQ(ok, 12);
    CHECK(journal_over_budget(j));
    CHECK_INT_EQ(counter_wait(&c, ok), ok);
    CHECK(journal_backlog_bytes(j) == 12 * 176);
    journal_checkpoint(j, journal_durable_lsn(j));
    CHECK(!journal_over_budget(j));
    CHECK_INT_EQ(journal_backlog_bytes(j), 0);
    CHECK_INT_EQ(journal_append(j, &rec, NULL, NULL), 0);

    rec.len = 101;
    CHECK_INT_EQ(journal_append(j, &rec, NULL, NULL), BL_ETOOBIG);
    rec.len = 0;
    rec.payload = NULL;
    CHECK_INT_EQ(journal_append(j, &rec, NULL, NULL), 0);
    /* Appends racing with close see the closed flag. */
    atomic_store(&j->closed, 1);
    CHECK_INT_EQ(journal_append(j, &rec, NULL, NULL), BL_ECLOSED);
    atomic_store(&j->closed, 0);
    journal_close(j);
    counter_destroy(&c);
    rm_rf(dir);
}

/*
 * The reserve: with more reserved than the disk could ever have free, every
 * append is refused with BL_ENOSPACE and nothing is queued; with the reserve
 * lowered below the free space (what freeing disk looks like to the
 * journal) appends go through again once the figure is refreshed.
 */
static void test_disk_reserve(void)
{
    char dir[256];
    struct journal_config cfg = { 0 };
    struct journal_stats st;
    struct journal_record rec = { 0 };
    struct journal *j = NULL;
    struct bl_err err = { 0 };

    make_tmpdir(dir, sizeof(dir));
    cfg.dir = dir;
    cfg.reserve_bytes = UINT64_C(1) << 62;
    CHECK_INT_EQ(journal_open(&j, &cfg, 0, &err), 0);
    rec.payload = "x";
    rec.len = 1;
    CHECK(journal_disk_low(j));
    CHECK_INT_EQ(journal_append(j, &rec, NULL, NULL), BL_ENOSPACE);
    journal_stats(j, &st);
    CHECK(st.disk_low);
    CHECK(st.disk_free_bytes > 0);
    CHECK_INT_EQ(st.appended_records, 0);
    /* Space is back: the next look (forced stale here) lifts the refusal. */
    j->reserve_bytes = 4096;
    atomic_store(&j->disk_checked_us, 0);
    CHECK(!journal_disk_low(j));
    CHECK_INT_EQ(journal_append(j, &rec, NULL, NULL), 0);
    journal_close(j);
    rm_rf(dir);
}

struct delayed {
    struct journal *j;
    int append; /* else wake */
};

static void *delayed_main(void *arg)
{
    struct delayed *d = arg;
    struct timespec ts = { 0, 50 * 1000000L };

    nanosleep(&ts, NULL);
    if (d->append)
        append_one(d->j, 4, 0, NULL);
    else
        journal_wake(d->j);
    return NULL;
}

static void test_read_wait(void)
{
    char dir[256];
    struct journal *j;
    struct journal_batch b = { 0 };
    struct delayed d;
    pthread_t tid;
    int64_t t0;
    int n;

    make_tmpdir(dir, sizeof(dir));
    j = open_j(dir, 0, 0, 1 << 20, 1, 4096);
    CHECK(journal_durable_lsn(j) == 4096);
    {
        char seg[300];

        /* A new journal starts at the store's checkpoint. */
        snprintf(seg, sizeof(seg), "%s/0000000000001000.jnl", dir);
        CHECK_INT_EQ(file_size(seg), 0);
    }
    t0 = clock_mono_us();
    CHECK_INT_EQ(journal_read_batch(j, 4096, 10, 1 << 20, 100, &b), 0);
    CHECK(clock_mono_us() - t0 >= 90 * 1000);

    d = (struct delayed){ j, 0 };
    t0 = clock_mono_us();
    pthread_create(&tid, NULL, delayed_main, &d);
    CHECK_INT_EQ(journal_read_batch(j, 4096, 10, 1 << 20, 5000, &b), 0);
    CHECK(clock_mono_us() - t0 < 2 * CLOCK_US_PER_SEC);
    pthread_join(tid, NULL);
    /* A wake before the read is not lost. */
    journal_wake(j);
    t0 = clock_mono_us();
    CHECK_INT_EQ(journal_read_batch(j, 4096, 10, 1 << 20, 5000, &b), 0);
    CHECK(clock_mono_us() - t0 < 2 * CLOCK_US_PER_SEC);

    d = (struct delayed){ j, 1 };
    pthread_create(&tid, NULL, delayed_main, &d);
    n = journal_read_batch(j, 4096, 10, 1 << 20, 5000, &b);
    CHECK_INT_EQ(n, 1);
    CHECK(n == 1 && b.recs[0].lsn == 4096 && rec_matches(&b.recs[0], 4, 0));
    pthread_join(tid, NULL);
    journal_close(j);
    journal_batch_release(&b);
    rm_rf(dir);
}

static void test_batch_limits(void)
{
    char dir[256], *big = malloc(200 * 1024);
    struct journal *j;
    struct journal_batch b = { 0 };
    struct journal_record rec = { 0 };
    struct counter c;
    int n;

    make_tmpdir(dir, sizeof(dir));
    counter_init(&c);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    rec.payload = big;
    for (int i = 0; i < 10; i++) {
        memset(big, 'a' + i, 1000);
        rec.len = 1000;
        journal_append(j, &rec, count_done, &c);
    }
    memset(big, 'z', 200 * 1024);
    rec.len = 200 * 1024;
    snprintf(rec.event_id, sizeof(rec.event_id), "big");
    journal_append(j, &rec, count_done, &c);
    CHECK_INT_EQ(counter_wait(&c, 11), 11);

    CHECK_INT_EQ(journal_read_batch(j, 0, 3, 1 << 20, 0, &b), 3);
    CHECK_INT_EQ(journal_read_batch(j, 0, 100, 1500, 0, &b), 1);
    n = journal_read_batch(j, 0, 100, 2500, 0, &b);
    CHECK_INT_EQ(n, 2);
    CHECK(n == 2 && ((const char *)b.recs[1].payload)[999] == 'b');
    CHECK(n == 2 && b.end_lsn == 2 * journal__rec_total(1000));
    CHECK_INT_EQ(journal_read_batch(j, 0, 100, 1 << 20, 0, &b), 11);
    /* A record far bigger than max_bytes still comes back, whole. */
    n = journal_read_batch(j, 10 * journal__rec_total(1000), 100, 10, 0, &b);
    CHECK_INT_EQ(n, 1);
    CHECK(n == 1 && b.recs[0].len == 200 * 1024 && strcmp(b.recs[0].event_id, "big") == 0);
    CHECK(n == 1 && memcmp(b.recs[0].payload, big, 200 * 1024) == 0);
    CHECK_INT_EQ(journal_read_batch(j, 0, 0, 1 << 20, 0, &b), 0);
    journal_close(j);
    journal_batch_release(&b);
    counter_destroy(&c);
    free(big);
    rm_rf(dir);
}

static void test_corrupt_read(void)
{
    char dir[256], seg[300];
    struct journal *j;
    struct journal_batch b = { 0 };
    struct counter c;
    uint64_t lsns[5], end;

    make_tmpdir(dir, sizeof(dir));
    snprintf(seg, sizeof(seg), "%s/%s", dir, SEG0);
    counter_init(&c);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    for (int i = 0; i < 5; i++)
        append_one(j, 5, i, &c);
    CHECK_INT_EQ(counter_wait(&c, 5), 5);
    CHECK_INT_EQ(read_all(j, 0, 100, lsns, 5, &end), 5);
    /* Rot under a live journal: the reader stops before it, then reports it. */
    write_at(seg, (off_t)lsns[2] + JOURNAL__HDR, "#", 1);
    CHECK_INT_EQ(journal_read_batch(j, 0, 100, 1 << 20, 0, &b), 2);
    CHECK_INT_EQ(journal_read_batch(j, lsns[2], 100, 1 << 20, 0, &b), BL_EIO);
    journal_close(j);
    journal_batch_release(&b);
    counter_destroy(&c);
    rm_rf(dir);
}

static void test_checkpoint_past_end(void)
{
    char dir[256];
    struct journal *j;
    struct journal_batch b = { 0 };
    uint64_t end, ckpt;
    int n;

    make_tmpdir(dir, sizeof(dir));
    append_and_close(dir, 0, 3);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    end = journal_durable_lsn(j);
    journal_close(j);
    /* The store is ahead of the journal (lost journal files): LSNs stay ahead of it. */
    ckpt = end + 800;
    j = open_j(dir, 0, 0, 1 << 20, 1, ckpt);
    CHECK(journal_durable_lsn(j) == ckpt);
    CHECK_INT_EQ(count_segments(dir, 0), 1);
    CHECK_INT_EQ(journal_read_batch(j, ckpt, 10, 1 << 20, 0, &b), 0);
    CHECK_INT_EQ(append_one(j, 2, 3, NULL), 0);
    n = journal_read_batch(j, ckpt, 10, 1 << 20, 2000, &b);
    CHECK(n == 1 && b.recs[0].lsn == ckpt);
    journal_close(j);
    journal_batch_release(&b);
    rm_rf(dir);
}

/* Closed loop: each thread waits for its ack before the next append, like a client. */
struct bench_thread {
    struct journal *j;
    sem_t acked;
    int64_t until;
    long count;
};

static void bench_done(void *arg, int rc)
{
    struct bench_thread *bt = arg;

    (void)rc;
    sem_post(&bt->acked);
}

static void *bench_main(void *arg)
{
    struct bench_thread *bt = arg;
    char payload[200];
    struct journal_record rec = { 0 };

    memset(payload, 'p', sizeof(payload));
    rec.payload = payload;
    rec.len = sizeof(payload);
    while (clock_mono_us() < bt->until) {
        if (journal_append(bt->j, &rec, bench_done, bt) != 0)
            break;
        sem_wait(&bt->acked);
        bt->count++;
    }
    return NULL;
}

static void bench_closed_loop(int threads, int64_t dur_us)
{
    char dir[256];
    struct journal *j;
    struct bench_thread bt[8];
    pthread_t tid[8];
    struct journal_stats st;
    long total = 0;
    int64_t t0;

    make_tmpdir(dir, sizeof(dir));
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    t0 = clock_mono_us();
    for (int t = 0; t < threads; t++) {
        bt[t].j = j;
        sem_init(&bt[t].acked, 0, 0);
        bt[t].until = t0 + dur_us;
        bt[t].count = 0;
        pthread_create(&tid[t], NULL, bench_main, &bt[t]);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        total += bt[t].count;
        sem_destroy(&bt[t].acked);
    }
    journal_stats(j, &st);
    printf("bench closed loop: %d threads x 200 B, fsync on: %.0f acked appends/s, "
           "%.1f records per fsync\n",
           threads, (double)total * 1e6 / (double)(clock_mono_us() - t0),
           st.fsyncs ? (double)total / (double)st.fsyncs : 0.0);
    CHECK(total > 0);
    journal_close(j);
    rm_rf(dir);
}

/* Open loop: threads append as fast as they can; time until every ack arrived. */
static void bench_open_loop(int threads, int per)
{
    char dir[256];
    struct journal *j;
    struct counter c;
    struct journal_stats st;
    int64_t t0, dt;

    make_tmpdir(dir, sizeof(dir));
    counter_init(&c);
    j = open_j(dir, 0, 0, 1 << 20, 1, 0);
    t0 = clock_mono_us();
    CHECK_INT_EQ(run_appenders(j, &c, threads, per), 0);
    CHECK_INT_EQ(counter_wait(&c, threads * per), threads * per);
    dt = clock_mono_us() - t0;
    journal_stats(j, &st);
    printf("bench open loop: %d threads x %d records, fsync on: %.0f appends/s, %llu fsyncs\n",
           threads, per, (double)threads * per * 1e6 / (double)dt, (unsigned long long)st.fsyncs);
    journal_close(j);
    counter_destroy(&c);
    rm_rf(dir);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    /* Torn-tail and corruption tests log on purpose; T_VERBOSE=1 shows it. */
    log_set_level(getenv("T_VERBOSE") != NULL ? BL_LOG_DEBUG : BL_LOG_OFF);
    test_threads_in_order();
    test_group_commit();
    test_reopen();
    test_torn_tail();
    test_zeros_ahead();
    test_rolling();
    test_budget_and_limits();
    test_disk_reserve();
    test_read_wait();
    test_batch_limits();
    test_corrupt_read();
    test_checkpoint_past_end();
    bench_closed_loop(8, CLOCK_US_PER_SEC);
    bench_open_loop(8, 5000);
    return t_done();
}
