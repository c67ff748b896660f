/*
 * store_sqlite_text.c - the text the writer derives from an event for its
 * row: the tags as JSON (events.tags_json, and log lines' tags).
 */
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/* The bytes tags[0..n) take as JSON at most: ["k","v"] with every byte escaped to 6. */
static size_t tags_worst(const struct ev_tag *t, size_t n)
{
    size_t sum = 2;

    for (size_t i = 0; i < n; i++) {
        size_t kl = t[i].key != NULL ? strlen(t[i].key) : 0;
        size_t vl = t[i].value != NULL ? strlen(t[i].value) : 0;

        if (kl > SQ_TAGS_JSON_MAX || vl > SQ_TAGS_JSON_MAX)
            return SIZE_MAX;
        sum += 6 * (kl + vl) + 8;
        if (sum > SQ_TAGS_JSON_MAX)
            return SIZE_MAX;
    }
    return sum;
}

/*
 * Tags whose JSON certainly fits (all but pathological ones), written
 * straight into b after one grow (buf_put_json_str): the same bytes the
 * appends below make, at a tenth of the instructions (~3.3k of a bench
 * event's writer instructions went to the appends one piece at a time).
 */
static const char *tags_json_fast(struct buf *b, const struct event *e)
{
    char *q = b->p;

    *q++ = '[';
    for (size_t i = 0; i < e->ntags; i++) {
        const char *k = e->tags[i].key != NULL ? e->tags[i].key : "";
        const char *v = e->tags[i].value != NULL ? e->tags[i].value : "";

        if (i > 0)
            *q++ = ',';
        *q++ = '[';
        q = buf_put_json_str(q, k, strlen(k));
        *q++ = ',';
        q = buf_put_json_str(q, v, strlen(v));
        *q++ = ']';
    }
    *q++ = ']';
    *q = '\0';
    b->len = (size_t)(q - b->p);
    return b->p;
}

const char *sq_tags_json(struct buf *b, const struct event *e)
{
    size_t i, worst;
    int rc;

    if (e->ntags == 0 || e->tags == NULL)
        return NULL;
    worst = tags_worst(e->tags, e->ntags);
    buf_reset(b);
    if (worst != SIZE_MAX && buf_grow(b, worst) == 0)
        return tags_json_fast(b, e);
    rc = buf_addch(b, '[');
    for (i = 0; i < e->ntags && rc == 0; i++) {
        const char *k = e->tags[i].key != NULL ? e->tags[i].key : "";
        const char *v = e->tags[i].value != NULL ? e->tags[i].value : "";

        rc = buf_addstr(b, i == 0 ? "[" : ",[");
        if (rc == 0)
            rc = buf_add_json_str(b, k, strlen(k));
        if (rc == 0)
            rc = buf_addch(b, ',');
        if (rc == 0)
            rc = buf_add_json_str(b, v, strlen(v));
        if (rc == 0)
            rc = buf_addch(b, ']');
        if (rc == 0 && b->len > SQ_TAGS_JSON_MAX)
            rc = BL_ETOOBIG;
    }
    if (rc == 0)
        rc = buf_addch(b, ']');
    /* Tags past the cap are not worth a broken JSON document: keep none. */
    return rc == 0 ? b->p : NULL;
}
