/*
 * journal.c - opening, recovering, checkpointing and closing the journal.
 *
 * DESIGN
 * The contract and the big picture are in journal.h. The module has three
 * files: this one (segments on disk, recovery at open, checkpoint, stats),
 * journal_flush.c (append and the one flusher thread) and journal_read.c
 * (the record format and journal_read_batch). journal_int.h has the record
 * layout and the shared state.
 *
 * Locking: one mutex, j->mu, guards the pending group, the segment list and
 * the closing/wake flags. Nobody holds it across I/O: appenders copy a
 * record whose header and CRC they built beforehand, the flusher only swaps
 * the pending group out and later publishes the new durable end, the reader
 * only looks up which file and range to pread. Counters that doors and
 * /metrics read (durable, checkpoint, queued bytes, stats) are C11 atomics,
 * so journal_over_budget() never waits for the flusher.
 *
 * Recovery: a segment is fsynced before the next one is created, so only
 * the last segment can end in a torn record. Earlier segments are taken at
 * their file size (journal_read_batch checks every record's CRC anyway);
 * the last one is scanned and cut after its last valid record. Segments
 * wholly below the store's checkpoint are deleted. When none is left (a
 * new journal, or a checkpoint past everything on disk), the journal starts
 * at the checkpoint, so LSNs never go backwards for the store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "journal/journal.h"
#include "journal/journal_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define SEG_NAME_LEN 20 /* 16 hex digits + ".jnl" */
#define PATH_CAP 4096

static void seg_path(const struct journal *j, uint64_t start, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%016" PRIx64 ".jnl", j->dir, start);
}

/* Parses "<16 hex>.jnl"; anything else in the directory is not ours. */
static int seg_name_parse(const char *name, uint64_t *start)
{
    uint64_t v = 0;

    if (strlen(name) != SEG_NAME_LEN || strcmp(name + 16, ".jnl") != 0)
        return -1;
    for (int i = 0; i < 16; i++) {
        int c = (unsigned char)name[i];
        int d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *start = v;
    return 0;
}

static int sync_dir(const struct journal *j, struct bl_err *err)
{
    int fd, rc = 0;

    if (!j->fsync)
        return 0;
    fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "cannot open '%s': %s", j->dir, strerror(errno));
    if (fsync(fd) != 0)
        rc = bl_err_set(err, BL_EIO, "cannot fsync '%s': %s", j->dir, strerror(errno));
    close(fd);
    return rc;
}

/* mkdir -p: the configured directory may be several levels below an existing one. */
static int make_dirs(const char *dir, struct bl_err *err)
{
    char *path = xstrdup(dir);
    int rc = 0;

    for (char *p = path + 1; rc == 0; p++) {
        int last = *p == '\0';

        if (*p != '/' && !last)
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            rc = bl_err_set(err, BL_EIO, "cannot create '%s': %s", path, strerror(errno));
        if (last)
            break;
        *p = '/';
    }
    free(path);
    return rc;
}

int journal__seg_create(const struct journal *j, uint64_t lsn, int *fd, struct bl_err *err)
{
    char path[PATH_CAP];
    int rc;

    seg_path(j, lsn, path, sizeof(path));
    *fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (*fd < 0)
        return bl_err_set(err, BL_EIO, "cannot create '%s': %s", path, strerror(errno));
    /* The new name must survive a crash, or its records would vanish with it. */
    rc = sync_dir(j, err);
    if (rc < 0) {
        close(*fd);
        *fd = -1;
        unlink(path);
    }
    return rc;
}

void journal__seg_push(struct journal *j, uint64_t start, uint64_t end, int fd)
{
    if (j->nsegs == j->segs_cap) {
        j->segs_cap = j->segs_cap ? j->segs_cap * 2 : 16;
        j->segs = xrealloc(j->segs, j->segs_cap * sizeof(*j->segs));
    }
    j->segs[j->nsegs++] = (struct journal_seg){ start, end, fd };
    atomic_store(&j->seg_count, (uint64_t)j->nsegs);
}

static void seg_remove(const struct journal *j, const struct journal_seg *s)
{
    char path[PATH_CAP];

    seg_path(j, s->start, path, sizeof(path));
    if (s->fd >= 0)
        close(s->fd);
    if (unlink(path) != 0)
        log_warn("cannot delete journal segment '%s': %s", path, strerror(errno));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Sorted start LSNs of the segment files in j->dir. */
static int list_segments(const struct journal *j, uint64_t **out, size_t *n, struct bl_err *err)
{
    DIR *d = opendir(j->dir);
    struct dirent *e;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (d == NULL)
        return bl_err_set(err, BL_EIO, "cannot open '%s': %s", j->dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        uint64_t start;

        if (seg_name_parse(e->d_name, &start) != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = start;
    }
    closedir(d);
    if (*n > 0)
        qsort(*out, *n, sizeof(**out), cmp_u64);
    return 0;
}

/* Whether the file holds only zero bytes from off to size (a stop left the zeros written ahead). */
static int zeros_from(int fd, uint64_t off, uint64_t size)
{
    unsigned char b[4096];

    while (off < size) {
        size_t n = size - off < sizeof(b) ? (size_t)(size - off) : sizeof(b);
        ssize_t r = pread(fd, b, n, (off_t)off);

        if (r <= 0)
            return 0;
        for (ssize_t i = 0; i < r; i++)
            if (b[i] != 0)
                return 0;
        off += (uint64_t)r;
    }
    return 1;
}

/* Cuts the torn tail of the last segment: it was never acknowledged. */
static int recover_tail(struct journal *j, const char *path, int fd, uint64_t size, uint64_t *valid,
                        struct bl_err *err)
{
    int rc = journal__scan_valid(fd, size, valid);

    if (rc < 0)
        return bl_err_set(err, rc, "cannot read '%s'", path);
    if (*valid == size)
        return 0;
    if (zeros_from(fd, *valid, size))
        log_debug("cutting the zeros written ahead in '%s' at %" PRIu64, path, *valid);
    else
        log_warn("cutting torn tail of '%s' at %" PRIu64 " (%" PRIu64 " bytes dropped)", path,
                 *valid, size - *valid);
    if (ftruncate(fd, (off_t)*valid) != 0)
        return bl_err_set(err, BL_EIO, "cannot truncate '%s': %s", path, strerror(errno));
    if (j->fsync && fsync(fd) != 0)
        return bl_err_set(err, BL_EIO, "cannot fsync '%s': %s", path, strerror(errno));
    return 0;
}

static int open_segment(struct journal *j, uint64_t start, int last, struct bl_err *err)
{
    char path[PATH_CAP];
    struct stat st;
    uint64_t size;
    int fd, rc = 0;

    seg_path(j, start, path, sizeof(path));
    fd = open(path, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = bl_err_set(err, BL_EIO, "cannot stat '%s': %s", path, strerror(errno));
        goto out;
    }
    size = (uint64_t)st.st_size;
    if (j->nsegs > 0 && j->segs[j->nsegs - 1].end > start) {
        rc = bl_err_set(err, BL_EIO, "journal segment '%s' overlaps the one before it", path);
        goto out;
    }
    if (j->nsegs > 0 && j->segs[j->nsegs - 1].end < start)
        log_warn("gap in the journal before '%s': records are missing", path);
    if (last)
        rc = recover_tail(j, path, fd, size, &size, err);
out:
    if (rc < 0) {
        close(fd);
        return rc;
    }
    journal__seg_push(j, start, start + size, fd);
    return 0;
}

static int load_segments(struct journal *j, struct bl_err *err)
{
    uint64_t *starts;
    size_t n;
    int rc = list_segments(j, &starts, &n, err);

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = open_segment(j, starts[i], i + 1 == n, err);
    free(starts);
    return rc;
}

/* At open, drops every segment the store no longer needs, the last one included. */
static int drop_below_checkpoint(struct journal *j, uint64_t ckpt, struct bl_err *err)
{
    size_t k = 0;

    if (j->nsegs > 0 && ckpt > j->segs[j->nsegs - 1].end)
        log_warn("journal checkpoint %" PRIu64 " is past the journal end %" PRIu64
                 ", restarting it at the checkpoint",
                 ckpt, j->segs[j->nsegs - 1].end);
    if (j->nsegs > 0 && ckpt < j->segs[0].start)
        log_warn("journal checkpoint %" PRIu64 " is below the oldest segment %" PRIu64, ckpt,
                 j->segs[0].start);
    while (k < j->nsegs && j->segs[k].end <= ckpt)
        seg_remove(j, &j->segs[k++]);
    if (k == 0)
        return 0;
    memmove(j->segs, j->segs + k, (j->nsegs - k) * sizeof(*j->segs));
    j->nsegs -= k;
    atomic_store(&j->seg_count, (uint64_t)j->nsegs);
    return sync_dir(j, err);
}

static struct journal *journal_new(const struct journal_config *cfg, uint64_t ckpt)
{
    struct journal *j = xcalloc(1, sizeof(*j));
    pthread_condattr_t ca;

    j->dir = xstrdup(cfg->dir);
    j->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes : JOURNAL__DEFAULT_SEGMENT;
    j->budget_bytes = cfg->budget_bytes;
    j->max_record_bytes = cfg->max_record_bytes;
    j->reserve_bytes = cfg->reserve_bytes;
    if (j->max_record_bytes == 0 || j->max_record_bytes > JOURNAL__MAX_PAYLOAD)
        j->max_record_bytes = JOURNAL__MAX_PAYLOAD;
    j->fsync = cfg->fsync;
    j->start_lsn = ckpt;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->flush_cv, NULL);
    /* Read timeouts are durations: immune to wall-clock jumps. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->durable_cv, &ca);
    pthread_condattr_destroy(&ca);
    j->active_fd = -1;
    atomic_init(&j->closed, 0);
    atomic_init(&j->failed, 0);
    atomic_init(&j->checkpoint_lsn, ckpt);
    atomic_init(&j->durable_lsn, ckpt);
    atomic_init(&j->queued_bytes, 0);
    atomic_init(&j->appended_records, 0);
    atomic_init(&j->appended_bytes, 0);
    atomic_init(&j->fsyncs, 0);
    atomic_init(&j->seg_count, 0);
    return j;
}

static void journal_free(struct journal *j)
{
    for (size_t i = 0; i < j->nsegs; i++)
        if (j->segs[i].fd >= 0)
            close(j->segs[i].fd);
    free(j->segs);
    journal__group_release(&j->pending);
    journal__group_release(&j->flushing);
    pthread_cond_destroy(&j->durable_cv);
    pthread_cond_destroy(&j->flush_cv);
    pthread_mutex_destroy(&j->mu);
    free(j->dir);
    free(j);
}

/* Makes sure there is an active segment and points the flusher at its end. */
static int prepare_active(struct journal *j, uint64_t ckpt, struct bl_err *err)
{
    struct journal_seg *last;
    int fd, rc;

    if (j->nsegs == 0) {
        rc = journal__seg_create(j, ckpt, &fd, err);
        if (rc < 0)
            return rc;
        journal__seg_push(j, ckpt, ckpt, fd);
    }
    last = &j->segs[j->nsegs - 1];
    j->active_fd = last->fd;
    j->active_start = last->start;
    j->write_lsn = last->end;
    j->zeroed_end = last->end - last->start; /* recovery cut the file to its records */
    atomic_store(&j->durable_lsn, last->end);
    return 0;
}

int journal_open(struct journal **out, const struct journal_config *cfg, uint64_t checkpoint_lsn,
                 struct bl_err *err)
{
    struct journal *j;
    int rc;

    *out = NULL;
    if (cfg == NULL || cfg->dir == NULL || cfg->dir[0] == '\0')
        return bl_err_set(err, BL_EINVAL, "journal directory not set");
    if (strlen(cfg->dir) + 1 + SEG_NAME_LEN >= PATH_CAP)
        return bl_err_set(err, BL_EINVAL, "journal directory name too long");
    j = journal_new(cfg, checkpoint_lsn);
    rc = make_dirs(j->dir, err);
    if (rc == 0)
        rc = load_segments(j, err);
    if (rc == 0)
        rc = drop_below_checkpoint(j, checkpoint_lsn, err);
    if (rc == 0)
        rc = prepare_active(j, checkpoint_lsn, err);
    if (rc == 0)
        rc = journal__flusher_start(j, err);
    if (rc < 0) {
        journal_free(j);
        return rc;
    }
    log_info("journal '%s' open: %zu segments, lsn %" PRIu64 " to %" PRIu64, j->dir, j->nsegs,
             checkpoint_lsn, journal_durable_lsn(j));
    *out = j;
    return 0;
}

void journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    atomic_store(&j->closed, 1);
    pthread_mutex_lock(&j->mu);
    j->closing = 1;
    pthread_cond_signal(&j->flush_cv);
    pthread_cond_broadcast(&j->durable_cv);
    pthread_mutex_unlock(&j->mu);
    /* The flusher drains the pending group (running its callbacks) before it exits. */
    if (j->flusher_started)
        pthread_join(j->flusher, NULL);
    /* A stopped journal's files hold its records only (a failure here: recovery cuts them). */
    (void)journal__cut_zeros(j);
    journal_free(j);
}

void journal_checkpoint(struct journal *j, uint64_t lsn)
{
    struct journal_seg *gone = NULL;
    size_t k = 0;

    if (lsn <= atomic_load(&j->checkpoint_lsn))
        return;
    atomic_store(&j->checkpoint_lsn, lsn);
    pthread_mutex_lock(&j->mu);
    /* Never the active segment: the flusher keeps writing to it. */
    while (k + 1 < j->nsegs && j->segs[k].end <= lsn)
        k++;
    if (k > 0) {
        gone = xmemdup(j->segs, k * sizeof(*j->segs));
        memmove(j->segs, j->segs + k, (j->nsegs - k) * sizeof(*j->segs));
        j->nsegs -= k;
        atomic_store(&j->seg_count, (uint64_t)j->nsegs);
    }
    pthread_mutex_unlock(&j->mu);
    /* The digest reads only at or above the checkpoint, so these fds can go now. */
    for (size_t i = 0; i < k; i++)
        seg_remove(j, &gone[i]);
    free(gone);
}

uint64_t journal_start_lsn(const struct journal *j)
{
    return j->start_lsn;
}

uint64_t journal_durable_lsn(const struct journal *j)
{
    return atomic_load(&j->durable_lsn);
}

uint64_t journal_backlog_bytes(const struct journal *j)
{
    uint64_t ckpt = atomic_load(&j->checkpoint_lsn);
    uint64_t end = atomic_load(&j->durable_lsn);

    return end > ckpt ? end - ckpt : 0;
}

/*
 * Records still in RAM count too: otherwise a burst faster than the disk
 * would pile up in the pending group, unbounded, while the backlog on disk
 * still looks small.
 */
int journal_over_budget(const struct journal *j)
{
    if (j->budget_bytes == 0)
        return 0;
    return journal_backlog_bytes(j) + atomic_load(&j->queued_bytes) > j->budget_bytes;
}

/*
 * statvfs costs a system call, so one caller at a time refreshes the
 * figure when it is stale (the CAS on the timestamp elects it) and the
 * others read the last answer. Bytes queued but not yet written count as
 * used, so a burst cannot overshoot the reserve between two looks.
 */
int journal__disk_check(struct journal *j, int64_t max_age_us)
{
    int64_t now, last;
    struct statvfs sv;
    uint64_t avail, queued;
    int low;

    if (j->reserve_bytes == 0)
        return 0;
    now = clock_mono_us();
    last = atomic_load(&j->disk_checked_us);
    if (now - last < max_age_us || !atomic_compare_exchange_strong(&j->disk_checked_us, &last, now))
        return atomic_load(&j->disk_low);
    if (statvfs(j->dir, &sv) != 0)
        return atomic_load(&j->disk_low);
    avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    /*
     * Bytes queued are about to be written, and the undigested backlog will
     * need about as much again in the store before its segments are deleted.
     */
    queued = atomic_load(&j->queued_bytes) + journal_backlog_bytes(j);
    low = avail < j->reserve_bytes + queued;
    atomic_store(&j->disk_free, avail);
    if (low != atomic_exchange(&j->disk_low, low)) {
        if (low)
            log_error("free disk space in '%s' is %" PRIu64 " MiB, below the reserve of %" PRIu64
                      " MiB: refusing ingest until space is freed",
                      j->dir, avail >> 20, j->reserve_bytes >> 20);
        else
            log_info("free disk space in '%s' is back to %" PRIu64 " MiB: accepting ingest", j->dir,
                     avail >> 20);
    }
    return low;
}

int journal_disk_low(struct journal *j)
{
    return journal__disk_check(j, JOURNAL__DISK_CHECK_US);
}

void journal_stats(const struct journal *j, struct journal_stats *out)
{
    out->appended_records = atomic_load(&j->appended_records);
    out->appended_bytes = atomic_load(&j->appended_bytes);
    out->fsyncs = atomic_load(&j->fsyncs);
    out->durable_lsn = atomic_load(&j->durable_lsn);
    out->checkpoint_lsn = atomic_load(&j->checkpoint_lsn);
    out->backlog_bytes = journal_backlog_bytes(j);
    out->segments = atomic_load(&j->seg_count);
    out->disk_free_bytes = atomic_load(&j->disk_free);
    out->disk_low = atomic_load(&j->disk_low);
}
