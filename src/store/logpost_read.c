/*
 * logpost_read.c - reading a segment's pages of word postings (logpost.h):
 * an entry at a time, one token found in a page, and an entry's ordinals
 * and per-minute cells.
 */
#include <stdint.h>
#include <string.h>

#include "store/logpost.h"
#include "core/varint.h"
#include "core/banned.h"

static int get_u32v(const unsigned char **p, const unsigned char *end, uint32_t *out)
{
    uint64_t v;

    if (varint_get(p, end, &v) != 0 || v > UINT32_MAX)
        return BL_EPARSE;
    *out = (uint32_t)v;
    return 0;
}

int lp_entry_next(const unsigned char **p, const unsigned char *end, struct lp_entry *e)
{
    uint32_t len, plen, clen;

    if (*p >= end)
        return 0;
    if (get_u32v(p, end, &len) != 0 || len == 0 || len > LP_TOKEN_MAX || len > (size_t)(end - *p))
        return BL_EPARSE;
    e->tok = *p;
    e->toklen = len;
    *p += len;
    if (get_u32v(p, end, &e->n) != 0 || e->n == 0 || get_u32v(p, end, &plen) != 0 ||
        plen > (size_t)(end - *p) || plen < e->n)
        return BL_EPARSE;
    e->post = *p;
    e->post_end = *p + plen;
    *p += plen;
    if (get_u32v(p, end, &e->ncells) != 0 || e->ncells > e->n || get_u32v(p, end, &clen) != 0 ||
        clen > (size_t)(end - *p) || (size_t)e->ncells * 3 > clen ||
        (e->ncells == 0) != (clen == 0))
        return BL_EPARSE; /* a cell takes three bytes at least */
    e->cells = *p;
    e->cells_end = *p + clen;
    *p += clen;
    return 1;
}

int lp_page_find(const void *page, size_t len, const char *tok, size_t toklen, struct lp_entry *e)
{
    const unsigned char *p = page, *end = p + len;
    int rc;

    while ((rc = lp_entry_next(&p, end, e)) == 1) {
        int c = lp_tok_cmp(e->tok, e->toklen, (const unsigned char *)tok, toklen);

        if (c == 0)
            return 1;
        if (c > 0)
            return 0;
    }
    return rc;
}

void lp_post_open(struct lp_post *c, const struct lp_entry *e)
{
    *c = (struct lp_post){ e->post, e->post_end, e->n, 0, 1 };
}

int lp_post_next(struct lp_post *c, uint32_t *ord)
{
    uint32_t d;

    if (c->left == 0)
        return c->p == c->end ? 0 : BL_EPARSE;
    if (get_u32v(&c->p, c->end, &d) != 0 || (!c->first && d == 0) ||
        (uint64_t)c->ord + d >= LP_LINES_MAX)
        return BL_EPARSE;
    c->ord += d;
    c->first = 0;
    c->left--;
    *ord = c->ord;
    return 1;
}

void lp_cells_open(struct lp_cells *c, const struct lp_entry *e)
{
    *c = (struct lp_cells){ e->cells, e->cells_end, e->ncells, 1, 0 };
}

int lp_cells_next(struct lp_cells *c, struct lp_cell *out)
{
    uint64_t m, n;

    if (c->left == 0)
        return 0;
    if (varint_get(&c->p, c->end, &m) != 0 || c->p >= c->end)
        return BL_EPARSE;
    out->level = *c->p++;
    if (out->level > 7 || varint_get(&c->p, c->end, &n) != 0 || n == 0)
        return BL_EPARSE;
    if (c->first)
        c->minute = varint_unzz(m);
    else if (m > (uint64_t)LP_CELL_BIAS)
        return BL_EPARSE;
    else
        c->minute += (int64_t)m;
    if (c->minute <= -LP_CELL_BIAS || c->minute >= LP_CELL_BIAS)
        return BL_EPARSE;
    c->first = 0;
    c->left--;
    out->minute = c->minute;
    out->count = n;
    return 1;
}
