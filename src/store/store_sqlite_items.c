/*
 * store_sqlite_items.c - envelope items kept beside events: attachments,
 * user feedback, client-report losses and received-only counts (core/item.h).
 *
 * DESIGN
 * They live in bilor.db, written by the digest thread on the main-db writer
 * connection in one transaction per batch, before the batch's events.
 * Exactly once: meta.items_lsn is the checkpoint of this transaction, so an
 * item whose record lies below it was applied by an earlier call and is
 * skipped. The counters (client reports, received-only items) are additive,
 * which is why a unique key alone would not do; attachments and feedback
 * also carry UNIQUE(lsn, seq) as a second guard.
 *
 * The statements are prepared per call rather than cached: writes happen
 * once per batch that carries items, reads once per API request, and the
 * per-connection statement caches stay for the hot paths.
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

static int prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **st, struct bl_err *err)
{
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
        return sq_fail(c, "prepare", err);
    return 0;
}

static int step_done(struct sq_conn *c, sqlite3_stmt *st, const char *what, struct bl_err *err)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return sq_fail(c, what, err);
}

/* The statements of one write_items call, in the order of enum item_kind. */
static const char *const write_sql[] = {
    "UPDATE meta SET value = max(value, ?1) WHERE key = 'items_lsn'",
    "INSERT OR IGNORE INTO attachments(project_id, event_id, lsn, seq, filename, content_type,"
    " attachment_type, size, received_at, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    "INSERT OR IGNORE INTO feedback(project_id, event_id, feedback_id, lsn, seq, name, email,"
    " message, url, received_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    "INSERT INTO client_reports(project_id, reason, category, quantity, last_seen)"
    " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(project_id, reason, category) DO UPDATE SET"
    " quantity = quantity + excluded.quantity, last_seen = max(last_seen, excluded.last_seen)",
    "INSERT INTO items_received(project_id, type, quantity, last_seen) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT(project_id, type) DO UPDATE SET quantity = quantity + excluded.quantity,"
    " last_seen = max(last_seen, excluded.last_seen)",
};
#define NWRITE (sizeof(write_sql) / sizeof(write_sql[0]))

static void bind_attachment(sqlite3_stmt *st, const struct item *it)
{
    sqlite3_bind_int64(st, 1, it->project_id);
    sq_bind_str(st, 2, it->event_id);
    sqlite3_bind_int64(st, 3, (int64_t)it->lsn);
    sqlite3_bind_int64(st, 4, it->seq);
    sq_bind_str(st, 5, it->filename);
    sq_bind_str(st, 6, it->content_type);
    sq_bind_str(st, 7, it->attachment_type);
    sqlite3_bind_int64(st, 8, (int64_t)it->len);
    sqlite3_bind_int64(st, 9, it->received_at);
    sqlite3_bind_blob64(st, 10, it->data != NULL ? it->data : "", it->len, SQLITE_STATIC);
}

static void bind_feedback(sqlite3_stmt *st, const struct item *it)
{
    sqlite3_bind_int64(st, 1, it->project_id);
    sq_bind_str(st, 2, it->event_id);
    sq_bind_str(st, 3, it->feedback_id);
    sqlite3_bind_int64(st, 4, (int64_t)it->lsn);
    sqlite3_bind_int64(st, 5, it->seq);
    sq_bind_str(st, 6, it->name);
    sq_bind_str(st, 7, it->email);
    sq_bind_str(st, 8, it->message);
    sq_bind_str(st, 9, it->url);
    sqlite3_bind_int64(st, 10, it->received_at);
}

static void bind_count(sqlite3_stmt *st, const struct item *it)
{
    int i = 1;

    sqlite3_bind_int64(st, i++, it->project_id);
    if (it->kind == ITEM_CLIENT_REPORT)
        sq_bind_str(st, i++, it->reason);
    sq_bind_str(st, i++, it->category);
    sqlite3_bind_int64(st, i++, it->quantity);
    sqlite3_bind_int64(st, i, it->received_at);
}

static int write_one(struct sq_conn *c, sqlite3_stmt *const *st, const struct item *it,
                     struct bl_err *err)
{
    if (it->kind < ITEM_ATTACHMENT || it->kind > ITEM_RECEIVED)
        return 0;
    if (it->kind == ITEM_ATTACHMENT)
        bind_attachment(st[it->kind], it);
    else if (it->kind == ITEM_FEEDBACK)
        bind_feedback(st[it->kind], it);
    else
        bind_count(st[it->kind], it);
    return step_done(c, st[it->kind], "write item", err);
}

static int read_items_lsn(struct sq_conn *c, int64_t *out, struct bl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(c, "SELECT value FROM meta WHERE key = 'items_lsn'", &st, err);

    if (rc != 0)
        return rc;
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(c, "read items_lsn", err);
    sqlite3_finalize(st);
    return rc;
}

static int write_all(struct sq_conn *c, sqlite3_stmt **st, const struct item *items, size_t n,
                     uint64_t checkpoint_lsn, struct bl_err *err)
{
    int64_t done = 0;
    int rc = read_items_lsn(c, &done, err);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((int64_t)items[i].lsn >= done)
            rc = write_one(c, st, &items[i], err);
    }
    if (rc == 0) {
        sqlite3_bind_int64(st[0], 1, (int64_t)checkpoint_lsn);
        rc = step_done(c, st[0], "write items_lsn", err);
    }
    return rc;
}

int sq_write_items(struct store *stp, const struct item *items, size_t n, uint64_t checkpoint_lsn,
                   struct bl_err *err)
{
    struct sq_conn *c = sq_of(stp)->w;
    sqlite3_stmt *st[NWRITE] = { NULL };
    int rc = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; rc == 0 && i < NWRITE; i++)
        rc = prepare(c, write_sql[i], &st[i], err);
    if (rc == 0)
        rc = sq_exec(c, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = write_all(c, st, items, n, checkpoint_lsn, err);
        rc = rc == 0 ? sq_exec(c, "COMMIT", err) : rc;
        if (rc != 0)
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    for (size_t i = 0; i < NWRITE; i++)
        sqlite3_finalize(st[i]);
    return rc;
}

/* Reads: a main-db reader and one uncached statement per call. */

struct rd {
    struct sq_store *s;
    struct sq_conn *c;
    sqlite3_stmt *st;
};

static int rd_open(struct store *stp, const char *sql, struct rd *r, struct bl_err *err)
{
    int rc;

    r->s = sq_of(stp);
    r->c = NULL;
    r->st = NULL;
    rc = sq_reader_get(r->s, &r->c, err);
    return rc == 0 ? prepare(r->c, sql, &r->st, err) : rc;
}

static void rd_close(struct rd *r)
{
    sqlite3_finalize(r->st);
    if (r->c != NULL)
        sq_reader_put(r->s, r->c);
}

static void row_attachment(sqlite3_stmt *st, struct pool *pool, struct store_attachment *a)
{
    a->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, a->event_id, sizeof(a->event_id));
    a->filename = sq_col_str(pool, st, 2);
    a->content_type = sq_col_str(pool, st, 3);
    a->attachment_type = sq_col_str(pool, st, 4);
    a->size = sqlite3_column_int64(st, 5);
    a->received_at = sqlite3_column_int64(st, 6);
    a->data = NULL;
}

#define ATTACHMENT_COLS "id, event_id, filename, content_type, attachment_type, size, received_at"

int sq_attachment_list(struct store *stp, int64_t project_id, const char *event_id,
                       struct pool *pool, struct store_attachment **out, size_t *n,
                       struct bl_err *err)
{
    struct rd r;
    size_t cap = 8;
    int rc = rd_open(stp,
                     "SELECT " ATTACHMENT_COLS " FROM attachments"
                     " WHERE project_id = ?1 AND event_id = ?2 ORDER BY id LIMIT 1000",
                     &r, err);

    *out = pool_alloc(pool, cap * sizeof(**out));
    *n = 0;
    if (rc == 0) {
        sqlite3_bind_int64(r.st, 1, project_id);
        sq_bind_str(r.st, 2, event_id);
    }
    while (rc == 0 && (rc = sqlite3_step(r.st)) == SQLITE_ROW && *n < LIST_MAX) {
        if (*n == cap) {
            struct store_attachment *v = pool_alloc(pool, cap * 2 * sizeof(*v));

            memcpy(v, *out, cap * sizeof(*v));
            *out = v;
            cap *= 2;
        }
        row_attachment(r.st, pool, &(*out)[(*n)++]);
        rc = 0;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW || rc == 0 ? 0
         : rc < 0                                         ? rc
                                                          : sq_fail(r.c, "list attachments", err);
    rd_close(&r);
    return rc;
}

int sq_attachment_get(struct store *stp, int64_t project_id, const char *event_id, int64_t id,
                      struct pool *pool, struct store_attachment *out, struct bl_err *err)
{
    struct rd r;
    int rc = rd_open(stp,
                     "SELECT " ATTACHMENT_COLS ", data FROM attachments"
                     " WHERE id = ?1 AND project_id = ?2 AND event_id = ?3",
                     &r, err);

    if (rc == 0) {
        sqlite3_bind_int64(r.st, 1, id);
        sqlite3_bind_int64(r.st, 2, project_id);
        sq_bind_str(r.st, 3, event_id);
        rc = sq_row_rc(r.c, sqlite3_step(r.st), "attachment", err);
    }
    if (rc == 0) {
        const void *p = sqlite3_column_blob(r.st, 7);
        size_t len = (size_t)sqlite3_column_bytes(r.st, 7);

        row_attachment(r.st, pool, out);
        out->size = (int64_t)len;
        out->data = len > 0 ? pool_memdup(pool, p, len) : "";
    }
    rd_close(&r);
    return rc;
}

static void row_feedback(sqlite3_stmt *st, struct pool *pool, struct store_feedback *f)
{
    f->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, f->event_id, sizeof(f->event_id));
    sq_col_copy(st, 2, f->feedback_id, sizeof(f->feedback_id));
    f->name = sq_col_str(pool, st, 3);
    f->email = sq_col_str(pool, st, 4);
    f->message = sq_col_str(pool, st, 5);
    f->url = sq_col_str(pool, st, 6);
    f->received_at = sqlite3_column_int64(st, 7);
}

int sq_feedback_list(struct store *stp, int64_t project_id, const char *event_id, size_t limit,
                     struct pool *pool, struct store_feedback **out, size_t *n,
                     struct bl_err *err)
{
    struct rd r;
    int rc = rd_open(stp,
                     "SELECT id, event_id, feedback_id, name, email, message, url, received_at"
                     " FROM feedback WHERE project_id = ?1 AND (?2 = '' OR event_id = ?2)"
                     " ORDER BY id DESC LIMIT ?3",
                     &r, err);

    limit = limit == 0 || limit > LIST_MAX ? LIST_MAX : limit;
    *out = pool_alloc(pool, limit * sizeof(**out));
    *n = 0;
    if (rc == 0) {
        sqlite3_bind_int64(r.st, 1, project_id);
        sq_bind_str(r.st, 2, event_id != NULL ? event_id : "");
        sqlite3_bind_int64(r.st, 3, (int64_t)limit);
    }
    while (rc == 0 && (rc = sqlite3_step(r.st)) == SQLITE_ROW && *n < limit) {
        row_feedback(r.st, pool, &(*out)[(*n)++]);
        rc = 0;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW || rc == 0 ? 0
         : rc < 0                                         ? rc
                                                          : sq_fail(r.c, "list feedback", err);
    rd_close(&r);
    return rc;
}

/* Runs one counter query (reason or NULL, category, quantity, last_seen) into out. */
static int counts(struct store *stp, const char *sql, int64_t project_id, struct pool *pool,
                  struct store_item_count **out, size_t *n, struct bl_err *err)
{
    struct rd r;
    int rc = rd_open(stp, sql, &r, err);

    *out = pool_alloc(pool, LIST_MAX * sizeof(**out));
    *n = 0;
    if (rc == 0)
        sqlite3_bind_int64(r.st, 1, project_id);
    while (rc == 0 && *n < LIST_MAX && (rc = sqlite3_step(r.st)) == SQLITE_ROW) {
        struct store_item_count *c = &(*out)[(*n)++];

        c->reason = sq_col_str(pool, r.st, 0);
        c->category = sq_col_str(pool, r.st, 1);
        c->quantity = sqlite3_column_int64(r.st, 2);
        c->last_seen = sqlite3_column_int64(r.st, 3);
        rc = 0;
    }
    rc = rc == SQLITE_DONE || rc == 0 ? 0 : rc < 0 ? rc : sq_fail(r.c, "read counts", err);
    rd_close(&r);
    return rc;
}

int sq_item_counts(struct store *stp, int64_t project_id, struct pool *pool,
                   struct store_item_count **reports, size_t *nreports,
                   struct store_item_count **received, size_t *nreceived, struct bl_err *err)
{
    int rc = counts(stp,
                    "SELECT reason, category, quantity, last_seen FROM client_reports"
                    " WHERE project_id = ?1 ORDER BY reason, category LIMIT 1000",
                    project_id, pool, reports, nreports, err);

    if (rc == 0)
        rc = counts(stp,
                    "SELECT NULL, type, quantity, last_seen FROM items_received"
                    " WHERE project_id = ?1 ORDER BY type LIMIT 1000",
                    project_id, pool, received, nreceived, err);
    return rc;
}
