/*
 * store_sqlite_logs_convert.c - an older binary's log rows into blocks.
 *
 * DESIGN
 * Day files written before migration 3 hold their log lines as rows of
 * events (with event_raw and events_fts). The readers read such rows
 * beside the blocks, so nothing depends on converting them; the writer
 * converts a file the first time it opens it, so old days get the blocks'
 * size and speed. It goes in transactions of CONVERT_ROWS rows: each one
 * reads the oldest log rows by id, appends them to blocks of their
 * (project, node) exactly as write_batch appends new lines (their ids,
 * lsn, seq and payload kept; a client-chosen id goes into log_ids), writes
 * the blocks, and deletes the rows with their payloads and full-text
 * entries. A crash between two transactions leaves every line either a row
 * or a line, never both and never neither; the next open goes on.
 * Rows whose kind later becomes log (a replay's fix) stay rows: they are
 * read as such.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define CONVERT_ROWS 8192

struct conv {
    struct sq_store *s;
    struct sq_conn *c;
    size_t n;
    int64_t last_id;
    struct buf ids; /* the converted row ids (int64_t) */
};

static const char *col_text(sqlite3_stmt *st, int col, size_t *len)
{
    const char *p = (const char *)sqlite3_column_text(st, col);

    *len = p != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
    return p;
}

/* One old row: e.id, project_id, event_id, timestamp, received_at, level, logger, message,
 * title, culprit, release, environment, server_name, trace_id, request_id, tags_json,
 * fingerprint, template_hash, source, search_text, lsn, seq, node, encoding, raw. */
static int convert_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    static const int strcol[] = {
        [LB_EVENT_ID] = 2,     [LB_FINGERPRINT] = 16, [LB_LOGGER] = 6,      [LB_MESSAGE] = 7,
        [LB_TITLE] = 8,        [LB_CULPRIT] = 9,      [LB_RELEASE] = 10,    [LB_ENVIRONMENT] = 11,
        [LB_SERVER_NAME] = 12, [LB_TRACE_ID] = 13,    [LB_REQUEST_ID] = 14, [LB_TAGS_JSON] = 15
    };
    struct conv *cv = ctx;
    struct lb_line l;
    const char *text[3];
    int64_t id = sqlite3_column_int64(st, 0), pid = sqlite3_column_int64(st, 1);
    int64_t node = sqlite3_column_int64(st, 22);
    uint64_t lsn = (uint64_t)sqlite3_column_int64(st, 20), dl = 0;
    uint32_t seq = (uint32_t)sqlite3_column_int64(st, 21), ds = 0;
    int rc = 0, fresh = 1;

    memset(&l, 0, sizeof(l));
    for (int i = 0; i < LB_RAW; i++)
        l.str[i] = col_text(st, strcol[i], &l.len[i]);
    l.timestamp = sqlite3_column_int64(st, 3);
    l.received_at = sqlite3_column_int64(st, 4);
    l.level = sqlite3_column_int(st, 5);
    l.template_hash = (uint64_t)sqlite3_column_int64(st, 17);
    l.source = sqlite3_column_int(st, 18);
    l.lsn = lsn;
    l.seq = seq;
    l.raw_encoding = sqlite3_column_int(st, 23);
    l.str[LB_RAW] = sqlite3_column_blob(st, 24);
    l.len[LB_RAW] = l.str[LB_RAW] != NULL ? (size_t)sqlite3_column_bytes(st, 24) : 0;
    if (l.len[LB_RAW] == 0)
        l.str[LB_RAW] = NULL;
    text[0] = l.str[LB_MESSAGE];
    text[1] = l.str[LB_TITLE];
    text[2] = (const char *)sqlite3_column_text(st, 19);
    if (sq_logs_ascii(text[0]) && sq_logs_ascii(text[1]) && sq_logs_ascii(text[2]))
        l.flags = LB_FLAG_PLAIN;
    if (l.str[LB_EVENT_ID] != NULL &&
        !(sq_logs_derived_id(l.str[LB_EVENT_ID], &dl, &ds) && dl == lsn && ds == seq))
        rc = sq_logs_claim(cv->c, pid, l.str[LB_EVENT_ID], node, lsn, seq, &fresh, err);
    if (rc == 0)
        rc = sq_logs_append(cv->s, cv->c, pid, node, &l, text, err);
    if (rc == 0)
        rc = buf_add(&cv->ids, &id, sizeof(id)) == 0 ? 0 : bl_err_set(err, BL_ETOOBIG, "convert");
    cv->n++;
    cv->last_id = id;
    return rc;
}

/* Deletes the converted rows, their payloads and their full-text entries. */
static int delete_rows(struct conv *cv, struct bl_err *err)
{
    static const char fts_sql[] =
        "INSERT INTO events_fts(events_fts, rowid, message, title, search_text)"
        " SELECT 'delete', id, message, title, search_text FROM events WHERE id = ?1";
    static const char raw_sql[] = "DELETE FROM event_raw WHERE id = ?1";
    static const char row_sql[] = "DELETE FROM events WHERE id = ?1";
    static const char *const sqls[] = { fts_sql, raw_sql, row_sql };
    const int64_t *ids = (const int64_t *)(const void *)cv->ids.p;
    size_t n = cv->ids.len / sizeof(int64_t);
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        for (size_t k = 0; k < 3 && rc == 0; k++) {
            struct sq_query q = { sqls[k], "convert log rows", { SQ_INT(ids[i]) }, 1, NULL, NULL };

            rc = sq_query_each(cv->c, &q, err);
        }
    }
    return rc;
}

static int convert_some(struct conv *cv, struct bl_err *err)
{
    static const char sql[] =
        "SELECT e.id, e.project_id, e.event_id, e.timestamp, e.received_at, e.level, e.logger,"
        " e.message, e.title, e.culprit, e.release, e.environment, e.server_name, e.trace_id,"
        " e.request_id, e.tags_json, e.fingerprint, e.template_hash, e.source, e.search_text,"
        " e.lsn, e.seq, e.node, coalesce(r.encoding, 0), r.raw FROM events e"
        " LEFT JOIN event_raw r ON r.id = e.id WHERE e.kind = 0 AND e.id > ?1"
        " ORDER BY e.id LIMIT ?2";
    struct sq_query q = { sql, "convert log rows", { SQ_INT(cv->last_id), SQ_INT(CONVERT_ROWS) },
                          2,   convert_row,        cv };
    int rc;

    cv->n = 0;
    buf_reset(&cv->ids);
    sq_logs_begin(cv->s);
    rc = sq_exec(cv->c, "BEGIN IMMEDIATE", err);
    if (rc != 0)
        return rc;
    rc = sq_query_each(cv->c, &q, err);
    if (rc == 0)
        rc = sq_logs_flush(cv->s, cv->c, err);
    if (rc == 0)
        rc = delete_rows(cv, err);
    if (rc == 0)
        return sq_exec(cv->c, "COMMIT", err);
    sqlite3_exec(cv->c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int sq_logs_convert(struct sq_store *s, struct sq_conn *c, struct bl_err *err)
{
    static const char done_sql[] = "SELECT 1 FROM part_meta WHERE key = 'logs_converted'";
    static const char mark_sql[] = "INSERT OR REPLACE INTO part_meta(key, value)"
                                   " VALUES('logs_converted', 1)";
    int64_t done = 0;
    struct sq_query q = { done_sql, "log rows", { { 0, 0, NULL } }, 0, sq_row_int64, &done };
    struct conv cv = { s, c, 0, 0, BUF_INIT((size_t)CONVERT_ROWS * sizeof(int64_t)) };
    size_t total = 0;
    int rc = sq_query_each(c, &q, err);

    /* the common case, a file converted (or created) since, costs one lookup */
    if (rc != 0 || done == 1)
        return rc;
    do {
        rc = convert_some(&cv, err);
        total += cv.n;
    } while (rc == 0 && cv.n == CONVERT_ROWS);
    buf_release(&cv.ids);
    if (rc == 0)
        rc = sq_exec(c, mark_sql, err);
    if (rc == 0 && total > 0)
        log_info("day file %lld: %zu log rows moved into blocks", (long long)c->day, total);
    return rc;
}
