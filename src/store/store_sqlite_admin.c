/*
 * store_sqlite_admin.c - projects, DSN keys, users, API tokens, issue status.
 *
 * Writes here go through the one admin connection under admin_mu; another
 * process (the CLI) may write at the same time, and busy_timeout makes the
 * two wait for each other. Reads use the reader pool.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define SLUG_BASE_MAX 100

#define PROJECT_SELECT                                                                             \
    "SELECT p.id, p.name, p.slug, p.issue_level, p.created_at,"                                    \
    " (SELECT k.public_key FROM project_keys k WHERE k.project_id = p.id AND k.active = 1"         \
    "  ORDER BY k.created_at, k.public_key LIMIT 1)"                                               \
    " FROM projects p"

/* Lowercase letters and digits; every other run of bytes becomes one '-'. */
static void make_slug(const char *name, char *out, size_t outsz)
{
    size_t n = 0;
    int dash = 0;

    for (; *name != '\0' && n + 1 < outsz && n < SLUG_BASE_MAX; name++) {
        unsigned char ch = (unsigned char)*name;

        if (ch < 0x80 && isalnum(ch)) {
            if (dash && n > 0)
                out[n++] = '-';
            if (n + 1 < outsz)
                out[n++] = (char)tolower(ch);
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, outsz, "project");
}

static int slug_taken(struct sq_conn *c, const char *slug, int *taken, struct bl_err *err)
{
    static const char sql[] = "SELECT 1 FROM projects WHERE slug = ?1";
    struct sq_query q = { sql, "look up slug", { SQ_TEXT(slug) }, 1, NULL, NULL };
    int rc = sq_query_one(c, &q, err);

    *taken = rc == 0;
    return rc == BL_ENOTFOUND ? 0 : rc;
}

/* The slug, suffixed -2, -3, ... until it is free. Call inside the write transaction. */
static int unique_slug(struct sq_conn *c, const char *name, char *out, size_t outsz,
                       struct bl_err *err)
{
    char base[SLUG_BASE_MAX + 1];
    int taken = 1, rc = 0;
    unsigned i;

    make_slug(name, base, sizeof(base));
    snprintf(out, outsz, "%s", base);
    for (i = 2; rc == 0; i++) {
        rc = slug_taken(c, out, &taken, err);
        if (rc != 0 || !taken)
            break;
        snprintf(out, outsz, "%s-%u", base, i);
    }
    return rc;
}

static int insert_project(struct sq_conn *c, struct store_project *p, struct bl_err *err)
{
    static const char proj_sql[] = "INSERT INTO projects(name, slug, issue_level, created_at)"
                                   " VALUES(?1, ?2, ?3, ?4)";
    static const char key_sql[] = "INSERT INTO project_keys(public_key, project_id, active,"
                                  " created_at, id) VALUES(?1, ?2, 1, ?3,"
                                  " (SELECT coalesce(max(id), 0) + 1 FROM project_keys))";
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sq_stmt(c, proj_sql, &st, err);
    if (rc != 0)
        return rc;
    sq_bind_str(st, 1, p->name);
    sq_bind_str(st, 2, p->slug);
    sqlite3_bind_int(st, 3, p->issue_level);
    sqlite3_bind_int64(st, 4, p->created_at);
    rc = sq_step_done(c, st, "insert project", err);
    if (rc != 0)
        return rc;
    p->id = sqlite3_last_insert_rowid(c->db);
    rc = sq_stmt(c, key_sql, &st, err);
    if (rc != 0)
        return rc;
    sq_bind_str(st, 1, p->key);
    sqlite3_bind_int64(st, 2, p->id);
    sqlite3_bind_int64(st, 3, p->created_at);
    return sq_step_done(c, st, "insert project key", err);
}

int sq_project_add(struct store *st, const char *name, struct store_project *out,
                   struct bl_err *err)
{
    struct sq_store *s = sq_of(st);
    struct store_project p;
    size_t len = name != NULL ? strlen(name) : 0;
    int rc;

    if (len == 0 || len >= sizeof(p.name))
        return bl_err_set(err, BL_EINVAL, "project name must be 1..%zu bytes", sizeof(p.name) - 1);
    memset(&p, 0, sizeof(p));
    memcpy(p.name, name, len + 1);
    p.issue_level = EV_ERROR;
    p.created_at = clock_now_us();
    rand_hex(p.key, 16);
    pthread_mutex_lock(&s->admin_mu);
    rc = sq_exec(s->admin, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = unique_slug(s->admin, name, p.slug, sizeof(p.slug), err);
        if (rc == 0)
            rc = insert_project(s->admin, &p, err);
        if (rc == 0)
            rc = sq_exec(s->admin, "COMMIT", err);
        if (rc != 0)
            sqlite3_exec(s->admin->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (rc == 0 && out != NULL)
        *out = p;
    return rc;
}

static int read_project(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_project *p = ctx;

    (void)err;
    memset(p, 0, sizeof(*p));
    p->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, p->name, sizeof(p->name));
    sq_col_copy(st, 2, p->slug, sizeof(p->slug));
    p->issue_level = sqlite3_column_int(st, 3);
    p->created_at = sqlite3_column_int64(st, 4);
    sq_col_copy(st, 5, p->key, sizeof(p->key));
    return 0;
}

int sq_project_get(struct store *st, int64_t id, struct store_project *out, struct bl_err *err)
{
    static const char sql[] = PROJECT_SELECT " WHERE p.id = ?1";
    struct sq_query q = { sql, "project", { SQ_INT(id) }, 1, read_project, out };

    return sq_read_one(sq_of(st), &q, err);
}

/* Projects as they are listed: a growing array. */
struct project_vec {
    struct store_project *v;
    size_t n, cap;
};

static int list_project(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct project_vec *pv = ctx;

    if (pv->n == pv->cap) {
        pv->cap = pv->cap == 0 ? 16 : pv->cap * 2;
        pv->v = xrealloc(pv->v, pv->cap * sizeof(*pv->v));
    }
    return read_project(st, &pv->v[pv->n++], err);
}

int sq_project_list(struct store *st, struct pool *pool, struct store_project **out, size_t *n,
                    struct bl_err *err)
{
    static const char sql[] = PROJECT_SELECT " ORDER BY p.id";
    struct project_vec pv = { NULL, 0, 0 };
    struct sq_query q = { sql, "list projects", { { 0 } }, 0, list_project, &pv };
    int rc = sq_read_each(sq_of(st), &q, err);

    *out = NULL;
    *n = 0;
    if (rc == 0 && pv.n > 0) {
        *out = pool_memdup(pool, pv.v, pv.n * sizeof(*pv.v));
        *n = pv.n;
    }
    free(pv.v);
    return rc;
}

/* Runs sql with an optional text ?1 on a reader and returns its first int64 column. */
static int read_id(struct sq_store *s, const char *sql, const char *arg, int64_t *out,
                   const char *what, struct bl_err *err)
{
    struct sq_query q = { sql, what, { SQ_TEXT(arg) }, arg != NULL, sq_row_int64, out };

    return sq_read_one(s, &q, err);
}

int sq_key_lookup(struct store *st, const char *public_key, int64_t *project_id, struct bl_err *err)
{
    static const char sql[] =
        "SELECT project_id FROM project_keys WHERE public_key = ?1 AND active = 1";

    if (public_key == NULL)
        return bl_err_set(err, BL_EINVAL, "key lookup: no key");
    return read_id(sq_of(st), sql, public_key, project_id, "key lookup", err);
}

int sq_token_lookup(struct store *st, const char *token_hash, int64_t *user_id, struct bl_err *err)
{
    static const char sql[] = "SELECT user_id FROM api_tokens WHERE token_hash = ?1";

    if (token_hash == NULL)
        return bl_err_set(err, BL_EINVAL, "token lookup: no token");
    return read_id(sq_of(st), sql, token_hash, user_id, "token lookup", err);
}

int sq_user_count(struct store *st, int64_t *n, struct bl_err *err)
{
    static const char sql[] = "SELECT count(*) FROM users";

    return read_id(sq_of(st), sql, NULL, n, "user count", err);
}

/* One admin statement, run under admin_mu; reports rows changed / the new rowid. */
int sq_admin_run(struct sq_store *s, const char *sql, const struct sq_arg *args, size_t nargs,
                 int64_t *rowid, int *changes, struct bl_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&s->admin_mu);
    rc = sq_stmt(s->admin, sql, &q, err);
    if (rc == 0 && sq_bind_args(q, args, nargs) != SQLITE_OK) {
        sq_done(q);
        rc = sq_fail(s->admin, "admin write", err);
    }
    if (rc == 0)
        rc = sq_step_done(s->admin, q, "admin write", err);
    if (rc == 0 && rowid != NULL)
        *rowid = sqlite3_last_insert_rowid(s->admin->db);
    if (rc == 0 && changes != NULL)
        *changes = sqlite3_changes(s->admin->db);
    pthread_mutex_unlock(&s->admin_mu);
    return rc;
}

int sq_user_add(struct store *st, const char *login, const char *password_hash, int is_admin,
                int64_t *user_id, struct bl_err *err)
{
    static const char sql[] = "INSERT INTO users(email, password_hash, is_admin, created_at)"
                              " VALUES(?1, ?2, ?3, ?4)";
    struct sq_arg a[4] = { SQ_TEXT(login), SQ_TEXT(password_hash), SQ_INT(is_admin != 0),
                           SQ_INT(clock_now_us()) };
    int64_t id = 0;
    int rc;

    if (login == NULL || login[0] == '\0' || password_hash == NULL)
        return bl_err_set(err, BL_EINVAL, "user needs a login and a password hash");
    rc = sq_admin_run(sq_of(st), sql, a, 4, &id, NULL, err);
    if (rc == BL_EEXIST)
        return bl_err_set(err, BL_EEXIST, "user '%s' already exists", login);
    if (rc == 0 && user_id != NULL)
        *user_id = id;
    return rc;
}

int sq_token_add(struct store *st, int64_t user_id, const char *token_hash, const char *label,
                 struct bl_err *err)
{
    static const char sql[] = "INSERT INTO api_tokens(token_hash, user_id, name, created_at)"
                              " VALUES(?1, ?2, ?3, ?4)";
    struct sq_arg a[4] = { SQ_TEXT(token_hash), SQ_INT(user_id), SQ_TEXT(label),
                           SQ_INT(clock_now_us()) };

    if (token_hash == NULL || token_hash[0] == '\0')
        return bl_err_set(err, BL_EINVAL, "token hash missing");
    return sq_admin_run(sq_of(st), sql, a, 4, NULL, NULL, err);
}

int sq_issue_set_status(struct store *st, int64_t issue_id, int status, struct bl_err *err)
{
    static const char sql[] = "UPDATE issues SET status = ?1, resolved_in_release = NULL"
                              " WHERE id = ?2";
    /* In the next release: only an issue that has seen a release can wait for another. */
    static const char next_sql[] = "UPDATE issues SET status = 1,"
                                   " resolved_in_release = last_release WHERE id = ?2"
                                   " AND last_release IS NOT NULL AND ?1 = 3";
    struct sq_arg a[2] = { SQ_INT(status), SQ_INT(issue_id) };
    int changes = 0;
    int rc;

    if (status != STORE_ISSUE_UNRESOLVED && status != STORE_ISSUE_RESOLVED &&
        status != STORE_ISSUE_IGNORED && status != STORE_ISSUE_RESOLVED_NEXT_RELEASE)
        return bl_err_set(err, BL_EINVAL, "bad issue status %d", status);
    if (status == STORE_ISSUE_RESOLVED_NEXT_RELEASE) {
        rc = sq_admin_run(sq_of(st), next_sql, a, 2, NULL, &changes, err);
        if (rc == 0 && changes == 0)
            return bl_err_set(err, BL_ENOTFOUND, "no issue %lld with a release",
                              (long long)issue_id);
        return rc;
    }
    rc = sq_admin_run(sq_of(st), sql, a, 2, NULL, &changes, err);
    if (rc == 0 && changes == 0)
        return bl_err_set(err, BL_ENOTFOUND, "no issue %lld", (long long)issue_id);
    return rc;
}

/* Grouping rules of a project (migration 6). */

struct grouping_row {
    struct pool *pool;
    struct store_grouping *g;
};

static int read_grouping(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct grouping_row *r = ctx;
    const char *fp = sq_col_str(r->pool, st, 0), *stack = sq_col_str(r->pool, st, 1);

    (void)err;
    r->g->fingerprint_rules = fp != NULL ? fp : "";
    r->g->stack_rules = stack != NULL ? stack : "";
    r->g->version = sqlite3_column_int(st, 2);
    r->g->updated_at = sqlite3_column_int64(st, 3);
    return 0;
}

int sq_grouping_get(struct store *st, int64_t project_id, struct pool *pool,
                    struct store_grouping *out, struct bl_err *err)
{
    static const char sql[] = "SELECT fingerprint_rules, stack_rules, version, updated_at"
                              " FROM project_grouping WHERE project_id = ?1";
    struct grouping_row r = { pool, out };
    struct sq_query q = { sql, "grouping rules", { SQ_INT(project_id) }, 1, read_grouping, &r };
    struct store_project p;
    int rc;

    memset(out, 0, sizeof(*out));
    out->fingerprint_rules = "";
    out->stack_rules = "";
    rc = sq_read_one(sq_of(st), &q, err);
    if (rc == BL_ENOTFOUND)
        rc = sq_project_get(st, project_id, &p, err);
    return rc;
}

int sq_grouping_set(struct store *st, int64_t project_id, const char *fp, const char *stack,
                    int *version, struct bl_err *err)
{
    static const char sql[] =
        "INSERT INTO project_grouping(project_id, fingerprint_rules, stack_rules, version,"
        " updated_at) SELECT id, ?2, ?3, 1, ?4 FROM projects WHERE id = ?1"
        " ON CONFLICT(project_id) DO UPDATE SET fingerprint_rules = excluded.fingerprint_rules,"
        " stack_rules = excluded.stack_rules, version = version + 1,"
        " updated_at = excluded.updated_at";
    struct sq_arg a[4] = { SQ_INT(project_id), SQ_TEXT(fp), SQ_TEXT(stack),
                           SQ_INT(clock_now_us()) };
    struct store_grouping g;
    struct pool pool = POOL_INIT(4096);
    int changes = 0;
    int rc = sq_admin_run(sq_of(st), sql, a, 4, NULL, &changes, err);

    if (rc == 0 && changes == 0)
        rc = bl_err_set(err, BL_ENOTFOUND, "no project %lld", (long long)project_id);
    if (rc == 0)
        rc = sq_grouping_get(st, project_id, &pool, &g, err);
    if (rc == 0)
        *version = g.version;
    pool_release(&pool);
    return rc;
}
