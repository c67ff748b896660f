/*
 * sqlite_logs_int.h - a log block being read (store_sqlite_logs_blk.c), for
 * the walks of store_sqlite_logs_read.c and the lookups of one line
 * (store_sqlite_logs_get.c).
 */
#ifndef BL_SQLITE_LOGS_INT_H
#define BL_SQLITE_LOGS_INT_H

#include <sqlite3.h>

#include "core/buf.h"
#include "store/logblock.h"
#include "store/sqlite_post.h"
#include "store/sqlite_int.h"

struct blk {
    int64_t project_id, first;
    /*
     * Walks (store_sqlite_logs_read.c) select a block's head only and read
     * its blobs through blob handles when it holds a candidate: a selected
     * blob is copied at every step, and the frames (60 KB a block) were
     * most of a walk over ten thousand blocks. Lookups (store_sqlite_logs_get.c)
     * select both blobs with the row (lazy 0).
     */
    int lazy;
    int64_t id;
    sqlite3 *db;
    sqlite3_blob *hl, *hf; /* lazy: the lines and frames handles */
    struct buf lbuf;       /* lazy: the lines blob */
    struct buf fhead;      /* lazy: the frames blob's count and table */
    struct buf zbuf;       /* lazy: one frame's compressed bytes */
    sqlite3_blob *hfl;     /* lazy: the fields handle */
    struct buf flbuf;      /* lazy: the fields blob */
    int fields_open;       /* fl is this block's */
    int no_fields;         /* a block without a fields blob was met: read records from then on */
    struct lb_fields fl;
    size_t nlines;
    int64_t t_min, t_max;
    unsigned level_mask; /* walks: a bit per level its lines have (1 << level) */
    struct lb_lines ln;
    int ts_ready; /* ln's timestamps are read (else only ts_lo..ts_hi's levels, flags) */
    size_t ts_lo, ts_hi;
    sqlite3_stmt *st;
    int frames_open;
    struct lb_frames fr;
    /* the decoded frame */
    size_t frame, ffirst, fcount;
    struct buf fbuf;
    size_t roff[LB_BLOCK_LINES]; /* roff[k]: where the frame's record k + 1 starts */
    size_t nroff;                /* how many of roff are known */
    void *dctx;
};

/* The head of a block's row: first_line, nlines, t_min, t_max (lazy: id is set apart). */
void sq_blk_head(struct blk *b, sqlite3_stmt *st);
/* Its lines blob (b->ln). */
int sq_blk_lines(struct blk *b, struct bl_err *err);
/*
 * The same with only lines lo..hi readable (a lazy block's few
 * candidates): their levels and flags, and their timestamps once
 * sq_blk_lines_ts is called (a no-op after sq_blk_lines).
 */
int sq_blk_lines_some(struct blk *b, size_t lo, size_t hi, struct bl_err *err);
int sq_blk_lines_ts(struct blk *b, struct bl_err *err);
/* Its fields blob (b->fl): 1 when open, 0 when it has none (nor, then, the older blocks). */
int sq_blk_fields(struct blk *b);
/* Whether every line of the file has its id tokens in log_fts (schema migration 5). */
int sq_ids_indexed(struct sq_conn *c);
/*
 * Line i as a STORE_RAW_FIELDS event from the lines and fields blobs alone
 * (strings in pool): 1 when done, 0 when the block has no fields blob or a
 * value is not in it (read the record instead). Its service too when the
 * blob has it (service_known); with want_service, a line whose service is
 * not in the blob is 0 (its payload must say).
 */
int sq_blk_fields_event(struct blk *b, size_t i, int64_t project_id, int want_service,
                        struct pool *pool, struct store_event *e);
/* The block of a row selected with its blobs (first_line, nlines, t_min, t_max, lines, frames). */
int sq_blk_read(struct blk *b, sqlite3_stmt *st, struct bl_err *err);
/* Line i of the block, its frame decompressed when needed. */
int sq_blk_line(struct blk *b, size_t i, struct lb_line *l, struct bl_err *err);
/* A line as the store's event row. */
int sq_line_event(struct pool *pool, int64_t project_id, const struct lb_line *l,
                  struct store_event *e, struct bl_err *err);

/*
 * What a line's timestamp, level and fields alone say about a query
 * (store_sqlite_logs_eval.c): yes, no, or maybe (then its payload decides).
 */
enum { SQ_PV_NO = 0, SQ_PV_YES = 1, SQ_PV_MAYBE = 2 };
struct sq_pv {
    int64_t ts;
    int level;
    int64_t now;
    const struct query_node *yes; /* a word the full-text index decided for this line */
    const struct lb_fields *fl;   /* the block's fields, or NULL */
    size_t i;                     /* the line's index in the block */
    int no_ts;                    /* ts is not known (a whole block's verdict): maybe */
};
int sq_pre_eval(const struct query_node *n, const struct sq_pv *v);
/* Whether the query has a condition the fields blob may decide; a level condition. */
int sq_has_field_cond(const struct query_node *n);
int sq_has_level_cond(const struct query_node *n);
/* Whether a block whose lines have the levels of mask (1 << level each) may hold a match. */
int sq_levels_may_match(const struct query_node *q, unsigned mask, int64_t now);
/* Whether a query says nothing but levels (then per-minute counts answer it). */
int sq_levels_only(const struct query_node *n);

/*
 * Full-text candidates of a day file's walk (store_sqlite_logs_drive.c): the
 * lines log_fts gives for the query's drive text, asked per block at first
 * and for the whole day once a walk has gone past a few blocks.
 */
struct drive {
    const char *text; /* NULL: every line is a candidate */
    /* lines from post_from on are found through word postings (sqlite_post.h), the rest in log_fts */
    int post;
    int post_only; /* text has non-ASCII words: postings only (every line of the file has them) */
    int64_t post_from, project_id;
    struct sq_post_words pw;
    unsigned char *bits; /* day-wide once loaded: a bit per line number */
    size_t nbits;        /* bytes of bits */
    int64_t *ids;        /* log_gone's lines (gone_load), ascending */
    size_t n, cap;
    size_t blocks;  /* asked per block so far */
    int loaded;     /* drive_load ran */
    int none;       /* drive_block: no line of the block is a candidate */
    size_t count;   /* candidates seen by list_blocks' probe */
    int64_t *probe; /* their line numbers, ascending (LIST_MAX + 1 at most) */
    /* drive_block: the block's candidate line indexes, ascending (a walk visits only these) */
    uint16_t idx[LB_BLOCK_LINES];
    size_t nidx;
};
/*
 * A page asks the index per block for its first blocks (a common word's
 * newest lines are in the newest block), then loads the day's candidates
 * once: a rare word would otherwise cost one index query per block (each
 * opens every segment of log_fts). A page that will plainly need more
 * blocks than these loads at once (sq_lines_page).
 */
#define SQ_DRIVE_LAZY_BLOCKS 8

/* The day's candidates at once, into the bitmap. */
int sq_drive_load(struct sq_conn *c, struct drive *d, struct bl_err *err);
/* Fills d->idx with the candidates among the lines first .. first + n - 1. */
int sq_drive_block(struct sq_conn *c, struct drive *d, int64_t first, size_t n, struct bl_err *err);
void sq_drive_bit_set(struct drive *d, int64_t id);
/*
 * The same read from log_fts's segments directly when text is plain words
 * ("a" AND "b") and the index of a shape this reads
 * (store_sqlite_logs_fts.c): 0 done, else nothing set (ask FTS5).
 */
int sq_fts_bits(struct sq_conn *c, const char *text, struct drive *d);
/* A row callback appending column 0 to d->probe (sized by the caller). */
int sq_drive_count(sqlite3_stmt *st, void *ctx, struct bl_err *err);
/* The lines retired by a replay (log_gone), ascending in g->ids; and whether line is one. */
int sq_drive_gone_load(struct sq_conn *c, struct drive *g, struct bl_err *err);
int sq_drive_is_gone(const struct drive *g, int64_t line);

#endif
