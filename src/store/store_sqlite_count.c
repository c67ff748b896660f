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

/* The distinct keys of add_counts, in a table grown with them. */
struct htab {
    struct hcount *t;
    size_t cap, used;
};

static struct hcount *slot_of(struct htab *h, const struct sq_hkey *k)
{
    size_t i = hkey_hash(k, h->cap - 1);

    while (h->t[i].n != 0 && !same_hkey(&h->t[i].k, k))
        i = (i + 1) & (h->cap - 1);
    return &h->t[i];
}

/* Doubles h's table, its entries rehashed. */
static void htab_grow(struct htab *h)
{
    struct htab g = { xcalloc(2 * h->cap, sizeof(*g.t)), 2 * h->cap, h->used };

    for (size_t i = 0; i < h->cap; i++)
        if (h->t[i].n != 0)
            *slot_of(&g, &h->t[i].k) = h->t[i];
    free(h->t);
    *h = g;
}

/*
 * Adds the counts of the distinct keys with sql (?1 owner, ?2 hour, ?3 kind, ?4 n).
 * The table grows with the distinct keys, not with nk: a batch of 20,000
 * log lines has a handful of (project, hour, kind) keys, and a table sized
 * for 2 * nk (2 MiB, zeroed and then walked) was 3% of the writer's time
 * with its page faults in the logs bench.
 */
static int add_counts(struct sq_wctx *w, const char *sql, const struct sq_hkey *keys, size_t nk,
                      struct bl_err *err)
{
    struct htab h = { xcalloc(16, sizeof(*h.t)), 16, 0 };
    struct hcount *last = NULL;
    size_t i;
    int rc = 0;

    for (i = 0; i < nk; i++) {
        if (last != NULL && same_hkey(&last->k, &keys[i])) { /* runs are the common case */
            last->n++;
            continue;
        }
        last = slot_of(&h, &keys[i]);
        if (last->n == 0 && 2 * (h.used + 1) > h.cap) { /* a new key: at most half full */
            htab_grow(&h);
            last = slot_of(&h, &keys[i]);
        }
        if (last->n == 0) {
            last->k = keys[i];
            h.used++;
        }
        last->n++;
    }
    for (i = 0; i < h.cap && rc == 0; i++) {
        struct sq_query q = {
            sql,
            "count",
            { SQ_INT(h.t[i].k.owner), SQ_INT(h.t[i].k.hour), SQ_INT(h.t[i].k.kind),
              SQ_INT(h.t[i].n) },
            4,
            NULL,
            NULL
        };

        if (h.t[i].n != 0)
            rc = sq_query_each(w->s->w, &q, err);
    }
    free(h.t);
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
    struct sq_hkey *ik = xcalloc(w->n + 1, sizeof(*ik));
    struct sq_hkey *pk = xcalloc(w->n + 1, sizeof(*pk));
    size_t i, ni = 0, np = 0;
    int rc;

    for (i = 0; i < w->n; i++) {
        int64_t hour = w->ts[i] - w->ts[i] % CLOCK_US_PER_HOUR;

        if (!w->counted[i])
            continue;
        pk[np++] = (struct sq_hkey){ w->ev[i].project_id, hour, w->ev[i].kind };
        if (w->group[i] >= 0)
            ik[ni++] = (struct sq_hkey){ w->ev[i].issue_id, hour, 0 };
    }
    rc = add_counts(w, issue_sql, ik, ni, err);
    if (rc == 0)
        rc = add_counts(w, project_sql, pk, np, err);
    free(ik);
    free(pk);
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
