/*
 * store_sqlite_logs_ids.c - which log lines a day file already holds: the
 * ids the ingest derives from (lsn, seq), the ids a client chose (log_ids),
 * and what a replay after a crash does with a line the crashed run stored
 * (store_sqlite_logs.c's DESIGN: exactly once, duplicates).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define MINUTE_US (60 * INT64_C(1000000))

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 1 when the first 24 hex digits of id are (lsn, seq), as ingest's derived ids are. */
int sq_logs_derived_id(const char *id, uint64_t *lsn, uint32_t *seq)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < 24; i++) {
        int h = hexval((unsigned char)id[i]);

        if (h < 0)
            return 0;
        v = (v << 4) | (uint64_t)h;
        if (i == 15) {
            *lsn = v;
            v = 0;
        }
    }
    *seq = (uint32_t)v;
    return 1;
}

/*
 * The same as sq_logs_derived_id giving e's (lsn, seq), by comparing the
 * id with their 24 digits written out: every log line asks this on the
 * writer's thread, and parsing the digits one by one cost 320 instructions.
 */
int sq_logs_own_id(const struct event *e)
{
    return lb_id_derived(e->event_id, e->lsn, e->seq);
}

int sq_logs_claim(struct sq_conn *c, int64_t project_id, const char *event_id, int64_t node,
                  uint64_t lsn, uint32_t seq, int *fresh, struct bl_err *err)
{
    static const char sql[] = "INSERT INTO log_ids(project_id, event_id, node, lsn, seq)"
                              " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
    char id[33];
    struct sq_query q = {
        sql,
        "claim log id",
        { SQ_INT(project_id), SQ_TEXT(id), SQ_INT(node), SQ_INT(lsn), SQ_INT(seq) },
        5,
        NULL,
        NULL
    };
    int rc;

    snprintf(id, sizeof(id), "%.32s", event_id);
    rc = sq_query_each(c, &q, err);
    *fresh = rc == 0 && sqlite3_changes(c->db) > 0;
    return rc;
}

/* The stored log_ids row of a replayed line with a client id, as replay compares it. */
struct idprobe {
    const struct event *e;
    int64_t node;
    int mine;
};

static int idprobe_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct idprobe *p = ctx;

    (void)err;
    p->mine = sqlite3_column_int64(st, 0) == p->node &&
              (uint64_t)sqlite3_column_int64(st, 1) == p->e->lsn &&
              (uint64_t)sqlite3_column_int64(st, 2) == p->e->seq;
    return 0;
}

/* The stored row of a replayed line that the crashed run stored as an issue event. */
struct rowprobe {
    const struct event *e;
    int64_t node, id;
    int mine;
};

static int rowprobe_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct rowprobe *p = ctx;

    (void)err;
    p->id = sqlite3_column_int64(st, 0);
    p->mine = sqlite3_column_int64(st, 1) == p->node &&
              (uint64_t)sqlite3_column_int64(st, 2) == p->e->lsn &&
              (uint64_t)sqlite3_column_int64(st, 3) == p->e->seq;
    return 0;
}

/*
 * A line whose crashed run made it an issue event (the project's issue
 * level changed before the replay): its row stays and becomes a log row,
 * as the write path's fix_row would make it; the row reader still lists
 * log rows. 1 when it did so.
 */
static int replay_row(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err)
{
    static const char sql[] = "SELECT id, node, lsn, seq FROM events"
                              " WHERE project_id = ?1 AND event_id = ?2";
    static const char fix_sql[] = "UPDATE events SET issue_id = 0, kind = ?2 WHERE id = ?1";
    const struct event *e = &w->ev[k];
    char id[33];
    struct rowprobe p = { e, w->s->node, 0, 0 };
    struct sq_query q = { sql, "probe event", { SQ_INT(e->project_id), SQ_TEXT(id) },
                          2,   rowprobe_row,  &p };
    int rc;

    snprintf(id, sizeof(id), "%.32s", e->event_id);
    rc = sq_query_one(c, &q, err);
    if (rc == BL_ENOTFOUND || (rc == 0 && !p.mine))
        return 0;
    if (rc != 0)
        return rc;
    q.sql = fix_sql;
    q.what = "fix event";
    q.args[0] = (struct sq_arg)SQ_INT(p.id);
    q.args[1] = (struct sq_arg)SQ_INT(EV_KIND_LOG);
    q.row = NULL;
    rc = sq_query_each(c, &q, err);
    if (rc == 0)
        w->counted[k] = 1;
    return rc != 0 ? rc : 1;
}

int sq_logs_replay(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err)
{
    static const char sql[] = "SELECT node, lsn, seq FROM log_ids"
                              " WHERE project_id = ?1 AND event_id = ?2";
    const struct event *e = &w->ev[k];
    char id[33];
    struct idprobe p = { e, w->s->node, 0 };
    struct sq_query q = { sql, "probe log id", { SQ_INT(e->project_id), SQ_TEXT(id) },
                          2,   idprobe_row,    &p };
    int rc = replay_row(w, c, k, err);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (sq_logs_own_id(e)) {
        w->counted[k] = 1; /* stored with the batch that set applied_lsn past it */
        return 0;
    }
    snprintf(id, sizeof(id), "%.32s", e->event_id);
    rc = sq_query_one(c, &q, err);
    if (rc == BL_ENOTFOUND)
        return sq_logs_add(w, c, k, err);
    if (rc != 0)
        return rc;
    if (p.mine)
        w->counted[k] = 1;
    else
        w->res->duplicates++;
    return 0;
}

/*
 * The converse: an issue event being replayed that the crashed run stored
 * as a log line. Blocks are not rewritten: the line is retired (log_gone,
 * which readers skip, and out of log_minutes) before the row goes in.
 */
int sq_logs_retire(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err)
{
    static const char gone_sql[] = "INSERT OR IGNORE INTO log_gone(line) VALUES(?1)";
    static const char min_sql[] = "UPDATE log_minutes SET count = count - 1"
                                  " WHERE project_id = ?1 AND minute = ?2 AND level = ?3"
                                  " AND count > 0";
    const struct event *e = &w->ev[k];
    int64_t line = 0, ts = 0;
    int level = 0, rc;

    rc = sq_lines_find(c, e->project_id, w->s->node, e->lsn, e->seq, &line, &ts, &level, err);
    if (rc == BL_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    {
        struct sq_query q = { gone_sql, "retire log line", { SQ_INT(line) }, 1, NULL, NULL };

        rc = sq_query_each(c, &q, err);
        if (rc == 0 && sqlite3_changes(c->db) > 0) {
            q.sql = min_sql;
            q.what = "count log minutes";
            q.args[0] = (struct sq_arg)SQ_INT(e->project_id);
            q.args[1] = (struct sq_arg)SQ_INT(ts - ts % MINUTE_US);
            q.args[2] = (struct sq_arg)SQ_INT(level);
            q.nargs = 3;
            rc = sq_query_each(c, &q, err);
        }
    }
    return rc;
}
