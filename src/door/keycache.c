/*
 * keycache.c - the DSN key cache (keycache.h).
 *
 * DESIGN
 * An open-addressing table under a read-write lock: lookups share the read
 * lock, only a store answer takes the write lock. Which request re-asks the
 * store when an entry ages past KEYCACHE_REFRESH_US is decided by an atomic
 * flag on the entry, so a thousand requests a second for one key still make
 * one query per refresh period while the others keep answering from memory.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "door/keycache.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define KC_SLOTS 4096 /* power of two; the table is cleared when half full */
#define KC_KEY_MAX 64

struct kc_entry {
    char key[KC_KEY_MAX + 1];
    struct store_key_info info; /* project_id 0: known to be unknown */
    int64_t checked_at;         /* monotonic µs of the store answer */
    _Atomic int refreshing;     /* a request is re-asking the store */
};

struct keycache {
    struct store *store;
    pthread_rwlock_t lock;
    size_t used;
    _Atomic uint64_t queries;
    struct kc_entry slots[KC_SLOTS];
};

/* What the cache can say without the store. */
enum kc_state { KC_HIT, KC_HIT_REFRESH, KC_NEGATIVE, KC_MISS };

struct keycache *keycache_new(struct store *st)
{
    struct keycache *kc = xcalloc(1, sizeof(*kc));

    kc->store = st;
    pthread_rwlock_init(&kc->lock, NULL);
    return kc;
}

void keycache_free(struct keycache *kc)
{
    if (kc == NULL)
        return;
    pthread_rwlock_destroy(&kc->lock);
    free(kc);
}

uint64_t keycache_queries(const struct keycache *kc)
{
    return atomic_load_explicit(&kc->queries, memory_order_relaxed);
}

/* Slot holding key, or the empty slot where it would go (linear probing). */
static struct kc_entry *kc_find(struct keycache *kc, const char *key)
{
    size_t i = (size_t)hash64(key, strlen(key)) & (KC_SLOTS - 1);

    for (size_t n = 0; n < KC_SLOTS; n++, i = (i + 1) & (KC_SLOTS - 1)) {
        struct kc_entry *e = &kc->slots[i];

        if (e->key[0] == '\0' || strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

/* A positive entry past the refresh age: the first request to claim it re-asks the store. */
static enum kc_state kc_positive(struct kc_entry *e, int64_t age)
{
    if (age < KEYCACHE_REFRESH_US)
        return KC_HIT;
    if (age >= KEYCACHE_TRUST_US)
        return KC_MISS;
    if (atomic_exchange_explicit(&e->refreshing, 1, memory_order_relaxed) == 0)
        return KC_HIT_REFRESH;
    return KC_HIT;
}

static enum kc_state kc_cached(struct keycache *kc, const char *key, struct store_key_info *info,
                               int64_t now)
{
    enum kc_state st = KC_MISS;
    struct kc_entry *e;

    pthread_rwlock_rdlock(&kc->lock);
    e = kc_find(kc, key);
    if (e != NULL && e->key[0] != '\0') {
        int64_t age = now - e->checked_at;

        if (e->info.project_id > 0) {
            st = kc_positive(e, age);
            *info = e->info;
        } else if (age < KEYCACHE_NEGATIVE_US) {
            st = KC_NEGATIVE;
        }
    }
    pthread_rwlock_unlock(&kc->lock);
    return st;
}

/* Records a store answer (project_id 0: unknown or revoked). */
static void kc_remember(struct keycache *kc, const char *key, const struct store_key_info *info,
                        int64_t now)
{
    struct kc_entry *e;

    pthread_rwlock_wrlock(&kc->lock);
    if (kc->used >= KC_SLOTS / 2) {
        memset(kc->slots, 0, sizeof(kc->slots));
        kc->used = 0;
    }
    e = kc_find(kc, key);
    if (e != NULL) {
        if (e->key[0] == '\0') {
            kc->used++;
            memcpy(e->key, key, strlen(key) + 1);
        }
        e->info = *info;
        e->checked_at = now;
        atomic_store_explicit(&e->refreshing, 0, memory_order_relaxed);
    }
    pthread_rwlock_unlock(&kc->lock);
}

/* A refresh that failed: let the next request past the refresh age try again. */
static void kc_unclaim(struct keycache *kc, const char *key)
{
    struct kc_entry *e;

    pthread_rwlock_rdlock(&kc->lock);
    e = kc_find(kc, key);
    if (e != NULL && e->key[0] != '\0')
        atomic_store_explicit(&e->refreshing, 0, memory_order_relaxed);
    pthread_rwlock_unlock(&kc->lock);
}

/* Asks the store and caches its answer (not a failure: the store may recover). */
static int kc_query(struct keycache *kc, const char *key, struct store_key_info *out, int64_t now)
{
    struct store_key_info info;
    int rc;

    memset(&info, 0, sizeof(info));
    atomic_fetch_add_explicit(&kc->queries, 1, memory_order_relaxed);
    rc = store_key_info(kc->store, key, &info, NULL);
    if (rc < 0 && rc != BL_ENOTFOUND)
        return rc;
    if (rc < 0)
        memset(&info, 0, sizeof(info));
    kc_remember(kc, key, &info, now);
    if (rc < 0)
        return BL_ENOTFOUND;
    *out = info;
    return 0;
}

int keycache_lookup(struct keycache *kc, const char *key, int64_t *project_id)
{
    struct store_key_info info;
    int rc = keycache_info(kc, key, &info);

    if (rc == 0)
        *project_id = info.project_id;
    return rc;
}

int keycache_info(struct keycache *kc, const char *key, struct store_key_info *out)
{
    struct store_key_info cached;
    int64_t now = clock_mono_us();
    int rc;

    if (key[0] == '\0' || strlen(key) > KC_KEY_MAX)
        return BL_ENOTFOUND;
    memset(&cached, 0, sizeof(cached));
    switch (kc_cached(kc, key, &cached, now)) {
    case KC_HIT:
        *out = cached;
        return 0;
    case KC_NEGATIVE:
        return BL_ENOTFOUND;
    case KC_HIT_REFRESH:
        /* Still trusted: a store hiccup during the refresh does not refuse the key. */
        rc = kc_query(kc, key, out, now);
        if (rc < 0 && rc != BL_ENOTFOUND) {
            kc_unclaim(kc, key);
            *out = cached;
            return 0;
        }
        return rc;
    case KC_MISS:
    default:
        return kc_query(kc, key, out, now);
    }
}
