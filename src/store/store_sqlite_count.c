/*
 * store_sqlite_count.c - step 4 of write_batch: issues, hourly counters,
 * where issues were seen (store_sqlite_seen.c) and the checkpoint in the
 * open bilor.db transaction.
 *
 * Only the events step 3 counted take part (see the DESIGN comment of
 * store_sqlite_write.c): inserted ones and ones a crashed run had already
 * stored in a day file. Aggregating them first costs one statement per
 * issue and per (owner, hour) instead of one per event.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

static void aggregate(struct sq_wctx *w)
{
    size_t i;

    for (i = 0; i < w->n; i++) {
        size_t k = w->order[i];
        const struct event *e = &w->ev[k];
        struct sq_igroup *g;

        if (!w->counted[k])
            continue;
        w->res->events_written++;
        if (w->group[k] < 0)
            continue;
        g = &w->g[w->group[k]];
        if (g->n++ == 0) {
            g->first = e;
            g->first_seen = w->ts[k];
            g->last_seen = w->ts[k];
            g->level = e->level;
        }
        if (w->ts[k] < g->first_seen)
            g->first_seen = w->ts[k];
        if (w->ts[k] > g->last_seen)
            g->last_seen = w->ts[k];
        if (e->level > g->level)
            g->level = e->level;
        if (e->release != NULL && g->first_release == NULL)
            g->first_release = e->release;
        if (e->release != NULL)
            g->last_release = e->release;
    }
}

static int insert_issue(struct sq_wctx *w, const struct sq_igroup *g, struct bl_err *err)
{
    static const char sql[] =
        "INSERT INTO issues(id, project_id, fingerprint, grouping_version, title, culprit,"
        " level, status, first_seen, last_seen, times_seen, first_release, last_release,"
        " rules_version)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10, ?11, ?12, ?13)";
    const char *title = g->first->title != NULL ? g->first->title : g->first->message;
    char fp[33];
    struct sq_query q = { sql,
                          "insert issue",
                          { SQ_INT(g->id), SQ_INT(g->project_id), SQ_TEXT(fp), SQ_INT(g->version),
                            SQ_TEXT(title != NULL ? title : ""), SQ_TEXT(g->first->culprit),
                            SQ_INT(g->level), SQ_INT(g->first_seen), SQ_INT(g->last_seen),
                            SQ_INT(g->n), SQ_TEXT(g->first_release), SQ_TEXT(g->last_release),
                            SQ_INT(g->first->rules_version) },
                          13,
                          NULL,
                          NULL };

    snprintf(fp, sizeof(fp), "%.32s", g->fp);
    w->res->new_issues++;
    return sq_query_each(w->s->w, &q, err);
}

/*
 * Whether the batch's events reopen a resolved issue: always, unless it was
 * resolved in the next release, which only an event of another release
 * ends (the batch's last release stands for its events).
 */
static int reopens(const struct sq_igroup *g)
{
    if (g->status != STORE_ISSUE_RESOLVED)
        return 0;
    if (!g->resolved_in)
        return 1;
    return g->last_release != NULL &&
           hash64(g->last_release, strlen(g->last_release)) != g->resolved_in_hash;
}

/*
 * SQLite rewrites every index over a column the SET list names, changed or
 * not: status and first_seen are in the issue listing's indexes (status in
 * all three), so the common statement leaves them out and costs two index
 * rewrites instead of three. A regression, or a batch older than the
 * issue's first event (first_seen as read in step 2, under the same write
 * lock), takes the full statement.
 */
static int update_issue(struct sq_wctx *w, struct sq_igroup *g, struct bl_err *err)
{
    /* A resolved issue that is seen again reopens (a regression); ignored stays ignored. */
    static const char full_sql[] =
        "UPDATE issues SET times_seen = times_seen + ?2, first_seen = min(first_seen, ?3),"
        " last_seen = max(last_seen, ?4), level = max(level, ?5),"
        " first_release = coalesce(first_release, ?6),"
        " last_release = coalesce(?7, last_release),"
        " status = CASE WHEN ?8 THEN 0 ELSE status END,"
        " resolved_in_release = CASE WHEN ?8 THEN NULL ELSE resolved_in_release END"
        " WHERE id = ?1";
    static const char seen_sql[] =
        "UPDATE issues SET times_seen = times_seen + ?2, last_seen = max(last_seen, ?4),"
        " level = max(level, ?5), first_release = coalesce(first_release, ?6),"
        " last_release = coalesce(?7, last_release) WHERE id = ?1";
    int again = reopens(g), full = again || g->first_seen < g->stored_first_seen;
    struct sq_query q = { full ? full_sql : seen_sql,
                          "update issue",
                          { SQ_INT(g->id), SQ_INT(g->n), SQ_INT(g->first_seen),
                            SQ_INT(g->last_seen), SQ_INT(g->level), SQ_TEXT(g->first_release),
                            SQ_TEXT(g->last_release), SQ_INT(again) },
                          full ? 8 : 7,
                          NULL,
                          NULL };

    g->reopened = again;
    if (again)
        w->res->regressions++;
    return sq_query_each(w->s->w, &q, err);
}

/*
 * The hourly keys are aggregated in a hash table, not sorted: a batch of
 * log lines has a few distinct (project, hour, kind) among thousands of
 * keys, and qsort cost ~650 instructions a line (measured).
 */
struct hcount {
    struct sq_hkey k;
    int64_t n; /* 0: empty */
};

static int same_hkey(const struct sq_hkey *a, const struct sq_hkey *b)
{
    return a->owner == b->owner && a->hour == b->hour && a->kind == b->kind;
}

static size_t hkey_hash(const struct sq_hkey *k, size_t mask)
{
    uint64_t h = (uint64_t)k->owner * UINT64_C(0x9E3779B97F4A7C15);

    h ^= (uint64_t)k->hour + UINT64_C(0x632BE59BD9B4E019) + (h << 6) + (h >> 2);
    h ^= (uint64_t)k->kind;
    h *= UINT64_C(0xff51afd7ed558ccd);
    return (size_t)(h >> 32) & mask;
}

/*
 * Counts per distinct key, in a table grown with the keys, not with the
 * events: a batch of 20,000 log lines has a handful of (project, hour,
 * kind) keys, and a table sized for twice its events (2 MiB, zeroed and
 * then walked, after an array of every event's key) was 3% of the
 * writer's time with its page faults in the logs bench.
 */
struct counts {
    struct hcount *t;
    size_t cap, used;
    struct hcount *last; /* the key counted last: runs are the common case */
};

static void counts_init(struct counts *c)
{
    c->cap = 16;
    c->t = xcalloc(c->cap, sizeof(*c->t));
    c->used = 0;
    c->last = NULL;
}

static struct hcount *slot_of(const struct counts *c, const struct sq_hkey *k)
{
    size_t i = hkey_hash(k, c->cap - 1);

    while (c->t[i].n != 0 && !same_hkey(&c->t[i].k, k))
        i = (i + 1) & (c->cap - 1);
    return &c->t[i];
}

/* Doubles c's table, its entries rehashed. */
static void counts_grow(struct counts *c)
{
    struct counts g = { xcalloc(2 * c->cap, sizeof(*g.t)), 2 * c->cap, c->used, NULL };

    for (size_t i = 0; i < c->cap; i++)
        if (c->t[i].n != 0)
            *slot_of(&g, &c->t[i].k) = c->t[i];
    free(c->t);
    *c = g;
}

static void counts_add(struct counts *c, const struct sq_hkey *k)
{
    if (c->last != NULL && same_hkey(&c->last->k, k)) {
        c->last->n++;
        return;
    }
    c->last = slot_of(c, k);
    if (c->last->n == 0 && 2 * (c->used + 1) > c->cap) { /* a new key: at most half full */
        counts_grow(c);
        c->last = slot_of(c, k);
    }
    if (c->last->n == 0) {
        c->last->k = *k;
        c->used++;
    }
    c->last->n++;
}

/* Adds c's counts with sql (?1 owner, ?2 hour, ?3 kind, ?4 n), and frees them. */
static int add_counts(struct sq_wctx *w, const char *sql, struct counts *c, struct bl_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < c->cap && rc == 0; i++) {
        struct sq_query q = { sql,
                              "count",
                              { SQ_INT(c->t[i].k.owner), SQ_INT(c->t[i].k.hour),
                                SQ_INT(c->t[i].k.kind), SQ_INT(c->t[i].n) },
                              4,
                              NULL,
                              NULL };

        if (c->t[i].n != 0)
            rc = sq_query_each(w->s->w, &q, err);
    }
    free(c->t);
    c->t = NULL;
    return rc;
}

static int write_hourly(struct sq_wctx *w, struct bl_err *err)
{
    static const char issue_sql[] =
        "INSERT INTO issue_hourly(issue_id, hour, count) VALUES(?1, ?2, ?4)"
        " ON CONFLICT(issue_id, hour) DO UPDATE SET count = count + excluded.count";
    static const char project_sql[] =
        "INSERT INTO project_hourly(project_id, hour, kind, count) VALUES(?1, ?2, ?3, ?4)"
        " ON CONFLICT(project_id, hour, kind) DO UPDATE SET count = count + excluded.count";
    struct counts ic, pc;
    int rc;

    counts_init(&ic);
    counts_init(&pc);
    for (size_t i = 0; i < w->n; i++) {
        int64_t hour = w->ts[i] - w->ts[i] % CLOCK_US_PER_HOUR;

        if (!w->counted[i])
            continue;
        counts_add(&pc, &(struct sq_hkey){ w->ev[i].project_id, hour, w->ev[i].kind });
        if (w->group[i] >= 0)
            counts_add(&ic, &(struct sq_hkey){ w->ev[i].issue_id, hour, 0 });
    }
    rc = add_counts(w, issue_sql, &ic, err);
    if (rc == 0)
        rc = add_counts(w, project_sql, &pc, err);
    free(ic.t);
    free(pc.t);
    return rc;
}

/* next_issue_id, and this node's checkpoint. */
static int write_meta(struct sq_wctx *w, struct bl_err *err)
{
    static const char next_sql[] = "UPDATE meta SET value = ?1 WHERE key = 'next_issue_id'";
    static const char cp_sql[] = "UPDATE nodes SET checkpoint_lsn = ?2 WHERE id = ?1";
    /* Compared here, not in SQL: LSNs are unsigned and SQLite integers are not. */
    uint64_t cp = w->checkpoint > w->done_lsn ? w->checkpoint : w->done_lsn;
    struct sq_query q = { next_sql, "write next issue id", { SQ_INT(w->next_issue_id) }, 1, NULL,
                          NULL };
    int rc = sq_query_each(w->s->w, &q, err);

    if (rc != 0)
        return rc;
    q = (struct sq_query){ cp_sql, "write checkpoint", { SQ_INT(w->s->node), SQ_INT(cp) }, 2, NULL,
                           NULL };
    rc = sq_query_each(w->s->w, &q, err);
    if (rc == 0 && sqlite3_changes(w->s->w->db) != 1)
        rc = bl_err_set(err, BL_ESTORE, "write checkpoint: node %lld has no row",
                        (long long)w->s->node);
    return rc;
}

int sq_write_counts(struct sq_wctx *w, struct bl_err *err)
{
    size_t i;
    int rc = 0;

    aggregate(w);
    for (i = 0; i < w->ng && rc == 0; i++) {
        struct sq_igroup *g = &w->g[i];

        if (g->n == 0)
            continue;
        rc = g->is_new ? insert_issue(w, g, err) : update_issue(w, g, err);
    }
    if (rc == 0)
        rc = write_hourly(w, err);
    if (rc == 0)
        rc = sq_write_seen(w, err);
    if (rc == 0)
        rc = write_meta(w, err);
    return rc;
}
