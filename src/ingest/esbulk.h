/*
 * esbulk.h - the Elasticsearch _bulk body as log shippers send it
 * (protocols.md §5.1-5.2): NDJSON pairs of an action line and a source line.
 *
 * DESIGN
 * The door must answer per item, in order, in Elasticsearch's shape, so
 * esbulk_parse() splits the body into items and judges each one: index and
 * create with a source line that is a JSON object are stored; a source line
 * that is not JSON is that item's 400 (mapper_parsing_exception), the others
 * still go in; update and delete are refused per item (a log store does not
 * edit). Only a broken action line makes the whole request a 400, as in
 * Elasticsearch ("Malformed action/metadata line"), because after it the
 * pairing of the remaining lines is unknown. Lenient where shippers are
 * sloppy: CRLF line ends, blank lines between pairs, no final newline.
 */
#ifndef BL_ESBULK_H
#define BL_ESBULK_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"

enum esbulk_action { ESB_INDEX = 0, ESB_CREATE, ESB_UPDATE, ESB_DELETE };

struct esbulk_item {
    int action;         /* enum esbulk_action */
    struct slice index; /* from the action line, unquoted; empty: the URL's index applies */
    struct slice id;    /* the client's _id, unquoted, or empty */
    struct slice doc;   /* the source line as sent (index, create) */
    int status;         /* 0: to be stored; else the item's HTTP status (400) */
    const char *error_type;
    const char *reason;
};

struct esbulk_items {
    struct esbulk_item *v; /* from the pool */
    size_t n;
    size_t good; /* items with status 0 */
};

struct esbulk_limits {
    size_t max_items; /* actions per request */
    size_t max_line;  /* bytes per line */
    int max_depth;    /* JSON nesting of a source document */
};

/* "index", "create", "update", "delete". */
const char *esbulk_action_name(int action);

/*
 * Splits and judges body. Returns 0, or BL_EPARSE (a malformed action line:
 * err says which line) or BL_ETOOBIG (too many items).
 */
int esbulk_parse(const char *body, size_t len, const struct esbulk_limits *lim, struct pool *pool,
                 struct esbulk_items *out, struct bl_err *err);

/*
 * The answer Elasticsearch gives, compact (Vector looks for the literal
 * "errors":true): ids[i] is the id reported for a stored item i (NULL to
 * report the client's). default_index names items that had none.
 */
int esbulk_response(const struct esbulk_items *items, const char *const *ids,
                    const char *default_index, int64_t took_ms, struct buf *out);

#endif
