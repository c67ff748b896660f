/*
 * jw.h - the one JSON writer of the API: compact JSON straight into a buf.
 *
 * DESIGN
 * Every REST answer is written member by member from the store's rows and
 * the event model, never built as a tree and printed, never printed and
 * parsed back. Errors are sticky (the first failing append is kept in rc and
 * every later call does nothing), so a handler writes a whole document and
 * checks once, in jw_end() or aj_send(). The only tree printed is a client's
 * own free-form value (contexts, frame vars, attributes), through jw_cjson.
 *
 * Keys are C strings escaped on the way out; NULL keys are for array
 * elements. Nesting is capped at JW_MAX_DEPTH (deeper opens fail with
 * BL_EINVAL rather than writing broken JSON).
 */
#ifndef BL_JW_H
#define BL_JW_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"

#define JW_MAX_DEPTH 16

struct jw {
    struct buf *b;
    int rc;    /* 0, or the first error */
    int depth; /* open containers */
    unsigned char first[JW_MAX_DEPTH + 1];
};

/* Starts writing at the end of b. */
void jw_init(struct jw *w, struct buf *b);
/* The sticky error: 0 when every append succeeded and every container was closed. */
int jw_end(const struct jw *w);

void jw_obj(struct jw *w, const char *key);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);

/* A string, or null when s is NULL. */
void jw_str(struct jw *w, const char *key, const char *s);
/* A string; the member is left out when s is NULL. */
void jw_str_opt(struct jw *w, const char *key, const char *s);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_null(struct jw *w, const char *key);
/* true/false, or null when v < 0 (unknown). */
void jw_tri(struct jw *w, const char *key, int v);
/* RFC 3339 text of us (µs since the epoch), or null when us is 0. */
void jw_time(struct jw *w, const char *key, int64_t us);
/* A client's value as it was parsed, or null when v is NULL. */
void jw_cjson(struct jw *w, const char *key, const cJSON *v);
/* Text that is already one valid JSON value (the caller vouches for it). */
void jw_raw(struct jw *w, const char *key, const char *json, size_t len);

#endif
