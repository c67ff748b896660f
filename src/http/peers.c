#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "http/peers.h"
#include "core/banned.h"

struct peer {
    struct peer_key key;
    unsigned conns;
    size_t bytes;
    int used;
};

struct peers {
    pthread_mutex_t mu;
    struct peer *slot;
    size_t mask; /* slots - 1, a power of two minus one */
    size_t used;
    size_t max_entries;
    unsigned max_conns;
    size_t max_bytes;
};

void peer_key_of(const struct sockaddr *sa, struct peer_key *k)
{
    memset(k, 0, sizeof(*k));
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

        k->b[10] = 0xff;
        k->b[11] = 0xff;
        memcpy(&k->b[12], &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memcpy(k->b, &in6->sin6_addr, 16); /* a dual-stack IPv4 client: whole address */
        else
            memcpy(k->b, &in6->sin6_addr, 8); /* the /64 */
    }
}

struct peers *peers_new(size_t max_entries, unsigned max_conns, size_t max_bytes)
{
    struct peers *p = xcalloc(1, sizeof(*p));
    size_t n = 16;

    while (n < max_entries * 2)
        n *= 2; /* at most half full: short probe runs */
    pthread_mutex_init(&p->mu, NULL);
    p->slot = xcalloc(n, sizeof(*p->slot));
    p->mask = n - 1;
    p->max_entries = max_entries;
    p->max_conns = max_conns;
    p->max_bytes = max_bytes;
    return p;
}

void peers_free(struct peers *p)
{
    if (p == NULL)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p->slot);
    free(p);
}

/* FNV-1a over the 16 key bytes. */
static size_t key_hash(const struct peer_key *k)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < sizeof(k->b); i++)
        h = (h ^ k->b[i]) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

/* The entry of k, created when create is set and there is room; NULL otherwise. */
static struct peer *lookup(struct peers *p, const struct peer_key *k, int create)
{
    size_t i = key_hash(k) & p->mask;

    while (p->slot[i].used) {
        if (memcmp(p->slot[i].key.b, k->b, sizeof(k->b)) == 0)
            return &p->slot[i];
        i = (i + 1) & p->mask;
    }
    if (!create || p->used >= p->max_entries)
        return NULL;
    p->slot[i] = (struct peer){ .key = *k, .used = 1 };
    p->used++;
    return &p->slot[i];
}

/* Frees e once it holds nothing: backward-shift deletion keeps probe runs whole. */
static void release_if_empty(struct peers *p, struct peer *e)
{
    size_t i = (size_t)(e - p->slot), j = i;

    if (e->conns > 0 || e->bytes > 0)
        return;
    p->slot[i].used = 0;
    p->used--;
    for (;;) {
        size_t home;

        j = (j + 1) & p->mask;
        if (!p->slot[j].used)
            return;
        home = key_hash(&p->slot[j].key) & p->mask;
        /* slot j may move to the hole at i unless its home lies in (i, j] */
        if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
            continue;
        p->slot[i] = p->slot[j];
        p->slot[j].used = 0;
        i = j;
    }
}

int peers_conn_full(struct peers *p, const struct peer_key *k)
{
    struct peer *e;
    int full;

    if (p->max_conns == 0)
        return 0;
    pthread_mutex_lock(&p->mu);
    e = lookup(p, k, 0);
    full = e != NULL && e->conns >= p->max_conns;
    pthread_mutex_unlock(&p->mu);
    return full;
}

int peers_conn_open(struct peers *p, const struct peer_key *k)
{
    struct peer *e;
    int rc = -1;

    pthread_mutex_lock(&p->mu);
    e = lookup(p, k, 1);
    if (e != NULL && (p->max_conns == 0 || e->conns < p->max_conns)) {
        e->conns++;
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void peers_conn_close(struct peers *p, const struct peer_key *k)
{
    struct peer *e;

    pthread_mutex_lock(&p->mu);
    e = lookup(p, k, 0);
    if (e != NULL && e->conns > 0) {
        e->conns--;
        release_if_empty(p, e);
    }
    pthread_mutex_unlock(&p->mu);
}

int peers_take(struct peers *p, const struct peer_key *k, size_t n)
{
    struct peer *e;
    int rc = -1;

    pthread_mutex_lock(&p->mu);
    e = lookup(p, k, 1);
    if (e != NULL && (p->max_bytes == 0 || (n <= p->max_bytes && e->bytes <= p->max_bytes - n))) {
        e->bytes += n;
        rc = 0;
    } else if (e != NULL) {
        release_if_empty(p, e); /* created just now for nothing */
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void peers_give(struct peers *p, const struct peer_key *k, size_t n)
{
    struct peer *e;

    pthread_mutex_lock(&p->mu);
    e = lookup(p, k, 0);
    if (e != NULL) {
        e->bytes -= n < e->bytes ? n : e->bytes;
        release_if_empty(p, e);
    }
    pthread_mutex_unlock(&p->mu);
}
