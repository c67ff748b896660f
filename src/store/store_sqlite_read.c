/*
 * store_sqlite_read.c - issue and event listings and lookups.
 *
 * Listings are keyset-paginated: a page asks for limit + 1 rows, and only
 * when the extra row exists does it hand out a cursor naming the last row
 * returned, so an empty next_cursor means "no more". Issue cursors are
 * "<sort value>.<id>", event cursors "<timestamp>.<day>.<id>": a day file
 * holds exactly the events whose timestamp falls on that UTC day, so
 * walking the day files newest first and each one by (timestamp, id)
 * descending gives one global order, and the next page starts in the
 * cursor's day at the cursor's row.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define LIMIT_MAX 1000
#define HOURLY_MAX 100000

/* Issues. */

#define ISSUE_SELECT                                                                               \
    "SELECT id, project_id, fingerprint, grouping_version, title, culprit, level, status,"         \
    " first_seen, last_seen, times_seen, first_release, last_release, rules_version,"              \
    " resolved_in_release FROM issues"

/* ?1 project, ?2 status (any: -1), ?3/?4 keyset (sort value, id), ?5 limit. */
#define ISSUE_PAGE(col, status)                                                                    \
    ISSUE_SELECT " WHERE project_id = ?1 AND " status " AND " col " <= ?3 AND (" col               \
                 " < ?3 OR id < ?4) ORDER BY " col " DESC, id DESC LIMIT ?5"

static const char q_last[] = ISSUE_PAGE("last_seen", "status = ?2");
static const char q_last_any[] = ISSUE_PAGE("last_seen", "?2 < 0");
static const char q_first[] = ISSUE_PAGE("first_seen", "status = ?2");
static const char q_first_any[] = ISSUE_PAGE("first_seen", "?2 < 0");
static const char q_count[] = ISSUE_PAGE("times_seen", "status = ?2");
static const char q_count_any[] = ISSUE_PAGE("times_seen", "?2 < 0");

/* [sort][any status] */
static const char *const issue_pages[3][2] = {
    { q_last, q_last_any },
    { q_first, q_first_any },
    { q_count, q_count_any },
};

static void read_issue(struct pool *pool, sqlite3_stmt *st, struct store_issue *is)
{
    const char *title;

    memset(is, 0, sizeof(*is));
    is->id = sqlite3_column_int64(st, 0);
    is->project_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, is->fingerprint, sizeof(is->fingerprint));
    is->grouping_version = sqlite3_column_int(st, 3);
    title = sq_col_str(pool, st, 4);
    is->title = title != NULL ? title : "";
    is->culprit = sq_col_str(pool, st, 5);
    is->level = sqlite3_column_int(st, 6);
    is->status = sqlite3_column_int(st, 7);
    is->first_seen = sqlite3_column_int64(st, 8);
    is->last_seen = sqlite3_column_int64(st, 9);
    is->times_seen = sqlite3_column_int64(st, 10);
    is->first_release = sq_col_str(pool, st, 11);
    is->last_release = sq_col_str(pool, st, 12);
    is->rules_version = sqlite3_column_int(st, 13);
    is->resolved_in_release = sq_col_str(pool, st, 14);
}

/* Parses "a.b" or "a.b.c" (nv numbers) strictly: digits and an optional '-' only. */
static int parse_cursor(const char *s, int64_t *v, size_t nv)
{
    size_t i;

    for (i = 0; i < nv; i++) {
        char *end = NULL;
        long long x;

        if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '-'))
            return BL_EINVAL;
        errno = 0;
        x = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != (i + 1 < nv ? '.' : '\0'))
            return BL_EINVAL;
        v[i] = x;
        s = end + 1;
    }
    return 0;
}

static int64_t issue_sort_value(const struct store_issue *is, int sort)
{
    if (sort == STORE_SORT_FIRST_SEEN)
        return is->first_seen;
    if (sort == STORE_SORT_COUNT)
        return is->times_seen;
    return is->last_seen;
}

static int check_issue_query(const struct store_issue_query *q, int64_t key[2], struct bl_err *err)
{
    key[0] = INT64_MAX;
    key[1] = INT64_MAX;
    if (q->limit < 1 || q->limit > LIMIT_MAX)
        return bl_err_set(err, BL_EINVAL, "limit must be 1..%d", LIMIT_MAX);
    if (q->sort < STORE_SORT_LAST_SEEN || q->sort > STORE_SORT_COUNT)
        return bl_err_set(err, BL_EINVAL, "bad issue sort %d", q->sort);
    if (q->status < STORE_ISSUE_ANY || q->status > STORE_ISSUE_IGNORED)
        return bl_err_set(err, BL_EINVAL, "bad issue status %d", q->status);
    if (q->cursor != NULL && q->cursor[0] != '\0' && parse_cursor(q->cursor, key, 2) != 0)
        return bl_err_set(err, BL_EINVAL, "bad cursor");
    return 0;
}

/* Issues read into a caller's array (up to cap) or one issue (cap 1). */
struct issue_rows {
    struct pool *pool;
    struct store_issue *v;
    size_t n, cap;
};

static int issue_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct issue_rows *r = ctx;

    (void)err;
    read_issue(r->pool, st, &r->v[r->n++]);
    return r->n < r->cap ? 0 : 1;
}

/* One page of a checked query, limit + 1 rows at most (the extra one means "more"). */
static int run_issue_page(struct sq_store *s, const struct store_issue_query *q,
                          const int64_t key[2], struct issue_rows *r, struct bl_err *err)
{
    struct sq_query sq = { issue_pages[q->sort][q->status == STORE_ISSUE_ANY],
                           "list issues",
                           { SQ_INT(q->project_id), SQ_INT(q->status), SQ_INT(key[0]),
                             SQ_INT(key[1]), SQ_INT(q->limit + 1) },
                           5,
                           issue_row,
                           r };

    return sq_read_each(s, &sq, err);
}

/*
 * The same page with q's filters (store_sqlite_seen.c) spliced in before
 * its ORDER BY: a statement of its own, prepared for this call only.
 */
static int run_filtered_page(struct sq_store *s, const struct store_issue_query *q,
                             const int64_t key[2], struct issue_rows *r, struct pool *pool,
                             struct bl_err *err)
{
    const char *base = issue_pages[q->sort][q->status == STORE_ISSUE_ANY];
    const char *order = strstr(base, " ORDER BY");
    size_t cap = 5 + STORE_SEEN_FILTERS_MAX * STORE_SEEN_VALUES_MAX, nargs = 5;
    struct sq_arg *args = pool_calloc(pool, cap, sizeof(*args));
    struct buf sql = BUF_INIT(1u << 20);
    struct sq_conn *c = NULL;
    sqlite3_stmt *st = NULL;
    int rc, step = SQLITE_DONE;

    args[0] = (struct sq_arg)SQ_INT(q->project_id);
    args[1] = (struct sq_arg)SQ_INT(q->status);
    args[2] = (struct sq_arg)SQ_INT(key[0]);
    args[3] = (struct sq_arg)SQ_INT(key[1]);
    args[4] = (struct sq_arg)SQ_INT(q->limit + 1);
    buf_add(&sql, base, (size_t)(order - base));
    rc = sq_seen_where(q, pool, &sql, args, &nargs, cap, err);
    buf_addstr(&sql, order);
    if (rc == 0)
        rc = sq_reader_get(s, &c, err);
    if (rc == 0 && (sqlite3_prepare_v2(c->db, sql.p, -1, &st, NULL) != SQLITE_OK ||
                    sq_bind_args(st, args, nargs) != SQLITE_OK))
        rc = sq_fail(c, "list issues", err);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = issue_row(st, r, err);
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(c, "list issues", err);
    sqlite3_finalize(st);
    sq_reader_put(s, c);
    buf_release(&sql);
    return rc > 0 ? 0 : rc;
}

int sq_issue_list(struct store *st, const struct store_issue_query *q, struct pool *pool,
                  struct store_issue **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                  struct bl_err *err)
{
    struct issue_rows r = { pool, NULL, 0, q->limit + 1 };
    struct store_issue *v;
    int64_t key[2];
    size_t nv;
    int rc;

    *out = NULL;
    *n = 0;
    next_cursor[0] = '\0';
    rc = check_issue_query(q, key, err);
    if (rc != 0)
        return rc;
    v = r.v = pool_calloc(pool, q->limit + 1, sizeof(*v));
    if (q->nseen > 0)
        rc = run_filtered_page(sq_of(st), q, key, &r, pool, err);
    else
        rc = run_issue_page(sq_of(st), q, key, &r, err);
    if (rc != 0)
        return rc;
    nv = r.n;
    if (nv > q->limit) {
        nv = q->limit;
        snprintf(next_cursor, STORE_CURSOR_MAX, "%lld.%lld",
                 (long long)issue_sort_value(&v[nv - 1], q->sort), (long long)v[nv - 1].id);
    }
    *out = v;
    *n = nv;
    return 0;
}

int sq_issue_get(struct store *st, int64_t issue_id, struct pool *pool, struct store_issue *out,
                 struct bl_err *err)
{
    static const char sql[] = ISSUE_SELECT " WHERE id = ?1";
    struct issue_rows r = { pool, out, 0, 1 };
    struct sq_query q = { sql, "issue", { SQ_INT(issue_id) }, 1, issue_row, &r };

    return sq_read_one(sq_of(st), &q, err);
}

static int64_t hour_floor(int64_t us)
{
    int64_t r = us % CLOCK_US_PER_HOUR;

    return r < 0 ? us - r - CLOCK_US_PER_HOUR : us - r;
}

struct hourly {
    int64_t h0;
    size_t nhours;
    int64_t *counts;
};

static int hourly_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct hourly *h = ctx;
    int64_t i = (sqlite3_column_int64(st, 0) - h->h0) / CLOCK_US_PER_HOUR;

    (void)err;
    if (i >= 0 && (size_t)i < h->nhours)
        h->counts[i] += sqlite3_column_int64(st, 1);
    return 0;
}

int sq_issue_hourly(struct store *st, int64_t issue_id, int64_t since, size_t nhours,
                    int64_t *counts, struct bl_err *err)
{
    static const char sql[] = "SELECT hour, count FROM issue_hourly"
                              " WHERE issue_id = ?1 AND hour >= ?2 AND hour < ?3";
    struct hourly h = { hour_floor(since), nhours, counts };
    struct sq_query q = { sql,
                          "issue hourly",
                          { SQ_INT(issue_id), SQ_INT(h.h0),
                            SQ_INT(h.h0 + (int64_t)nhours * CLOCK_US_PER_HOUR) },
                          3,
                          hourly_row,
                          &h };

    if (nhours > HOURLY_MAX || (nhours > 0 && counts == NULL))
        return bl_err_set(err, BL_EINVAL, "hourly: at most %d hours", HOURLY_MAX);
    if (nhours > 0)
        memset(counts, 0, nhours * sizeof(*counts));
    return sq_read_each(sq_of(st), &q, err);
}

/* Events. */

#define EVENT_COLS SQ_EVENT_COLS

/* ?1 project, ?2 since, ?3/?4 keyset (timestamp, id), ?5 limit, ?6 issue or kind. */
#define EVENT_KEYSET                                                                               \
    " AND e.timestamp >= ?2 AND e.timestamp <= ?3 AND (e.timestamp < ?3 OR e.id < ?4)"             \
    " ORDER BY e.timestamp DESC, e.id DESC LIMIT ?5"

/* With raw: columns 18 (encoding) and 19 (raw) as in get_in_day. */
#define EVENT_FROM_0 EVENT_COLS " FROM events e"
#define EVENT_FROM_1                                                                               \
    EVENT_COLS ", r.encoding, r.raw FROM events e LEFT JOIN event_raw r ON r.id = e.id"
#define EVENT_FROM(raw) EVENT_FROM_##raw

/* [with_raw] */
static const char *const q_events[2] = {
    EVENT_FROM(0) " WHERE e.project_id = ?1" EVENT_KEYSET,
    EVENT_FROM(1) " WHERE e.project_id = ?1" EVENT_KEYSET,
};
/* "issue_id <> 0" lets the planner use the partial index on issue events. */
static const char *const q_events_issue[2] = {
    EVENT_FROM(0) " WHERE e.issue_id = ?6 AND e.issue_id <> 0 AND e.project_id = ?1" EVENT_KEYSET,
    EVENT_FROM(1) " WHERE e.issue_id = ?6 AND e.issue_id <> 0 AND e.project_id = ?1" EVENT_KEYSET,
};
static const char *const q_events_kind[2] = {
    EVENT_FROM(0) " WHERE e.project_id = ?1 AND e.kind = ?6" EVENT_KEYSET,
    EVENT_FROM(1) " WHERE e.project_id = ?1 AND e.kind = ?6" EVENT_KEYSET,
};

void sq_read_event(struct pool *pool, sqlite3_stmt *st, struct store_event *e)
{
    const char *tags;

    memset(e, 0, sizeof(*e));
    e->project_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, e->event_id, sizeof(e->event_id));
    e->timestamp = sqlite3_column_int64(st, 3);
    e->received_at = sqlite3_column_int64(st, 4);
    e->level = sqlite3_column_int(st, 5);
    e->kind = sqlite3_column_int(st, 6);
    e->issue_id = sqlite3_column_int64(st, 7);
    e->logger = sq_col_str(pool, st, 8);
    e->message = sq_col_str(pool, st, 9);
    e->title = sq_col_str(pool, st, 10);
    e->culprit = sq_col_str(pool, st, 11);
    e->release = sq_col_str(pool, st, 12);
    e->environment = sq_col_str(pool, st, 13);
    tags = sq_col_str(pool, st, 14);
    e->tags_json = tags != NULL ? tags : "[]";
    sq_col_copy(st, 15, e->fingerprint, sizeof(e->fingerprint));
    e->source = sqlite3_column_int(st, 16);
    e->template_hash = (uint64_t)sqlite3_column_int64(st, 17);
}

/* One event page being filled across day files. */
struct epage {
    const struct store_event_query *q;
    struct pool *pool;
    struct store_event *v;
    int64_t *ids;
    int64_t *days;
    size_t n;
    size_t want; /* limit + 1 */
    int64_t lo_day, hi_day;
    int64_t cur[3]; /* cursor: timestamp, day, id; day -1 without one */
};

/* The rows of one day file going into the page. */
struct day_rows {
    struct epage *pg;
    int64_t day;
    int with_raw;
};

static int page_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct day_rows *d = ctx;
    struct epage *pg = d->pg;
    struct store_event *e = &pg->v[pg->n];
    int rc = 0;

    sq_read_event(pg->pool, st, e);
    if (d->with_raw)
        rc = sq_read_raw(st, pg->pool, &e->raw, &e->raw_len, err);
    pg->ids[pg->n] = sqlite3_column_int64(st, 0);
    pg->days[pg->n++] = d->day;
    return rc != 0 ? rc : pg->n < pg->want ? 0 : 1;
}

static int page_day(struct epage *pg, struct sq_conn *c, int64_t day, struct bl_err *err)
{
    const struct store_event_query *q = pg->q;
    int wr = q->with_raw != 0;
    const char *sql = q->issue_id != 0 ? q_events_issue[wr]
                      : q->kind >= 0   ? q_events_kind[wr]
                                       : q_events[wr];
    int at_cursor = day == pg->cur[1];
    int64_t ts_hi = at_cursor ? pg->cur[0] : q->until > 0 ? q->until : INT64_MAX;
    int64_t id_hi = at_cursor ? pg->cur[2] : q->until > 0 ? 0 : INT64_MAX;
    struct day_rows d = { pg, day, wr };
    struct sq_query sq = { sql,
                           "list events",
                           { SQ_INT(q->project_id), SQ_INT(q->since > 0 ? q->since : 0),
                             SQ_INT(ts_hi), SQ_INT(id_hi), SQ_INT(pg->want - pg->n),
                             SQ_INT(q->issue_id != 0 ? q->issue_id : q->kind) },
                           sql != q_events[wr] ? 6 : 5,
                           page_row,
                           &d };

    return sq_query_each(c, &sq, err);
}

static int walk_days(struct sq_store *s, struct epage *pg, struct bl_err *err)
{
    int64_t *days = NULL;
    size_t nd = 0, i;
    int rc;

    rc = sq_part_list(s, &days, &nd, err);
    for (i = 0; rc == 0 && i < nd && pg->n < pg->want; i++) {
        struct sq_conn *c = NULL;

        if (days[i] > pg->hi_day || days[i] < pg->lo_day)
            continue;
        rc = sq_part_reader_get(s, days[i], &c, err);
        if (rc == BL_ENOTFOUND) {
            rc = 0; /* dropped since the listing */
            continue;
        }
        if (rc == 0)
            rc = page_day(pg, c, days[i], err);
        sq_part_reader_put(s, c);
    }
    free(days);
    return rc;
}

/* Narrows the walk to the days of the issue's first and last event. */
static int issue_days(struct sq_store *s, struct epage *pg, struct bl_err *err)
{
    struct store_issue is;
    int rc;

    rc = sq_issue_get(&s->base, pg->q->issue_id, pg->pool, &is, err);
    if (rc != 0)
        return rc;
    if (sq_day_of(is.first_seen) > pg->lo_day)
        pg->lo_day = sq_day_of(is.first_seen);
    if (sq_day_of(is.last_seen) < pg->hi_day)
        pg->hi_day = sq_day_of(is.last_seen);
    return 0;
}

static int init_page(struct epage *pg, const struct store_event_query *q, struct pool *pool,
                     struct bl_err *err)
{
    memset(pg, 0, sizeof(*pg));
    pg->q = q;
    pg->pool = pool;
    pg->cur[1] = -1;
    if (q->limit < 1 || q->limit > LIMIT_MAX)
        return bl_err_set(err, BL_EINVAL, "limit must be 1..%d", LIMIT_MAX);
    if (q->project_id <= 0 || q->issue_id < 0 || q->kind < -1 || q->kind > EV_KIND_ISSUE)
        return bl_err_set(err, BL_EINVAL, "bad event query");
    if (q->cursor != NULL && q->cursor[0] != '\0' &&
        (parse_cursor(q->cursor, pg->cur, 3) != 0 || pg->cur[1] < 0))
        return bl_err_set(err, BL_EINVAL, "bad cursor");
    pg->want = q->limit + 1;
    pg->lo_day = q->since > 0 ? sq_day_of(q->since) : 0;
    pg->hi_day = q->until > 0 ? sq_day_of(q->until - 1) : SQ_DAY_MAX;
    if (pg->cur[1] >= 0 && pg->cur[1] < pg->hi_day)
        pg->hi_day = pg->cur[1];
    pg->v = pool_calloc(pool, pg->want, sizeof(*pg->v));
    pg->ids = xcalloc(pg->want, sizeof(*pg->ids));
    pg->days = xcalloc(pg->want, sizeof(*pg->days));
    return 0;
}

int sq_event_list(struct store *st, const struct store_event_query *q, struct pool *pool,
                  struct store_event **out, size_t *n, char next_cursor[STORE_CURSOR_MAX],
                  struct bl_err *err)
{
    struct sq_store *s = sq_of(st);
    struct epage pg;
    int rc;

    /* Log lines live in blocks: the search path merges them with the rows. */
    if (q->query != NULL || (q->issue_id == 0 && q->kind != EV_KIND_ISSUE))
        return sq_search_list(st, q, pool, out, n, next_cursor, err);
    *out = NULL;
    *n = 0;
    next_cursor[0] = '\0';
    rc = init_page(&pg, q, pool, err);
    /* Logs have no issue: asking for the logs of an issue is an empty page. */
    if (rc == 0 && q->issue_id != 0 && q->kind == EV_KIND_LOG)
        goto out;
    if (rc == 0 && q->issue_id != 0)
        rc = issue_days(s, &pg, err);
    if (rc == 0 && (q->until <= 0 || q->until > q->since))
        rc = walk_days(s, &pg, err);
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
out:
    free(pg.ids);
    free(pg.days);
    return rc;
}

/* Payloads. */

static int inflate_gzip(const void *p, size_t len, struct pool *pool, const char **out,
                        size_t *out_len, struct bl_err *err)
{
    struct buf b = BUF_INIT(SQ_RAW_MAX);
    unsigned char chunk[65536];
    z_stream z;
    int zrc = Z_OK, rc = 0;

    memset(&z, 0, sizeof(z));
    /* 15 + 32: zlib or gzip, whichever header the client sent. */
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return bl_err_set(err, BL_ESTORE, "inflate: cannot start");
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    while (zrc == Z_OK && rc == 0) {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        zrc = inflate(&z, Z_NO_FLUSH);
        if (zrc == Z_OK || zrc == Z_STREAM_END)
            rc = buf_add(&b, chunk, sizeof(chunk) - z.avail_out);
        if (zrc == Z_OK && z.avail_in == 0 && z.avail_out != 0)
            zrc = Z_DATA_ERROR; /* truncated stream */
    }
    inflateEnd(&z);
    if (rc == 0 && zrc != Z_STREAM_END)
        rc = bl_err_set(err, BL_ESTORE, "stored gzip payload is corrupt");
    else if (rc != 0)
        rc = bl_err_set(err, rc, "stored payload too large");
    if (rc == 0) {
        *out = pool_strndup(pool, b.p, b.len);
        *out_len = b.len;
    }
    buf_release(&b);
    return rc;
}

static int unzstd(const void *p, size_t len, struct pool *pool, const char **out, size_t *out_len,
                  struct bl_err *err)
{
    unsigned long long size = ZSTD_getFrameContentSize(p, len);
    char *dst;
    size_t got;

    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
        return bl_err_set(err, BL_ESTORE, "stored zstd payload is corrupt");
    if (size > SQ_RAW_MAX)
        return bl_err_set(err, BL_ETOOBIG, "stored payload too large");
    dst = pool_alloc(pool, (size_t)size + 1);
    got = ZSTD_decompress(dst, (size_t)size, p, len);
    if (ZSTD_isError(got) || got != size)
        return bl_err_set(err, BL_ESTORE, "stored zstd payload is corrupt");
    dst[got] = '\0';
    *out = dst;
    *out_len = got;
    return 0;
}

/* Decodes columns 18 (encoding) and 19 (raw) into pool, NUL-terminated for convenience. */
int sq_raw_decode(int enc, const void *p, size_t len, struct pool *pool, const char **raw,
                  size_t *raw_len, struct bl_err *err)
{
    *raw = NULL;
    *raw_len = 0;
    if (p == NULL || len == 0)
        return 0;
    if (enc == EV_RAW_GZIP)
        return inflate_gzip(p, len, pool, raw, raw_len, err);
    if (enc == EV_RAW_ZSTD)
        return unzstd(p, len, pool, raw, raw_len, err);
    *raw = pool_strndup(pool, p, len);
    *raw_len = len;
    return 0;
}

int sq_read_raw(sqlite3_stmt *st, struct pool *pool, const char **raw, size_t *raw_len,
                struct bl_err *err)
{
    const void *p = sqlite3_column_blob(st, 19);
    size_t len = (size_t)sqlite3_column_bytes(st, 19);
    int enc = sqlite3_column_int(st, 18);

    if (enc == SQ_RAW_EXTERNAL) {
        const char *q;
        int rc = sq_rawfile_read(sqlite3_db_handle(st), p, len, pool, &q, &len, &enc, err);

        if (rc != 0)
            return rc;
        p = q;
    }
    return sq_raw_decode(enc, p, len, pool, raw, raw_len, err);
}

/* Where event_get puts the row it finds. */
struct event_out {
    struct pool *pool;
    struct store_event *out;
    const char **raw;
    size_t *raw_len;
};

static int event_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct event_out *o = ctx;

    sq_read_event(o->pool, st, o->out);
    return o->raw != NULL ? sq_read_raw(st, o->pool, o->raw, o->raw_len, err) : 0;
}

static int get_in_day(struct sq_conn *c, int64_t project_id, const char *event_id,
                      struct event_out *o, struct bl_err *err)
{
    static const char sql[] = EVENT_COLS ", r.encoding, r.raw FROM events e"
                                         " LEFT JOIN event_raw r ON r.id = e.id"
                                         " WHERE e.project_id = ?1 AND e.event_id = ?2";
    struct sq_query q = { sql, "get event", { SQ_INT(project_id), SQ_TEXT(event_id) },
                          2,   event_row,   o };

    return sq_query_one(c, &q, err);
}

int sq_event_get(struct store *st, int64_t project_id, const char *event_id, struct pool *pool,
                 struct store_event *out, const char **raw, size_t *raw_len, struct bl_err *err)
{
    struct sq_store *s = sq_of(st);
    int64_t *days = NULL;
    size_t nd = 0, i, dummy_len;
    struct event_out o = { pool, out, raw, raw_len != NULL ? raw_len : &dummy_len };
    int rc;

    if (event_id == NULL || strlen(event_id) > 32)
        return bl_err_set(err, BL_EINVAL, "bad event id");
    rc = sq_part_list(s, &days, &nd, err);
    if (rc != 0)
        return rc;
    rc = BL_ENOTFOUND;
    for (i = 0; i < nd && rc == BL_ENOTFOUND; i++) {
        struct sq_conn *c = NULL;

        rc = sq_part_reader_get(s, days[i], &c, err);
        if (rc == 0)
            rc = get_in_day(c, project_id, event_id, &o, err);
        if (rc == BL_ENOTFOUND && c != NULL) {
            rc = sq_lines_get(c, project_id, event_id, pool, out, err);
            if (rc == 0 && raw != NULL) {
                *raw = out->raw;
                *o.raw_len = out->raw_len;
            }
        }
        sq_part_reader_put(s, c);
    }
    free(days);
    if (rc == BL_ENOTFOUND)
        return bl_err_set(err, BL_ENOTFOUND, "no event %s", event_id);
    return rc;
}
