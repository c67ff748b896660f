/* query_int.h - shared between the files of the query module only. */
#ifndef BL_QUERY_INT_H
#define BL_QUERY_INT_H

#include "search/query.h"

#define QUERY_MAX_FIELD 128 /* bytes in a field name */

struct query_field {
    const char *name;  /* canonical; for a family, its prefix ("tags.") */
    const char *alias; /* another spelling, or NULL */
    int type;          /* enum query_type */
    int targets;       /* enum query_target bits */
};

/*
 * Looks up field name p/n for target. Returns the row and sets *canon to the
 * canonical name (from pool for families), or NULL with *why saying what
 * was expected instead.
 */
const struct query_field *query__field(const char *p, size_t n, int target, const char **canon,
                                       struct pool *pool, const char **why);

/* Parses v's text by type (levels, numbers, times); 0, or -1 with *why. */
int query__value(struct query_value *v, int type, const char **why);

#endif
