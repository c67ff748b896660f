/*
 * test_logpost.c - word postings of log lines (store/logpost.h): a
 * segment's pages give every word exactly the lines that hold it, with
 * counts per minute and level for the frequent ones; a folded word matches
 * exactly when query_match says it does; merged segments say what one
 * segment of all their lines says; corrupt pages are errors, never reads
 * out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/pool.h"
#include "search/query.h"
#include "store/logpost.h"
#include "t.h"

#define T0 INT64_C(1714564805000000)
#define NLINES 5000
#define NWORDS 40

static const char *const words[NWORDS] = {
    "GET",     "get",    "POST",   "timeout",  "Timeout", "db",      "users",     "orders",
    "200",     "404",    "500",    "error",    "ERROR",   "Ünïcode", "üNÏCODE",   "Straße",
    "STRASSE", "Привет", "ПРИВЕТ", "日本語",   "x",       "a1b2c3",  "requestid", "cache",
    "miss",    "hit",    "slow",   "query",    "retry",   "ok",      "fail",      "worker",
    "queue",   "Ÿ",      "ÿ",      "zzzzzzzz", "0",       "9999",    "Σίσυφος",   "σίσυφος",
};

/* The text of line i: a few words, some twice, some rare. */
static void line_text(size_t i, char *out, size_t max)
{
    size_t n = 0;
    unsigned r = (unsigned)(i * 2654435761u);

    out[0] = '\0';
    for (int k = 0; k < 6; k++) {
        const char *w = words[(r >> (k * 5)) % (k < 3 ? 8 : NWORDS)];

        n += (size_t)snprintf(out + n, max - n, "%s%s", k ? (k % 2 ? " " : "-") : "", w);
    }
    if (i % 97 == 0) /* a long word, cut at LP_TOKEN_MAX */
        n += (size_t)snprintf(out + n, max - n, " %0100zu", i);
    /*
     * Words that end, change case or turn non-ASCII within and across the 8
     * bytes lp_builder_text scans at once, and at the cut.
     */
    if (i % 89 == 0 && n < max)
        snprintf(out + n, max - n, " %s",
                 i % 2 ? "abcdefgHIJKLMNOPqrstu0123456789xyz-ABCDEFGHabcdefgh.abcdefg\xc3\x9cnic"
                         "odeabcdefghijk"
                       : "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
                         "MNOPQRS0123 abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                         "abcdefgh\xc3\x9cXYZ 12345678 1234567 123456789");
}

static int wide; /* lines over ten days instead of an hour: cells counted by sorting */

static int64_t line_ts(size_t i)
{
    int64_t t = T0 + (int64_t)((i * 7919) % 3600) * 1000000; /* out of order, an hour */

    return wide ? t + (int64_t)(i % 10) * 86400 * 1000000 - (i % 7 == 0 ? T0 * 2 : 0) : t;
}

static int fold_eq(const char *a, const char *b)
{
    char fa[LP_TOKEN_MAX], fb[LP_TOKEN_MAX];
    size_t na = query_fold_word(a, strlen(a), fa, sizeof(fa));
    size_t nb = query_fold_word(b, strlen(b), fb, sizeof(fb));

    return na == nb && memcmp(fa, fb, na) == 0;
}

static size_t text_get(const void *doc, const char *field, struct slice *vals, size_t max)
{
    if (max == 0 || strcmp(field, "message") != 0)
        return 0;
    vals[0] = (struct slice){ doc, strlen(doc) };
    return 1;
}

/* The folded form of two words is equal exactly when query_match finds one in the other. */
static void test_fold_is_match(void)
{
    for (int i = 0; i < NWORDS; i++)
        for (int j = 0; j < NWORDS; j++) {
            struct pool pool;
            struct query_node *n = NULL;
            struct query_error err;

            pool_init(&pool, 4096);
            CHECK(query_parse(words[j], strlen(words[j]), QUERY_LOGS, &pool, &n, &err) == 0);
            if (n != NULL && fold_eq(words[i], words[j]) != query_match(n, text_get, words[i], 0)) {
                fprintf(stderr, "fold and match disagree: %s / %s\n", words[i], words[j]);
                CHECK(0);
            }
            pool_release(&pool);
        }
    CHECK(fold_eq("GET", "get"));
    CHECK(!fold_eq("Straße", "STRASSE"));     /* no full case folding, as query_match */
    CHECK(fold_eq("\xff\xfeX", "\xff\xfex")); /* invalid bytes stand for themselves */
}

/* What the builder was given, kept by brute force: per token its ordinals. */
struct want {
    char tok[LP_TOKEN_MAX];
    size_t len;
    uint32_t *ords;
    size_t n;
};

static struct want *want_tab;
static size_t nwant;

static int want_word(void *arg, const char *w, size_t n)
{
    uint32_t ord = *(uint32_t *)arg;
    char f[LP_TOKEN_MAX];
    size_t len = query_fold_word(w, n, f, sizeof(f));
    size_t i;

    len = len < sizeof(f) ? len : sizeof(f);
    for (i = 0; i < nwant; i++)
        if (want_tab[i].len == len && memcmp(want_tab[i].tok, f, len) == 0)
            break;
    if (i == nwant) {
        want_tab = realloc(want_tab, (nwant + 1) * sizeof(*want_tab));
        memset(&want_tab[nwant], 0, sizeof(*want_tab));
        memcpy(want_tab[nwant].tok, f, len);
        want_tab[nwant++].len = len;
    }
    if (want_tab[i].n == 0 || want_tab[i].ords[want_tab[i].n - 1] != ord) {
        want_tab[i].ords = realloc(want_tab[i].ords, (want_tab[i].n + 1) * sizeof(uint32_t));
        want_tab[i].ords[want_tab[i].n++] = ord;
    }
    return 0;
}

/* Lines [from, to) into b as ordinals from 0; every third ordinal has no line. */
static void build(struct lp_builder *b, size_t from, size_t to, int record)
{
    char text[512];

    for (size_t i = from; i < to; i++) {
        uint32_t ord = (uint32_t)(i - from);

        if (i % 3 == 2)
            continue;
        line_text(i, text, sizeof(text));
        CHECK(lp_builder_line(b, ord, line_ts(i), (int)(i % 8)) == 0);
        CHECK(lp_builder_text(b, text, strlen(text)) == 0);
        if (record) {
            uint32_t o = (uint32_t)i;

            query_words(text, strlen(text), want_word, &o);
        }
    }
}

/* The page that holds tok, as the store finds it: the last whose first token is not above. */
static int find(const struct buf *out, const struct buf *ends, const char *tok, size_t len,
                struct lp_entry *e)
{
    const size_t *end = (const size_t *)ends->p;
    size_t npages = ends->len / sizeof(size_t), pick = 0, from = 0;

    for (size_t p = 0; p < npages; p++) {
        const unsigned char *q = (const unsigned char *)out->p + (p ? end[p - 1] : 0);
        struct lp_entry first;

        if (lp_entry_next(&q, (const unsigned char *)out->p + end[p], &first) != 1)
            return -1;
        if (memcmp(first.tok, tok, first.toklen < len ? first.toklen : len) > 0 ||
            (memcmp(first.tok, tok, first.toklen < len ? first.toklen : len) == 0 &&
             first.toklen > len))
            break;
        pick = p;
    }
    from = pick ? end[pick - 1] : 0;
    return lp_page_find(out->p + from, end[pick] - from, tok, len, e);
}

/* Every wanted token is found with exactly its ordinals, and cells that add up. */
static void check_segment(const struct buf *out, const struct buf *ends, int cells_required)
{
    for (size_t i = 0; i < nwant; i++) {
        struct lp_entry e;
        struct lp_post pc;
        struct lp_cells cc;
        struct lp_cell cell;
        uint32_t ord;
        size_t k = 0;
        uint64_t sum = 0;
        int ok = 1;

        if (find(out, ends, want_tab[i].tok, want_tab[i].len, &e) != 1) {
            fprintf(stderr, "token %.*s not found\n", (int)want_tab[i].len, want_tab[i].tok);
            CHECK(0);
            continue;
        }
        lp_post_open(&pc, &e);
        while (lp_post_next(&pc, &ord) == 1)
            ok = ok && k < want_tab[i].n && want_tab[i].ords[k++] == ord;
        CHECK(ok && k == want_tab[i].n && e.n == want_tab[i].n);
        CHECK(e.n >= LP_CELLS_MIN || e.ncells == 0);
        if (e.ncells == 0) {
            CHECK(!cells_required || e.n < LP_CELLS_MIN);
            continue;
        }
        lp_cells_open(&cc, &e);
        while (lp_cells_next(&cc, &cell) == 1) {
            uint64_t c = 0;

            for (size_t j = 0; j < want_tab[i].n; j++) {
                size_t line = want_tab[i].ords[j];

                c += lp_minute(line_ts(line)) == cell.minute && (int)(line % 8) == cell.level;
            }
            CHECK_INT_EQ(c, cell.count);
            sum += cell.count;
        }
        CHECK_INT_EQ(sum, e.n);
    }
}

static void want_reset(void)
{
    for (size_t i = 0; i < nwant; i++)
        free(want_tab[i].ords);
    free(want_tab);
    want_tab = NULL;
    nwant = 0;
}

static void test_build(void)
{
    struct lp_builder b;
    struct buf out = BUF_INIT(1u << 30), ends = BUF_INIT(1u << 20);
    struct lp_entry e;

    want_reset();

    lp_builder_init(&b);
    build(&b, 0, NLINES, 1);
    CHECK(lp_builder_ntokens(&b) == nwant);
    CHECK(lp_builder_finish(&b, &out, &ends) == 0);
    CHECK(ends.len / sizeof(size_t) > 1); /* several pages */
    check_segment(&out, &ends, 1);
    CHECK(find(&out, &ends, "nosuchword", 10, &e) == 0);
    /* Ordinals must ascend. */
    CHECK(lp_builder_line(&b, 3, T0, 1) == BL_EINVAL);
    CHECK(lp_builder_line(&b, LP_LINES_MAX, T0, 1) == BL_EINVAL);
    lp_builder_reset(&b);
    CHECK(lp_builder_token(&b, "x", 1) == BL_EINVAL); /* no line started */
    lp_builder_release(&b);
    buf_release(&out);
    buf_release(&ends);
}

/* Three segments merged answer as the one segment of all their lines. */
static void test_merge(void)
{
    static const size_t cut[4] = { 0, 1200, 1201, NLINES };
    struct buf seg[3], sends[3], out = BUF_INIT(1u << 30), ends = BUF_INIT(1u << 20);
    const unsigned char *pages[3][4096];
    size_t lens[3][4096];
    struct lp_src src[3];

    for (int s = 0; s < 3; s++) {
        struct lp_builder b;
        const size_t *end;

        buf_init(&seg[s], 1u << 30);
        buf_init(&sends[s], 1u << 20);
        lp_builder_init(&b);
        build(&b, cut[s], cut[s + 1], 0);
        CHECK(lp_builder_finish(&b, &seg[s], &sends[s]) == 0);
        lp_builder_release(&b);
        end = (const size_t *)sends[s].p;
        src[s] = (struct lp_src){ pages[s], lens[s], sends[s].len / sizeof(size_t),
                                  (uint32_t)cut[s] };
        for (size_t p = 0; p < src[s].npages; p++) {
            pages[s][p] = (const unsigned char *)seg[s].p + (p ? end[p - 1] : 0);
            lens[s][p] = end[p] - (p ? end[p - 1] : 0);
        }
    }
    CHECK(lp_merge(src, 3, NULL, &out, &ends) == 0);
    check_segment(&out, &ends, 0);
    /* with the lines' times known, every merged word of LP_CELLS_MIN lines has cells */
    {
        static int64_t minute[NLINES];
        static unsigned char level[NLINES];
        struct lp_meta meta = { minute, level, NLINES };

        for (size_t i = 0; i < NLINES; i++) {
            minute[i] = lp_minute(line_ts(i));
            level[i] = (unsigned char)(i % 8);
        }
        buf_reset(&out);
        buf_reset(&ends);
        CHECK(lp_merge(src, 3, &meta, &out, &ends) == 0);
        check_segment(&out, &ends, 1);
        level[7] = 0xff; /* a line it does not know: that word keeps no cells, or its parts' */
        buf_reset(&out);
        buf_reset(&ends);
        CHECK(lp_merge(src, 3, &meta, &out, &ends) == 0);
        check_segment(&out, &ends, 0);
    }
    /* Out of order: the second source's lines must come after the first's. */
    src[1].shift = 0;
    buf_reset(&out);
    buf_reset(&ends);
    CHECK(lp_merge(src, 3, NULL, &out, &ends) == BL_EPARSE);
    for (int s = 0; s < 3; s++) {
        buf_release(&seg[s]);
        buf_release(&sends[s]);
    }
    buf_release(&out);
    buf_release(&ends);
}

/* Every truncation and every flipped byte of a page is an error or a bounded read. */
static void test_corrupt(void)
{
    struct lp_builder b;
    struct buf out = BUF_INIT(1u << 30), ends = BUF_INIT(1u << 20);
    size_t len;

    lp_builder_init(&b);
    build(&b, 0, 400, 0);
    CHECK(lp_builder_finish(&b, &out, &ends) == 0);
    len = ((const size_t *)ends.p)[0];
    for (size_t cut = 0; cut < len; cut += 7) {
        unsigned char *copy = malloc(cut + 1);
        const unsigned char *p = copy;
        struct lp_entry e;
        int rc;

        memcpy(copy, out.p, cut);
        if (cut > 0)
            copy[cut / 2] ^= 0x5a;
        while ((rc = lp_entry_next(&p, copy + cut, &e)) == 1) {
            struct lp_post pc;
            struct lp_cells cc;
            struct lp_cell cell;
            uint32_t ord;

            CHECK(e.post_end <= copy + cut && e.cells_end <= copy + cut);
            lp_post_open(&pc, &e);
            while (lp_post_next(&pc, &ord) == 1)
                ;
            lp_cells_open(&cc, &e);
            while (lp_cells_next(&cc, &cell) == 1)
                ;
        }
        CHECK(rc == 0 || rc == BL_EPARSE);
        free(copy);
    }
    lp_builder_release(&b);
    buf_release(&out);
    buf_release(&ends);
}

int main(void)
{
    CHECK(hash_global_init() == 0);
    test_fold_is_match();
    test_build();
    wide = 1; /* the same lines again, now some before 1970 too */
    test_build();
    wide = 0;
    test_merge();
    test_corrupt();
    want_reset();
    return t_done();
}
