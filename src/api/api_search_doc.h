/*
 * api_search_doc.h - a stored event as the search language sees it.
 *
 * The store lowers what it can of a query to its own language and asks
 * api_search_match() about the rows it cannot decide alone (store.h,
 * store_event_query.match). This is where a row becomes a query_match()
 * document: its columns, and what only its raw payload holds (attributes of
 * a log line, exceptions, frames, user, tags) by running the same
 * normalizer the digest ran. Live tail filters new events with the same
 * document, so every path answers exactly as query_match does.
 */
#ifndef BL_API_SEARCH_DOC_H
#define BL_API_SEARCH_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/event.h"
#include "core/pool.h"
#include "ingest/ingest.h"
#include "store/store.h"

struct query_node;

/* What the match callback needs; arg of store_event_query.match. */
struct api_match {
    const struct query_node *query;
    const struct ingest_limits *limits;
    int64_t now_us;
};

/* store_match_fn: 1 when row (with its raw payload) matches m->query, 0 if not, -1 on error. */
int api_search_match(void *m, const struct store_event *row);

/* A row made into a document; api_search_doc_get is its query_get_fn. */
struct api_doc {
    const struct store_event *row;
    /*
     * Rebuilt from the raw payload (zero when there is none) on the first
     * field that needs it (api_search_doc.c: doc_ev): a log line's
     * attributes, "service" among them, are read from obj alone, and the
     * normalizer was a sixth of a service facet over 100k lines.
     */
    struct event ev;
    int normalized;
    const struct ingest_limits *lim;
    void *obj;         /* cJSON: the client's object, or NULL */
    struct pool *pool; /* scratch for values made on demand */
};

int api_doc_init(struct api_doc *d, const struct store_event *row, const struct ingest_limits *lim,
                 struct pool *pool);
void api_doc_free(struct api_doc *d);
size_t api_search_doc_get(const void *doc, const char *field, struct slice *vals, size_t max);

#endif
