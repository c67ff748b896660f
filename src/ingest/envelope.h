/*
 * envelope.h - the Sentry envelope format (protocols.md §1.5).
 *
 * envelope = header-line *( "\n" item ) [ "\n" ]; item = item-header "\n"
 * payload. With a "length" the payload is exactly that many bytes and must be
 * followed by "\n" or the end; without one it runs to the next "\n" (python
 * always sends lengths, JavaScript never; JavaScript sends no final
 * newline). Whitespace (blank lines included) before an item header is
 * tolerated, as Relay's streaming reader does. A header's "event_id" must be
 * a valid id (or null); "type" and "length" must be a string and a plain
 * non-negative integer when present and not null.
 * Unknown item types are returned like any other: skipping is the caller's
 * choice.
 */
#ifndef BL_ENVELOPE_H
#define BL_ENVELOPE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"

struct envelope_limits {
    size_t max_items;  /* e.g. 1000 */
    size_t max_header; /* bytes of one header line, e.g. 64 KiB */
    int max_depth;     /* JSON nesting in headers */
};

#define ENVELOPE_LIMITS_DEFAULT ((struct envelope_limits){ 1000, 65536, 32 })

struct envelope_item {
    struct slice header; /* the item header JSON line */
    struct slice type;   /* value of "type", unquoted (empty if missing) */
    struct slice payload;
};

struct envelope {
    struct slice header;         /* the envelope header JSON line */
    char event_id[33];           /* header "event_id", lowercased, dashes removed; "" if absent */
    struct slice dsn;            /* header "dsn" unquoted (pool copy), empty if absent */
    struct envelope_item *items; /* from the pool */
    size_t nitems;
};

/*
 * Parses p[0..len). Slices point into p (except dsn, copied to pool); the
 * items array comes from pool. Returns 0 or BL_EPARSE / BL_ETOOBIG with err
 * saying what is wrong ("item 2: length 500 runs past the end").
 */
int envelope_parse(const char *p, size_t len, const struct envelope_limits *lim, struct pool *pool,
                   struct envelope *out, struct bl_err *err);

/*
 * Normalizes an event id as clients send it (32 hex digits, or a dashed
 * UUID, any case) to 32 lowercase hex digits in out. Returns 0 or BL_EPARSE
 * (out is then unspecified).
 */
int envelope_event_id(const char *s, size_t len, char out[33]);

#endif
