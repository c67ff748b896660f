/*
 * buf.h - growable, capped byte buffer of libbilor, with a sticky error.
 *
 * Appends past max or a failed allocation set b->err (BILOR_ETOOBIG or
 * BILOR_ENOMEM) once; every later append is then a no-op that returns the
 * same error, so a writer can check only at the end (SQLite's StrAccum
 * does the same). Memory comes from the client's allocator. The contents
 * are NUL-terminated whenever p is not NULL.
 */
#ifndef BC_BUF_H
#define BC_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "bilor/bilor.h"

struct bc_buf {
    char *p; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* bytes of content allowed */
    const struct bilor_allocator *a;
    int err; /* 0, BILOR_ENOMEM or BILOR_ETOOBIG */
};

/* The default allocator (malloc/realloc/free). */
extern const struct bilor_allocator bc_default_alloc;

void *bc_malloc(const struct bilor_allocator *a, size_t n);
void *bc_realloc(const struct bilor_allocator *a, void *p, size_t n);
void bc_free(const struct bilor_allocator *a, void *p);
/* A copy of s (NULL stays NULL, *out NULL); 0 or BILOR_ENOMEM. */
int bc_strdup(const struct bilor_allocator *a, const char *s, char **out);

void bc_buf_init(struct bc_buf *b, const struct bilor_allocator *a, size_t max);
int bc_buf_add(struct bc_buf *b, const void *p, size_t n);
int bc_buf_adds(struct bc_buf *b, const char *s);
int bc_buf_addc(struct bc_buf *b, char c);
int bc_buf_addf(struct bc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bc_buf_vaddf(struct bc_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The contents as a C string ("" when empty). */
const char *bc_buf_str(const struct bc_buf *b);
/* Hands the memory to the caller (free with bc_free()); b is empty afterwards. */
char *bc_buf_detach(struct bc_buf *b, size_t *len);
void bc_buf_release(struct bc_buf *b);

#endif
