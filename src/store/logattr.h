/*
 * logattr.h - a log line's "service" read from its stored JSON payload
 * (pure: no SQLite), for the blocks' fields blob (logblock.h).
 *
 * Why: "service" is not a column of the event model. The search language
 * reads it from the line's payload (api_search_doc.c: the first top-level
 * member whose name is "service" in any case, as a scalar, else the
 * event's "service" tags), so a facet on it re-parsed every line's JSON:
 * 286 ms for 24 hours of 10M lines. Coded in the fields blob like host, a
 * facet reads one byte a line.
 *
 * Only the plain case is read here: the payload is a JSON object whose
 * keys before the match hold no escapes, and the first "service" member
 * is a string without escapes. Anything else (a number, an escape, an
 * object, a payload that is not an object) is LA_OTHER, and readers take
 * the slow, exact path for that line (the payload through the reference
 * evaluator), so the fields blob never answers differently from it.
 */
#ifndef BL_LOGATTR_H
#define BL_LOGATTR_H

#include <stddef.h>

enum la_result {
    LA_NONE = 0,  /* no "service" member */
    LA_VALUE = 1, /* *v, *n: the member's string, as in the payload */
    LA_OTHER = -1 /* present or maybe present, but not plain: read the payload */
};

/* The "service" member of the JSON object json[0..len): an la_result. */
int la_service(const char *json, size_t len, const char **v, size_t *n);

#endif
