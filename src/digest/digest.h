/*
 * digest.h - the digest: journal records in, stored events out.
 *
 * DESIGN
 * Decoding (decompress, parse, normalize, fingerprint, compress the raw
 * payload) costs several times what writing costs, so it runs on a few
 * decode threads ahead of one store writer, as a pipeline of batch slots:
 *
 *   journal --read--> slot (seq k) --decode--> slot --write--> store
 *
 * One decode thread at a time reads the next journal batch into a free slot
 * and gives it the next sequence number, so slots partition the journal in
 * LSN order; the thread that read a batch decodes it, while another reads
 * the next one. The writer takes slots strictly by sequence number, so the
 * store sees the same batches in the same order as with one thread: it
 * classifies issue vs log by the project's issue level, hands the batch to
 * store_write_batch together with the LSN after its last record, and only
 * when the store has committed tells the journal to release the space
 * (journal_checkpoint). Decoding is a pure function of the record (event
 * ids included), so it does not matter which thread decoded what. The one
 * exception is grouping: a decode thread skips it for events its cached
 * issue level makes log lines (only issues need a fingerprint), and the
 * writer groups any issue that arrives ungrouped, with the same function
 * and the project's rules. So an issue's fingerprint never depends on which
 * cache said what, and a replay may differ only in the fingerprint of a log
 * line, which nothing reads. A batch
 * the store cannot write (disk full, locked) is retried with back-off,
 * never skipped: acknowledged means stored.
 *
 * A slot whose records yield more than max_events stops decoding there; the
 * writer stores that part, checkpoints after its last record and puts the
 * slot back to be decoded from there, ahead of every later slot.
 *
 * Stopping does not drain the journal: the writer finishes the batch in
 * hand, checkpoints it and exits; decoded but unwritten slots are dropped
 * and their records, still above the checkpoint, are digested after the
 * next start.
 *
 * The CPU work happens here rather than at the doors, so an error burst
 * costs the doors only an append.
 */
#ifndef BL_DIGEST_H
#define BL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ingest/ingest.h"
#include "journal/journal.h"
#include "store/store.h"

struct handoff;

struct digest_config {
    size_t max_records; /* journal records per batch */
    size_t max_bytes;   /* journal payload bytes per batch (each slot of the pipeline holds one) */
    size_t max_events;  /* stop adding records once a batch has this many events */
    int idle_ms;        /* wait for new records at most this long per poll */
    int threads;        /* decode threads; 0: one per online CPU */
    struct ingest_limits limits;
    /* retention runs in the writer thread, between batches (store.h retention_run) */
    int64_t retention_every_us; /* 0: never */
    int64_t disk_budget;        /* bytes; 0: none */
    struct handoff *handoff;    /* the doors' decompressed bodies (ingest/handoff.h), or NULL */
    /*
     * After a read that found records but under a quarter of max_bytes, the
     * next read waits until this many ms after it: a steady stream then comes
     * in batches of a few hundred events instead of dozens, and the writer's
     * fixed cost per batch (two commits, each with its fsync) is shared by
     * more. A record arriving after an idle moment is read at once.
     */
    int gather_ms;
};

#define DIGEST_CONFIG_DEFAULT                                                                      \
    ((struct digest_config){ 4096, 4u << 20, 40000, 200, 0, INGEST_LIMITS_DEFAULT, 0, 0, NULL, 50 })

struct digest_stats {
    uint64_t records;
    uint64_t events;
    uint64_t issue_events;
    uint64_t log_events;
    uint64_t duplicates;
    uint64_t new_issues;
    uint64_t regressions;
    uint64_t bad_records;
    uint64_t batches;
    uint64_t batch_events_sum;
    uint64_t batch_us_sum; /* time spent decoding and writing batches */
    uint64_t last_batch_events;
    uint64_t last_batch_us;
    uint64_t store_errors;
    uint64_t store_failing; /* 1 while the last write the store was asked for failed */
    uint64_t position;      /* LSN below which everything is stored */
    uint64_t retention_runs;
    uint64_t retention_days_dropped;
    uint64_t retention_bytes_freed;
    /*
     * Issue events the decode had not grouped (the project's issue level
     * changed between the decode's cache and the writer's): the writer
     * grouped them.
     */
    uint64_t writer_groupings;
    /* log blocks stored as the decode threads prepared them, and built by the writer */
    uint64_t log_blocks_prepared;
    uint64_t log_blocks_built;
    /* segments of word postings gathered on the decode threads, and by the writer */
    uint64_t log_posts_prepared;
    uint64_t log_posts_built;
    /* journal records whose door's decompressed copy was found, and bodies the digest inflated again */
    uint64_t handoff_taken;
    uint64_t handoff_missed;
};

struct digest;

/* Starts the decode threads and the writer at the journal's start (the store's checkpoint). */
int digest_start(struct digest **out, struct journal *j, struct store *st,
                 const struct digest_config *cfg, struct bl_err *err);

/*
 * Stops soon: the batch being written is finished and checkpointed, the
 * rest stays in the journal for the next start. Joins the threads and
 * frees d. Call after the doors are closed.
 */
void digest_stop(struct digest *d);

/* The ring of newest stored events that live tail follows (digest/tailring.h). */
struct tailring *digest_tail(struct digest *d);

/* A consistent-enough copy of the counters (each read atomically). */
void digest_get_stats(const struct digest *d, struct digest_stats *out);

#endif
