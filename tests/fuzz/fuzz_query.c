/*
 * fuzz_query.c - the search language's parser, printer and evaluator on
 * arbitrary text, for every target. Checks that an error points inside the
 * text, and that a tree that parsed can be evaluated and printed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/pool.h"
#include "search/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t get(const void *doc, const char *field, struct slice *vals, size_t max)
{
    const struct slice *text = doc;

    (void)field;
    if (max == 0)
        return 0;
    vals[0] = *text;
    return 1;
}

static void one(const char *q, size_t len, int target)
{
    struct pool pool = POOL_INIT(4096);
    struct buf out = BUF_INIT(1 << 20);
    struct query_node *n = NULL;
    struct query_error err;
    struct slice doc = { q, len };

    if (query_parse(q, len, target, &pool, &n, &err) != 0) {
        if (err.pos > len || err.msg[0] == '\0')
            abort();
    } else {
        query_match(n, get, &doc, 0);
        if (query_print(n, &out) != 0)
            abort();
    }
    buf_release(&out);
    pool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one((const char *)data, size, QUERY_LOGS);
    one((const char *)data, size, QUERY_EVENTS);
    one((const char *)data, size, QUERY_ISSUES);
    return 0;
}
