/*
 * store_sqlite_logs_get.c - one log line by its id (sq_lines_get) or by
 * its journal position (sq_lines_find), read from its block.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "store/sqlite_logs_int.h"
#include "core/banned.h"

struct get_ctx {
    const char *event_id;
    struct pool *pool;
    struct store_event *out;
    int64_t project_id;
    void *dctx;
    int found;
};

static int get_block(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct get_ctx *g = ctx;
    struct blk b;
    size_t idlen = strlen(g->event_id);
    int rc;

    memset(&b, 0, sizeof(b));
    buf_init(&b.fbuf, LB_FRAME_MAX + 1);
    b.dctx = g->dctx;
    rc = sq_blk_read(&b, st, err);
    for (size_t i = 0; rc == 0 && i < b.nlines; i++) {
        struct lb_line l;

        rc = sq_blk_line(&b, i, &l, err);
        if (rc == 0 && l.str[LB_EVENT_ID] != NULL && l.len[LB_EVENT_ID] == idlen &&
            memcmp(l.str[LB_EVENT_ID], g->event_id, idlen) == 0) {
            rc = sq_line_event(g->pool, g->project_id, &l, g->out, err);
            g->found = rc == 0;
            break;
        }
    }
    buf_release(&b.fbuf);
    return rc != 0 ? rc : g->found;
}

static int lsn_of_id(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    (void)err;
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return 0;
}

int sq_lines_get(struct sq_conn *c, int64_t project_id, const char *event_id, struct pool *pool,
                 struct store_event *out, struct bl_err *err)
{
    static const char ids_sql[] = "SELECT lsn FROM log_ids WHERE project_id = ?1 AND event_id = ?2";
    static const char sql[] = "SELECT first_line, nlines, t_min, t_max, lines, frames"
                              " FROM log_blocks WHERE project_id = ?1 AND lsn_max >= ?2"
                              " AND lsn_min <= ?2";
    struct get_ctx g = { event_id, pool, out, project_id, NULL, 0 };
    uint64_t lsn = 0;
    uint32_t seq = 0;
    int64_t stored = -1;
    struct sq_query q = { ids_sql, "log id",  { SQ_INT(project_id), SQ_TEXT(event_id) },
                          2,       lsn_of_id, &stored };
    int rc;

    if (!sq_has_blocks(c))
        return BL_ENOTFOUND;
    rc = sq_query_each(c, &q, err);
    if (rc != 0)
        return rc;
    if (stored < 0 && !sq_logs_derived_id(event_id, &lsn, &seq))
        return BL_ENOTFOUND;
    g.dctx = ZSTD_createDCtx();
    if (g.dctx == NULL)
        return bl_err_set(err, BL_ENOMEM, "zstd");
    q.sql = sql;
    q.what = "log blocks";
    q.args[1] = (struct sq_arg)SQ_INT(stored >= 0 ? stored : (int64_t)lsn);
    q.row = get_block;
    q.ctx = &g;
    rc = sq_query_each(c, &q, err);
    ZSTD_freeDCtx(g.dctx);
    if (rc < 0)
        return rc;
    return g.found ? 0 : BL_ENOTFOUND;
}

/* Finding one line by (node, lsn, seq), for the writer (sq_logs_retire). */
struct find_ctx {
    uint64_t lsn;
    uint32_t seq;
    int64_t *line, *ts;
    int *level;
    void *dctx;
    int found;
};

static int find_block(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct find_ctx *f = ctx;
    struct blk b;
    int rc;

    memset(&b, 0, sizeof(b));
    buf_init(&b.fbuf, LB_FRAME_MAX + 1);
    b.dctx = f->dctx;
    rc = sq_blk_read(&b, st, err);
    for (size_t i = 0; rc == 0 && i < b.nlines; i++) {
        struct lb_line l;

        rc = sq_blk_line(&b, i, &l, err);
        if (rc == 0 && l.lsn == f->lsn && l.seq == f->seq) {
            *f->line = b.first + (int64_t)i;
            *f->ts = lb_lines_ts(&b.ln, i);
            *f->level = lb_lines_level(&b.ln, i);
            f->found = 1;
            break;
        }
    }
    buf_release(&b.fbuf);
    return rc != 0 ? rc : f->found;
}

int sq_lines_find(struct sq_conn *c, int64_t project_id, int64_t node, uint64_t lsn, uint32_t seq,
                  int64_t *line, int64_t *ts, int *level, struct bl_err *err)
{
    static const char sql[] = "SELECT first_line, nlines, t_min, t_max, lines, frames"
                              " FROM log_blocks WHERE project_id = ?1 AND lsn_max >= ?2"
                              " AND lsn_min <= ?2 AND node = ?3";
    struct find_ctx f = { lsn, seq, line, ts, level, NULL, 0 };
    struct sq_query q = { sql, "log blocks", { SQ_INT(project_id), SQ_INT(lsn), SQ_INT(node) },
                          3,   find_block,   &f };
    int rc;

    if (!sq_has_blocks(c))
        return BL_ENOTFOUND;
    f.dctx = ZSTD_createDCtx();
    if (f.dctx == NULL)
        return bl_err_set(err, BL_ENOMEM, "zstd");
    rc = sq_query_each(c, &q, err);
    ZSTD_freeDCtx(f.dctx);
    if (rc < 0)
        return rc;
    return f.found ? 0 : BL_ENOTFOUND;
}
