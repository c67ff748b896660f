#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/xmalloc.h"
#include "core/banned.h"

struct pool_chunk {
    struct pool_chunk *next;
    size_t size;
    size_t off;
    _Alignas(16) unsigned char data[];
};

void pool_init(struct pool *p, size_t chunk_size)
{
    p->head = NULL;
    p->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
    p->used = 0;
}

static struct pool_chunk *chunk_new(size_t size, struct pool_chunk *next)
{
    struct pool_chunk *c = xmalloc(sizeof(*c) + size);

    c->next = next;
    c->size = size;
    c->off = 0;
    return c;
}

void *pool_alloc(struct pool *p, size_t n)
{
    struct pool_chunk *c = p->head;
    size_t need = (n + 15) & ~(size_t)15;

    if (need < n)
        need = n; /* overflow: let xmalloc fail on the huge size */
    p->used += need;
    if (need > p->chunk_size / 4) {
        /* A big block gets its own chunk behind the current one, so the
         * free space of the current chunk stays usable. */
        struct pool_chunk *big = chunk_new(need, NULL);

        if (c == NULL) {
            p->head = big;
        } else {
            big->next = c->next;
            c->next = big;
        }
        big->off = need;
        return big->data;
    }
    if (c == NULL || c->size - c->off < need) {
        c = chunk_new(p->chunk_size, p->head);
        p->head = c;
    }
    c->off += need;
    return c->data + c->off - need;
}

void *pool_calloc(struct pool *p, size_t nmemb, size_t size)
{
    void *q;

    if (size != 0 && nmemb > SIZE_MAX / size)
        nmemb = SIZE_MAX / size; /* absurd request: fail in xmalloc */
    q = pool_alloc(p, nmemb * size);
    memset(q, 0, nmemb * size);
    return q;
}

char *pool_strndup(struct pool *p, const char *s, size_t n)
{
    char *q = pool_alloc(p, n + 1);

    if (n > 0)
        memcpy(q, s, n);
    q[n] = '\0';
    return q;
}

char *pool_strdup(struct pool *p, const char *s)
{
    return pool_strndup(p, s, strlen(s));
}

void *pool_memdup(struct pool *p, const void *s, size_t n)
{
    void *q = pool_alloc(p, n);

    if (n > 0)
        memcpy(q, s, n);
    return q;
}

char *pool_printf(struct pool *p, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *q;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pool_strdup(p, "");
    q = pool_alloc(p, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(q, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return q;
}

void pool_reset(struct pool *p)
{
    struct pool_chunk *keep = NULL;

    while (p->head != NULL) {
        struct pool_chunk *c = p->head;

        p->head = c->next;
        if (keep == NULL && c->size == p->chunk_size) {
            keep = c;
            continue;
        }
        free(c);
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->off = 0;
    }
    p->head = keep;
    p->used = 0;
}

void pool_release(struct pool *p)
{
    pool_reset(p);
    free(p->head);
    p->head = NULL;
}
