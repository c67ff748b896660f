/*
 * journal_int.h - private to src/journal: the state shared by journal.c
 * (open, recovery, segments, checkpoint), journal_flush.c (append and the
 * flusher thread) and journal_read.c (record format and reading).
 * Nothing outside src/journal includes this file.
 *
 * On-disk record, all integers little-endian, padded with zeros to a
 * multiple of 8 bytes (so every LSN is a multiple of 8):
 *
 *   0  u32 magic "BLJ1"
 *   4  u32 CRC-32 (zlib's; libdeflate computes it) of bytes 8..72 and of the payload
 *   8  u32 total     on-disk size, header + payload + padding
 *  12  u32 payload length
 *  16  u32 protocol
 *  20  u32 encoding
 *  24  i64 project_id
 *  32  i64 received_at
 *  40  32 bytes event_id, zero-padded
 *  72  payload, then padding
 *
 * The CRC sits right after the magic so that it covers every other field,
 * the length included: a torn or overwritten length cannot pass.
 */
#ifndef BL_JOURNAL_INT_H
#define BL_JOURNAL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/journal.h"

#define JOURNAL__MAGIC 0x314a4c42u
#define JOURNAL__HDR 72u
#define JOURNAL__ALIGN 8u
/* Largest payload whose padded record still fits the u32 total field. */
#define JOURNAL__MAX_PAYLOAD ((size_t)UINT32_MAX - JOURNAL__HDR - JOURNAL__ALIGN)
#define JOURNAL__DEFAULT_SEGMENT (UINT64_C(64) << 20)

/* One segment file; the last one of the list is the active one. */
struct journal_seg {
    uint64_t start; /* LSN of its first byte, also its name */
    uint64_t end;   /* LSN after its last durable byte */
    int fd;
};

struct journal_cb {
    journal_done_fn fn;
    void *arg;
    size_t total; /* on-disk size of the record, to split a group at segment ends */
};

/* Records waiting for (or going through) one write + fdatasync. */
struct journal_group {
    unsigned char *buf; /* serialized records, back to back */
    size_t len;
    size_t cap;
    struct journal_cb *cbs; /* one per record, in order */
    size_t n;
    size_t cbs_cap;
};

struct journal {
    char *dir;
    uint64_t segment_bytes;
    uint64_t budget_bytes; /* 0: no budget */
    size_t max_record_bytes;
    int fsync;
    uint64_t start_lsn;

    pthread_mutex_t mu;
    pthread_cond_t flush_cv;   /* the flusher waits here for work */
    pthread_cond_t durable_cv; /* the reader waits here (CLOCK_MONOTONIC) */
    /* Under mu. */
    struct journal_group pending;
    struct journal_seg *segs;
    size_t nsegs;
    size_t segs_cap;
    int closing;
    int wake_pending;

    /* Owned by the flusher thread once it runs. */
    pthread_t flusher;
    int flusher_started;
    struct journal_group flushing;
    int active_fd;         /* last segment, the one being written */
    uint64_t active_start; /* its start LSN */
    uint64_t write_lsn;    /* where the next record goes */
    uint64_t zeroed_end;   /* the active file's size: zeros past write_lsn (journal_flush.c) */
    int broken;            /* after a failed fdatasync nothing more is acknowledged */

    /* Lock-free readers (doors, /metrics). */
    atomic_int closed;
    atomic_int failed; /* mirrors broken for appenders */
    _Atomic uint64_t durable_lsn;
    _Atomic uint64_t checkpoint_lsn;
    _Atomic uint64_t queued_bytes; /* appended, not yet durable */
    _Atomic uint64_t appended_records;
    _Atomic uint64_t appended_bytes;
    _Atomic uint64_t fsyncs;
    _Atomic uint64_t seg_count;
    /* Disk reserve (journal_disk_low): refreshed by whoever finds it stale. */
    uint64_t reserve_bytes;
    _Atomic int64_t disk_checked_us;
    _Atomic uint64_t disk_free;
    atomic_int disk_low;
};

enum journal_rec_status {
    JOURNAL_REC_OK = 0,
    JOURNAL_REC_SHORT, /* fewer bytes than the record claims (torn, or read more) */
    JOURNAL_REC_BAD    /* bad magic, length or CRC */
};

/* Cuts the active segment's zeros (written ahead of the records) off; the flusher's state. */
int journal__cut_zeros(struct journal *j);

/* Padded on-disk size of a record with a len-byte payload. */
size_t journal__rec_total(size_t len);
/* Fills hdr (JOURNAL__HDR bytes) for rec, CRC included. */
void journal__rec_header(unsigned char *hdr, const struct journal_record *rec);
/*
 * Decodes the record at p (avail bytes readable). On JOURNAL_REC_OK, *total
 * is its on-disk size and out (when not NULL) points its payload into p; on
 * JOURNAL_REC_SHORT, *total is the size needed when the header was readable
 * (else JOURNAL__HDR).
 */
enum journal_rec_status journal__rec_parse(const unsigned char *p, size_t avail, size_t *total,
                                           struct journal_record *out);
/*
 * Length of the valid prefix of the size-byte file fd: where the first
 * short or bad record starts. Negative BL_EIO on a read error.
 */
int journal__scan_valid(int fd, uint64_t size, uint64_t *valid);

/* Creates the segment file starting at lsn, fsyncs the directory and opens it. */
int journal__seg_create(const struct journal *j, uint64_t lsn, int *fd, struct bl_err *err);
/* Appends a segment to the list; the caller holds j->mu or runs alone. */
void journal__seg_push(struct journal *j, uint64_t start, uint64_t end, int fd);
/* Starts the flusher thread. */
/* How stale the free-space figure may be for an append's check. */
#define JOURNAL__DISK_CHECK_US 250000

/* Re-reads free space when the last look is older than max_age_us; returns disk_low. */
int journal__disk_check(struct journal *j, int64_t max_age_us);
int journal__flusher_start(struct journal *j, struct bl_err *err);
/* Frees the buffers of a group. */
void journal__group_release(struct journal_group *g);

#endif
