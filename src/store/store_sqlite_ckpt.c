/*
 * store_sqlite_ckpt.c - WAL checkpoints of the writer's files on their own thread.
 *
 * DESIGN
 * SQLite's autocheckpoint runs inside the commit that grows the WAL past
 * its threshold: the digest's one writer thread copied pages back into the
 * database file and fsynced it, in D state ~15% of a log drain. Here the
 * writer's connections have no autocheckpoint; a WAL hook (sq_ckpt_hook)
 * sees each commit's WAL size in frames and, past SQ_CKPT_WAKE_FRAMES,
 * wakes the checkpointer thread, which runs a PASSIVE checkpoint of that
 * file on a connection of its own: it copies what the readers allow while
 * the writer goes on appending, and never takes the writer's lock.
 *
 * The WAL only starts over from its beginning when a writer begins a
 * transaction on a fully checkpointed WAL, so a pass that ends behind the
 * writer is followed by another at once until it catches up. Should the
 * checkpointer fall far behind all the same (SQ_CKPT_BOUND_FRAMES, four
 * times the old autocheckpoint), the writer checkpoints the file itself
 * before it goes on, waiting for a pass in progress to end: the WAL stays
 * bounded as it was (issue 6, disk full), and journal_size_limit still cuts
 * it back after the restart. A file no commit has touched for
 * SQ_CKPT_IDLE_US gets a TRUNCATE checkpoint, which gives its WAL's disk
 * back; it never waits (busy timeout 0) for the writer or a reader, it
 * tries again a second later.
 *
 * Retention unlinks whole day files: sq_ckpt_forget (from sq_part_drop)
 * waits for a pass on the day to end and closes the checkpointer's
 * connection before the file goes. The thread starts with the first
 * commit that needs it (a CLI or read-only open never has one) and
 * sq_ckpt_stop ends it at close; the writer's connections, closed after
 * it, checkpoint what is left as the last connections of their files.
 * A kill -9 loses nothing: a checkpoint only copies committed frames.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/* Files the checkpointer keeps a connection to: bilor.db and the writer's day files, with room. */
#define CK_FILES (SQ_PART_WRITERS + 4)
/* Passes in a row on one file while the writer keeps appending to it. */
#define CK_CATCH_UP 4

/*
 * A file's slot. Slots never move: the thread works on one through a
 * pointer without the lock (busy), so a forgotten file only frees its slot.
 */
struct ck_file {
    int used;
    int64_t day; /* -1: bilor.db */
    struct sq_conn *c;
    int pending;       /* a commit asked for a pass */
    int busy;          /* the thread is on it (its connection is in use) */
    int dirty;         /* written since its last TRUNCATE */
    int64_t last_wake; /* clock_mono_us of the last commit that asked */
    int64_t try_at;    /* no TRUNCATE before this clock_mono_us (one failed) */
    uint64_t lru;      /* LRU stamp */
};

struct sq_ckpt {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the thread */
    pthread_cond_t done; /* from the thread: a pass ended */
    pthread_t th;
    int started, failed, stop, paused;
    int wake_frames, bound_frames;
    struct ck_file f[CK_FILES];
    size_t nf;
    uint64_t tick;
    struct sq_ckpt_stats st;
};

enum sq_ckpt_act sq_ckpt_decide(int frames, int wake_frames, int bound_frames)
{
    if (frames >= bound_frames)
        return SQ_CKPT_BOUND;
    if (frames >= wake_frames)
        return SQ_CKPT_WAKE;
    return SQ_CKPT_NONE;
}

struct sq_ckpt *sq_ckpt_new(void)
{
    struct sq_ckpt *ck = xcalloc(1, sizeof(*ck));

    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->wake, NULL);
    pthread_cond_init(&ck->done, NULL);
    ck->wake_frames = SQ_CKPT_WAKE_FRAMES;
    ck->bound_frames = SQ_CKPT_BOUND_FRAMES;
    return ck;
}

static int file_path(struct sq_store *s, int64_t day, char *out, size_t outsz)
{
    int n;

    if (day >= 0)
        return sq_part_path(s, day, out, outsz);
    n = snprintf(out, outsz, "%s/bilor.db", s->dir);
    return n > 0 && (size_t)n < outsz ? 0 : BL_ETOOBIG;
}

/* Runs one checkpoint of mode on c; the frames in the WAL and those copied in *log, *done. */
static int run_one(struct sq_conn *c, int mode, int *log, int *done)
{
    *log = -1;
    *done = -1;
    return sqlite3_wal_checkpoint_v2(c->db, NULL, mode, log, done);
}

/* PASSIVE passes on f's file until they catch up with the writer (thread, f busy). */
static void pass_file(struct sq_store *s, struct sq_ckpt *ck, struct ck_file *f)
{
    struct bl_err err = { 0, "" };
    char path[SQ_PATH_MAX];
    int log = 0, done = 0, rc = SQLITE_OK;

    if (f->c == NULL) {
        if (file_path(s, f->day, path, sizeof(path)) != 0 ||
            sq_conn_open(path, 0, &f->c, &err) != 0) {
            log_error_every(10, "checkpointer: cannot open day %lld: %s", (long long)f->day,
                            bl_err_msg(&err));
            return;
        }
        f->c->day = f->day;
    }
    for (int i = 0; i < CK_CATCH_UP; i++) {
        rc = run_one(f->c, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK || done >= log)
            break;
    }
    pthread_mutex_lock(&ck->mu);
    ck->st.passes++;
    if (rc == SQLITE_OK && done > 0)
        ck->st.frames += (uint64_t)done;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        ck->st.errors++;
    pthread_mutex_unlock(&ck->mu);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_error_every(10, "checkpointer: day %lld: %s", (long long)f->day,
                        sqlite3_errmsg(f->c->db));
}

/* A TRUNCATE of an idle file's WAL that waits for nobody (thread, f busy, f->c open). */
static void truncate_file(struct sq_ckpt *ck, struct ck_file *f)
{
    int log = 0, done = 0, rc;

    sqlite3_busy_timeout(f->c->db, 0);
    rc = run_one(f->c, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    sqlite3_busy_timeout(f->c->db, SQ_BUSY_MS);
    pthread_mutex_lock(&ck->mu);
    if (rc == SQLITE_OK) {
        ck->st.truncates++;
        f->dirty = 0;
    } else {
        f->try_at = clock_mono_us() + SQ_CKPT_IDLE_US;
    }
    pthread_mutex_unlock(&ck->mu);
}

/* The next file to work on, marked busy (mu held); *idle: a TRUNCATE of an idle file. */
static struct ck_file *pick(struct sq_ckpt *ck, int *idle)
{
    int64_t now = clock_mono_us();

    if (ck->paused)
        return NULL;
    for (size_t i = 0; i < ck->nf; i++) {
        if (ck->f[i].pending) {
            ck->f[i].pending = 0;
            ck->f[i].busy = 1;
            *idle = 0;
            return &ck->f[i];
        }
    }
    for (size_t i = 0; i < ck->nf; i++) {
        struct ck_file *f = &ck->f[i];

        if (f->dirty && f->c != NULL && now - f->last_wake >= SQ_CKPT_IDLE_US && now >= f->try_at) {
            f->busy = 1;
            *idle = 1;
            return f;
        }
    }
    return NULL;
}

static void *ck_main(void *arg)
{
    struct sq_store *s = arg;
    struct sq_ckpt *ck = s->ckpt;

    prctl(PR_SET_NAME, "bilor-ckpt", 0, 0, 0);
    pthread_mutex_lock(&ck->mu);
    while (!ck->stop) {
        int idle = 0;
        struct ck_file *f = pick(ck, &idle);
        struct timespec ts;

        if (f == NULL) {
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&ck->wake, &ck->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&ck->mu);
        if (idle)
            truncate_file(ck, f);
        else
            pass_file(s, ck, f);
        pthread_mutex_lock(&ck->mu);
        f->busy = 0;
        pthread_cond_broadcast(&ck->done);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

/* f's slot for day (mu held): found, or a free or least recently used idle one; NULL if none. */
static struct ck_file *slot(struct sq_ckpt *ck, int64_t day, struct sq_conn **evict)
{
    struct ck_file *best = NULL;

    for (size_t i = 0; i < ck->nf; i++)
        if (ck->f[i].used && ck->f[i].day == day)
            return &ck->f[i];
    for (size_t i = 0; i < ck->nf && best == NULL; i++)
        if (!ck->f[i].used)
            best = &ck->f[i];
    if (best == NULL && ck->nf < CK_FILES)
        best = &ck->f[ck->nf++];
    for (size_t i = 0; i < ck->nf && best == NULL; i++) {
        struct ck_file *f = &ck->f[i];

        if (!f->busy && !f->pending && (best == NULL || f->lru < best->lru))
            best = f;
    }
    if (best == NULL)
        return NULL;
    *evict = best->used ? best->c : NULL;
    memset(best, 0, sizeof(*best));
    best->used = 1;
    best->day = day;
    return best;
}

static void wake(struct sq_store *s, struct sq_ckpt *ck, int64_t day)
{
    struct sq_conn *evict = NULL;
    struct ck_file *f;

    pthread_mutex_lock(&ck->mu);
    if (!ck->started && !ck->failed && !ck->stop) {
        if (pthread_create(&ck->th, NULL, ck_main, s) == 0) {
            ck->started = 1;
        } else {
            ck->failed = 1;
            log_error("checkpointer: cannot start a thread: the writer checkpoints");
        }
    }
    f = slot(ck, day, &evict);
    if (f != NULL) {
        f->pending = 1;
        f->dirty = 1;
        f->last_wake = clock_mono_us();
        f->lru = ++ck->tick;
        ck->st.wakes++;
        pthread_cond_signal(&ck->wake);
    }
    pthread_mutex_unlock(&ck->mu);
    sq_conn_close(evict);
}

/*
 * The WAL is past the bound: checkpoint it on the writer's own connection,
 * after the checkpointer's pass on it (SQLite lets one checkpoint run at a
 * time: BUSY while the thread holds it).
 */
static void bound(struct sq_ckpt *ck, struct sq_conn *c)
{
    int log = 0, done = 0, rc = SQLITE_BUSY;
    int64_t t0 = clock_mono_us();

    for (int i = 0; i < 100 && rc == SQLITE_BUSY; i++) {
        rc = run_one(c, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc == SQLITE_BUSY) {
            struct timespec ts;

            pthread_mutex_lock(&ck->mu);
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&ck->done, &ck->mu, &ts);
            pthread_mutex_unlock(&ck->mu);
        }
    }
    pthread_mutex_lock(&ck->mu);
    ck->st.writer_ckpts++;
    ck->st.writer_us += (uint64_t)(clock_mono_us() - t0);
    if (rc == SQLITE_OK && done > 0)
        ck->st.writer_frames += (uint64_t)done;
    pthread_mutex_unlock(&ck->mu);
}

int sq_ckpt_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq_conn *c = arg;
    struct sq_store *s = c->store;
    struct sq_ckpt *ck = s != NULL ? s->ckpt : NULL;

    (void)db;
    (void)name;
    c->wal_frames = frames;
    if (ck == NULL)
        return SQLITE_OK;
    switch (sq_ckpt_decide(frames, ck->wake_frames, ck->bound_frames)) {
    case SQ_CKPT_BOUND:
        wake(s, ck, c->day);
        bound(ck, c);
        break;
    case SQ_CKPT_WAKE:
        wake(s, ck, c->day);
        break;
    case SQ_CKPT_NONE:
        break;
    }
    return SQLITE_OK;
}

void sq_ckpt_forget(struct sq_store *s, int64_t day)
{
    struct sq_ckpt *ck = s->ckpt;
    struct sq_conn *c = NULL;

    if (ck == NULL)
        return;
    pthread_mutex_lock(&ck->mu);
    for (size_t i = 0; i < ck->nf; i++) {
        if (!ck->f[i].used || ck->f[i].day != day)
            continue;
        while (ck->f[i].busy)
            pthread_cond_wait(&ck->done, &ck->mu);
        c = ck->f[i].c;
        memset(&ck->f[i], 0, sizeof(ck->f[i]));
        break;
    }
    pthread_mutex_unlock(&ck->mu);
    sq_conn_close(c);
}

void sq_ckpt_stop(struct sq_store *s)
{
    struct sq_ckpt *ck = s->ckpt;

    if (ck == NULL)
        return;
    pthread_mutex_lock(&ck->mu);
    ck->stop = 1;
    pthread_cond_broadcast(&ck->wake);
    pthread_mutex_unlock(&ck->mu);
    if (ck->started)
        pthread_join(ck->th, NULL);
    ck->started = 0;
    for (size_t i = 0; i < ck->nf; i++)
        sq_conn_close(ck->f[i].c);
    ck->nf = 0;
}

void sq_ckpt_free(struct sq_ckpt *ck)
{
    if (ck == NULL)
        return;
    pthread_mutex_destroy(&ck->mu);
    pthread_cond_destroy(&ck->wake);
    pthread_cond_destroy(&ck->done);
    free(ck);
}

void sq_ckpt_stats(struct sq_store *s, struct sq_ckpt_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (s->ckpt == NULL)
        return;
    pthread_mutex_lock(&s->ckpt->mu);
    *out = s->ckpt->st;
    pthread_mutex_unlock(&s->ckpt->mu);
}

void sq_ckpt_test_set(struct sq_store *s, int wake_frames, int bound_frames, int paused)
{
    pthread_mutex_lock(&s->ckpt->mu);
    s->ckpt->wake_frames = wake_frames;
    s->ckpt->bound_frames = bound_frames;
    s->ckpt->paused = paused;
    pthread_cond_broadcast(&s->ckpt->wake);
    pthread_mutex_unlock(&s->ckpt->mu);
}

int sq_ckpt_test_idle(struct sq_store *s, int64_t timeout_us)
{
    struct sq_ckpt *ck = s->ckpt;
    int64_t end = clock_mono_us() + timeout_us;
    int idle = 0;

    while (!idle && clock_mono_us() < end) {
        pthread_mutex_lock(&ck->mu);
        idle = 1;
        for (size_t i = 0; i < ck->nf; i++)
            if (ck->f[i].pending || ck->f[i].busy)
                idle = 0;
        pthread_mutex_unlock(&ck->mu);
        if (!idle) {
            struct timespec ts = { 0, 5 * 1000 * 1000 };

            nanosleep(&ts, NULL);
        }
    }
    return idle;
}
