/*
 * store_sqlite_schema.c - numbered, forward-only migrations of the SQLite store.
 *
 * Migration N of a list is applied when the file's schema_version is N-1, in
 * its own transaction together with the version bump, so a crash or a second
 * process opening the store at the same moment (the CLI next to a server)
 * never applies one twice: BEGIN IMMEDIATE serializes them and the version is
 * read again inside the transaction. A file whose version is newer than this
 * binary knows is refused rather than written with an old idea of the schema.
 * Never edit a released migration; append a new one.
 *
 * The main db (bilor.db) and the day files (events/YYYYMMDD.db) have their
 * own lists. A day file is migrated when the writer opens it.
 *
 * Schema notes for readers (search/ compiles queries against the day files):
 *   events       one row per stored event; id is the FTS rowid and is kept
 *                stable (INTEGER PRIMARY KEY) so the external-content index
 *                stays valid. Times are µs since the epoch, level/kind/source
 *                the enums of core/event.h, template_hash the uint64 as int64,
 *                tags_json [["key","value"],...] or NULL, issue_id 0 for logs.
 *                node/lsn/seq name the journal record (exactly-once bookkeeping).
 *   event_raw    the payload (id = events.id), encoding enum ev_raw_encoding;
 *                apart from events so listings read compact rows and payload
 *                thinning is a DELETE that leaves the event.
 *   events_fts   FTS5 over message, title, search_text, external content
 *                (content=events), detail=none: a MATCH gives candidate rows
 *                by terms only, so phrases are checked on events' text.
 *                Files created since migration 7 (part_meta events_layout 2)
 *                have it with columnsize=0 and index log rows by a partial
 *                index (events_log_ts) instead of events_kind_ts.
 *   issues       id allocated from meta.next_issue_id, never reused.
 *   nodes        one row per node (journal): its checkpoint_lsn; id is the
 *                small number day files use for it (events.node, part_nodes).
 *   issue_hourly / project_hourly   counts per hour; hour = µs at the hour's start.
 *   issue_seen   per issue, the environments (kind 0) and releases (kind 1)
 *                its events came from, with first/last seen and a count.
 *   project_seen the same per project, with how many issues have each value.
 *   attachments, feedback, client_reports, items_received   envelope items that
 *                are not events (core/item.h); nodes.items_lsn is their checkpoint.
 */
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/sqlite_int.h"
#include "core/banned.h"

static const char *const main_migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES('checkpoint_lsn', 0), ('next_issue_id', 1);"
    "CREATE TABLE projects("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE,"
    " issue_level INTEGER NOT NULL DEFAULT 4, created_at INTEGER NOT NULL);"
    "CREATE TABLE project_keys("
    " public_key TEXT PRIMARY KEY, project_id INTEGER NOT NULL,"
    " active INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX project_keys_project ON project_keys(project_id);"
    "CREATE TABLE users("
    " id INTEGER PRIMARY KEY, login TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,"
    " is_admin INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE TABLE api_tokens("
    " token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, label TEXT,"
    " created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE issues("
    " id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, fingerprint TEXT NOT NULL,"
    " grouping_version INTEGER NOT NULL, title TEXT NOT NULL, culprit TEXT,"
    " level INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, times_seen INTEGER NOT NULL,"
    " first_release TEXT, last_release TEXT,"
    " UNIQUE(project_id, fingerprint, grouping_version));"
    "CREATE INDEX issues_last_seen ON issues(project_id, status, last_seen);"
    "CREATE INDEX issues_first_seen ON issues(project_id, status, first_seen);"
    "CREATE INDEX issues_times_seen ON issues(project_id, status, times_seen);"
    "CREATE TABLE issue_hourly("
    " issue_id INTEGER NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(issue_id, hour)) WITHOUT ROWID;"
    "CREATE TABLE project_hourly("
    " project_id INTEGER NOT NULL, hour INTEGER NOT NULL, kind INTEGER NOT NULL,"
    " count INTEGER NOT NULL, PRIMARY KEY(project_id, hour, kind)) WITHOUT ROWID;",
    /*
     * 2: a checkpoint per node (per journal). The one checkpoint so far was
     * the data directory's own node's: it becomes row 1, which the first
     * node to open the store for digesting claims (sq_node_register).
     */
    "CREATE TABLE nodes("
    " id INTEGER PRIMARY KEY, node_id TEXT UNIQUE,"
    " checkpoint_lsn INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO nodes(id, node_id, checkpoint_lsn)"
    " SELECT 1, NULL, value FROM meta WHERE key = 'checkpoint_lsn';"
    "INSERT OR IGNORE INTO nodes(id, node_id, checkpoint_lsn) VALUES(1, NULL, 0);"
    "DELETE FROM meta WHERE key = 'checkpoint_lsn';",
    /*
     * 3: envelope items kept beside events (store_sqlite_items.c).
     * nodes.items_lsn is their exactly-once checkpoint per node: records below
     * it are already applied. LSNs are per journal, so the unique guard names
     * the node too.
     */
    "ALTER TABLE nodes ADD COLUMN items_lsn INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE attachments("
    " id INTEGER PRIMARY KEY, node INTEGER NOT NULL, project_id INTEGER NOT NULL,"
    " event_id TEXT NOT NULL, lsn INTEGER NOT NULL, seq INTEGER NOT NULL, filename TEXT NOT NULL,"
    " content_type TEXT NOT NULL, attachment_type TEXT NOT NULL, size INTEGER NOT NULL,"
    " received_at INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(node, lsn, seq));"
    "CREATE INDEX attachments_event ON attachments(project_id, event_id);"
    "CREATE TABLE feedback("
    " id INTEGER PRIMARY KEY, node INTEGER NOT NULL, project_id INTEGER NOT NULL,"
    " event_id TEXT NOT NULL, feedback_id TEXT NOT NULL, lsn INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, name TEXT, email TEXT, message TEXT, url TEXT,"
    " received_at INTEGER NOT NULL, UNIQUE(node, lsn, seq));"
    "CREATE INDEX feedback_project ON feedback(project_id, id);"
    "CREATE INDEX feedback_event ON feedback(project_id, event_id);"
    "CREATE TABLE client_reports("
    " project_id INTEGER NOT NULL, reason TEXT NOT NULL, category TEXT NOT NULL,"
    " quantity INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " PRIMARY KEY(project_id, reason, category)) WITHOUT ROWID;"
    "CREATE TABLE items_received("
    " project_id INTEGER NOT NULL, type TEXT NOT NULL, quantity INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL, PRIMARY KEY(project_id, type)) WITHOUT ROWID;",
    /*
     * 4: grouping rules per project (issue 11):
     * each issue records the project rule-set version it was created with
     * (its algorithm version is grouping_version), and each project may
     * have its own fingerprint and stack-trace rules in Sentry's syntax.
     * The version counts every change of a project's rules.
     */
    "ALTER TABLE issues ADD COLUMN rules_version INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE project_grouping("
    " project_id INTEGER PRIMARY KEY, fingerprint_rules TEXT NOT NULL DEFAULT '',"
    " stack_rules TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0,"
    " updated_at INTEGER NOT NULL DEFAULT 0);",
    /*
     * 5: DSN keys (issue 8).
     * Several keys per project, each with a stable small id for the API, a
     * label and its own rate limits (0 = unlimited); the existing keys get
     * ids in creation order. Project-wide quotas and scrubbing settings live
     * in project_settings so the projects table stays the access layer's.
     */
    "ALTER TABLE project_keys ADD COLUMN id INTEGER;"
    "ALTER TABLE project_keys ADD COLUMN label TEXT NOT NULL DEFAULT 'Default';"
    "ALTER TABLE project_keys ADD COLUMN events_per_minute INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE project_keys ADD COLUMN events_per_hour INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE project_keys ADD COLUMN lines_per_minute INTEGER NOT NULL DEFAULT 0;"
    "UPDATE project_keys SET id = (SELECT count(*) FROM project_keys k"
    " WHERE k.created_at < project_keys.created_at OR (k.created_at = project_keys.created_at"
    " AND k.public_key <= project_keys.public_key));"
    "CREATE UNIQUE INDEX project_keys_id ON project_keys(id);"
    "CREATE TABLE project_settings("
    " project_id INTEGER PRIMARY KEY, events_per_minute INTEGER NOT NULL DEFAULT 0,"
    " events_per_hour INTEGER NOT NULL DEFAULT 0, lines_per_minute INTEGER NOT NULL DEFAULT 0,"
    " scrub_fields TEXT NOT NULL DEFAULT '', safe_fields TEXT NOT NULL DEFAULT '');",
    /*
     * 6: a project's retention in days (issue 7, store_sqlite_retention.c).
     */
    "ALTER TABLE projects ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30;",
    /*
     * 7: access (issue 8): users get an email (the old login, kept as it
     * was: the first start's "admin" still signs in), a display name, a
     * disabled flag and a last-login time; web sessions (stored by the
     * digest of their id, never the id); project roles; API tokens get an
     * id (to revoke them), scopes (store.h STORE_SCOPE_*), an optional
     * project list ("1,5": comma-separated ids, "" = every project the
     * user may see) and a last-used time. Existing tokens keep every scope.
     */
    "ALTER TABLE users RENAME COLUMN login TO email;"
    "ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN last_login INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE sessions("
    " id_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, csrf TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE project_members("
    " project_id INTEGER NOT NULL, user_id INTEGER NOT NULL, role INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(project_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX project_members_user ON project_members(user_id);"
    "CREATE TABLE api_tokens4("
    " id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, user_id INTEGER NOT NULL,"
    " name TEXT NOT NULL DEFAULT '', scopes INTEGER NOT NULL DEFAULT 7,"
    " projects TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO api_tokens4(token_hash, user_id, name, created_at)"
    " SELECT token_hash, user_id, coalesce(label, ''), created_at FROM api_tokens"
    " ORDER BY created_at, token_hash;"
    "DROP TABLE api_tokens;"
    "ALTER TABLE api_tokens4 RENAME TO api_tokens;",
    /*
     * 8: "resolve in next release": the release the issue was resolved in;
     * only an event of another release reopens it (store_sqlite_count.c).
     */
    "ALTER TABLE issues ADD COLUMN resolved_in_release TEXT;",
    /*
     * 9: where issues were seen (store_sqlite_seen.c): per issue, the
     * environments (kind 0) and releases (kind 1) of its events, and per
     * project with how many issues have each. The events counted
     * before these tables existed are those below each
     * node's checkpoint now: seen_backfill keeps that bound until
     * sq_seen_backfill (at open) has added them from the day files.
     */
    "CREATE TABLE issue_seen("
    " issue_id INTEGER NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, times_seen INTEGER NOT NULL,"
    " PRIMARY KEY(issue_id, kind, value)) WITHOUT ROWID;"
    "CREATE TABLE project_seen("
    " project_id INTEGER NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, times_seen INTEGER NOT NULL,"
    " issues INTEGER NOT NULL, PRIMARY KEY(project_id, kind, value)) WITHOUT ROWID;"
    "CREATE TABLE seen_backfill(node INTEGER PRIMARY KEY, upto INTEGER NOT NULL);"
    "INSERT INTO seen_backfill(node, upto) SELECT id, checkpoint_lsn FROM nodes;",
};

static const char *const part_migrations[] = {
    /* 1: the initial day file; the partial issue index skips the many log rows */
    "CREATE TABLE part_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "INSERT INTO part_meta(key, value) VALUES('applied_lsn', 0);"
    "CREATE TABLE events("
    " id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id TEXT NOT NULL,"
    " timestamp INTEGER NOT NULL, received_at INTEGER NOT NULL, level INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, issue_id INTEGER NOT NULL, logger TEXT, message TEXT,"
    " title TEXT, culprit TEXT, release TEXT, environment TEXT, server_name TEXT,"
    " trace_id TEXT, request_id TEXT, tags_json TEXT, fingerprint TEXT NOT NULL,"
    " template_hash INTEGER NOT NULL, source INTEGER NOT NULL, search_text TEXT,"
    " lsn INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " UNIQUE(project_id, event_id));"
    "CREATE INDEX events_project_ts ON events(project_id, timestamp);"
    "CREATE INDEX events_issue_ts ON events(issue_id, timestamp) WHERE issue_id <> 0;"
    "CREATE INDEX events_kind_ts ON events(project_id, kind, timestamp);"
    "CREATE TABLE event_raw(id INTEGER PRIMARY KEY, encoding INTEGER NOT NULL, raw BLOB);"
    "CREATE VIRTUAL TABLE events_fts USING fts5(message, title, search_text,"
    " content='events', content_rowid='id', detail=none,"
    " tokenize='unicode61 remove_diacritics 2');"
    /* Fewer merges while writing: measured ~135k rows/s against ~112k at the default. */
    "INSERT INTO events_fts(events_fts, rank) VALUES('automerge', 16);",
    /*
     * 2: applied LSNs per node (bilor.db's nodes.id) and the node of each
     * event, so a replay recognises only its own journal's rows. What is
     * there so far was written by node 1 (main migration 2).
     */
    "CREATE TABLE part_nodes(node INTEGER PRIMARY KEY, applied_lsn INTEGER NOT NULL);"
    "INSERT INTO part_nodes(node, applied_lsn)"
    " SELECT 1, value FROM part_meta WHERE key = 'applied_lsn';"
    "DELETE FROM part_meta WHERE key = 'applied_lsn';"
    "ALTER TABLE events ADD COLUMN node INTEGER NOT NULL DEFAULT 1;",
    /*
     * 3: log lines in blocks (store_sqlite_logs.c, logblock.h). A block is
     * up to 1024 lines of one project from one batch: its time range, lsn
     * range and level mask; lines, the timestamp and level of each line
     * (read without decompressing); frames, the lines in zstd frames of 128.
     * Line numbers (first_line ..) are the rowids of log_fts, one
     * contentless row per line. log_minutes counts lines for histograms;
     * log_ids holds the lines whose id the client chose (duplicates and
     * lookups). Log rows an older binary wrote stay in events and are read
     * from there.
     */
    "CREATE TABLE log_blocks("
    " id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, node INTEGER NOT NULL,"
    " first_line INTEGER NOT NULL, nlines INTEGER NOT NULL,"
    " t_min INTEGER NOT NULL, t_max INTEGER NOT NULL,"
    " lsn_min INTEGER NOT NULL, lsn_max INTEGER NOT NULL, level_mask INTEGER NOT NULL,"
    " lines BLOB NOT NULL, frames BLOB NOT NULL);"
    "CREATE INDEX log_blocks_t ON log_blocks(project_id, t_max);"
    "CREATE INDEX log_blocks_lsn ON log_blocks(project_id, lsn_max);"
    "CREATE INDEX log_blocks_line ON log_blocks(project_id, first_line);"
    "CREATE VIRTUAL TABLE log_fts USING fts5(text, content='', detail=none, columnsize=0,"
    " tokenize='unicode61 remove_diacritics 2');"
    /* Measured: +35% inserts over the default merge settings of 4. */
    "INSERT INTO log_fts(log_fts, rank) VALUES('automerge', 64);"
    "INSERT INTO log_fts(log_fts, rank) VALUES('crisismerge', 64);"
    "CREATE TABLE log_minutes("
    " project_id INTEGER NOT NULL, minute INTEGER NOT NULL, level INTEGER NOT NULL,"
    " count INTEGER NOT NULL, PRIMARY KEY(project_id, minute, level)) WITHOUT ROWID;"
    "CREATE TABLE log_ids("
    " project_id INTEGER NOT NULL, event_id TEXT NOT NULL, node INTEGER NOT NULL,"
    " lsn INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(project_id, event_id))"
    " WITHOUT ROWID;"
    /* lines a replay made issue events of (store_sqlite_logs.c sq_logs_retire) */
    "CREATE TABLE log_gone(line INTEGER PRIMARY KEY);",
    /*
     * 4: each block's facet fields (logblock.h, the fields blob; id is the
     * block's): facets read them without decompressing frames. A table of
     * their own, since a column after the frames blob is reached only by
     * walking the frames' overflow pages. Blocks written before have none,
     * and readers decode their frames as before.
     */
    "CREATE TABLE log_block_fields(id INTEGER PRIMARY KEY, fields BLOB NOT NULL);",
    /*
     * 5: from here on every line's trace and request ids are tokens of
     * log_fts (sq_logs_id_token). id_tokens_from is the first line number
     * written with them: 1 in a file created since, and there `trace_id:X`
     * and `request_id:X` ask the index; an older file is read as before.
     */
    "INSERT OR REPLACE INTO part_meta(key, value)"
    " SELECT 'id_tokens_from', coalesce(max(first_line + nlines), 1) FROM log_blocks;",
    /*
     * 6: word postings instead of log_fts (logpost.h, store_sqlite_logs_post.c):
     * log_segs has a row per segment (one project's postings of a range of
     * lines), log_post a row per page keyed by its first token. post_from is
     * the first line number indexed there: lines before it are in log_fts,
     * which is no longer written.
     */
    "CREATE TABLE log_segs("
    " seg INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, base INTEGER NOT NULL,"
    " span INTEGER NOT NULL, nlines INTEGER NOT NULL, level INTEGER NOT NULL);"
    "CREATE INDEX log_segs_proj ON log_segs(project_id, base);"
    "CREATE TABLE log_post("
    " id INTEGER PRIMARY KEY, seg INTEGER NOT NULL, tok BLOB NOT NULL, page BLOB NOT NULL);"
    "CREATE UNIQUE INDEX log_post_tok ON log_post(seg, tok);"
    "INSERT OR REPLACE INTO part_meta(key, value)"
    " SELECT 'post_from', coalesce(max(first_line + nlines), 1) FROM log_blocks;",
    /*
     * 7: cheaper issue-event rows, in new files only (part_kept[6] for the
     * others: their rows and index stay as they are, events_layout 1). Log
     * lines are blocks, so the (project_id, kind, timestamp) index cost
     * every issue event an index insert (5% of its writer instructions) to
     * serve queries for log rows, which a new file has only when a replay
     * turned an issue event into a log line: a partial index on those
     * serves them (lowered queries name the kind as a literal so the
     * planner can use it), and kind = 1 listings walk events_project_ts,
     * whose rows are nearly all issue events. events_fts keeps no column
     * sizes (columnsize=0, 3.5%): only MATCH reads it, never a rank.
     */
    "DROP INDEX events_kind_ts;"
    "CREATE INDEX events_log_ts ON events(project_id, timestamp) WHERE kind = 0;"
    "DROP TABLE events_fts;"
    "CREATE VIRTUAL TABLE events_fts USING fts5(message, title, search_text,"
    " content='events', content_rowid='id', detail=none, columnsize=0,"
    " tokenize='unicode61 remove_diacritics 2');"
    "INSERT INTO events_fts(events_fts, rank) VALUES('automerge', 16);"
    "INSERT OR REPLACE INTO part_meta(key, value) VALUES('events_layout', 2);",
};

/*
 * What a step does instead to a file that had a schema before this
 * migration run (NULL: the same as a new file): a day file with events is
 * not rewritten for a cheaper layout of rows it already has.
 */
static const char *const part_kept[] = {
    [6] = "INSERT OR REPLACE INTO part_meta(key, value) VALUES('events_layout', 1);",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct migration_list {
    const char *const *steps;
    size_t n;
    const char *const *kept; /* steps' variants for files that existed (NULL: none) */
    size_t nkept;
    const char *table;       /* where schema_version lives */
    const char *get_version; /* returns the version, or no row */
    const char *set_version;
};

static const struct migration_list main_list = {
    main_migrations,
    NELEM(main_migrations),
    NULL,
    0,
    "meta",
    "SELECT value FROM meta WHERE key = 'schema_version'",
    "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?1)",
};

static const struct migration_list part_list = {
    part_migrations,
    NELEM(part_migrations),
    part_kept,
    NELEM(part_kept),
    "part_meta",
    "SELECT value FROM part_meta WHERE key = 'schema_version'",
    "INSERT OR REPLACE INTO part_meta(key, value) VALUES('schema_version', ?1)",
};

int sq_schema_main_version(void)
{
    return (int)main_list.n;
}

int sq_schema_part_version(void)
{
    return (int)part_list.n;
}

/* The file's version; 0 for a new file whose version table does not exist yet. */
static int read_version(struct sq_conn *c, const struct migration_list *ml, int64_t *out,
                        struct bl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(c, "read schema", err);
    sqlite3_bind_text(st, 1, ml->table, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return sq_fail(c, "read schema", err);
    if (sqlite3_prepare_v2(c->db, ml->get_version, -1, &st, NULL) != SQLITE_OK)
        return sq_fail(c, "read schema version", err);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(c, "read schema version", err);
    return 0;
}

static int write_version(struct sq_conn *c, const struct migration_list *ml, int64_t v,
                         struct bl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(c->db, ml->set_version, -1, &st, NULL) != SQLITE_OK)
        return sq_fail(c, "write schema version", err);
    sqlite3_bind_int64(st, 1, v);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_fail(c, "write schema version", err);
    return 0;
}

/*
 * Applies step idx (0-based) unless another connection did it first; its
 * kept variant when the file had a schema before (existed).
 */
static int apply_step(struct sq_conn *c, const struct migration_list *ml, size_t idx, int existed,
                      struct bl_err *err)
{
    const char *sql = ml->steps[idx];
    int64_t v = 0;
    int rc;

    if (existed && idx < ml->nkept && ml->kept[idx] != NULL)
        sql = ml->kept[idx];

    rc = sq_exec(c, "BEGIN IMMEDIATE", err);
    if (rc != 0)
        return rc;
    rc = read_version(c, ml, &v, err);
    if (rc == 0 && v > (int64_t)ml->n)
        rc = bl_err_set(err, BL_ESTORE, "schema version %lld is newer than this program (%zu)",
                        (long long)v, ml->n);
    if (rc == 0 && v == (int64_t)idx) {
        rc = sq_exec(c, sql, err);
        if (rc == 0)
            rc = write_version(c, ml, (int64_t)idx + 1, err);
    }
    if (rc == 0)
        return sq_exec(c, "COMMIT", err);
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Applies the migrations after the file's version, up to number upto. */
static int migrate(struct sq_conn *c, const struct migration_list *ml, size_t upto,
                   struct bl_err *err)
{
    int64_t v = 0;
    size_t i;
    int rc;

    /* The common case, an up-to-date file, costs one read and no write lock. */
    rc = read_version(c, ml, &v, err);
    if (rc != 0)
        return rc;
    if (v > (int64_t)ml->n)
        return bl_err_set(err, BL_ESTORE, "schema version %lld is newer than this program (%zu)",
                          (long long)v, ml->n);
    for (i = (size_t)v; i < upto && i < ml->n; i++) {
        rc = apply_step(c, ml, i, v > 0, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sq_migrate_main(struct sq_conn *c, struct bl_err *err)
{
    return migrate(c, &main_list, main_list.n, err);
}

int sq_migrate_part(struct sq_conn *c, struct bl_err *err)
{
    return migrate(c, &part_list, part_list.n, err);
}

int sq_migrate_main_to(struct sq_conn *c, int version, struct bl_err *err)
{
    return migrate(c, &main_list, version > 0 ? (size_t)version : 0, err);
}

int sq_migrate_part_to(struct sq_conn *c, int version, struct bl_err *err)
{
    return migrate(c, &part_list, version > 0 ? (size_t)version : 0, err);
}
