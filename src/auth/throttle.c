#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/throttle.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define BUCKET 8 /* slots probed per key */

struct slot {
    uint64_t key; /* hash64 of the key; 0 = free */
    unsigned failures;
    int64_t last_failure;
    int64_t locked_until;
};

struct throttle {
    pthread_mutex_t mu;
    struct slot *slots;
    size_t n; /* a multiple of BUCKET */
    unsigned limit;
    int64_t window, base;
};

struct throttle *throttle_new(size_t slots, unsigned limit, int64_t window, int64_t base)
{
    struct throttle *t = xcalloc(1, sizeof(*t));

    t->n = slots < BUCKET ? BUCKET : slots - slots % BUCKET;
    t->slots = xcalloc(t->n, sizeof(*t->slots));
    t->limit = limit;
    t->window = window;
    t->base = base;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void throttle_free(struct throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

static uint64_t key_of(const char *key)
{
    uint64_t h = hash64(key, strlen(key));

    return h != 0 ? h : 1;
}

/* key's slot, or NULL; with create, a free or the stalest slot of its bucket. */
static struct slot *find(struct throttle *t, uint64_t k, int64_t now, int create)
{
    struct slot *b = &t->slots[(k % (t->n / BUCKET)) * BUCKET], *victim = &b[0];

    for (size_t i = 0; i < BUCKET; i++) {
        if (b[i].key == k)
            return &b[i];
    }
    if (!create)
        return NULL;
    for (size_t i = 0; i < BUCKET; i++) {
        /* A forgotten or expired entry is as good as free. */
        if (b[i].key == 0 || now - b[i].last_failure > t->window) {
            victim = &b[i];
            break;
        }
        if (b[i].last_failure < victim->last_failure)
            victim = &b[i];
    }
    memset(victim, 0, sizeof(*victim));
    victim->key = k;
    return victim;
}

int64_t throttle_wait(struct throttle *t, const char *key, int64_t now)
{
    struct slot *s;
    int64_t wait = 0;

    pthread_mutex_lock(&t->mu);
    s = find(t, key_of(key), now, 0);
    if (s != NULL && s->locked_until > now)
        wait = s->locked_until - now;
    pthread_mutex_unlock(&t->mu);
    return wait;
}

void throttle_fail(struct throttle *t, const char *key, int64_t now)
{
    struct slot *s;

    pthread_mutex_lock(&t->mu);
    s = find(t, key_of(key), now, 1);
    if (s->failures > 0 && now - s->last_failure > t->window)
        s->failures = 0; /* a quiet window forgets */
    s->failures++;
    s->last_failure = now;
    if (s->failures >= t->limit) {
        unsigned shift = s->failures - t->limit;
        int64_t lock = shift >= 20 ? t->window : t->base << shift;

        s->locked_until = now + (lock < t->window ? lock : t->window);
    }
    pthread_mutex_unlock(&t->mu);
}

void throttle_clear(struct throttle *t, const char *key)
{
    struct slot *s;

    pthread_mutex_lock(&t->mu);
    s = find(t, key_of(key), 0, 0);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&t->mu);
}
