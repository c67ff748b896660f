/*
 * logpost.c - build and merge segments of word postings (logpost.h);
 * logpost_read.c reads them.
 *
 * A builder gathers (token, ordinal) pairs as lines come, in a hash table
 * of tokens and one flat array of pairs; finishing sorts the tokens once,
 * buckets the pairs by token (counting sort: each token's ordinals stay in
 * the order added, which is ascending) and writes the entries page by
 * page. Nothing is allocated per token or per line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/logpost.h"
#include "core/hash.h"
#include "core/varint.h"
#include "core/xmalloc.h"
#include "search/query.h"
#include "core/banned.h"

#define LP_PAGES_MAX ((size_t)1 << 30) /* bytes of one segment's pages */

struct lp_ent {
    uint32_t off; /* in toks */
    uint32_t len;
    uint32_t hash;
    uint32_t n;    /* lines */
    uint32_t last; /* the last ordinal added + 1 (0: none) */
};

void lp_builder_init(struct lp_builder *b)
{
    memset(b, 0, sizeof(*b));
    buf_init(&b->toks, (size_t)UINT32_MAX);
}

void lp_builder_release(struct lp_builder *b)
{
    free(b->ent);
    free(b->slot);
    free(b->occ);
    free(b->minute);
    free(b->level);
    buf_release(&b->toks);
    memset(b, 0, sizeof(*b));
}

void lp_builder_reset(struct lp_builder *b)
{
    if (b->slot != NULL)
        memset(b->slot, 0, b->cap * sizeof(*b->slot));
    b->nent = 0;
    b->nocc = 0;
    b->nlines = 0;
    b->open = 0;
    buf_reset(&b->toks);
}

size_t lp_builder_ntokens(const struct lp_builder *b)
{
    return b->nent;
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap != 0 ? *cap : 64;

    if (need <= *cap)
        return p;
    while (n < need)
        n *= 2;
    *cap = n;
    return xrealloc(p, n * size);
}

int lp_builder_line(struct lp_builder *b, uint32_t ord, int64_t ts_us, int level)
{
    size_t cap = b->line_cap;

    if (ord >= LP_LINES_MAX || (b->open && ord < b->nlines))
        return BL_EINVAL;
    b->minute = grow(b->minute, &b->line_cap, (size_t)ord + 1, sizeof(*b->minute));
    if (b->line_cap != cap)
        b->level = xrealloc(b->level, b->line_cap);
    b->minute[ord] = lp_minute(ts_us);
    if (!b->open || b->minute[ord] < b->minute_lo)
        b->minute_lo = b->minute[ord];
    if (!b->open || b->minute[ord] > b->minute_hi)
        b->minute_hi = b->minute[ord];
    b->level[ord] = (unsigned char)(level & 7);
    b->nlines = (size_t)ord + 1;
    b->open = 1;
    return 0;
}

int64_t lp_minute(int64_t ts_us)
{
    /* floor division: a minute before 1970 still holds its own lines */
    return ts_us >= 0 ? ts_us / 60000000 : -((-(ts_us + 1)) / 60000000) - 1;
}

static void rehash(struct lp_builder *b)
{
    size_t cap = b->cap != 0 ? b->cap * 2 : 1024;

    free(b->slot);
    b->slot = xcalloc(cap, sizeof(*b->slot));
    b->cap = cap;
    for (size_t i = 0; i < b->nent; i++) {
        size_t at = b->ent[i].hash & (cap - 1);

        while (b->slot[at] != 0)
            at = (at + 1) & (cap - 1);
        b->slot[at] = (uint32_t)i + 1;
    }
}

/*
 * Whether the len bytes at a and b are the same (len <= LP_TOKEN_MAX): 8
 * bytes at a time, the last 8 overlapping, shorter ones in two loads of 4
 * or byte by byte. A token is usually found, not added, so this runs once
 * a word: a call to memcmp cost more than the compare.
 */
static int tok_eq(const char *a, const char *b, size_t len)
{
    uint64_t x, y;
    uint32_t u, v;

    if (len >= 8) {
        for (size_t i = 0; i + 8 < len; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + len - 8, 8);
        memcpy(&y, b + len - 8, 8);
        return x == y;
    }
    if (len >= 4) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        if (u != v)
            return 0;
        memcpy(&u, a + len - 4, 4);
        memcpy(&v, b + len - 4, 4);
        return u == v;
    }
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* The entry of tok, added when new. */
static struct lp_ent *entry_of(struct lp_builder *b, const char *tok, size_t len)
{
    uint32_t h = (uint32_t)hash_table(tok, len);
    size_t at;
    struct lp_ent *e;

    if ((b->nent + 1) * 2 > b->cap)
        rehash(b);
    for (at = h & (b->cap - 1); b->slot[at] != 0; at = (at + 1) & (b->cap - 1)) {
        e = &b->ent[b->slot[at] - 1];
        if (e->hash == h && e->len == len && tok_eq(b->toks.p + e->off, tok, len))
            return e;
    }
    if (buf_add(&b->toks, tok, len) != 0)
        return NULL;
    b->ent = grow(b->ent, &b->ent_cap, b->nent + 1, sizeof(*b->ent));
    e = &b->ent[b->nent];
    *e = (struct lp_ent){ (uint32_t)(b->toks.len - len), (uint32_t)len, h, 0, 0 };
    b->slot[at] = (uint32_t)++b->nent;
    return e;
}

int lp_builder_token(struct lp_builder *b, const char *tok, size_t len)
{
    uint32_t ord = (uint32_t)b->nlines - 1;
    struct lp_ent *e;

    if (!b->open)
        return BL_EINVAL;
    if (len == 0)
        return 0;
    if (len > LP_TOKEN_MAX)
        len = LP_TOKEN_MAX;
    e = entry_of(b, tok, len);
    if (e == NULL)
        return BL_ETOOBIG;
    if (e->last == ord + 1)
        return 0; /* a line counts once per token */
    e->last = ord + 1;
    e->n++;
    if (2 * (b->nocc + 1) > b->occ_cap)
        b->occ = grow(b->occ, &b->occ_cap, 2 * (b->nocc + 1), sizeof(*b->occ));
    b->occ[2 * b->nocc] = (uint32_t)(e - b->ent);
    b->occ[2 * b->nocc + 1] = ord;
    b->nocc++;
    return 0;
}

/*
 * query_words' word bytes by their value: 0 for a byte between words, an
 * ASCII letter or digit as query_fold_word folds it, 0x80 for every
 * non-ASCII byte (its word is folded by query_fold_word). One load a byte
 * instead of four range tests: the scan was a third of gathering a line.
 */
#define W_ASCII(c) ((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9') ? (c)
#define W_UPPER(c) ((c) >= 'A' && (c) <= 'Z') ? (c) + 32
#define W_BYTE(c) (unsigned char)((c) >= 0x80 ? 0x80 : W_ASCII(c) : W_UPPER(c) : 0)
#define W_ROW(r)                                                                                   \
    W_BYTE(r + 0), W_BYTE(r + 1), W_BYTE(r + 2), W_BYTE(r + 3), W_BYTE(r + 4), W_BYTE(r + 5),      \
        W_BYTE(r + 6), W_BYTE(r + 7), W_BYTE(r + 8), W_BYTE(r + 9), W_BYTE(r + 10),                \
        W_BYTE(r + 11), W_BYTE(r + 12), W_BYTE(r + 13), W_BYTE(r + 14), W_BYTE(r + 15)
static const unsigned char word_fold[256] = {
    W_ROW(0),   W_ROW(16),  W_ROW(32),  W_ROW(48),  W_ROW(64),  W_ROW(80),  W_ROW(96),  W_ROW(112),
    W_ROW(128), W_ROW(144), W_ROW(160), W_ROW(176), W_ROW(192), W_ROW(208), W_ROW(224), W_ROW(240),
};

/*
 * The words of text as query_words cuts them, folded as query_fold_word
 * does; an ASCII word (nearly all of them) is lower-cased while it is
 * scanned, the rest go through query_fold_word.
 */
int lp_builder_text(struct lp_builder *b, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    char tok[LP_TOKEN_MAX];
    size_t i = 0;
    int rc = 0;

    if (!b->open)
        return BL_EINVAL;
    while (rc == 0 && text != NULL && i < len) {
        size_t start, n = 0;
        unsigned f, wide = 0;

        while (i < len && word_fold[p[i]] == 0)
            i++;
        for (start = i; i < len;) {
            if (i + 8 <= len && n + 8 <= sizeof(tok)) {
                unsigned run = lp_plain_run(p + i);

                memcpy(tok + n, p + i, 8); /* the bytes past the run are overwritten or unused */
                n += run;
                i += run;
                if (run == 8)
                    continue;
            }
            if (i >= len || (f = word_fold[p[i]]) == 0)
                break;
            wide |= f;
            if (n < sizeof(tok))
                tok[n++] = (char)f;
            i++;
        }
        if (i == start)
            break;
        if (wide & 0x80) {
            n = query_fold_word(text + start, i - start, tok, sizeof(tok));
            n = n < sizeof(tok) ? n : sizeof(tok);
        }
        rc = lp_builder_token(b, tok, n);
    }
    return rc;
}

/* ---- encoding ---- */

struct enc {
    struct buf *out, *ends;
    size_t page_from;
    struct buf post, cells;
};

/* v as a varint at q; past it. */
static unsigned char *put_v(unsigned char *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *q++ = (unsigned char)v;
    return q;
}

static int enc_entry(struct enc *en, const unsigned char *tok, size_t len, uint32_t n,
                     uint32_t ncells)
{
    struct buf *o = en->out;
    int rc = buf_grow(o, 5 * VARINT_MAX + len + en->post.len + en->cells.len);
    unsigned char *q = (unsigned char *)o->p + o->len;

    if (rc == 0) {
        q = put_v(q, len);
        memcpy(q, tok, len);
        q = put_v(q + len, n);
        q = put_v(q, en->post.len);
        memcpy(q, en->post.p, en->post.len);
        q = put_v(q + en->post.len, ncells);
        q = put_v(q, en->cells.len);
        memcpy(q, en->cells.p, en->cells.len);
        o->len = (size_t)(q + en->cells.len - (unsigned char *)o->p);
        o->p[o->len] = '\0';
    }
    if (rc == 0 && o->len - en->page_from >= LP_PAGE_BYTES) {
        rc = buf_add(en->ends, &o->len, sizeof(o->len));
        en->page_from = o->len;
    }
    buf_reset(&en->post);
    buf_reset(&en->cells);
    return rc;
}

static int enc_close(struct enc *en)
{
    int rc = 0;

    if (en->out->len > en->page_from)
        rc = buf_add(en->ends, &en->out->len, sizeof(en->out->len));
    buf_release(&en->post);
    buf_release(&en->cells);
    return rc;
}

static void enc_open(struct enc *en, struct buf *out, struct buf *ends)
{
    en->out = out;
    en->ends = ends;
    en->page_from = out->len;
    buf_init(&en->post, LP_PAGES_MAX);
    buf_init(&en->cells, LP_PAGES_MAX);
}

/* A cell being gathered: its sort key (cell_key) and lines. */
struct ckey {
    uint64_t key, count;
};

static int cmp_ckey(const void *a, const void *b)
{
    uint64_t x = ((const struct ckey *)a)->key, y = ((const struct ckey *)b)->key;

    return x < y ? -1 : x > y;
}

/* A cell's sort key: minute then level, the minute biased by LP_CELL_BIAS (logpost.h). */

static uint64_t cell_key(int64_t minute, int level)
{
    return ((uint64_t)(minute + LP_CELL_BIAS) << 3) | (unsigned)level;
}

/* Sorts the gathered cells and writes them, equal keys as one, into out grown once. */
static int put_cells(struct buf *out, struct ckey *k, size_t n, uint32_t *ncells)
{
    int64_t prev = 0;
    unsigned char *q;
    int rc;

    *ncells = 0;
    for (size_t i = 1; i < n; i++)
        if (k[i].key < k[i - 1].key) { /* lines mostly come in time order: sort only when not */
            qsort(k, n, sizeof(*k), cmp_ckey);
            break;
        }
    rc = buf_grow(out, n * (2 * VARINT_MAX + 1));
    if (rc != 0)
        return rc;
    q = (unsigned char *)out->p + out->len;
    for (size_t i = 0; i < n;) {
        uint64_t c = 0;
        size_t j = i;
        int64_t minute = (int64_t)(k[i].key >> 3) - LP_CELL_BIAS;

        for (; j < n && k[j].key == k[i].key; j++)
            c += k[j].count;
        q = put_v(q, *ncells == 0 ? varint_zz(minute) : (uint64_t)(minute - prev));
        *q++ = (unsigned char)(k[i].key & 7);
        q = put_v(q, c);
        prev = minute;
        (*ncells)++;
        i = j;
    }
    out->len = (size_t)(q - (unsigned char *)out->p);
    out->p[out->len] = '\0';
    return 0;
}

/* A token of the builder, for sorting: its first 8 bytes big-endian decide most comparisons. */
struct tokref {
    uint64_t pre;
    const unsigned char *p;
    uint32_t len, ent;
};

static int cmp_tokref(const void *a, const void *b)
{
    const struct tokref *x = a, *y = b;

    if (x->pre != y->pre)
        return x->pre < y->pre ? -1 : 1;
    return lp_tok_cmp(x->p, x->len, y->p, y->len);
}

/*
 * Sorts the tokens: by their first 8 bytes with a radix sort (a segment has
 * about two distinct tokens a line, and qsort's calls were most of finishing
 * one), then the few runs that share them by the rest.
 */
static void sort_toks(struct tokref *t, size_t n)
{
    struct tokref *a = t, *b;
    size_t count[8][256];

    if (n < 64) {
        qsort(t, n, sizeof(*t), cmp_tokref);
        return;
    }
    b = xmalloc(n * sizeof(*b));
    /* every byte's counts in one pass over the tokens, not one pass a byte */
    memset(count, 0, sizeof(count));
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < 8; k++)
            count[k][(a[i].pre >> (8 * k)) & 255]++;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t pos = 0, *c = count[shift / 8];
        struct tokref *swap;

        if (c[(a[0].pre >> shift) & 255] == n)
            continue; /* every token has the same byte here */
        for (size_t k = 0; k < 256; k++) {
            size_t m = c[k];

            c[k] = pos;
            pos += m;
        }
        for (size_t i = 0; i < n; i++)
            b[c[(a[i].pre >> shift) & 255]++] = a[i];
        swap = a;
        a = b;
        b = swap;
    }
    if (a != t) {
        memcpy(t, a, n * sizeof(*t));
        b = a;
    }
    free(b);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && t[j].pre == t[i].pre; j++)
            ;
        if (j - i > 1)
            qsort(t + i, j - i, sizeof(*t), cmp_tokref);
    }
}

static uint64_t prefix8(const unsigned char *p, size_t len)
{
    uint64_t v = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len >= 8) {
        memcpy(&v, p, 8);
        return __builtin_bswap64(v);
    }
#endif
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (i < len ? p[i] : 0);
    return v;
}

/*
 * Counting an entry's cells: while the segment's minutes span at most
 * DENSE_MINUTES, in an array indexed by (minute, level), touching only the
 * cells that count; else by sorting every line's key.
 */
#define DENSE_MINUTES 8192

struct cellcount {
    uint32_t *dense; /* (minute - lo) * 8 + level -> lines; NULL: sort */
    uint32_t *touched;
    struct ckey *keys;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Sorts an entry's touched cells (their order is their keys'): lines come
 * in time order, so the cells do too but for their levels within a minute,
 * and an insertion sort finishes them in a few moves (qsort was most of
 * counting cells). A batch far from time order falls back to qsort after
 * a bounded number of moves.
 */
static void sort_cells(uint32_t *v, size_t n)
{
    size_t moves = 0;

    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;

        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
        moves += i - j;
        if (moves > 2 * n + 64) {
            qsort(v, n, sizeof(*v), cmp_u32);
            return;
        }
    }
}

static int entry_cells(const struct lp_builder *b, struct cellcount *cc, const uint32_t *ords,
                       uint32_t n, struct buf *out, uint32_t *ncells)
{
    size_t nk = 0;

    if (cc->dense == NULL) {
        for (uint32_t i = 0; i < n; i++)
            cc->keys[i] = (struct ckey){ cell_key(b->minute[ords[i]], b->level[ords[i]]), 1 };
        return put_cells(out, cc->keys, n, ncells);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t at = (uint32_t)(b->minute[ords[i]] - b->minute_lo) * 8 + b->level[ords[i]];

        if (cc->dense[at]++ == 0)
            cc->touched[nk++] = at;
    }
    sort_cells(cc->touched, nk);
    for (size_t i = 0; i < nk; i++) {
        uint32_t at = cc->touched[i];

        cc->keys[i] = (struct ckey){ cell_key(b->minute_lo + at / 8, (int)(at % 8)),
                                     cc->dense[at] };
        cc->dense[at] = 0;
    }
    return put_cells(out, cc->keys, nk, ncells);
}

/* One builder entry's postings and cells into en, then the entry. */
static int finish_entry(struct lp_builder *b, struct enc *en, const struct tokref *t,
                        const uint32_t *ords, const uint32_t *map, struct cellcount *cc)
{
    const struct lp_ent *e = &b->ent[t->ent];
    uint32_t prev = 0, ncells = 0;
    int rc = 0;

    rc = buf_grow(&en->post, (size_t)e->n * 5);
    if (rc == 0) {
        unsigned char *q = (unsigned char *)en->post.p;

        for (uint32_t i = 0; i < e->n; i++) {
            uint32_t o = map != NULL ? map[ords[i]] : ords[i];

            q = put_v(q, o - prev);
            prev = o;
        }
        en->post.len = (size_t)(q - (unsigned char *)en->post.p);
    }
    if (rc == 0 && e->n >= LP_CELLS_MIN)
        rc = entry_cells(b, cc, ords, e->n, &en->cells, &ncells);
    return rc != 0 ? rc : enc_entry(en, t->p, t->len, e->n, ncells);
}

int lp_builder_finish(struct lp_builder *b, struct buf *out, struct buf *ends)
{
    return lp_builder_finish_map(b, NULL, out, ends);
}

int lp_builder_finish_map(struct lp_builder *b, const uint32_t *map, struct buf *out,
                          struct buf *ends)
{
    /* every element is written before it is read: nothing to clear */
    struct tokref *t = xmalloc((b->nent + 1) * sizeof(*t));
    size_t *at = xmalloc((b->nent + 1) * sizeof(*at));
    uint32_t *ords = xmalloc((b->nocc + 1) * sizeof(*ords));
    struct cellcount cc = { NULL, NULL, NULL };
    size_t maxn = 0, sum = 0;
    struct enc en;
    int rc = 0;

    /* Bucket the ordinals by entry, keeping their (ascending) order. */
    for (size_t i = 0; i < b->nent; i++) {
        const unsigned char *p = (const unsigned char *)b->toks.p + b->ent[i].off;

        at[i] = sum;
        sum += b->ent[i].n;
        maxn = b->ent[i].n > maxn ? b->ent[i].n : maxn;
        t[i] = (struct tokref){ prefix8(p, b->ent[i].len), p, b->ent[i].len, (uint32_t)i };
    }
    for (size_t i = 0; i < b->nocc; i++)
        ords[at[b->occ[2 * i]]++] = b->occ[2 * i + 1];
    for (size_t i = 0; i < b->nent; i++)
        at[i] -= b->ent[i].n;
    sort_toks(t, b->nent);
    cc.keys = xmalloc((maxn + 1) * sizeof(*cc.keys));
    if (b->open && b->minute_hi - b->minute_lo < DENSE_MINUTES) {
        cc.dense = xcalloc((size_t)(b->minute_hi - b->minute_lo + 1) * 8, sizeof(*cc.dense));
        cc.touched = xmalloc((maxn + 1) * sizeof(*cc.touched));
    }
    enc_open(&en, out, ends);
    for (size_t i = 0; rc == 0 && i < b->nent; i++)
        rc = finish_entry(b, &en, &t[i], ords + at[t[i].ent], map, &cc);
    if (enc_close(&en) != 0 && rc == 0)
        rc = BL_ETOOBIG;
    free(cc.dense);
    free(cc.touched);
    free(cc.keys);
    free(ords);
    free(at);
    free(t);
    return rc;
}

/* ---- merging ---- */

/* One source's place: its current entry and the token before it. */
struct cur {
    const struct lp_src *s;
    size_t page;
    const unsigned char *p, *end;
    struct lp_entry e;
    int has;
    unsigned char prev[LP_TOKEN_MAX];
    size_t prevlen;
};

static int cur_next(struct cur *c)
{
    for (;;) {
        int rc = c->p != NULL ? lp_entry_next(&c->p, c->end, &c->e) : 0;

        if (rc < 0)
            return rc;
        if (rc == 1)
            break;
        if (c->p != NULL)
            c->page++;
        if (c->page >= c->s->npages) {
            c->has = 0;
            return 0;
        }
        c->p = c->s->page[c->page];
        c->end = c->p + c->s->len[c->page];
    }
    if (c->has && lp_tok_cmp(c->e.tok, c->e.toklen, c->prev, c->prevlen) <= 0)
        return BL_EPARSE; /* tokens must ascend across the segment */
    memcpy(c->prev, c->e.tok, c->e.toklen);
    c->prevlen = c->e.toklen;
    c->has = 1;
    return 0;
}

/* Gathered cells of the entry being merged, and its ordinals when meta can count them. */
struct cellv {
    struct ckey *k;
    size_t n, cap;
    int all; /* every part had cells */
    const struct lp_meta *meta;
    uint32_t *ords;
    size_t nords, ords_cap;
};

static int merge_part(struct enc *en, struct cur *c, int64_t *last, uint32_t *n, struct cellv *cv)
{
    struct lp_post pc;
    struct lp_cells cc;
    struct lp_cell cell;
    uint32_t ord;
    int rc;

    lp_post_open(&pc, &c->e);
    while ((rc = lp_post_next(&pc, &ord)) == 1) {
        int64_t o = (int64_t)ord + c->s->shift;

        if (o <= *last || o >= LP_LINES_MAX)
            return BL_EPARSE;
        rc = varint_put(&en->post, (uint64_t)(o - (*last < 0 ? 0 : *last)));
        if (rc != 0)
            return rc;
        *last = o;
        (*n)++;
        if (cv->meta != NULL) {
            cv->ords = grow(cv->ords, &cv->ords_cap, cv->nords + 1, sizeof(*cv->ords));
            cv->ords[cv->nords++] = (uint32_t)o;
        }
    }
    if (rc < 0)
        return rc;
    cv->all = cv->all && c->e.ncells > 0;
    lp_cells_open(&cc, &c->e);
    while (cv->all && (rc = lp_cells_next(&cc, &cell)) == 1) {
        cv->k = grow(cv->k, &cv->cap, cv->n + 1, sizeof(*cv->k));
        cv->k[cv->n++] = (struct ckey){ cell_key(cell.minute, cell.level), cell.count };
    }
    return rc < 0 ? rc : cur_next(c);
}

/* The entry's cells from meta, when it knows every line: 1 with cv->k filled. */
static int meta_cells(struct cellv *cv)
{
    const struct lp_meta *m = cv->meta;

    if (m == NULL)
        return 0;
    cv->k = grow(cv->k, &cv->cap, cv->nords + 1, sizeof(*cv->k));
    for (size_t i = 0; i < cv->nords; i++) {
        uint32_t o = cv->ords[i];

        if (o >= m->n || m->level[o] > 7)
            return 0; /* a line meta does not know */
        cv->k[i] = (struct ckey){ cell_key(m->minute[o], m->level[o]), 1 };
    }
    cv->n = cv->nords;
    return 1;
}

/* The entry of the smallest token among the sources, merged. */
static int merge_one(struct enc *en, struct cur *cur, size_t nsrc, struct cellv *cv)
{
    const struct lp_entry *min = NULL;
    unsigned char tok[LP_TOKEN_MAX];
    size_t toklen;
    int64_t last = -1;
    uint32_t n = 0, ncells = 0;
    int rc = 0;

    for (size_t k = 0; k < nsrc; k++)
        if (cur[k].has &&
            (min == NULL || lp_tok_cmp(cur[k].e.tok, cur[k].e.toklen, min->tok, min->toklen) < 0))
            min = &cur[k].e;
    toklen = min->toklen;
    memcpy(tok, min->tok, toklen);
    cv->n = 0;
    cv->nords = 0;
    cv->all = 1;
    for (size_t k = 0; rc == 0 && k < nsrc; k++)
        if (cur[k].has && lp_tok_cmp(cur[k].e.tok, cur[k].e.toklen, tok, toklen) == 0)
            rc = merge_part(en, &cur[k], &last, &n, cv);
    if (rc == 0 && !cv->all && n >= LP_CELLS_MIN && meta_cells(cv))
        cv->all = 1; /* counted from the lines' own times */
    if (rc == 0 && cv->all && n >= LP_CELLS_MIN)
        rc = put_cells(&en->cells, cv->k, cv->n, &ncells);
    return rc != 0 ? rc : enc_entry(en, tok, toklen, n, ncells);
}

int lp_merge(const struct lp_src *src, size_t nsrc, const struct lp_meta *meta, struct buf *out,
             struct buf *ends)
{
    struct cur cur[LP_MERGE_MAX];
    struct cellv cv = { NULL, 0, 0, 1, meta, NULL, 0, 0 };
    struct enc en;
    int rc = 0, left;

    if (nsrc < 1 || nsrc > LP_MERGE_MAX)
        return BL_EINVAL;
    memset(cur, 0, sizeof(cur));
    for (size_t k = 0; rc == 0 && k < nsrc; k++) {
        cur[k].s = &src[k];
        rc = cur_next(&cur[k]);
    }
    enc_open(&en, out, ends);
    do {
        left = 0;
        for (size_t k = 0; k < nsrc; k++)
            left |= cur[k].has;
        if (rc == 0 && left)
            rc = merge_one(&en, cur, nsrc, &cv);
    } while (rc == 0 && left);
    if (enc_close(&en) != 0 && rc == 0)
        rc = BL_ETOOBIG;
    free(cv.k);
    free(cv.ords);
    return rc;
}
