/*
 * handoff.c - the door's decompressed copies for the digest (handoff.h).
 *
 * A fixed table of buckets of a few entries each, indexed by a cheap hash
 * of the compressed body's length and its first and last bytes (for gzip
 * the last eight are the content's CRC-32 and size), and a list of the
 * entries from oldest to newest for eviction. The hash needs no strength:
 * a match is confirmed by comparing the bytes, and a bucket never holds
 * more than BUCKET_WAYS entries, so colliding bodies cost a few compares.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/handoff.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define NBUCKETS 16384u
#define BUCKET_WAYS 4
#define KEY_BYTES 16 /* hashed from each end of the body */

struct handoff_copy {
    struct handoff_copy *older, *newer;
    uint64_t key;
    int64_t put_us; /* when the door offered it */
    int protocol, encoding;
    size_t len, text_len;
    char data[]; /* the body, then the text and a NUL */
};

struct handoff {
    pthread_mutex_t mu;
    struct handoff_copy *slot[NBUCKETS][BUCKET_WAYS];
    struct handoff_copy *oldest, *newest;
    size_t bytes, max_bytes;
    int64_t stale_us;
    unsigned long long taken, missed;
};

struct handoff *handoff_new(size_t max_bytes, int64_t stale_us)
{
    struct handoff *h;

    if (max_bytes == 0)
        return NULL;
    h = xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    h->max_bytes = max_bytes;
    h->stale_us = stale_us;
    return h;
}

void handoff_free(struct handoff *h)
{
    struct handoff_copy *c, *next;

    if (h == NULL)
        return;
    for (c = h->oldest; c != NULL; c = next) {
        next = c->newer;
        free(c);
    }
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* FNV-1a over the length and the body's first and last KEY_BYTES. */
static uint64_t key_of(const void *body, size_t len)
{
    const unsigned char *p = body;
    uint64_t k = 14695981039346656037ull;
    size_t head = len < KEY_BYTES ? len : KEY_BYTES;
    size_t tail = len - head < KEY_BYTES ? len - head : KEY_BYTES;

    for (size_t i = 0; i < sizeof(len); i++)
        k = (k ^ ((len >> (8 * i)) & 0xff)) * 1099511628211ull;
    for (size_t i = 0; i < head; i++)
        k = (k ^ p[i]) * 1099511628211ull;
    for (size_t i = len - tail; i < len; i++)
        k = (k ^ p[i]) * 1099511628211ull;
    return k;
}

static size_t copy_bytes(const struct handoff_copy *c)
{
    return sizeof(*c) + c->len + c->text_len + 1;
}

/* Takes c out of its bucket and of the age list. Called with mu held. */
static void unlink_copy(struct handoff *h, struct handoff_copy *c)
{
    struct handoff_copy **b = h->slot[c->key % NBUCKETS];

    for (int i = 0; i < BUCKET_WAYS; i++)
        if (b[i] == c)
            b[i] = NULL;
    if (c->older != NULL)
        c->older->newer = c->newer;
    else
        h->oldest = c->newer;
    if (c->newer != NULL)
        c->newer->older = c->older;
    else
        h->newest = c->older;
    h->bytes -= copy_bytes(c);
}

/*
 * Room for need bytes, evicting only stale copies. When the table is full of
 * fresh ones the new copy is the one dropped, not the oldest: the digest takes
 * copies oldest first, so evicting those while it lags by more than the table
 * holds would make every copy miss; dropping the newest keeps the share that
 * fits. Called with mu held.
 */
static int make_room(struct handoff *h, size_t need, int64_t now)
{
    while (h->oldest != NULL && h->bytes + need > h->max_bytes &&
           now - h->oldest->put_us >= h->stale_us) {
        struct handoff_copy *old = h->oldest;

        unlink_copy(h, old);
        free(old);
    }
    return h->bytes + need <= h->max_bytes;
}

/* The free way of b, or -1. Called with mu held. */
static int free_way(struct handoff_copy **b)
{
    for (int i = 0; i < BUCKET_WAYS; i++)
        if (b[i] == NULL)
            return i;
    return -1;
}

/* Whether a copy of need bytes for bucket b would be kept now. */
static int would_keep(struct handoff *h, struct handoff_copy **b, size_t need, int64_t now)
{
    int ok;

    pthread_mutex_lock(&h->mu);
    ok = free_way(b) >= 0 && make_room(h, need, now);
    pthread_mutex_unlock(&h->mu);
    return ok;
}

void handoff_put(struct handoff *h, int protocol, int encoding, const void *body, size_t len,
                 const char *text, size_t text_len)
{
    struct handoff_copy *c, **b;
    size_t need = sizeof(*c) + len + text_len + 1;
    uint64_t key;
    int64_t now;
    int way;

    /* One copy may take a sixteenth of the table: bursts of small events fill it, not one body. */
    if (h == NULL || len == 0 || need > h->max_bytes / 16)
        return;
    key = key_of(body, len);
    now = clock_mono_us();
    b = h->slot[key % NBUCKETS];
    /* A full table is when the digest lags: no copy is made only to be dropped. */
    if (!would_keep(h, b, need, now))
        return;
    c = xmalloc(need);
    c->key = key;
    c->put_us = now;
    c->protocol = protocol;
    c->encoding = encoding;
    c->len = len;
    c->text_len = text_len;
    memcpy(c->data, body, len);
    memcpy(c->data + len, text, text_len);
    c->data[len + text_len] = '\0';
    pthread_mutex_lock(&h->mu);
    way = free_way(b);
    if (way >= 0 && make_room(h, need, now)) { /* another door may have filled it meanwhile */
        b[way] = c;
        c->older = h->newest;
        c->newer = NULL;
        if (h->newest != NULL)
            h->newest->newer = c;
        else
            h->oldest = c;
        h->newest = c;
        h->bytes += need;
        c = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    free(c);
}

struct handoff_copy *handoff_take(struct handoff *h, int protocol, int encoding, const void *body,
                                  size_t len, struct slice *text)
{
    struct handoff_copy *found = NULL, **b;
    uint64_t key;

    if (h == NULL || len == 0)
        return NULL;
    key = key_of(body, len);
    b = h->slot[key % NBUCKETS];
    pthread_mutex_lock(&h->mu);
    for (int i = 0; i < BUCKET_WAYS && found == NULL; i++) {
        struct handoff_copy *c = b[i];

        if (c != NULL && c->key == key && c->len == len && c->protocol == protocol &&
            c->encoding == encoding && memcmp(c->data, body, len) == 0)
            found = c;
    }
    if (found != NULL) {
        unlink_copy(h, found);
        h->taken++;
    } else {
        h->missed++;
    }
    pthread_mutex_unlock(&h->mu);
    if (found != NULL) {
        text->p = found->data + found->len;
        text->len = found->text_len;
    }
    return found;
}

void handoff_release(struct handoff_copy *c)
{
    free(c);
}

void handoff_counts(struct handoff *h, unsigned long long *taken, unsigned long long *missed)
{
    *taken = *missed = 0;
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    *taken = h->taken;
    *missed = h->missed;
    pthread_mutex_unlock(&h->mu);
}
