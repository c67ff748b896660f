/*
 * journal_read.c - the on-disk record format, the recovery scan and
 * journal_read_batch.
 *
 * Reads go through pread and the page cache: the digest usually reads what
 * was written a moment ago. A read never crosses a segment boundary, so it
 * needs the lock only to look up the file and its durable range, never
 * while the disk works. Every record's CRC is checked again on the way out;
 * what was cut at open can never be read, but a disk can still rot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libdeflate.h>

#include "journal/journal.h"
#include "journal/journal_int.h"
#include "core/fio.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define SCAN_CHUNK (1u << 20)
/* A batch reads about max_bytes of payload plus room for this many headers. */
#define READ_SLACK (64u * 1024)
#define READ_MAX (16u << 20)

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

size_t journal__rec_total(size_t len)
{
    return (JOURNAL__HDR + len + JOURNAL__ALIGN - 1) & ~(size_t)(JOURNAL__ALIGN - 1);
}

/* zlib's CRC-32, computed by libdeflate: several times faster (carry-less multiply). */
static uint32_t rec_crc(const unsigned char *hdr, const void *payload, size_t len)
{
    uint32_t crc = libdeflate_crc32(0, hdr + 8, JOURNAL__HDR - 8);

    return len > 0 ? libdeflate_crc32(crc, payload, len) : crc;
}

void journal__rec_header(unsigned char *hdr, const struct journal_record *rec)
{
    size_t idlen = strnlen(rec->event_id, sizeof(rec->event_id) - 1);

    put32(hdr, JOURNAL__MAGIC);
    put32(hdr + 8, (uint32_t)journal__rec_total(rec->len));
    put32(hdr + 12, (uint32_t)rec->len);
    put32(hdr + 16, (uint32_t)rec->protocol);
    put32(hdr + 20, (uint32_t)rec->encoding);
    put64(hdr + 24, (uint64_t)rec->project_id);
    put64(hdr + 32, (uint64_t)rec->received_at);
    memset(hdr + 40, 0, 32);
    memcpy(hdr + 40, rec->event_id, idlen);
    put32(hdr + 4, rec_crc(hdr, rec->payload, rec->len));
}

enum journal_rec_status journal__rec_parse(const unsigned char *p, size_t avail, size_t *total,
                                           struct journal_record *out)
{
    uint32_t len;

    *total = JOURNAL__HDR;
    if (avail >= 4 && get32(p) != JOURNAL__MAGIC)
        return JOURNAL_REC_BAD;
    if (avail < JOURNAL__HDR)
        return JOURNAL_REC_SHORT;
    len = get32(p + 12);
    if (len > JOURNAL__MAX_PAYLOAD || get32(p + 8) != journal__rec_total(len))
        return JOURNAL_REC_BAD;
    *total = journal__rec_total(len);
    if (avail < *total)
        return JOURNAL_REC_SHORT;
    if (rec_crc(p, p + JOURNAL__HDR, len) != get32(p + 4))
        return JOURNAL_REC_BAD;
    if (out == NULL)
        return JOURNAL_REC_OK;
    out->protocol = (int32_t)get32(p + 16);
    out->encoding = (int32_t)get32(p + 20);
    out->project_id = (int64_t)get64(p + 24);
    out->received_at = (int64_t)get64(p + 32);
    memcpy(out->event_id, p + 40, 32);
    out->event_id[32] = '\0';
    out->payload = p + JOURNAL__HDR;
    out->len = len;
    return JOURNAL_REC_OK;
}

/*
 * Walks the records of buf (n bytes read at file offset pos). Returns 1 when
 * the log ends in it (*valid set), 0 when the caller must read on from *pos
 * with at least *need bytes of buffer.
 */
static int scan_chunk(const unsigned char *buf, size_t n, uint64_t *pos, uint64_t size,
                      size_t *need, uint64_t *valid)
{
    size_t off = 0;

    while (off < n) {
        size_t total;
        enum journal_rec_status st = journal__rec_parse(buf + off, n - off, &total, NULL);

        if (st == JOURNAL_REC_OK) {
            off += total;
            continue;
        }
        /* A record running past the end of the file is the torn tail. */
        if (st == JOURNAL_REC_BAD || *pos + off + total > size) {
            *valid = *pos + off;
            return 1;
        }
        *need = total;
        break;
    }
    *pos += off;
    if (*pos >= size) {
        *valid = size;
        return 1;
    }
    return 0;
}

int journal__scan_valid(int fd, uint64_t size, uint64_t *valid)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    uint64_t pos = 0;
    int rc = 0;

    *valid = 0;
    while (pos < size) {
        size_t need = SCAN_CHUNK, n;

        if (need > cap) {
            cap = need;
            buf = xrealloc(buf, cap);
        }
        n = size - pos < cap ? (size_t)(size - pos) : cap;
        rc = fio_pread_full(fd, buf, n, pos);
        if (rc < 0)
            break;
        if (scan_chunk(buf, n, &pos, size, &need, valid))
            break;
        if (need > cap) {
            cap = need;
            buf = xrealloc(buf, cap);
        }
    }
    free(buf);
    return rc;
}

/* What one read_batch call may read: one segment's durable range. */
struct span {
    int fd;
    uint64_t seg_start;
    uint64_t lsn;
    uint64_t end;
};

/* Finds the first durable byte at or after lsn; the caller holds j->mu. */
static int find_span(struct journal *j, uint64_t lsn, struct span *sp)
{
    for (size_t i = 0; i < j->nsegs; i++) {
        const struct journal_seg *s = &j->segs[i];
        /* Below the oldest segment, or a gap left by a lost file: skip ahead. */
        uint64_t at = lsn < s->start ? s->start : lsn;

        if (at < s->end) {
            if (at != lsn)
                log_warn("journal lsn %" PRIu64 " is gone, reading on at %" PRIu64, lsn, at);
            *sp = (struct span){ s->fd, s->start, at, s->end };
            return 1;
        }
    }
    return 0;
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits until something at or after lsn is durable. Returns 1 (sp set) or 0. */
static int wait_span(struct journal *j, uint64_t lsn, int timeout_ms, struct span *sp)
{
    struct timespec deadline;
    int found, timed_out = timeout_ms <= 0;

    if (!timed_out)
        deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&j->mu);
    for (;;) {
        found = find_span(j, lsn, sp);
        if (found || timed_out || j->closing)
            break;
        /* A wake that came before we got here still counts, once. */
        if (j->wake_pending) {
            j->wake_pending = 0;
            break;
        }
        if (pthread_cond_timedwait(&j->durable_cv, &j->mu, &deadline) == ETIMEDOUT)
            timed_out = 1;
    }
    pthread_mutex_unlock(&j->mu);
    return found;
}

static void batch_push(struct journal_batch *b, const struct journal_record *rec)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->recs = xrealloc(b->recs, b->cap * sizeof(*b->recs));
    }
    b->recs[b->n++] = *rec;
}

/*
 * Decodes the records of b->data[0..n). Returns 0, or the size the first
 * record needs when it did not fit, or BL_EIO when the first one is bad.
 */
static long parse_batch(const struct span *sp, size_t n, size_t max_records, size_t max_bytes,
                        struct journal_batch *b)
{
    size_t off = 0, payload = 0;

    while (off < n && b->n < max_records) {
        struct journal_record rec;
        size_t total;
        enum journal_rec_status st = journal__rec_parse(b->data + off, n - off, &total, &rec);

        if (st != JOURNAL_REC_OK && b->n > 0)
            break;
        if (st == JOURNAL_REC_SHORT && total <= sp->end - sp->lsn)
            return (long)total;
        if (st != JOURNAL_REC_OK) {
            log_error("corrupt journal record at lsn %" PRIu64 " in segment %016" PRIx64, sp->lsn,
                      sp->seg_start);
            return BL_EIO;
        }
        if (b->n > 0 && payload + rec.len > max_bytes)
            break;
        payload += rec.len;
        rec.lsn = sp->lsn + off;
        rec.next_lsn = rec.lsn + total;
        batch_push(b, &rec);
        b->end_lsn = rec.next_lsn;
        off += total;
    }
    return 0;
}

static size_t read_size(const struct span *sp, size_t max_bytes)
{
    uint64_t avail = sp->end - sp->lsn;
    size_t want = (max_bytes < READ_MAX ? max_bytes : READ_MAX) + READ_SLACK;

    return avail < want ? (size_t)avail : want;
}

static int read_span(const struct span *sp, size_t max_records, size_t max_bytes,
                     struct journal_batch *b)
{
    size_t n = read_size(sp, max_bytes);

    for (;;) {
        long need;
        int rc;

        if (n > b->data_cap) {
            b->data = xrealloc(b->data, n);
            b->data_cap = n;
        }
        rc = fio_pread_full(sp->fd, b->data, n, sp->lsn - sp->seg_start);
        if (rc < 0) {
            log_error("cannot read journal segment %016" PRIx64 ": %s", sp->seg_start,
                      strerror(errno));
            return rc;
        }
        need = parse_batch(sp, n, max_records, max_bytes, b);
        if (need <= 0)
            return need < 0 ? (int)need : (int)b->n;
        /* The first record is bigger than what we read: read it whole. */
        n = (size_t)need;
    }
}

int journal_read_batch(struct journal *j, uint64_t from_lsn, size_t max_records, size_t max_bytes,
                       int timeout_ms, struct journal_batch *b)
{
    struct span sp;

    b->n = 0;
    b->end_lsn = from_lsn;
    if (max_records == 0)
        return 0;
    if (!wait_span(j, from_lsn, timeout_ms, &sp))
        return 0;
    return read_span(&sp, max_records, max_bytes, b);
}

void journal_batch_release(struct journal_batch *b)
{
    free(b->recs);
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void journal_wake(struct journal *j)
{
    pthread_mutex_lock(&j->mu);
    j->wake_pending = 1;
    pthread_cond_broadcast(&j->durable_cv);
    pthread_mutex_unlock(&j->mu);
}
