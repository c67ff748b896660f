/*
 * json.h - the JSON writer and checker of libbilor.
 *
 * libbilor writes its JSON itself (it may not touch cJSON's process-wide
 * hooks inside someone else's program). The writer appends to a struct
 * bc_buf; errors are the buffer's sticky error. Strings are escaped for
 * JSON and for one-record-per-line sinks (no raw control characters), and
 * invalid UTF-8 becomes U+FFFD, so the output is always valid JSON.
 */
#ifndef BC_JSON_H
#define BC_JSON_H

#include <stddef.h>

#include "client/buf.h"

#define BC_JSON_MAX_DEPTH 64

/* s[0..n) as a quoted JSON string. */
int bc_json_str(struct bc_buf *b, const char *s, size_t n);
/* At most max bytes of s, cut at a UTF-8 character boundary. */
int bc_json_str_cut(struct bc_buf *b, const char *s, size_t n, size_t max);
/* A C string; NULL is written as null. */
int bc_json_strz(struct bc_buf *b, const char *s);
/* `"key":`, preceded by a comma when *count > 0; increments *count. */
int bc_json_key(struct bc_buf *b, int *count, const char *key);
/* A number; NaN and infinities (not JSON) are written as null. */
int bc_json_double(struct bc_buf *b, double v);

/*
 * Checks that s[0..n) is one complete JSON text (RFC 8259, nesting at most
 * BC_JSON_MAX_DEPTH) and, when out is not NULL, appends it without
 * insignificant whitespace. Returns 0, BILOR_EINVAL, or out's error.
 */
int bc_json_check(const char *s, size_t n, struct bc_buf *out);

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the
 * bytes there are not one.
 */
size_t bc_utf8_seq(const unsigned char *s, size_t n);

#endif
