/*
 * store_sqlite_logs_read.c - reading log lines back from their blocks.
 *
 * DESIGN
 * A day file's blocks are walked by t_max descending (the log_blocks_t
 * index). For each block the lines blob gives every line's timestamp and
 * level without decompressing, which decides the time range, the cursor
 * and every level or timestamp condition of the query (pre_eval: yes, no,
 * or maybe). A free word at the root of the query ("drive", lowered by the
 * search code) narrows the lines further through log_fts, whose rowids are
 * line numbers: all of the day's rowids when they are few, else per block
 * by rowid range. Conditions on logger, release, environment and host are
 * decided by query_match itself on the values of the block's fields blob
 * (pre_field), which are the stored columns the document gives. Blocks are
 * selected by their heads only, their blobs read through blob handles when
 * they hold a candidate (store_sqlite_logs_blk.c). Only the frames holding
 * the lines left are decompressed, and each of those lines that pre_eval
 * could not decide goes to the caller's match(), the reference evaluator,
 * so answers are exactly query_match's. A facet scan (STORE_RAW_FIELDS)
 * takes a line's fields from the fields blob without its frame.
 *
 * A block's level mask can rule it out before any blob is read; a block
 * with few candidates reads only their level and flag bytes, then their
 * timestamps if the level leaves them in. A histogram counts a line from
 * its level and PLAIN flag alone when they decide the query, and a block
 * inside one bucket per level without reading its timestamps: the common
 * word's 24 h histogram went from 317 ms to ~30 ms (docs/bench.md) with
 * its doclists read directly (store_sqlite_logs_fts.c).
 *
 * Newest first is exact even for lines that arrived out of time order: a
 * page keeps the best `want` lines by (timestamp, line number) and stops
 * at the first block whose t_max cannot beat the worst of them.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "search/query.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "store/sqlite_logs_int.h"
#include "core/banned.h"

#define MINUTE_US (60 * INT64_C(1000000))

int sq_has_blocks(struct sq_conn *c)
{
    static const char sql[] = "SELECT 1 FROM sqlite_master WHERE name = 'log_blocks'";
    int64_t v = 0;
    struct sq_query q = { sql, "schema", { { 0, 0, NULL } }, 0, sq_row_int64, &v };

    /* Only a yes is remembered: the writer may migrate an old file at any time. */
    if (c->has_blocks)
        return 1;
    if (sq_query_each(c, &q, NULL) == 0 && v == 1)
        c->has_blocks = 1;
    return c->has_blocks;
}

/* Whether line i of b is a match: *keep, with the event built in pool when asked for. */
static int line_check(struct sq_lq *lq, struct blk *b, size_t i, int verdict, struct pool *pool,
                      struct store_event *e, int *keep, struct bl_err *err)
{
    struct lb_line l;
    int rc;

    *keep = verdict == SQ_PV_YES;
    if (verdict == SQ_PV_YES && e == NULL)
        return 0;
    rc = sq_blk_line(b, i, &l, err);
    if (rc == 0)
        rc = sq_line_event(pool, lq->q->project_id, &l, e, err);
    if (rc != 0 || verdict == SQ_PV_YES)
        return rc;
    *keep = lq->q->match(lq->q->match_arg, e);
    if (*keep < 0)
        return bl_err_set(err, BL_ESTORE, "search: a stored log line cannot be read");
    return 0;
}

/* Walking one day file's blocks. */
/* A block holding candidates, when there are few (bwalk list mode). */
struct cblock {
    int64_t id, first, nlines, t_min, t_max, level_mask;
};

struct bwalk {
    struct sq_conn *c;
    struct sq_lq *lq;
    struct drive d;
    struct drive gone; /* retired lines (log_gone), ascending; almost always none */
    struct blk b;
    sqlite3_stmt *st;
    int64_t hi; /* blocks with t_min below it */
    /* list mode: only the blocks of a few candidates, by t_max descending */
    struct cblock *cb;
    size_t ncb, icb;
    int list;
    int fields;     /* the query has conditions the fields blob decides (pre_field) */
    int level_cond; /* the query has a level condition (a block's level mask may rule it out) */
    /* level_cond: what a line's level and PLAIN flag alone say, lv[2 * level + plain] */
    signed char lv[2 * EV__NLEVELS];
};

/*
 * At most this many candidates of a word in a day file: the walk visits
 * only their blocks (found by line number) instead of every block, which
 * for a rare word in a day of millions of lines is the difference between
 * a hundred block reads and ten thousand.
 */
#define LIST_MAX 4096

static int cmp_cblock(const void *pa, const void *pb)
{
    const struct cblock *a = pa, *b = pb;

    return a->t_max > b->t_max ? -1 : a->t_max < b->t_max ? 1 : 0;
}

static int cblock_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct cblock *c = ctx;

    (void)err;
    *c = (struct cblock){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                          sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                          sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5) };
    return 0;
}

/* A postings line for the probe: stops once there are more than LIST_MAX. */
static int probe_line(void *arg, int64_t line)
{
    struct drive *d = arg;

    if (d->count > LIST_MAX)
        return 1;
    d->probe[d->count++] = line;
    return 0;
}

/* A candidates' block, if it is in the walk's time range. */
static void list_add(struct bwalk *bw, const struct cblock *cb)
{
    if (cb->t_max < bw->lq->lo || cb->t_min >= bw->hi)
        return;
    if (bw->ncb % 64 == 0)
        bw->cb = xrealloc(bw->cb, (bw->ncb + 64) * sizeof(*bw->cb));
    bw->cb[bw->ncb++] = *cb;
}

/* The blocks of the candidates' line range in line order, merged with the (ascending) candidates. */
struct list_scan {
    struct bwalk *bw;
    size_t k;
};

static int list_scan_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct list_scan *ls = ctx;
    struct drive *d = &ls->bw->d;
    struct cblock cb;

    cblock_row(st, &cb, err);
    while (ls->k < d->count && d->probe[ls->k] < cb.first)
        ls->k++;
    if (ls->k < d->count && d->probe[ls->k] < cb.first + cb.nlines)
        list_add(ls->bw, &cb);
    return 0;
}

/*
 * Whether the candidates' blocks come cheaper from one scan of their line
 * range than from one query each: when there are at least a quarter as
 * many candidates as blocks in the range (a step of the scan costs a few
 * times less than a query). A medium word in a day of 2.7M lines had 2,660
 * candidates, nearly one per block, and their lookups were two thirds of a
 * newest-100 listing; a rare word's 73 candidates over 7M lines are still
 * looked up one by one.
 */
static int list_scans(const struct drive *d)
{
    return d->count > 1 &&
           (int64_t)d->count * 4 * LB_BLOCK_LINES >= d->probe[d->count - 1] - d->probe[0];
}

static int list_scan(struct bwalk *bw, struct bl_err *err)
{
    static const char sql[] =
        "SELECT id, first_line, nlines, t_min, t_max, level_mask FROM log_blocks"
        " WHERE project_id = ?1 AND first_line > ?2 AND first_line <= ?3 ORDER BY first_line";
    struct drive *d = &bw->d;
    struct list_scan ls = { bw, 0 };
    struct sq_query q = { sql,
                          "log blocks of lines",
                          { SQ_INT(bw->lq->q->project_id), SQ_INT(d->probe[0] - LB_BLOCK_LINES),
                            SQ_INT(d->probe[d->count - 1]) },
                          3,
                          list_scan_row,
                          &ls };

    return sq_query_each(bw->c, &q, err);
}

/* The candidates' blocks found one query each (sparse candidates: list_scans). */
static int list_lookups(struct bwalk *bw, struct bl_err *err)
{
    static const char sql[] =
        "SELECT id, first_line, nlines, t_min, t_max, level_mask FROM log_blocks"
        " WHERE project_id = ?1 AND first_line <= ?2"
        " ORDER BY first_line DESC LIMIT 1";
    struct drive *d = &bw->d;
    int64_t covered = -1;
    int rc = 0;

    for (size_t k = 0; rc == 0 && k < d->count; k++) {
        int64_t line = d->probe[k];
        struct cblock cb = { 0, 0, 0, 0, 0, 0 };
        struct sq_query bq = { sql,
                               "log block of a line",
                               { SQ_INT(bw->lq->q->project_id), SQ_INT(line) },
                               2,
                               cblock_row,
                               &cb };

        if (line < covered)
            continue;
        rc = sq_query_each(bw->c, &bq, err);
        if (rc != 0 || cb.nlines <= 0 || line >= cb.first + cb.nlines)
            continue; /* another project's line */
        covered = cb.first + cb.nlines;
        list_add(bw, &cb);
    }
    return rc;
}

/* The day's candidates if they are few (loaded into d, all of them), and their blocks. */
static int list_blocks(struct bwalk *bw, struct bl_err *err)
{
    static const char probe_sql[] = "SELECT rowid FROM log_fts WHERE log_fts MATCH ?1 LIMIT ?2";
    struct drive *d = &bw->d;
    struct sq_query q = { probe_sql, "log full-text", { SQ_TEXT(d->text), SQ_INT(LIST_MAX + 1) },
                          2,         sq_drive_count,  d };
    int rc;

    if (d->text == NULL || d->loaded)
        return 0;
    d->probe = xmalloc((LIST_MAX + 1) * sizeof(*d->probe));
    rc = d->post_only ? 0 : sq_query_each(bw->c, &q, err);
    /* log_fts holds the lines before post_from, the postings the rest: ascending together */
    if (rc == 0 && d->post && d->count <= LIST_MAX) {
        rc = sq_post_lines(bw->c, d->project_id, &d->pw, d->post_from, INT64_MAX - 1, probe_line, d,
                           err);
        rc = rc > 0 ? 0 : rc; /* probe_line stopped it */
    }
    if (rc != 0 || d->count > LIST_MAX) {
        d->count = 0;
        return rc;
    }
    d->loaded = 1;
    bw->list = 1;
    for (size_t k = 0; k < d->count; k++)
        sq_drive_bit_set(d, d->probe[k]);
    rc = list_scans(d) ? list_scan(bw, err) : list_lookups(bw, err);
    if (bw->ncb > 1)
        qsort(bw->cb, bw->ncb, sizeof(*bw->cb), cmp_cblock);
    return rc;
}

static int bwalk_open(struct bwalk *bw, struct sq_conn *c, struct sq_lq *lq, struct bl_err *err)
{
    static const char sql[] = "SELECT first_line, nlines, t_min, t_max, id, level_mask"
                              " FROM log_blocks WHERE project_id = ?1 AND t_max >= ?2"
                              " AND t_min < ?3 ORDER BY t_max DESC";
    int64_t hi = lq->hi;
    int rc;

    memset(bw, 0, sizeof(*bw));
    bw->c = c;
    bw->lq = lq;
    bw->d.text = lq->drive;
    if (lq->id_drive && !sq_ids_indexed(c))
        bw->d.text = NULL;
    bw->d.post_from = bw->d.text != NULL || lq->post_drive != NULL ? sq_post_from(c) : 0;
    /* words with non-ASCII letters narrow only where postings hold every line */
    if (bw->d.text == NULL && lq->post_drive != NULL && bw->d.post_from == 1) {
        bw->d.text = lq->post_drive;
        bw->d.post_only = 1;
    }
    bw->d.post = bw->d.text != NULL && bw->d.post_from > 0 &&
                 sq_post_words_fts(bw->d.text, &bw->d.pw) == 0;
    if (bw->d.post_only && !bw->d.post)
        bw->d.text = NULL;
    bw->d.project_id = lq->q->project_id;
    buf_init(&bw->b.fbuf, LB_FRAME_MAX + 1);
    buf_init(&bw->b.lbuf, 1u << 20);
    buf_init(&bw->b.fhead, 1u << 20);
    buf_init(&bw->b.zbuf, LB_FRAME_MAX);
    buf_init(&bw->b.flbuf, 1u << 20);
    bw->b.lazy = 1;
    bw->b.db = c->db;
    bw->fields = sq_has_field_cond(lq->q->query);
    bw->level_cond = sq_has_level_cond(lq->q->query);
    for (int l = 0; l < EV__NLEVELS; l++)
        for (int plain = 0; plain < 2; plain++) {
            struct sq_pv v = { 0, l, lq->now, plain ? lq->word : NULL, NULL, 0, 1 };

            bw->lv[2 * l + plain] = (signed char)sq_pre_eval(lq->q->query, &v);
        }
    bw->b.dctx = ZSTD_createDCtx();
    if (bw->b.dctx == NULL)
        return bl_err_set(err, BL_ENOMEM, "zstd");
    if (lq->cur_ts != INT64_MAX && lq->cur_ts < hi)
        hi = lq->cur_ts + 1;
    bw->hi = hi;
    rc = sq_drive_gone_load(c, &bw->gone, err);
    if (rc == 0)
        rc = list_blocks(bw, err);
    if (rc == 0 && bw->list)
        return 0;
    if (rc == 0)
        rc = sq_stmt(c, sql, &bw->st, err);
    if (rc == 0 && (sqlite3_bind_int64(bw->st, 1, lq->q->project_id) != SQLITE_OK ||
                    sqlite3_bind_int64(bw->st, 2, lq->lo) != SQLITE_OK ||
                    sqlite3_bind_int64(bw->st, 3, hi) != SQLITE_OK))
        rc = sq_fail(c, "log blocks: bind", err);
    return rc;
}

static void bwalk_close(struct bwalk *bw)
{
    if (bw->st != NULL)
        sq_done(bw->st);
    if (bw->b.hl != NULL)
        sqlite3_blob_close(bw->b.hl);
    if (bw->b.hf != NULL)
        sqlite3_blob_close(bw->b.hf);
    if (bw->b.hfl != NULL)
        sqlite3_blob_close(bw->b.hfl);
    buf_release(&bw->b.flbuf);
    buf_release(&bw->b.fbuf);
    buf_release(&bw->b.lbuf);
    buf_release(&bw->b.fhead);
    buf_release(&bw->b.zbuf);
    ZSTD_freeDCtx(bw->b.dctx);
    free(bw->d.bits);
    free(bw->d.probe);
    free(bw->gone.ids);
    free(bw->cb);
}

/* The next block: 0 with one, 1 at the end. */
static int bwalk_next(struct bwalk *bw, struct bl_err *err)
{
    int src;

    if (bw->list) {
        const struct cblock *cb;

        if (bw->icb == bw->ncb)
            return 1;
        cb = &bw->cb[bw->icb++];
        bw->b.st = NULL;
        bw->b.id = cb->id;
        bw->b.first = cb->first;
        bw->b.nlines = (size_t)cb->nlines;
        bw->b.t_min = cb->t_min;
        bw->b.t_max = cb->t_max;
        bw->b.level_mask = (unsigned)cb->level_mask;
        bw->b.frames_open = 0;
        bw->b.fields_open = 0;
        bw->b.frame = SIZE_MAX;
        return 0;
    }
    src = sqlite3_step(bw->st);
    if (src == SQLITE_DONE)
        return 1;
    if (src != SQLITE_ROW)
        return sq_fail(bw->c, "log blocks", err);
    sq_blk_head(&bw->b, bw->st);
    bw->b.id = sqlite3_column_int64(bw->st, 4);
    bw->b.level_mask = (unsigned)sqlite3_column_int64(bw->st, 5);
    return 0;
}

/*
 * A line that passed the index for the query's word is a match of that
 * word when the index cuts words as query_match does: word postings always
 * (one word, not cut), log_fts when the line's text is plain ASCII (there
 * unicode61 cuts alphanumeric runs and folds ASCII case, as query_match).
 */
static int decided_by_index(const struct bwalk *bw, size_t i)
{
    if (bw->d.post && bw->b.first + (int64_t)i >= bw->d.post_from)
        return bw->d.pw.exact;
    return (lb_lines_flags(&bw->b.ln, i) & LB_FLAG_PLAIN) != 0;
}

/*
 * The block's lines blob, of its candidates only when they are few (a
 * rare or medium word has about one a block: its whole 5 KB copy was most
 * of such a walk).
 */
#define FEW_CANDIDATES 32

static int bwalk_lines(struct bwalk *bw, struct bl_err *err)
{
    const struct drive *d = &bw->d;

    if (d->nidx > 0 && d->nidx <= FEW_CANDIDATES)
        return sq_blk_lines_some(&bw->b, d->idx[0], d->idx[d->nidx - 1], err);
    return sq_blk_lines(&bw->b, err);
}

/*
 * Drops the block's candidates whose level (and PLAIN flag, for the word)
 * rule them out whatever else they hold: `word level:warning` reads no
 * timestamp of a line at another level.
 */
static void level_filter(struct bwalk *bw)
{
    struct drive *d = &bw->d;
    size_t n = 0;

    if (!bw->level_cond)
        return;
    for (size_t k = 0; k < d->nidx; k++) {
        size_t i = d->idx[k];
        int level = bw->b.ln.levels[i];

        if (level >= EV__NLEVELS ||
            bw->lv[2 * level + (decided_by_index(bw, i) ? 1 : 0)] != SQ_PV_NO)
            d->idx[n++] = (uint16_t)i;
    }
    d->nidx = n;
}

/* Whether the block's levels rule out every line (then neither blob nor index is read). */
static int bwalk_level_skip(const struct bwalk *bw)
{
    return bw->level_cond && !sq_levels_may_match(bw->lq->q->query, bw->b.level_mask, bw->lq->now);
}

/* Line i of the block: its verdict before the payload, SQ_PV_NO when it is out. */
static int line_pre(struct bwalk *bw, size_t i, int64_t *ts, int64_t *tb)
{
    const struct sq_lq *lq = bw->lq;

    *ts = lb_lines_ts(&bw->b.ln, i);
    *tb = 2 * (bw->b.first + (int64_t)i);
    if (*ts < lq->lo || *ts >= lq->hi)
        return SQ_PV_NO;
    if (bw->gone.n > 0 && sq_drive_is_gone(&bw->gone, bw->b.first + (int64_t)i))
        return SQ_PV_NO;
    if (lq->cur_ts != INT64_MAX && (*ts > lq->cur_ts || (*ts == lq->cur_ts && *tb >= lq->cur_tb)))
        return SQ_PV_NO;
    {
        struct sq_pv v = { *ts,
                           lb_lines_level(&bw->b.ln, i),
                           lq->now,
                           decided_by_index(bw, i) ? lq->word : NULL,
                           bw->fields && sq_blk_fields(&bw->b) ? &bw->b.fl : NULL,
                           i,
                           0 };

        return sq_pre_eval(lq->q->query, &v);
    }
}

/* Pages: the best want lines, newest first. */

struct cand {
    int64_t ts, tb;
    size_t i;
    int verdict;
};

static int cmp_cand_desc(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;

    if (a->ts != b->ts)
        return a->ts > b->ts ? -1 : 1;
    return a->tb > b->tb ? -1 : a->tb < b->tb ? 1 : 0;
}

struct top {
    struct store_event *v;
    int64_t *tb;
    size_t n, want;
};

static int beats_worst(const struct top *t, int64_t ts, int64_t tb)
{
    if (t->n < t->want)
        return 1;
    return ts > t->v[t->n - 1].timestamp ||
           (ts == t->v[t->n - 1].timestamp && tb > t->tb[t->n - 1]);
}

static void top_insert(struct top *t, const struct store_event *e, int64_t tb)
{
    size_t at = t->n;

    while (at > 0 && (e->timestamp > t->v[at - 1].timestamp ||
                      (e->timestamp == t->v[at - 1].timestamp && tb > t->tb[at - 1])))
        at--;
    if (at >= t->want)
        return;
    if (t->n == t->want)
        t->n--;
    memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(*t->v));
    memmove(&t->tb[at + 1], &t->tb[at], (t->n - at) * sizeof(*t->tb));
    t->v[at] = *e;
    t->tb[at] = tb;
    t->n++;
}

static int page_block(struct bwalk *bw, struct top *t, struct cand *cands, struct pool *pool,
                      struct pool *scratch, struct bl_err *err)
{
    size_t nc = 0;
    int rc;

    if (bwalk_level_skip(bw))
        return 0;
    /* the matches so far say the lazy blocks will not fill the page: all candidates now */
    if (bw->d.text != NULL && !bw->d.loaded && bw->d.blocks > 0 &&
        t->n / bw->d.blocks * (SQ_DRIVE_LAZY_BLOCKS - bw->d.blocks) < t->want - t->n) {
        rc = sq_drive_load(bw->c, &bw->d, err);
        if (rc != 0)
            return rc;
    }
    rc = sq_drive_block(bw->c, &bw->d, bw->b.first, bw->b.nlines, err);
    if (rc != 0 || bw->d.none)
        return rc;
    rc = bwalk_lines(bw, err);
    if (rc == 0)
        level_filter(bw);
    if (rc == 0 && bw->d.nidx > 0)
        rc = sq_blk_lines_ts(&bw->b, err);
    for (size_t k = 0; rc == 0 && k < bw->d.nidx; k++) {
        size_t i = bw->d.idx[k];
        int64_t ts = 0, tb = 0;
        int v = line_pre(bw, i, &ts, &tb);

        if (v != SQ_PV_NO && beats_worst(t, ts, tb))
            cands[nc++] = (struct cand){ ts, tb, i, v };
    }
    if (nc > 1)
        qsort(cands, nc, sizeof(*cands), cmp_cand_desc);
    for (size_t k = 0; rc == 0 && k < nc && beats_worst(t, cands[k].ts, cands[k].tb); k++) {
        struct store_event e;
        int keep = 1;

        bw->lq->scanned++;
        if (cands[k].verdict == SQ_PV_MAYBE) {
            pool_reset(scratch);
            rc = line_check(bw->lq, &bw->b, cands[k].i, SQ_PV_MAYBE, scratch, &e, &keep, err);
        }
        if (rc == 0 && keep) {
            const struct store_event_query *q = bw->lq->q;
            struct lb_line l;

            if (q->with_raw >= STORE_RAW_FIELDS &&
                sq_blk_fields_event(&bw->b, cands[k].i, q->project_id,
                                    q->with_raw == STORE_RAW_FIELDS_SERVICE, pool, &e)) {
                top_insert(t, &e, cands[k].tb);
                continue;
            }
            rc = sq_blk_line(&bw->b, cands[k].i, &l, err);
            if (rc == 0 && q->with_raw == STORE_RAW_FIELDS)
                l.str[LB_RAW] = NULL; /* not asked for */
            if (rc == 0)
                rc = sq_line_event(pool, q->project_id, &l, &e, err);
            if (rc == 0)
                top_insert(t, &e, cands[k].tb);
        }
    }
    return rc;
}

int sq_lines_page(struct sq_conn *c, struct sq_lq *lq, size_t want, struct pool *pool,
                  struct store_event *out, int64_t *tb, size_t *n, struct bl_err *err)
{
    struct top t = { out, tb, 0, want };
    struct bwalk bw;
    struct pool scratch;
    struct cand *cands;
    int rc;

    *n = 0;
    if (want == 0 || !sq_has_blocks(c))
        return 0;
    rc = sq_post_no_match(c, lq, err); /* a word and levels none of its lines has */
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    cands = xmalloc(LB_BLOCK_LINES * sizeof(*cands));
    pool_init(&scratch, 16384);
    rc = bwalk_open(&bw, c, lq, err);
    while (rc == 0 && (rc = bwalk_next(&bw, err)) == 0) {
        /* Blocks come by t_max: once one cannot beat the worst kept line, none can. */
        if (t.n == t.want && bw.b.t_max < t.v[t.n - 1].timestamp)
            break;
        rc = page_block(&bw, &t, cands, pool, &scratch, err);
    }
    bwalk_close(&bw);
    pool_release(&scratch);
    free(cands);
    *n = t.n;
    return rc == 1 ? 0 : rc;
}

/* Histograms. */

void sq_hist_add(struct store_histogram *h, int64_t ts, int level, int64_t count)
{
    int64_t b;

    if (ts < h->start || level < 0 || level >= EV__NLEVELS)
        return;
    b = (ts - h->start) / h->interval;
    if (b >= 0 && (size_t)b < h->nbuckets)
        h->counts[(size_t)b * EV__NLEVELS + (size_t)level] += count;
}

struct minute_ctx {
    struct sq_lq *lq;
    struct store_histogram *h;
};

static int minute_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct minute_ctx *m = ctx;
    int64_t minute = sqlite3_column_int64(st, 0);
    int level = sqlite3_column_int(st, 1);

    struct sq_pv v = { minute, level, m->lq->now, NULL, NULL, 0, 0 };

    (void)err;
    if (sq_pre_eval(m->lq->q->query, &v) == SQ_PV_YES)
        sq_hist_add(m->h, minute, level, sqlite3_column_int64(st, 2));
    return 0;
}

/* Only levels asked, buckets on whole minutes: the per-minute counts answer. */
static int hist_minutes(struct sq_conn *c, struct sq_lq *lq, struct store_histogram *h,
                        struct bl_err *err)
{
    static const char sql[] = "SELECT minute, level, count FROM log_minutes"
                              " WHERE project_id = ?1 AND minute >= ?2 AND minute < ?3";
    struct minute_ctx m = { lq, h };
    struct sq_query q = {
        sql, "log minutes", { SQ_INT(lq->q->project_id), SQ_INT(lq->lo), SQ_INT(lq->hi) },
        3,   minute_row,    &m
    };

    return sq_query_each(c, &q, err);
}

/*
 * What a line's level alone says, and whether the index decided its word
 * (hv[2 * level + decided], decided_by_index),
 * for a walk where nothing else is line by line (no cursor, no retired
 * lines): then a common word's lines are counted without pre_eval. SQ_PV_MAYBE
 * sends a line through line_pre and, if need be, query_match.
 */
static void hist_verdicts(const struct bwalk *bw, signed char *hv)
{
    const struct sq_lq *lq = bw->lq;
    int simple = bw->gone.n == 0 && lq->cur_ts == INT64_MAX;

    for (int l = 0; l < EV__NLEVELS; l++)
        for (int plain = 0; plain < 2; plain++) {
            struct sq_pv v = { 0, l, lq->now, plain ? lq->word : NULL, NULL, 0, 1 };

            hv[2 * l + plain] = (signed char)(simple ? sq_pre_eval(lq->q->query, &v) : SQ_PV_MAYBE);
        }
}

/*
 * A block's candidates into the histogram. A line whose level and flag
 * decide it (hist_verdicts) costs two byte reads; when the whole block is
 * inside the range and inside one bucket, its lines' timestamps are not
 * read at all and the block adds its counts per level once.
 */
static int hist_block(struct bwalk *bw, struct store_histogram *h, const signed char *hv,
                      struct pool *scratch, struct bl_err *err)
{
    struct sq_lq *lq = bw->lq;
    const struct blk *b = &bw->b;
    int64_t counts[EV__NLEVELS] = { 0 };
    int inside = b->t_min >= lq->lo && b->t_max < lq->hi && b->t_min >= h->start;
    int one = inside && (b->t_min - h->start) / h->interval == (b->t_max - h->start) / h->interval;
    int rc = bwalk_lines(bw, err);

    for (size_t k = 0; rc == 0 && k < bw->d.nidx; k++) {
        size_t i = bw->d.idx[k];
        int level = b->ln.levels[i], v = SQ_PV_MAYBE, keep;
        int64_t ts = 0, tb = 0;
        struct store_event e;

        if (level < EV__NLEVELS)
            v = hv[2 * level + (decided_by_index(bw, i) ? 1 : 0)];
        if (v == SQ_PV_NO)
            continue;
        if (v == SQ_PV_YES && one) {
            counts[level]++;
            continue;
        }
        rc = sq_blk_lines_ts(&bw->b, err);
        if (rc == 0 && v == SQ_PV_YES) {
            ts = lb_lines_ts(&b->ln, i);
            if (ts >= lq->lo && ts < lq->hi)
                sq_hist_add(h, ts, level, 1);
            continue;
        }
        if (rc != 0)
            break;
        v = line_pre(bw, i, &ts, &tb);
        keep = v == SQ_PV_YES;
        if (v == SQ_PV_MAYBE) {
            pool_reset(scratch);
            lq->scanned++;
            rc = line_check(lq, &bw->b, i, v, scratch, &e, &keep, err);
        }
        if (rc == 0 && keep)
            sq_hist_add(h, ts, level, 1);
    }
    for (int l = 0; l < EV__NLEVELS; l++)
        if (counts[l] > 0)
            sq_hist_add(h, b->t_min, l, counts[l]);
    return rc;
}

/* The walk of a histogram: every candidate line checked and counted (load: the day's at once). */
static int hist_walk(struct sq_conn *c, struct sq_lq *lq, struct store_histogram *h, int load,
                     struct bl_err *err)
{
    struct bwalk bw;
    struct pool scratch;
    signed char hv[2 * EV__NLEVELS];
    int rc;

    pool_init(&scratch, 16384);
    rc = bwalk_open(&bw, c, lq, err);
    if (rc == 0 && load)
        rc = sq_drive_load(c, &bw.d, err);
    if (rc == 0)
        hist_verdicts(&bw, hv);
    while (rc == 0 && (rc = bwalk_next(&bw, err)) == 0) {
        if (bwalk_level_skip(&bw))
            continue;
        rc = sq_drive_block(c, &bw.d, bw.b.first, bw.b.nlines, err);
        if (rc == 0 && !bw.d.none)
            rc = hist_block(&bw, h, hv, &scratch, err);
    }
    bwalk_close(&bw);
    pool_release(&scratch);
    return rc == 1 ? 0 : rc;
}

int sq_lines_hist(struct sq_conn *c, struct sq_lq *lq, struct store_histogram *h,
                  struct bl_err *err)
{
    struct sq_lq edge = *lq;
    int64_t lo_m = 0, hi_m = 0;
    int rc;

    if (!sq_has_blocks(c))
        return 0;
    if (sq_levels_only(lq->q->query) && h->start % MINUTE_US == 0 && h->interval % MINUTE_US == 0 &&
        lq->lo % MINUTE_US == 0 && lq->hi % MINUTE_US == 0)
        return hist_minutes(c, lq, h, err);
    rc = sq_post_no_match(c, lq, err); /* a word and levels none of its lines has */
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    /* one word: its postings count the whole minutes, a walk the partial ones at the ends */
    rc = sq_post_hist_word(c, lq, h, &lo_m, &hi_m, err);
    if (rc != 1)
        return rc != 0 ? rc : hist_walk(c, lq, h, 1, err); /* every block: the day's at once */
    rc = 0;
    if (lq->lo < lo_m) {
        edge.hi = lo_m;
        rc = hist_walk(c, &edge, h, 0, err);
    }
    if (rc == 0 && hi_m < lq->hi) {
        edge.lo = hi_m;
        edge.hi = lq->hi;
        rc = hist_walk(c, &edge, h, 0, err);
    }
    lq->scanned = edge.scanned;
    return rc;
}

/* Lookup by id. */
