/*
 * journal.h - the ingest journal: append-only, group-committed, durable.
 *
 * DESIGN
 * A door answers 2xx only after its raw record is on disk. Doors call
 * journal_append(), which copies the record into the pending group and
 * returns at once; one flusher thread writes the whole group with a single
 * write() and fdatasync() and then calls every record's done callback. So
 * concurrent requests share one fsync (group commit) and no request thread
 * sleeps while it waits (the HTTP layer suspends the connection and the
 * callback resumes it).
 *
 * Records live in segment files <dir>/<start-lsn as 16 hex>.jnl. An LSN is
 * a byte position in the endless journal: a record's lsn is where it starts,
 * next_lsn where the following one starts. The digest reads records in LSN
 * order and reports, through journal_checkpoint(), the LSN below which
 * everything is in the store (the store keeps the same LSN in its own
 * transaction, which is what makes replay exactly-once). Segments wholly
 * below the checkpoint are deleted, giving their space back.
 *
 * The backlog is durable_end - checkpoint. Above the configured budget
 * journal_over_budget() is true and doors answer 429 without reading the
 * body, so bursts go to disk up to the budget and never to RAM.
 *
 * Disk space: the journal refuses appends (BL_ENOSPACE) while the free
 * space of its file system is below reserve_bytes, so the doors answer 503
 * with Retry-After before the disk is full, and the space left is the
 * store's to digest the backlog into (which gives journal space back).
 * Accepting until write() fails would acknowledge nothing more but leave
 * the store unable to grow, which only a restart on a bigger disk cured.
 *
 * On open, a torn tail (short record or bad checksum after a crash) is cut
 * off: it was never acknowledged, because acks follow fdatasync.
 *
 * Thread-safety: journal_append, journal_over_budget, journal_backlog_bytes
 * and journal_stats may be called from any thread; journal_read_batch by one
 * digest thread at a time (the digest's decode threads take turns), and
 * journal_checkpoint by one thread, never above what has been read.
 */
#ifndef BL_JOURNAL_H
#define BL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct journal_config {
    const char *dir;         /* created if missing */
    uint64_t segment_bytes;  /* roll to a new segment past this (default 64 MiB) */
    uint64_t budget_bytes;   /* undigested bytes above which doors get 429 */
    size_t max_record_bytes; /* payload cap; larger appends fail with BL_ETOOBIG */
    int fsync;               /* 0 only for tests that measure without the disk */
    uint64_t reserve_bytes;  /* free disk space kept for the store (0: no reserve) */
};

struct journal_record {
    uint64_t lsn;      /* set by the journal */
    uint64_t next_lsn; /* set by the journal */
    int protocol;      /* enum ingest_proto (ingest/ingest.h); opaque here */
    int encoding;      /* enum ingest_encoding; opaque here */
    int64_t project_id;
    int64_t received_at; /* µs since epoch */
    char event_id[33];   /* chosen by the door, "" when the record has none */
    const void *payload; /* the body exactly as received (still compressed) */
    size_t len;
};

/* A batch of records read by the digest; payloads point into its buffer. */
struct journal_batch {
    struct journal_record *recs;
    size_t n;
    size_t cap;
    unsigned char *data; /* owned */
    size_t data_cap;
    uint64_t end_lsn; /* next_lsn of the last record */
};

struct journal_stats {
    uint64_t appended_records;
    uint64_t appended_bytes;
    uint64_t fsyncs;
    uint64_t durable_lsn;
    uint64_t checkpoint_lsn;
    uint64_t backlog_bytes;
    uint64_t segments;
    uint64_t disk_free_bytes; /* free space of the journal's file system, last look */
    int disk_low;             /* below the reserve: appends are refused */
};

/*
 * Called from the flusher thread once the record is durable (rc 0) or could
 * not be written (rc < 0). Must be quick and must not call back into the
 * journal.
 */
typedef void (*journal_done_fn)(void *arg, int rc);

struct journal;

/*
 * Opens (creating if needed) the journal in cfg->dir, cuts off a torn tail,
 * deletes segments wholly below checkpoint_lsn (the store's checkpoint) and
 * starts the flusher thread. *out is freed with journal_close().
 */
int journal_open(struct journal **out, const struct journal_config *cfg, uint64_t checkpoint_lsn,
                 struct bl_err *err);

/*
 * Flushes what is pending (calling its callbacks), stops the flusher and
 * frees the journal. Appends racing with close fail with BL_ECLOSED.
 */
void journal_close(struct journal *j);

/*
 * Copies rec (payload included) into the pending group; done(arg, rc) runs
 * later on the flusher thread. On a negative return (BL_EBUSY over budget,
 * BL_ETOOBIG, BL_ENOSPACE, BL_ECLOSED) nothing was queued and done will not be called.
 * rec->lsn/next_lsn are ignored.
 */
int journal_append(struct journal *j, const struct journal_record *rec, journal_done_fn done,
                   void *arg);

/*
 * True while free disk space is below the reserve. Looks at the file system
 * at most every few hundred ms (cheap enough for every request's headers).
 */
int journal_disk_low(struct journal *j);

/* True when the undigested backlog exceeds the budget (lock-free read). */
int journal_over_budget(const struct journal *j);
uint64_t journal_backlog_bytes(const struct journal *j);
void journal_stats(const struct journal *j, struct journal_stats *out);

/*
 * Reads durable records starting at from_lsn, up to max_records and about
 * max_bytes of payload (at least one record is returned however large),
 * waiting up to timeout_ms for the first one. Returns the number of records
 * (0 on timeout) or a negative code. Records are valid until the next call
 * with the same batch or journal_batch_release().
 */
int journal_read_batch(struct journal *j, uint64_t from_lsn, size_t max_records, size_t max_bytes,
                       int timeout_ms, struct journal_batch *b);
void journal_batch_release(struct journal_batch *b);

/* LSN where reading starts after open: the checkpoint passed to journal_open. */
uint64_t journal_start_lsn(const struct journal *j);
/* Everything below lsn is in the store: release the space it used. */
void journal_checkpoint(struct journal *j, uint64_t lsn);
/* Wakes a digest blocked in journal_read_batch (used at shutdown). */
void journal_wake(struct journal *j);
/* LSN up to which records are durable. */
uint64_t journal_durable_lsn(const struct journal *j);

#endif
