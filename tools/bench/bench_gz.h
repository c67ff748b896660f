/*
 * bench_gz.h - gzip bodies with a patchable 32-character slot.
 *
 * DESIGN
 * Every request must carry a fresh event id (the server may deduplicate by
 * id), yet gzip'ing 15,000 bodies a second would eat the core the server
 * needs. So each body is compressed once, at start-up, as three pieces of
 * one gzip member: the bytes before the slot as a normal deflate stream
 * ended by a sync flush (byte aligned), the 32 slot bytes as one stored
 * block (copied verbatim), and the rest as a second deflate stream. A
 * request copies the template, overwrites the stored bytes and recomputes
 * the CRC-32 from the three parts' CRCs with crc32_combine(). The second
 * stream has no preset dictionary, so no back-reference can point into the
 * slot and see the old id.
 */
#ifndef BENCH_GZ_H
#define BENCH_GZ_H

#include <stddef.h>
#include <stdint.h>

#define BGZ_SLOT 32
#define BGZ_NO_SLOT ((size_t)-1)

struct bgz_tmpl {
    unsigned char *gz; /* the whole gzip member, owned */
    size_t len;
    size_t raw_len; /* uncompressed size */
    size_t slot_gz; /* offset of the slot in gz, BGZ_NO_SLOT if none */
    unsigned long crc_pre;
    unsigned long crc_suf;
    size_t suf_len;
};

/*
 * Compresses raw[0..len) at level; slot_at is the offset of a 32-byte slot
 * in raw (its bytes are kept as given) or BGZ_NO_SLOT. 0 or -1 (zlib error).
 */
int bgz_build(struct bgz_tmpl *t, const char *raw, size_t len, size_t slot_at, int level);

/*
 * Writes id (32 bytes) into dst, a copy of t->gz, and fixes the trailer's
 * CRC. Does nothing to dst when the template has no slot.
 */
void bgz_patch(unsigned char *dst, const struct bgz_tmpl *t, const char *id);

void bgz_release(struct bgz_tmpl *t);

/* Inflates a gzip member into a malloc'd buffer (for the self-test). */
int bgz_inflate(const unsigned char *gz, size_t len, char **out, size_t *out_len);

#endif
