#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "core/banned.h"

char buf_empty[1];

int slice_eq(struct slice s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

int slice_eqi(struct slice s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && (n == 0 || strncasecmp(s.p, lit, n) == 0);
}

struct slice slice_from(const char *s)
{
    struct slice r = { s, s ? strlen(s) : 0 };

    return r;
}

struct slice slice_trim(struct slice s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r' || s.p[0] == '\n')) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
                         s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
        s.len--;
    return s;
}

void buf_init(struct buf *b, size_t max)
{
    b->p = buf_empty;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_release(struct buf *b)
{
    if (b->cap > 0)
        free(b->p);
    buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->cap > 0)
        b->p[0] = '\0';
}

int buf_grow(struct buf *b, size_t extra)
{
    size_t want, ncap;

    if (extra > b->max || b->len > b->max - extra)
        return BL_ETOOBIG;
    want = b->len + extra + 1;
    if (want <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < want)
        ncap = ncap > ((size_t)-1) / 2 ? want : ncap * 2;
    if (b->cap == 0) {
        b->p = xmalloc(ncap);
        b->p[0] = '\0';
    } else {
        b->p = xrealloc(b->p, ncap);
    }
    b->cap = ncap;
    return 0;
}

int buf_add(struct buf *b, const void *p, size_t len)
{
    int rc = buf_grow(b, len);

    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, int c)
{
    char ch = (char)c;

    return buf_add(b, &ch, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;
    int rc;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return BL_EINVAL;
    rc = buf_grow(b, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* The escape of one byte that JSON strings may not hold as is, written at q (2 or 6 bytes); its end. */
static char *escape_put(char *q, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";

    *q++ = '\\';
    switch (c) {
    case '"':
    case '\\':
        *q++ = (char)c;
        return q;
    case '\n':
        *q++ = 'n';
        return q;
    case '\t':
        *q++ = 't';
        return q;
    case '\r':
        *q++ = 'r';
        return q;
    default:
        memcpy(q, "u00", 3);
        q[3] = hex[c >> 4];
        q[4] = hex[c & 15];
        return q + 5;
    }
}

static int json_escape(struct buf *b, unsigned char c)
{
    char esc[6];

    return buf_add(b, esc, (size_t)(escape_put(esc, c) - esc));
}

char *buf_put_json_str(char *q, const char *s, size_t len)
{
    *q++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\')
            *q++ = (char)c;
        else
            q = escape_put(q, c);
    }
    *q++ = '"';
    return q;
}

int buf_add_json_str(struct buf *b, const char *s, size_t len)
{
    size_t i, run = 0;
    int rc = buf_addch(b, '"');

    /* Runs of plain bytes are copied whole; the test per byte is all the loop does. */
    for (i = 0; rc == 0 && i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = buf_add(b, s + run, i - run);
        run = i + 1;
        if (rc == 0)
            rc = json_escape(b, c);
    }
    /* len - run can be 0 with s NULL (an empty slice): no pointer arithmetic then. */
    if (rc == 0 && len > run)
        rc = buf_add(b, s + run, len - run);
    if (rc == 0)
        rc = buf_addch(b, '"');
    return rc;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p;

    if (len != NULL)
        *len = b->len;
    if (b->cap == 0) {
        p = xstrndup(b->p, b->len);
    } else {
        p = b->p;
    }
    buf_init(b, b->max);
    return p;
}
