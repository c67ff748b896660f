/*
 * journal_flush.c - journal_append and the flusher thread (group commit).
 *
 * Appenders serialize their record (header, CRC, payload, padding) into the
 * pending group under j->mu; the CRC is computed before taking the lock so
 * that appenders only contend for a memcpy. The flusher swaps the pending
 * group with its own (double buffering: appends arriving during the write
 * and fdatasync fill the next group), writes it with one pwrite per segment
 * touched, syncs once, publishes the new durable end and then runs the
 * callbacks without holding the lock. Records get their LSN here, from the
 * write position, so a failed write leaves no hole in the LSN space.
 *
 * The active segment is written ahead with zeros, 128 KiB at a time: an
 * fdatasync after writes that grew the file has to commit the filesystem's
 * journal too (the new size and blocks), one after overwriting blocks the
 * file already has only flushes the data. On ext4 that halved a group's
 * write and fdatasync (about 150 us to 80 us alone), the wait every
 * request's answer has. The next zeros are written between groups
 * (zero_early); a MiB at a time gave one group in about fifty the zeros'
 * write-back to wait for (the ack's p99 rose by 10-20 ms), 128 KiB did not.
 * Zeros are no record (bad magic): recovery cuts them like a torn tail, and
 * a segment is cut to its records when it is closed or rolled over, so a
 * segment before the last one is still its records only.
 */
#define _GNU_SOURCE /* sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "journal/journal.h"
#include "journal/journal_int.h"
#include "core/fio.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "core/banned.h"

/* A group buffer bigger than this is given back after its flush. */
#define GROUP_KEEP_BYTES (16u << 20)
/* Zeros written past the records at once (see the top of the file). */
#define ZERO_AHEAD (128u * 1024)

void journal__group_release(struct journal_group *g)
{
    free(g->buf);
    free(g->cbs);
    memset(g, 0, sizeof(*g));
}

static void group_add(struct journal_group *g, const unsigned char *hdr,
                      const struct journal_record *rec, size_t total, journal_done_fn done,
                      void *arg)
{
    unsigned char *p;

    if (g->len + total > g->cap) {
        size_t cap = g->cap ? g->cap : 64 * 1024;

        while (cap < g->len + total)
            cap *= 2;
        g->buf = xrealloc(g->buf, cap);
        g->cap = cap;
    }
    if (g->n == g->cbs_cap) {
        g->cbs_cap = g->cbs_cap ? g->cbs_cap * 2 : 256;
        g->cbs = xrealloc(g->cbs, g->cbs_cap * sizeof(*g->cbs));
    }
    p = g->buf + g->len;
    memcpy(p, hdr, JOURNAL__HDR);
    if (rec->len > 0)
        memcpy(p + JOURNAL__HDR, rec->payload, rec->len);
    memset(p + JOURNAL__HDR + rec->len, 0, total - JOURNAL__HDR - rec->len);
    g->len += total;
    g->cbs[g->n++] = (struct journal_cb){ done, arg, total };
}

int journal_append(struct journal *j, const struct journal_record *rec, journal_done_fn done,
                   void *arg)
{
    unsigned char hdr[JOURNAL__HDR];
    size_t total;

    if (atomic_load(&j->closed))
        return BL_ECLOSED;
    if (rec->len > j->max_record_bytes)
        return BL_ETOOBIG;
    if (atomic_load(&j->failed))
        return BL_EIO;
    if (journal_over_budget(j))
        return BL_EBUSY;
    if (journal__disk_check(j, JOURNAL__DISK_CHECK_US))
        return BL_ENOSPACE;
    total = journal__rec_total(rec->len);
    journal__rec_header(hdr, rec);
    pthread_mutex_lock(&j->mu);
    if (j->closing) {
        pthread_mutex_unlock(&j->mu);
        return BL_ECLOSED;
    }
    group_add(&j->pending, hdr, rec, total, done, arg);
    atomic_fetch_add(&j->queued_bytes, (uint64_t)total);
    /* The flusher only sleeps while the pending group is empty. */
    if (j->pending.n == 1)
        pthread_cond_signal(&j->flush_cv);
    pthread_mutex_unlock(&j->mu);
    atomic_fetch_add(&j->appended_records, 1);
    atomic_fetch_add(&j->appended_bytes, (uint64_t)total);
    return 0;
}

static void publish_durable(struct journal *j)
{
    pthread_mutex_lock(&j->mu);
    j->segs[j->nsegs - 1].end = j->write_lsn;
    atomic_store(&j->durable_lsn, j->write_lsn);
    pthread_cond_broadcast(&j->durable_cv);
    pthread_mutex_unlock(&j->mu);
}

/*
 * Zeros from the end of the records about to be written to the next ZERO_AHEAD
 * boundary past them (at most to the segment's size), when the file is not
 * that long yet. Best effort: where they could not be written (a full
 * disk), the records' own write grows the file as it did before.
 */
static void zero_ahead(struct journal *j, uint64_t end)
{
    static const unsigned char zeros[64 * 1024];
    uint64_t to = (end / ZERO_AHEAD + 1) * ZERO_AHEAD, at = end;

    if (end < j->zeroed_end)
        return;
    if (to > j->segment_bytes)
        to = end > j->segment_bytes ? end : j->segment_bytes;
    while (at < to) {
        size_t n = to - at < sizeof(zeros) ? (size_t)(to - at) : sizeof(zeros);

        if (fio_pwrite_full(j->active_fd, zeros, n, at) != 0)
            break;
        at += n;
    }
    j->zeroed_end = at > end ? at : end;
}

/*
 * After a group: when less than half of ZERO_AHEAD is left past the
 * records, the next zeros are written now and their writeback started, so the
 * group whose fdatasync first covers it mostly finds it on disk already
 * (written just before a group, they were that group's wait).
 */
static void zero_early(struct journal *j)
{
    uint64_t used = j->write_lsn - j->active_start;
    uint64_t from = j->zeroed_end > used ? j->zeroed_end : used; /* never over a record */

    if (!j->fsync || j->broken || from >= j->segment_bytes || from - used >= ZERO_AHEAD / 2)
        return;
    zero_ahead(j, from);
    if (j->zeroed_end > from)
        (void)sync_file_range(j->active_fd, (off_t)from, (off_t)(j->zeroed_end - from),
                              SYNC_FILE_RANGE_WRITE);
}

int journal__cut_zeros(struct journal *j)
{
    uint64_t used = j->write_lsn - j->active_start;

    if (j->active_fd < 0 || j->broken || j->zeroed_end <= used)
        return 0;
    if (ftruncate(j->active_fd, (off_t)used) != 0 || (j->fsync && fdatasync(j->active_fd) != 0)) {
        log_error("cannot cut journal segment %016" PRIx64 " to its records: %s", j->active_start,
                  strerror(errno));
        return BL_EIO;
    }
    j->zeroed_end = used;
    return 0;
}

/*
 * A failed write is undone (the segment cut back) so the next group can try
 * again, e.g. once disk space is back. A failed fdatasync is not retried:
 * the kernel may have dropped the dirty pages already, so from then on
 * nothing is acknowledged any more.
 */
static int write_chunk(struct journal *j, const unsigned char *p, size_t n)
{
    uint64_t off = j->write_lsn - j->active_start;

    if (j->fsync)
        zero_ahead(j, off + n);
    if (fio_pwrite_full(j->active_fd, p, n, off) != 0) {
        log_error_every(10, "cannot write journal segment %016" PRIx64 ": %s", j->active_start,
                        strerror(errno));
        j->zeroed_end = off;
        if (ftruncate(j->active_fd, (off_t)off) != 0) {
            log_error("cannot cut journal segment %016" PRIx64 " back: %s", j->active_start,
                      strerror(errno));
            j->broken = 1;
            atomic_store(&j->failed, 1);
        }
        return BL_EIO;
    }
    if (j->fsync) {
        atomic_fetch_add(&j->fsyncs, 1);
        if (fdatasync(j->active_fd) != 0) {
            log_error("cannot fdatasync journal segment %016" PRIx64 ": %s", j->active_start,
                      strerror(errno));
            j->broken = 1;
            atomic_store(&j->failed, 1);
            return BL_EIO;
        }
    }
    j->write_lsn += n;
    publish_durable(j);
    return 0;
}

/* A record never spans segments: roll when the next one would not fit. */
static int maybe_roll(struct journal *j, size_t next_total)
{
    uint64_t used = j->write_lsn - j->active_start;
    struct bl_err err = { 0 };
    int fd, rc;

    if (used == 0 || used + next_total <= j->segment_bytes)
        return 0;
    /* Before the next segment exists: only the last one may end in zeros. */
    rc = journal__cut_zeros(j);
    if (rc < 0)
        return rc;
    rc = journal__seg_create(j, j->write_lsn, &fd, &err);
    if (rc < 0) {
        log_error("cannot roll the journal: %s", bl_err_msg(&err));
        return rc;
    }
    pthread_mutex_lock(&j->mu);
    journal__seg_push(j, j->write_lsn, j->write_lsn, fd);
    pthread_mutex_unlock(&j->mu);
    j->active_fd = fd;
    j->active_start = j->write_lsn;
    j->zeroed_end = 0;
    return 0;
}

/*
 * Writes the group, split at segment boundaries. Returns 0 or a negative
 * code; *done_n is how many leading records are durable either way.
 */
static int flush_group(struct journal *j, const struct journal_group *g, size_t *done_n)
{
    size_t i = 0, off = 0;

    *done_n = 0;
    if (j->broken)
        return BL_EIO;
    /* A fresher look than the appenders': this is the last moment to refuse. */
    if (journal__disk_check(j, JOURNAL__DISK_CHECK_US / 10))
        return BL_ENOSPACE;
    while (i < g->n) {
        size_t k = i, bytes = 0, room;
        int rc = maybe_roll(j, g->cbs[i].total);

        if (rc < 0)
            return rc;
        room = j->segment_bytes - (j->write_lsn - j->active_start);
        /* At least one record, so one larger than a segment still goes out. */
        do {
            bytes += g->cbs[k++].total;
        } while (k < g->n && bytes + g->cbs[k].total <= room);
        rc = write_chunk(j, g->buf + off, bytes);
        if (rc < 0)
            return rc;
        off += bytes;
        i = k;
        *done_n = k;
    }
    return 0;
}

static void complete_group(struct journal *j, struct journal_group *g, int rc, size_t done_n)
{
    /* After the durable end moved, so the budget never sees these bytes missing. */
    atomic_fetch_sub(&j->queued_bytes, (uint64_t)g->len);
    for (size_t i = 0; i < g->n; i++)
        if (g->cbs[i].fn != NULL)
            g->cbs[i].fn(g->cbs[i].arg, i < done_n ? 0 : rc);
    g->n = 0;
    g->len = 0;
    if (g->cap > GROUP_KEEP_BYTES)
        journal__group_release(g);
}

static void *flusher_main(void *arg)
{
    struct journal *j = arg;

    prctl(PR_SET_NAME, "bilor-journal", 0, 0, 0);
    pthread_mutex_lock(&j->mu);
    for (;;) {
        struct journal_group tmp;
        size_t done_n;
        int rc;

        while (j->pending.n == 0 && !j->closing)
            pthread_cond_wait(&j->flush_cv, &j->mu);
        if (j->pending.n == 0)
            break;
        tmp = j->pending;
        j->pending = j->flushing;
        j->flushing = tmp;
        pthread_mutex_unlock(&j->mu);
        rc = flush_group(j, &j->flushing, &done_n);
        complete_group(j, &j->flushing, rc, done_n);
        zero_early(j);
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

int journal__flusher_start(struct journal *j, struct bl_err *err)
{
    int rc = pthread_create(&j->flusher, NULL, flusher_main, j);

    if (rc != 0)
        return bl_err_set(err, BL_EIO, "cannot start the journal flusher: %s", strerror(rc));
    j->flusher_started = 1;
    return 0;
}
