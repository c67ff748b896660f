/*
 * store_sqlite_group.c - which issue an event of a write batch belongs to
 * (step 2 of store_sqlite_write.c's DESIGN): the batch's groups by
 * (project, fingerprint, grouping version), each looked up once in bilor.db,
 * with the previous grouping version's open issue taking events during a
 * transition; a new group gets the next issue id. Nothing is written here.
 *
 * The issue rows found under their own key (or made by a batch) are
 * remembered between batches: under the bench's traffic the same few
 * hundred issues come back in every batch, and looking each up again cost
 * ~4.6k instructions an event, 5% of the writer's (docs/bench.md). They
 * stay valid while bilor.db changes only through this connection, which
 * PRAGMA data_version tells (read under the write lock at each batch's
 * start; it moves when any other connection, in this process or another,
 * commits: the admin connection resolving an issue, another node's
 * writer). This connection's own changes are applied to them after each
 * commit; a failed batch forgets them all.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

static uint64_t group_hash(const struct event *e)
{
    uint64_t h = 1469598103934665603u ^ (uint64_t)e->project_id;
    size_t i;

    for (i = 0; i < 32 && e->fingerprint[i] != '\0'; i++)
        h = (h ^ (unsigned char)e->fingerprint[i]) * 1099511628211u;
    return (h ^ (uint64_t)(unsigned)e->grouping_version) * 1099511628211u;
}

static int group_eq(const struct sq_igroup *g, const struct event *e, uint64_t h)
{
    return g->hash == h && g->project_id == e->project_id && g->version == e->grouping_version &&
           strncmp(g->fp, e->fingerprint, 32) == 0;
}

static int issue_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct sq_igroup *g = ctx;

    (void)err;
    g->id = sqlite3_column_int64(st, 0);
    g->status = sqlite3_column_int(st, 1);
    g->resolved_in = sqlite3_column_type(st, 2) != SQLITE_NULL;
    if (g->resolved_in)
        g->resolved_in_hash = hash64(sqlite3_column_text(st, 2),
                                     (size_t)sqlite3_column_bytes(st, 2));
    g->stored_first_seen = sqlite3_column_int64(st, 3);
    return 0;
}

/*
 * How long an issue of the previous grouping version keeps taking the
 * events whose new fingerprint has no issue: Sentry's transition lasts 90
 * days; an issue quiet that long, or resolved, lets them start afresh.
 */
#define SQ_TRANSITION_US (90 * INT64_C(86400) * INT64_C(1000000))

/* sql takes ?1 project, ?2 fingerprint, ?3 version and, when nargs is 4, ?4 a time floor. */
static int find_issue(struct sq_wctx *w, struct sq_igroup *g, const char *sql, size_t nargs,
                      const char *fpv, int version, struct bl_err *err)
{
    char fp[33];
    struct sq_query q = { sql,
                          "look up issue",
                          { SQ_INT(g->project_id), SQ_TEXT(fp), SQ_INT(version),
                            SQ_INT(g->seen_at - SQ_TRANSITION_US) },
                          nargs,
                          issue_row,
                          g };

    snprintf(fp, sizeof(fp), "%.32s", fpv);
    return sq_query_one(w->s->w, &q, err);
}

/*
 * The issue of a group: its own (project, fingerprint, version) row; else,
 * during a grouping-version transition, the open issue of the previous
 * version's fingerprint (fingerprint.c "Versions"); else a new id.
 */
static int lookup_issue(struct sq_wctx *w, struct sq_igroup *g, struct bl_err *err)
{
    static const char sql[] = "SELECT id, status, resolved_in_release, first_seen"
                              " FROM issues WHERE project_id = ?1 AND fingerprint = ?2"
                              " AND grouping_version = ?3";
    static const char prev_sql[] = "SELECT id, status, resolved_in_release, first_seen"
                                   " FROM issues WHERE project_id = ?1 AND fingerprint = ?2"
                                   " AND grouping_version = ?3 AND status = 0"
                                   " AND last_seen >= ?4";
    int rc = find_issue(w, g, sql, 3, g->fp, g->version, err);

    /* a previous version's issue is not remembered: whether it takes events depends on time */
    g->cacheable = rc == 0;
    if (rc == BL_ENOTFOUND && g->version_prev > 0 && g->version_prev != g->version)
        rc = find_issue(w, g, prev_sql, 4, g->fp_prev, g->version_prev, err);
    if (rc == BL_ENOTFOUND) {
        g->id = w->next_issue_id++;
        g->is_new = 1;
        g->cacheable = 1;
        rc = 0;
    }
    return rc;
}

/* The slot of g's key: its entry, or the free slot where it would go (never full: half). */
static struct sq_icache_ent *icache_slot(struct sq_store *s, const struct sq_igroup *g)
{
    size_t i = (size_t)(g->hash >> 7) & (SQ_ISSUE_CACHE - 1);

    for (;; i = (i + 1) & (SQ_ISSUE_CACHE - 1)) {
        struct sq_icache_ent *c = &s->icache[i];

        if (!c->used || (c->project_id == g->project_id && c->version == g->version &&
                         strncmp(c->fp, g->fp, sizeof(c->fp)) == 0))
            return c;
    }
}

static void icache_clear(struct sq_store *s)
{
    memset(s->icache, 0, sizeof(s->icache));
    s->nicache = 0;
}

int sq_group_begin(struct sq_wctx *w, struct bl_err *err)
{
    int64_t dv = 0;
    struct sq_query q = { "PRAGMA data_version", "data version",
                          { { 0, 0, NULL } },    0,
                          sq_row_int64,          &dv };
    int rc = sq_query_one(w->s->w, &q, err);

    if (rc != 0)
        return rc;
    if (dv != w->s->icache_dv)
        icache_clear(w->s);
    w->s->icache_dv = dv;
    return 0;
}

void sq_group_remember(struct sq_wctx *w, int ok)
{
    struct sq_store *s = w->s;

    if (!ok) {
        icache_clear(s);
        return;
    }
    for (size_t i = 0; i < w->ng; i++) {
        const struct sq_igroup *g = &w->g[i];
        struct sq_icache_ent *c;

        /* a new group none of whose events counted made no row */
        if (!g->cacheable || (g->is_new && g->n == 0))
            continue;
        c = icache_slot(s, g);
        if (!c->used && s->nicache >= SQ_ISSUE_CACHE / 2) {
            icache_clear(s); /* simpler than evicting, and rare: thousands of active issues */
            c = icache_slot(s, g);
        }
        if (!c->used) {
            c->used = 1;
            c->project_id = g->project_id;
            memset(c->fp, 0, sizeof(c->fp));
            memcpy(c->fp, g->fp, strnlen(g->fp, sizeof(c->fp)));
            c->version = g->version;
            s->nicache++;
        }
        /* the row as insert_issue or update_issue (store_sqlite_count.c) left it */
        c->id = g->id;
        c->status = g->is_new || g->reopened ? 0 : g->status;
        c->resolved_in = g->is_new || g->reopened ? 0 : g->resolved_in;
        c->resolved_in_hash = g->resolved_in_hash;
        c->first_seen = g->n > 0 && (g->is_new || g->first_seen < g->stored_first_seen)
                            ? g->first_seen
                            : g->stored_first_seen;
    }
}

/* The remembered row of g's key, if any, as issue_row would read it. */
static int remembered(struct sq_wctx *w, struct sq_igroup *g)
{
    const struct sq_icache_ent *c = icache_slot(w->s, g);

    if (!c->used)
        return 0;
    g->id = c->id;
    g->status = c->status;
    g->resolved_in = c->resolved_in;
    g->resolved_in_hash = c->resolved_in_hash;
    g->stored_first_seen = c->first_seen;
    g->cacheable = 1;
    return 1;
}

int sq_group_of(struct sq_wctx *w, const struct event *e, int *out, struct bl_err *err)
{
    uint64_t h = group_hash(e);
    size_t slot = (size_t)h & w->hmask;
    struct sq_igroup *g;

    while (w->htab[slot] >= 0) {
        if (group_eq(&w->g[w->htab[slot]], e, h)) {
            *out = w->htab[slot];
            return 0;
        }
        slot = (slot + 1) & w->hmask;
    }
    g = &w->g[w->ng];
    g->project_id = e->project_id;
    g->fp = e->fingerprint;
    g->version = e->grouping_version;
    g->fp_prev = e->fingerprint_prev;
    g->version_prev = e->fingerprint_prev[0] != '\0' ? e->grouping_version_prev : 0;
    g->seen_at = e->received_at;
    g->hash = h;
    *out = (int)w->ng;
    w->htab[slot] = (int)w->ng++;
    return remembered(w, g) ? 0 : lookup_issue(w, g, err);
}
