/*
 * sqlite_logs_int.h - a log block being read (store_sqlite_logs_read.c),
 * shared with the lookups of one line (store_sqlite_logs_get.c).
 */
#ifndef BL_SQLITE_LOGS_INT_H
#define BL_SQLITE_LOGS_INT_H

#include <sqlite3.h>

#include "core/buf.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"

struct blk {
    int64_t project_id, first;
    size_t nlines;
    int64_t t_min, t_max;
    struct lb_lines ln;
    sqlite3_stmt *st;
    int frames_open;
    struct lb_frames fr;
    /* the decoded frame */
    size_t frame, ffirst, fcount;
    struct buf fbuf;
    size_t roff[LB_BLOCK_LINES];
    void *dctx;
};

/* The block of a row selected with its blobs (see the SELECTs of the readers). */
int sq_blk_read(struct blk *b, sqlite3_stmt *st, struct bl_err *err);
/* Line i of the block, its frame decompressed when needed. */
int sq_blk_line(struct blk *b, size_t i, struct lb_line *l, struct bl_err *err);
/* A line as the store's event row. */
int sq_line_event(struct pool *pool, int64_t project_id, const struct lb_line *l,
                  struct store_event *e, struct bl_err *err);

#endif
