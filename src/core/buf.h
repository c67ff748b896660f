/*
 * buf.h - growable byte buffers with a hard size cap, and read-only slices.
 *
 * Invariants of struct buf (after buf_init or BUF_INIT):
 *   - b->p is never NULL and always NUL-terminated (b->p[b->len] == 0);
 *   - b->len never exceeds b->max; an append that would pass it fails with
 *     BL_ETOOBIG and leaves the buffer unchanged (curl's dynbuf rule), so a
 *     parser can never be talked into unbounded growth;
 *   - memory is owned by the buffer until buf_release() or buf_detach().
 * Allocation failure is fatal (server code, see xmalloc.h).
 */
#ifndef BL_BUF_H
#define BL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct slice {
    const char *p;
    size_t len;
};

#define SLICE_LIT(s) ((struct slice){ (s), sizeof(s) - 1 })
#define SLICE_NULL ((struct slice){ NULL, 0 })

/* Case-sensitive and case-insensitive comparisons with a C string. */
int slice_eq(struct slice s, const char *lit);
int slice_eqi(struct slice s, const char *lit);
struct slice slice_from(const char *s);
struct slice slice_trim(struct slice s);

extern char buf_empty[1];

struct buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
};

#define BUF_INIT(maxsz)                                                                            \
    {                                                                                              \
        buf_empty, 0, 0, (maxsz)                                                                   \
    }

void buf_init(struct buf *b, size_t max);
/* Frees the contents; the buffer is again a valid empty buffer. */
void buf_release(struct buf *b);
/* Empties the buffer but keeps its memory for reuse. */
void buf_reset(struct buf *b);
/* Makes room for extra more bytes; BL_ETOOBIG past the cap. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *p, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, int c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal, quotes included, escaping as needed. */
int buf_add_json_str(struct buf *b, const char *s, size_t len);
/*
 * The same literal written at q, which the caller has made room for
 * (6 * len + 2 bytes at most); returns its end. For writers that size a
 * whole document once instead of appending piece by piece.
 */
char *buf_put_json_str(char *q, const char *s, size_t len);
/*
 * Hands the heap memory to the caller (free() it), leaves b empty. Returns a
 * heap string even when the buffer never allocated.
 */
char *buf_detach(struct buf *b, size_t *len);

#endif
