/*
 * pool.h - arena allocator for request- and batch-scoped memory.
 *
 * Everything that lives exactly as long as one HTTP request or one digest
 * batch is allocated from a pool and freed in one call (h2o's mem pool).
 * Allocations are 16-byte aligned; large ones get their own chunk.
 * Out of memory is fatal (server code). Not thread-safe: one owner.
 */
#ifndef BL_POOL_H
#define BL_POOL_H

#include <stdarg.h>
#include <stddef.h>

struct pool_chunk;

struct pool {
    struct pool_chunk *head;
    size_t chunk_size;
    size_t used; /* bytes handed out since the last reset */
};

#define POOL_INIT(chunk)                                                                           \
    {                                                                                              \
        NULL, (chunk), 0                                                                           \
    }

void pool_init(struct pool *p, size_t chunk_size);
void *pool_alloc(struct pool *p, size_t n);
void *pool_calloc(struct pool *p, size_t nmemb, size_t size);
char *pool_strndup(struct pool *p, const char *s, size_t n);
char *pool_strdup(struct pool *p, const char *s);
void *pool_memdup(struct pool *p, const void *s, size_t n);
char *pool_printf(struct pool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees everything but keeps one chunk for reuse. */
void pool_reset(struct pool *p);
/* Frees everything. */
void pool_release(struct pool *p);

#endif
