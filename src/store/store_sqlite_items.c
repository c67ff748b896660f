/*
 * store_sqlite_items.c - envelope items kept beside events: attachments,
 * user feedback, client-report losses and received-only counts (core/item.h).
 *
 * DESIGN
 * They live in bilor.db, written by the digest thread on the main-db writer
 * connection in one transaction per batch, before the batch's events.
 * Exactly once, per node like the events' checkpoint: nodes.items_lsn is
 * the checkpoint of this transaction, so an item whose record lies below it
 * was applied by an earlier call and is skipped. The counters (client
 * reports, received-only items) are additive, which is why a unique key
 * alone would not do; attachments and feedback also carry
 * UNIQUE(node, lsn, seq) as a second guard (LSNs are positions in one
 * node's journal, so two nodes' items may share an lsn).
 *
 * Attachments are kept in bilor.db, not in the day files, so that an
 * attachment that arrives apart from its event (envelope header event_id)
 * needs no day to be chosen; retention does not drop them yet.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "core/banned.h"

/* Rows returned by one listing. */
#define LIST_MAX 1000

static const char sql_read_lsn[] = "SELECT items_lsn FROM nodes WHERE id = ?1";
static const char sql_write_lsn[] = "UPDATE nodes SET items_lsn = max(items_lsn, ?2) WHERE id = ?1";
static const char sql_attachment[] =
    "INSERT OR IGNORE INTO attachments(node, project_id, event_id, lsn, seq, filename,"
    " content_type, attachment_type, size, received_at, data)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_feedback[] =
    "INSERT OR IGNORE INTO feedback(node, project_id, event_id, feedback_id, lsn, seq, name,"
    " email, message, url, received_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_report[] =
    "INSERT INTO client_reports(project_id, reason, category, quantity, last_seen)"
    " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(project_id, reason, category) DO UPDATE SET"
    " quantity = quantity + excluded.quantity, last_seen = max(last_seen, excluded.last_seen)";
static const char sql_received[] =
    "INSERT INTO items_received(project_id, type, quantity, last_seen) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT(project_id, type) DO UPDATE SET quantity = quantity + excluded.quantity,"
    " last_seen = max(last_seen, excluded.last_seen)";

/* One item as the statement and arguments that store it. */
static int item_query(int64_t node, const struct item *it, struct sq_query *q)
{
    memset(q, 0, sizeof(*q));
    q->what = "write item";
    switch (it->kind) {
    case ITEM_ATTACHMENT:
        *q = (struct sq_query){ sql_attachment,
                                "write attachment",
                                { SQ_INT(node), SQ_INT(it->project_id), SQ_TEXT(it->event_id),
                                  SQ_INT(it->lsn), SQ_INT(it->seq), SQ_TEXT(it->filename),
                                  SQ_TEXT(it->content_type), SQ_TEXT(it->attachment_type),
                                  SQ_INT(it->len), SQ_INT(it->received_at),
                                  SQ_BLOB(it->data, it->len) },
                                11,
                                NULL,
                                NULL };
        return 1;
    case ITEM_FEEDBACK:
        *q = (struct sq_query){ sql_feedback,
                                "write feedback",
                                { SQ_INT(node), SQ_INT(it->project_id), SQ_TEXT(it->event_id),
                                  SQ_TEXT(it->feedback_id), SQ_INT(it->lsn), SQ_INT(it->seq),
                                  SQ_TEXT(it->name), SQ_TEXT(it->email), SQ_TEXT(it->message),
                                  SQ_TEXT(it->url), SQ_INT(it->received_at) },
                                11,
                                NULL,
                                NULL };
        return 1;
    case ITEM_CLIENT_REPORT:
        *q = (struct sq_query){ sql_report,
                                "write client report",
                                { SQ_INT(it->project_id), SQ_TEXT(it->reason),
                                  SQ_TEXT(it->category), SQ_INT(it->quantity),
                                  SQ_INT(it->received_at) },
                                5,
                                NULL,
                                NULL };
        return 1;
    case ITEM_RECEIVED:
        *q = (struct sq_query){ sql_received,
                                "count received item",
                                { SQ_INT(it->project_id), SQ_TEXT(it->category),
                                  SQ_INT(it->quantity), SQ_INT(it->received_at) },
                                4,
                                NULL,
                                NULL };
        return 1;
    default:
        return 0;
    }
}

static int write_all(struct sq_conn *c, int64_t node, const struct item *items, size_t n,
                     uint64_t checkpoint_lsn, struct bl_err *err)
{
    int64_t done = 0;
    struct sq_query q = {
        sql_read_lsn, "read items_lsn", { SQ_INT(node) }, 1, sq_row_int64, &done
    };
    int rc = sq_query_one(c, &q, err);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((int64_t)items[i].lsn >= done && item_query(node, &items[i], &q))
            rc = sq_query_each(c, &q, err);
    }
    if (rc == 0) {
        q = (struct sq_query){
            sql_write_lsn, "write items_lsn", { SQ_INT(node), SQ_INT(checkpoint_lsn) }, 2, NULL,
            NULL
        };
        rc = sq_query_each(c, &q, err);
    }
    return rc;
}

int sq_write_items(struct store *stp, const struct item *items, size_t n, uint64_t checkpoint_lsn,
                   struct bl_err *err)
{
    struct sq_store *s = sq_of(stp);
    struct sq_conn *c = s->w;
    int rc;

    if (n == 0)
        return 0;
    if (s->node <= 0)
        return bl_err_set(err, BL_EINVAL, "the store was opened without a node: no writes");
    rc = sq_exec(c, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = write_all(c, s->node, items, n, checkpoint_lsn, err);
        rc = rc == 0 ? sq_exec(c, "COMMIT", err) : rc;
        if (rc != 0)
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

/* Reads: rows collected into a pool array of at most cap. */

struct rows {
    struct pool *pool;
    void *v;
    size_t n;
    size_t cap;
    size_t size;
};

static void *row_slot(struct rows *r)
{
    if (r->n == r->cap)
        return NULL;
    return (char *)r->v + r->n++ * r->size;
}

static int row_attachment(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct rows *r = ctx;
    struct store_attachment *a = row_slot(r);

    (void)err;
    if (a == NULL)
        return 0;
    a->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, a->event_id, sizeof(a->event_id));
    a->filename = sq_col_str(r->pool, st, 2);
    a->content_type = sq_col_str(r->pool, st, 3);
    a->attachment_type = sq_col_str(r->pool, st, 4);
    a->size = sqlite3_column_int64(st, 5);
    a->received_at = sqlite3_column_int64(st, 6);
    a->data = NULL;
    if (sqlite3_column_count(st) > 7) {
        const void *p = sqlite3_column_blob(st, 7);
        size_t len = (size_t)sqlite3_column_bytes(st, 7);

        a->size = (int64_t)len;
        a->data = len > 0 ? pool_memdup(r->pool, p, len) : "";
    }
    return 0;
}

#define ATTACHMENT_COLS "id, event_id, filename, content_type, attachment_type, size, received_at"

int sq_attachment_list(struct store *stp, int64_t project_id, const char *event_id,
                       struct pool *pool, struct store_attachment **out, size_t *n,
                       struct bl_err *err)
{
    static const char sql[] = "SELECT " ATTACHMENT_COLS " FROM attachments"
                              " WHERE project_id = ?1 AND event_id = ?2 ORDER BY id LIMIT 1000";
    struct rows r = { pool, pool_alloc(pool, LIST_MAX * sizeof(**out)), 0, LIST_MAX,
                      sizeof(**out) };
    struct sq_query q = { sql, "list attachments", { SQ_INT(project_id), SQ_TEXT(event_id) },
                          2,   row_attachment,     &r };
    int rc = sq_read_each(sq_of(stp), &q, err);

    *out = r.v;
    *n = r.n;
    return rc;
}

int sq_attachment_get(struct store *stp, int64_t project_id, const char *event_id, int64_t id,
                      struct pool *pool, struct store_attachment *out, struct bl_err *err)
{
    static const char sql[] = "SELECT " ATTACHMENT_COLS ", data FROM attachments"
                              " WHERE id = ?1 AND project_id = ?2 AND event_id = ?3";
    struct rows r = { pool, out, 0, 1, sizeof(*out) };
    struct sq_query q = {
        sql, "attachment",   { SQ_INT(id), SQ_INT(project_id), SQ_TEXT(event_id) },
        3,   row_attachment, &r
    };

    return sq_read_one(sq_of(stp), &q, err);
}

static int row_feedback(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct rows *r = ctx;
    struct store_feedback *f = row_slot(r);

    (void)err;
    if (f == NULL)
        return 0;
    f->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, f->event_id, sizeof(f->event_id));
    sq_col_copy(st, 2, f->feedback_id, sizeof(f->feedback_id));
    f->name = sq_col_str(r->pool, st, 3);
    f->email = sq_col_str(r->pool, st, 4);
    f->message = sq_col_str(r->pool, st, 5);
    f->url = sq_col_str(r->pool, st, 6);
    f->received_at = sqlite3_column_int64(st, 7);
    return 0;
}

int sq_feedback_list(struct store *stp, int64_t project_id, const char *event_id, size_t limit,
                     struct pool *pool, struct store_feedback **out, size_t *n, struct bl_err *err)
{
    static const char sql[] =
        "SELECT id, event_id, feedback_id, name, email, message, url, received_at"
        " FROM feedback WHERE project_id = ?1 AND (?2 = '' OR event_id = ?2)"
        " ORDER BY id DESC LIMIT ?3";
    struct rows r;
    struct sq_query q;
    int rc;

    limit = limit == 0 || limit > LIST_MAX ? LIST_MAX : limit;
    r = (struct rows){ pool, pool_alloc(pool, limit * sizeof(**out)), 0, limit, sizeof(**out) };
    q = (struct sq_query){ sql,
                           "list feedback",
                           { SQ_INT(project_id), SQ_TEXT(event_id != NULL ? event_id : ""),
                             SQ_INT(limit) },
                           3,
                           row_feedback,
                           &r };
    rc = sq_read_each(sq_of(stp), &q, err);
    *out = r.v;
    *n = r.n;
    return rc;
}

static int row_count(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct rows *r = ctx;
    struct store_item_count *c = row_slot(r);

    (void)err;
    if (c == NULL)
        return 0;
    c->reason = sq_col_str(r->pool, st, 0);
    c->category = sq_col_str(r->pool, st, 1);
    c->quantity = sqlite3_column_int64(st, 2);
    c->last_seen = sqlite3_column_int64(st, 3);
    return 0;
}

/* Runs one counter query (reason or NULL, category, quantity, last_seen) into out. */
static int counts(struct store *stp, const char *sql, int64_t project_id, struct pool *pool,
                  struct store_item_count **out, size_t *n, struct bl_err *err)
{
    struct rows r = { pool, pool_alloc(pool, LIST_MAX * sizeof(**out)), 0, LIST_MAX,
                      sizeof(**out) };
    struct sq_query q = { sql, "read counts", { SQ_INT(project_id) }, 1, row_count, &r };
    int rc = sq_read_each(sq_of(stp), &q, err);

    *out = r.v;
    *n = r.n;
    return rc;
}

int sq_item_counts(struct store *stp, int64_t project_id, struct pool *pool,
                   struct store_item_count **reports, size_t *nreports,
                   struct store_item_count **received, size_t *nreceived, struct bl_err *err)
{
    static const char sql_reports[] =
        "SELECT reason, category, quantity, last_seen FROM client_reports"
        " WHERE project_id = ?1 ORDER BY reason, category LIMIT 1000";
    static const char sql_counts[] = "SELECT NULL, type, quantity, last_seen FROM items_received"
                                     " WHERE project_id = ?1 ORDER BY type LIMIT 1000";
    int rc = counts(stp, sql_reports, project_id, pool, reports, nreports, err);

    return rc == 0 ? counts(stp, sql_counts, project_id, pool, received, nreceived, err) : rc;
}
