/*
 * store_sqlite_logs_prep.c - log blocks built ahead of write_batch, on the
 * digest's decode threads (the prepare op, store.h).
 *
 * DESIGN
 * The single writer spent about two thirds of a log line's time building
 * its block: the record, the 64-line frames' compression, the lines and fields
 * blobs, the words the index is built from. None of it needs the database, so prepare
 * does it for a decoded batch on the thread that decoded it, exactly as
 * write_day would: the batch's log lines grouped per (project, day file)
 * in the writer's order (day, lsn, seq, index), cut into blocks of
 * LB_BLOCK_LINES, each built by the same functions (sq_logs_line,
 * sq_logs_put, lb_builder_*) from the same event fields. A block's bytes
 * depend only on its lines, never on where it lands: line numbers
 * (first_line) are the block row's, given by the writer when it inserts it.
 *
 * The writer (store_sqlite_logs.c) collects the lines it actually stores
 * into each block as their indexes in the batch and, when it writes a
 * block, takes the prepared one only when it holds exactly those lines in
 * that order (sq_prep_find); anything else (a duplicate client id, a
 * replay, a line whose kind the writer decided otherwise than the decode
 * thread guessed, an event the writer skips) changes some block's lines,
 * and that block is built by the writer from the events as before. Since
 * the writer never changes a log line's fields (only an event's kind and
 * an issue's grouping), the same lines give the same bytes
 * (tests/unit/test_logs_prep.c compares the two paths).
 *
 * The word postings too: a run (one project's lines of one day file, the
 * lines one postings segment of the writer holds) gathers its lines'
 * words in an lp_builder with the run's own ordinals 0, 1, ..., and
 * encodes them as if the lines land on consecutive line numbers, which
 * they do unless another project's block lands between two of the run's
 * (store_sqlite_logs.c then re-encodes the gathered words with the line
 * numbers they got, sq_prep_post's map). Gathering was about half of the
 * writer's time per line.
 *
 * Memory: one struct sq_prep per digest slot, reused batch after batch and
 * freed with the slot; what it holds is the batch's compressed frames and
 * words, about the size of the batch's own events.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "store/logblock.h"
#include "store/logpost.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/* The prepared data of one batch is refused past this (the writer builds the rest). */
#define PREP_DATA_MAX (1u << 30)
/* A batch's data grown past this is freed before the next one, not kept. */
#define PREP_KEEP (64u << 20)
/* (project, day) groups a batch's lines are split into without sorting them (collect). */
#define PREP_GROUPS 16

/* The postings of one run of lines (see DESIGN). */
struct prep_run {
    struct lp_builder post;
    struct buf pages, ends; /* encoded with ordinals as gathered */
    size_t nlines;          /* gathered; 0 when gathering failed */
    size_t blk, nblk;       /* its blocks */
};

/* A log line of the batch with what orders it. */
struct prep_key {
    int64_t project_id, day, ts;
    uint64_t lsn;
    uint32_t seq;
    size_t i;
};

struct sq_prep {
    struct store_prep base;
    const struct event *ev; /* the batch prepared, and its size */
    size_t n;
    struct lb_builder b;
    struct buf words, tags, lines; /* one block's, as the writer's */
    struct buf data;               /* every block's blobs and texts */
    size_t cap;                    /* of the arrays below */
    struct prep_key *keys, *keys2; /* keys2: collect's scratch */
    size_t *k;                     /* the blocks' lines, block after block */
    size_t *ends;                  /* their texts' ends, likewise */
    struct prep_key *at;           /* their (lsn, seq, timestamp) as prepared, likewise */
    int64_t *ts;                   /* their timestamps and levels as the block has them, likewise */
    unsigned char *level;
    uint32_t *first;           /* per event: 1 + the block it is the first line of, else 0 */
    struct sq_prep_block *blk; /* grown as blocks are made (most batches make a few) */
    size_t nblk, blkcap;
    struct prep_run *run; /* kept from batch to batch, with their builders' memory */
    size_t nrun, runcap;
};

static int cmp_key(const void *pa, const void *pb)
{
    const struct prep_key *a = pa, *b = pb;

    if (a->project_id != b->project_id)
        return a->project_id < b->project_id ? -1 : 1;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    if (a->lsn != b->lsn)
        return a->lsn < b->lsn ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static struct sq_prep *prep_new(struct store *st)
{
    struct sq_prep *p = xcalloc(1, sizeof(*p));

    p->base.ops = st->ops;
    lb_builder_init(&p->b, SQ_ZSTD_LEVEL);
    buf_init(&p->words, SQ_LOG_TEXT_MAX);
    buf_init(&p->tags, SQ_TAGS_BUF_MAX);
    buf_init(&p->lines, 1u << 20);
    buf_init(&p->data, PREP_DATA_MAX);
    return p;
}

/* The per-line arrays (sized for p->cap lines). */
static void free_lines(struct sq_prep *p)
{
    free(p->keys);
    free(p->keys2);
    free(p->k);
    free(p->ends);
    free(p->at);
    free(p->ts);
    free(p->level);
    free(p->first);
}

void sq_prep_free(struct store_prep *prep)
{
    struct sq_prep *p = (struct sq_prep *)prep;

    if (p == NULL)
        return;
    lb_builder_release(&p->b);
    buf_release(&p->words);
    buf_release(&p->tags);
    buf_release(&p->lines);
    buf_release(&p->data);
    free_lines(p);
    free(p->blk);
    for (size_t i = 0; i < p->runcap; i++) {
        lp_builder_release(&p->run[i].post);
        buf_release(&p->run[i].pages);
        buf_release(&p->run[i].ends);
    }
    free(p->run);
    free(p);
}

/* Empties p for a batch of n events. */
static void prep_reset(struct sq_prep *p, const struct event *ev, size_t n)
{
    if (n > p->cap) {
        p->cap = n;
        free_lines(p);
        p->at = xmalloc(n * sizeof(*p->at));
        p->ts = xmalloc(n * sizeof(*p->ts));
        p->level = xmalloc(n);
        p->keys = xmalloc(n * sizeof(*p->keys));
        p->keys2 = xmalloc(n * sizeof(*p->keys2));
        p->k = xmalloc(n * sizeof(*p->k));
        p->ends = xmalloc(n * sizeof(*p->ends));
        p->first = xmalloc(n * sizeof(*p->first));
    }
    if (p->data.cap > PREP_KEEP)
        buf_release(&p->data);
    buf_reset(&p->data);
    if (n > 0)
        memset(p->first, 0, n * sizeof(*p->first));
    p->ev = ev;
    p->n = n;
    p->nblk = 0;
    p->nrun = 0;
}

/* A new run, empty, for the blocks from the next one on. */
static struct prep_run *run_open(struct sq_prep *p)
{
    struct prep_run *r;

    if (p->nrun == p->runcap) {
        size_t cap = p->runcap ? p->runcap * 2 : 4;

        p->run = xrealloc(p->run, cap * sizeof(*p->run));
        for (size_t i = p->runcap; i < cap; i++) {
            lp_builder_init(&p->run[i].post);
            buf_init(&p->run[i].pages, (size_t)1 << 31);
            buf_init(&p->run[i].ends, (size_t)1 << 24);
        }
        p->runcap = cap;
    }
    r = &p->run[p->nrun++];
    lp_builder_reset(&r->post);
    buf_reset(&r->pages);
    buf_reset(&r->ends);
    r->nlines = 0;
    r->blk = p->nblk;
    r->nblk = 0;
    return r;
}

/* The block's lines (its builder's, words in p->words) into the run's postings, as the writer adds them. */
static int run_add(struct sq_prep *p, struct prep_run *r, const size_t *ends, size_t nk)
{
    size_t from = 0;
    int rc = 0;

    for (size_t i = 0; i < nk && rc == 0; i++) {
        rc = lp_builder_line(&r->post, (uint32_t)(r->nlines + i), p->b.ts[i], p->b.level[i]);
        if (rc == 0)
            rc = lp_builder_text(&r->post, p->words.p + from, ends[i] - from);
        from = ends[i];
    }
    return rc;
}

/* The run's postings encoded; a run that failed is left to the writer (nlines 0). */
static void run_close(struct prep_run *r, int ok)
{
    if (ok && r->nlines > 0 && lp_builder_finish(&r->post, &r->pages, &r->ends) == 0)
        return;
    r->nlines = 0;
}

/* Appends b's bytes to the data; *off where they start. */
static int put_data(struct sq_prep *p, const void *b, size_t len, size_t *off)
{
    *off = p->data.len;
    return buf_add(&p->data, b, len);
}

/* Builds the block of keys[0..nk) (one project and day, in order) as the writer would. */
static int prep_block(struct sq_prep *p, struct prep_run *run, const struct prep_key *keys,
                      size_t nk, size_t *kpos)
{
    struct sq_prep_block *blk;
    size_t *k = p->k + *kpos, *ends = p->ends + *kpos, fields_end;
    int rc = 0;

    if (p->nblk == p->blkcap) {
        p->blkcap = p->blkcap ? p->blkcap * 2 : 16;
        p->blk = xrealloc(p->blk, p->blkcap * sizeof(*p->blk));
    }
    blk = &p->blk[p->nblk];
    lb_builder_reset(&p->b);
    buf_reset(&p->words);
    buf_reset(&p->lines);
    for (size_t i = 0; i < nk && rc == 0; i++) {
        const struct event *e = &p->ev[keys[i].i];
        const char *text[3] = { e->message, e->title, e->search_text };
        struct lb_line l;

        k[i] = keys[i].i;
        p->at[*kpos + i] = keys[i];
        sq_logs_line(e, keys[i].ts, sq_tags_json(&p->tags, e), &l);
        rc = sq_logs_put(&p->b, &p->words, ends, &l, text);
    }
    blk->fields = p->data.len;
    if (rc == 0)
        rc = run_add(p, run, ends, nk);
    if (rc == 0)
        rc = lb_builder_fields(&p->b, &p->data);
    fields_end = p->data.len;
    blk->frames = p->data.len;
    if (rc == 0)
        rc = lb_builder_finish(&p->b, &p->lines, &p->data);
    if (rc != 0)
        return rc;
    blk->fields_len = fields_end - blk->fields;
    blk->frames_len = p->data.len - blk->frames;
    blk->lines_len = p->lines.len;
    rc = put_data(p, p->lines.p, p->lines.len, &blk->lines);
    if (rc == 0)
        rc = put_data(p, p->words.p, p->words.len, &blk->text);
    if (rc != 0)
        return rc;
    blk->project_id = keys[0].project_id;
    blk->nlines = nk;
    blk->k = k;
    blk->ends = ends;
    blk->ts = p->ts + *kpos;
    blk->level = p->level + *kpos;
    memcpy(p->ts + *kpos, p->b.ts, nk * sizeof(*p->ts));
    memcpy(p->level + *kpos, p->b.level, nk);
    blk->t_min = p->b.t_min;
    blk->t_max = p->b.t_max;
    blk->lsn_min = p->b.lsn_min;
    blk->lsn_max = p->b.lsn_max;
    blk->level_mask = p->b.level_mask;
    blk->run = (size_t)(run - p->run);
    blk->run_off = run->nlines;
    run->nlines += nk;
    run->nblk++;
    p->first[k[0]] = (uint32_t)++p->nblk;
    *kpos += nk;
    return 0;
}

/* A (project, day) group of keys: where its keys go (split). */
struct prep_group {
    int64_t project_id, day;
    size_t n, at;
};

/*
 * keys[0..nk) in cmp_key's order without a sort when they come in (lsn,
 * seq) order, as a batch from the journal does, and hold few (project, day)
 * groups: then cmp_key's order is each group's keys in the order they
 * came, the groups in (project, day) order, and a stable split gives it
 * (the qsort was 300 instructions a line). 0 when the keys are not so.
 */
static int split(struct sq_prep *p, size_t nk)
{
    struct prep_group g[PREP_GROUPS];
    size_t ng = 0, last = 0, at = 0;
    struct prep_key *swap;

    for (size_t i = 0; i < nk; i++) {
        const struct prep_key *k = &p->keys[i];

        if (i > 0 && (k->lsn < k[-1].lsn || (k->lsn == k[-1].lsn && k->seq < k[-1].seq)))
            return 0;
        if (ng == 0 || g[last].project_id != k->project_id || g[last].day != k->day) {
            for (last = 0; last < ng; last++)
                if (g[last].project_id == k->project_id && g[last].day == k->day)
                    break;
            if (last == ng) {
                if (ng == PREP_GROUPS)
                    return 0;
                g[ng++] = (struct prep_group){ k->project_id, k->day, 0, 0 };
            }
        }
        g[last].n++;
    }
    if (ng <= 1)
        return 1;
    for (size_t i = 1; i < ng; i++) /* a few groups: by insertion */
        for (size_t j = i;
             j > 0 && (g[j].project_id < g[j - 1].project_id ||
                       (g[j].project_id == g[j - 1].project_id && g[j].day < g[j - 1].day));
             j--) {
            struct prep_group t = g[j];

            g[j] = g[j - 1];
            g[j - 1] = t;
        }
    for (size_t j = 0; j < ng; j++) {
        g[j].at = at;
        at += g[j].n;
    }
    for (size_t i = 0; i < nk; i++) {
        const struct prep_key *k = &p->keys[i];

        if (g[last].project_id != k->project_id || g[last].day != k->day)
            for (last = 0; g[last].project_id != k->project_id || g[last].day != k->day; last++)
                ;
        p->keys2[g[last].at++] = *k;
    }
    swap = p->keys;
    p->keys = p->keys2;
    p->keys2 = swap;
    return 1;
}

/* The batch's log lines as write_day would store them, sorted per (project, day). */
static size_t collect(struct sq_prep *p)
{
    size_t nk = 0;

    for (size_t i = 0; i < p->n; i++) {
        const struct event *e = &p->ev[i];
        int64_t ts;

        if (e->kind != EV_KIND_LOG || e->project_id <= 0 || e->event_id[0] == '\0')
            continue;
        ts = sq_sane_ts(e);
        p->keys[nk++] = (struct prep_key){ e->project_id, sq_day_of(ts), ts, e->lsn, e->seq, i };
    }
    if (nk > 1 && !split(p, nk))
        qsort(p->keys, nk, sizeof(*p->keys), cmp_key);
    return nk;
}

int sq_prepare(struct store *st, struct store_prep **prep, const struct event *ev, size_t n)
{
    struct sq_prep *p = (struct sq_prep *)*prep;
    struct prep_run *run = NULL;
    size_t nk, from = 0, kpos = 0;
    int rc = 0;

    if (p == NULL)
        *prep = &(p = prep_new(st))->base;
    prep_reset(p, ev, n);
    nk = collect(p);
    while (from < nk && rc == 0) {
        size_t to = from + 1;

        if (from == 0 || p->keys[from].project_id != p->keys[from - 1].project_id ||
            p->keys[from].day != p->keys[from - 1].day) {
            if (run != NULL)
                run_close(run, 1);
            run = run_open(p);
        }
        /* One project's lines of one day, LB_BLOCK_LINES at a time, as the writer cuts them. */
        while (to < nk && to - from < LB_BLOCK_LINES &&
               p->keys[to].project_id == p->keys[from].project_id &&
               p->keys[to].day == p->keys[from].day)
            to++;
        rc = prep_block(p, run, p->keys + from, to - from, &kpos);
        from = to;
    }
    if (run != NULL)
        run_close(run, rc == 0);
    /* The blocks made so far stay usable; the writer builds the others. */
    return rc;
}

const struct sq_prep_block *sq_prep_find(const struct store_prep *prep, const struct event *ev,
                                         size_t n, int64_t project_id, const size_t *k, size_t nk)
{
    const struct sq_prep *p = (const struct sq_prep *)prep;
    const struct sq_prep_block *blk;
    uint32_t b;

    if (p == NULL || p->ev != ev || p->n != n || nk == 0 || k[0] >= n)
        return NULL;
    b = p->first[k[0]];
    if (b == 0)
        return NULL;
    blk = &p->blk[b - 1];
    if (blk->project_id != project_id || blk->nlines != nk ||
        memcmp(blk->k, k, nk * sizeof(*k)) != 0)
        return NULL;
    /* The very events prepared (not a later batch in the same memory). */
    for (size_t i = 0, at = (size_t)(blk->k - p->k); i < nk; i++) {
        const struct event *e = &ev[k[i]];

        if (e->lsn != p->at[at + i].lsn || e->seq != p->at[at + i].seq ||
            sq_sane_ts(e) != p->at[at + i].ts)
            return NULL;
    }
    return blk;
}

const char *sq_prep_data(const struct store_prep *prep)
{
    return ((const struct sq_prep *)prep)->data.p;
}

size_t sq_prep_run_lines(const struct store_prep *prep, size_t run)
{
    const struct sq_prep *p = (const struct sq_prep *)prep;

    return run < p->nrun ? p->run[run].nlines : 0;
}

const struct sq_prep_block *sq_prep_run_block(const struct store_prep *prep, size_t run, size_t j)
{
    const struct sq_prep *p = (const struct sq_prep *)prep;

    if (run >= p->nrun || j >= p->run[run].nblk)
        return NULL;
    return &p->blk[p->run[run].blk + j];
}

int sq_prep_post(const struct store_prep *prep, size_t run, const uint32_t *map, struct buf *pages,
                 struct buf *ends)
{
    struct sq_prep *p = (struct sq_prep *)prep;
    struct prep_run *r;
    int rc;

    if (run >= p->nrun || p->run[run].nlines == 0)
        return BL_EINVAL;
    r = &p->run[run];
    if (map != NULL)
        return lp_builder_finish_map(&r->post, map, pages, ends);
    rc = buf_add(pages, r->pages.p, r->pages.len);
    return rc != 0 ? rc : buf_add(ends, r->ends.p, r->ends.len);
}
