/*
 * store_sqlite_logs_post.c - word postings segments (store/logpost.h) in a
 * day file: stored, merged and read.
 *
 * DESIGN
 * A segment holds one project's postings of the lines [base, base + span)
 * of the file; log_segs has a row per segment, log_post a row per page,
 * keyed by the page's first token, so a word is one index seek per segment.
 * A fresh segment is what one batch wrote, so at a low rate segments are
 * small and many; they are merged as a binary counter with base 8 merges:
 * a segment has a level (fresh: by its lines, LP levels of 8x), and
 * whenever the project's newest POST_FANIN segments share a level they
 * become one of the next level. Levels never increase towards the newest
 * segment (a fresh segment bigger than the newest ones first takes those
 * into one of its own level), so a merge always reads consecutive
 * segments, whose ordinals ascend from one to the next as lp_merge needs.
 * A project then has at most POST_FANIN - 1 segments per level below
 * POST_LEVEL_TOP; segments of the top level are never merged (their span
 * would pass LP_LINES_MAX).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "search/query.h"
#include "store/logblock.h"
#include "store/logpost.h"
#include "store/sqlite_int.h"
#include "store/sqlite_post.h"
#include "core/banned.h"

#define POST_FANIN 8     /* segments of one level merged at once */
#define POST_LEVEL_TOP 4 /* segments of this level are not merged */

/* A fresh segment's level: 0 under 512 lines, then one more for every 8x. */
static int level_of(int64_t nlines)
{
    int level = 0;

    for (int64_t n = 512; nlines >= n && level < POST_LEVEL_TOP; n *= 8)
        level++;
    return level;
}

/* ---- writing ---- */

static int put_pages(struct sq_conn *c, int64_t seg, const struct buf *pages,
                     const struct buf *ends, struct bl_err *err)
{
    static const char sql[] = "INSERT INTO log_post(seg, tok, page) VALUES(?1, ?2, ?3)";
    const size_t *end = (const size_t *)ends->p;
    size_t n = ends->len / sizeof(size_t), from = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; from = end[i++]) {
        const unsigned char *p = (const unsigned char *)pages->p + from;
        struct lp_entry first;

        if (lp_entry_next(&p, p + (end[i] - from), &first) != 1)
            return bl_err_set(err, BL_EPARSE, "log postings: an empty page");
        {
            struct sq_query q = { sql,
                                  "write log postings",
                                  { SQ_INT(seg), SQ_BLOB(first.tok, first.toklen),
                                    SQ_BLOB(pages->p + from, end[i] - from) },
                                  3,
                                  NULL,
                                  NULL };

            rc = sq_query_each(c, &q, err);
        }
    }
    return rc;
}

static int put_seg(struct sq_conn *c, const struct sq_post_seg *s, const struct buf *pages,
                   const struct buf *ends, struct bl_err *err)
{
    static const char sql[] = "INSERT INTO log_segs(project_id, base, span, nlines, level)"
                              " VALUES(?1, ?2, ?3, ?4, ?5)";
    struct sq_query q = { sql,
                          "write log segment",
                          { SQ_INT(s->project_id), SQ_INT(s->base), SQ_INT(s->span),
                            SQ_INT(s->nlines), SQ_INT(s->level) },
                          5,
                          NULL,
                          NULL };
    int rc = sq_query_each(c, &q, err);

    return rc != 0 ? rc : put_pages(c, sqlite3_last_insert_rowid(c->db), pages, ends, err);
}

/* The project's segments, newest first. */
struct segs {
    struct sq_post_seg *s;
    size_t n, cap;
};

static int seg_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct segs *v = ctx;
    struct sq_post_seg *s;

    (void)err;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->s = xrealloc(v->s, v->cap * sizeof(*v->s));
    }
    s = &v->s[v->n++];
    s->seg = sqlite3_column_int64(st, 0);
    s->project_id = sqlite3_column_int64(st, 1);
    s->base = sqlite3_column_int64(st, 2);
    s->span = sqlite3_column_int64(st, 3);
    s->nlines = sqlite3_column_int64(st, 4);
    s->level = (int)sqlite3_column_int64(st, 5);
    return 0;
}

static int newest_segs(struct sq_conn *c, int64_t project_id, struct segs *v, struct bl_err *err)
{
    static const char sql[] = "SELECT seg, project_id, base, span, nlines, level FROM log_segs"
                              " WHERE project_id = ?1 ORDER BY base DESC LIMIT ?2";
    struct sq_query q = {
        sql, "log segments", { SQ_INT(project_id), SQ_INT(POST_FANIN * POST_LEVEL_TOP) },
        2,   seg_row,        v
    };

    v->n = 0;
    return sq_query_each(c, &q, err);
}

/* The pages of one segment, in token order, copied. */
struct pages {
    unsigned char **page;
    size_t *len;
    size_t n, cap;
};

static int page_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct pages *p = ctx;
    size_t len = (size_t)sqlite3_column_bytes(st, 0);

    (void)err;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->page = xrealloc(p->page, p->cap * sizeof(*p->page));
        p->len = xrealloc(p->len, p->cap * sizeof(*p->len));
    }
    p->page[p->n] = xmalloc(len + 1);
    memcpy(p->page[p->n], sqlite3_column_blob(st, 0), len);
    p->len[p->n++] = len;
    return 0;
}

static void pages_free(struct pages *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->page[i]);
    free(p->page);
    free(p->len);
    memset(p, 0, sizeof(*p));
}

static int drop_seg(struct sq_conn *c, int64_t seg, struct bl_err *err)
{
    static const char pages_sql[] = "DELETE FROM log_post WHERE seg = ?1";
    static const char seg_sql[] = "DELETE FROM log_segs WHERE seg = ?1";
    struct sq_query q = { pages_sql, "drop log postings", { SQ_INT(seg) }, 1, NULL, NULL };
    int rc = sq_query_each(c, &q, err);

    q.sql = seg_sql;
    return rc != 0 ? rc : sq_query_each(c, &q, err);
}

/*
 * A merge counts the cells of a word whose parts had none (fewer than
 * LP_CELLS_MIN lines in each batch) from its lines' times, read from the
 * blocks' lines blobs of the merged range, up to this many lines.
 */
#define META_LINES_MAX ((int64_t)1 << 22)

struct metaload {
    int64_t base;
    int64_t *minute;
    unsigned char *level;
    size_t n;
};

static int meta_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct metaload *m = ctx;
    int64_t first = sqlite3_column_int64(st, 0), nlines = sqlite3_column_int64(st, 1);
    struct lb_lines ln;

    if (lb_lines_open(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                      (size_t)nlines, &ln) != 0)
        return bl_err_set(err, BL_EPARSE, "log block %lld: corrupt lines", (long long)first);
    for (size_t i = 0; i < ln.n; i++) {
        int64_t o = first + (int64_t)i - m->base;

        if (o >= 0 && (size_t)o < m->n) {
            m->minute[o] = lp_minute(lb_lines_ts(&ln, i));
            m->level[o] = (unsigned char)lb_lines_level(&ln, i);
        }
    }
    return 0;
}

/* The times and levels of the project's lines in [base, base + span), or none when too many. */
static int meta_load(struct sq_conn *c, int64_t project_id, int64_t base, int64_t span,
                     struct metaload *m, struct bl_err *err)
{
    static const char sql[] = "SELECT first_line, nlines, lines FROM log_blocks"
                              " WHERE project_id = ?1 AND first_line >= ?2 AND first_line < ?3";
    struct sq_query q = { sql,
                          "log lines of a merge",
                          { SQ_INT(project_id), SQ_INT(base), SQ_INT(base + span) },
                          3,
                          meta_row,
                          m };

    memset(m, 0, sizeof(*m));
    if (span <= 0 || span > META_LINES_MAX)
        return 0;
    m->base = base;
    m->n = (size_t)span;
    m->minute = xcalloc(m->n, sizeof(*m->minute));
    m->level = xmalloc(m->n);
    memset(m->level, 0xff, m->n); /* not known */
    return sq_query_each(c, &q, err);
}

/* Merges s[0..n) (oldest first, consecutive) into one segment of level. */
static int merge_segs(struct sq_conn *c, const struct sq_post_seg *s, size_t n, int level,
                      struct bl_err *err)
{
    static const char sql[] = "SELECT page FROM log_post WHERE seg = ?1 ORDER BY tok";
    struct pages pg[LP_MERGE_MAX];
    struct lp_src src[LP_MERGE_MAX];
    struct buf out = BUF_INIT((size_t)1 << 31), ends = BUF_INIT((size_t)1 << 24);
    struct sq_post_seg m = { 0, s[0].project_id, s[0].base, 0, 0, level };
    struct metaload meta = { 0, NULL, NULL, 0 };
    struct lp_meta lm;
    int rc = 0;

    memset(pg, 0, sizeof(pg));
    memset(src, 0, sizeof(src)); /* gcc -O2 with the sanitizers cannot tell n > 0 */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct sq_query q = { sql, "read log postings", { SQ_INT(s[i].seg) }, 1, page_row, &pg[i] };

        rc = sq_query_each(c, &q, err);
        src[i] = (struct lp_src){ (const unsigned char *const *)pg[i].page, pg[i].len, pg[i].n,
                                  (uint32_t)(s[i].base - m.base) };
        m.span = s[i].base + s[i].span - m.base;
        m.nlines += s[i].nlines;
    }
    if (rc == 0)
        rc = meta_load(c, m.project_id, m.base, m.span, &meta, err);
    lm = (struct lp_meta){ meta.minute, meta.level, meta.n };
    if (rc == 0 && lp_merge(src, n, meta.n > 0 ? &lm : NULL, &out, &ends) != 0)
        rc = bl_err_set(err, BL_EPARSE, "log postings: cannot merge segments");
    free(meta.minute);
    free(meta.level);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = drop_seg(c, s[i].seg, err);
    if (rc == 0)
        rc = put_seg(c, &m, &out, &ends, err);
    for (size_t i = 0; i < n; i++)
        pages_free(&pg[i]);
    buf_release(&out);
    buf_release(&ends);
    return rc;
}

/*
 * Before a fresh segment of level is written: the newest segments of a
 * lower level become one of that level, so levels keep not increasing.
 */
static int lift_smaller(struct sq_conn *c, int64_t project_id, int level, struct bl_err *err)
{
    struct segs v = { NULL, 0, 0 };
    size_t k = 0;
    int rc = newest_segs(c, project_id, &v, err);

    while (rc == 0 && k < v.n && k < LP_MERGE_MAX && v.s[k].level < level)
        k++;
    if (rc == 0 && k > 0) {
        /* oldest first */
        for (size_t i = 0; i < k / 2; i++) {
            struct sq_post_seg t = v.s[i];

            v.s[i] = v.s[k - 1 - i];
            v.s[k - 1 - i] = t;
        }
        rc = merge_segs(c, v.s, k, level, err);
    }
    free(v.s);
    return rc;
}

/* While the newest POST_FANIN segments share a level below the top, they become one. */
static int cascade(struct sq_conn *c, int64_t project_id, struct bl_err *err)
{
    struct segs v = { NULL, 0, 0 };
    int rc = 0;

    for (;;) {
        size_t k = 1;

        rc = newest_segs(c, project_id, &v, err);
        if (rc != 0 || v.n < POST_FANIN || v.s[0].level >= POST_LEVEL_TOP)
            break;
        while (k < POST_FANIN && v.s[k].level == v.s[0].level)
            k++;
        if (k < POST_FANIN)
            break;
        for (size_t i = 0; i < k / 2; i++) {
            struct sq_post_seg t = v.s[i];

            v.s[i] = v.s[k - 1 - i];
            v.s[k - 1 - i] = t;
        }
        rc = merge_segs(c, v.s, k, v.s[0].level + 1, err);
        if (rc != 0)
            break;
    }
    free(v.s);
    return rc;
}

int sq_post_write(struct sq_conn *c, const struct sq_post_seg *s, const struct buf *pages,
                  const struct buf *ends, struct bl_err *err)
{
    struct sq_post_seg fresh = *s;
    int rc;

    if (ends->len == 0)
        return 0; /* no words */
    fresh.level = level_of(s->nlines);
    rc = lift_smaller(c, s->project_id, fresh.level, err);
    if (rc == 0)
        rc = put_seg(c, &fresh, pages, ends, err);
    return rc != 0 ? rc : cascade(c, s->project_id, err);
}

/* ---- reading ---- */

static int add_word(void *arg, const char *w, size_t n)
{
    struct sq_post_words *pw = arg;
    size_t len;

    if (pw->n == SQ_POST_WORDS) {
        pw->exact = 0; /* the rest are left to the caller's check */
        return 1;
    }
    len = query_fold_word(w, n, pw->tok[pw->n], LP_TOKEN_MAX);
    if (len >= LP_TOKEN_MAX) {
        len = LP_TOKEN_MAX;
        pw->exact = 0; /* a cut token may stand for longer words */
    }
    pw->len[pw->n++] = len;
    return 0;
}

int sq_post_words(const char *text, size_t len, int prefix, struct sq_post_words *w)
{
    memset(w, 0, sizeof(*w));
    w->exact = 1;
    query_words(text, len, add_word, w);
    w->prefix = prefix;
    if (w->n != 1)
        w->exact = 0; /* a phrase: the words' order is the caller's check */
    return w->n > 0 ? 0 : BL_EINVAL;
}

int sq_post_words_fts(const char *fts, struct sq_post_words *w)
{
    const char *p = fts, *q, *e;

    memset(w, 0, sizeof(*w));
    w->exact = 1;
    while ((q = strchr(p, '"')) != NULL && (e = strchr(q + 1, '"')) != NULL) {
        if (e > q + 1 && add_word(w, q + 1, (size_t)(e - q - 1)) != 0)
            break;
        p = e + 1;
    }
    w->prefix = *p == '*';
    if (w->n != 1)
        w->exact = 0;
    return w->n > 0 ? 0 : BL_EINVAL;
}

int64_t sq_post_from(struct sq_conn *c)
{
    int64_t from = sq_part_meta(c, "post_from");

    return from > 0 ? from : 0;
}

/* One segment's page that may hold tok (the last whose first token is not above it). */
struct page_of {
    unsigned char *p;
    size_t len;
};

static int page_of_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct page_of *pg = ctx;

    (void)err;
    pg->len = (size_t)sqlite3_column_bytes(st, 0);
    pg->p = xmalloc(pg->len + 1);
    memcpy(pg->p, sqlite3_column_blob(st, 0), pg->len);
    return 0;
}

/*
 * The entry of tok in segment seg: 1 with *e pointing into pg->p (free it),
 * 0 when the segment has no such token.
 */
static int find_entry(struct sq_conn *c, int64_t seg, const char *tok, size_t len,
                      struct page_of *pg, struct lp_entry *e, struct bl_err *err)
{
    static const char sql[] = "SELECT page FROM log_post WHERE seg = ?1 AND tok <= ?2"
                              " ORDER BY tok DESC LIMIT 1";
    struct sq_query q = { sql, "log postings", { SQ_INT(seg), SQ_BLOB(tok, len) },
                          2,   page_of_row,    pg };
    int rc = sq_query_each(c, &q, err);

    if (rc != 0 || pg->p == NULL)
        return rc;
    rc = lp_page_find(pg->p, pg->len, tok, len, e);
    return rc < 0 ? bl_err_set(err, BL_EPARSE, "log postings: a corrupt page") : rc;
}

/* Ordinals gathered for one word in one segment. */
struct ords {
    uint32_t *v;
    size_t n, cap;
};

static int ords_add_entry(struct ords *o, const struct lp_entry *e)
{
    struct lp_post pc;
    uint32_t ord;
    int rc;

    lp_post_open(&pc, e);
    while ((rc = lp_post_next(&pc, &ord)) == 1) {
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 256;
            o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
        }
        o->v[o->n++] = ord;
    }
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The least token above every token that starts with tok (len 0: none is). */
static size_t prefix_end(const char *tok, size_t len, char *out)
{
    memcpy(out, tok, len);
    while (len > 0 && (unsigned char)out[len - 1] == 0xff)
        len--;
    if (len > 0)
        out[len - 1] = (char)((unsigned char)out[len - 1] + 1);
    return len;
}

/* A prefix's entries may run over several pages: each page from the one that may hold it. */
static int prefix_pages(struct sq_conn *c, int64_t seg, const char *tok, size_t len,
                        struct pages *pg, struct bl_err *err)
{
    static const char start_sql[] = "SELECT tok FROM log_post WHERE seg = ?1 AND tok <= ?2"
                                    " ORDER BY tok DESC LIMIT 1";
    static const char sql[] = "SELECT page FROM log_post WHERE seg = ?1 AND tok >= ?2"
                              " AND (?4 = 0 OR tok < ?3) ORDER BY tok";
    static const unsigned char tok_none[1] = { 0 };
    char end[LP_TOKEN_MAX];
    size_t endlen = prefix_end(tok, len, end);
    struct page_of start = { NULL, 0 };
    struct sq_query q = { start_sql, "log postings", { SQ_INT(seg), SQ_BLOB(tok, len) },
                          2,         page_of_row,    &start };
    int rc = sq_query_each(c, &q, err);

    if (rc == 0) {
        q = (struct sq_query){ sql,
                               "log postings",
                               { SQ_INT(seg),
                                 SQ_BLOB(start.p != NULL ? start.p : tok_none, start.len),
                                 SQ_BLOB(end, endlen), SQ_INT((int64_t)endlen) },
                               4,
                               page_row,
                               pg };
        rc = sq_query_each(c, &q, err);
    }
    free(start.p);
    return rc;
}

/* The ordinals of word i of w in segment seg, ascending, into o. */
static int word_ords(struct sq_conn *c, int64_t seg, const struct sq_post_words *w, size_t i,
                     struct ords *o, struct bl_err *err)
{
    struct pages pg = { NULL, NULL, 0, 0 };
    struct lp_entry e;
    int rc = 0;

    o->n = 0;
    if (!(w->prefix && i == w->n - 1)) {
        struct page_of one = { NULL, 0 };

        rc = find_entry(c, seg, w->tok[i], w->len[i], &one, &e, err);
        if (rc == 1 && ords_add_entry(o, &e) < 0)
            rc = bl_err_set(err, BL_EPARSE, "log postings: a corrupt page");
        free(one.p);
        return rc < 0 ? rc : 0;
    }
    rc = prefix_pages(c, seg, w->tok[i], w->len[i], &pg, err);
    for (size_t p = 0; rc == 0 && p < pg.n; p++) {
        const unsigned char *q = pg.page[p], *end = q + pg.len[p];

        while (rc == 0 && (rc = lp_entry_next(&q, end, &e)) == 1)
            rc = e.toklen >= w->len[i] && memcmp(e.tok, w->tok[i], w->len[i]) == 0
                     ? ords_add_entry(o, &e)
                     : 0;
        rc = rc < 0 ? bl_err_set(err, BL_EPARSE, "log postings: a corrupt page") : rc;
    }
    pages_free(&pg);
    if (rc == 0 && o->n > 1) {
        size_t k = 1;

        qsort(o->v, o->n, sizeof(*o->v), cmp_u32);
        for (size_t j = 1; j < o->n; j++)
            if (o->v[j] != o->v[k - 1])
                o->v[k++] = o->v[j];
        o->n = k;
    }
    return rc;
}

/* a := a AND b (both ascending). */
static void ords_and(struct ords *a, const struct ords *b)
{
    size_t i = 0, j = 0, k = 0;

    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[k++] = a->v[i++];
            j++;
        }
    }
    a->n = k;
}

static int overlap_segs(struct sq_conn *c, int64_t project_id, int64_t lo, int64_t hi,
                        struct segs *v, struct bl_err *err)
{
    static const char sql[] = "SELECT seg, project_id, base, span, nlines, level FROM log_segs"
                              " WHERE project_id = ?1 AND base <= ?3 AND base + span > ?2"
                              " ORDER BY base";
    struct sq_query q = { sql, "log segments", { SQ_INT(project_id), SQ_INT(lo), SQ_INT(hi) },
                          3,   seg_row,        v };

    v->n = 0;
    return sq_query_each(c, &q, err);
}

int sq_post_lines(struct sq_conn *c, int64_t project_id, const struct sq_post_words *w, int64_t lo,
                  int64_t hi, sq_post_line_fn fn, void *arg, struct bl_err *err)
{
    struct segs v = { NULL, 0, 0 };
    struct ords all = { NULL, 0, 0 }, one = { NULL, 0, 0 };
    int rc = overlap_segs(c, project_id, lo, hi, &v, err);

    for (size_t s = 0; rc == 0 && s < v.n; s++) {
        rc = word_ords(c, v.s[s].seg, w, 0, &all, err);
        for (size_t i = 1; rc == 0 && all.n > 0 && i < w->n; i++) {
            rc = word_ords(c, v.s[s].seg, w, i, &one, err);
            ords_and(&all, &one);
        }
        for (size_t k = 0; rc == 0 && k < all.n; k++) {
            int64_t line = v.s[s].base + all.v[k];

            if (line >= lo && line <= hi)
                rc = fn(arg, line);
        }
    }
    free(all.v);
    free(one.v);
    free(v.s);
    return rc;
}

static int hist_cells(const struct lp_entry *e, sq_post_cell_fn fn, void *arg)
{
    struct lp_cells cc;
    struct lp_cell cell;
    int rc;

    lp_cells_open(&cc, e);
    while ((rc = lp_cells_next(&cc, &cell)) == 1)
        fn(arg, &cell);
    return rc;
}

static int hist_lines(const struct lp_entry *e, int64_t base, sq_post_line_fn fn, void *arg)
{
    struct lp_post pc;
    uint32_t ord;
    int rc;

    lp_post_open(&pc, e);
    while ((rc = lp_post_next(&pc, &ord)) == 1)
        (void)fn(arg, base + ord);
    return rc;
}

int sq_post_hist(struct sq_conn *c, int64_t project_id, const struct sq_post_words *w,
                 sq_post_cell_fn on_cell, sq_post_line_fn on_line, void *arg, struct bl_err *err)
{
    struct segs v = { NULL, 0, 0 };
    int rc;

    if (w->n != 1 || w->prefix)
        return BL_EINVAL;
    rc = overlap_segs(c, project_id, 0, INT64_MAX - 1, &v, err);
    for (size_t s = 0; rc == 0 && s < v.n; s++) {
        struct page_of one = { NULL, 0 };
        struct lp_entry e;

        rc = find_entry(c, v.s[s].seg, w->tok[0], w->len[0], &one, &e, err);
        if (rc == 1)
            rc = e.ncells > 0 ? hist_cells(&e, on_cell, arg)
                              : hist_lines(&e, v.s[s].base, on_line, arg);
        free(one.p);
        if (rc < 0)
            rc = bl_err_set(err, BL_EPARSE, "log postings: a corrupt page");
        else
            rc = 0;
    }
    free(v.s);
    return rc;
}
