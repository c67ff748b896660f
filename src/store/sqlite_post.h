/*
 * sqlite_post.h - word postings segments in a day file
 * (store_sqlite_logs_post.c; the pages' format is store/logpost.h).
 * Internal to the SQLite backend.
 */
#ifndef BL_SQLITE_POST_H
#define BL_SQLITE_POST_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/logpost.h"
#include "store/sqlite_int.h"

/* A segment: one project's postings of the file's lines [base, base + span). */
struct sq_post_seg {
    int64_t seg; /* its row (set when read) */
    int64_t project_id;
    int64_t base, span;
    int64_t nlines; /* lines indexed */
    int level;      /* merge level (set by sq_post_write for a fresh one) */
};

/*
 * Stores a fresh segment (pages and ends as lp_builder_finish gave them)
 * and merges the project's segments as the policy says. The caller's
 * transaction covers it all.
 */
int sq_post_write(struct sq_conn *c, const struct sq_post_seg *s, const struct buf *pages,
                  const struct buf *ends, struct bl_err *err);

/* A query's words as the postings store them (folded), every one required. */
#define SQ_POST_WORDS 8
struct sq_post_words {
    char tok[SQ_POST_WORDS][LP_TOKEN_MAX];
    size_t len[SQ_POST_WORDS];
    size_t n;
    int prefix; /* the last word is a prefix */
    /*
     * 1: a line is a candidate exactly when it holds the word (one word, not
     * cut); else candidates are a superset the caller checks.
     */
    int exact;
};

/* The words of text (a word or a phrase; prefix: its last word is one); BL_EINVAL: none. */
int sq_post_words(const char *text, size_t len, int prefix, struct sq_post_words *w);

/*
 * The same from a log_fts MATCH text as the lowering writes it ("a" AND
 * "b"*: quoted ASCII words, a final * for a prefix); BL_EINVAL: no word.
 */
int sq_post_words_fts(const char *fts, struct sq_post_words *w);

/* The first line of the day file indexed by postings; 0 when it has none (log_fts only). */
int64_t sq_post_from(struct sq_conn *c);

/* A line found; a nonzero return stops the walk there (and is returned). */
typedef int (*sq_post_line_fn)(void *arg, int64_t line);
typedef void (*sq_post_cell_fn)(void *arg, const struct lp_cell *cell);

/* Every line in [lo, hi] of the project that holds all of w's words, ascending (0, or fn's stop). */
int sq_post_lines(struct sq_conn *c, int64_t project_id, const struct sq_post_words *w, int64_t lo,
                  int64_t hi, sq_post_line_fn fn, void *arg, struct bl_err *err);

/*
 * A histogram of one word (not a prefix): for each segment, its counts per
 * minute and level when it has them (on_cell), else its lines (on_line),
 * whose time and level the caller reads from their blocks.
 */
int sq_post_hist(struct sq_conn *c, int64_t project_id, const struct sq_post_words *w,
                 sq_post_cell_fn on_cell, sq_post_line_fn on_line, void *arg, struct bl_err *err);

#endif
