/*
 * store_sqlite_logs_cells.c - what the word postings' counts per (minute,
 * level) answer without walking a day file's blocks: a histogram of one
 * word, and whether a word AND level conditions has any line at all.
 *
 * DESIGN
 * A segment's entry of 64 lines or more carries cells (logpost.h); its
 * other entries name lines, whose time and level come from their blocks'
 * lines blobs, one block read per block. Both answers hold only where the
 * postings cover every line of the file (post_from 1); elsewhere, and past
 * WHIST_LINES_MAX lines without cells, the caller walks as before.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/xmalloc.h"
#include "search/query.h"
#include "store/logblock.h"
#include "store/logpost.h"
#include "store/sqlite_int.h"
#include "store/sqlite_post.h"
#include "core/banned.h"

#define MINUTE_US (60 * INT64_C(1000000))

/*
 * Lines of entries without cells are looked up one by one in their blocks;
 * past this many (a word of medium frequency in small batches) the walk of
 * the day's candidates is cheaper.
 */
#define WHIST_LINES_MAX 2048

struct whist {
    struct sq_lq *lq;
    struct store_histogram *h;
    int64_t lo, hi; /* the whole minutes counted here */
    int64_t *lines; /* of entries without cells: their time is in their blocks */
    size_t n, cap;
    struct lp_cell *cells; /* counted once the lines are known to be few */
    size_t ncells, cells_cap;
};

static void whist_cell(void *arg, const struct lp_cell *cell)
{
    struct whist *w = arg;

    if (cell->minute * MINUTE_US < w->lo || cell->minute * MINUTE_US >= w->hi)
        return;
    if (w->ncells == w->cells_cap) {
        w->cells_cap = w->cells_cap ? w->cells_cap * 2 : 256;
        w->cells = xrealloc(w->cells, w->cells_cap * sizeof(*w->cells));
    }
    w->cells[w->ncells++] = *cell;
}

static int whist_line(void *arg, int64_t line)
{
    struct whist *w = arg;

    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->lines = xrealloc(w->lines, w->cap * sizeof(*w->lines));
    }
    w->lines[w->n++] = line;
    return 0;
}

/* The block holding a line: its first line and lines blob, copied into *b (kept while it holds the next). */
struct wblock {
    int64_t first, nlines;
    struct buf blob;
    struct lb_lines ln;
};

static int wblock_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct wblock *b = ctx;

    b->first = sqlite3_column_int64(st, 0);
    b->nlines = sqlite3_column_int64(st, 1);
    buf_reset(&b->blob);
    if (buf_add(&b->blob, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2)) != 0 ||
        lb_lines_open(b->blob.p, b->blob.len, (size_t)b->nlines, &b->ln) != 0)
        return bl_err_set(err, BL_EPARSE, "log block %lld: corrupt lines", (long long)b->first);
    return 0;
}

/*
 * Each of lines[0..n) (ascending) with its time and level, read from its
 * block's lines blob (one block read per block, not per line); fn returns
 * nonzero to stop. A line no block of the project has is skipped.
 */
typedef int (*line_meta_fn)(void *arg, int64_t ts, int level);

static int lines_meta(struct sq_conn *c, int64_t project_id, const int64_t *lines, size_t n,
                      line_meta_fn fn, void *arg, struct bl_err *err)
{
    static const char sql[] = "SELECT first_line, nlines, lines FROM log_blocks"
                              " WHERE project_id = ?1 AND first_line <= ?2"
                              " ORDER BY first_line DESC LIMIT 1";
    struct wblock b = { -1, 0, BUF_INIT(1u << 20), { 0 } };
    int rc = 0, stop = 0;

    for (size_t i = 0; rc == 0 && !stop && i < n; i++) {
        int64_t line = lines[i];

        if (b.first < 0 || line < b.first || line >= b.first + b.nlines) {
            struct sq_query q = {
                sql, "log block of a line", { SQ_INT(project_id), SQ_INT(line) }, 2, wblock_row, &b
            };

            b.first = -1;
            rc = sq_query_each(c, &q, err);
            if (rc != 0 || b.first < 0 || line >= b.first + b.nlines)
                continue; /* no block has it: not a line of this project */
        }
        stop = fn(arg, lb_lines_ts(&b.ln, (size_t)(line - b.first)),
                  lb_lines_level(&b.ln, (size_t)(line - b.first)));
    }
    buf_release(&b.blob);
    return rc;
}

static int whist_count(void *arg, int64_t ts, int level)
{
    struct whist *w = arg;

    if (ts >= w->lo && ts < w->hi)
        sq_hist_add(w->h, ts, level, 1);
    return 0;
}

/* Nothing but one word, in a file whose every line is in postings and none retired. */
static int whist_applies(struct sq_conn *c, const struct sq_lq *lq, const struct store_histogram *h,
                         struct sq_post_words *w)
{
    static const char gone_sql[] = "SELECT count(*) FROM log_gone";
    int64_t gone = 1;
    struct sq_query q = { gone_sql, "retired log lines", { { 0 } }, 0, sq_row_int64, &gone };

    if (lq->word == NULL || lq->q->query != lq->word || lq->id_drive || lq->drive == NULL ||
        h->start % MINUTE_US != 0 || h->interval % MINUTE_US != 0)
        return 0;
    if (sq_post_words_fts(lq->drive, w) != 0 || !w->exact || w->prefix || sq_post_from(c) != 1)
        return 0;
    return sq_query_one(c, &q, NULL) == 0 && gone == 0;
}

/* t rounded up to a whole minute, without overflow at the ends of time */
static int64_t minute_up(int64_t t)
{
    int64_t m = t / MINUTE_US * MINUTE_US;

    if (m < t && m <= INT64_MAX - MINUTE_US)
        m += MINUTE_US;
    return m < t ? t : m;
}

int sq_post_hist_word(struct sq_conn *c, struct sq_lq *lq, struct store_histogram *h, int64_t *lo_m,
                      int64_t *hi_m, struct bl_err *err)
{
    struct sq_post_words w;
    struct whist wh = { lq, h, minute_up(lq->lo), 0, NULL, 0, 0, NULL, 0, 0 };
    int rc, walk;

    wh.hi = lq->hi == INT64_MAX ? INT64_MAX : lq->hi / MINUTE_US * MINUTE_US;
    if (lq->lo < 0 || wh.lo >= wh.hi || !whist_applies(c, lq, h, &w))
        return 0;
    *lo_m = wh.lo;
    *hi_m = wh.hi;
    rc = sq_post_hist(c, lq->q->project_id, &w, whist_cell, whist_line, &wh, err);
    walk = rc == 0 && wh.n > WHIST_LINES_MAX;
    for (size_t i = 0; rc == 0 && !walk && i < wh.ncells; i++)
        sq_hist_add(h, wh.cells[i].minute * MINUTE_US, wh.cells[i].level,
                    (int64_t)wh.cells[i].count);
    if (rc == 0 && !walk)
        rc = lines_meta(c, lq->q->project_id, wh.lines, wh.n, whist_count, &wh, err);
    free(wh.lines);
    free(wh.cells);
    return rc != 0 ? rc : !walk;
}

/* ---- a word and levels with no line ---- */

static size_t level_get(const void *doc, const char *field, struct slice *vals, size_t max)
{
    const char *name = ev_level_name(*(const int *)doc);

    if (max == 0 || strcmp(field, "level") != 0 || name == NULL)
        return 0;
    vals[0] = (struct slice){ name, strlen(name) };
    return 1;
}

/* The query is its word AND conditions on the level only (1), and they accept level lv (*ok). */
static int word_and_levels(const struct sq_lq *lq, int lv, int *ok)
{
    const struct query_node *root = lq->q->query;

    *ok = 1;
    if (root == NULL || root->kind != Q_AND || lq->word == NULL)
        return 0;
    for (size_t i = 0; i < root->nkids; i++) {
        const struct query_node *k = root->kids[i];

        if (k == lq->word)
            continue;
        if (k->kind != Q_FIELD || k->type != QT_LEVEL)
            return 0;
        *ok = *ok && query_match(k, level_get, &lv, lq->now);
    }
    return 1;
}

struct nomatch {
    const struct sq_lq *lq;
    int found;
    struct whist lines; /* lines of entries without cells, and their bounds */
};

static void nomatch_cell(void *arg, const struct lp_cell *cell)
{
    struct nomatch *m = arg;
    int ok;

    if (cell->minute * MINUTE_US < m->lq->hi && (cell->minute + 1) * MINUTE_US > m->lq->lo &&
        word_and_levels(m->lq, cell->level, &ok) && ok)
        m->found = 1;
}

static int nomatch_line(void *arg, int64_t line)
{
    return whist_line(&((struct nomatch *)arg)->lines, line);
}

/* A collected line (with no cells) in the range at an accepted level: found, stop. */
static int nomatch_meta(void *arg, int64_t ts, int level)
{
    struct nomatch *m = arg;
    int ok;

    if (ts >= m->lq->lo && ts < m->lq->hi && word_and_levels(m->lq, level, &ok) && ok)
        m->found = 1;
    return m->found;
}

int sq_post_no_match(struct sq_conn *c, const struct sq_lq *lq, struct bl_err *err)
{
    struct sq_post_words w;
    struct nomatch m;
    int ok, rc;

    memset(&m, 0, sizeof(m));
    m.lq = lq;
    if (!word_and_levels(lq, EV_INFO, &ok) || lq->id_drive || lq->drive == NULL ||
        sq_post_words_fts(lq->drive, &w) != 0 || !w.exact || w.prefix || sq_post_from(c) != 1)
        return 0;
    rc = sq_post_hist(c, lq->q->project_id, &w, nomatch_cell, nomatch_line, &m, err);
    if (rc == 0 && !m.found && m.lines.n <= WHIST_LINES_MAX)
        rc = lines_meta(c, lq->q->project_id, m.lines.lines, m.lines.n, nomatch_meta, &m, err);
    else if (rc == 0)
        m.found = 1; /* too many lines to look at one by one: the walk will */
    free(m.lines.lines);
    return rc != 0 ? rc : !m.found;
}
