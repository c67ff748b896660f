/*
 * store_sqlite_write.c - write_batch: events into day files, counters into bilor.db.
 *
 * DESIGN: exactly once across several files
 * A batch touches bilor.db (issues, hourly counters, the node's
 * checkpoint_lsn) and one or more day files (events). SQLite cannot commit
 * several WAL files atomically, so the files commit one after the other and
 * each keeps enough bookkeeping to make a replay from the last checkpoint
 * idempotent. Everything below is per node (see "Several nodes"): the
 * checkpoint is the node's row in bilor.db's nodes table, applied_lsn the
 * node's row in the day file's part_nodes, and each event row names its node.
 *
 *   1. BEGIN IMMEDIATE on bilor.db. Holding its write lock to the end keeps
 *      issue ids and counters stable while the day files are written.
 *   2. Resolve every issue of the batch: an existing (project, fingerprint,
 *      grouping_version) row gives its id; a new one is given the next id
 *      from meta.next_issue_id, in journal order. Nothing is inserted yet.
 *   3. For each day of the batch, in one transaction on that file's own
 *      connection: an event whose lsn is at or past the file's applied_lsn
 *      is inserted (a conflict on (project_id, event_id) is a client
 *      duplicate: skipped, not counted). An event with lsn below applied_lsn
 *      was committed here before a crash; it is not inserted again, but if
 *      the stored row carries this very (node, lsn, seq) it is counted (its
 *      issue counters never committed), else it was a duplicate the first
 *      time too. applied_lsn becomes the batch's checkpoint_lsn. COMMIT.
 *   4. In the still open bilor.db transaction: insert or update the issues
 *      of the counted events (regression when a resolved issue gets one),
 *      the hourly counters, next_issue_id and the node's checkpoint_lsn.
 *      COMMIT.
 *
 * Crash before a day file commits: nothing of the batch is anywhere, the
 * replay does it all. Crash after some day files and before bilor.db: those
 * events are stored once and counted nowhere; the replay finds them by
 * applied_lsn, counts each once and inserts the rest. Crash after bilor.db:
 * the checkpoint is past every event of the batch (write_batch refuses an
 * event whose lsn is not below checkpoint_lsn), so none comes back; and
 * should a caller replay too far anyway, an event below bilor.db's
 * checkpoint is skipped before anything else looks at it. The replay may
 * cut the journal into different batches; applied_lsn is per file and the
 * checks are per event, so that does not matter.
 *
 * Issue ids of replayed events: new ids are allocated in journal order from
 * a counter that only moves when bilor.db commits, so a replay of the same
 * records hands out the same ids. Should it not (say the project's issue
 * level changed between the crash and the restart, or another node
 * committed in between and took the ids or created the same issue), step 3
 * rewrites the stored row's issue_id and kind to what the replay decided,
 * so events and issue counters always agree once the node has replayed.
 *
 * Several nodes. Each node has its own journal, so an LSN means something
 * only next to its node: node A's lsn 100 and node B's lsn 100 are
 * different records. The argument above holds for each node on its own
 * because every LSN comparison is made against that node's bookkeeping
 * only: write_batch skips what lies below the node's checkpoint, replays
 * what lies below the node's applied_lsn in the day file, and counts a
 * stored row as its own only when the row's node matches as well as its
 * (lsn, seq). So another node's batches never make an event look already
 * applied (B's applied_lsn 60000 says nothing about A's lsn 100), and a
 * row another node wrote with an equal (lsn, seq) is a client duplicate,
 * not a replayed insert to count again. What nodes share is arbitrated by
 * the databases themselves: the (project_id, event_id) unique key decides
 * which node's copy of a retried event is stored (the other counts it as
 * a duplicate), and bilor.db's write lock, taken in step 1 and held to
 * step 4, serializes batches of different nodes so issue ids and counters
 * see one writer at a time. Between a node's crash and its replay, rows
 * it wrote may name an issue id another node then allocates; the replay
 * (step 3) puts them right, and a node that never returns leaves them so.
 *
 * Upgrade: the store before node ids had one checkpoint and one
 * applied_lsn per day file, both written by the one node of its data
 * directory. Migration 2 (main and day files) makes them node 1's rows and
 * marks existing events as node 1's; the first node to open the store for
 * digesting claims node 1 (sq_node_register), and it is that same server.
 *
 * Result counts: events_written is the events of this batch that are now
 * stored and counted, including ones a crashed run had already put in a day
 * file; duplicates is the events skipped, client retries and events below
 * the checkpoint alike.
 *
 * Duplicates are found within one day file: a retry of an event with the
 * same id and timestamp lands in the same day. The same id sent again with
 * a timestamp on another UTC day is stored twice.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/* Keeps µs arithmetic far from overflow and inside the YYYYMMDD file names. */
#define TS_MAX ((SQ_DAY_MAX + 1) * CLOCK_US_PER_DAY - 1)

enum { SKIP_DONE = 1, SKIP_BAD = 2 };

int64_t sq_sane_ts(const struct event *e)
{
    if (e->timestamp >= 0 && e->timestamp <= TS_MAX)
        return e->timestamp;
    if (e->received_at >= 0 && e->received_at <= TS_MAX)
        return e->received_at;
    return e->timestamp < 0 ? 0 : TS_MAX;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

/* qsort has no context argument; the comparators read the batch being sorted from here. */
static _Thread_local const struct sq_wctx *sort_ctx;

static int cmp_journal(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const struct event *x = &sort_ctx->ev[a], *y = &sort_ctx->ev[b];
    int c = cmp_u64(x->lsn, y->lsn);

    if (c == 0)
        c = cmp_u64(x->seq, y->seq);
    return c != 0 ? c : cmp_u64(a, b);
}

static int cmp_day(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int64_t da = sort_ctx->day[a], db = sort_ctx->day[b];

    if (da != db)
        return da < db ? -1 : 1;
    return cmp_journal(pa, pb);
}

/*
 * Sorts v[0..n) by cmp unless it already is: a batch comes in journal
 * order, mostly of one day, and qsort (a merge sort in glibc) of an
 * already sorted batch of 20,000 log lines was a tenth of the writer's time.
 */
static void sort_idx(size_t *v, size_t n, int (*cmp)(const void *, const void *))
{
    for (size_t i = 1; i < n; i++)
        if (cmp(&v[i - 1], &v[i]) > 0) {
            qsort(v, n, sizeof(*v), cmp);
            return;
        }
}

static int validate(const struct event *ev, size_t n, uint64_t checkpoint, struct bl_err *err)
{
    size_t i;

    if (n > 0 && ev == NULL)
        return bl_err_set(err, BL_EINVAL, "write_batch: no events");
    for (i = 0; i < n; i++) {
        if (ev[i].lsn >= checkpoint)
            return bl_err_set(err, BL_EINVAL,
                              "write_batch: event lsn %llu not below "
                              "checkpoint %llu",
                              (unsigned long long)ev[i].lsn, (unsigned long long)checkpoint);
    }
    return 0;
}

/*
 * Events this call leaves alone: those below bilor.db's checkpoint (their
 * batch committed everywhere) and malformed ones, which are logged rather
 * than failing the batch: the digest retries a failed batch forever.
 */
static int skip_reason(const struct sq_wctx *w, const struct event *e)
{
    if (e->lsn < w->done_lsn)
        return SKIP_DONE;
    if (e->project_id > 0 && e->event_id[0] != '\0')
        return 0;
    log_warn("not storing an event without project or id lsn=%llu seq=%u",
             (unsigned long long)e->lsn, (unsigned)e->seq);
    return SKIP_BAD;
}

static void ctx_init(struct sq_wctx *w, struct sq_store *s, struct event *ev, size_t n)
{
    size_t i;

    memset(w, 0, sizeof(*w));
    w->s = s;
    w->ev = ev;
    w->n = n;
    w->order = xcalloc(n + 1, sizeof(*w->order));
    w->by_day = xcalloc(n + 1, sizeof(*w->by_day));
    w->ts = xcalloc(n + 1, sizeof(*w->ts));
    w->day = xcalloc(n + 1, sizeof(*w->day));
    w->counted = xcalloc(n + 1, sizeof(*w->counted));
    w->skip = xcalloc(n + 1, sizeof(*w->skip));
    w->group = xcalloc(n + 1, sizeof(*w->group));
    w->g = xcalloc(n + 1, sizeof(*w->g));
    for (w->hmask = 16; w->hmask < 2 * n; w->hmask *= 2)
        ;
    w->htab = xmalloc(w->hmask * sizeof(*w->htab));
    memset(w->htab, 0xff, w->hmask * sizeof(*w->htab));
    w->hmask--;
    buf_init(&w->tags, SQ_TAGS_BUF_MAX);
    for (i = 0; i < n; i++) {
        w->order[i] = i;
        w->by_day[i] = i;
        w->ts[i] = sq_sane_ts(&ev[i]);
        w->day[i] = sq_day_of(w->ts[i]);
        w->group[i] = -1;
    }
    sort_ctx = w;
    sort_idx(w->order, n, cmp_journal);
    sort_idx(w->by_day, n, cmp_day);
    sort_ctx = NULL;
}

static void ctx_release(struct sq_wctx *w)
{
    free(w->order);
    free(w->by_day);
    free(w->ts);
    free(w->day);
    free(w->counted);
    free(w->skip);
    free(w->group);
    free(w->g);
    free(w->htab);
    free(w->zbuf);
    buf_release(&w->tags);
}

/* Issue resolution (step 2; which issue: store_sqlite_group.c). */

/* An integer of sql's first row with ?1 = *arg (NULL: no ?1); 0 when there is no row. */
static int read_int(struct sq_conn *c, const char *sql, const int64_t *arg, int64_t *out,
                    struct bl_err *err)
{
    struct sq_query q = { sql,         "read bookkeeping", { SQ_INT(arg != NULL ? *arg : 0) },
                          arg != NULL, sq_row_int64,       out };

    *out = 0;
    return sq_query_each(c, &q, err);
}

static int resolve_issues(struct sq_wctx *w, struct bl_err *err)
{
    static const char next_sql[] = "SELECT value FROM meta WHERE key = 'next_issue_id'";
    static const char max_sql[] = "SELECT coalesce(max(id), 0) + 1 FROM issues";
    static const char done_sql[] = "SELECT checkpoint_lsn FROM nodes WHERE id = ?1";
    int64_t floor_id = 0, done = 0;
    size_t i;
    int rc;

    rc = sq_group_begin(w, err);
    if (rc == 0)
        rc = read_int(w->s->w, next_sql, NULL, &w->next_issue_id, err);
    if (rc == 0)
        rc = read_int(w->s->w, max_sql, NULL, &floor_id, err);
    if (rc == 0)
        rc = read_int(w->s->w, done_sql, &w->s->node, &done, err);
    if (rc != 0)
        return rc;
    w->done_lsn = (uint64_t)done;
    if (w->next_issue_id < floor_id)
        w->next_issue_id = floor_id;
    for (i = 0; i < w->n && rc == 0; i++) {
        size_t k = w->order[i];
        struct event *e = &w->ev[k];

        e->issue_id = 0;
        w->skip[k] = (unsigned char)skip_reason(w, e);
        if (e->kind != EV_KIND_ISSUE || w->skip[k] != 0)
            continue;
        rc = sq_group_of(w, e, &w->group[k], err);
        if (rc == 0)
            e->issue_id = w->g[w->group[k]].id;
    }
    return rc;
}

/* Day files (step 3). */

static const char *tags_json(struct sq_wctx *w, const struct event *e)
{
    return sq_tags_json(&w->tags, e);
}

static int bind_event(struct sq_wctx *w, sqlite3_stmt *st, size_t k)
{
    const struct event *e = &w->ev[k];
    int rc = 0;

    rc |= sqlite3_bind_int64(st, 1, e->project_id);
    rc |= sqlite3_bind_text(st, 2, e->event_id, (int)strnlen(e->event_id, 32), SQLITE_STATIC);
    rc |= sqlite3_bind_int64(st, 3, w->ts[k]);
    rc |= sqlite3_bind_int64(st, 4, e->received_at);
    rc |= sqlite3_bind_int(st, 5, e->level);
    rc |= sqlite3_bind_int(st, 6, e->kind);
    rc |= sqlite3_bind_int64(st, 7, e->issue_id);
    rc |= sq_bind_str(st, 8, e->logger);
    rc |= sq_bind_str(st, 9, e->message);
    rc |= sq_bind_str(st, 10, e->title);
    rc |= sq_bind_str(st, 11, e->culprit);
    rc |= sq_bind_str(st, 12, e->release);
    rc |= sq_bind_str(st, 13, e->environment);
    rc |= sq_bind_str(st, 14, e->server_name);
    rc |= sq_bind_str(st, 15, e->trace_id);
    rc |= sq_bind_str(st, 16, e->request_id);
    rc |= sq_bind_str(st, 17, tags_json(w, e));
    rc |= sqlite3_bind_text(st, 18, e->fingerprint, (int)strnlen(e->fingerprint, 32),
                            SQLITE_STATIC);
    rc |= sqlite3_bind_int64(st, 19, (int64_t)e->template_hash);
    rc |= sqlite3_bind_int(st, 20, e->source);
    rc |= sq_bind_str(st, 21, e->search_text);
    rc |= sqlite3_bind_int64(st, 22, (int64_t)e->lsn);
    rc |= sqlite3_bind_int64(st, 23, (int64_t)e->seq);
    rc |= sqlite3_bind_int64(st, 24, w->s->node);
    return rc;
}

/* The payload as stored: identity payloads worth it are zstd-compressed into w->zbuf. */
static void pick_raw(struct sq_wctx *w, const struct event *e, const void **p, size_t *len,
                     int *enc)
{
    size_t bound, z;

    *p = e->raw;
    *len = e->raw_len;
    *enc = e->raw_encoding;
    if (e->raw_encoding != EV_RAW_IDENTITY || e->raw_len <= SQ_RAW_MIN_COMPRESS)
        return;
    bound = ZSTD_compressBound(e->raw_len);
    if (bound > w->zcap) {
        free(w->zbuf);
        w->zbuf = xmalloc(bound);
        w->zcap = bound;
    }
    z = ZSTD_compressCCtx(w->s->zcctx, w->zbuf, w->zcap, e->raw, e->raw_len, SQ_ZSTD_LEVEL);
    if (ZSTD_isError(z) || z >= e->raw_len)
        return;
    *p = w->zbuf;
    *len = z;
    *enc = EV_RAW_ZSTD;
}

static int insert_side(struct sq_wctx *w, struct sq_conn *c, size_t k, int64_t id,
                       struct bl_err *err)
{
    const struct event *e = &w->ev[k];
    sqlite3_stmt *st = w->ins_raw;
    unsigned char loc[SQ_RAW_LOC];
    const void *raw;
    size_t len;
    int enc, rc;

    if (e->raw != NULL && e->raw_len > 0) {
        /* The payload goes to the day's payload file, its row keeps where (store_sqlite_rawfile.c). */
        pick_raw(w, e, &raw, &len, &enc);
        if (sq_rawfile_add(c->raw, raw, len, enc, loc) != 0)
            return bl_err_set(err, BL_ETOOBIG, "a batch's payloads are too large");
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, SQ_RAW_EXTERNAL);
        sqlite3_bind_blob(st, 3, loc, SQ_RAW_LOC, SQLITE_STATIC);
        rc = sq_step_done(c, st, "insert payload", err);
        if (rc != 0)
            return rc;
    }
    st = w->ins_fts;
    sqlite3_bind_int64(st, 1, id);
    sq_bind_str(st, 2, e->message);
    sq_bind_str(st, 3, e->title);
    sq_bind_str(st, 4, e->search_text);
    return sq_step_done(c, st, "index event", err);
}

/*
 * Per-issue thinning: whether this issue already has its share of stored
 * events in this day file. The count comes from the file once per issue and
 * write_day (the partial issue index answers it), then follows the inserts.
 * The event is still counted: thinning drops payloads, never counts.
 */
static int thinned(struct sq_wctx *w, struct sq_conn *c, const struct event *e, int *thin,
                   struct bl_err *err)
{
    static const char sql[] = "SELECT count(*) FROM events WHERE issue_id = ?1 AND issue_id <> 0";
    int64_t cap = atomic_load(&w->s->issue_events_per_day), n = 0;
    struct sq_query q = { sql, "thinning", { SQ_INT(e->issue_id) }, 1, sq_row_int64, &n };
    size_t i;
    int rc;

    *thin = 0;
    if (cap <= 0 || e->kind != EV_KIND_ISSUE || e->issue_id == 0)
        return 0;
    for (i = 0; i < w->nthin && w->thin_issue[i] != e->issue_id; i++)
        ;
    if (i == w->nthin) {
        rc = sq_query_one(c, &q, err);
        if (rc != 0)
            return rc;
        if (w->nthin == SQ_THIN_CACHE) {
            *thin = n >= cap;
            return 0;
        }
        w->thin_issue[w->nthin] = e->issue_id;
        w->thin_count[w->nthin++] = n;
    }
    *thin = w->thin_count[i] >= cap;
    if (!*thin)
        w->thin_count[i]++;
    return 0;
}

static int insert_event(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err)
{
    sqlite3_stmt *st = w->ins_event;
    int rc, thin = 0;

    rc = thinned(w, c, &w->ev[k], &thin, err);
    if (rc != 0)
        return rc;
    if (thin) {
        w->counted[k] = 1;
        return 0;
    }
    if (bind_event(w, st, k) != SQLITE_OK) {
        sq_done(st);
        return sq_fail(c, "bind event", err);
    }
    rc = sq_step_done(c, st, "insert event", err);
    if (rc != 0)
        return rc;
    if (sqlite3_changes(c->db) == 0) {
        w->res->duplicates++;
        return 0;
    }
    w->counted[k] = 1;
    return insert_side(w, c, k, sqlite3_last_insert_rowid(c->db), err);
}

/*
 * The day file's insert statements, looked up once per write_day rather
 * than per event; insert_event and insert_side bind every parameter of
 * them each time, so no binding of the previous event is left over.
 */
static int day_stmts(struct sq_wctx *w, struct sq_conn *c, struct bl_err *err)
{
    static const char event_sql[] =
        "INSERT INTO events(project_id, event_id, timestamp, received_at, level, kind,"
        " issue_id, logger, message, title, culprit, release, environment, server_name,"
        " trace_id, request_id, tags_json, fingerprint, template_hash, source, search_text,"
        " lsn, seq, node) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
        " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
        " ON CONFLICT(project_id, event_id) DO NOTHING";
    static const char raw_sql[] = "INSERT INTO event_raw(id, encoding, raw) VALUES(?1, ?2, ?3)";
    static const char fts_sql[] = "INSERT INTO events_fts(rowid, message, title, search_text)"
                                  " VALUES(?1, ?2, ?3, ?4)";
    int rc = sq_stmt(c, event_sql, &w->ins_event, err);

    if (rc == 0)
        rc = sq_stmt(c, raw_sql, &w->ins_raw, err);
    if (rc == 0)
        rc = sq_stmt(c, fts_sql, &w->ins_fts, err);
    return rc;
}

/* Makes the stored row agree with what this (replayed) batch decided. */
static int fix_row(struct sq_wctx *w, struct sq_conn *c, int64_t id, size_t k, struct bl_err *err)
{
    static const char sql[] = "UPDATE events SET issue_id = ?2, kind = ?3 WHERE id = ?1";
    struct sq_query q = {
        sql, "fix event", { SQ_INT(id), SQ_INT(w->ev[k].issue_id), SQ_INT(w->ev[k].kind) },
        3,   NULL,        NULL
    };

    return sq_query_each(c, &q, err);
}

/* The stored row of a replayed event, as replay_event compares it. */
struct probe {
    const struct event *e;
    int64_t node;
    int64_t id;
    int mine;
    int stale;
};

static int probe_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct probe *p = ctx;

    (void)err;
    p->id = sqlite3_column_int64(st, 0);
    p->mine = sqlite3_column_int64(st, 5) == p->node &&
              (uint64_t)sqlite3_column_int64(st, 1) == p->e->lsn &&
              (uint64_t)sqlite3_column_int64(st, 2) == p->e->seq;
    p->stale = sqlite3_column_int64(st, 3) != p->e->issue_id ||
               sqlite3_column_int(st, 4) != p->e->kind;
    return 0;
}

/* An event this node applied to this day file before a crash: count it once, never insert it twice. */
static int replay_event(struct sq_wctx *w, struct sq_conn *c, size_t k, struct bl_err *err)
{
    static const char sql[] = "SELECT id, lsn, seq, issue_id, kind, node FROM events"
                              " WHERE project_id = ?1 AND event_id = ?2";
    const struct event *e = &w->ev[k];
    char event_id[33];
    struct probe p = { e, w->s->node, 0, 0, 0 };
    struct sq_query q = { sql, "probe event", { SQ_INT(e->project_id), SQ_TEXT(event_id) },
                          2,   probe_row,     &p };
    int rc;

    snprintf(event_id, sizeof(event_id), "%.32s", e->event_id);
    rc = sq_query_one(c, &q, err);
    /* Not there after all (the event was built differently then): store it now. */
    if (rc == BL_ENOTFOUND)
        rc = sq_logs_retire(w, c, k, err);
    if (rc == 0 && p.id == 0)
        return insert_event(w, c, k, err);
    if (rc != 0)
        return rc;
    if (!p.mine) {
        w->res->duplicates++;
        return 0;
    }
    w->counted[k] = 1;
    return p.stale ? fix_row(w, c, p.id, k, err) : 0;
}

static int set_applied(struct sq_conn *c, int64_t node, uint64_t applied, struct bl_err *err)
{
    static const char sql[] = "INSERT INTO part_nodes(node, applied_lsn) VALUES(?1, ?2)"
                              " ON CONFLICT(node) DO UPDATE SET applied_lsn = excluded.applied_lsn";
    struct sq_query q = {
        sql, "set applied_lsn", { SQ_INT(node), SQ_INT(applied) }, 2, NULL, NULL
    };

    return sq_query_each(c, &q, err);
}

/* Writes by_day[from..to), all of one day, in one transaction on that day's file. */
static int write_day(struct sq_wctx *w, size_t from, size_t to, struct bl_err *err)
{
    static const char applied_sql[] = "SELECT applied_lsn FROM part_nodes WHERE node = ?1";
    struct sq_conn *c = NULL;
    int64_t v = 0;
    uint64_t applied;
    size_t i;
    int rc, flushed;

    rc = sq_part_writer(w->s, w->day[w->by_day[from]], &c, err);
    if (rc == 0 && c->raw == NULL)
        rc = sq_rawfile_open(sqlite3_db_filename(c->db, "main"), &c->raw, err);
    if (rc != 0)
        return rc;
    w->nthin = 0;
    rc = day_stmts(w, c, err);
    if (rc != 0)
        return rc;
    sq_logs_begin(w->s);
    rc = sq_exec(c, "BEGIN IMMEDIATE", err);
    if (rc != 0)
        return rc;
    rc = read_int(c, applied_sql, &w->s->node, &v, err);
    applied = (uint64_t)v;
    for (i = from; i < to && rc == 0; i++) {
        size_t k = w->by_day[i];

        if (w->skip[k] == SKIP_DONE)
            w->res->duplicates++; /* the whole batch committed before: a replay went too far */
        else if (w->skip[k] == SKIP_BAD)
            continue;
        else if (w->ev[k].kind == EV_KIND_LOG) /* blocks: store_sqlite_logs.c */
            rc = w->ev[k].lsn < applied ? sq_logs_replay(w, c, k, err) : sq_logs_add(w, c, k, err);
        else if (w->ev[k].lsn < applied)
            rc = replay_event(w, c, k, err);
        else
            rc = insert_event(w, c, k, err);
    }
    if (rc == 0)
        rc = sq_logs_flush(w->s, c, err);
    if (rc == 0 && w->checkpoint > applied)
        rc = set_applied(c, w->s->node, w->checkpoint, err);
    /*
     * The payloads are on disk before any row that names them can be. Once
     * flushed they are kept even if the COMMIT fails: a failed commit's frames
     * may still be in the WAL that the next open recovers.
     */
    if (rc == 0)
        rc = sq_rawfile_flush(c->raw, err);
    flushed = rc == 0;
    if (rc == 0)
        rc = sq_exec(c, "COMMIT", err);
    if (rc != 0)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    sq_rawfile_done(c->raw, flushed);
    return rc;
}

static size_t next_day(const struct sq_wctx *w, size_t from)
{
    size_t to;

    for (to = from + 1; to < w->n && w->day[w->by_day[to]] == w->day[w->by_day[from]]; to++)
        ;
    return to;
}

static int write_days(struct sq_wctx *w, struct bl_err *err)
{
    sq_test_hook_fn hook = w->s->test_hook;
    size_t from, ndays = 0, done = 0;
    int rc = 0;

    for (from = 0; from < w->n; from = next_day(w, from))
        ndays++;
    for (from = 0; from < w->n && rc == 0; from = next_day(w, from)) {
        rc = write_day(w, from, next_day(w, from), err);
        if (rc == 0 && hook != NULL && hook(w->s->test_hook_arg, ++done, ndays) != 0)
            rc = bl_err_set(err, BL_EIO, "write_batch: simulated crash after %zu of %zu days", done,
                            ndays);
    }
    return rc;
}

int sq_write_batch(struct store *st, struct event *ev, size_t n, const struct store_prep *prep,
                   uint64_t checkpoint_lsn, struct store_batch_result *res, struct bl_err *err)
{
    struct sq_store *s = sq_of(st);
    struct store_batch_result local;
    struct sq_wctx w;
    int rc;

    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof(*res));
    if (s->node == 0)
        return bl_err_set(err, BL_EINVAL, "write_batch: the store was opened without a node id");
    rc = validate(ev, n, checkpoint_lsn, err);
    if (rc != 0)
        return rc;
    ctx_init(&w, s, ev, n);
    w.checkpoint = checkpoint_lsn;
    w.res = res;
    w.prep = prep != NULL && prep->ops == st->ops ? prep : NULL;
    rc = sq_exec(s->w, "BEGIN IMMEDIATE", err);
    if (rc != 0)
        goto out;
    rc = resolve_issues(&w, err);
    if (rc == 0)
        rc = write_days(&w, err);
    if (rc == 0)
        rc = sq_write_counts(&w, err);
    if (rc == 0)
        rc = sq_exec(s->w, "COMMIT", err);
    if (rc != 0)
        sqlite3_exec(s->w->db, "ROLLBACK", NULL, NULL, NULL);
    sq_group_remember(&w, rc == 0);
out:
    ctx_release(&w);
    if (rc != 0)
        memset(res, 0, sizeof(*res));
    return rc;
}

int sq_get_checkpoint(struct store *st, uint64_t *lsn, struct bl_err *err)
{
    static const char sql[] = "SELECT checkpoint_lsn FROM nodes WHERE id = ?1";
    struct sq_store *s = sq_of(st);
    int64_t v = 0;
    struct sq_query q = { sql, "checkpoint", { SQ_INT(s->node) }, 1, sq_row_int64, &v };
    int rc;

    *lsn = 0;
    if (s->node == 0)
        return bl_err_set(err, BL_EINVAL, "checkpoint: the store was opened without a node id");
    rc = sq_read_one(s, &q, err);
    *lsn = (uint64_t)v;
    return rc;
}

/*
 * The node's row: found by its id, else the unclaimed row 1 of a store that
 * predates node ids (main migration 2; that store was written by one node,
 * the server of its data directory, which is the first to open it again for
 * digesting), else a new row with checkpoint 0. One transaction, so two
 * nodes starting at once never claim the same row.
 */
static int node_find(struct sq_conn *c, const char *node_id, int64_t *node, struct bl_err *err)
{
    static const char sql[] = "SELECT id FROM nodes WHERE node_id = ?1";
    struct sq_query q = { sql, "node", { SQ_TEXT(node_id) }, 1, sq_row_int64, node };

    return sq_query_one(c, &q, err);
}

static int node_add(struct sq_conn *c, const char *node_id, struct bl_err *err)
{
    static const char claim_sql[] = "UPDATE nodes SET node_id = ?1, created_at = ?2"
                                    " WHERE id = 1 AND node_id IS NULL";
    static const char add_sql[] = "INSERT INTO nodes(node_id, checkpoint_lsn, created_at)"
                                  " VALUES(?1, 0, ?2)";
    struct sq_query q = { claim_sql, "claim node", { SQ_TEXT(node_id), SQ_INT(clock_now_us()) },
                          2,         NULL,         NULL };
    int rc = sq_query_each(c, &q, err);

    if (rc != 0 || sqlite3_changes(c->db) > 0)
        return rc;
    q.sql = add_sql;
    q.what = "add node";
    return sq_query_each(c, &q, err);
}

int sq_node_register(struct sq_store *s, const char *node_id, struct bl_err *err)
{
    int rc = sq_exec(s->w, "BEGIN IMMEDIATE", err);

    if (rc != 0)
        return rc;
    rc = node_find(s->w, node_id, &s->node, err);
    if (rc == BL_ENOTFOUND) {
        rc = node_add(s->w, node_id, err);
        if (rc == 0)
            rc = node_find(s->w, node_id, &s->node, err);
    }
    if (rc == 0)
        return sq_exec(s->w, "COMMIT", err);
    sqlite3_exec(s->w->db, "ROLLBACK", NULL, NULL, NULL);
    s->node = 0;
    return rc;
}

void sq_set_test_hook(struct store *st, sq_test_hook_fn fn, void *arg)
{
    struct sq_store *s = sq_of(st);

    s->test_hook = fn;
    s->test_hook_arg = arg;
}
