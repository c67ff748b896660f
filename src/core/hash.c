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

void hex_encode(const void *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void hash_final_hex(struct hash_ctx *h, char out[33])
{
    unsigned char d[16];

    crypto_generichash_final((crypto_generichash_state *)h->state, d, sizeof(d));
    hex_encode(d, sizeof(d), out);
}

void hash_hex128(const void *p, size_t len, char out[33])
{
    unsigned char d[16];

    crypto_generichash(d, sizeof(d), p, len, NULL, 0);
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

uint64_t hash_table(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = table_seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));

    for (; len >= 8; b += 8, len -= 8) {
        uint64_t w;

        memcpy(&w, b, 8);
        h = mix(h ^ w);
    }
    if (len > 0) {
        uint64_t w = 0;

        memcpy(&w, b, len);
        h = mix(h ^ w ^ ((uint64_t)len << 56));
    }
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
