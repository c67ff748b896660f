/*
 * store_sqlite_search.c - searches over the day files: listing pages, scans
 * and histograms, with the query lowered by store_sqlite_lower.c (its
 * DESIGN comment says what exact, loose and none mean) and log lines in
 * blocks merged in (store_sqlite_logs_read.c).
 *
 * Rows are read newest first, per day file, in batches of SEARCH_BATCH by
 * (timestamp, id) keyset, so a query that rejects most candidates walks on
 * without holding a statement open across the caller's work.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "search/query.h"
#include "store/sqlite_int.h"
#include "store/sqlite_lower.h"
#include "core/banned.h"

#define SEARCH_BATCH 256
#define SEARCH_SQL_MAX (64u << 10)
#define LIST_MAX 1000

/* One search over the day files. */
struct walk {
    struct sq_store *s;
    const struct store_event_query *q;
    struct sq_lower lw;
    int exact;
    int need_raw;
    const char *sql;     /* the row statement */
    const char *sql_fts; /* the same led by the full-text index (walk_day) */
    int64_t lo_day, hi_day;
    int64_t cur[3]; /* start after: timestamp, day, order key; day -1: from the top */
    int lines;      /* log lines in blocks take part (store_sqlite_logs_read.c) */
    size_t max_rows, scanned;
    int (*row)(struct walk *w, sqlite3_stmt *st, const struct store_event *e, int64_t day,
               int64_t id, struct bl_err *err);
    /* one day file: walk_day (rows only) unless set */
    int (*day)(struct walk *w, struct sq_conn *c, int64_t day, struct bl_err *err);
    void *ctx;
    struct pool scratch;
};

static int walk_init(struct walk *w, struct sq_store *s, const struct store_event_query *q,
                     struct pool *pool, struct bl_err *err)
{
    int r = LW_EXACT;

    memset(w, 0, sizeof(*w));
    w->s = s;
    w->q = q;
    w->cur[1] = -1;
    w->max_rows = SIZE_MAX;
    buf_init(&w->lw.sql, SEARCH_SQL_MAX);
    w->lw.pool = pool;
    w->lw.now = q->now_us != 0 ? q->now_us : clock_now_us();
    pool_init(&w->scratch, 16384);
    if (q->project_id <= 0 || q->kind < -1 || q->kind > EV_KIND_ISSUE || q->issue_id < 0)
        return bl_err_set(err, BL_EINVAL, "bad event query");
    if (q->query != NULL)
        r = sq_lower_node(&w->lw, q->query);
    if (w->lw.sql.len == 0)
        buf_addstr(&w->lw.sql, "1");
    if (buf_addch(&w->lw.sql, '\0') != 0)
        return bl_err_set(err, BL_ETOOBIG, "query too large");
    w->exact = r == LW_EXACT;
    if (!w->exact && q->match == NULL)
        return bl_err_set(err, BL_EINVAL, "search needs a match function");
    w->need_raw = q->with_raw || !w->exact;
    w->lines = q->kind != EV_KIND_ISSUE && q->issue_id == 0;
    w->lo_day = q->since > 0 ? sq_day_of(q->since) : 0;
    w->hi_day = q->until > 0 ? sq_day_of(q->until - 1) : SQ_DAY_MAX;
    return 0;
}

static void walk_free(struct walk *w)
{
    buf_release(&w->lw.sql);
    free(w->lw.args);
    pool_release(&w->scratch);
}

/* The filters every statement shares after its fixed part. */
static void add_filters(struct walk *w, struct buf *b)
{
    /* A literal: a new day file's log rows have a partial index (kind = 0) the planner must see. */
    if (w->q->kind >= 0)
        buf_addf(b, " AND e.kind = %d", w->q->kind);
    if (w->q->issue_id != 0)
        buf_addstr(b, " AND e.issue_id = ?6 AND e.issue_id <> 0");
    buf_addf(b, " AND (%s)", w->lw.sql.p);
}

/*
 * fts: the planner walks the time index newest first and tests each row
 * against the full-text candidates, which is right for common words and
 * slow for rare ones (a million index steps for ten hits). With "+" the
 * time columns cannot use an index, so the candidates lead and are sorted.
 */
static const char *row_sql(struct walk *w, struct pool *pool, int fts)
{
    struct buf b = BUF_INIT(SEARCH_SQL_MAX * 2);
    const char *out;

    buf_addstr(&b, SQ_EVENT_COLS);
    buf_addstr(&b, w->need_raw ? ", r.encoding, r.raw FROM events e LEFT JOIN event_raw r"
                                 " ON r.id = e.id"
                               : " FROM events e");
    buf_addstr(&b, fts ? " WHERE +e.project_id = ?1 AND +e.timestamp >= ?2 AND +e.timestamp <= ?3"
                         " AND (+e.timestamp < ?3 OR e.id < ?4)"
                       : " WHERE e.project_id = ?1 AND e.timestamp >= ?2 AND e.timestamp <= ?3"
                         " AND (e.timestamp < ?3 OR e.id < ?4)");
    add_filters(w, &b);
    buf_addstr(&b, " ORDER BY e.timestamp DESC, e.id DESC LIMIT ?7");
    out = pool_strndup(pool, b.p, b.len);
    buf_release(&b);
    return out;
}

static int bind_all(struct walk *w, sqlite3_stmt *st, const int64_t fixed[7])
{
    int np = sqlite3_bind_parameter_count(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (int i = 0; i < 7 && i < np; i++)
        if (sqlite3_bind_int64(st, i + 1, fixed[i]) != SQLITE_OK)
            return -1;
    for (size_t i = 0; i < w->lw.nargs && (int)(ARG0 + i) <= np; i++) {
        const struct sq_arg *a = &w->lw.args[i];
        int rc = a->type == 'i' ? sqlite3_bind_int64(st, (int)(ARG0 + i), a->i)
                                : sqlite3_bind_text(st, (int)(ARG0 + i), a->s, -1, SQLITE_STATIC);

        if (rc != SQLITE_OK)
            return -1;
    }
    return 0;
}

/* One candidate row: decided, then handed on. 0 go on, 1 stop, <0 error. */
static int walk_row(struct walk *w, sqlite3_stmt *st, int64_t day, struct bl_err *err)
{
    struct store_event e;
    int keep = 1, rc = 0;

    w->scanned++;
    if (!w->exact || w->q->with_raw) {
        pool_reset(&w->scratch);
        sq_read_event(&w->scratch, st, &e);
        if (w->need_raw)
            rc = sq_read_raw(st, &w->scratch, &e.raw, &e.raw_len, err);
        if (rc != 0)
            return rc;
        if (!w->exact)
            keep = w->q->match(w->q->match_arg, &e);
        if (keep < 0)
            return bl_err_set(err, BL_ESTORE, "search: a stored event cannot be read");
    } else {
        memset(&e, 0, sizeof(e));
    }
    if (keep)
        rc = w->row(w, st, &e, day, sqlite3_column_int64(st, 0), err);
    if (rc == 0 && w->scanned >= w->max_rows)
        rc = 1;
    return rc;
}

/* Few enough full-text candidates in this day file that they should lead (row_sql). */
#define FTS_LEAD_MAX 5000

static int fts_leads(struct walk *w, struct sq_conn *c)
{
    static const char sql[] = "SELECT count(*) FROM (SELECT rowid FROM events_fts"
                              " WHERE events_fts MATCH ?1 LIMIT 5001)";
    int64_t n = FTS_LEAD_MAX + 1;
    struct sq_query q = { sql, "full-text count", { SQ_TEXT(w->lw.drive) }, 1, sq_row_int64, &n };

    if (w->lw.drive == NULL || w->sql_fts == NULL)
        return 0;
    return sq_query_one(c, &q, NULL) == 0 && n <= FTS_LEAD_MAX;
}

static int walk_day(struct walk *w, struct sq_conn *c, int64_t day, struct bl_err *err)
{
    const struct store_event_query *q = w->q;
    int at_cursor = day == w->cur[1];
    int64_t fixed[7] = { q->project_id,
                         q->since > 0 ? q->since : 0,
                         at_cursor      ? w->cur[0]
                         : q->until > 0 ? q->until
                                        : INT64_MAX,
                         at_cursor      ? w->cur[2] / 2 /* rows sort as 2 * id + 1 */
                         : q->until > 0 ? 0
                                        : INT64_MAX,
                         q->kind,
                         q->issue_id,
                         SEARCH_BATCH };
    sqlite3_stmt *st = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(c->db, fts_leads(w, c) ? w->sql_fts : w->sql, -1, &st, NULL) !=
        SQLITE_OK)
        return sq_fail(c, "search", err);
    for (;;) {
        size_t got = 0;
        int src;

        if (bind_all(w, st, fixed) != 0) {
            rc = sq_fail(c, "search: bind", err);
            break;
        }
        while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
            got++;
            fixed[2] = sqlite3_column_int64(st, 3);
            fixed[3] = sqlite3_column_int64(st, 0);
            rc = walk_row(w, st, day, err);
        }
        if (rc == 0 && src != SQLITE_DONE)
            rc = sq_fail(c, "search", err);
        if (rc != 0 || got < SEARCH_BATCH)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Calls walk_day on each day file in range, newest first, until one says stop. */
static int walk_days(struct walk *w, struct bl_err *err)
{
    int64_t *days = NULL;
    size_t nd = 0;
    int rc;

    rc = sq_part_list(w->s, &days, &nd, err);
    for (size_t i = 0; rc == 0 && i < nd; i++) {
        struct sq_conn *c = NULL;

        if (days[i] > w->hi_day || days[i] < w->lo_day)
            continue;
        rc = sq_part_reader_get(w->s, days[i], &c, err);
        if (rc == BL_ENOTFOUND) {
            rc = 0; /* dropped since the listing */
            continue;
        }
        if (rc == 0)
            rc = w->day != NULL ? w->day(w, c, days[i], err) : walk_day(w, c, days[i], err);
        sq_part_reader_put(w->s, c);
    }
    free(days);
    return rc == 1 ? 0 : rc;
}

/* Listing pages. */

struct page {
    struct pool *pool;
    struct store_event *v;
    int64_t *days, *ids;
    size_t n, want;
};

static int page_row(struct walk *w, sqlite3_stmt *st, const struct store_event *e, int64_t day,
                    int64_t id, struct bl_err *err)
{
    struct page *pg = w->ctx;
    struct store_event *out = &pg->v[pg->n];
    int rc = 0;

    (void)e;
    sq_read_event(pg->pool, st, out);
    if (w->need_raw)
        rc = sq_read_raw(st, pg->pool, &out->raw, &out->raw_len, err);
    pg->days[pg->n] = day;
    pg->ids[pg->n++] = 2 * id + 1; /* the order key rows share with log lines */
    return rc != 0 ? rc : pg->n < pg->want ? 0 : 1;
}

/* The log lines of one day file that the walk's query asks for (sq_lq). */
static void lines_query(const struct walk *w, int64_t day, struct sq_lq *lq)
{
    const struct store_event_query *q = w->q;

    memset(lq, 0, sizeof(*lq));
    lq->q = q;
    lq->lo = q->since > 0 ? q->since : 0;
    lq->hi = q->until > 0 ? q->until : INT64_MAX;
    lq->cur_ts = day == w->cur[1] ? w->cur[0] : INT64_MAX;
    lq->cur_tb = day == w->cur[1] ? w->cur[2] : INT64_MAX;
    lq->drive = w->lw.drive;
    lq->word = w->lw.drive_word;
    lq->post_drive = w->lw.post_drive;
    if (lq->drive == NULL && w->lw.id_drive != NULL) {
        lq->drive = w->lw.id_drive;
        lq->id_drive = 1;
    }
    lq->now = w->lw.now;
}

static int cmp_newest(const struct store_event *a, int64_t ka, const struct store_event *b,
                      int64_t kb)
{
    if (a->timestamp != b->timestamp)
        return a->timestamp > b->timestamp ? -1 : 1;
    return ka > kb ? -1 : ka < kb ? 1 : 0;
}

/* Merges the day's rows [from, mid) and lines [mid, end), each newest first, and cuts at want. */
static void page_merge(struct page *pg, size_t from, size_t mid, size_t end)
{
    size_t n = end - from, i = from, j = mid, k = 0;
    struct store_event *v = xmalloc((n + 1) * sizeof(*v));
    int64_t *ids = xmalloc((n + 1) * sizeof(*ids));

    while (i < mid || j < end) {
        int take_row = j == end ||
                       (i < mid && cmp_newest(&pg->v[i], pg->ids[i], &pg->v[j], pg->ids[j]) <= 0);
        size_t x = take_row ? i++ : j++;

        v[k] = pg->v[x];
        ids[k++] = pg->ids[x];
    }
    memcpy(&pg->v[from], v, n * sizeof(*v));
    memcpy(&pg->ids[from], ids, n * sizeof(*ids));
    free(v);
    free(ids);
    pg->n = end < from + (pg->want - from) ? end : pg->want;
}

/* A listing's day: its rows, then its log lines, merged into one order. */
static int list_day(struct walk *w, struct sq_conn *c, int64_t day, struct bl_err *err)
{
    struct page *pg = w->ctx;
    size_t from = pg->n, mid, nl = 0;
    struct sq_lq lq;
    int rc = walk_day(w, c, day, err);

    if (rc == 1)
        rc = 0;
    mid = pg->n;
    if (rc == 0 && w->lines) {
        lines_query(w, day, &lq);
        rc = sq_lines_page(c, &lq, pg->want - from, pg->pool, &pg->v[mid], &pg->ids[mid], &nl, err);
        w->scanned += lq.scanned;
    }
    for (size_t i = mid; i < mid + nl; i++)
        pg->days[i] = day;
    if (rc == 0)
        page_merge(pg, from, mid, mid + nl);
    return rc != 0 ? rc : pg->n < pg->want ? 0 : 1;
}

static int parse_cursor3(const char *s, int64_t v[3])
{
    long long a, b, c;
    char tail;

    if (sscanf(s, "%lld.%lld.%lld%c", &a, &b, &c, &tail) != 3 || b < 0 || b > SQ_DAY_MAX)
        return -1;
    v[0] = a;
    v[1] = b;
    v[2] = c;
    return 0;
}

int sq_search_list(struct store *st, const struct store_event_query *q, struct pool *pool,
                   struct store_event **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                   struct bl_err *err)
{
    struct walk w;
    struct page pg = { pool, NULL, NULL, NULL, 0, q->limit + 1 };
    int rc;

    *out = NULL;
    *n = 0;
    next_cursor[0] = '\0';
    rc = walk_init(&w, sq_of(st), q, pool, err);
    if (rc == 0 && (q->limit < 1 || q->limit > LIST_MAX))
        rc = bl_err_set(err, BL_EINVAL, "limit must be 1..%d", LIST_MAX);
    if (rc == 0 && q->cursor != NULL && q->cursor[0] != '\0') {
        if (parse_cursor3(q->cursor, w.cur) != 0)
            rc = bl_err_set(err, BL_EINVAL, "bad cursor");
        else if (w.cur[1] < w.hi_day)
            w.hi_day = w.cur[1];
    }
    if (rc == 0) {
        /* room for a day's rows and its lines before they merge */
        pg.v = pool_calloc(pool, 2 * pg.want, sizeof(*pg.v));
        pg.days = xcalloc(2 * pg.want, sizeof(*pg.days));
        pg.ids = xcalloc(2 * pg.want, sizeof(*pg.ids));
        w.sql = row_sql(&w, pool, 0);
        w.sql_fts = row_sql(&w, pool, 1);
        w.row = page_row;
        w.day = list_day;
        w.ctx = &pg;
        if (q->until <= 0 || q->until > q->since)
            rc = walk_days(&w, err);
    }
    if (rc == 0 && pg.n > q->limit) {
        pg.n = q->limit;
        snprintf(next_cursor, STORE_CURSOR_MAX, "%lld.%lld.%lld",
                 (long long)pg.v[pg.n - 1].timestamp, (long long)pg.days[pg.n - 1],
                 (long long)pg.ids[pg.n - 1]);
    }
    if (rc == 0) {
        *out = pg.v;
        *n = pg.n;
    }
    free(pg.days);
    free(pg.ids);
    walk_free(&w);
    return rc;
}

/* Scans. */

struct scan {
    store_scan_fn fn;
    void *arg;
};

static int scan_row(struct walk *w, sqlite3_stmt *st, const struct store_event *e, int64_t day,
                    int64_t id, struct bl_err *err)
{
    struct scan *sc = w->ctx;
    struct store_event full;

    (void)day;
    (void)id;
    (void)err;
    if (w->exact && !w->q->with_raw) {
        /* The row was not read yet (exact queries skip it). */
        pool_reset(&w->scratch);
        sq_read_event(&w->scratch, st, &full);
        e = &full;
    }
    return sc->fn(sc->arg, e) != 0 ? 1 : 0;
}

/*
 * A scan's day when log lines take part: pages in the merged order
 * (list_day), each handed on, until the day ends or the scan stops. Each
 * page walks the day's blocks again from the newest, so small pages made a
 * scan over a selective word's candidates quadratic in its blocks: pages
 * of an unbounded scan (which may stop early: a line's context) start at
 * SCAN_CHUNK and double up to SCAN_CHUNK_MAX, those of a bounded one
 * (facets) are SCAN_CHUNK_MAX from the start. A page never asks for more
 * than the scan's max_rows still allow.
 */
#define SCAN_CHUNK 256
#define SCAN_CHUNK_MAX 16384

static int scan_day(struct walk *w, struct sq_conn *c, int64_t day, struct bl_err *err)
{
    struct scan *sc = w->ctx;
    struct pool pool;
    struct page pg;
    size_t chunk = w->max_rows == SIZE_MAX ? SCAN_CHUNK : SCAN_CHUNK_MAX;
    int rc = 0, stop = 0;

    pool_init(&pool, 65536);
    memset(&pg, 0, sizeof(pg));
    pg.pool = &pool;
    pg.v = xcalloc(2 * SCAN_CHUNK_MAX, sizeof(*pg.v));
    pg.days = xcalloc(2 * SCAN_CHUNK_MAX, sizeof(*pg.days));
    pg.ids = xcalloc(2 * SCAN_CHUNK_MAX, sizeof(*pg.ids));
    w->row = page_row;
    w->ctx = &pg;
    w->cur[1] = -1;
    for (;;) {
        size_t left = w->max_rows > w->scanned ? w->max_rows - w->scanned : 1;

        pg.want = left < chunk ? left : chunk;
        pool_reset(&pool);
        pg.n = 0;
        rc = list_day(w, c, day, err);
        if (rc == 1)
            rc = 0;
        for (size_t i = 0; rc == 0 && i < pg.n && !stop; i++)
            stop = sc->fn(sc->arg, &pg.v[i]) != 0;
        /* fewer than a chunk: the day's rows and lines are all read */
        if (rc != 0 || stop || w->scanned >= w->max_rows || pg.n < pg.want)
            break;
        if (chunk < SCAN_CHUNK_MAX)
            chunk *= 2;
        w->cur[0] = pg.v[pg.n - 1].timestamp;
        w->cur[1] = day;
        w->cur[2] = pg.ids[pg.n - 1];
    }
    w->ctx = sc;
    w->cur[1] = -1;
    free(pg.v);
    free(pg.days);
    free(pg.ids);
    pool_release(&pool);
    if (rc != 0)
        return rc;
    return stop || w->scanned >= w->max_rows ? 1 : 0;
}

int sq_event_scan(struct store *st, const struct store_event_query *q, size_t max_rows,
                  store_scan_fn fn, void *arg, size_t *scanned, struct bl_err *err)
{
    struct walk w;
    struct pool pool;
    struct scan sc = { fn, arg };
    int rc;

    pool_init(&pool, 4096);
    *scanned = 0;
    rc = walk_init(&w, sq_of(st), q, &pool, err);
    if (rc == 0) {
        w.max_rows = max_rows > 0 ? max_rows : SIZE_MAX;
        w.sql = row_sql(&w, &pool, 0);
        w.sql_fts = row_sql(&w, &pool, 1);
        w.row = scan_row;
        w.ctx = &sc;
        if (w.lines) {
            /* rows are read whole here: with_raw decides only whether payloads come too */
            w.day = scan_day;
        }
        if (q->until <= 0 || q->until > q->since)
            rc = walk_days(&w, err);
        *scanned = w.scanned;
    }
    walk_free(&w);
    pool_release(&pool);
    return rc;
}

/* Histograms. */

static int hist_add(struct store_histogram *h, int64_t ts, int level, int64_t count)
{
    int64_t b;

    if (ts < h->start || level < 0 || level >= EV__NLEVELS)
        return 0;
    b = (ts - h->start) / h->interval;
    if (b >= 0 && (size_t)b < h->nbuckets)
        h->counts[(size_t)b * EV__NLEVELS + (size_t)level] += count;
    return 0;
}

static int hist_row(struct walk *w, sqlite3_stmt *st, const struct store_event *e, int64_t day,
                    int64_t id, struct bl_err *err)
{
    (void)e;
    (void)day;
    (void)id;
    (void)err;
    return hist_add(w->ctx, sqlite3_column_int64(st, 3), sqlite3_column_int(st, 5), 1);
}

/* An exact query: one GROUP BY per day file. */
static int hist_day_sql(struct walk *w, struct sq_conn *c, struct store_histogram *h,
                        const char *sql, struct bl_err *err)
{
    const struct store_event_query *q = w->q;
    int64_t fixed[7] = { q->project_id, q->since,    q->until,   h->start,
                         q->kind,       q->issue_id, h->interval };
    sqlite3_stmt *st = NULL;
    int src;

    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_fail(c, "histogram", err);
    if (bind_all(w, st, fixed) != 0) {
        sqlite3_finalize(st);
        return sq_fail(c, "histogram: bind", err);
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        hist_add(h, h->start + sqlite3_column_int64(st, 0) * h->interval, sqlite3_column_int(st, 1),
                 sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? 0 : sq_fail(c, "histogram", err);
}

static int hist_exact(struct walk *w, struct store_histogram *h, struct pool *pool,
                      struct bl_err *err)
{
    struct buf b = BUF_INIT(SEARCH_SQL_MAX * 2);
    int64_t *days = NULL;
    size_t nd = 0;
    const char *sql;
    int rc;

    buf_addstr(&b, "SELECT (e.timestamp - ?4) / ?7, e.level, count(*) FROM events e"
                   " WHERE e.project_id = ?1 AND e.timestamp >= ?2 AND e.timestamp < ?3");
    add_filters(w, &b);
    buf_addstr(&b, " GROUP BY 1, 2");
    sql = pool_strndup(pool, b.p, b.len);
    buf_release(&b);
    rc = sq_part_list(w->s, &days, &nd, err);
    for (size_t i = 0; rc == 0 && i < nd; i++) {
        struct sq_conn *c = NULL;

        if (days[i] > w->hi_day || days[i] < w->lo_day)
            continue;
        rc = sq_part_reader_get(w->s, days[i], &c, err);
        if (rc == BL_ENOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0)
            rc = hist_day_sql(w, c, h, sql, err);
        sq_part_reader_put(w->s, c);
    }
    free(days);
    return rc;
}

/* The log lines' part of a histogram, day file by day file. */
static int hist_lines_day(struct walk *w, struct sq_conn *c, int64_t day, struct bl_err *err)
{
    struct sq_lq lq;
    int rc;

    lines_query(w, day, &lq);
    rc = sq_lines_hist(c, &lq, w->ctx, err);
    w->scanned += lq.scanned;
    return rc;
}

int sq_event_histogram(struct store *st, const struct store_event_query *q0,
                       struct store_histogram *h, struct bl_err *err)
{
    struct store_event_query q = *q0;
    struct walk w;
    struct pool pool;
    int rc;

    if (h->interval <= 0 || h->nbuckets < 1 || h->nbuckets > STORE_HIST_MAX || h->counts == NULL)
        return bl_err_set(err, BL_EINVAL, "histogram: 1..%d buckets", STORE_HIST_MAX);
    memset(h->counts, 0, h->nbuckets * EV__NLEVELS * sizeof(*h->counts));
    /* The buckets are the time range. */
    q.since = h->start;
    q.until = h->start + (int64_t)h->nbuckets * h->interval;
    q.with_raw = 0;
    pool_init(&pool, 4096);
    rc = walk_init(&w, sq_of(st), &q, &pool, err);
    if (rc == 0 && w.exact) {
        rc = hist_exact(&w, h, &pool, err);
    } else if (rc == 0) {
        w.sql = row_sql(&w, &pool, 0);
        w.sql_fts = row_sql(&w, &pool, 1);
        w.row = hist_row;
        w.ctx = h;
        rc = walk_days(&w, err);
    }
    if (rc == 0 && w.lines) {
        w.ctx = h;
        w.day = hist_lines_day;
        rc = walk_days(&w, err);
    }
    walk_free(&w);
    pool_release(&pool);
    return rc;
}
