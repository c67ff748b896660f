/*
 * keycache.h - DSN public key -> project id, cached in memory.
 *
 * Every ingest request authenticates, so the lookup must not touch SQLite
 * each time. But a key deactivated in the store must stop working soon
 * (a leaked DSN is revoked to stop the traffic), so a cached "valid" is
 * trusted only for a while:
 *
 *   age < KEYCACHE_REFRESH_US   answered from memory;
 *   age < KEYCACHE_TRUST_US     answered from memory, and the first request
 *                               to see it re-asks the store (one query per
 *                               key per refresh period, not per request);
 *   older                       the request asks the store itself.
 *
 * So a revoked key is refused at most KEYCACHE_TRUST_US (1 s) after the
 * store says so, and a busy key costs about two queries a second. Unknown
 * keys are remembered for KEYCACHE_NEGATIVE_US (so a client with a bad DSN
 * cannot make every request a query) and then looked up again, which is
 * how a key added by the CLI starts working. Thread-safe.
 */
#ifndef BL_KEYCACHE_H
#define BL_KEYCACHE_H

#include <stdint.h>

#include "core/clock.h"
#include "store/store.h"

#define KEYCACHE_REFRESH_US (CLOCK_US_PER_SEC / 2)
#define KEYCACHE_TRUST_US CLOCK_US_PER_SEC
#define KEYCACHE_NEGATIVE_US (5 * CLOCK_US_PER_SEC)

struct keycache;

struct keycache *keycache_new(struct store *st);
void keycache_free(struct keycache *kc);
/*
 * 0 with *project_id; BL_ENOTFOUND for an unknown or revoked key; another
 * negative code when the store could not answer and the cache may no longer
 * vouch for the key.
 */
int keycache_lookup(struct keycache *kc, const char *key, int64_t *project_id);
/* The same with the key's id and limits and its project's quota (store_key_info). */
int keycache_info(struct keycache *kc, const char *key, struct store_key_info *out);
/* Store queries made so far (for tests and /metrics). */
uint64_t keycache_queries(const struct keycache *kc);

#endif
