/*
 * store_sqlite.c - the SQLite store backend: open/close, connections, ops table.
 *
 * DESIGN
 * Files under <data_dir>:
 *   bilor.db             meta (schema_version, next_issue_id), nodes (each
 *                        node's checkpoint_lsn), projects, project_keys,
 *                        users, api_tokens, issues, issue_hourly,
 *                        issue_seen, project_seen (store_sqlite_seen.c),
 *                        project_hourly
 *   events/YYYYMMDD.db   one file per UTC day of the event timestamp: events,
 *                        event_raw (each payload's locator in the -raw file
 *                        below; inline for rows of older binaries), events_fts
 *                        (issue events, and log rows of older binaries),
 *                        log_blocks, log_fts, log_minutes, log_ids,
 *                        log_gone (log lines: store_sqlite_logs.c),
 *                        part_meta (schema_version) and part_nodes (each
 *                        node's applied_lsn)
 *   events/YYYYMMDD.db-raw  the day's event payloads, appended
 *                        (store_sqlite_rawfile.c)
 * The schemas are in store_sqlite_schema.c; search/ compiles queries against
 * the day files' events and events_fts tables described there.
 *
 * Why one file per day: retention drops a day by unlinking its file, which
 * costs nothing and gives the disk back at once, with no table scan and no
 * VACUUM. Listings walk the days newest first and stop when a page is full.
 *
 * Connections. Every file is in WAL mode, so readers never wait for the
 * writer. The digest thread is the only writer of events and issues; it owns
 * one connection to bilor.db and a few to the day files it writes, and needs
 * no lock. Admin writes (projects, users, tokens, issue status) go through
 * one more bilor.db connection behind a mutex. Readers take a connection
 * from a mutex-protected pool (bilor.db) or a small LRU (day files), use it
 * alone and give it back. Every connection has busy_timeout 5000 ms because
 * another process (the CLI) may write bilor.db at the same time, and caches
 * its prepared statements. Connections are opened with SQLITE_OPEN_NOMUTEX:
 * one thread uses one at a time, and the pool's mutex orders the hand-over.
 *
 * Every connection opens through the store's VFS (store_sqlite_vfs.c): the
 * default one, with a connection's WAL writes gathered into few writes.
 *
 * Durability. The digest's writer connections use synchronous=FULL
 * (sq_writer_tune): once the main database records checkpoint_lsn, the
 * journal deletes what lies below it, so every day file's commit must be on
 * disk before the main commit, or a power loss could keep the checkpoint
 * and lose the events. With batches of thousands of events that is one
 * fsync per file per batch. Admin writes use synchronous=FULL as well;
 * readers never write.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "core/banned.h"

int sq_fail(struct sq_conn *c, const char *what, struct bl_err *err)
{
    const char *msg = c != NULL && c->db != NULL ? sqlite3_errmsg(c->db) : "no connection";

    return bl_err_set(err, BL_ESTORE, "sqlite: %s: %s", what, msg);
}

static int apply_pragmas(struct sq_conn *c, int flags, struct bl_err *err)
{
    int rc;

    sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
    rc = sq_exec(c, "PRAGMA journal_mode=WAL", err);
    if (rc == 0)
        rc = sq_exec(c, "PRAGMA synchronous=NORMAL", err);
    if (rc == 0)
        rc = sq_exec(c, "PRAGMA temp_store=MEMORY", err);
    if (rc == 0 && (flags & SQ_OPEN_READER))
        rc = sq_exec(c, "PRAGMA query_only=1", err);
    /*
     * Readers map the file: a search over log blocks reads thousands of
     * small blobs, and through read() the kernel's copies of those pages
     * were most of a histogram's time (measured: docs/bench.md).
     */
    if (rc == 0 && (flags & SQ_OPEN_READER))
        rc = sq_exec(c, "PRAGMA mmap_size=2147483648", err);
    return rc;
}

/*
 * The digest's connections. A large page cache keeps the hot index and FTS
 * pages of the day being written in memory (with the 2 MiB default every
 * batch re-read them through the kernel, which cost more than the inserts).
 * synchronous=FULL makes each batch commit durable before the next file
 * commits, so the day-files-then-main ordering that exactly-once rests on
 * also holds across a power loss; it costs one fsync per file per batch.
 */
int sq_writer_tune(struct sq_store *s, struct sq_conn *c, struct bl_err *err)
{
    int rc = sq_exec(c, "PRAGMA cache_size=-65536", err);

    if (rc == 0)
        rc = sq_exec(c, "PRAGMA synchronous=FULL", err);
    /* Debian builds SQLite with secure_delete on: zeroing freed pages cost 2-5% of inserts. */
    if (rc == 0)
        rc = sq_exec(c, "PRAGMA secure_delete=OFF", err);
    /*
     * No checkpoint in the writer's commits: each copied pages back and
     * fsynced on the digest's one writer thread. The checkpointer thread
     * does them, woken by this hook (store_sqlite_ckpt.c).
     */
    if (rc == 0)
        rc = sq_exec(c, "PRAGMA wal_autocheckpoint=0", err);
    if (rc == 0) {
        c->store = s;
        sqlite3_wal_hook(c->db, sq_ckpt_hook, c);
    }
    /*
     * A WAL that grew (a long reader, a disk-full retry loop) is cut back to
     * SQ_WAL_KEEP_BYTES after each checkpoint instead of keeping its
     * high-water size: a WAL kept at its peak refilled a disk just freed.
     */
    if (rc == 0) {
        char sql[64];

        snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%d", SQ_WAL_KEEP_BYTES);
        rc = sq_exec(c, sql, err);
    }
    return rc;
}

int sq_conn_open(const char *path, int flags, struct sq_conn **out, struct bl_err *err)
{
    struct sq_conn *c = xcalloc(1, sizeof(*c));
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc;

    if (flags & SQ_OPEN_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    c->day = -1;
    rc = sqlite3_open_v2(path, &c->db, oflags, sq_vfs_register() == SQLITE_OK ? SQ_VFS_NAME : NULL);
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_CANTOPEN && !(flags & SQ_OPEN_CREATE))
            rc = bl_err_set(err, BL_ENOTFOUND, "sqlite: cannot open '%s'", path);
        else
            rc = bl_err_set(err, BL_ESTORE, "sqlite: cannot open '%s': %s", path,
                            c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
        sq_conn_close(c);
        return rc;
    }
    sqlite3_extended_result_codes(c->db, 1);
    rc = apply_pragmas(c, flags, err);
    if (rc != 0) {
        sq_conn_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sq_conn_close(struct sq_conn *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].st);
    sqlite3_close(c->db);
    sq_rawfile_close(c->raw);
    free(c);
}

int sq_stmt(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct bl_err *err)
{
    size_t i;
    sqlite3_stmt *st = NULL;

    for (i = 0; i < c->nstmts; i++) {
        if (c->stmts[i].sql == sql) {
            sqlite3_reset(c->stmts[i].st);
            sqlite3_clear_bindings(c->stmts[i].st);
            *out = c->stmts[i].st;
            return 0;
        }
    }
    if (c->nstmts == SQ_STMT_CACHE)
        return bl_err_set(err, BL_ESTORE, "sqlite: statement cache full");
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return sq_fail(c, "prepare", err);
    c->stmts[c->nstmts].sql = sql;
    c->stmts[c->nstmts].st = st;
    c->nstmts++;
    *out = st;
    return 0;
}

void sq_done(sqlite3_stmt *st)
{
    if (st != NULL)
        sqlite3_reset(st);
}

int sq_exec(struct sq_conn *c, const char *sql, struct bl_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);

    if (rc == SQLITE_OK)
        return 0;
    rc = bl_err_set(err, BL_ESTORE, "sqlite: %s: %.120s", msg != NULL ? msg : "error", sql);
    sqlite3_free(msg);
    return rc;
}

/* A failed step: BL_EEXIST on a constraint violation, else BL_ESTORE. */
static int step_fail(struct sq_conn *c, int step, const char *what, struct bl_err *err)
{
    if ((step & 0xff) == SQLITE_CONSTRAINT)
        return bl_err_set(err, BL_EEXIST, "sqlite: %s: %s", what, sqlite3_errmsg(c->db));
    return sq_fail(c, what, err);
}

int sq_step_done(struct sq_conn *c, sqlite3_stmt *st, const char *what, struct bl_err *err)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return step_fail(c, rc, what, err);
}

const char *sq_col_str(struct pool *pool, sqlite3_stmt *st, int col)
{
    const unsigned char *p;
    int n;

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    p = sqlite3_column_text(st, col);
    n = sqlite3_column_bytes(st, col);
    if (p == NULL)
        return pool_strdup(pool, "");
    return pool_strndup(pool, (const char *)p, (size_t)n);
}

void sq_col_copy(sqlite3_stmt *st, int col, char *out, size_t outsz)
{
    const unsigned char *p = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);

    if (p == NULL)
        n = 0;
    if (n >= outsz)
        n = outsz - 1;
    if (n > 0)
        memcpy(out, p, n);
    out[n] = '\0';
}

int sq_bind_str(sqlite3_stmt *st, int idx, const char *s)
{
    if (s == NULL)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

int sq_bind_args(sqlite3_stmt *st, const struct sq_arg *args, size_t n)
{
    size_t i;
    int rc = SQLITE_OK;

    for (i = 0; i < n && rc == SQLITE_OK; i++) {
        if (args[i].type == 'i')
            rc = sqlite3_bind_int64(st, (int)i + 1, args[i].i);
        else if (args[i].type == 'b')
            rc = sqlite3_bind_blob64(st, (int)i + 1, args[i].s != NULL ? args[i].s : "",
                                     (sqlite3_uint64)args[i].i, SQLITE_STATIC);
        else
            rc = sq_bind_str(st, (int)i + 1, args[i].s);
    }
    return rc;
}

static int query_run(struct sq_conn *c, const struct sq_query *q, int one, struct bl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step = SQLITE_DONE, rows = 0;

    if (q->nargs > SQ_ARGS_MAX)
        return bl_err_set(err, BL_EINVAL, "%s: too many arguments", q->what);
    rc = sq_stmt(c, q->sql, &st, err);
    if (rc != 0)
        return rc;
    if (sq_bind_args(st, q->args, q->nargs) != SQLITE_OK)
        rc = sq_fail(c, q->what, err);
    while (rc == 0) {
        step = sqlite3_step(st);
        if (step != SQLITE_ROW)
            break;
        rows++;
        rc = q->row != NULL ? q->row(st, q->ctx, err) : 0;
        if (one && rc == 0)
            rc = 1;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = step_fail(c, step, q->what, err);
    else if (rc == 0 && one && rows == 0)
        rc = bl_err_set(err, BL_ENOTFOUND, "%s: not found", q->what);
    sq_done(st);
    return rc > 0 ? 0 : rc;
}

int sq_query_each(struct sq_conn *c, const struct sq_query *q, struct bl_err *err)
{
    return query_run(c, q, 0, err);
}

int sq_query_one(struct sq_conn *c, const struct sq_query *q, struct bl_err *err)
{
    return query_run(c, q, 1, err);
}

static int read_with(struct sq_store *s, const struct sq_query *q, int one, struct bl_err *err)
{
    struct sq_conn *c = NULL;
    int rc = sq_reader_get(s, &c, err);

    if (rc != 0)
        return rc;
    rc = query_run(c, q, one, err);
    sq_reader_put(s, c);
    return rc;
}

int sq_read_each(struct sq_store *s, const struct sq_query *q, struct bl_err *err)
{
    return read_with(s, q, 0, err);
}

int sq_read_one(struct sq_store *s, const struct sq_query *q, struct bl_err *err)
{
    return read_with(s, q, 1, err);
}

int sq_row_int64(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    (void)err;
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return 0;
}

int sq_reader_get(struct sq_store *s, struct sq_conn **out, struct bl_err *err)
{
    char path[SQ_PATH_MAX];

    pthread_mutex_lock(&s->rmu);
    if (s->nrfree > 0) {
        *out = s->rfree[--s->nrfree];
        pthread_mutex_unlock(&s->rmu);
        return 0;
    }
    pthread_mutex_unlock(&s->rmu);
    snprintf(path, sizeof(path), "%s/bilor.db", s->dir);
    return sq_conn_open(path, SQ_OPEN_READER, out, err);
}

void sq_reader_put(struct sq_store *s, struct sq_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&s->rmu);
    if (s->nrfree < SQ_MAIN_READERS) {
        s->rfree[s->nrfree++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->rmu);
    sq_conn_close(c);
}

static void sq_close(struct store *st)
{
    struct sq_store *s = sq_of(st);
    size_t i;

    /* The checkpointer first: the writer's connections, closed last, checkpoint what is left. */
    sq_ckpt_stop(s);
    sq_part_writers_close(s);
    sq_part_readers_close(s);
    for (i = 0; i < s->nrfree; i++)
        sq_conn_close(s->rfree[i]);
    sq_conn_close(s->admin);
    sq_conn_close(s->w);
    sq_logs_free(s);
    ZSTD_freeCCtx(s->zcctx);
    sq_ckpt_free(s->ckpt);
    pthread_mutex_destroy(&s->admin_mu);
    pthread_mutex_destroy(&s->rmu);
    pthread_mutex_destroy(&s->pmu);
    sq_usage_free(s);
    pthread_mutex_destroy(&s->umu);
    pthread_cond_destroy(&s->pgone);
    free(s->pbusy);
    free(s->events_dir);
    free(s->dir);
    free(s);
}

/* A read of bilor.db on a pooled reader: the file is there and answers. */
static int sq_ping(struct store *st, struct bl_err *err)
{
    static const char sql[] = "SELECT value FROM meta WHERE key = 'schema_version'";
    int64_t v = 0;
    struct sq_query q = { sql, "ping", { { 0 } }, 0, sq_row_int64, &v };
    int rc = sq_read_one(sq_of(st), &q, err);

    return rc == BL_ENOTFOUND ? bl_err_set(err, BL_ESTORE, "ping: no schema version") : rc;
}

static void sq_ckpt_counts(struct store *st, struct store_ckpt_stats *out)
{
    struct sq_ckpt_stats s;

    sq_ckpt_stats(sq_of(st), &s);
    *out = (struct store_ckpt_stats){ s.wakes,  s.passes,       s.frames,        s.truncates,
                                      s.errors, s.writer_ckpts, s.writer_frames, s.writer_us };
}

static const struct store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .ping = sq_ping,
    .write_batch = sq_write_batch,
    .prepare = sq_prepare,
    .prep_free = sq_prep_free,
    .get_checkpoint = sq_get_checkpoint,
    .project_add = sq_project_add,
    .project_get = sq_project_get,
    .grouping_get = sq_grouping_get,
    .grouping_set = sq_grouping_set,
    .project_list = sq_project_list,
    .key_lookup = sq_key_lookup,
    .key_info = sq_key_info,
    .key_add = sq_key_add,
    .key_list = sq_key_list,
    .key_update = sq_key_update,
    .settings_get = sq_settings_get,
    .settings_set = sq_settings_set,
    .user_add = sq_user_add,
    .user_count = sq_user_count,
    .token_add = sq_token_add,
    .token_lookup = sq_token_lookup,
    .issue_list = sq_issue_list,
    .issue_get = sq_issue_get,
    .issue_set_status = sq_issue_set_status,
    .issue_hourly = sq_issue_hourly,
    .seen_list = sq_seen_list,
    .event_list = sq_event_list,
    .event_get = sq_event_get,
    .event_scan = sq_event_scan,
    .event_histogram = sq_event_histogram,
    .retention_get = sq_retention_get,
    .retention_set = sq_retention_set,
    .retention_run = sq_retention_run,
    .usage = sq_usage,
    .ckpt_stats = sq_ckpt_counts,
    .set_issue_events_per_day = sq_set_issue_events_per_day,
    .set_log_codec = sq_set_log_codec,
    .write_items = sq_write_items,
    .attachment_list = sq_attachment_list,
    .attachment_get = sq_attachment_get,
    .feedback_list = sq_feedback_list,
    .item_counts = sq_item_counts,
    /* access (issue 8) */
    .user_get = sq_user_get,
    .user_list = sq_user_list,
    .user_update = sq_user_update,
    .session_add = sq_session_add,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .member_set = sq_member_set,
    .member_role = sq_member_role,
    .member_list = sq_member_list,
    .token_create = sq_token_create,
    .token_get = sq_token_get,
    .token_list = sq_token_list,
    .token_revoke = sq_token_revoke,
    .token_touch = sq_token_touch,
    .project_update = sq_project_update,
};

/* mkdir -p for the data directory (0700: it holds password hashes and payloads). */
static int make_dirs(const char *path, struct bl_err *err)
{
    char tmp[SQ_PATH_MAX];
    size_t len = strlen(path);
    size_t i;

    if (len == 0 || len >= sizeof(tmp))
        return bl_err_set(err, BL_EINVAL, "bad data directory '%s'", path);
    memcpy(tmp, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        tmp[i] = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return bl_err_set(err, BL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
        tmp[i] = path[i];
    }
    return 0;
}

static int open_main(struct sq_store *s, const char *node_id, struct bl_err *err)
{
    char path[SQ_PATH_MAX];
    int rc;

    snprintf(path, sizeof(path), "%s/bilor.db", s->dir);
    rc = sq_conn_open(path, SQ_OPEN_CREATE, &s->w, err);
    if (rc == 0)
        rc = sq_migrate_main(s->w, err);
    if (rc == 0)
        rc = sq_seen_backfill(s, err);
    if (rc == 0)
        rc = sq_conn_open(path, 0, &s->admin, err);
    if (rc == 0)
        rc = sq_exec(s->admin, "PRAGMA synchronous=FULL", err);
    if (rc == 0)
        rc = sq_writer_tune(s, s->w, err);
    if (rc == 0 && node_id != NULL)
        rc = sq_node_register(s, node_id, err);
    return rc;
}

/*
 * Before SQLite initialises: without memory statistics no allocation takes
 * SQLite's global mutex (it showed in the digest's profile). Runs once.
 */
static void sq_global_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

int store_open_sqlite(struct store **out, const char *data_dir, const char *node_id,
                      struct bl_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct sq_store *s = NULL;
    int rc;

    pthread_once(&once, sq_global_init);
    if (data_dir == NULL || strlen(data_dir) > SQ_PATH_MAX - 64)
        return bl_err_set(err, BL_EINVAL, "bad data directory");
    if (node_id != NULL && store_node_id_check(node_id) != 0)
        return bl_err_set(err, BL_EINVAL, "bad node id");
    s = xcalloc(1, sizeof(*s));
    s->base.ops = &sq_ops;
    s->dir = xstrdup(data_dir);
    s->events_dir = xmalloc(strlen(data_dir) + 8);
    memcpy(s->events_dir, data_dir, strlen(data_dir));
    memcpy(s->events_dir + strlen(data_dir), "/events", 8);
    pthread_mutex_init(&s->admin_mu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_mutex_init(&s->pmu, NULL);
    pthread_mutex_init(&s->umu, NULL);
    pthread_cond_init(&s->pgone, NULL);
    s->pdropping = -1;
    s->ckpt = sq_ckpt_new();
    s->zcctx = ZSTD_createCCtx();
    if (s->zcctx == NULL)
        fatal("out of memory creating a zstd context");
    rc = make_dirs(s->events_dir, err);
    if (rc == 0)
        rc = open_main(s, node_id, err);
    if (rc != 0) {
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
