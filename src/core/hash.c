#include <string.h>

#include <sodium.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/banned.h"

_Static_assert(sizeof(struct hash_ctx) >= sizeof(crypto_generichash_state),
               "hash_ctx too small for libsodium's state");

/* The seed of hash_table: random per process, so no client can aim words at one slot. */
static uint64_t table_seed;

int hash_global_init(void)
{
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(&table_seed, sizeof(table_seed));
    return 0;
}

void hash_begin(struct hash_ctx *h)
{
    crypto_generichash_init((crypto_generichash_state *)h->state, NULL, 0, 16);
}

void hash_update(struct hash_ctx *h, const void *p, size_t len)
{
    crypto_generichash_update((crypto_generichash_state *)h->state, p, len);
}

/* The two hex digits of every byte: one copy per byte (every log line's id is hex). */
static const char hex_pairs[513] = "000102030405060708090a0b0c0d0e0f"
                                   "101112131415161718191a1b1c1d1e1f"
                                   "202122232425262728292a2b2c2d2e2f"
                                   "303132333435363738393a3b3c3d3e3f"
                                   "404142434445464748494a4b4c4d4e4f"
                                   "505152535455565758595a5b5c5d5e5f"
                                   "606162636465666768696a6b6c6d6e6f"
                                   "707172737475767778797a7b7c7d7e7f"
                                   "808182838485868788898a8b8c8d8e8f"
                                   "909192939495969798999a9b9c9d9e9f"
                                   "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
                                   "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                                   "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
                                   "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                                   "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
                                   "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void hex_encode(const void *p, size_t n, char *out)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * b[i], 2);
    out[2 * n] = '\0';
}

void hash_final_hex(struct hash_ctx *h, char out[33])
{
    unsigned char d[16];

    crypto_generichash_final((crypto_generichash_state *)h->state, d, sizeof(d));
    hex_encode(d, sizeof(d), out);
}

void hash_bytes128(const void *p, size_t len, unsigned char out[16])
{
    crypto_generichash(out, 16, p, len, NULL, 0);
}

void hash_hex128(const void *p, size_t len, char out[33])
{
    unsigned char d[16];

    hash_bytes128(p, len, d);
    hex_encode(d, sizeof(d), out);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return h ^ (h >> 33);
}

/*
 * The last 1-7 bytes of a key as one word, without a memcpy of a variable
 * length (a libc call per word of every log line). Two overlapping loads
 * give the same bytes twice at the same places, so or-ing them is exact.
 */
static uint64_t tail_word(const unsigned char *b, size_t len)
{
    if (len >= 4) {
        uint32_t lo, hi;

        memcpy(&lo, b, 4);
        memcpy(&hi, b + len - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << (8 * (len - 4));
    }
    return (uint64_t)b[0] | (uint64_t)b[len / 2] << (8 * (len / 2)) |
           (uint64_t)b[len - 1] << (8 * (len - 1));
}

uint64_t hash_table(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = table_seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));

    for (; len >= 8; b += 8, len -= 8) {
        uint64_t w;

        memcpy(&w, b, 8);
        h = mix(h ^ w);
    }
    if (len > 0)
        h = mix(h ^ tail_word(b, len) ^ ((uint64_t)len << 56));
    return mix(h);
}

uint64_t hash64(const void *p, size_t len)
{
    unsigned char d[8];
    uint64_t v = 0;

    crypto_generichash(d, sizeof(d), p, len, NULL, 0);
    for (int i = 0; i < 8; i++)
        v = (v << 8) | d[i];
    return v;
}

void rand_hex(char *out, size_t nbytes)
{
    unsigned char b[64];

    while (nbytes > 0) {
        size_t n = nbytes < sizeof(b) ? nbytes : sizeof(b);

        randombytes_buf(b, n);
        hex_encode(b, n, out);
        out += 2 * n;
        nbytes -= n;
    }
}
