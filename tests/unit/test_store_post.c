/*
 * test_store_post.c - word postings segments in a day file
 * (store/sqlite_post.h): batches of every size from two projects whose
 * lines interleave are stored as segments and merged by the policy, and
 * then every word, prefix and phrase finds exactly the lines that a brute
 * force finds, in any line range, per project; a word's histogram (cells
 * where a segment has them, else lines) counts what the brute force counts;
 * the number of segments stays bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "search/query.h"
#include "store/sqlite_post.h"
#include "t.h"

#define T0 INT64_C(1714564805000000)
#define MAXLINES 60000

static const char *const vocab[] = { "GET",     "timeout", "Timer",  "users", "orders", "Ünïcode",
                                     "üNÏCODE", "db",      "worker", "retry", "queue",  "ok" };
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))

/* Line n of the file: its project, text, time and level. */
static int proj_of[MAXLINES + 1];
static char text_of[MAXLINES + 1][96];
static int64_t nlines_total;

static int64_t line_ts(int64_t n)
{
    return T0 + (n * 7919 % 7200) * 1000000; /* out of order, two hours */
}

static void make_line(int64_t n, int project)
{
    unsigned r = (unsigned)(n * 2654435761u);

    proj_of[n] = project;
    snprintf(text_of[n], sizeof(text_of[n]), "%s %s-%s%s", vocab[r % 4], vocab[(r >> 4) % NVOCAB],
             vocab[(r >> 8) % NVOCAB], n % 1000 == 7 ? " rareword" : "");
}

/* Stores lines [from, to) (one batch): a segment per project, base its first line. */
static void write_batch(struct sq_conn *c, int64_t from, int64_t to)
{
    struct bl_err err = { 0, "" };

    CHECK(sq_exec(c, "BEGIN", &err) == 0);
    for (int p = 1; p <= 2; p++) {
        struct lp_builder b;
        struct buf out = BUF_INIT(1u << 30), ends = BUF_INIT(1u << 20);
        struct sq_post_seg s = { 0, p, -1, 0, 0, 0 };

        lp_builder_init(&b);
        for (int64_t n = from; n < to; n++) {
            if (proj_of[n] != p)
                continue;
            if (s.base < 0)
                s.base = n;
            CHECK(lp_builder_line(&b, (uint32_t)(n - s.base), line_ts(n), (int)(n % 8)) == 0);
            CHECK(lp_builder_text(&b, text_of[n], strlen(text_of[n])) == 0);
            s.span = n - s.base + 1;
            s.nlines++;
        }
        if (s.base >= 0) {
            CHECK(lp_builder_finish(&b, &out, &ends) == 0);
            if (sq_post_write(c, &s, &out, &ends, &err) != 0) {
                fprintf(stderr, "post write: %s\n", bl_err_msg(&err));
                CHECK(0);
            }
        }
        lp_builder_release(&b);
        buf_release(&out);
        buf_release(&ends);
    }
    CHECK(sq_exec(c, "COMMIT", &err) == 0);
}

/* Brute force: does line n hold every word of w (the last as a prefix when w->prefix)? */
struct probe {
    const struct sq_post_words *w;
    size_t i;
    int found;
};

static int probe_word(void *arg, const char *word, size_t n)
{
    struct probe *p = arg;
    char f[LP_TOKEN_MAX];
    size_t len = query_fold_word(word, n, f, sizeof(f));
    int last = p->i == p->w->n - 1;

    len = len < sizeof(f) ? len : sizeof(f);
    if (p->w->prefix && last
            ? len >= p->w->len[p->i] && !memcmp(f, p->w->tok[p->i], p->w->len[p->i])
            : len == p->w->len[p->i] && !memcmp(f, p->w->tok[p->i], len))
        p->found = 1;
    return 0;
}

static int brute(int64_t n, const struct sq_post_words *w)
{
    for (size_t i = 0; i < w->n; i++) {
        struct probe p = { w, i, 0 };

        query_words(text_of[n], strlen(text_of[n]), probe_word, &p);
        if (!p.found)
            return 0;
    }
    return 1;
}

struct got {
    int64_t *v;
    size_t n;
};

static int got_line(void *arg, int64_t line)
{
    struct got *g = arg;

    if (g->n < MAXLINES)
        g->v[g->n++] = line;
    return 0;
}

static void check_query(struct sq_conn *c, const char *q, int prefix, int64_t lo, int64_t hi)
{
    struct sq_post_words w;
    struct bl_err err = { 0, "" };
    struct got g = { malloc(sizeof(int64_t) * MAXLINES), 0 };

    CHECK(sq_post_words(q, strlen(q), prefix, &w) == 0);
    for (int p = 1; p <= 2; p++) {
        size_t k = 0;
        int ok = 1;

        g.n = 0;
        CHECK(sq_post_lines(c, p, &w, lo, hi, got_line, &g, &err) == 0);
        for (int64_t n = lo < 0 ? 0 : lo; n <= hi && n < nlines_total; n++)
            if (proj_of[n] == p && brute(n, &w))
                ok = ok && k < g.n && g.v[k++] == n;
        if (!ok || k != g.n) {
            fprintf(stderr, "query %s%s project %d [%lld, %lld]: %zu lines, want %zu\n", q,
                    prefix ? "*" : "", p, (long long)lo, (long long)hi, g.n, k);
            CHECK(0);
        } else {
            CHECK(1);
        }
    }
    free(g.v);
}

/* A histogram: counts per (minute, level) from cells and lines. */
#define HMIN 200
struct hist {
    uint64_t count[HMIN][8];
    int64_t minute0;
    int bad;
};

static void hist_add(struct hist *h, int64_t minute, int level, uint64_t n)
{
    int64_t i = minute - h->minute0;

    if (i < 0 || i >= HMIN || level < 0 || level > 7)
        h->bad = 1;
    else
        h->count[i][level] += n;
}

static void got_cell(void *arg, const struct lp_cell *cell)
{
    hist_add(arg, cell->minute, cell->level, cell->count);
}

static int got_hist_line(void *arg, int64_t line)
{
    hist_add(arg, line_ts(line) / 60000000, (int)(line % 8), 1);
    return 0;
}

static void check_hist(struct sq_conn *c, const char *word)
{
    static struct hist got, want;
    struct sq_post_words w;
    struct bl_err err = { 0, "" };

    memset(&got, 0, sizeof(got));
    memset(&want, 0, sizeof(want));
    got.minute0 = want.minute0 = T0 / 60000000;
    CHECK(sq_post_words(word, strlen(word), 0, &w) == 0);
    CHECK(sq_post_hist(c, 1, &w, got_cell, got_hist_line, &got, &err) == 0);
    for (int64_t n = 0; n < nlines_total; n++)
        if (proj_of[n] == 1 && brute(n, &w))
            hist_add(&want, line_ts(n) / 60000000, (int)(n % 8), 1);
    CHECK(!got.bad && !want.bad);
    CHECK(memcmp(got.count, want.count, sizeof(got.count)) == 0);
}

static int64_t count_rows(struct sq_conn *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int main(void)
{
    /* batch sizes: a trickle, then bursts, then a trickle again */
    static const int64_t sizes[] = { 1, 1, 2, 3,   1, 5, 8,   13,  1,    1,    1,     1,
                                     1, 1, 1, 1,   1, 1, 400, 600, 1200, 9000, 20000, 3,
                                     1, 1, 2, 700, 1, 1, 1,   1,   1,    1,    1,     1,
                                     1, 1, 1, 1,   1, 1, 1,   1,   1,    50 };
    char path[] = "/tmp/bilor-test-post-XXXXXX";
    struct sq_conn *c = NULL;
    struct bl_err err = { 0, "" };
    int fd = mkstemp(path);
    int64_t n = 1; /* line numbers start at 1, as in a day file */

    CHECK(hash_global_init() == 0);
    CHECK(fd >= 0);
    close(fd);
    CHECK(sq_conn_open(path, SQ_OPEN_CREATE, &c, &err) == 0);
    CHECK(sq_migrate_part(c, &err) == 0); /* the day file's tables, log_segs and log_post too */
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && n < MAXLINES; i++) {
        int64_t from = n;

        for (int64_t k = 0; k < sizes[i] && n < MAXLINES; k++, n++)
            make_line(n, (n / 3) % 5 == 0 ? 2 : 1); /* runs of project 2 between project 1 */
        nlines_total = n;
        write_batch(c, from, n);
    }
    /* with the levels of 8x, at most 7 segments a level remain below the top */
    CHECK(count_rows(c, "SELECT count(*) FROM log_segs WHERE project_id = 1") <= 7 * 4 + 1);
    CHECK(count_rows(c, "SELECT count(*) FROM log_segs WHERE level > 0") > 0); /* merges ran */
    check_query(c, "get", 0, 0, INT64_MAX - 1);
    check_query(c, "rareword", 0, 0, INT64_MAX - 1);
    check_query(c, "UNICODE", 0, 0, INT64_MAX - 1);
    check_query(c, "ünïcode", 0, 1000, 31000);
    check_query(c, "tim", 1, 0, INT64_MAX - 1); /* timeout and timer */
    check_query(c, "ti", 1, 17, 35000);
    check_query(c, "zzz", 1, 0, INT64_MAX - 1);
    check_query(c, "nosuchword", 0, 0, INT64_MAX - 1);
    check_query(c, "users-orders", 0, 0, INT64_MAX - 1); /* both words, any order */
    check_query(c, "db retry", 0, 20000, 20000 + 999);
    check_query(c, "timeout", 0, 33000, 32000); /* an empty range */
    check_hist(c, "get");
    check_hist(c, "rareword");
    check_hist(c, "Ünïcode");
    if (getenv("POST_DUMP") != NULL)
        sqlite3_exec(c->db, "SELECT 1", NULL, NULL, NULL), printf("%s\n", path);
    sq_conn_close(c);
    if (getenv("POST_DUMP") == NULL)
        unlink(path);
    return t_done();
}
