/*
 * store_sqlite_logs.c - write_batch's log lines: blocks, their full-text
 * index and per-minute counts (day-file migration 3).
 *
 * DESIGN
 * Log lines (kind EV_KIND_LOG) are not rows. write_day hands each line of
 * the day to sq_logs_add, which appends it to its project's open block
 * (logblock.h); a block is written when it reaches LB_BLOCK_LINES lines,
 * and every open block is written by sq_logs_flush at the end of the day
 * file's transaction. So a block never spans two batches, and the newest
 * line is searchable as soon as its batch commits ("short blocks flushed
 * often": the delay to search is the batch's own, no in-memory tail).
 * Writing a block allocates its line numbers (first_line .. first_line +
 * nlines - 1, rising in the file), adds the lines' words to the project's
 * word postings of this transaction (a segment stored by sq_logs_flush,
 * store_sqlite_logs_post.c; files written before day-file migration 6 keep
 * their earlier lines in the contentless FTS5 table log_fts, which readers
 * still ask) and adds the lines to log_minutes. The
 * block's fields blob (log_block_fields, day-file migration 4, logblock.h)
 * codes each line's logger, release, environment and host into a small
 * per-block dictionary, so facets and conditions on those fields read a
 * few bytes per line instead of decompressing its frame and re-normalizing
 * its payload; blocks written before it have none and are read through
 * their records as before (no rebuild). (A level token in each line's full-text row, so that a word
 * with a level condition is one FTS5 intersection, measured slower: the
 * AND of a word's 10,000 rows with a level's two million took 40 ms in
 * FTS5, more than reading the word's 10,000 blocks' levels.)
 *
 * Exactly once: the block, its index rows and counts commit in the same
 * day-file transaction as part_nodes.applied_lsn, so a line below
 * applied_lsn is already stored (sq_logs_replay counts it, never writes
 * it), exactly as the DESIGN comment of store_sqlite_write.c argues for
 * rows. A crash loses the open blocks together with their batch, which the
 * journal replays.
 *
 * Duplicates: a line whose id the ingest derived from its (lsn, seq) can
 * only come back through a replay, which applied_lsn answers. A line with
 * an id the client chose (a Sentry message below the issue level, an
 * Elasticsearch _id) is kept in log_ids, whose key refuses a second line
 * with the same id in the day file like the events table's did.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "store/logblock.h"
#include "store/logpost.h"
#include "store/sqlite_int.h"
#include "store/sqlite_post.h"
#include "core/banned.h"

#define MINUTE_US (60 * INT64_C(1000000))

/*
 * One project's block being filled: write_batch's lines as their indexes
 * in the batch (k, built when the block is written: from what prepare
 * made of exactly these lines, else here), a converted row's already in
 * the builder, with the full-text text of each line.
 */
struct logproj {
    int64_t project_id;
    int64_t node; /* the node whose lines these are (converted old rows keep theirs) */
    struct lb_builder b;
    struct buf text; /* the words of its lines (message, title, exception text, id tokens) */
    size_t text_end[LB_BLOCK_LINES];
    size_t k[LB_BLOCK_LINES];
    size_t nk;
    /* the word postings of this transaction's lines */
    struct lp_builder post;
    int64_t post_base; /* the segment's first line; -1: none yet */
    int64_t post_lines;
    /*
     * Or, while every block so far came prepared from one run in its
     * order: the run whose gathered postings the segment will be
     * (post_lines stays 0), its lines so far, and their segment ordinals.
     */
    size_t run, run_next;
    uint32_t *map;
    size_t map_cap;
};

struct logminute {
    int64_t project_id, minute;
    int level;
    int64_t count;
};

struct sq_logw {
    struct logproj **p;
    size_t np, cap;
    int64_t next_line; /* 0: not read in this transaction yet */
    struct sq_wctx *w; /* the batch whose lines the k of the blocks name */
    struct buf lines, frames, fields;
    struct buf pages, ends; /* a segment's, as it is written */
    struct logminute *m;
    size_t nm, mcap;
};

void sq_logs_free(struct sq_store *s)
{
    struct sq_logw *lw = s->logw;

    if (lw == NULL)
        return;
    for (size_t i = 0; i < lw->np; i++) {
        lb_builder_release(&lw->p[i]->b);
        lp_builder_release(&lw->p[i]->post);
        free(lw->p[i]->map);
        buf_release(&lw->p[i]->text);
        free(lw->p[i]);
    }
    free(lw->p);
    buf_release(&lw->lines);
    buf_release(&lw->frames);
    buf_release(&lw->fields);
    buf_release(&lw->pages);
    buf_release(&lw->ends);
    free(lw->m);
    free(lw);
    s->logw = NULL;
}

static struct sq_logw *logw_of(struct sq_store *s)
{
    if (s->logw == NULL) {
        s->logw = xcalloc(1, sizeof(*s->logw));
        buf_init(&s->logw->lines, 1u << 20);
        buf_init(&s->logw->frames, (size_t)LB_FRAME_MAX * 9);
        buf_init(&s->logw->fields, 1u << 20);
        buf_init(&s->logw->pages, (size_t)1 << 31);
        buf_init(&s->logw->ends, (size_t)1 << 24);
    }
    return s->logw;
}

void sq_logs_begin(struct sq_store *s)
{
    struct sq_logw *lw = logw_of(s);

    for (size_t i = 0; i < lw->np; i++) {
        lb_builder_reset(&lw->p[i]->b);
        buf_reset(&lw->p[i]->text);
        lw->p[i]->nk = 0;
        lp_builder_reset(&lw->p[i]->post);
        lw->p[i]->post_base = -1;
        lw->p[i]->post_lines = 0;
        lw->p[i]->run_next = 0;
    }
    lw->w = NULL;
    lw->next_line = 0;
    lw->nm = 0;
}

int sq_set_log_codec(struct store *st, int codec)
{
    if (codec != STORE_LOG_LZ4 && codec != STORE_LOG_ZSTD)
        return BL_EINVAL;
    atomic_store_explicit(&sq_of(st)->log_codec, codec, memory_order_relaxed);
    return 0;
}

int sq_log_codec(struct store *st)
{
    return atomic_load_explicit(&sq_of(st)->log_codec, memory_order_relaxed) == STORE_LOG_ZSTD
               ? LB_CODEC_ZSTD
               : LB_CODEC_LZ4;
}

/*
 * The project's block being filled, its frames written with the codec set
 * now (a block whose frames mix codecs reads back all the same).
 */
static struct logproj *proj_of(struct sq_store *s, int64_t project_id, int64_t node)
{
    struct sq_logw *lw = logw_of(s);
    int codec = sq_log_codec(&s->base);
    struct logproj *p;

    for (size_t i = 0; i < lw->np; i++)
        if (lw->p[i]->project_id == project_id && lw->p[i]->node == node) {
            lb_builder_codec(&lw->p[i]->b, codec);
            return lw->p[i];
        }
    if (lw->np == lw->cap) {
        lw->cap = lw->cap ? lw->cap * 2 : 4;
        lw->p = xrealloc(lw->p, lw->cap * sizeof(*lw->p));
    }
    p = xcalloc(1, sizeof(*p));
    p->project_id = project_id;
    p->node = node;
    lb_builder_init(&p->b, SQ_ZSTD_LEVEL);
    lb_builder_codec(&p->b, codec);
    buf_init(&p->text, SQ_LOG_TEXT_MAX);
    lp_builder_init(&p->post);
    p->post_base = -1;
    lw->p[lw->np++] = p;
    return p;
}

static void count_minute(struct sq_logw *lw, int64_t project_id, int64_t ts, int level)
{
    int64_t minute = ts - ts % MINUTE_US;

    /* Lines arrive mostly in time order: the entry is usually among the last few. */
    for (size_t i = lw->nm; i-- > 0 && i + 8 >= lw->nm;) {
        struct logminute *m = &lw->m[i];

        if (m->project_id == project_id && m->minute == minute && m->level == level) {
            m->count++;
            return;
        }
    }
    if (lw->nm == lw->mcap) {
        lw->mcap = lw->mcap ? lw->mcap * 2 : 64;
        lw->m = xrealloc(lw->m, lw->mcap * sizeof(*lw->m));
    }
    lw->m[lw->nm++] = (struct logminute){ project_id, minute, level, 1 };
}

static int next_line(struct sq_conn *c, struct sq_logw *lw, struct bl_err *err)
{
    static const char sql[] = "SELECT first_line + nlines FROM log_blocks ORDER BY id DESC LIMIT 1";
    struct sq_query q = {
        sql, "next log line", { { 0, 0, NULL } }, 0, sq_row_int64, &lw->next_line
    };
    int rc;

    if (lw->next_line > 0)
        return 0;
    rc = sq_query_each(c, &q, err);
    if (rc == 0 && lw->next_line < 1)
        lw->next_line = 1;
    return rc;
}

/* A block's row, with its blobs and its lines' words. */
struct blockrow {
    int64_t project_id, node;
    size_t nlines;
    int64_t t_min, t_max;
    uint64_t lsn_min, lsn_max;
    unsigned level_mask;
    struct slice lines, frames, fields;
    const char *text; /* line i's text: [ends[i - 1], ends[i]) (from 0 for i = 0) */
    const size_t *ends;
    const int64_t *ts; /* each line's timestamp and level */
    const unsigned char *level;
    const struct sq_prep_block *pb; /* what prepare made of it; NULL: built here */
};

static int post_lines(struct sq_conn *c, struct sq_logw *lw, struct logproj *p,
                      const struct blockrow *r, int64_t first, struct bl_err *err);

/* Whether block pb, landing at line first, continues the run p follows (or starts one). */
static int can_follow(const struct sq_logw *lw, const struct logproj *p,
                      const struct sq_prep_block *pb, int64_t first)
{
    if (pb == NULL || p->post_lines > 0 || sq_prep_run_lines(lw->w->prep, pb->run) == 0)
        return 0;
    if (p->run_next == 0)
        return pb->run_off == 0;
    return pb->run == p->run && pb->run_off == p->run_next &&
           first + (int64_t)pb->nlines - p->post_base <= LP_LINES_MAX;
}

static void follow(struct logproj *p, const struct sq_prep_block *pb, int64_t first)
{
    size_t need = p->run_next + pb->nlines;

    if (need > p->map_cap) {
        p->map_cap = need > 2 * p->map_cap ? need : 2 * p->map_cap;
        p->map = xrealloc(p->map, p->map_cap * sizeof(*p->map));
    }
    if (p->run_next == 0) {
        p->run = pb->run;
        p->post_base = first;
    }
    for (size_t i = 0; i < pb->nlines; i++)
        p->map[p->run_next + i] = (uint32_t)(first - p->post_base + (int64_t)i);
    p->run_next = need;
}

/* The lines of the run p followed into p's own postings, as if never followed. */
static int unfollow(struct sq_conn *c, struct sq_logw *lw, struct logproj *p, struct bl_err *err)
{
    size_t n = p->run_next, done = 0;
    int rc = 0;

    p->run_next = 0;
    for (size_t j = 0; rc == 0 && done < n; j++) {
        const struct sq_prep_block *pb = sq_prep_run_block(lw->w->prep, p->run, j);
        struct blockrow r;

        memset(&r, 0, sizeof(r));
        r.nlines = pb->nlines;
        r.text = sq_prep_data(lw->w->prep) + pb->text;
        r.ends = pb->ends;
        r.ts = pb->ts;
        r.level = pb->level;
        rc = post_lines(c, lw, p, &r, p->post_base + p->map[done], err);
        done += pb->nlines;
    }
    return rc;
}

/* The segment of the run p followed to its end: its gathered words, at the lines they got. */
static int write_post_run(struct sq_conn *c, struct sq_logw *lw, struct logproj *p,
                          struct bl_err *err)
{
    size_t n = p->run_next;
    uint32_t span = p->map[n - 1] + 1;
    struct sq_post_seg seg = { 0, p->project_id, p->post_base, span, (int64_t)n, 0 };
    int rc;

    buf_reset(&lw->pages);
    buf_reset(&lw->ends);
    /* Consecutive lines: the pages prepare encoded are these very bytes. */
    rc = sq_prep_post(lw->w->prep, p->run, span == n ? NULL : p->map, &lw->pages, &lw->ends);
    if (rc != 0)
        rc = bl_err_set(err, rc, "log postings: cannot encode");
    else
        rc = sq_post_write(c, &seg, &lw->pages, &lw->ends, err);
    p->run_next = 0;
    p->post_base = -1;
    lw->w->res->log_posts_prepared++;
    return rc;
}

/* Stores p's postings segment (if it has lines) and empties it. */
static int write_post(struct sq_conn *c, struct sq_logw *lw, struct logproj *p, struct bl_err *err)
{
    struct sq_post_seg seg;
    int rc;

    if (p->run_next > 0 && p->run_next == sq_prep_run_lines(lw->w->prep, p->run))
        return write_post_run(c, lw, p, err);
    if (p->run_next > 0 && (rc = unfollow(c, lw, p, err)) != 0)
        return rc;
    if (p->post_lines == 0)
        return 0;
    if (lw->w != NULL)
        lw->w->res->log_posts_built++;
    seg = (struct sq_post_seg){
        0, p->project_id, p->post_base, (int64_t)p->post.nlines, p->post_lines, 0
    };
    buf_reset(&lw->pages);
    buf_reset(&lw->ends);
    rc = lp_builder_finish(&p->post, &lw->pages, &lw->ends);
    if (rc != 0)
        rc = bl_err_set(err, rc, "log postings: cannot encode");
    else
        rc = sq_post_write(c, &seg, &lw->pages, &lw->ends, err);
    lp_builder_reset(&p->post);
    p->post_base = -1;
    p->post_lines = 0;
    return rc;
}

/* The block's lines (numbered from first) into p's postings. */
static int post_lines(struct sq_conn *c, struct sq_logw *lw, struct logproj *p,
                      const struct blockrow *r, int64_t first, struct bl_err *err)
{
    size_t from = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < r->nlines; i++) {
        int64_t line = first + (int64_t)i;

        if (p->post_base >= 0 && line - p->post_base >= LP_LINES_MAX)
            rc = write_post(c, lw, p, err); /* a segment spans at most LP_LINES_MAX lines */
        if (rc != 0)
            break;
        if (p->post_base < 0)
            p->post_base = line;
        rc = lp_builder_line(&p->post, (uint32_t)(line - p->post_base), r->ts[i], r->level[i]);
        if (rc == 0)
            rc = lp_builder_text(&p->post, r->text + from, r->ends[i] - from);
        if (rc != 0)
            rc = bl_err_set(err, rc, "log postings: cannot add a line");
        p->post_lines++;
        from = r->ends[i];
    }
    return rc;
}

/* Inserts the block with the next line numbers, its fields and its lines' index rows. */
static int insert_block(struct sq_conn *c, struct sq_logw *lw, struct logproj *p,
                        const struct blockrow *r, struct bl_err *err)
{
    static const char sql[] =
        "INSERT INTO log_blocks(project_id, node, first_line, nlines, t_min, t_max, lsn_min,"
        " lsn_max, level_mask, lines, frames) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    static const char fields_sql[] = "INSERT INTO log_block_fields(id, fields) VALUES(?1, ?2)";
    int64_t first;
    int rc = next_line(c, lw, err);

    if (rc != 0)
        return rc;
    first = lw->next_line;
    {
        struct sq_query q = { sql,
                              "write log block",
                              { SQ_INT(r->project_id), SQ_INT(r->node), SQ_INT(first),
                                SQ_INT(r->nlines), SQ_INT(r->t_min), SQ_INT(r->t_max),
                                SQ_INT(r->lsn_min), SQ_INT(r->lsn_max), SQ_INT(r->level_mask),
                                SQ_BLOB(r->lines.p, r->lines.len),
                                SQ_BLOB(r->frames.p, r->frames.len) },
                              11,
                              NULL,
                              NULL };

        rc = sq_query_each(c, &q, err);
        if (rc == 0) {
            q = (struct sq_query){ fields_sql,
                                   "write log block fields",
                                   { SQ_INT(sqlite3_last_insert_rowid(c->db)),
                                     SQ_BLOB(r->fields.p, r->fields.len) },
                                   2,
                                   NULL,
                                   NULL };
            rc = sq_query_each(c, &q, err);
        }
    }
    if (rc == 0 && can_follow(lw, p, r->pb, first))
        follow(p, r->pb, first);
    else if (rc == 0 && p->run_next > 0)
        rc = unfollow(c, lw, p, err);
    if (rc == 0 && p->run_next == 0)
        rc = post_lines(c, lw, p, r, first, err);
    if (rc == 0)
        lw->next_line = first + (int64_t)r->nlines;
    return rc;
}

/* p's batch lines into its builder, as prepare builds them (the fallback). */
static int build_lines(struct sq_logw *lw, struct logproj *p)
{
    struct sq_wctx *w = lw->w;
    int rc = 0;

    for (size_t i = 0; i < p->nk && rc == 0; i++) {
        const struct event *e = &w->ev[p->k[i]];
        const char *text[3] = { e->message, e->title, e->search_text };
        struct lb_line l;

        sq_logs_line(e, w->ts[p->k[i]], sq_tags_json(&w->tags, e), &l);
        rc = sq_logs_put(&p->b, &p->text, p->text_end, &l, text);
    }
    return rc;
}

/* The block prepare made of exactly p's lines, or NULL. */
static const struct sq_prep_block *prepared(const struct sq_logw *lw, const struct logproj *p)
{
    const struct sq_wctx *w = lw->w;

    if (w == NULL || w->prep == NULL || p->node != w->s->node)
        return NULL;
    return sq_prep_find(w->prep, w->ev, w->n, p->project_id, p->k, p->nk);
}

static int write_prepared(struct sq_conn *c, struct sq_logw *lw, struct logproj *p,
                          const struct sq_prep_block *pb, struct bl_err *err)
{
    const char *d = sq_prep_data(lw->w->prep);
    struct blockrow r = { p->project_id,
                          p->node,
                          pb->nlines,
                          pb->t_min,
                          pb->t_max,
                          pb->lsn_min,
                          pb->lsn_max,
                          pb->level_mask,
                          { d + pb->lines, pb->lines_len },
                          { d + pb->frames, pb->frames_len },
                          { d + pb->fields, pb->fields_len },
                          d + pb->text,
                          pb->ends,
                          pb->ts,
                          pb->level,
                          pb };

    lw->w->res->log_blocks_prepared++;
    return insert_block(c, lw, p, &r, err);
}

static int write_built(struct sq_conn *c, struct sq_logw *lw, struct logproj *p, struct bl_err *err)
{
    struct blockrow r;
    int rc;

    buf_reset(&lw->lines);
    buf_reset(&lw->frames);
    buf_reset(&lw->fields);
    rc = lb_builder_fields(&p->b, &lw->fields);
    if (rc == 0)
        rc = lb_builder_finish(&p->b, &lw->lines, &lw->frames);
    if (rc != 0)
        return bl_err_set(err, rc, "log block: cannot encode");
    r = (struct blockrow){ p->project_id,
                           p->node,
                           p->b.nlines,
                           p->b.t_min,
                           p->b.t_max,
                           p->b.lsn_min,
                           p->b.lsn_max,
                           p->b.level_mask,
                           { lw->lines.p, lw->lines.len },
                           { lw->frames.p, lw->frames.len },
                           { lw->fields.p, lw->fields.len },
                           p->text.p,
                           p->text_end,
                           p->b.ts,
                           p->b.level,
                           NULL };
    if (lw->w != NULL)
        lw->w->res->log_blocks_built++;
    return insert_block(c, lw, p, &r, err);
}

/* Writes p's block (if it has lines) and empties it. */
static int write_block(struct sq_conn *c, struct sq_store *s, struct logproj *p, struct bl_err *err)
{
    struct sq_logw *lw = s->logw;
    const struct sq_prep_block *pb = NULL;
    int rc = 0;

    if (p->nk > 0) {
        pb = prepared(lw, p);
        if (pb == NULL && (rc = build_lines(lw, p)) != 0)
            rc = bl_err_set(err, rc, "log block: cannot add a line");
    }
    if (rc == 0 && pb != NULL)
        rc = write_prepared(c, lw, p, pb, err);
    else if (rc == 0 && p->b.nlines > 0)
        rc = write_built(c, lw, p, err);
    p->nk = 0;
    lb_builder_reset(&p->b);
    buf_reset(&p->text);
    return rc;
}

/* A client-chosen id: 1 when it is new in this day file (and now taken), 0 for a duplicate. */
static int claim_id(struct sq_wctx *w, struct sq_conn *c, const struct event *e, int *fresh,
                    struct bl_err *err)
{
    return sq_logs_claim(c, e->project_id, e->event_id, w->s->node, e->lsn, e->seq, fresh, err);
}

int sq_logs_append(struct sq_store *s, struct sq_conn *c, int64_t project_id, int64_t node,
                   const struct lb_line *l, const char *const text[3], struct bl_err *err)
{
    struct sq_logw *lw = logw_of(s);
    struct logproj *p = proj_of(s, project_id, node);
    int rc;

    if (lb_builder_full(&p->b) || p->nk > 0) {
        rc = write_block(c, s, p, err);
        if (rc != 0)
            return rc;
    }
    rc = sq_logs_put(&p->b, &p->text, p->text_end, l, text);
    if (rc != 0)
        return bl_err_set(err, rc, "log block: cannot add a line");
    count_minute(lw, project_id, l->timestamp, l->level);
    return 0;
}

/*
 * A line of the batch into its project's block, built when the block is
 * written (write_block). The block is written when the next line finds it
 * full, as sq_logs_append does: line numbers are handed out in that order.
 */
int sq_logs_add(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err)
{
    const struct event *e = &w->ev[k];
    struct sq_logw *lw = logw_of(w->s);
    struct logproj *p;
    int rc, fresh = 1;

    if (!sq_logs_own_id(e)) {
        rc = claim_id(w, c, e, &fresh, err);
        if (rc != 0)
            return rc;
        if (!fresh) {
            w->res->duplicates++;
            return 0;
        }
    }
    p = proj_of(w->s, e->project_id, w->s->node);
    if (p->nk == LB_BLOCK_LINES || p->b.nlines > 0) {
        rc = write_block(c, w->s, p, err);
        if (rc != 0)
            return rc;
    }
    lw->w = w;
    p->k[p->nk++] = k;
    count_minute(lw, e->project_id, w->ts[k], e->level);
    w->counted[k] = 1;
    return 0;
}

static int cmp_minute(const void *pa, const void *pb)
{
    const struct logminute *a = pa, *b = pb;

    if (a->project_id != b->project_id)
        return a->project_id < b->project_id ? -1 : 1;
    if (a->minute != b->minute)
        return a->minute < b->minute ? -1 : 1;
    return a->level - b->level;
}

static int write_minutes(struct sq_conn *c, struct sq_logw *lw, struct bl_err *err)
{
    static const char sql[] = "INSERT INTO log_minutes(project_id, minute, level, count)"
                              " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(project_id, minute, level)"
                              " DO UPDATE SET count = count + excluded.count";
    size_t i = 0;
    int rc = 0;

    if (lw->nm == 0)
        return 0;
    qsort(lw->m, lw->nm, sizeof(*lw->m), cmp_minute);
    while (i < lw->nm && rc == 0) {
        struct logminute m = lw->m[i++];

        while (i < lw->nm && cmp_minute(&m, &lw->m[i]) == 0)
            m.count += lw->m[i++].count;
        {
            struct sq_query q = { sql,
                                  "count log minutes",
                                  { SQ_INT(m.project_id), SQ_INT(m.minute), SQ_INT(m.level),
                                    SQ_INT(m.count) },
                                  4,
                                  NULL,
                                  NULL };

            rc = sq_query_each(c, &q, err);
        }
    }
    lw->nm = 0;
    return rc;
}

int sq_logs_flush(struct sq_store *s, struct sq_conn *c, struct bl_err *err)
{
    struct sq_logw *lw = s->logw;
    int rc = 0;

    if (lw == NULL)
        return 0;
    for (size_t i = 0; i < lw->np && rc == 0; i++)
        rc = write_block(c, s, lw->p[i], err);
    for (size_t i = 0; i < lw->np && rc == 0; i++)
        rc = write_post(c, lw, lw->p[i], err);
    if (rc == 0)
        rc = write_minutes(c, lw, err);
    lw->next_line = 0;
    return rc;
}
