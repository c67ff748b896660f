/*
 * api_seen.h - the environments and releases issues were seen in (private
 * to api/, api_seen.c): the issue listing's filters, the search language's
 * environment and release fields on issues, and the project listings.
 */
#ifndef BL_API_SEEN_H
#define BL_API_SEEN_H

#include "api/api.h"
#include "api/jw.h"
#include "search/query.h"

/*
 * The issue listing's filters: ?environment= and ?release= (repeatable,
 * exact names), and the conditions on environment and release at the
 * query's top level that the store decides exactly (ASCII values,
 * negations, has:), which leave the query: *query becomes what is left
 * (NULL when nothing). Sets q->seen and q->nseen; -1 after answering 400.
 */
int api_seen_filters(struct bl_req *req, struct bl_resp *resp, const struct query_node **query,
                     struct store_issue_query *q);

/*
 * An issue's environments or releases for query_match, most recent first,
 * loaded on first use (a query without those fields costs nothing).
 */
struct api_seen_cache {
    struct store *st;
    struct pool *pool;
    int64_t issue_id;
    int loaded[2];
    struct store_seen *v[2];
    size_t n[2];
    int failed; /* a store error: the answer must not pretend */
};
size_t api_seen_values(struct api_seen_cache *c, int kind, struct slice *vals, size_t max);

/* "environments" and "releases" of an issue (names, most recent first); -1 on a store error. */
int api_write_issue_seen(struct bl_req *req, struct jw *w, int64_t issue_id);

#endif
