#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/keycache.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define KC_SLOTS 4096 /* power of two; the table is cleared when it fills */
#define KC_NEGATIVE_TTL_US (5 * CLOCK_US_PER_SEC)

struct kc_entry {
    char key[65];
    int64_t project_id; /* 0: known to be unknown */
    int64_t expires;    /* for negative entries */
};

struct keycache {
    struct store *store;
    pthread_rwlock_t lock;
    size_t used;
    struct kc_entry slots[KC_SLOTS];
};

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

static int kc_cached(struct keycache *kc, const char *key, int64_t *project_id, int64_t now)
{
    struct kc_entry *e;
    int rc = 1; /* not cached */

    pthread_rwlock_rdlock(&kc->lock);
    e = kc_find(kc, key);
    if (e != NULL && e->key[0] != '\0') {
        if (e->project_id > 0) {
            *project_id = e->project_id;
            rc = 0;
        } else if (e->expires > now) {
            rc = BL_ENOTFOUND;
        }
    }
    pthread_rwlock_unlock(&kc->lock);
    return rc;
}

static void kc_remember(struct keycache *kc, const char *key, int64_t project_id, int64_t now)
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
        e->project_id = project_id;
        e->expires = now + KC_NEGATIVE_TTL_US;
    }
    pthread_rwlock_unlock(&kc->lock);
}

int keycache_lookup(struct keycache *kc, const char *key, int64_t *project_id)
{
    int64_t now = clock_mono_us();
    int64_t pid = 0;
    int rc;

    if (strlen(key) > 64)
        return BL_ENOTFOUND;
    rc = kc_cached(kc, key, project_id, now);
    if (rc <= 0)
        return rc;
    rc = store_key_lookup(kc->store, key, &pid, NULL);
    if (rc < 0 && rc != BL_ENOTFOUND)
        return rc; /* store trouble: do not cache a negative answer */
    kc_remember(kc, key, rc == 0 ? pid : 0, now);
    if (rc < 0)
        return BL_ENOTFOUND;
    *project_id = pid;
    return 0;
}
