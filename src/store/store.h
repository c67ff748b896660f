/*
 * store.h - the storage interface (design §5): one ops struct, two backends.
 *
 * DESIGN
 * The SQLite backend (store_sqlite.c) is the embedded default; a PostgreSQL
 * backend will implement the same ops. Callers only use the store_* inline
 * wrappers at the bottom, never a backend's internals.
 *
 * Writers and readers: exactly one thread (the digest) calls write_batch.
 * Every other op may be called from any thread at any time; the backend
 * gives readers their own connections so they never wait for the writer.
 * Admin writes (project_add, issue_set_status, tokens) are serialized by the
 * backend and may also come from another process (the CLI) while the server
 * runs.
 *
 * Nodes: every server (node) has its own journal, whose LSNs mean nothing
 * to another node's, and several nodes may digest into one database. So a
 * store is opened for a node (store_open's node_id, kept in the node's data
 * directory by store_node_id()): get_checkpoint and write_batch read and
 * move that node's checkpoint only. A store opened without a node id (the
 * CLI's admin commands) refuses both.
 *
 * Exactly-once: write_batch stores the events (every event's lsn must be
 * below checkpoint_lsn), upserts their issues and
 * hourly counters and records checkpoint_lsn so that after a crash at any
 * moment, replaying the journal from get_checkpoint() stores every event
 * exactly once (see store_sqlite_write.c for how the per-day partitions and
 * several nodes take part).
 *
 * Memory: list/get ops allocate what they return from the caller's pool
 * (strings included); nothing returned needs freeing on its own.
 * Times are µs since the epoch. Errors: BL_ENOTFOUND, BL_EINVAL, BL_ESTORE.
 */
#ifndef BL_STORE_H
#define BL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"
#include "core/item.h"
#include "core/pool.h"

enum store_issue_status {
    STORE_ISSUE_UNRESOLVED = 0,
    STORE_ISSUE_RESOLVED = 1,
    STORE_ISSUE_IGNORED = 2,
    STORE_ISSUE_ANY = -1, /* queries only */
    /*
     * issue_set_status only: resolved "in the next release", Sentry's
     * inNextRelease. The issue is resolved and remembers its last release;
     * events of that release (or of none) count without reopening it, an
     * event of any other release reopens it. Stored as resolved.
     */
    STORE_ISSUE_RESOLVED_NEXT_RELEASE = 3,
};

/* "unresolved", "resolved", "ignored" (and "all" -> STORE_ISSUE_ANY on parse). */
const char *store_issue_status_name(int status);
int store_issue_status_parse(const char *s, int *status);

enum store_issue_sort { STORE_SORT_LAST_SEEN = 0, STORE_SORT_FIRST_SEEN, STORE_SORT_COUNT };

#define STORE_CURSOR_MAX 96

struct store_project {
    int64_t id;
    char name[128];
    char slug[128];
    char key[33];    /* the first active DSN public key */
    int issue_level; /* events at or above this level become issues (default EV_ERROR) */
    int64_t created_at;
};

/* Rate limits of a key or a project: 0 means unlimited. */
struct store_limits {
    int64_t events_per_minute;
    int64_t events_per_hour;
    int64_t lines_per_minute;
};

/* One DSN key of a project. */
struct store_key {
    int64_t id; /* small, stable, for the API */
    int64_t project_id;
    char public_key[33];
    char label[128];
    int active;
    int64_t created_at;
    struct store_limits limits;
};

/* What the door needs to know about an active key, in one query. */
struct store_key_info {
    int64_t project_id;
    int64_t key_id;
    struct store_limits key;     /* the key's own limits */
    struct store_limits project; /* the project-wide quota */
};

#define STORE_FIELDS_MAX 1024

/* Per-project ingest settings (issue 8): quota and scrubbing keys. */
struct store_project_settings {
    struct store_limits limits;
    char scrub_fields[STORE_FIELDS_MAX]; /* extra sensitive keys, comma separated */
    char safe_fields[STORE_FIELDS_MAX];  /* keys never scrubbed, comma separated */
};

struct store_issue {
    int64_t id;
    int64_t project_id;
    char fingerprint[33];
    int grouping_version; /* the algorithm version the issue was created with */
    int rules_version;    /* the project's grouping rule-set version then (0: none) */
    const char *title;
    const char *culprit;
    int level;
    int status;
    int64_t first_seen;
    int64_t last_seen;
    int64_t times_seen;
    const char *first_release;
    const char *last_release;
    const char *resolved_in_release; /* resolved in the next release after this one, or NULL */
};

/* A project's own grouping rules (ingest/grouprules.h syntax) and their version. */
struct store_grouping {
    const char *fingerprint_rules; /* "" when none */
    const char *stack_rules;
    int version; /* 0: never set; +1 on every change */
    int64_t updated_at;
};

/*
 * Where an issue's events were seen: the environments and releases of the
 * events counted into it (kept by write_batch, backfilled for events stored
 * before; like the issue's counters they stay when retention drops events).
 */
enum store_seen_kind { STORE_SEEN_ENVIRONMENT = 0, STORE_SEEN_RELEASE = 1 };

/* One environment or release of an issue (issues 1) or of a project. */
struct store_seen {
    int kind; /* enum store_seen_kind */
    const char *value;
    int64_t first_seen;
    int64_t last_seen;
    int64_t times_seen; /* events counted with it */
    int64_t issues;     /* issues seen with it */
};

#define STORE_SEEN_FILTERS_MAX 16
#define STORE_SEEN_VALUES_MAX 64

/*
 * An issue listing filter: issues with at least one event whose
 * environment (release) is one of values[0..nvalues) (any value when
 * nvalues is 0); negate: issues with none. Values compare exactly, or with
 * nocase ASCII case-insensitively (values must then be ASCII) and prefix[i]
 * (may be NULL) as a prefix. A release also matches the issue's
 * first_release and last_release, which predate the table.
 */
struct store_seen_filter {
    int kind; /* enum store_seen_kind */
    int negate;
    int nocase;
    const char *const *values;
    const int *prefix;
    size_t nvalues; /* 0..STORE_SEEN_VALUES_MAX */
};

struct store_issue_query {
    int64_t project_id;
    int status;         /* enum store_issue_status, STORE_ISSUE_ANY for all */
    int sort;           /* enum store_issue_sort; always newest/largest first */
    size_t limit;       /* 1..1000 */
    const char *cursor; /* NULL, or next_cursor of the previous page */
    /* all of these hold (0..STORE_SEEN_FILTERS_MAX) */
    const struct store_seen_filter *seen;
    size_t nseen;
};

/* One stored event as listings and lookups return it. */
struct store_event {
    int64_t project_id;
    char event_id[33];
    int64_t timestamp;
    int64_t received_at;
    int level;
    int kind;
    int64_t issue_id; /* 0 for logs */
    const char *logger;
    const char *message;
    const char *title;
    const char *culprit;
    const char *release;
    const char *environment;
    const char *tags_json; /* [["key","value"],...] */
    char fingerprint[33];
    int source; /* enum ev_source */
    uint64_t template_hash;
    const char *raw; /* decompressed payload, only when the query asked with_raw */
    size_t raw_len;
    /*
     * host_known: server_name is the event's stored host (log lines read
     * from their blocks); else server_name is NULL and the host is in raw.
     */
    const char *server_name;
    int host_known;
    /*
     * service_known: service is the line's "service" as its payload gives
     * it (NULL: none), read from its block's fields (store/logattr.h); else
     * the payload must say.
     */
    const char *service;
    int service_known;
};

struct query_node; /* search/query.h */
struct store_event;
typedef int (*store_match_fn)(void *arg, const struct store_event *row);

struct store_event_query {
    int64_t project_id;
    int64_t issue_id;   /* 0: any */
    int kind;           /* -1: any, else enum ev_kind */
    int64_t since;      /* inclusive lower bound on timestamp, 0: none */
    int64_t until;      /* exclusive upper bound on timestamp, 0: none */
    size_t limit;       /* 1..1000 */
    const char *cursor; /* NULL, or next_cursor of the previous page */
    /*
     * Also return each event's decompressed raw payload. STORE_RAW_FIELDS:
     * the same, except that the caller reads only timestamp, level, logger,
     * release, environment and (where host_known) server_name of log lines
     * (facets), so a backend may leave the rest of a line out, raw too.
     * STORE_RAW_FIELDS_SERVICE: those and the line's service, so a line
     * whose service is not service_known comes with its raw payload.
     */
    int with_raw;
    /*
     * Search (store_sqlite_search.c): the rows query matches, NULL for all.
     * A backend lowers what it can to its own query language and may ask
     * match() about the candidates it cannot decide (match gets the row with
     * its raw payload; 1 keeps it, 0 drops it), so the answer is exactly
     * query_match()'s. now_us resolves relative times in the query.
     */
    const struct query_node *query;
    int64_t now_us;
    store_match_fn match; /* required when query is not NULL */
    void *match_arg;
};

#define STORE_RAW_FIELDS 2
#define STORE_RAW_FIELDS_SERVICE 3

/* A histogram of matching events: counts[b * EV__NLEVELS + level]. */
struct store_histogram {
    int64_t start;    /* µs, the first bucket's start */
    int64_t interval; /* µs */
    size_t nbuckets;  /* 1..STORE_HIST_MAX */
    int64_t *counts;  /* nbuckets * EV__NLEVELS, filled by the store */
};

#define STORE_HIST_MAX 2000

/* Called for each matching event of a scan, newest first: 0 goes on, 1 stops. */
typedef int (*store_scan_fn)(void *arg, const struct store_event *row);

struct store_batch_result {
    size_t events_written;
    size_t duplicates; /* same event_id already stored for the project: skipped */
    size_t new_issues;
    size_t regressions; /* resolved issues reopened by this batch */
    /* log blocks written as prepare made them, and built by the writer (prepare's fallback) */
    size_t log_blocks_prepared;
    size_t log_blocks_built;
    /* segments of word postings whose words prepare gathered, and those the writer gathered */
    size_t log_posts_prepared;
    size_t log_posts_built;
};

/*
 * Prepared writes. A backend may do part of write_batch's work ahead of it,
 * on the digest's decode threads: prepare (pure CPU, no database access,
 * safe on any thread) reads a batch's events as they will be handed to
 * write_batch and keeps what it built in *prep (created on first use,
 * reused for the next batch, freed by prep_free); write_prepared then uses
 * what still fits what it stores and does the rest itself, so the result
 * is the same as write_batch's with or without it. A backend without
 * prepare leaves *prep NULL. The events must not change between the two
 * calls, except what the writer itself decides (an event's kind).
 */
struct store_prep {
    const struct store_ops *ops; /* the backend whose prepare made it */
};

/* A node id: 1..STORE_NODE_ID_MAX-1 characters of [A-Za-z0-9_-]. */
#define STORE_NODE_ID_MAX 65

/* Envelope items kept beside events (core/item.h, store_sqlite_items.c). */
struct store_attachment {
    int64_t id;
    char event_id[33];
    const char *filename;
    const char *content_type;
    const char *attachment_type;
    int64_t size;
    int64_t received_at;
    const void *data; /* attachment_get only */
};

struct store_feedback {
    int64_t id;
    char event_id[33];    /* the event it is about, "" when none */
    char feedback_id[33]; /* the feedback event's own id, "" for user_report */
    const char *name;
    const char *email;
    const char *message;
    const char *url;
    int64_t received_at;
};

/* A counter of a project: client-report losses (reason, category) or received-only items. */
struct store_item_count {
    const char *reason;   /* NULL for received-only counts */
    const char *category; /* client report category, or the item type */
    int64_t quantity;
    int64_t last_seen;
};

/* Retention (store_sqlite_retention.c). */
#define STORE_RETENTION_DAYS_DEFAULT 30
#define STORE_RETENTION_DAYS_MAX 36500

struct store_retention_result {
    size_t days_dropped;
    int64_t bytes_freed;
};

/* What one partition (day) holds of one project; bytes are the file's, shared by rows. */
struct store_usage {
    int64_t day_start; /* µs of the day's start (UTC) */
    int64_t project_id;
    int64_t rows;
    int64_t bytes; /* the file's bytes times the project's share of its rows */
    int64_t file_bytes;
};

/*
 * The WAL checkpointer's counters since open (sqlite backend; others leave
 * them 0): passes on a file, frames copied, idle WALs truncated, errors, and
 * checkpoints the writer ran itself because the WAL grew past its bound.
 */
struct store_ckpt_stats {
    uint64_t wakes;
    uint64_t passes;
    uint64_t frames;
    uint64_t truncates;
    uint64_t errors;
    uint64_t writer_ckpts;
    uint64_t writer_frames;
    uint64_t writer_us;
};

struct store;

/*
 * Access (issue 8): users, web sessions, project roles, API tokens. Secrets
 * never reach the store: it gets argon2id strings and BLAKE2b digests.
 */
enum store_role { STORE_ROLE_NONE = 0, STORE_ROLE_VIEWER, STORE_ROLE_MEMBER, STORE_ROLE_ADMIN };

/* API token scopes (bits). */
#define STORE_SCOPE_READ 1u
#define STORE_SCOPE_WRITE 2u
#define STORE_SCOPE_ADMIN 4u
#define STORE_SCOPE_ALL 7u
/* A token names at most this many projects. */
#define STORE_TOKEN_PROJECTS 16

#define STORE_EMAIL_MAX 254

struct store_user {
    int64_t id;
    char email[STORE_EMAIL_MAX + 1];
    char name[128];
    char password_hash[160];
    int is_admin;
    int disabled;
    int64_t created_at;
    int64_t last_login; /* 0: never */
};

/* What user_update changes: NULL / -1 / 0 leave a field as it is. */
struct store_user_change {
    const char *name;
    const char *password_hash; /* also ends the user's sessions but keep_session */
    const char *keep_session;  /* id digest of the session that changed it, or NULL */
    int disabled;              /* 0/1, -1: unchanged; 1 also ends every session */
    int is_admin;              /* 0/1, -1: unchanged */
    int64_t last_login;        /* 0: unchanged */
};

struct store_session {
    char id_hash[65]; /* BLAKE2b of the cookie's id */
    int64_t user_id;
    char csrf[65];
    int64_t created_at;
    int64_t last_seen;
};

struct store_member {
    int64_t user_id;
    const char *email;
    const char *name;
    int role; /* enum store_role */
    int64_t created_at;
};

struct store_token {
    int64_t id;
    int64_t user_id;
    char name[128];
    unsigned scopes; /* STORE_SCOPE_* */
    int64_t projects[STORE_TOKEN_PROJECTS];
    size_t nprojects; /* 0: every project the user may see */
    int64_t created_at;
    int64_t last_used; /* 0: never (updated at most once a minute) */
};

/* A token, session or user with its owner's account state, as one lookup answers it. */
struct store_principal {
    int64_t user_id;
    int is_admin;
    int disabled;
    struct store_token token;     /* token lookups */
    struct store_session session; /* session lookups */
};

struct store_ops {
    const char *name;
    void (*close)(struct store *st);
    /* Cheap round trip to the database (readiness probes): 0 or BL_ESTORE. */
    int (*ping)(struct store *st, struct bl_err *err);

    /* digest, single writer per node; both act on the node the store was opened for */
    int (*write_batch)(struct store *st, struct event *ev, size_t n, const struct store_prep *prep,
                       uint64_t checkpoint_lsn, struct store_batch_result *res, struct bl_err *err);
    /* Both optional (NULL: nothing prepared); see struct store_prep. */
    int (*prepare)(struct store *st, struct store_prep **prep, const struct event *ev, size_t n);
    void (*prep_free)(struct store_prep *prep);
    int (*get_checkpoint)(struct store *st, uint64_t *lsn, struct bl_err *err);

    /* projects and their DSN keys */
    int (*project_add)(struct store *st, const char *name, struct store_project *out,
                       struct bl_err *err);
    int (*project_get)(struct store *st, int64_t id, struct store_project *out, struct bl_err *err);
    int (*project_list)(struct store *st, struct pool *pool, struct store_project **out, size_t *n,
                        struct bl_err *err);
    /* Project of an active key; BL_ENOTFOUND when unknown or revoked. */
    int (*key_lookup)(struct store *st, const char *public_key, int64_t *project_id,
                      struct bl_err *err);

    /* A project's grouping rules; BL_ENOTFOUND for an unknown project. */
    int (*grouping_get)(struct store *st, int64_t project_id, struct pool *pool,
                        struct store_grouping *out, struct bl_err *err);
    /* Replaces them (texts already validated) and returns the new version. */
    int (*grouping_set)(struct store *st, int64_t project_id, const char *fingerprint_rules,
                        const char *stack_rules, int *version, struct bl_err *err);
    /* The key's id, its limits and its project's quota; BL_ENOTFOUND as key_lookup. */
    int (*key_info)(struct store *st, const char *public_key, struct store_key_info *out,
                    struct bl_err *err);
    /* A new active key (k: project_id, label, limits in; the rest out). */
    int (*key_add)(struct store *st, struct store_key *k, struct bl_err *err);
    /* A project's keys, revoked ones included, by id. */
    int (*key_list)(struct store *st, int64_t project_id, struct pool *pool, struct store_key **out,
                    size_t *n, struct bl_err *err);
    /* Label, active flag and limits of key k->id of k->project_id; BL_ENOTFOUND. */
    int (*key_update)(struct store *st, const struct store_key *k, struct bl_err *err);
    int (*settings_get)(struct store *st, int64_t project_id, struct store_project_settings *out,
                        struct bl_err *err);
    int (*settings_set)(struct store *st, int64_t project_id,
                        const struct store_project_settings *in, struct bl_err *err);

    /* users and API tokens; hashes are computed by auth/, never plain secrets */
    int (*user_add)(struct store *st, const char *login, const char *password_hash, int is_admin,
                    int64_t *user_id, struct bl_err *err);
    int (*user_count)(struct store *st, int64_t *n, struct bl_err *err);
    int (*token_add)(struct store *st, int64_t user_id, const char *token_hash, const char *label,
                     struct bl_err *err);
    int (*token_lookup)(struct store *st, const char *token_hash, int64_t *user_id,
                        struct bl_err *err);

    /* issues */
    int (*issue_list)(struct store *st, const struct store_issue_query *q, struct pool *pool,
                      struct store_issue **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                      struct bl_err *err);
    int (*issue_get)(struct store *st, int64_t issue_id, struct pool *pool, struct store_issue *out,
                     struct bl_err *err);
    int (*issue_set_status)(struct store *st, int64_t issue_id, int status, struct bl_err *err);
    /* counts[i] = events of the issue in the hour starting at since + i hours */
    int (*issue_hourly)(struct store *st, int64_t issue_id, int64_t since, size_t nhours,
                        int64_t *counts, struct bl_err *err);
    /*
     * Where issues were seen: issue_id > 0, that issue's environments and
     * releases (kind -1: both); else project_id's of kind (issues: how many
     * of its issues). Most recently seen first, at most limit (1..1000).
     */
    int (*seen_list)(struct store *st, int64_t project_id, int64_t issue_id, int kind, size_t limit,
                     struct pool *pool, struct store_seen **out, size_t *n, struct bl_err *err);

    /* events: newest first (timestamp, then arrival order) */
    int (*event_list)(struct store *st, const struct store_event_query *q, struct pool *pool,
                      struct store_event **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                      struct bl_err *err);
    /*
     * One event by id, with its raw payload decompressed into pool (raw may
     * be NULL when the caller does not want it). The API re-normalizes raw
     * (normalize.h) to show the full event.
     */
    int (*event_get)(struct store *st, int64_t project_id, const char *event_id, struct pool *pool,
                     struct store_event *out, const char **raw, size_t *raw_len,
                     struct bl_err *err);

    /*
     * Search over events (q->query, q->match as in event_list; limit and
     * cursor are ignored). event_scan calls fn for each matching row, newest
     * first, reading at most max_rows rows (with_raw as asked); *scanned says
     * how many matched. event_histogram counts matching events per bucket
     * and level over h (the time range is the buckets').
     */
    int (*event_scan)(struct store *st, const struct store_event_query *q, size_t max_rows,
                      store_scan_fn fn, void *arg, size_t *scanned, struct bl_err *err);
    int (*event_histogram)(struct store *st, const struct store_event_query *q,
                           struct store_histogram *h, struct bl_err *err);

    /*
     * Retention. A project's events older than its retention_days are never
     * returned (reads cut them off at once); retention_run, from the digest
     * thread only, drops each day partition once no project in it keeps
     * it, then the oldest partitions while all of them take more than
     * disk_budget bytes (0: no budget). Issues and hourly counters stay.
     */
    int (*retention_get)(struct store *st, int64_t project_id, int *days, struct bl_err *err);
    int (*retention_set)(struct store *st, int64_t project_id, int days, struct bl_err *err);
    int (*retention_run)(struct store *st, int64_t now_us, int64_t disk_budget,
                         struct store_retention_result *res, struct bl_err *err);
    /*
     * Per-issue thinning: from now on store at most n events of one issue
     * per day partition (0: all); the rest are counted (issue counters,
     * hourly counts) but not kept. Replays decide the same way.
     */
    int (*set_issue_events_per_day)(struct store *st, int64_t n);
    /*
     * The codec of the log frames written from now on (enum
     * store_log_codec); frames already written read as they were.
     */
    int (*set_log_codec)(struct store *st, int codec);
    /* Rows and bytes per partition and project (project_id 0: all), oldest first. */
    int (*usage)(struct store *st, int64_t project_id, struct pool *pool, struct store_usage **out,
                 size_t *n, struct bl_err *err);
    /* Optional (NULL: all 0): the WAL checkpointer's counters (/metrics). */
    void (*ckpt_stats)(struct store *st, struct store_ckpt_stats *out);

    /*
     * Envelope items (digest, single writer). Exactly once like write_batch:
     * items of records below the checkpoint of the previous call are skipped,
     * so the digest may call it again with the same batch after a failure.
     */
    int (*write_items)(struct store *st, const struct item *items, size_t n,
                       uint64_t checkpoint_lsn, struct bl_err *err);
    /* Attachments of an event, oldest first, without their bytes. */
    int (*attachment_list)(struct store *st, int64_t project_id, const char *event_id,
                           struct pool *pool, struct store_attachment **out, size_t *n,
                           struct bl_err *err);
    /* One attachment with its bytes in pool; BL_ENOTFOUND. */
    int (*attachment_get)(struct store *st, int64_t project_id, const char *event_id, int64_t id,
                          struct pool *pool, struct store_attachment *out, struct bl_err *err);
    /* A project's feedback, newest first; event_id "" for all, else about that event. */
    int (*feedback_list)(struct store *st, int64_t project_id, const char *event_id, size_t limit,
                         struct pool *pool, struct store_feedback **out, size_t *n,
                         struct bl_err *err);
    /* A project's client-report counters and received-only counts. */
    int (*item_counts)(struct store *st, int64_t project_id, struct pool *pool,
                       struct store_item_count **reports, size_t *nreports,
                       struct store_item_count **received, size_t *nreceived, struct bl_err *err);

    /*
     * Access (issue 8). user_get: by id, or by email when email is not NULL
     * (BL_ENOTFOUND). session_get and token_get answer the owner's flags too,
     * read on every request: a disabled user or a deleted token is refused
     * at once. member_set with STORE_ROLE_NONE removes (BL_ENOTFOUND when
     * there was none); member_role answers STORE_ROLE_NONE for none.
     */
    int (*user_get)(struct store *st, int64_t id, const char *email, struct store_user *out,
                    struct bl_err *err);
    int (*user_list)(struct store *st, struct pool *pool, struct store_user **out, size_t *n,
                     struct bl_err *err);
    int (*user_update)(struct store *st, int64_t id, const struct store_user_change *c,
                       struct bl_err *err);
    int (*session_add)(struct store *st, const struct store_session *s, struct bl_err *err);
    int (*session_get)(struct store *st, const char *id_hash, struct store_principal *out,
                       struct bl_err *err);
    int (*session_touch)(struct store *st, const char *id_hash, int64_t now, struct bl_err *err);
    int (*session_delete)(struct store *st, const char *id_hash, struct bl_err *err);
    int (*member_set)(struct store *st, int64_t project_id, int64_t user_id, int role,
                      struct bl_err *err);
    int (*member_role)(struct store *st, int64_t project_id, int64_t user_id, int *role,
                       struct bl_err *err);
    int (*member_list)(struct store *st, int64_t project_id, struct pool *pool,
                       struct store_member **out, size_t *n, struct bl_err *err);
    /* t->id is set; t->user_id, name, scopes, projects are read. */
    int (*token_create)(struct store *st, const char *token_hash, struct store_token *t,
                        struct bl_err *err);
    int (*token_get)(struct store *st, const char *token_hash, struct store_principal *out,
                     struct bl_err *err);
    /* user_id 0: every user's */
    int (*token_list)(struct store *st, int64_t user_id, struct pool *pool,
                      struct store_token **out, size_t *n, struct bl_err *err);
    /* Deletes token id when it is user_id's (user_id 0: anyone's); BL_ENOTFOUND. */
    int (*token_revoke)(struct store *st, int64_t id, int64_t user_id, struct bl_err *err);
    int (*token_touch)(struct store *st, int64_t id, int64_t now, struct bl_err *err);
    /* name NULL and issue_level < 0 leave those unchanged; BL_ENOTFOUND. */
    int (*project_update)(struct store *st, int64_t id, const char *name, int issue_level,
                          struct bl_err *err);
};

struct store {
    const struct store_ops *ops;
};

/*
 * Opens the store a URL names, creating and migrating it if needed:
 *   PATH, sqlite:PATH, sqlite://PATH   the SQLite store in directory PATH
 *   postgres://..., postgresql://...   recognised; this build has no
 *                                      PostgreSQL backend yet (BL_EINVAL)
 * Any other SCHEME:// is BL_EINVAL naming the accepted forms. Errors never
 * echo the URL past its scheme (a PostgreSQL URL may carry a password).
 * node_id (see above) may be NULL for admin-only use. Close with store_close().
 */
int store_open(struct store **out, const char *url, const char *node_id, struct bl_err *err);

/*
 * Opens (creating and migrating if needed) the SQLite store in dir, for
 * node_id (may be NULL). Safe to call from a second process while a server
 * has it open.
 */
int store_open_sqlite(struct store **out, const char *dir, const char *node_id, struct bl_err *err);

/*
 * This node's id, kept in <data_dir>/node_id: read it, or create it (a
 * random 32-hex id, mode 0600) the first time. out has STORE_NODE_ID_MAX bytes.
 */
int store_node_id(const char *data_dir, char *out, struct bl_err *err);
/* 0 when s is a well-formed node id, else BL_EINVAL. */
int store_node_id_check(const char *s);

static inline void store_close(struct store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

static inline int store_ping(struct store *st, struct bl_err *err)
{
    return st->ops->ping(st, err);
}

static inline int store_write_batch(struct store *st, struct event *ev, size_t n,
                                    uint64_t checkpoint_lsn, struct store_batch_result *res,
                                    struct bl_err *err)
{
    return st->ops->write_batch(st, ev, n, NULL, checkpoint_lsn, res, err);
}

/* write_batch with what prepare made of the same events (prep may be NULL). */
static inline int store_write_prepared(struct store *st, struct event *ev, size_t n,
                                       const struct store_prep *prep, uint64_t checkpoint_lsn,
                                       struct store_batch_result *res, struct bl_err *err)
{
    return st->ops->write_batch(st, ev, n, prep, checkpoint_lsn, res, err);
}

/* Any thread: prepares ev[0..n) into *prep; nonzero when nothing usable was made. */
static inline int store_prepare(struct store *st, struct store_prep **prep, const struct event *ev,
                                size_t n)
{
    return st->ops->prepare != NULL ? st->ops->prepare(st, prep, ev, n) : BL_EINVAL;
}

static inline void store_prep_free(struct store *st, struct store_prep *prep)
{
    if (prep != NULL && st->ops->prep_free != NULL)
        st->ops->prep_free(prep);
}

static inline int store_get_checkpoint(struct store *st, uint64_t *lsn, struct bl_err *err)
{
    return st->ops->get_checkpoint(st, lsn, err);
}

static inline int store_project_add(struct store *st, const char *name, struct store_project *out,
                                    struct bl_err *err)
{
    return st->ops->project_add(st, name, out, err);
}

static inline int store_project_get(struct store *st, int64_t id, struct store_project *out,
                                    struct bl_err *err)
{
    return st->ops->project_get(st, id, out, err);
}

static inline int store_project_list(struct store *st, struct pool *pool,
                                     struct store_project **out, size_t *n, struct bl_err *err)
{
    return st->ops->project_list(st, pool, out, n, err);
}

static inline int store_key_lookup(struct store *st, const char *key, int64_t *project_id,
                                   struct bl_err *err)
{
    return st->ops->key_lookup(st, key, project_id, err);
}

static inline int store_key_info(struct store *st, const char *key, struct store_key_info *out,
                                 struct bl_err *err)
{
    return st->ops->key_info(st, key, out, err);
}

static inline int store_key_add(struct store *st, struct store_key *k, struct bl_err *err)
{
    return st->ops->key_add(st, k, err);
}

static inline int store_key_list(struct store *st, int64_t project_id, struct pool *pool,
                                 struct store_key **out, size_t *n, struct bl_err *err)
{
    return st->ops->key_list(st, project_id, pool, out, n, err);
}

static inline int store_key_update(struct store *st, const struct store_key *k, struct bl_err *err)
{
    return st->ops->key_update(st, k, err);
}

static inline int store_settings_get(struct store *st, int64_t project_id,
                                     struct store_project_settings *out, struct bl_err *err)
{
    return st->ops->settings_get(st, project_id, out, err);
}

static inline int store_settings_set(struct store *st, int64_t project_id,
                                     const struct store_project_settings *in, struct bl_err *err)
{
    return st->ops->settings_set(st, project_id, in, err);
}

static inline int store_user_add(struct store *st, const char *login, const char *pw_hash,
                                 int is_admin, int64_t *user_id, struct bl_err *err)
{
    return st->ops->user_add(st, login, pw_hash, is_admin, user_id, err);
}

static inline int store_user_count(struct store *st, int64_t *n, struct bl_err *err)
{
    return st->ops->user_count(st, n, err);
}

static inline int store_token_add(struct store *st, int64_t user_id, const char *token_hash,
                                  const char *label, struct bl_err *err)
{
    return st->ops->token_add(st, user_id, token_hash, label, err);
}

static inline int store_token_lookup(struct store *st, const char *token_hash, int64_t *user_id,
                                     struct bl_err *err)
{
    return st->ops->token_lookup(st, token_hash, user_id, err);
}

static inline int store_issue_list(struct store *st, const struct store_issue_query *q,
                                   struct pool *pool, struct store_issue **out, size_t *n,
                                   char next_cursor[STORE_CURSOR_MAX], struct bl_err *err)
{
    return st->ops->issue_list(st, q, pool, out, n, next_cursor, err);
}

static inline int store_issue_get(struct store *st, int64_t id, struct pool *pool,
                                  struct store_issue *out, struct bl_err *err)
{
    return st->ops->issue_get(st, id, pool, out, err);
}

static inline int store_grouping_get(struct store *st, int64_t project_id, struct pool *pool,
                                     struct store_grouping *out, struct bl_err *err)
{
    return st->ops->grouping_get(st, project_id, pool, out, err);
}

static inline int store_grouping_set(struct store *st, int64_t project_id, const char *fp,
                                     const char *stack, int *version, struct bl_err *err)
{
    return st->ops->grouping_set(st, project_id, fp, stack, version, err);
}

static inline int store_issue_set_status(struct store *st, int64_t id, int status,
                                         struct bl_err *err)
{
    return st->ops->issue_set_status(st, id, status, err);
}

static inline int store_seen_list(struct store *st, int64_t project_id, int64_t issue_id, int kind,
                                  size_t limit, struct pool *pool, struct store_seen **out,
                                  size_t *n, struct bl_err *err)
{
    return st->ops->seen_list(st, project_id, issue_id, kind, limit, pool, out, n, err);
}

static inline int store_issue_hourly(struct store *st, int64_t id, int64_t since, size_t nhours,
                                     int64_t *counts, struct bl_err *err)
{
    return st->ops->issue_hourly(st, id, since, nhours, counts, err);
}

static inline int store_event_list(struct store *st, const struct store_event_query *q,
                                   struct pool *pool, struct store_event **out, size_t *n,
                                   char next_cursor[STORE_CURSOR_MAX], struct bl_err *err)
{
    return st->ops->event_list(st, q, pool, out, n, next_cursor, err);
}

static inline int store_event_get(struct store *st, int64_t project_id, const char *event_id,
                                  struct pool *pool, struct store_event *out, const char **raw,
                                  size_t *raw_len, struct bl_err *err)
{
    return st->ops->event_get(st, project_id, event_id, pool, out, raw, raw_len, err);
}

static inline int store_event_scan(struct store *st, const struct store_event_query *q,
                                   size_t max_rows, store_scan_fn fn, void *arg, size_t *scanned,
                                   struct bl_err *err)
{
    return st->ops->event_scan(st, q, max_rows, fn, arg, scanned, err);
}

static inline int store_event_histogram(struct store *st, const struct store_event_query *q,
                                        struct store_histogram *h, struct bl_err *err)
{
    return st->ops->event_histogram(st, q, h, err);
}

static inline int store_retention_get(struct store *st, int64_t project_id, int *days,
                                      struct bl_err *err)
{
    return st->ops->retention_get(st, project_id, days, err);
}

static inline int store_retention_set(struct store *st, int64_t project_id, int days,
                                      struct bl_err *err)
{
    return st->ops->retention_set(st, project_id, days, err);
}

static inline int store_retention_run(struct store *st, int64_t now_us, int64_t disk_budget,
                                      struct store_retention_result *res, struct bl_err *err)
{
    return st->ops->retention_run(st, now_us, disk_budget, res, err);
}

static inline int store_set_issue_events_per_day(struct store *st, int64_t n)
{
    return st->ops->set_issue_events_per_day(st, n);
}

/* --log-compression: LZ4 (the default) is fast, zstd level 1 takes less disk. */
enum store_log_codec { STORE_LOG_LZ4 = 0, STORE_LOG_ZSTD = 1 };

static inline int store_set_log_codec(struct store *st, int codec)
{
    return st->ops->set_log_codec(st, codec);
}

static inline int store_usage(struct store *st, int64_t project_id, struct pool *pool,
                              struct store_usage **out, size_t *n, struct bl_err *err)
{
    return st->ops->usage(st, project_id, pool, out, n, err);
}

static inline void store_ckpt_stats(struct store *st, struct store_ckpt_stats *out)
{
    *out = (struct store_ckpt_stats){ 0 };
    if (st->ops->ckpt_stats != NULL)
        st->ops->ckpt_stats(st, out);
}

static inline int store_write_items(struct store *st, const struct item *items, size_t n,
                                    uint64_t checkpoint_lsn, struct bl_err *err)
{
    return st->ops->write_items(st, items, n, checkpoint_lsn, err);
}

static inline int store_attachment_list(struct store *st, int64_t project_id, const char *event_id,
                                        struct pool *pool, struct store_attachment **out, size_t *n,
                                        struct bl_err *err)
{
    return st->ops->attachment_list(st, project_id, event_id, pool, out, n, err);
}

static inline int store_attachment_get(struct store *st, int64_t project_id, const char *event_id,
                                       int64_t id, struct pool *pool, struct store_attachment *out,
                                       struct bl_err *err)
{
    return st->ops->attachment_get(st, project_id, event_id, id, pool, out, err);
}

static inline int store_feedback_list(struct store *st, int64_t project_id, const char *event_id,
                                      size_t limit, struct pool *pool, struct store_feedback **out,
                                      size_t *n, struct bl_err *err)
{
    return st->ops->feedback_list(st, project_id, event_id, limit, pool, out, n, err);
}

static inline int store_item_counts(struct store *st, int64_t project_id, struct pool *pool,
                                    struct store_item_count **reports, size_t *nreports,
                                    struct store_item_count **received, size_t *nreceived,
                                    struct bl_err *err)
{
    return st->ops->item_counts(st, project_id, pool, reports, nreports, received, nreceived, err);
}

/* Access (issue 8). */
#define STORE_WRAP(name, params, args)                                                             \
    static inline int store_##name params                                                          \
    {                                                                                              \
        return st->ops->name args;                                                                 \
    }
STORE_WRAP(user_get,
           (struct store * st, int64_t id, const char *email, struct store_user *out,
            struct bl_err *err),
           (st, id, email, out, err))
STORE_WRAP(user_list,
           (struct store * st, struct pool *pool, struct store_user **out, size_t *n,
            struct bl_err *err),
           (st, pool, out, n, err))
STORE_WRAP(user_update,
           (struct store * st, int64_t id, const struct store_user_change *c, struct bl_err *err),
           (st, id, c, err))
STORE_WRAP(session_add, (struct store * st, const struct store_session *s, struct bl_err *err),
           (st, s, err))
STORE_WRAP(session_get,
           (struct store * st, const char *id_hash, struct store_principal *out,
            struct bl_err *err),
           (st, id_hash, out, err))
STORE_WRAP(session_touch, (struct store * st, const char *id_hash, int64_t now, struct bl_err *err),
           (st, id_hash, now, err))
STORE_WRAP(session_delete, (struct store * st, const char *id_hash, struct bl_err *err),
           (st, id_hash, err))
STORE_WRAP(member_set,
           (struct store * st, int64_t project_id, int64_t user_id, int role, struct bl_err *err),
           (st, project_id, user_id, role, err))
STORE_WRAP(member_role,
           (struct store * st, int64_t project_id, int64_t user_id, int *role, struct bl_err *err),
           (st, project_id, user_id, role, err))
STORE_WRAP(member_list,
           (struct store * st, int64_t project_id, struct pool *pool, struct store_member **out,
            size_t *n, struct bl_err *err),
           (st, project_id, pool, out, n, err))
STORE_WRAP(token_create,
           (struct store * st, const char *token_hash, struct store_token *t, struct bl_err *err),
           (st, token_hash, t, err))
STORE_WRAP(token_get,
           (struct store * st, const char *token_hash, struct store_principal *out,
            struct bl_err *err),
           (st, token_hash, out, err))
STORE_WRAP(token_list,
           (struct store * st, int64_t user_id, struct pool *pool, struct store_token **out,
            size_t *n, struct bl_err *err),
           (st, user_id, pool, out, n, err))
STORE_WRAP(token_revoke, (struct store * st, int64_t id, int64_t user_id, struct bl_err *err),
           (st, id, user_id, err))
STORE_WRAP(token_touch, (struct store * st, int64_t id, int64_t now, struct bl_err *err),
           (st, id, now, err))
STORE_WRAP(project_update,
           (struct store * st, int64_t id, const char *name, int issue_level, struct bl_err *err),
           (st, id, name, issue_level, err))
#undef STORE_WRAP

#endif
