/*
 * test_logs_prep.c - log blocks prepared on the decode threads
 * (store_sqlite_logs_prep.c) against the blocks the writer builds itself.
 *
 * Every batch is written into two stores: A with what store_prepare made
 * of it (store_write_prepared), B without (store_write_batch, the writer's
 * own path, the reference). The day files must then hold the same bytes:
 * blocks with their blobs and line numbers, fields, the word postings
 * (segments and pages; and log_fts, term by line through fts5vocab, for
 * files from before them), per-minute counts, client ids,
 * retired lines, rows. Each case also checks which path A took, so a
 * prepared path that silently never ran would fail: the bench's own lines
 * and odd lines (unicode, empty fields, huge lines, tags, ids, timestamps
 * out of range, client ids) all prepared; duplicates of client ids, kinds
 * the writer decides otherwise, a crash and its replay, and a prep left
 * from another batch fall back block by block. The word postings likewise:
 * gathered ahead and copied when a run's lines are consecutive, re-encoded
 * at their line numbers when two projects' blocks interleave, gathered by
 * the writer when any block of the run was not prepared.
 */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_logs.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/ingest.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "t.h"
#include "t_store.h"

#define NODE "test-node"
#define DUMP_MAX (256u << 20)

struct pair {
    struct store *a, *b;
    char dir[2][300];
    struct store_prep *prep;
};

static const char *const dump_sql[] = {
    "SELECT project_id, node, first_line, nlines, t_min, t_max, lsn_min, lsn_max, level_mask,"
    " hex(lines), hex(frames) FROM log_blocks ORDER BY id",
    "SELECT id, hex(fields) FROM log_block_fields ORDER BY id",
    "SELECT term, doc FROM temp.vocab ORDER BY term, doc",
    "SELECT seg, project_id, base, span, nlines, level FROM log_segs ORDER BY seg",
    "SELECT id, seg, hex(tok), hex(page) FROM log_post ORDER BY id",
    "SELECT key, value FROM part_meta ORDER BY key",
    "SELECT project_id, minute, level, count FROM log_minutes ORDER BY 1, 2, 3",
    "SELECT project_id, event_id, node, lsn, seq FROM log_ids ORDER BY 1, 2",
    "SELECT line FROM log_gone ORDER BY 1",
    "SELECT id, project_id, event_id, kind, level, issue_id, lsn, seq FROM events ORDER BY id",
    "SELECT node, applied_lsn FROM part_nodes ORDER BY 1",
};

/* Every row of sql in the day file at path, appended to out as text. */
static void dump_query(sqlite3 *db, const char *sql, struct buf *out)
{
    sqlite3_stmt *st = NULL;

    CHECK_INT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    buf_addf(out, "-- %s\n", sql);
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *v = sqlite3_column_text(st, i);

            buf_addf(out, "%s%s", i ? "|" : "", v != NULL ? (const char *)v : "NULL");
        }
        buf_addch(out, '\n');
    }
    sqlite3_finalize(st);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What the day files of the store in dir hold, as text. */
static void dump_store(const char *dir, struct buf *out)
{
    char path[400], *names[64];
    size_t n = 0;
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof(path), "%s/events", dir);
    d = opendir(path);
    CHECK(d != NULL);
    while (d != NULL && (de = readdir(d)) != NULL && n < 64) {
        size_t len = strlen(de->d_name);

        if (len > 3 && strcmp(de->d_name + len - 3, ".db") == 0)
            names[n++] = strdup(de->d_name);
    }
    if (d != NULL)
        closedir(d);
    qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; i < n; i++) {
        sqlite3 *db = NULL;

        snprintf(path, sizeof(path), "%s/events/%s", dir, names[i]);
        buf_addf(out, "== %s\n", names[i]);
        CHECK_INT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        CHECK_INT_EQ(sqlite3_exec(db,
                                  "CREATE VIRTUAL TABLE temp.vocab USING"
                                  " fts5vocab(main, log_fts, instance)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
        for (size_t q = 0; q < sizeof(dump_sql) / sizeof(*dump_sql); q++)
            dump_query(db, dump_sql[q], out);
        sqlite3_close(db);
        free(names[i]);
    }
}

/* A's day files hold what B's do (and something). */
static void check_same(const struct pair *p, const char *what)
{
    struct buf a = BUF_INIT(DUMP_MAX), b = BUF_INIT(DUMP_MAX);
    size_t i = 0;

    dump_store(p->dir[0], &a);
    dump_store(p->dir[1], &b);
    while (i < a.len && i < b.len && a.p[i] == b.p[i])
        i++;
    if (i < a.len || i < b.len)
        fprintf(stderr, "%s: the stores differ at byte %zu of %zu/%zu:\nA: %.300s\nB: %.300s\n",
                what, i, a.len, b.len, a.p + (i > 100 ? i - 100 : 0),
                b.p + (i > 100 ? i - 100 : 0));
    CHECK(a.len > 1000);
    {
        /* the postings were written: a page row follows the query's header in some file */
        const char *hdr = "hex(page) FROM log_post ORDER BY id\n";
        const char *post = a.p;
        int rows = 0;

        while (!rows && (post = strstr(post, hdr)) != NULL) {
            post += strlen(hdr);
            rows = *post >= '0' && *post <= '9';
        }
        CHECK(rows);
    }
    CHECK(a.len == b.len && i == a.len);
    buf_release(&a);
    buf_release(&b);
}

static void pair_open(struct pair *p, const char *tmp)
{
    for (int i = 0; i < 2; i++) {
        struct bl_err err = { 0, "" };
        struct store **st = i == 0 ? &p->a : &p->b;

        snprintf(p->dir[i], sizeof(p->dir[i]), "%s/%c", tmp, "AB"[i]);
        CHECK_INT_EQ(store_open_sqlite(st, p->dir[i], NODE, &err), 0);
        CHECK_INT_EQ(add_project(*st, "one"), 1);
        CHECK_INT_EQ(add_project(*st, "two"), 2);
    }
    p->prep = NULL;
}

static void pair_close(struct pair *p)
{
    store_prep_free(p->a, p->prep);
    store_close(p->a);
    store_close(p->b);
}

/* A prepared (already, in p->prep) and B not; res of A's write and the return codes. */
static int write_pair(struct pair *p, struct event *ev, size_t n, uint64_t cp,
                      struct store_batch_result *ra)
{
    struct store_batch_result rb;
    struct bl_err err = { 0, "" };
    int a = store_write_prepared(p->a, ev, n, p->prep, cp, ra, &err);
    int b = store_write_batch(p->b, ev, n, cp, &rb, &err);

    CHECK_INT_EQ(a, b);
    CHECK_INT_EQ(ra->events_written, rb.events_written);
    CHECK_INT_EQ(ra->duplicates, rb.duplicates);
    CHECK_INT_EQ(rb.log_blocks_prepared, 0);
    CHECK_INT_EQ(ra->log_blocks_prepared + ra->log_blocks_built, rb.log_blocks_built);
    CHECK_INT_EQ(rb.log_posts_prepared, 0);
    CHECK_INT_EQ(ra->log_posts_prepared + ra->log_posts_built, rb.log_posts_built);
    return a;
}

static void prepare(struct pair *p, struct event *ev, size_t n)
{
    CHECK_INT_EQ(store_prepare(p->a, &p->prep, ev, n), 0);
}

/* nrec records of the bench's lines decoded as the digest does, from lsn. */
static void bench_decode(struct ingest_events *evs, size_t nrec, uint64_t lsn, struct pool *pool)
{
    struct blog_pool bp;
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct bl_err err = { 0, "" };

    memset(evs, 0, sizeof(*evs));
    CHECK_INT_EQ(blog_pool_build(&bp, nrec, 1000, 7, 1), 0);
    for (size_t r = 0; r < bp.n; r++) {
        struct ingest_meta meta = {
            INGEST_LOGS_NDJSON, INGEST_ENC_GZIP, 1, DAY1, lsn + r, "", NULL, EV_ERROR
        };

        CHECK_INT_EQ(
            ingest_decode(bp.batches[r].gz, bp.batches[r].len, &meta, &lim, pool, evs, NULL, &err),
            0);
    }
    CHECK_INT_EQ(evs->n, nrec * 1000);
    blog_pool_release(&bp);
}

static void bench_kinds(struct ingest_events *evs, struct pool *pool)
{
    for (size_t i = 0; i < evs->n; i++) {
        struct event *e = &evs->v[i];

        e->kind = e->nexc > 0 || e->level >= EV_ERROR ? EV_KIND_ISSUE : EV_KIND_LOG;
        if (e->kind == EV_KIND_ISSUE && fingerprint_is_deferred(e))
            fingerprint_event(e, pool);
    }
}

/* The bench's lines decoded as the digest does, over two days and two projects. */
static void test_bench_lines(struct pair *p, struct pool *pool)
{
    struct ingest_events evs;
    struct store_batch_result res;

    bench_decode(&evs, 3, 10, pool);
    for (size_t i = 0; i < evs.n; i++) {
        struct event *e = &evs.v[i];

        /* 22:00 on DAY1 to 02:00 on DAY2, a line in four of project 2 */
        e->timestamp = DAY1 + 22 * HOUR + (int64_t)i * 4 * HOUR / (int64_t)evs.n;
        e->project_id = i % 4 == 0 ? 2 : 1;
    }
    bench_kinds(&evs, pool);
    prepare(p, evs.v, evs.n);
    CHECK_INT_EQ(write_pair(p, evs.v, evs.n, 20, &res), 0);
    CHECK(res.log_blocks_prepared >= 4); /* 2 projects x 2 days, one of them past 1024 lines */
    CHECK_INT_EQ(res.log_blocks_built, 0);
    CHECK_INT_EQ(res.log_posts_prepared, 4); /* a segment per project and day */
    CHECK_INT_EQ(res.log_posts_built, 0);
    check_same(p, "bench lines");
}

/*
 * Two projects' lines alternating in one day: their blocks fill in turn, so
 * neither project's lines are consecutive in the file, and each segment is
 * its gathered words re-encoded at the lines they got.
 */
static void test_interleaved(struct pair *p, struct pool *pool)
{
    struct ingest_events evs;
    struct store_batch_result res;

    bench_decode(&evs, 5, 30, pool);
    for (size_t i = 0; i < evs.n; i++) {
        evs.v[i].timestamp = DAY1 + 2 * HOUR + (int64_t)i * 1000000;
        evs.v[i].project_id = 1 + (int64_t)(i % 2);
    }
    bench_kinds(&evs, pool);
    prepare(p, evs.v, evs.n);
    CHECK_INT_EQ(write_pair(p, evs.v, evs.n, 40, &res), 0);
    CHECK(res.log_blocks_prepared >= 4);
    CHECK_INT_EQ(res.log_blocks_built, 0);
    CHECK_INT_EQ(res.log_posts_prepared, 2);
    CHECK_INT_EQ(res.log_posts_built, 0);
    check_same(p, "interleaved projects");
}

/*
 * A batch in journal order over ndays days, later lines on earlier days,
 * two projects alternating: 2 * ndays (project, day) runs, put in order by
 * a split of the batch (prepare's collect) up to its limit of groups, by a
 * sort past it.
 */
static void test_days(struct pair *p, struct pool *pool, size_t ndays, uint64_t lsn)
{
    struct ingest_events evs;
    struct store_batch_result res;

    bench_decode(&evs, 2, lsn, pool);
    for (size_t i = 0; i < evs.n; i++) {
        size_t d = i * ndays / evs.n;

        evs.v[i].timestamp = DAY1 - (int64_t)d * 24 * HOUR + (int64_t)i * 1000;
        evs.v[i].project_id = 1 + (int64_t)(i % 2);
    }
    bench_kinds(&evs, pool);
    prepare(p, evs.v, evs.n);
    CHECK_INT_EQ(write_pair(p, evs.v, evs.n, lsn + 4, &res), 0);
    CHECK_INT_EQ(res.log_blocks_prepared, 2 * ndays);
    CHECK_INT_EQ(res.log_blocks_built, 0);
    CHECK_INT_EQ(res.log_posts_prepared, 2 * ndays);
    CHECK_INT_EQ(res.log_posts_built, 0);
    check_same(p, "days");
}

/* Whether a line's id is the one the ingest derives from its (lsn, seq). */
static void test_own_id(void)
{
    struct event e;

    memset(&e, 0, sizeof(e));
    e.lsn = UINT64_C(0x0123456789abcdef);
    e.seq = 0xfedcba98u;
    snprintf(e.event_id, sizeof(e.event_id), "0123456789abcdeffedcba9800112233");
    CHECK_INT_EQ(sq_logs_own_id(&e), 1);
    e.event_id[3] = 'A'; /* not lowercase hex */
    CHECK_INT_EQ(sq_logs_own_id(&e), 0);
    e.event_id[3] = '3';
    e.seq++;
    CHECK_INT_EQ(sq_logs_own_id(&e), 0);
    e.seq--;
    e.lsn ^= UINT64_C(1) << 63;
    CHECK_INT_EQ(sq_logs_own_id(&e), 0);
    e.lsn ^= UINT64_C(1) << 63;
    e.event_id[20] = '\0'; /* a short client id */
    CHECK_INT_EQ(sq_logs_own_id(&e), 0);
    snprintf(e.event_id, sizeof(e.event_id), "0123456789ABCDEFFEDCBA9800112233");
    CHECK_INT_EQ(sq_logs_own_id(&e), 0);
}

/* Line i of an odd batch at lsn; the odd parts point into pool. */
static void odd_line(struct event *e, size_t i, uint64_t lsn, struct pool *pool)
{
    static const char *const msgs[] = { "żółw ünïcödé 日本語 🎉 grüße", "", "GET /items 200",
                                        "Ünïcode ΣΊΣΥΦΟΣ end", "tab\there \"quoted\" \\slash" };

    mk_event(e, 1 + (int64_t)(i % 5 == 4), lsn + i / 10, (uint32_t)(i % 10),
             DAY2 + 3 * HOUR + (int64_t)i * 1000, EV_KIND_LOG, "L", (int)(i % 4) + 1);
    if (i % 3 != 0) /* an id the ingest derived (else the client's: claimed in log_ids) */
        snprintf(e->event_id, sizeof(e->event_id), "%016llx%08x%08x", (unsigned long long)e->lsn,
                 e->seq, 0u);
    e->message = msgs[i % 5];
    if (i % 11 == 0) {
        e->logger = "";
        e->environment = NULL;
        e->culprit = "";
        e->search_text = "";
    }
    if (i % 5 == 0) {
        e->trace_id = "4BF92F3577B34DA6A3CE929D0E0E4736";
        e->request_id = i % 10 == 0 ? "req-ABC_def-42" : "---";
        e->server_name = i % 20 == 0 ? "héllo-host" : "web1";
    }
    if (i % 13 == 0) {
        struct ev_tag *t = pool_alloc(pool, 2 * sizeof(*t));

        t[0] = (struct ev_tag){ "région", "eu-west-1" };
        t[1] = (struct ev_tag){ "", NULL };
        e->tags = t;
        e->ntags = 2;
    }
    if (i % 17 == 0)
        e->release = pool_strdup(pool, "release-with-a-long-name-that-is-still-fine-1.2.3");
}

/* A message of n bytes of words, and a value past the tags' cap. */
static char *big_text(struct pool *pool, size_t n, char c)
{
    char *s = pool_alloc(pool, n + 1);

    for (size_t i = 0; i < n; i++)
        s[i] = i % 8 == 7 ? ' ' : (char)(c + (char)(i % 7));
    s[n] = '\0';
    return s;
}

static void odd_batch(struct event *ev, size_t n, uint64_t lsn, struct pool *pool)
{
    for (size_t i = 0; i < n; i++)
        odd_line(&ev[(i * 7919) % n], i, lsn, pool); /* the batch out of journal order */
}

static void test_odd_lines(struct pair *p, struct pool *pool)
{
    size_t n = 2400;
    struct event *ev = calloc(n, sizeof(*ev));
    struct ev_tag *big = pool_alloc(pool, sizeof(*big));
    struct store_batch_result res;

    odd_batch(ev, n, 100, pool);
    ev[5].message = big_text(pool, 3u << 20, 'a'); /* frames close past 1 MiB */
    ev[6].raw = big_text(pool, 2u << 20, 'k');     /* a large identity payload */
    ev[6].raw_len = strlen(ev[6].raw);
    *big = (struct ev_tag){ "big", big_text(pool, SQ_TAGS_JSON_MAX + 10, 'x') };
    ev[7].tags = big; /* past the cap: no tags */
    ev[7].ntags = 1;
    ev[8].timestamp = -5; /* the received time instead */
    ev[9].timestamp = -5;
    ev[9].received_at = -7;                         /* neither: 1970 */
    ev[10].timestamp = INT64_C(999999999999999999); /* past 9999 */
    prepare(p, ev, n);
    CHECK_INT_EQ(write_pair(p, ev, n, 400, &res), 0);
    CHECK_INT_EQ(res.events_written, n);
    CHECK_INT_EQ(res.log_blocks_built, 0);
    CHECK(res.log_blocks_prepared >= 4); /* 2 of project 1, 1 of project 2, 1 in 1970 */
    check_same(p, "odd lines");

    /* A client's retry: lines whose ids are stored already fall back, the other blocks not. */
    odd_batch(ev, n, 1000, pool);
    ev[100].timestamp = ev[200].timestamp = DAY1 + HOUR; /* a day file of their own */
    prepare(p, ev, n);
    CHECK_INT_EQ(write_pair(p, ev, n, 1400, &res), 0);
    CHECK_INT_EQ(res.log_blocks_built, 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t lsn = 0;
        uint32_t seq = 0;
        int client = !sq_logs_derived_id(ev[i].event_id, &lsn, &seq) || lsn != ev[i].lsn;

        ev[i].lsn += 1000;
        if (!client || ev[i].project_id != 1 || i >= 40) /* a few of project 1's come again */
            snprintf(ev[i].event_id, sizeof(ev[i].event_id), "%016llx%08x%08x",
                     (unsigned long long)ev[i].lsn, ev[i].seq, 0u);
    }
    prepare(p, ev, n);
    CHECK_INT_EQ(write_pair(p, ev, n, 2400, &res), 0);
    CHECK(res.duplicates > 0);
    CHECK(res.log_blocks_built > 0);
    CHECK(res.log_blocks_prepared > 0);
    check_same(p, "duplicates");
    free(ev);
}

/* Kinds the writer decides otherwise than the decode thread guessed. */
static void test_kinds(struct pair *p, struct pool *pool)
{
    size_t n = 2100;
    struct event *ev = calloc(n, sizeof(*ev));
    struct store_batch_result res;

    odd_batch(ev, n, 5000, pool);
    ev[3].kind = EV_KIND_ISSUE; /* an issue the writer makes a line */
    ev[3].level = EV_ERROR;
    prepare(p, ev, n);
    ev[3].kind = EV_KIND_LOG;
    ev[1500].kind = EV_KIND_ISSUE; /* a line the writer makes an issue */
    ev[1500].title = "Boom";
    CHECK_INT_EQ(write_pair(p, ev, n, 6000, &res), 0);
    CHECK(res.log_blocks_built >= 2);
    CHECK(res.log_blocks_prepared >= 1);
    CHECK(res.log_posts_built >= 1); /* a run with a block the writer built */
    check_same(p, "kinds");
    free(ev);
}

static int crash_after(void *arg, size_t committed, size_t ndays)
{
    (void)ndays;
    return committed == *(size_t *)arg;
}

/* Day files committed, bilor.db not: the replay (with a kind changed) stores each line once. */
static void test_replay(struct pair *p, struct pool *pool)
{
    size_t n = 1500, one = 1;
    struct event *ev = calloc(n, sizeof(*ev));
    struct store_batch_result res;
    struct bl_err err = { 0, "" };

    odd_batch(ev, n, 7000, pool);
    for (size_t i = 0; i < n; i += 2)
        ev[i].timestamp -= 2 * CLOCK_US_PER_DAY; /* two day files */
    sq_set_test_hook(p->a, crash_after, &one);
    sq_set_test_hook(p->b, crash_after, &one);
    prepare(p, ev, n);
    CHECK_INT_EQ(store_write_prepared(p->a, ev, n, p->prep, 7200, &res, &err), BL_EIO);
    CHECK_INT_EQ(store_write_batch(p->b, ev, n, 7200, &res, &err), BL_EIO);
    sq_set_test_hook(p->a, NULL, NULL);
    sq_set_test_hook(p->b, NULL, NULL);
    ev[0].kind = EV_KIND_ISSUE; /* stored as a line by the crashed run: retired */
    ev[0].title = "Now an issue";
    prepare(p, ev, n);
    CHECK_INT_EQ(write_pair(p, ev, n, 7200, &res), 0);
    CHECK_INT_EQ(res.events_written, n);
    CHECK(res.log_blocks_prepared >= 1);
    check_same(p, "replay");
    free(ev);
}

/* What was prepared of one batch is never taken for another in the same memory. */
static void test_stale(struct pair *p, struct pool *pool)
{
    size_t n = 1100;
    struct event *ev = calloc(n, sizeof(*ev));
    struct store_batch_result res;

    odd_batch(ev, n, 8000, pool);
    prepare(p, ev, n);
    odd_batch(ev, n, 8200, pool);
    CHECK_INT_EQ(write_pair(p, ev, n, 8400, &res), 0);
    CHECK_INT_EQ(res.log_blocks_prepared, 0);
    CHECK(res.log_blocks_built >= 2);
    CHECK_INT_EQ(res.log_posts_prepared, 0);
    check_same(p, "stale");
    CHECK_INT_EQ(count_events(p->a, 1, 0, -1, 500), count_events(p->b, 1, 0, -1, 500));
    CHECK_INT_EQ(count_events(p->a, 2, 0, -1, 500), count_events(p->b, 2, 0, -1, 500));
    free(ev);
}

int main(void)
{
    char tmp[64];
    struct pair p;
    struct pool pool = POOL_INIT(1u << 20);

    hash_global_init();
    json_global_init();
    snprintf(tmp, sizeof(tmp), "/tmp/bilor-test-prep-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    test_own_id();
    pair_open(&p, tmp);
    test_bench_lines(&p, &pool);
    test_interleaved(&p, &pool);
    test_days(&p, &pool, 3, 50);
    test_days(&p, &pool, 12, 60);
    test_odd_lines(&p, &pool);
    test_kinds(&p, &pool);
    test_replay(&p, &pool);
    test_stale(&p, &pool);
    pair_close(&p);
    pool_release(&pool);
    if (getenv("KEEP") == NULL)
        t_rm_tree(tmp);
    return t_done();
}
