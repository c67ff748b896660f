/*
 * gelf_chunk.h - reassembly of chunked GELF datagrams (protocols.md §3.2).
 *
 * DESIGN
 * A chunk is 1e 0f | message id (8 bytes) | sequence number | sequence
 * count | data. Chunks arrive out of order and duplicated; a set is keyed by
 * (sender, message id), must complete within GELF_CHUNK_TTL_US of its first
 * chunk, and has at most GELF_MAX_CHUNKS chunks. Everything is bounded: a
 * fixed number of sets in flight and a byte budget over all of them, so a
 * sender spraying first chunks evicts only the oldest incomplete sets (and
 * every eviction, expiry and refusal is counted) instead of growing memory.
 * One listener thread owns a reassembler; it is not thread-safe.
 */
#ifndef BL_GELF_CHUNK_H
#define BL_GELF_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define GELF_MAX_CHUNKS 128
#define GELF_CHUNK_TTL_US (5 * 1000000LL)

struct gelf_chunk_stats {
    uint64_t completed; /* messages reassembled */
    uint64_t expired;   /* incomplete sets dropped after the TTL */
    uint64_t evicted;   /* incomplete sets dropped to make room */
    uint64_t invalid;   /* chunks refused: count 0 or > 128, seq >= count, count changed */
    uint64_t duplicate; /* chunks seen twice (ignored) */
};

struct gelf_reasm;

/* max_sets sets in flight, max_bytes of chunk data held over all of them. */
struct gelf_reasm *gelf_reasm_new(size_t max_sets, size_t max_bytes);
void gelf_reasm_free(struct gelf_reasm *r);

/* True when the datagram is a chunk (starts with 1e 0f). */
int gelf_is_chunk(const void *p, size_t len);

/*
 * Adds one chunk from sender peer (any stable id of the address and port).
 * Returns 1 when it completed a message, whose bytes (still compressed, if
 * the sender compressed before chunking) are then in out; 0 when the set is
 * still incomplete or the chunk was a duplicate; BL_EPARSE for an invalid
 * chunk; BL_ETOOBIG when the message would exceed out's cap.
 */
int gelf_reasm_add(struct gelf_reasm *r, uint64_t peer, const void *p, size_t len, int64_t now_us,
                   struct buf *out);

/* Drops sets older than the TTL; returns how many. Call it about once a second. */
size_t gelf_reasm_expire(struct gelf_reasm *r, int64_t now_us);

void gelf_reasm_stats(const struct gelf_reasm *r, struct gelf_chunk_stats *out);

#endif
