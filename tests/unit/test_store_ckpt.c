/*
 * The SQLite backend's checkpointer (store_sqlite_ckpt.c): what a commit
 * asks of it, passes on the thread, the writer's own checkpoint when the
 * thread falls behind (the WAL stays bounded), idle WALs truncated, a day
 * file dropped while the thread has it, and a clean close. Real stores on
 * disk, real commits; the WAL is measured by its file size.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "t.h"
#include "t_store.h"

#define NODE "node-1"
/* Bytes of a WAL of n frames of 4 KiB pages: its header and each frame's. */
#define WAL_BYTES(n) (32 + (int64_t)(n) * (4096 + 24))
#define BATCH 40
#define PAYLOAD 3000

static struct store *open_store(const char *dir)
{
    return t_open_sqlite(dir, NODE);
}

static int64_t file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static void day_path(struct store *st, int64_t ts, const char *suffix, char *out, size_t outsz)
{
    char path[SQ_PATH_MAX];

    CHECK_INT_EQ(sq_part_path(sq_of(st), sq_day_of(ts), path, sizeof(path)), 0);
    snprintf(out, outsz, "%s%s", path, suffix);
}

/* Payloads that zstd cannot shrink much, so a batch is tens of pages. */
static char payloads[BATCH][PAYLOAD + 1];

static void fill_payloads(unsigned seed)
{
    for (size_t i = 0; i < BATCH; i++) {
        for (size_t j = 0; j < PAYLOAD; j++) {
            seed = seed * 1103515245u + 12345u;
            payloads[i][j] = "0123456789abcdefghijklmnopqrstuvwxyz"[(seed >> 16) % 36];
        }
        payloads[i][PAYLOAD] = '\0';
    }
}

/* One batch of BATCH issue events of pid on the day of ts, at lsn *lsn onwards. */
static void write_batch(struct store *st, int64_t pid, int64_t ts, uint64_t *lsn)
{
    static struct event ev[BATCH];
    struct store_batch_result res;

    fill_payloads((unsigned)*lsn);
    for (size_t i = 0; i < BATCH; i++) {
        mk_event(&ev[i], pid, *lsn + i, 0, ts + (int64_t)i, EV_KIND_ISSUE, i % 2 ? "A" : "B",
                 EV_ERROR);
        ev[i].raw = payloads[i];
        ev[i].raw_len = PAYLOAD;
    }
    *lsn += BATCH;
    CHECK_INT_EQ(write_ev(st, ev, BATCH, *lsn, &res), 0);
    CHECK_INT_EQ(res.events_written, BATCH);
}

static void test_decide(void)
{
    CHECK_INT_EQ(sq_ckpt_decide(0, 4096, 32768), SQ_CKPT_NONE);
    CHECK_INT_EQ(sq_ckpt_decide(4095, 4096, 32768), SQ_CKPT_NONE);
    CHECK_INT_EQ(sq_ckpt_decide(4096, 4096, 32768), SQ_CKPT_WAKE);
    CHECK_INT_EQ(sq_ckpt_decide(32767, 4096, 32768), SQ_CKPT_WAKE);
    CHECK_INT_EQ(sq_ckpt_decide(32768, 4096, 32768), SQ_CKPT_BOUND);
    CHECK_INT_EQ(sq_ckpt_decide(1 << 30, 4096, 32768), SQ_CKPT_BOUND);
    /*
     * The bound stays four times the old autocheckpoint's 8192 pages, and the
     * wake leaves the writer at least half of it to append while a pass runs.
     */
    CHECK(SQ_CKPT_WAKE_FRAMES >= 4096 && 2 * SQ_CKPT_WAKE_FRAMES <= SQ_CKPT_BOUND_FRAMES &&
          SQ_CKPT_BOUND_FRAMES == 4 * 8192);
}

/* What /metrics reads (store_ckpt_stats) is the checkpointer's own count (thread paused). */
static void same_stats(struct store *st, const struct sq_ckpt_stats *cs)
{
    struct store_ckpt_stats m;

    store_ckpt_stats(st, &m);
    CHECK_INT_EQ(m.wakes, cs->wakes);
    CHECK_INT_EQ(m.passes, cs->passes);
    CHECK_INT_EQ(m.frames, cs->frames);
    CHECK_INT_EQ(m.truncates, cs->truncates);
    CHECK_INT_EQ(m.errors, cs->errors);
    CHECK_INT_EQ(m.writer_ckpts, cs->writer_ckpts);
    CHECK_INT_EQ(m.writer_frames, cs->writer_frames);
}

/*
 * Commits past the wake threshold are checkpointed by the thread, never by
 * the writer; once the file is idle its WAL is truncated; every event is
 * there after a close and a reopen.
 */
static void test_thread(const char *dir)
{
    struct store *st = open_store(dir);
    struct sq_ckpt_stats cs;
    char wal[SQ_PATH_MAX + 8];
    int64_t pid, auto_n = -1;
    uint64_t lsn = 10;
    struct sq_query q = {
        "PRAGMA wal_autocheckpoint", "autocheckpoint", { { 0 } }, 0, sq_row_int64, &auto_n
    };

    if (st == NULL)
        return;
    CHECK_INT_EQ(sq_query_one(sq_of(st)->w, &q, NULL), 0);
    CHECK_INT_EQ(auto_n, 0);
    pid = add_project(st, "ckpt");
    sq_ckpt_test_set(sq_of(st), 8, 1 << 20, 0);
    for (int b = 0; b < 10; b++)
        write_batch(st, pid, DAY1 + HOUR, &lsn);
    CHECK(sq_ckpt_test_idle(sq_of(st), 10 * 1000000));
    sq_ckpt_stats(sq_of(st), &cs);
    CHECK(cs.wakes >= 10);
    CHECK(cs.passes >= 1);
    CHECK(cs.frames > 0);
    CHECK_INT_EQ(cs.writer_ckpts, 0);
    CHECK_INT_EQ(cs.errors, 0);
    /*
     * Idle: the day file's WAL goes back to nothing, without a write. The
     * file shrinks inside the checkpoint, before the thread counts it.
     */
    day_path(st, DAY1, "-wal", wal, sizeof(wal));
    sq_ckpt_stats(sq_of(st), &cs);
    for (int i = 0; i < 100 && (file_size(wal) != 0 || cs.truncates == 0); i++) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };

        nanosleep(&ts, NULL);
        sq_ckpt_stats(sq_of(st), &cs);
    }
    CHECK_INT_EQ(file_size(wal), 0);
    CHECK(cs.truncates >= 1);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 100), 10 * BATCH);
    /* Writes go on after a truncate. */
    write_batch(st, pid, DAY1 + HOUR, &lsn);
    store_close(st);
    st = open_store(dir);
    if (st == NULL)
        return;
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 100), 11 * BATCH);
    CHECK_INT_EQ(t_checkpoint(st), lsn);
    store_close(st);
}

/*
 * The thread paused (as if far behind): the writer checkpoints past the
 * bound itself, and the WAL never holds much more than the bound and one
 * batch, though the batches wrote many times that.
 */
static void test_bound(const char *dir)
{
    struct store *st = open_store(dir);
    struct sq_ckpt_stats cs;
    char wal[SQ_PATH_MAX + 8];
    int64_t pid, biggest = 0;
    uint64_t lsn = 10;
    int bound = 64;

    if (st == NULL)
        return;
    pid = add_project(st, "bound");
    sq_ckpt_test_set(sq_of(st), 8, bound, 1);
    day_path(st, DAY2, "-wal", wal, sizeof(wal));
    for (int b = 0; b < 40; b++) {
        write_batch(st, pid, DAY2 + HOUR, &lsn);
        if (file_size(wal) > biggest)
            biggest = file_size(wal);
    }
    sq_ckpt_stats(sq_of(st), &cs);
    CHECK(cs.writer_ckpts >= 2);
    CHECK(cs.writer_frames > (uint64_t)bound);
    CHECK_INT_EQ(cs.passes, 0);
    same_stats(st, &cs);
    /* 40 batches of 40 events of ~2 KB compressed: over 800 pages written in all. */
    CHECK(biggest > 0);
    CHECK(biggest <= WAL_BYTES(bound + 80));
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 100), 40 * BATCH);
    /* Unpaused, the thread takes over again; close with it running. */
    sq_ckpt_test_set(sq_of(st), 8, bound * 100, 0);
    write_batch(st, pid, DAY2 + HOUR, &lsn);
    CHECK(sq_ckpt_test_idle(sq_of(st), 10 * 1000000));
    sq_ckpt_stats(sq_of(st), &cs);
    CHECK(cs.passes >= 1);
    store_close(st);
}

/* A day dropped while the thread holds a connection to it: gone, and written again after. */
static void test_drop(const char *dir)
{
    struct store *st = open_store(dir);
    struct bl_err err = { 0, "" };
    char path[SQ_PATH_MAX + 8], wal[SQ_PATH_MAX + 8];
    int64_t day3 = DAY2 + CLOCK_US_PER_DAY, pid;
    uint64_t lsn = 10;

    if (st == NULL)
        return;
    pid = add_project(st, "drop");
    sq_ckpt_test_set(sq_of(st), 8, 1 << 20, 0);
    for (int b = 0; b < 3; b++)
        write_batch(st, pid, day3 + HOUR, &lsn);
    day_path(st, day3, "", path, sizeof(path));
    day_path(st, day3, "-wal", wal, sizeof(wal));
    /* Dropped while a pass may be running: the drop waits for it. */
    write_batch(st, pid, day3 + HOUR, &lsn);
    CHECK_INT_EQ(sq_part_drop(sq_of(st), sq_day_of(day3), &err), 0);
    CHECK_INT_EQ(file_size(path), -1);
    CHECK_INT_EQ(file_size(wal), -1);
    CHECK(sq_ckpt_test_idle(sq_of(st), 10 * 1000000));
    CHECK_INT_EQ(file_size(path), -1);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 100), 0);
    /* The day again: a new file, checkpointed like any other. */
    for (int b = 0; b < 3; b++)
        write_batch(st, pid, day3 + HOUR, &lsn);
    CHECK(sq_ckpt_test_idle(sq_of(st), 10 * 1000000));
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 100), 3 * BATCH);
    /* More files than the thread keeps connections to: the least recently woken go. */
    for (int d = 0; d < 12; d++) {
        write_batch(st, pid, day3 + (d + 1) * CLOCK_US_PER_DAY, &lsn);
        if (d == 6)
            CHECK_INT_EQ(sq_part_drop(sq_of(st), sq_day_of(day3 + 3 * CLOCK_US_PER_DAY), &err), 0);
    }
    CHECK(sq_ckpt_test_idle(sq_of(st), 10 * 1000000));
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 100), 3 * BATCH + 11 * BATCH);
    store_close(st);
}

struct dropper {
    struct store *st;
    int64_t day;
    int rc;
    _Atomic int done;
};

static void *drop_thread(void *arg)
{
    struct dropper *d = arg;
    struct bl_err err = { 0, "" };

    d->rc = sq_part_drop(sq_of(d->st), d->day, &err);
    d->done = 1;
    return NULL;
}

/*
 * A reader in use while its day is dropped: the drop refuses new readers of
 * the day and waits for it to be handed back (and closed) before it
 * unlinks, so no connection to the old file is left to delete the WAL of
 * the day's next file by name when it closes.
 */
static void test_drop_reader(const char *dir)
{
    struct store *st = open_store(dir);
    struct dropper d = { st, 0, -1, 0 };
    struct sq_conn *c = NULL, *c2 = NULL;
    struct bl_err err = { 0, "" };
    char path[SQ_PATH_MAX + 8], wal[SQ_PATH_MAX + 8];
    int64_t pid;
    uint64_t lsn = 10;
    pthread_t th;

    if (st == NULL)
        return;
    pid = add_project(st, "reader");
    d.day = sq_day_of(DAY1);
    write_batch(st, pid, DAY1 + HOUR, &lsn);
    day_path(st, DAY1, "", path, sizeof(path));
    day_path(st, DAY1, "-wal", wal, sizeof(wal));
    CHECK_INT_EQ(sq_part_reader_get(sq_of(st), d.day, &c, &err), 0);
    CHECK_INT_EQ(pthread_create(&th, NULL, drop_thread, &d), 0);
    for (int i = 0; i < 5; i++) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };

        nanosleep(&ts, NULL);
    }
    CHECK(!d.done);
    CHECK(file_size(path) > 0);
    CHECK_INT_EQ(sq_part_reader_get(sq_of(st), d.day, &c2, &err), BL_ENOTFOUND);
    CHECK(c2 == NULL);
    sq_part_reader_put(sq_of(st), c);
    pthread_join(th, NULL);
    CHECK(d.done);
    CHECK_INT_EQ(d.rc, 0);
    CHECK_INT_EQ(file_size(path), -1);
    /* The day again: a new file whose WAL nothing deletes; readers come back. */
    write_batch(st, pid, DAY1 + HOUR, &lsn);
    CHECK(file_size(path) > 0);
    CHECK(file_size(wal) >= 0);
    CHECK_INT_EQ(count_events(st, pid, 0, EV_KIND_ISSUE, 100), BATCH);
    CHECK_INT_EQ(sq_part_reader_get(sq_of(st), d.day, &c2, &err), 0);
    sq_part_reader_put(sq_of(st), c2);
    /* Another reader of the day still idle in the LRU at a drop: closed before the unlink. */
    CHECK_INT_EQ(sq_part_drop(sq_of(st), d.day, &err), 0);
    CHECK_INT_EQ(file_size(path), -1);
    store_close(st);
}

int main(void)
{
    char tmpdir[256], dir[300];

    hash_global_init();
    json_global_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-ckpt-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    test_decide();
    snprintf(dir, sizeof(dir), "%s/thread", tmpdir);
    test_thread(dir);
    snprintf(dir, sizeof(dir), "%s/bound", tmpdir);
    test_bound(dir);
    snprintf(dir, sizeof(dir), "%s/drop", tmpdir);
    test_drop(dir);
    snprintf(dir, sizeof(dir), "%s/reader", tmpdir);
    test_drop_reader(dir);
    t_rm_tree(tmpdir);
    return t_done();
}
