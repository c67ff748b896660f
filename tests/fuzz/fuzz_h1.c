/*
 * fuzz_h1.c - the HTTP/1.1 head parser, chunked decoder and query reader
 * (http/h1.h) on arbitrary bytes.
 *
 * The input is a head, tried with a few max_head values. Checked: H1_OK
 * means h.len <= len and max_head, every slice inside the head, the target
 * split into path and query, every prefix of the head PARTIAL and more bytes
 * after it changing nothing; H1_PARTIAL means no empty line ends a line in
 * what was looked at; H1_BAD a known status. What follows the head (all of
 * the input when there is none) is a chunked body, fed in one piece and in
 * two cut where the input's first bytes say: both must agree on the result,
 * the bytes used and the output. The query, and the input itself as a query,
 * go through the query reader, whose strings must stay within their bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/pool.h"
#include "http/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *base; /* the input being checked */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void check_in(struct slice s, size_t end)
{
    if (s.p == NULL) {
        if (s.len != 0)
            abort();
        return;
    }
    if (s.p < base || s.p > base + end || s.len > (size_t)(base + end - s.p))
        abort();
}

static void check_ok(const struct h1_head *h, size_t len, size_t max)
{
    if (h->len > len || h->len > max || h->nheaders > H1_MAX_HEADERS)
        abort();
    if (h->minor != 0 && h->minor != 1)
        abort();
    if (h->method.len == 0 || h->target.len == 0 || h->target.p[0] != '/')
        abort();
    if (h->path.p != h->target.p || h->path.len > h->target.len)
        abort();
    if (h->query.p != NULL && h->query.p != h->path.p + h->path.len + 1)
        abort();
    if (h->query.p == NULL ? h->path.len != h->target.len
                           : h->path.len + 1 + h->query.len != h->target.len)
        abort();
    check_in(h->method, h->len);
    check_in(h->target, h->len);
    check_in(h->query, h->len);
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct h1_header *f = &h->headers[i];

        check_in(f->name, h->len);
        check_in(f->value, h->len);
        if (f->name.len == 0 || f->value.p == NULL)
            abort();
        if (f->value.len > 0 && (is_ows(f->value.p[0]) || is_ows(f->value.p[f->value.len - 1])))
            abort();
    }
}

/* No line in d[0..n) is followed by an empty one: a head would have ended there. */
static void check_no_head_end(const char *d, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (d[i] == '\n' &&
            (d[i + 1] == '\n' || (i + 2 < n && d[i + 1] == '\r' && d[i + 2] == '\n')))
            abort();
}

/* Parses each prefix of a head that parsed: all PARTIAL (at most 64 of them, spread out). */
static void check_prefixes(const char *d, size_t hlen, size_t max)
{
    static struct h1_head h;
    size_t step = hlen / 64 + 1;
    int status;

    for (size_t k = 0; k < hlen; k += step) {
        char *copy = malloc(k > 0 ? k : 1); /* exactly k bytes: a read past them is seen */

        if (copy == NULL)
            return;
        memcpy(copy, d, k);
        if (h1_parse_head(copy, k, max, &h, &status, NULL) != H1_PARTIAL || status != 0)
            abort();
        free(copy);
    }
}

static void check_head(const char *d, size_t size, size_t max, size_t *body)
{
    static struct h1_head h, again;
    struct bl_err err = { 0 };
    int status = -1, rc = h1_parse_head(d, size, max, &h, &status, &err);

    if (rc == H1_OK) {
        check_ok(&h, size, max);
        check_prefixes(d, h.len, max);
        if (h1_parse_head(d, h.len, max, &again, &status, NULL) != H1_OK || again.len != h.len ||
            again.nheaders != h.nheaders)
            abort();
        *body = h.len;
    } else if (rc == H1_PARTIAL) {
        if (status != 0 || size >= max)
            abort();
        check_no_head_end(d, size);
    } else if (rc == H1_BAD) {
        if ((status != 400 && status != 414 && status != 431 && status != 505) ||
            err.msg[0] == '\0' || err.code >= 0)
            abort();
    } else {
        abort();
    }
}

struct chunk_run {
    int rc, status;
    size_t used;
    struct buf out;
};

static void feed(const char *in, size_t len, size_t cut, size_t max, struct chunk_run *r)
{
    struct h1_chunked c;
    size_t used;

    buf_init(&r->out, max);
    h1_chunked_init(&c);
    r->rc = h1_chunked_feed(&c, in, cut, &r->used, &r->out, &r->status, NULL);
    if (r->used > cut || (r->rc == H1_PARTIAL && r->used != cut))
        abort();
    if (r->rc == H1_PARTIAL) {
        r->rc = h1_chunked_feed(&c, in + cut, len - cut, &used, &r->out, &r->status, NULL);
        if (used > len - cut || (r->rc == H1_PARTIAL && used != len - cut))
            abort();
        r->used += used;
    }
    if (r->out.len > max)
        abort();
}

static void check_chunked(const char *in, size_t len, const uint8_t *data, size_t size)
{
    size_t max = size > 2 ? (size_t)data[2] * 4 : 1 << 20;
    size_t cut = size > 1 ? ((size_t)data[0] << 8 | data[1]) % (len + 1) : len / 2;
    struct chunk_run one, two;

    feed(in, len, len, max, &one);
    feed(in, len, cut, max, &two);
    if (one.rc != two.rc || one.used != two.used || one.status != two.status ||
        one.out.len != two.out.len || memcmp(one.out.p, two.out.p, one.out.len) != 0)
        abort();
    if (one.rc == H1_BAD && one.status != 400 && one.status != 413)
        abort();
    buf_release(&one.out);
    buf_release(&two.out);
}

struct query_run {
    size_t limit, n, stop;
};

static int on_arg(void *arg, const char *name, const char *value)
{
    struct query_run *q = arg;

    if (strlen(name) > q->limit || strlen(value) > q->limit)
        abort();
    return ++q->n == q->stop;
}

static void check_query(struct slice s, size_t stop)
{
    struct pool pool = POOL_INIT(1024);
    struct query_run q = { s.len, 0, stop };
    int rc = h1_query_each(s, &pool, on_arg, &q);

    if (rc != 0 && (q.n != 0 || (rc != BL_EPARSE && rc != BL_ETOOBIG)))
        abort();
    if (rc == 0 && (q.n > H1_MAX_QUERY_ARGS || (stop > 0 && q.n > stop)))
        abort();
    pool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t maxes[] = { 0, 16, 256, 8192, 65536 };
    static struct h1_head h;
    char *d = malloc(size > 0 ? size : 1); /* exactly size bytes: ASan sees a read past them */
    size_t body = 0;
    int status;

    if (d == NULL)
        return 0;
    memcpy(d, data, size);
    base = d;
    for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
        size_t b = 0;

        check_head(d, size, maxes[i], &b);
        if (maxes[i] == 65536)
            body = b;
    }
    check_chunked(d + body, size - body, data, size);
    if (h1_parse_head(d, size, 65536, &h, &status, NULL) == H1_OK)
        check_query(h.query, size > 3 ? data[3] % 8 : 0);
    check_query((struct slice){ d, size }, 0);
    free(d);
    return 0;
}
