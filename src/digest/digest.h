/*
 * digest.h - the digest: journal records in, stored events out.
 *
 * DESIGN
 * One thread reads durable journal records in LSN order, in batches,
 * decodes each into normalized, fingerprinted events (ingest_decode),
 * decides issue vs log by the project's issue level, and hands the batch to
 * store_write_batch together with the LSN after its last record. Only when
 * the store has committed does it tell the journal to release the space
 * (journal_checkpoint). A batch the store cannot write (disk full, locked)
 * is retried with back-off, never skipped: acknowledged means stored.
 *
 * The CPU work (decompress, parse, normalize, hash) happens here rather
 * than at the doors, so an error burst costs the doors only an append.
 */
#ifndef BL_DIGEST_H
#define BL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ingest/ingest.h"
#include "journal/journal.h"
#include "store/store.h"

struct digest_config {
    size_t max_records;  /* journal records per batch */
    size_t max_bytes;    /* journal payload bytes per batch */
    size_t max_events;   /* stop adding records once a batch has this many events */
    int idle_ms;         /* wait for new records at most this long per poll */
    struct ingest_limits limits;
};

#define DIGEST_CONFIG_DEFAULT \
    ((struct digest_config){ 4096, 4u << 20, 20000, 200, INGEST_LIMITS_DEFAULT })

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
    uint64_t batch_us_sum;   /* wall time of decode + write */
    uint64_t last_batch_events;
    uint64_t last_batch_us;
    uint64_t store_errors;
    uint64_t position;       /* LSN below which everything is stored */
};

struct digest;

/* Starts the digest thread at the store's checkpoint. */
int digest_start(struct digest **out, struct journal *j, struct store *st,
                 const struct digest_config *cfg, struct bl_err *err);

/*
 * Digests everything that is durable in the journal, then stops the thread
 * and frees d. Call after the doors are closed so nothing new arrives.
 */
void digest_stop(struct digest *d);

/* A consistent-enough copy of the counters (each read atomically). */
void digest_get_stats(const struct digest *d, struct digest_stats *out);

#endif
