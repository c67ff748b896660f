/*
 * logpost.h - per-line word postings of log lines (pure: no SQLite).
 *
 * Why not FTS5: a contentless FTS5 table tokenizes and hashes every word
 * of every line on the store's single writer thread, a third of the
 * writer's time per line, and its doclists name lines but not minutes, so
 * a histogram of a common word reads the timestamp of every line it names.
 * A segment of postings is built from the lines of one batch anywhere (a
 * decode thread), the writer only stores its pages, and an entry with many
 * lines carries its counts per minute and level.
 *
 * A segment indexes the lines [base, base + 2^32) of one day file by
 * ordinal (line - base): for every word of a line (query_words, folded with
 * query_fold_word, cut at LP_TOKEN_MAX bytes) and every token added as it
 * is, the ordinals of the lines that hold it. It is encoded as pages of
 * entries in token order (bytewise); a page is closed once it passes
 * LP_PAGE_BYTES, so a lookup reads the one page whose first token is the
 * greatest not above the word. An entry:
 *
 *   varint token length (1..LP_TOKEN_MAX), the token's bytes,
 *   varint n (lines, >= 1), varint postings length in bytes, then n varint
 *   ordinals, each as the difference from the one before (the first from 0),
 *   varint ncells, varint cells length in bytes (so a lookup skips an
 *   entry's cells at once), then ncells cells (minute, level) -> count in
 *   ascending (minute, level) order: varint minute (the first zigzag from 0,
 *   the rest as differences), u8 level, varint count; the counts add up to n.
 *
 * An entry of fewer than LP_CELLS_MIN lines has no cells (ncells 0): its
 * lines are few enough to read their timestamps. Pages come back from disk,
 * so every reader checks bounds: a corrupt page is BL_EPARSE, never a read
 * past its end.
 */
#ifndef BL_LOGPOST_H
#define BL_LOGPOST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

#define LP_TOKEN_MAX 64    /* bytes of a token; a longer folded word is cut here */
#define LP_PAGE_BYTES 4096 /* a page is closed once it holds this many bytes */
/*
 * Minutes of any int64 µs time lie within +-2^38: a cell key's minute is
 * biased by this so negative ones keep their order, and a read minute
 * outside it is corrupt.
 */
#define LP_CELL_BIAS ((int64_t)1 << 40)
#define LP_CELLS_MIN 64       /* entries of this many lines carry their minute cells */
#define LP_LINES_MAX 16777216 /* ordinals of one segment (2^24) */
#define LP_MERGE_MAX 16       /* segments one merge reads */

/* The minute of a time in µs (floor: before 1970 too), as cells count it. */
int64_t lp_minute(int64_t ts_us);

/* ---- building a segment ---- */

struct lp_ent; /* a token being gathered (logpost.c) */

struct lp_builder {
    struct lp_ent *ent; /* the tokens, in the order first seen */
    size_t nent, ent_cap;
    uint32_t *slot; /* open-addressing table: entry index + 1, 0 empty */
    size_t cap;
    struct buf toks; /* the tokens' bytes */
    uint32_t *occ;   /* (entry, ordinal) pairs, as added */
    size_t nocc, occ_cap;
    int64_t *minute; /* per ordinal */
    unsigned char *level;
    size_t nlines, line_cap;      /* ordinals known: the last one + 1 */
    int64_t minute_lo, minute_hi; /* of the lines so far */
    int open;                     /* a line was started */
};

void lp_builder_init(struct lp_builder *b);
void lp_builder_release(struct lp_builder *b);
/* Empties the segment (keeps the memory). */
void lp_builder_reset(struct lp_builder *b);
/*
 * Starts the line of ordinal ord (ascending; ordinals without words may
 * be skipped), at time ts_us with level (0..7). BL_EINVAL when ord does
 * not ascend or passes LP_LINES_MAX.
 */
int lp_builder_line(struct lp_builder *b, uint32_t ord, int64_t ts_us, int level);
/* Adds the words of text (query_words, folded) to the line started last. */
int lp_builder_text(struct lp_builder *b, const char *text, size_t len);
/*
 * How many of the 8 bytes at p, from the first, are an ASCII digit or a
 * lower-case letter, which word folding keeps as they are: per byte, b |
 * 0x80 minus lo keeps its top bit when b >= lo, and no byte borrows from
 * the next. Most of a line's word bytes are such runs (hex ids, numbers,
 * lower-case words): 8 at a time instead of a table load and a store each.
 */
static inline unsigned lp_plain_run(const unsigned char *p)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t w, x, digit, lower, keep;

    memcpy(&w, p, 8);
    x = w | high;
    digit = (x - '0' * ones) & ~(x - ('9' + 1) * ones);
    lower = (x - 'a' * ones) & ~(x - ('z' + 1) * ones);
    keep = (digit | lower) & ~w & high;
    return keep == high ? 8 : (unsigned)__builtin_ctzll(~keep & high) / 8;
}
/* Adds one token as it is (the caller folded it) to the line started last. */
int lp_builder_token(struct lp_builder *b, const char *tok, size_t len);
/* Tokens gathered so far. */
size_t lp_builder_ntokens(const struct lp_builder *b);
/*
 * Encodes the segment: its pages appended to out one after the other, and
 * each page's end offset in out (a size_t) appended to ends. Leaves the
 * builder as it was (reset it to reuse).
 */
int lp_builder_finish(struct lp_builder *b, struct buf *out, struct buf *ends);
/*
 * The same with every ordinal o written as map[o] (map ascending, one per
 * ordinal below nlines): the postings of lines gathered as 0, 1, 2, ...
 * on a decode thread, encoded once the writer knows where they landed.
 * The cells are the same, since a line's minute and level do not move.
 */
int lp_builder_finish_map(struct lp_builder *b, const uint32_t *map, struct buf *out,
                          struct buf *ends);

/* ---- reading ---- */

struct lp_entry {
    const unsigned char *tok;
    size_t toklen;
    uint32_t n;
    const unsigned char *post, *post_end;
    uint32_t ncells;
    const unsigned char *cells, *cells_end;
};

/* The entry at *p (advanced past it): 1, 0 at end, BL_EPARSE when corrupt. */
int lp_entry_next(const unsigned char **p, const unsigned char *end, struct lp_entry *e);
/* In a page: 1 with *e the entry of tok, 0 when tok is not there, BL_EPARSE. */
int lp_page_find(const void *page, size_t len, const char *tok, size_t toklen, struct lp_entry *e);

/* An entry's ordinals in ascending order. */
struct lp_post {
    const unsigned char *p, *end;
    uint32_t left, ord;
    int first;
};

void lp_post_open(struct lp_post *c, const struct lp_entry *e);
/* 1 with *ord the next ordinal, 0 at end, BL_EPARSE when corrupt or not ascending. */
int lp_post_next(struct lp_post *c, uint32_t *ord);

/* An entry's cells. */
struct lp_cell {
    int64_t minute;
    int level;
    uint64_t count;
};

struct lp_cells {
    const unsigned char *p, *end;
    uint32_t left;
    int first;
    int64_t minute;
};

void lp_cells_open(struct lp_cells *c, const struct lp_entry *e);
/* 1 with *out the next cell, 0 at end, BL_EPARSE when corrupt or out of order. */
int lp_cells_next(struct lp_cells *c, struct lp_cell *out);

/* ---- merging segments ---- */

/* One segment to merge: its pages in order, and what its ordinals gain in the merged one. */
struct lp_src {
    const unsigned char *const *page;
    const size_t *len;
    size_t npages;
    uint32_t shift;
};

/*
 * What a merge may know of the merged segment's lines, by ordinal: minute
 * and level (a level above 7: a line it does not know).
 */
struct lp_meta {
    const int64_t *minute;
    const unsigned char *level;
    size_t n;
};

/*
 * Merges nsrc (1..LP_MERGE_MAX) segments whose shifted ordinals ascend from
 * one source to the next (src[k] starts past src[k-1]'s last line) into one,
 * encoded as lp_builder_finish does. A merged entry of LP_CELLS_MIN lines
 * or more has cells when every part had them, else when meta (may be NULL)
 * knows each of its lines. BL_EPARSE when a page is corrupt or the
 * ordinals do not ascend.
 */
int lp_merge(const struct lp_src *src, size_t nsrc, const struct lp_meta *meta, struct buf *out,
             struct buf *ends);

/* Tokens' order in a segment: bytes, then length (a prefix first). */
static inline int lp_tok_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    return c != 0 ? c : (an > bn) - (an < bn);
}

#endif
