/*
 * keycache.h - DSN public key -> project id, cached in memory.
 *
 * Every ingest request authenticates, so the lookup must not touch SQLite
 * each time. Known keys stay cached; unknown keys are remembered briefly
 * (so a client with a bad DSN cannot make every request a query) and then
 * looked up again, which is how a key added by the CLI starts working.
 * Thread-safe.
 */
#ifndef BL_KEYCACHE_H
#define BL_KEYCACHE_H

#include <stdint.h>

#include "store/store.h"

struct keycache;

struct keycache *keycache_new(struct store *st);
void keycache_free(struct keycache *kc);
/* 0 with *project_id, or BL_ENOTFOUND. */
int keycache_lookup(struct keycache *kc, const char *key, int64_t *project_id);

#endif
