/*
 * hash.h - content hashes (BLAKE2b through libsodium) and random ids.
 *
 * Fingerprints, template hashes and token digests all go through here so
 * that one algorithm is used everywhere and can be named in the store.
 */
#ifndef BL_HASH_H
#define BL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Incremental 128-bit hash whose hex form is a fingerprint. */
struct hash_ctx {
    _Alignas(64) unsigned char state[384];
};

void hash_begin(struct hash_ctx *h);
void hash_update(struct hash_ctx *h, const void *p, size_t len);
/* Writes 32 lowercase hex chars + NUL. */
void hash_final_hex(struct hash_ctx *h, char out[33]);

/* One-shot 128-bit hash as 32 hex chars, and its 16 bytes (hex_encode makes the former). */
void hash_hex128(const void *p, size_t len, char out[33]);
void hash_bytes128(const void *p, size_t len, unsigned char out[16]);
/* One-shot 64-bit hash (template hashes, sharding). */
uint64_t hash64(const void *p, size_t len);

/*
 * A seeded 64-bit hash for in-memory hash tables (8 bytes at a time through
 * a murmur3 finalizer, from a seed made at start-up): a few cycles per
 * short key where SipHash took a tenth of the word postings' time, and the
 * random seed keeps clients from aiming their words at one slot. Not stable
 * across runs: never store it.
 */
uint64_t hash_table(const void *p, size_t len);

/* n random bytes as 2n lowercase hex chars + NUL (event ids, keys, tokens). */
void rand_hex(char *out, size_t nbytes);

/* Writes the 2n hex chars of p[0..n) + NUL. */
void hex_encode(const void *p, size_t n, char *out);

/* Must be called once before any other function here (sodium_init). */
int hash_global_init(void);

#endif
