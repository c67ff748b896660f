/* buf.c - the capped buffer and the allocator wrappers of libbilor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/buf.h"
#include "core/banned.h"

static void *std_malloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}

static void *std_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return realloc(p, n);
}

static void std_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

const struct bilor_allocator bc_default_alloc = { std_malloc, std_realloc, std_free, NULL };

void *bc_malloc(const struct bilor_allocator *a, size_t n)
{
    return a->malloc_fn(n == 0 ? 1 : n, a->ud);
}

void *bc_realloc(const struct bilor_allocator *a, void *p, size_t n)
{
    return a->realloc_fn(p, n == 0 ? 1 : n, a->ud);
}

void bc_free(const struct bilor_allocator *a, void *p)
{
    if (p != NULL)
        a->free_fn(p, a->ud);
}

int bc_strdup(const struct bilor_allocator *a, const char *s, char **out)
{
    size_t n;

    *out = NULL;
    if (s == NULL)
        return 0;
    n = strlen(s);
    *out = bc_malloc(a, n + 1);
    if (*out == NULL)
        return BILOR_ENOMEM;
    memcpy(*out, s, n + 1);
    return 0;
}

void bc_buf_init(struct bc_buf *b, const struct bilor_allocator *a, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->a = a;
    b->err = 0;
}

/* Room for n more bytes plus the NUL; sets the sticky error on failure. */
static int buf_grow(struct bc_buf *b, size_t n)
{
    size_t want, cap;
    char *p;

    if (b->err != 0)
        return b->err;
    if (n > b->max || b->len > b->max - n) {
        b->err = BILOR_ETOOBIG;
        return b->err;
    }
    want = b->len + n + 1;
    if (want <= b->cap)
        return 0;
    cap = b->cap < 64 ? 64 : b->cap;
    while (cap < want)
        cap = cap > ((size_t)-1) / 2 ? want : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1 > want ? b->max + 1 : want;
    p = bc_realloc(b->a, b->p, cap);
    if (p == NULL) {
        b->err = BILOR_ENOMEM;
        return b->err;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int bc_buf_add(struct bc_buf *b, const void *p, size_t n)
{
    int rc = buf_grow(b, n);

    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int bc_buf_adds(struct bc_buf *b, const char *s)
{
    return bc_buf_add(b, s, strlen(s));
}

int bc_buf_addc(struct bc_buf *b, char c)
{
    return bc_buf_add(b, &c, 1);
}

int bc_buf_vaddf(struct bc_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list cp;
    int n;
    int rc;

    if (b->err != 0)
        return b->err;
    va_copy(cp, ap);
    n = vsnprintf(small, sizeof(small), fmt, cp);
    va_end(cp);
    if (n < 0)
        return BILOR_EINVAL;
    if ((size_t)n < sizeof(small))
        return bc_buf_add(b, small, (size_t)n);
    rc = buf_grow(b, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int bc_buf_addf(struct bc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = bc_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *bc_buf_str(const struct bc_buf *b)
{
    return b->p != NULL ? b->p : "";
}

char *bc_buf_detach(struct bc_buf *b, size_t *len)
{
    char *p = b->p;

    if (len != NULL)
        *len = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void bc_buf_release(struct bc_buf *b)
{
    bc_free(b->a, b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}
