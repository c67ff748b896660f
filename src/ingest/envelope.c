/*
 * envelope.c - splitting a Sentry envelope into its items (protocols.md §1.5).
 *
 * DESIGN
 * One forward pass over the bytes with a cursor. Header lines are validated
 * with jsonscan, whose member callback picks out the few keys the grammar
 * needs (event_id and dsn in the envelope header, type and length in item
 * headers), so no JSON tree is built and payloads are never copied: they
 * stay slices of the caller's body.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ingest/envelope.h"
#include "ingest/jsonscan.h"
#include "core/banned.h"

#define ENVELOPE_FIRST_ITEMS 8

struct cursor {
    const char *p;
    size_t len;
    size_t pos;
};

/* The header members we care about, as raw JSON values (first occurrence wins). */
struct hdr_fields {
    const char *names[2];
    struct slice val[2];
    int type[2];
};

static int hdr_member(void *arg, struct slice key, int type, struct slice value)
{
    struct hdr_fields *h = arg;

    for (int i = 0; i < 2; i++) {
        if (h->val[i].p == NULL && slice_eq(key, h->names[i])) {
            h->val[i] = value;
            h->type[i] = type;
        }
    }
    return 0;
}

int envelope_event_id(const char *s, size_t len, char out[33])
{
    static const unsigned char dash_at[] = { 8, 13, 18, 23 };
    size_t n = 0, d = 0;

    if (len != 32 && len != 36)
        return BL_EPARSE;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (len == 36 && d < sizeof(dash_at) && i == dash_at[d]) {
            if (c != '-')
                return BL_EPARSE;
            d++;
            continue;
        }
        if (c >= 'A' && c <= 'F')
            c = (unsigned char)(c + ('a' - 'A'));
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return BL_EPARSE;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* A JSON string value without its quotes: a slice of the input, or a pool copy if escaped. */
static int unquote_slice(struct slice v, struct pool *pool, struct slice *out)
{
    struct buf tmp;
    int rc;

    /* Set on every path: callers test rc < 0, and GCC at -O2/-O3 cannot see rc is never > 0. */
    *out = SLICE_NULL;
    if (v.len < 2)
        return BL_EPARSE;
    if (memchr(v.p, '\\', v.len) == NULL) {
        out->p = v.p + 1;
        out->len = v.len - 2;
        return 0;
    }
    buf_init(&tmp, v.len);
    rc = jsonscan_unquote(v, &tmp);
    if (rc == 0) {
        out->p = pool_memdup(pool, tmp.p, tmp.len + 1);
        out->len = tmp.len;
    }
    buf_release(&tmp);
    return rc;
}

/* Takes the line at the cursor (without its "\n") and moves past the "\n". */
static int read_line(struct cursor *c, size_t max, struct slice *line)
{
    size_t left = c->len - c->pos;
    size_t look = left < max + 1 ? left : max + 1;
    const char *start = c->p + c->pos;
    const char *nl = memchr(start, '\n', look);

    if (nl == NULL && left > max)
        return BL_ETOOBIG;
    line->p = start;
    line->len = nl != NULL ? (size_t)(nl - start) : left;
    c->pos += line->len + (nl != NULL);
    return 0;
}

/* Reads and validates one header line; what names the line in messages. */
static int read_header(struct cursor *c, const struct envelope_limits *lim, const char *what,
                       struct slice *line, struct hdr_fields *h, struct bl_err *err)
{
    struct bl_err jerr;
    int type = JSONSCAN_NULL;

    if (read_line(c, lim->max_header, line) < 0)
        return bl_err_set(err, BL_ETOOBIG, "%s: header longer than %zu bytes", what,
                          lim->max_header);
    if (jsonscan(line->p, line->len, lim->max_depth, hdr_member, h, &type, &jerr) < 0)
        return bl_err_set(err, BL_EPARSE, "%s: %s", what, jerr.msg);
    if (type != JSONSCAN_OBJECT)
        return bl_err_set(err, BL_EPARSE, "%s: header is not a JSON object", what);
    return 0;
}

static int take_event_id(struct slice v, int type, struct pool *pool, struct envelope *out,
                         struct bl_err *err)
{
    struct slice s;

    if (v.p == NULL || type == JSONSCAN_NULL)
        return 0;
    if (type != JSONSCAN_STRING || unquote_slice(v, pool, &s) < 0 ||
        envelope_event_id(s.p, s.len, out->event_id) < 0)
        return bl_err_set(err, BL_EPARSE, "envelope header: invalid event_id");
    return 0;
}

static int take_dsn(struct slice v, int type, struct pool *pool, struct envelope *out,
                    struct bl_err *err)
{
    struct slice s;

    if (v.p == NULL || type == JSONSCAN_NULL)
        return 0;
    if (type != JSONSCAN_STRING || unquote_slice(v, pool, &s) < 0)
        return bl_err_set(err, BL_EPARSE, "envelope header: dsn is not a string");
    out->dsn.p = pool_strndup(pool, s.p, s.len);
    out->dsn.len = s.len;
    return 0;
}

static int parse_envelope_header(struct cursor *c, const struct envelope_limits *lim,
                                 struct pool *pool, struct envelope *out, struct bl_err *err)
{
    struct hdr_fields h = { { "event_id", "dsn" }, { SLICE_NULL, SLICE_NULL }, { 0, 0 } };
    int rc = read_header(c, lim, "envelope header", &out->header, &h, err);

    if (rc == 0)
        rc = take_event_id(h.val[0], h.type[0], pool, out, err);
    if (rc == 0)
        rc = take_dsn(h.val[1], h.type[1], pool, out, err);
    return rc;
}

/* "length": a JSON number that is a plain non-negative integer; -1 when absent or null. */
static int item_length(struct slice v, int type, size_t *len)
{
    size_t n = 0;

    if (v.p == NULL || type == JSONSCAN_NULL) {
        *len = (size_t)-1;
        return 0;
    }
    if (type != JSONSCAN_NUMBER || v.len == 0 || v.len > 19)
        return BL_EPARSE;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return BL_EPARSE;
        n = n * 10 + (size_t)(v.p[i] - '0');
    }
    *len = n;
    return 0;
}

static int item_payload(struct cursor *c, size_t length, size_t no, struct slice *payload,
                        struct bl_err *err)
{
    size_t left = c->len - c->pos;

    if (length == (size_t)-1)
        return read_line(c, (size_t)-2, payload);
    if (length > left)
        return bl_err_set(err, BL_EPARSE, "item %zu: length %zu runs past the end", no, length);
    payload->p = c->p + c->pos;
    payload->len = length;
    c->pos += length;
    if (c->pos < c->len && c->p[c->pos] != '\n')
        return bl_err_set(err, BL_EPARSE, "item %zu: payload not followed by a newline", no);
    c->pos += c->pos < c->len;
    return 0;
}

static int parse_item(struct cursor *c, const struct envelope_limits *lim, struct pool *pool,
                      struct envelope_item *item, size_t no, struct bl_err *err)
{
    struct hdr_fields h = { { "type", "length" }, { SLICE_NULL, SLICE_NULL }, { 0, 0 } };
    char what[32];
    size_t length;
    int rc;

    snprintf(what, sizeof(what), "item %zu", no);
    rc = read_header(c, lim, what, &item->header, &h, err);
    if (rc < 0)
        return rc;
    item->type = SLICE_LIT("");
    if (h.val[0].p != NULL && h.type[0] == JSONSCAN_STRING)
        rc = unquote_slice(h.val[0], pool, &item->type);
    else if (h.val[0].p != NULL && h.type[0] != JSONSCAN_NULL)
        rc = BL_EPARSE;
    if (rc < 0)
        return bl_err_set(err, BL_EPARSE, "item %zu: type is not a string", no);
    if (item_length(h.val[1], h.type[1], &length) < 0)
        return bl_err_set(err, BL_EPARSE, "item %zu: length is not a non-negative integer", no);
    return item_payload(c, length, no, &item->payload, err);
}

static struct envelope_item *push_item(struct envelope *out, size_t *cap, struct pool *pool)
{
    if (out->nitems == *cap) {
        size_t ncap = *cap ? *cap * 2 : ENVELOPE_FIRST_ITEMS;
        struct envelope_item *v = pool_alloc(pool, ncap * sizeof(*v));

        if (out->nitems > 0)
            memcpy(v, out->items, out->nitems * sizeof(*v));
        out->items = v;
        *cap = ncap;
    }
    return &out->items[out->nitems++];
}

/* Relay reads item headers with a streaming JSON parser: whitespace before them is fine. */
static void skip_blank(struct cursor *c)
{
    while (c->pos < c->len && (c->p[c->pos] == '\n' || c->p[c->pos] == '\r' ||
                               c->p[c->pos] == ' ' || c->p[c->pos] == '\t'))
        c->pos++;
}

int envelope_parse(const char *p, size_t len, const struct envelope_limits *lim, struct pool *pool,
                   struct envelope *out, struct bl_err *err)
{
    struct cursor c = { p, len, 0 };
    struct envelope_item *item;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    out->dsn = SLICE_LIT("");
    rc = parse_envelope_header(&c, lim, pool, out, err);
    while (rc == 0) {
        skip_blank(&c);
        if (c.pos == c.len)
            break;
        if (out->nitems == lim->max_items)
            return bl_err_set(err, BL_ETOOBIG, "more than %zu items", lim->max_items);
        item = push_item(out, &cap, pool);
        rc = parse_item(&c, lim, pool, item, out->nitems, err);
    }
    return rc;
}
