/*
 * store_sqlite_logs_fts.c - the lines of plain words read from log_fts's
 * segments directly, into a walk's candidate bitmap (struct drive).
 *
 * DESIGN
 * A common word's histogram needs every line number the index holds for
 * it: two million for a word on one line in five of a 10M-line day. Asked
 * through SQL ("SELECT rowid ... MATCH"), FTS5 merges the doclists of all
 * the index's segments (40 on such a day) row by row, and stepping those
 * rows was most of the histogram's 317 ms. For a bitmap the order and the
 * merge do not matter: every segment's doclist is OR-ed in on its own,
 * straight from its leaf pages (log_fts_data, read through one blob handle
 * moved from page to page), in a few milliseconds.
 *
 * This reads FTS5's documented on-disk format (the comments at the top of
 * SQLite's fts5_index.c) for the one case log_fts is: detail=none, no
 * prefix indexes, rows only ever inserted. Anything else, or anything that
 * does not parse, answers "not read" and the caller asks FTS5 through SQL
 * as before, so an unexpected file costs speed, never an answer:
 *   - a structure record of another version (V2: contentless_delete
 *     tables, which log_fts is not), more than 64 levels or 65535 segments;
 *   - a delete marker in a doclist (a 0x00 after a rowid: only written for
 *     deleted rows, which a contentless log_fts never has);
 *   - a table not declared detail=none and content='' (log_fts always is);
 *   - a term that is not ASCII letters and digits (the tokenizer folds
 *     those alone to lower case, as this does), a prefix query, a phrase;
 *   - a missing page, a page whose offsets leave it, an overlong varint.
 * The connection must not be in a transaction (then FTS5 may hold rows not
 * yet in the segments: only the writer's, which never reads this way). A
 * blob handle on the structure record stays open while the pages are read,
 * so they are all of one snapshot.
 *
 * Checked against FTS5 itself, term by term, on files with many segments
 * and doclists over many pages (tests/unit/test_logs_fts.c).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "store/sqlite_logs_int.h"
#include "core/banned.h"

#define FTS_STRUCT_ROWID 10
/* A leaf page's rowid in log_fts_data: segment id above 37 bits, page number below 31. */
#define FTS_LEAF_ROWID(seg, pg) (((int64_t)(seg) << 37) + (int64_t)(pg))
#define FTS_LEVELS_MAX 64
#define FTS_SEGS_MAX 65535
#define FTS_TERMS_MAX 8
#define FTS_TERM_MAX 128
#define FTS_PAGE_MAX (1 << 20)

/* Not read: the caller asks FTS5 (never an error of the query). */
#define FTS_NOT_READ 1

struct fseg {
    int64_t id, first, last;
};

struct frd {
    struct sq_conn *c;
    sqlite3_blob *hs, *hp; /* the structure record (held: the snapshot), a leaf page */
    struct buf page;
    struct fseg *segs;
    size_t nseg;
};

/* An SQLite varint at *p (at most 9 bytes, before end): 0 when it does not fit. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    const unsigned char *q = *p;
    uint64_t x = 0;

    for (int i = 0; i < 9; i++, q++) {
        if (q >= end)
            return 0;
        if (i == 8) {
            x = x << 8 | *q;
            *v = x;
            *p = q + 1;
            return 1;
        }
        x = x << 7 | (*q & 0x7fu);
        if (!(*q & 0x80u)) {
            *v = x;
            *p = q + 1;
            return 1;
        }
    }
    return 0;
}

/* The words of text, lowered as the index stores them with the main index's '0' before. */
static size_t parse_terms(const char *text, char terms[][FTS_TERM_MAX + 2], size_t *lens)
{
    const char *s = text;
    size_t n = 0;

    for (;;) {
        size_t len = 0;

        if (*s++ != '"' || n == FTS_TERMS_MAX)
            return 0;
        terms[n][len++] = '0';
        for (; *s != '"'; s++) {
            char ch = *s;

            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) || len > FTS_TERM_MAX)
                return 0;
            terms[n][len++] = ch;
        }
        if (len == 1)
            return 0;
        lens[n++] = len;
        s++;
        if (*s == '\0')
            return n;
        if (strncmp(s, " AND ", 5) != 0)
            return 0;
        s += 5;
    }
}

/* Reads log_fts_data's row id into b through h (opened or moved): 0, or FTS_NOT_READ. */
static int read_row(struct frd *r, sqlite3_blob **h, int64_t id, struct buf *b)
{
    int n;

    if (*h != NULL && sqlite3_blob_reopen(*h, id) != SQLITE_OK)
        return FTS_NOT_READ;
    if (*h == NULL &&
        sqlite3_blob_open(r->c->db, "main", "log_fts_data", "block", id, 0, h) != SQLITE_OK)
        return FTS_NOT_READ;
    n = sqlite3_blob_bytes(*h);
    buf_reset(b);
    if (n < 0 || n > FTS_PAGE_MAX || buf_grow(b, (size_t)n + 1) != 0)
        return FTS_NOT_READ;
    if (n > 0 && sqlite3_blob_read(*h, b->p, n, 0) != SQLITE_OK)
        return FTS_NOT_READ;
    b->len = (size_t)n;
    return 0;
}

/* The structure record: every segment (of every level) with its leaf pages. */
static int read_structure(struct frd *r)
{
    struct buf b = BUF_INIT(FTS_PAGE_MAX);
    const unsigned char *p, *end;
    uint64_t nlevel, nseg, counter;
    int rc = read_row(r, &r->hs, FTS_STRUCT_ROWID, &b);

    if (rc != 0)
        goto out;
    rc = FTS_NOT_READ;
    p = (const unsigned char *)b.p;
    end = p + b.len;
    if (b.len < 8 || memcmp(p + 4, "\xff\x00\x00\x01", 4) == 0)
        goto out; /* a V2 record: contentless_delete, not log_fts */
    p += 4;
    if (!get_varint(&p, end, &nlevel) || !get_varint(&p, end, &nseg) ||
        !get_varint(&p, end, &counter) || nlevel > FTS_LEVELS_MAX || nseg > FTS_SEGS_MAX)
        goto out;
    r->segs = xmalloc((nseg ? nseg : 1) * sizeof(*r->segs));
    for (uint64_t l = 0; l < nlevel; l++) {
        uint64_t nmerge, nl;

        if (!get_varint(&p, end, &nmerge) || !get_varint(&p, end, &nl) || nl > nseg - r->nseg)
            goto out;
        for (uint64_t k = 0; k < nl; k++) {
            uint64_t id, first, last;

            if (!get_varint(&p, end, &id) || !get_varint(&p, end, &first) ||
                !get_varint(&p, end, &last) || id < 1 || id > FTS_SEGS_MAX || first > INT32_MAX ||
                last > INT32_MAX)
                goto out;
            r->segs[r->nseg++] = (struct fseg){ (int64_t)id, (int64_t)first, (int64_t)last };
        }
    }
    if (r->nseg == nseg && p == end)
        rc = 0;
out:
    buf_release(&b);
    return rc;
}

static int get_u16(const unsigned char *p)
{
    return p[0] << 8 | p[1];
}

/* Sets the bits of the rowids in [p, end) of a doclist, rowid counting on from *rowid. */
static int doclist_bits(struct drive *d, const unsigned char *p, const unsigned char *end,
                        uint64_t *rowid)
{
    while (p < end) {
        uint64_t delta;

        if (!get_varint(&p, end, &delta))
            return FTS_NOT_READ;
        *rowid += delta;
        if (p < end && *p == 0)
            return FTS_NOT_READ; /* a delete marker */
        sq_drive_bit_set(d, (int64_t)*rowid);
    }
    return 0;
}

/*
 * Where term's doclist starts on the page, and where it stops on it (*stop:
 * the next term, or the page's end when it may go on to the next page): 1
 * found, 0 not on the page (nor in the segment), else FTS_NOT_READ + 1.
 */
static int leaf_seek(const unsigned char *a, size_t n, size_t szleaf, const char *term,
                     size_t nterm, size_t *start, size_t *stop, int *more)
{
    const unsigned char *pi = a + szleaf, *end = a + n, *q;
    uint64_t toff, nnew, nkeep = 0, delta;
    size_t nmatch = 0;

    if (pi >= end)
        return 0; /* no term begins on the page */
    if (!get_varint(&pi, end, &toff) || toff < 4 || toff >= szleaf)
        return -1;
    q = a + toff;
    for (;;) {
        size_t i = 0;

        if (!get_varint(&q, a + szleaf, &nnew) || nnew > (uint64_t)(a + szleaf - q))
            return -1;
        if (nkeep < nmatch)
            return 0;
        if (nkeep == nmatch) {
            size_t ncmp = nnew < nterm - nmatch ? (size_t)nnew : nterm - nmatch;

            while (i < ncmp && q[i] == (unsigned char)term[nmatch + i])
                i++;
            nmatch += i;
            if (nmatch == nterm) {
                if (i != nnew)
                    return 0;
                break;
            }
            if (i < nnew && q[i] > (unsigned char)term[nmatch])
                return 0;
        }
        if (pi >= end)
            return 0;
        if (!get_varint(&pi, end, &delta) || delta > szleaf - toff)
            return -1;
        toff += delta;
        if (toff >= szleaf)
            return -1;
        q = a + toff;
        if (!get_varint(&q, a + szleaf, &nkeep))
            return -1;
    }
    *start = (size_t)(q - a) + (size_t)nnew;
    *more = pi >= end;
    if (*more) {
        *stop = szleaf;
    } else {
        if (!get_varint(&pi, end, &delta) || delta > szleaf - toff)
            return -1;
        *stop = (size_t)(toff + delta);
    }
    return *start <= *stop ? 1 : -1;
}

/* One segment's doclist of term, into d. */
static int seg_bits(struct frd *r, const struct fseg *s, const char *term, size_t nterm,
                    struct drive *d, sqlite3_stmt *idx)
{
    int64_t pg = s->first;
    size_t start = 0, stop = 0;
    int more = 0, rc, src;

    if (s->first == 0 || s->last < s->first)
        return 0; /* consumed by an incremental merge */
    /* The page whose first term is the greatest at or before term (FTS5 seeks the same way). */
    sqlite3_reset(idx);
    if (sqlite3_bind_int64(idx, 1, s->id) != SQLITE_OK ||
        sqlite3_bind_blob(idx, 2, term, (int)nterm, SQLITE_STATIC) != SQLITE_OK)
        return FTS_NOT_READ;
    src = sqlite3_step(idx);
    if (src == SQLITE_ROW && (sqlite3_column_int64(idx, 0) >> 1) > pg)
        pg = sqlite3_column_int64(idx, 0) >> 1;
    sqlite3_reset(idx);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return FTS_NOT_READ;
    if (pg > s->last)
        return 0;
    rc = read_row(r, &r->hp, FTS_LEAF_ROWID(s->id, pg), &r->page);
    if (rc != 0 || r->page.len < 4)
        return FTS_NOT_READ;
    {
        const unsigned char *a = (const unsigned char *)r->page.p;
        size_t szleaf = (size_t)get_u16(a + 2);
        uint64_t rowid = 0;
        int found;

        if (szleaf < 4 || szleaf > r->page.len)
            return FTS_NOT_READ;
        found = leaf_seek(a, r->page.len, szleaf, term, nterm, &start, &stop, &more);
        if (found <= 0)
            return found == 0 ? 0 : FTS_NOT_READ;
        rc = doclist_bits(d, a + start, a + stop, &rowid);
    }
    /* The doclist goes on at offset 4 of the next pages, up to one where a term begins. */
    while (rc == 0 && more && ++pg <= s->last) {
        const unsigned char *a, *pi;
        size_t szleaf, to;
        uint64_t rowid = 0, toff;

        rc = read_row(r, &r->hp, FTS_LEAF_ROWID(s->id, pg), &r->page);
        if (rc != 0 || r->page.len < 4)
            return FTS_NOT_READ;
        a = (const unsigned char *)r->page.p;
        szleaf = (size_t)get_u16(a + 2);
        if (szleaf < 4 || szleaf > r->page.len)
            return FTS_NOT_READ;
        to = szleaf;
        pi = a + szleaf;
        if (pi < a + r->page.len) {
            if (!get_varint(&pi, a + r->page.len, &toff) || toff < 4 || toff > szleaf)
                return FTS_NOT_READ;
            to = (size_t)toff;
            more = 0;
        }
        if (to > 4 && get_u16(a) != 4)
            return FTS_NOT_READ; /* the page's first rowid is not where the doclist goes on */
        rc = doclist_bits(d, a + 4, a + to, &rowid);
    }
    return rc;
}

/* Whether log_fts is of the shape this reads: detail=none (doclists of rowids alone). */
static int fts_shape_ok(struct sq_conn *c)
{
    static const char sql[] = "SELECT sql FROM sqlite_master WHERE name = 'log_fts'";
    sqlite3_stmt *st = NULL;
    int ok = 0;

    /* prepared apart: the connection's statement cache has room for its walks' only */
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);

        ok = s != NULL && strstr(s, "detail=none") != NULL && strstr(s, "content=''") != NULL;
    }
    sqlite3_finalize(st);
    return ok;
}

/* One term's lines over every segment, into d. */
static int term_bits(struct frd *r, const char *term, size_t nterm, struct drive *d)
{
    static const char sql[] = "SELECT pgno FROM log_fts_idx WHERE segid = ?1 AND term <= ?2"
                              " ORDER BY term DESC LIMIT 1";
    sqlite3_stmt *idx = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(r->c->db, sql, -1, &idx, NULL) != SQLITE_OK) {
        sqlite3_finalize(idx);
        return FTS_NOT_READ;
    }
    for (size_t k = 0; rc == 0 && k < r->nseg; k++)
        rc = seg_bits(r, &r->segs[k], term, nterm, d, idx);
    sqlite3_finalize(idx);
    return rc;
}

int sq_fts_bits(struct sq_conn *c, const char *text, struct drive *d)
{
    char terms[FTS_TERMS_MAX][FTS_TERM_MAX + 2];
    size_t lens[FTS_TERMS_MAX], nterms;
    struct frd r;
    int rc;

    if (text == NULL || !sqlite3_get_autocommit(c->db))
        return FTS_NOT_READ;
    nterms = parse_terms(text, terms, lens);
    if (nterms == 0 || !fts_shape_ok(c))
        return FTS_NOT_READ;
    memset(&r, 0, sizeof(r));
    r.c = c;
    buf_init(&r.page, FTS_PAGE_MAX + 1);
    rc = read_structure(&r);
    if (rc == 0)
        rc = term_bits(&r, terms[0], lens[0], d);
    /* more words: the lines holding all of them */
    for (size_t t = 1; rc == 0 && t < nterms; t++) {
        struct drive more;

        memset(&more, 0, sizeof(more));
        rc = term_bits(&r, terms[t], lens[t], &more);
        for (size_t i = 0; rc == 0 && i < d->nbits; i++)
            d->bits[i] &= i < more.nbits ? more.bits[i] : 0;
        free(more.bits);
    }
    if (rc != 0 && d->bits != NULL)
        memset(d->bits, 0, d->nbits); /* FTS5 answers instead */
    if (r.hp != NULL)
        sqlite3_blob_close(r.hp);
    if (r.hs != NULL)
        sqlite3_blob_close(r.hs);
    buf_release(&r.page);
    free(r.segs);
    return rc;
}
