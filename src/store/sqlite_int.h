/*
 * sqlite_int.h - private to the SQLite store backend (store_sqlite*.c).
 *
 * Nothing outside src/store includes this header, except the SQLite
 * backend's tests (tests/unit/test_store_sqlite.c), which use the test
 * hook, the migrations and the partition helpers below. The backend-neutral
 * contract suite (test_store_contract.c) must not include it.
 *
 * Files of the backend:
 *   store_sqlite.c         open/close, the ops table, connections, reader pool,
 *                          the query helper (sq_query_*, sq_read_*)
 *   store_sqlite_schema.c  numbered forward-only migrations (main db, day files)
 *   store_sqlite_part.c    day partition files: naming, listing, connections, drop
 *   store_sqlite_ckpt.c    WAL checkpoints of the writer's files on their own thread
 *   store_sqlite_write.c   write_batch and the exactly-once argument
 *   store_sqlite_count.c   write_batch's issue and hourly counters
 *   store_sqlite_admin.c   projects, keys, users, tokens, issue status
 *   store_sqlite_read.c    issue and event listings and lookups
 *   store_sqlite_items.c   envelope items: attachments, feedback, client reports, counts
 *   store_sqlite_users.c   access: users, sessions, project members, API tokens
 *   store_sqlite_search.c  search: a query tree lowered to SQL, histograms
 *   store_sqlite_logs.c    write_batch's log lines: blocks (logblock.h), their index
 *   store_sqlite_logs_prep.c  the same blocks built ahead on the digest's decode threads
 *   store_sqlite_logs_read.c  log lines read back from blocks, one day file at a time
 *   store_sqlite_logs_convert.c  an older binary's log rows moved into blocks
 *   store_sqlite_retention.c  retention: cut-offs, dropping day files, usage
 *   store_sqlite_seen.c    issue_seen, project_seen: environments and releases issues were seen in
 *   store_sqlite_vfs.c     the VFS every connection opens through: WAL writes gathered
 */
#ifndef BL_STORE_SQLITE_INT_H
#define BL_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

/* Prepared statements cached per connection, keyed by the SQL text's address. */
#define SQ_STMT_CACHE 32
/* Idle reader connections kept open on the main db and on day files. */
#define SQ_MAIN_READERS 8
#define SQ_PART_READERS 16
/* Day files the writer keeps open (today, yesterday, a few late arrivals). */
#define SQ_PART_WRITERS 4
/* Every connection waits this long for a lock held by another connection or process. */
#define SQ_BUSY_MS 5000
/* Decompressed raw payloads larger than this are refused on read. */
#define SQ_RAW_MAX (64u << 20)
/*
 * Identity payloads up to this size are stored as they are. zstd on a single
 * log line of a few hundred bytes saves little (no shared dictionary) and
 * was ~10% of the digest's time in the log benchmark.
 */
#define SQ_RAW_MIN_COMPRESS 1024
/* zstd level 1: same ratio as level 3 on 0.2-1.2 KiB events, 15-30% faster (measured). */
#define SQ_ZSTD_LEVEL 1
/* Day numbers with a YYYYMMDD name: 1970-01-01 .. 9999-12-31. */
#define SQ_DAY_MAX INT64_C(2932896)
#define SQ_PATH_MAX 4096
/* An event's tags as JSON (sq_tags_json): longer is no tags; the buffer it is built in. */
#define SQ_TAGS_JSON_MAX (256u << 10)
#define SQ_TAGS_BUF_MAX (SQ_TAGS_JSON_MAX + 4096)
/* Issues of one day file whose stored-event count write_day remembers (thinning). */
#define SQ_THIN_CACHE 256
/* Issue rows the writer remembers between batches (store_sqlite_group.c); a power of 2. */
#define SQ_ISSUE_CACHE 4096

/*
 * An issue row as step 2 of write_batch reads it, remembered by its own
 * (project, fingerprint, grouping version) key: what lookup_issue would
 * read again while no other connection has committed to bilor.db.
 */
struct sq_icache_ent {
    int used; /* 0: a free slot */
    int64_t project_id;
    char fp[32]; /* NUL-padded */
    int version;
    int status;
    int resolved_in;
    uint64_t resolved_in_hash;
    int64_t id;
    int64_t first_seen;
};

struct sq_stmt_slot {
    const char *sql;
    sqlite3_stmt *st;
};

/* One SQLite connection with its statement cache; used by one thread at a time. */
struct sq_conn {
    sqlite3 *db;
    struct sq_stmt_slot stmts[SQ_STMT_CACHE];
    size_t nstmts;
    int64_t day;    /* day files: the day; main db: -1 */
    unsigned gen;   /* day readers: drop generation at open */
    int has_blocks; /* day files: log_blocks seen (store_sqlite_logs_read.c) */
    /* the digest's writer connections (sq_writer_tune): their store, the WAL's frames */
    struct sq_store *store;
    int wal_frames;
    struct sq_rawfile *raw; /* a writer's day file: its payload file (store_sqlite_rawfile.c) */
};

/*
 * Tests only: called by write_batch after each day file commits, with how
 * many of the batch's ndays have; a nonzero return makes write_batch stop
 * there as if the process had died (bilor.db rolls back, BL_EIO).
 */
typedef int (*sq_test_hook_fn)(void *arg, size_t committed, size_t ndays);

struct sq_store {
    struct store base;
    char *dir;
    char *events_dir;
    /*
     * The node this store was opened for: its row in bilor.db's nodes table,
     * which day files also name in part_nodes and events.node. 0 without one.
     */
    int64_t node;

    /* digest thread only: main-db writer and the open day files */
    struct sq_conn *w;
    struct sq_conn *wparts[SQ_PART_WRITERS];
    size_t nwparts;
    void *zcctx; /* ZSTD_CCtx */
    /* issue rows of earlier batches (store_sqlite_group.c), valid while bilor.db's
     * data_version on w is icache_dv; open addressing, at most half full */
    struct sq_icache_ent icache[SQ_ISSUE_CACHE];
    size_t nicache;
    int64_t icache_dv;

    /* admin writes: one connection, one at a time */
    pthread_mutex_t admin_mu;
    struct sq_conn *admin;

    /* readers of the main db */
    pthread_mutex_t rmu;
    struct sq_conn *rfree[SQ_MAIN_READERS];
    size_t nrfree;

    /* what sq_usage last counted of each day file (store_sqlite_retention.c) */
    pthread_mutex_t umu;
    struct sq_usage_day *ucache;
    size_t nucache;

    /* readers of day files (an LRU: index 0 is the oldest) */
    pthread_mutex_t pmu;
    struct sq_conn *rparts[SQ_PART_READERS];
    size_t nrparts;
    unsigned drop_gen;
    /*
     * Day-file connections out of the LRU and not yet closed (in use, being
     * opened or being closed): their days, a multiset. sq_part_drop waits on
     * pgone until none is of the day it drops (store_sqlite_part.c).
     */
    int64_t *pbusy;
    size_t npbusy, capbusy;
    int64_t pdropping; /* the day being dropped, or -1 */
    pthread_cond_t pgone;

    sq_test_hook_fn test_hook;
    void *test_hook_arg;

    /* digest thread only: the log blocks being filled (store_sqlite_logs.c) */
    struct sq_logw *logw;

    /* per-issue thinning: issue events stored per issue per day file (0: all) */
    _Atomic int64_t issue_events_per_day;

    /* enum store_log_codec of the log frames written from now on (store_sqlite_logs.c) */
    _Atomic int log_codec;

    /* the checkpointer of the writer's files (store_sqlite_ckpt.c) */
    struct sq_ckpt *ckpt;
};

static inline struct sq_store *sq_of(struct store *st)
{
    return (struct sq_store *)st;
}

/* Connections (store_sqlite.c). */

enum sq_open_flags {
    SQ_OPEN_CREATE = 1 << 0, /* create the file if missing */
    SQ_OPEN_READER = 1 << 1, /* PRAGMA query_only */
};

/*
 * The store's VFS (store_sqlite_vfs.c): the default VFS with a connection's
 * contiguous WAL writes gathered into one write, in the file before any
 * commit of theirs is visible. sq_vfs_register registers it once (any
 * thread, any number of times): SQLITE_OK, or the connections use the
 * default VFS. Its counters are process-wide (tests, measurements).
 */
#define SQ_VFS_NAME "bilor"
int sq_vfs_register(void);
struct sq_vfs_stats {
    uint64_t wal_writes;  /* xWrite calls on WAL handles */
    uint64_t wal_flushes; /* the writes they became */
    uint64_t ckpt_reads;  /* checkpoints' reads of WAL frames */
    uint64_t ckpt_preads; /* the reads they became */
};
void sq_vfs_stats(struct sq_vfs_stats *out);

/* Page cache, durability and checkpoints (store_sqlite_ckpt.c) of the digest's writer connections. */
int sq_writer_tune(struct sq_store *s, struct sq_conn *c, struct bl_err *err);
int sq_conn_open(const char *path, int flags, struct sq_conn **out, struct bl_err *err);
void sq_conn_close(struct sq_conn *c);
/*
 * The cached statement for sql (a string with static storage: the cache is
 * keyed by its address), reset and with bindings cleared. Call sq_done()
 * when finished so that a reader does not keep its snapshot open.
 */
int sq_stmt(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct bl_err *err);
void sq_done(sqlite3_stmt *st);
int sq_exec(struct sq_conn *c, const char *sql, struct bl_err *err);
/* Sets err from the connection's last error; returns BL_ESTORE. */
int sq_fail(struct sq_conn *c, const char *what, struct bl_err *err);
/*
 * Steps a statement that returns no row we need and resets it: 0, BL_EEXIST on
 * a constraint violation, else BL_ESTORE.
 */
int sq_step_done(struct sq_conn *c, sqlite3_stmt *st, const char *what, struct bl_err *err);

/* Text column copied into pool, NULL when the column is NULL. */
const char *sq_col_str(struct pool *pool, sqlite3_stmt *st, int col);
/* Text column copied into a fixed buffer (truncated, always NUL-terminated). */
void sq_col_copy(sqlite3_stmt *st, int col, char *out, size_t outsz);
/* Binds s (NULL allowed) as text without copying: s must outlive the step. */
int sq_bind_str(sqlite3_stmt *st, int idx, const char *s);

int sq_reader_get(struct sq_store *s, struct sq_conn **out, struct bl_err *err);
void sq_reader_put(struct sq_store *s, struct sq_conn *c);

/*
 * Queries: prepare (cached), bind, step, read, reset, written once.
 *
 * A query names its statement, the values bound to ?1..?nargs and what to
 * do with each row: row(st, ctx, err) returns 0 to go on, 1 to stop, or an
 * error code it has set err for. Texts are bound without a copy: they must
 * outlive the call.
 */
#define SQ_ARGS_MAX 16

struct sq_arg {
    char type; /* 'i' int64, 's' text (NULL binds NULL), 'b' blob of i bytes at s */
    int64_t i;
    const char *s;
};

#define SQ_INT(v)                                                                                  \
    {                                                                                              \
        'i', (int64_t)(v), NULL                                                                    \
    }
#define SQ_TEXT(v)                                                                                 \
    {                                                                                              \
        's', 0, (v)                                                                                \
    }
#define SQ_BLOB(p, n)                                                                              \
    {                                                                                              \
        'b', (int64_t)(n), (const char *)(p)                                                       \
    }

typedef int (*sq_row_fn)(sqlite3_stmt *st, void *ctx, struct bl_err *err);

struct sq_query {
    const char *sql;  /* static storage: statements are cached by its address */
    const char *what; /* names the query in error messages */
    struct sq_arg args[SQ_ARGS_MAX];
    size_t nargs;
    sq_row_fn row; /* NULL: the rows are not read */
    void *ctx;
};

/* Binds args[0..n) to ?1..?n: SQLITE_OK or the first failure. */
int sq_bind_args(sqlite3_stmt *st, const struct sq_arg *args, size_t n);
/*
 * Every row of q on c (none is fine). A failed step is BL_EEXIST on a
 * constraint violation, else BL_ESTORE.
 */
int sq_query_each(struct sq_conn *c, const struct sq_query *q, struct bl_err *err);
/* The first row of q on c; BL_ENOTFOUND ("<what>: not found") when there is none. */
int sq_query_one(struct sq_conn *c, const struct sq_query *q, struct bl_err *err);
/* The same on a bilor.db reader taken from the pool for the call. */
int sq_read_each(struct sq_store *s, const struct sq_query *q, struct bl_err *err);
int sq_read_one(struct sq_store *s, const struct sq_query *q, struct bl_err *err);
/* A row callback for one int64 column 0 into *(int64_t *)ctx. */
int sq_row_int64(sqlite3_stmt *st, void *ctx, struct bl_err *err);

/* Migrations (store_sqlite_schema.c). */

int sq_migrate_main(struct sq_conn *c, struct bl_err *err);
int sq_migrate_part(struct sq_conn *c, struct bl_err *err);
/* Tests only: a file as an older binary left it, migrated up to version. */
int sq_migrate_main_to(struct sq_conn *c, int version, struct bl_err *err);
int sq_migrate_part_to(struct sq_conn *c, int version, struct bl_err *err);
/* Highest migration number known for the main db / a day file. */
int sq_schema_main_version(void);
int sq_schema_part_version(void);

/* Day partitions (store_sqlite_part.c). */

/* Day number of an event time, within 0..SQ_DAY_MAX. */
int64_t sq_day_of(int64_t us);
/* <events_dir>/YYYYMMDD.db */
int sq_part_path(const struct sq_store *s, int64_t day, char *out, size_t outsz);
/* A day file's part_meta value under key as an integer; 0 when it has none or cannot be read. */
int64_t sq_part_meta(struct sq_conn *c, const char *key);
/* The existing day files, newest first; *days is xmalloc'd (free it). */
int sq_part_list(struct sq_store *s, int64_t **days, size_t *n, struct bl_err *err);
/* Writer connection of a day file, created and migrated if needed (digest thread). */
int sq_part_writer(struct sq_store *s, int64_t day, struct sq_conn **out, struct bl_err *err);
void sq_part_writers_close(struct sq_store *s);
/* A reader of an existing day file; BL_ENOTFOUND when there is none. */
int sq_part_reader_get(struct sq_store *s, int64_t day, struct sq_conn **out, struct bl_err *err);
void sq_part_reader_put(struct sq_store *s, struct sq_conn *c);
void sq_part_readers_close(struct sq_store *s);
/*
 * Drops a whole day: closes its connections and unlinks the file with its
 * WAL and shared-memory files. Retention calls it from the digest thread
 * (it closes the writer's connection). BL_ENOTFOUND when the day has no file.
 */
int sq_part_drop(struct sq_store *s, int64_t day, struct bl_err *err);

/*
 * WAL checkpoints (store_sqlite_ckpt.c). A writer connection's commit past
 * SQ_CKPT_WAKE_FRAMES wakes the checkpointer for its file; past
 * SQ_CKPT_BOUND_FRAMES (four times the 8192 pages of the autocheckpoint
 * it replaces) the writer checkpoints it itself. A file idle for
 * SQ_CKPT_IDLE_US has its WAL truncated.
 *
 * A pass copies each page once however many batches rewrote it, and the
 * day file's hot pages (each issue's tail of events_issue_ts, random leaves
 * of the event_id index) are rewritten by most batches: woken at 16384
 * frames instead of 4096, a pass copies 0.84 pages an event of the bench's
 * small events instead of 1.26 (docs/bench.md, stop 12). Half the bound
 * is left for the writer to append while a pass runs.
 */
#define SQ_CKPT_WAKE_FRAMES 16384
#define SQ_CKPT_BOUND_FRAMES (4 * 8192)
/*
 * journal_size_limit of the writer's connections: a WAL restarted from its
 * start is cut back to this size. Above what the bound lets a busy WAL
 * reach (32768 frames of 4 KiB pages, 135 MB, plus the batch that passed
 * it), so the day file's WAL is rewritten in place instead of being cut to
 * 64 MiB at each restart and grown again block by block, each growth a
 * size change that the batch's fdatasync also writes out (docs/bench.md,
 * stop 14). A WAL that outgrew it (a long reader) still shrinks back, and
 * an idle file's WAL is truncated to nothing.
 */
#define SQ_WAL_KEEP_BYTES (160 * 1024 * 1024)
#define SQ_CKPT_IDLE_US INT64_C(2000000)

enum sq_ckpt_act { SQ_CKPT_NONE, SQ_CKPT_WAKE, SQ_CKPT_BOUND };

struct sq_ckpt_stats {
    uint64_t wakes;         /* commits that asked for a pass */
    uint64_t passes;        /* the thread's runs of PASSIVE passes on a file */
    uint64_t frames;        /* frames in the WAL its last pass of each run had copied */
    uint64_t truncates;     /* idle files' WALs truncated */
    uint64_t writer_ckpts;  /* checkpoints the writer ran itself (the WAL past the bound) */
    uint64_t writer_frames; /* frames copied by those */
    uint64_t writer_us;     /* the writer's time in them, waits for the thread included */
    uint64_t errors;
};

/* What a commit that left frames in the WAL does: nothing, wake the thread, or checkpoint. */
enum sq_ckpt_act sq_ckpt_decide(int frames, int wake_frames, int bound_frames);
struct sq_ckpt *sq_ckpt_new(void);
/* The WAL hook of writer connections (sqlite3_wal_hook, arg: the sq_conn). */
int sq_ckpt_hook(void *arg, sqlite3 *db, const char *name, int frames);
/* Closes the checkpointer's connection to a day file (after a pass on it ends), before a drop. */
void sq_ckpt_forget(struct sq_store *s, int64_t day);
/* Ends the thread and closes its connections (store close). */
void sq_ckpt_stop(struct sq_store *s);
void sq_ckpt_free(struct sq_ckpt *ck);
void sq_ckpt_stats(struct sq_store *s, struct sq_ckpt_stats *out);
/* Tests only: thresholds, and a paused thread (it takes no file); whether it idles within timeout. */
void sq_ckpt_test_set(struct sq_store *s, int wake_frames, int bound_frames, int paused);
int sq_ckpt_test_idle(struct sq_store *s, int64_t timeout_us);

/* Write batch internals (store_sqlite_write.c, store_sqlite_count.c). */

/* One issue touched by the batch. */
struct sq_igroup {
    int64_t project_id;
    const char *fp;
    int version;
    const char *fp_prev; /* the previous grouping version's fingerprint (transition) */
    int version_prev;    /* 0: none */
    int64_t seen_at;     /* the first event's receive time, for the transition's age limit */
    int64_t id;
    int is_new;
    int status;
    int resolved_in;           /* resolved in the next release after one (hash below) */
    uint64_t resolved_in_hash; /* hash64 of that release */
    int64_t stored_first_seen; /* the issue row's first_seen when it was looked up */
    int cacheable;             /* found (or made) under its own key: sq_group_remember */
    int reopened;              /* step 4 reopened it (a regression) */
    uint64_t hash;
    /* aggregated over the counted events */
    int64_t n;
    int64_t first_seen;
    int64_t last_seen;
    int level;
    const struct event *first;
    const char *first_release;
    const char *last_release;
};

struct sq_hkey {
    int64_t owner; /* issue id or project id */
    int64_t hour;
    int kind;
};

/* The state of one write_batch call (digest thread). */
struct sq_wctx {
    struct sq_store *s;
    struct event *ev;
    size_t n;
    uint64_t checkpoint;
    size_t *order;  /* event indexes by (lsn, seq) */
    size_t *by_day; /* event indexes by (day, lsn, seq) */
    int64_t *ts;    /* sanitized timestamps */
    int64_t *day;
    int *counted;
    unsigned char *skip; /* nonzero: not this call's to store (see skip_reason) */
    int *group;          /* index into g, or -1 */
    uint64_t done_lsn;   /* bilor.db's checkpoint before this batch */
    struct sq_igroup *g;
    size_t ng;
    int *htab;
    size_t hmask;
    int64_t next_issue_id;
    struct store_batch_result *res;
    const struct store_prep *prep; /* what prepare made of ev, or NULL */
    struct buf tags;
    void *zbuf;
    size_t zcap;
    /* write_day's inserts on the file it writes: every parameter bound on each use */
    sqlite3_stmt *ins_event, *ins_raw, *ins_fts;
    /* thinning: stored events per issue in the day file being written (write_day) */
    int64_t thin_issue[SQ_THIN_CACHE];
    int64_t thin_count[SQ_THIN_CACHE];
    size_t nthin;
};
/* The batch group of e (index into w->g, *out), its issue found or given the next id. */
int sq_group_of(struct sq_wctx *w, const struct event *e, int *out, struct bl_err *err);
/* Step 2's start, in bilor.db's write transaction: forgets the remembered issue rows if
 * another connection has committed since they were read. */
int sq_group_begin(struct sq_wctx *w, struct bl_err *err);
/* After bilor.db committed the batch (ok) or did not (!ok): its issue rows remembered as
 * they now are, or all forgotten. */
void sq_group_remember(struct sq_wctx *w, int ok);

/* Step 4 of write_batch: issues, hourly counters, checkpoint (bilor.db transaction). */
int sq_write_counts(struct sq_wctx *w, struct bl_err *err);

/*
 * Where issues were seen (store_sqlite_seen.c): the batch's counted
 * environments and releases into issue_seen (from sq_write_counts); the
 * backfill of migration 9 (at open); the listing op; the issue listing's
 * filters appended to sql as " AND ..." with their values added to
 * args[*nargs..cap) (placeholders numbered from *nargs + 1).
 */
int sq_write_seen(struct sq_wctx *w, struct bl_err *err);
int sq_seen_backfill(struct sq_store *s, struct bl_err *err);
int sq_seen_list(struct store *st, int64_t project_id, int64_t issue_id, int kind, size_t limit,
                 struct pool *pool, struct store_seen **out, size_t *n, struct bl_err *err);
int sq_seen_where(const struct store_issue_query *q, struct pool *pool, struct buf *sql,
                  struct sq_arg *args, size_t *nargs, size_t cap, struct bl_err *err);

/*
 * Log lines in blocks (store_sqlite_logs.c): write_day hands over each log
 * line (tags: its tags as JSON, or NULL) and flushes the open blocks
 * before it commits.
 */
void sq_logs_begin(struct sq_store *s);
int sq_logs_add(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err);
int sq_logs_replay(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err);
int sq_logs_flush(struct sq_store *s, struct sq_conn *c, struct bl_err *err);
/* Before a replayed issue event is stored: retires the log line a crashed run made of it. */
int sq_logs_retire(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err);
void sq_logs_free(struct sq_store *s);
/*
 * The parts of sq_logs_add the conversion of old log rows uses
 * (store_sqlite_logs_convert.c): a line into its (project, node) block,
 * with the three texts of its full-text row and its per-minute count;
 * a client-chosen id into log_ids (*fresh 0: already there).
 */
struct lb_line;
int sq_logs_append(struct sq_store *s, struct sq_conn *c, int64_t project_id, int64_t node,
                   const struct lb_line *l, const char *const text[3], struct bl_err *err);
int sq_logs_claim(struct sq_conn *c, int64_t project_id, const char *event_id, int64_t node,
                  uint64_t lsn, uint32_t seq, int *fresh, struct bl_err *err);
/* 1 when s (NULL too) is ASCII: the line's LB_FLAG_PLAIN. */
int sq_logs_ascii(const char *s);
/*
 * A log line's trace or request id as one full-text token (prefix "zztr" or
 * "zzrq", then the id's ASCII letters and digits, case folded, at most
 * SQ_ID_TOKEN_MAX of them), so `trace_id:X` asks the index instead of
 * re-normalizing every payload. Ids that differ only in other bytes share a
 * token: the index only narrows, query_match decides. Returns the token's
 * length in out (cap bytes, NUL-terminated), 0 when the id has no letter or
 * digit.
 */
#define SQ_ID_TOKEN_MAX 128
#define SQ_ID_TRACE "zztr" /* the prefixes: 4 bytes each */
#define SQ_ID_REQUEST "zzrq"
size_t sq_logs_id_token(const char *prefix, const char *id, size_t n, char *out, size_t cap);
/*
 * What a line's block holds, shared by the writer and prepare so both build
 * the same bytes: the event's timestamp as stored (a nonsensical one
 * replaced, store_sqlite_write.c), its tags as JSON in b (SQ_TAGS_BUF_MAX;
 * NULL: none), its record (strings point into e and tags), and the line
 * added to a block with its words for the index (words of at most SQ_LOG_TEXT_MAX
 * bytes, ends[i] where line i's text ends in it): text[] is the line's message,
 * title and search text; the first two are l's (read from it), the title left
 * out when it is the message.
 */
#define SQ_LOG_TEXT_MAX (64u << 20)
struct lb_builder;
int64_t sq_sane_ts(const struct event *e);
const char *sq_tags_json(struct buf *b, const struct event *e);
void sq_logs_line(const struct event *e, int64_t ts, const char *tags, struct lb_line *l);
int sq_logs_put(struct lb_builder *b, struct buf *words, size_t *ends, const struct lb_line *l,
                const char *const text[3]);
/*
 * A prepared block (store_sqlite_logs_prep.c): its row's values, its blobs
 * and its lines' words at offsets into the prepared data
 * (sq_prep_data), for the lines ev[k[0]], ev[k[1]], ... in the writer's order.
 */
struct sq_prep_block {
    int64_t project_id;
    size_t nlines;
    const size_t *k;
    int64_t t_min, t_max;
    uint64_t lsn_min, lsn_max;
    unsigned level_mask;
    size_t lines, lines_len, frames, frames_len, fields, fields_len, text;
    const size_t *ends; /* line i's text ends at text + ends[i] */
    const int64_t *ts;  /* each line's timestamp and level, as the block's builder had them */
    const unsigned char *level;
    size_t run;     /* the (project, day) run of lines it belongs to (sq_prep_post) */
    size_t run_off; /* the run's ordinal of its first line */
};
/*
 * The block prepare made of exactly the lines ev[k[0..nk)) of project_id,
 * in that order, from this very batch (ev, n); NULL when there is none:
 * then the writer builds the block itself.
 */
const struct sq_prep_block *sq_prep_find(const struct store_prep *prep, const struct event *ev,
                                         size_t n, int64_t project_id, const size_t *k, size_t nk);
const char *sq_prep_data(const struct store_prep *prep);
/*
 * The word postings of a run (one project's lines of one day file in the
 * batch, block after block), gathered on the decode thread with the run's
 * ordinals 0, 1, ... (store_sqlite_logs_prep.c). sq_prep_run_lines: its
 * lines (0: no postings were gathered, the writer adds the lines itself);
 * sq_prep_run_block: its j-th block. sq_prep_post: the segment's pages
 * and their ends as the writer's own would be: map NULL when the run's
 * lines landed on consecutive line numbers (the pages encoded ahead are
 * copied), else map[o] the segment ordinal of run ordinal o (encoded now).
 */
size_t sq_prep_run_lines(const struct store_prep *prep, size_t run);
const struct sq_prep_block *sq_prep_run_block(const struct store_prep *prep, size_t run, size_t j);
int sq_prep_post(const struct store_prep *prep, size_t run, const uint32_t *map, struct buf *pages,
                 struct buf *ends);
/* Whether a word query could match such a token (then the index must not decide it alone). */
int sq_logs_reserved_word(const char *w, size_t n, int prefix);
/* Moves an older binary's log rows of a day file into blocks (the writer, at open). */
int sq_logs_convert(struct sq_store *s, struct sq_conn *c, struct bl_err *err);
/* 1 when id starts with 24 hex digits, read as the (lsn, seq) of an id the ingest derived. */
int sq_logs_derived_id(const char *id, uint64_t *lsn, uint32_t *seq);
/* 1 when e's id is the one the ingest derives from its own (lsn, seq). */
int sq_logs_own_id(const struct event *e);

/*
 * Reading log lines (store_sqlite_logs_read.c), one day file at a time.
 * Their order is (timestamp, 2 * line number) descending; rows of the
 * events table sort among them as (timestamp, 2 * id + 1), so the two
 * merge into one order with one cursor.
 */
struct sq_lq {
    const struct store_event_query *q;
    int64_t lo, hi;         /* lines with lo <= timestamp < hi */
    int64_t cur_ts, cur_tb; /* and after (cur_ts, cur_tb) in the order; cur_ts INT64_MAX: none */
    const char *drive;      /* FTS5 text every match satisfies, or NULL */
    /* the query's node drive comes from, when it is one plain word (then the index decides it) */
    const struct query_node *word;
    /* drive is a trace or request id's token: only files with id_tokens_from 1 have them */
    int id_drive;
    /* words with non-ASCII letters every match holds (sq_lower.post_drive), or NULL */
    const char *post_drive;
    int64_t now;
    size_t scanned; /* lines handed to match or counted (out) */
};
/* Whether the day file has block storage yet (an old file may not, until the writer migrates it). */
int sq_has_blocks(struct sq_conn *c);
/* The best want lines, newest first, into out/tb (*n of them); strings in pool. */
int sq_lines_page(struct sq_conn *c, struct sq_lq *lq, size_t want, struct pool *pool,
                  struct store_event *out, int64_t *tb, size_t *n, struct bl_err *err);
int sq_lines_hist(struct sq_conn *c, struct sq_lq *lq, struct store_histogram *h,
                  struct bl_err *err);
/* Counts count lines of level at time ts into their bucket of h (none when outside). */
void sq_hist_add(struct store_histogram *h, int64_t ts, int level, int64_t count);
/*
 * A histogram of a query that is one word, from its postings' minute
 * counts (store_sqlite_logs_post.c), over the whole minutes [*lo_m, *hi_m)
 * of the query's range: 1 when it counted them (the caller walks the
 * partial minutes at the ends), 0 when the caller must walk it all.
 */
int sq_post_hist_word(struct sq_conn *c, struct sq_lq *lq, struct store_histogram *h, int64_t *lo_m,
                      int64_t *hi_m, struct bl_err *err);
/*
 * For a query that is one word AND conditions on the level: 1 when the
 * word's postings show that no line of the day file within the query's
 * time range has the word at a level the query accepts (the file has no
 * match), 0 when they cannot say.
 */
int sq_post_no_match(struct sq_conn *c, const struct sq_lq *lq, struct bl_err *err);
/* The line with this id (raw decoded into out->raw); BL_ENOTFOUND when the file has none. */
int sq_lines_get(struct sq_conn *c, int64_t project_id, const char *event_id, struct pool *pool,
                 struct store_event *out, struct bl_err *err);
/* This node's line (lsn, seq) of a project: its number, timestamp and level. */
int sq_lines_find(struct sq_conn *c, int64_t project_id, int64_t node, uint64_t lsn, uint32_t seq,
                  int64_t *line, int64_t *ts, int *level, struct bl_err *err);
/*
 * Event payloads beside a day file (store_sqlite_rawfile.c): event_raw keeps
 * a locator of SQ_RAW_LOC bytes with encoding SQ_RAW_EXTERNAL. The writer
 * adds a transaction's payloads, flushes them (write + fdatasync) before
 * its COMMIT and calls done after it, saying whether the flush succeeded
 * (flushed bytes are never written over); readers read by the locator.
 */
#define SQ_RAW_EXTERNAL 16
#define SQ_RAW_LOC 16
struct sq_rawfile;
int sq_rawfile_open(const char *db_path, struct sq_rawfile **out, struct bl_err *err);
void sq_rawfile_close(struct sq_rawfile *f);
int sq_rawfile_add(struct sq_rawfile *f, const void *p, size_t len, int enc,
                   unsigned char loc[SQ_RAW_LOC]);
int sq_rawfile_flush(struct sq_rawfile *f, struct bl_err *err);
void sq_rawfile_done(struct sq_rawfile *f, int flushed);
int sq_rawfile_read(sqlite3 *db, const void *loc, size_t loclen, struct pool *pool,
                    const char **out, size_t *out_len, int *enc, struct bl_err *err);
/* The payload file's size (0 when there is none), and its removal with its day. */
int64_t sq_rawfile_size(const char *db_path);
void sq_rawfile_unlink(const char *db_path);

/* A stored payload (enum ev_raw_encoding) decoded into pool, NUL-terminated (store_sqlite_read.c). */
int sq_raw_decode(int enc, const void *p, size_t len, struct pool *pool, const char **raw,
                  size_t *raw_len, struct bl_err *err);

/* Ops (store_sqlite_write.c, _admin.c, _read.c). */

int sq_write_batch(struct store *st, struct event *ev, size_t n, const struct store_prep *prep,
                   uint64_t checkpoint_lsn, struct store_batch_result *res, struct bl_err *err);
/* Prepared log blocks (store_sqlite_logs_prep.c): the prepare and prep_free ops. */
int sq_prepare(struct store *st, struct store_prep **prep, const struct event *ev, size_t n);
void sq_prep_free(struct store_prep *prep);
int sq_get_checkpoint(struct store *st, uint64_t *lsn, struct bl_err *err);
/* Finds or adds node_id's row in bilor.db (store open). */
int sq_node_register(struct sq_store *s, const char *node_id, struct bl_err *err);
void sq_set_test_hook(struct store *st, sq_test_hook_fn fn, void *arg);

int sq_project_add(struct store *st, const char *name, struct store_project *out,
                   struct bl_err *err);
int sq_project_get(struct store *st, int64_t id, struct store_project *out, struct bl_err *err);
int sq_project_list(struct store *st, struct pool *pool, struct store_project **out, size_t *n,
                    struct bl_err *err);
int sq_key_lookup(struct store *st, const char *public_key, int64_t *project_id,
                  struct bl_err *err);
/* One admin statement under admin_mu; rows changed / new rowid (store_sqlite_admin.c). */
int sq_admin_run(struct sq_store *s, const char *sql, const struct sq_arg *args, size_t nargs,
                 int64_t *rowid, int *changes, struct bl_err *err);
/* DSN keys and project settings (store_sqlite_keys.c). */
int sq_key_info(struct store *st, const char *public_key, struct store_key_info *out,
                struct bl_err *err);
int sq_key_add(struct store *st, struct store_key *k, struct bl_err *err);
int sq_key_list(struct store *st, int64_t project_id, struct pool *pool, struct store_key **out,
                size_t *n, struct bl_err *err);
int sq_key_update(struct store *st, const struct store_key *k, struct bl_err *err);
int sq_settings_get(struct store *st, int64_t project_id, struct store_project_settings *out,
                    struct bl_err *err);
int sq_settings_set(struct store *st, int64_t project_id, const struct store_project_settings *in,
                    struct bl_err *err);
int sq_user_add(struct store *st, const char *login, const char *password_hash, int is_admin,
                int64_t *user_id, struct bl_err *err);
int sq_user_count(struct store *st, int64_t *n, struct bl_err *err);
int sq_token_add(struct store *st, int64_t user_id, const char *token_hash, const char *label,
                 struct bl_err *err);
int sq_token_lookup(struct store *st, const char *token_hash, int64_t *user_id, struct bl_err *err);
int sq_grouping_get(struct store *st, int64_t project_id, struct pool *pool,
                    struct store_grouping *out, struct bl_err *err);
int sq_grouping_set(struct store *st, int64_t project_id, const char *fp, const char *stack,
                    int *version, struct bl_err *err);
int sq_issue_set_status(struct store *st, int64_t issue_id, int status, struct bl_err *err);

int sq_issue_list(struct store *st, const struct store_issue_query *q, struct pool *pool,
                  struct store_issue **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                  struct bl_err *err);
int sq_issue_get(struct store *st, int64_t issue_id, struct pool *pool, struct store_issue *out,
                 struct bl_err *err);
int sq_issue_hourly(struct store *st, int64_t issue_id, int64_t since, size_t nhours,
                    int64_t *counts, struct bl_err *err);
int sq_event_list(struct store *st, const struct store_event_query *q, struct pool *pool,
                  struct store_event **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                  struct bl_err *err);
int sq_event_get(struct store *st, int64_t project_id, const char *event_id, struct pool *pool,
                 struct store_event *out, const char **raw, size_t *raw_len, struct bl_err *err);

/* Event rows (store_sqlite_read.c): these columns, then encoding and raw when asked. */
#define SQ_EVENT_COLS                                                                              \
    "SELECT e.id, e.project_id, e.event_id, e.timestamp, e.received_at, e.level, e.kind,"          \
    " e.issue_id, e.logger, e.message, e.title, e.culprit, e.release, e.environment,"              \
    " e.tags_json, e.fingerprint, e.source, e.template_hash"
void sq_read_event(struct pool *pool, sqlite3_stmt *st, struct store_event *e);
/* Decodes columns 18 (encoding) and 19 (raw) into pool. */
int sq_read_raw(sqlite3_stmt *st, struct pool *pool, const char **raw, size_t *raw_len,
                struct bl_err *err);

/* Search (store_sqlite_search.c): event_list with a query, scans, histograms. */
int sq_search_list(struct store *st, const struct store_event_query *q, struct pool *pool,
                   struct store_event **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                   struct bl_err *err);
int sq_event_scan(struct store *st, const struct store_event_query *q, size_t max_rows,
                  store_scan_fn fn, void *arg, size_t *scanned, struct bl_err *err);
int sq_event_histogram(struct store *st, const struct store_event_query *q,
                       struct store_histogram *h, struct bl_err *err);

/* Retention (store_sqlite_retention.c). */
int sq_retention_get(struct store *st, int64_t project_id, int *days, struct bl_err *err);
int sq_retention_set(struct store *st, int64_t project_id, int days, struct bl_err *err);
int sq_retention_run(struct store *st, int64_t now_us, int64_t disk_budget,
                     struct store_retention_result *res, struct bl_err *err);
int sq_set_issue_events_per_day(struct store *st, int64_t n);
int sq_set_log_codec(struct store *st, int codec);
/* The LB_CODEC_* new log frames are written with (the setting above). */
int sq_log_codec(struct store *st);
/* Forgets what sq_usage counted (store close). */
void sq_usage_free(struct sq_store *s);
int sq_usage(struct store *st, int64_t project_id, struct pool *pool, struct store_usage **out,
             size_t *n, struct bl_err *err);

/* Envelope items (store_sqlite_items.c). */
int sq_write_items(struct store *st, const struct item *items, size_t n, uint64_t checkpoint_lsn,
                   struct bl_err *err);
int sq_attachment_list(struct store *st, int64_t project_id, const char *event_id,
                       struct pool *pool, struct store_attachment **out, size_t *n,
                       struct bl_err *err);
int sq_attachment_get(struct store *st, int64_t project_id, const char *event_id, int64_t id,
                      struct pool *pool, struct store_attachment *out, struct bl_err *err);
int sq_feedback_list(struct store *st, int64_t project_id, const char *event_id, size_t limit,
                     struct pool *pool, struct store_feedback **out, size_t *n, struct bl_err *err);
int sq_item_counts(struct store *st, int64_t project_id, struct pool *pool,
                   struct store_item_count **reports, size_t *nreports,
                   struct store_item_count **received, size_t *nreceived, struct bl_err *err);

/* Access: users, sessions, members, tokens (store_sqlite_users.c). */
int sq_user_get(struct store *st, int64_t id, const char *email, struct store_user *out,
                struct bl_err *err);
int sq_user_list(struct store *st, struct pool *pool, struct store_user **out, size_t *n,
                 struct bl_err *err);
int sq_user_update(struct store *st, int64_t id, const struct store_user_change *c,
                   struct bl_err *err);
int sq_session_add(struct store *st, const struct store_session *s, struct bl_err *err);
int sq_session_get(struct store *st, const char *id_hash, struct store_principal *out,
                   struct bl_err *err);
int sq_session_touch(struct store *st, const char *id_hash, int64_t now, struct bl_err *err);
int sq_session_delete(struct store *st, const char *id_hash, struct bl_err *err);
int sq_member_set(struct store *st, int64_t project_id, int64_t user_id, int role,
                  struct bl_err *err);
int sq_member_role(struct store *st, int64_t project_id, int64_t user_id, int *role,
                   struct bl_err *err);
int sq_member_list(struct store *st, int64_t project_id, struct pool *pool,
                   struct store_member **out, size_t *n, struct bl_err *err);
int sq_token_create(struct store *st, const char *token_hash, struct store_token *t,
                    struct bl_err *err);
int sq_token_get(struct store *st, const char *token_hash, struct store_principal *out,
                 struct bl_err *err);
int sq_token_list(struct store *st, int64_t user_id, struct pool *pool, struct store_token **out,
                  size_t *n, struct bl_err *err);
int sq_token_revoke(struct store *st, int64_t id, int64_t user_id, struct bl_err *err);
int sq_token_touch(struct store *st, int64_t id, int64_t now, struct bl_err *err);
int sq_project_update(struct store *st, int64_t id, const char *name, int issue_level,
                      struct bl_err *err);
/* One admin statement under admin_mu (store_sqlite_admin.c): new rowid, rows changed. */
int sq_admin_run(struct sq_store *s, const char *sql, const struct sq_arg *args, size_t nargs,
                 int64_t *rowid, int *changes, struct bl_err *err);

#endif
