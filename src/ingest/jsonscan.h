/*
 * jsonscan.h - validate JSON and look at its top level without building a tree.
 *
 * The doors must answer 400 for malformed JSON and must know an event's id
 * before acknowledging, but they must stay cheap (design §2: doors do auth,
 * limits and append; the digest does the parsing). jsonscan walks a document
 * once, checks it is well-formed RFC 8259 JSON within the limits, and
 * reports each top-level member of an object to a callback as slices, with
 * no allocation. It is several times faster than building a cJSON tree.
 */
#ifndef BL_JSONSCAN_H
#define BL_JSONSCAN_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum jsonscan_type {
    JSONSCAN_NULL,
    JSONSCAN_FALSE,
    JSONSCAN_TRUE,
    JSONSCAN_NUMBER,
    JSONSCAN_STRING,
    JSONSCAN_ARRAY,
    JSONSCAN_OBJECT,
};

/*
 * Called for each top-level member. key is the raw bytes between the quotes
 * (escapes not decoded); value is the raw text of the value (for strings,
 * including the quotes). Return non-zero to stop early (the scan then still
 * validates nothing further and jsonscan returns 0).
 */
typedef int (*jsonscan_member_fn)(void *arg, struct slice key, int type, struct slice value);

/*
 * Validates p[0..len) as one JSON value (surrounding whitespace allowed)
 * nested at most max_depth deep (an object or array is one level; capped at
 * 4096). When the value is an object and fn is not NULL, fn is called for
 * each member. *top_type (may be NULL) gets the top value's type. Returns 0
 * or BL_EPARSE with err "invalid JSON at byte N: why" (N 0-based).
 *
 * Strict RFC 8259 (raw UTF-8 is validated too), plus two limits so that
 * whatever passes also parses with the digest's cJSON 1.7: numbers are at
 * most 63 characters and \u escapes must not be lone UTF-16 surrogates.
 */
int jsonscan(const char *p, size_t len, int max_depth, jsonscan_member_fn fn, void *arg,
             int *top_type, struct bl_err *err);

/*
 * Decodes a JSON string value slice (with its quotes, as given to the
 * callback) into out. Returns 0 or BL_EPARSE / BL_ETOOBIG.
 */
int jsonscan_unquote(struct slice value, struct buf *out);

#endif
