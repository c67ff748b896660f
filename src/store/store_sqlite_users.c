/*
 * store_sqlite_users.c - access: users, web sessions, project members, API tokens.
 *
 * Every request authenticated by a token or a session reads its row here
 * (joined with the owner's users row), so revoking a token, disabling a
 * user or ending a session takes effect on the very next request: nothing
 * above the store caches a positive answer. Those reads use the reader
 * pool and a cached statement each; writes go through the admin connection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define USER_SELECT                                                                                \
    "SELECT id, email, name, password_hash, is_admin, disabled, created_at, last_login"            \
    " FROM users"

static int read_user(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_user *u = ctx;

    (void)err;
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, u->email, sizeof(u->email));
    sq_col_copy(st, 2, u->name, sizeof(u->name));
    sq_col_copy(st, 3, u->password_hash, sizeof(u->password_hash));
    u->is_admin = sqlite3_column_int(st, 4) != 0;
    u->disabled = sqlite3_column_int(st, 5) != 0;
    u->created_at = sqlite3_column_int64(st, 6);
    u->last_login = sqlite3_column_int64(st, 7);
    return 0;
}

int sq_user_get(struct store *st, int64_t id, const char *email, struct store_user *out,
                struct bl_err *err)
{
    static const char by_id[] = USER_SELECT " WHERE id = ?1";
    static const char by_email[] = USER_SELECT " WHERE email = ?1";
    struct sq_query q = { by_id, "user", { SQ_INT(id) }, 1, read_user, out };

    if (email != NULL) {
        q.sql = by_email;
        q.args[0] = (struct sq_arg)SQ_TEXT(email);
    }
    return sq_read_one(sq_of(st), &q, err);
}

/* A growing array of fixed-size rows filled by a row callback. */
struct vec {
    char *v;
    size_t n, cap, size;
    sq_row_fn read;
};

static int vec_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct vec *vc = ctx;

    if (vc->n == vc->cap) {
        vc->cap = vc->cap == 0 ? 16 : vc->cap * 2;
        vc->v = xrealloc(vc->v, vc->cap * vc->size);
    }
    return vc->read(st, vc->v + vc->size * vc->n++, err);
}

/* Runs q (its row/ctx are set here) and copies the rows into pool. */
static int read_vec(struct sq_store *s, struct sq_query *q, sq_row_fn read, size_t size,
                    struct pool *pool, void **out, size_t *n, struct bl_err *err)
{
    struct vec vc = { NULL, 0, 0, size, read };
    int rc;

    q->row = vec_row;
    q->ctx = &vc;
    rc = sq_read_each(s, q, err);
    *out = NULL;
    *n = 0;
    if (rc == 0 && vc.n > 0) {
        *out = pool_memdup(pool, vc.v, vc.n * size);
        *n = vc.n;
    }
    free(vc.v);
    return rc;
}

int sq_user_list(struct store *st, struct pool *pool, struct store_user **out, size_t *n,
                 struct bl_err *err)
{
    static const char sql[] = USER_SELECT " ORDER BY id";
    struct sq_query q = { sql, "list users", { { 0 } }, 0, NULL, NULL };

    return read_vec(sq_of(st), &q, read_user, sizeof(**out), pool, (void **)out, n, err);
}

/* Statements of one user change, run in one transaction on the admin connection. */
static int user_change_tx(struct sq_conn *c, int64_t id, const struct store_user_change *ch,
                          struct bl_err *err)
{
    static const char set_name[] = "UPDATE users SET name = ?2 WHERE id = ?1";
    static const char set_hash[] = "UPDATE users SET password_hash = ?2 WHERE id = ?1";
    static const char set_disabled[] = "UPDATE users SET disabled = ?2 WHERE id = ?1";
    static const char set_admin[] = "UPDATE users SET is_admin = ?2 WHERE id = ?1";
    static const char set_login[] = "UPDATE users SET last_login = ?2 WHERE id = ?1";
    static const char end_others[] =
        "DELETE FROM sessions WHERE user_id = ?1 AND id_hash <> coalesce(?2, '')";
    struct sq_query q = { NULL, "update user", { SQ_INT(id), { 0 } }, 2, NULL, NULL };
    int rc = 0;

    if (rc == 0 && ch->name != NULL) {
        q.sql = set_name, q.args[1] = (struct sq_arg)SQ_TEXT(ch->name);
        rc = sq_query_each(c, &q, err);
    }
    if (rc == 0 && ch->password_hash != NULL) {
        q.sql = set_hash, q.args[1] = (struct sq_arg)SQ_TEXT(ch->password_hash);
        rc = sq_query_each(c, &q, err);
    }
    if (rc == 0 && ch->disabled >= 0) {
        q.sql = set_disabled, q.args[1] = (struct sq_arg)SQ_INT(ch->disabled != 0);
        rc = sq_query_each(c, &q, err);
    }
    if (rc == 0 && ch->is_admin >= 0) {
        q.sql = set_admin, q.args[1] = (struct sq_arg)SQ_INT(ch->is_admin != 0);
        rc = sq_query_each(c, &q, err);
    }
    if (rc == 0 && ch->last_login > 0) {
        q.sql = set_login, q.args[1] = (struct sq_arg)SQ_INT(ch->last_login);
        rc = sq_query_each(c, &q, err);
    }
    /* A new password or a disabled account ends the other sessions. */
    if (rc == 0 && (ch->password_hash != NULL || ch->disabled == 1)) {
        q.sql = end_others;
        q.args[1] = (struct sq_arg)SQ_TEXT(ch->disabled == 1 ? NULL : ch->keep_session);
        rc = sq_query_each(c, &q, err);
    }
    return rc;
}

int sq_user_update(struct store *st, int64_t id, const struct store_user_change *ch,
                   struct bl_err *err)
{
    static const char exists[] = "SELECT 1 FROM users WHERE id = ?1";
    struct sq_store *s = sq_of(st);
    struct sq_query q = { exists, "user", { SQ_INT(id) }, 1, NULL, NULL };
    int rc;

    pthread_mutex_lock(&s->admin_mu);
    rc = sq_exec(s->admin, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        rc = sq_query_one(s->admin, &q, err);
        if (rc == 0)
            rc = user_change_tx(s->admin, id, ch, err);
        if (rc == 0)
            rc = sq_exec(s->admin, "COMMIT", err);
        if (rc != 0)
            sqlite3_exec(s->admin->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&s->admin_mu);
    return rc;
}

int sq_session_add(struct store *st, const struct store_session *ss, struct bl_err *err)
{
    static const char sql[] = "INSERT INTO sessions(id_hash, user_id, csrf, created_at, last_seen)"
                              " VALUES(?1, ?2, ?3, ?4, ?5)";
    struct sq_arg a[5] = { SQ_TEXT(ss->id_hash), SQ_INT(ss->user_id), SQ_TEXT(ss->csrf),
                           SQ_INT(ss->created_at), SQ_INT(ss->last_seen) };

    return sq_admin_run(sq_of(st), sql, a, 5, NULL, NULL, err);
}

static int read_session(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_principal *p = ctx;

    (void)err;
    memset(p, 0, sizeof(*p));
    sq_col_copy(st, 0, p->session.id_hash, sizeof(p->session.id_hash));
    p->session.user_id = p->user_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, p->session.csrf, sizeof(p->session.csrf));
    p->session.created_at = sqlite3_column_int64(st, 3);
    p->session.last_seen = sqlite3_column_int64(st, 4);
    p->is_admin = sqlite3_column_int(st, 5) != 0;
    p->disabled = sqlite3_column_int(st, 6) != 0;
    return 0;
}

int sq_session_get(struct store *st, const char *id_hash, struct store_principal *out,
                   struct bl_err *err)
{
    static const char sql[] =
        "SELECT s.id_hash, s.user_id, s.csrf, s.created_at, s.last_seen, u.is_admin, u.disabled"
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1";
    struct sq_query q = { sql, "session", { SQ_TEXT(id_hash) }, 1, read_session, out };

    return sq_read_one(sq_of(st), &q, err);
}

int sq_session_touch(struct store *st, const char *id_hash, int64_t now, struct bl_err *err)
{
    static const char sql[] = "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1";
    struct sq_arg a[2] = { SQ_TEXT(id_hash), SQ_INT(now) };

    return sq_admin_run(sq_of(st), sql, a, 2, NULL, NULL, err);
}

int sq_session_delete(struct store *st, const char *id_hash, struct bl_err *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE id_hash = ?1";
    struct sq_arg a[1] = { SQ_TEXT(id_hash) };

    return sq_admin_run(sq_of(st), sql, a, 1, NULL, NULL, err);
}

int sq_member_set(struct store *st, int64_t project_id, int64_t user_id, int role,
                  struct bl_err *err)
{
    static const char upsert[] =
        "INSERT INTO project_members(project_id, user_id, role, created_at) VALUES(?1, ?2, ?3, ?4)"
        " ON CONFLICT(project_id, user_id) DO UPDATE SET role = excluded.role";
    static const char del[] = "DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2";
    struct sq_arg a[4] = { SQ_INT(project_id), SQ_INT(user_id), SQ_INT(role),
                           SQ_INT(clock_now_us()) };
    int changes = 0, rc;

    if (role < STORE_ROLE_NONE || role > STORE_ROLE_ADMIN)
        return bl_err_set(err, BL_EINVAL, "bad role %d", role);
    if (role != STORE_ROLE_NONE)
        return sq_admin_run(sq_of(st), upsert, a, 4, NULL, NULL, err);
    rc = sq_admin_run(sq_of(st), del, a, 2, NULL, &changes, err);
    if (rc == 0 && changes == 0)
        return bl_err_set(err, BL_ENOTFOUND, "not a member");
    return rc;
}

int sq_member_role(struct store *st, int64_t project_id, int64_t user_id, int *role,
                   struct bl_err *err)
{
    static const char sql[] =
        "SELECT role FROM project_members WHERE project_id = ?1 AND user_id = ?2";
    int64_t v = STORE_ROLE_NONE;
    struct sq_query q = { sql, "member role", { SQ_INT(project_id), SQ_INT(user_id) },
                          2,   sq_row_int64,  &v };
    int rc = sq_read_one(sq_of(st), &q, err);

    *role = (int)v;
    if (rc == BL_ENOTFOUND) {
        *role = STORE_ROLE_NONE;
        return 0;
    }
    return rc;
}

static int read_member(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_member *m = ctx;

    (void)err;
    m->user_id = sqlite3_column_int64(st, 0);
    m->email = NULL; /* filled from the strings below, once the pool is known */
    m->name = NULL;
    m->role = sqlite3_column_int(st, 3);
    m->created_at = sqlite3_column_int64(st, 4);
    return 0;
}

int sq_member_list(struct store *st, int64_t project_id, struct pool *pool,
                   struct store_member **out, size_t *n, struct bl_err *err)
{
    static const char sql[] =
        "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM project_members m"
        " JOIN users u ON u.id = m.user_id WHERE m.project_id = ?1 ORDER BY m.user_id";
    struct sq_query q = { sql, "list members", { SQ_INT(project_id) }, 1, NULL, NULL };
    struct store_user u;
    int rc = read_vec(sq_of(st), &q, read_member, sizeof(**out), pool, (void **)out, n, err);

    /* Emails and names through user_get: short lists, and the row reader stays pool-free. */
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        rc = sq_user_get(st, (*out)[i].user_id, NULL, &u, err);
        if (rc == 0) {
            (*out)[i].email = pool_strdup(pool, u.email);
            (*out)[i].name = pool_strdup(pool, u.name);
        }
    }
    return rc;
}

/* "1,5,7" <-> ids. Unknown bytes end the list: the store wrote it. */
static void projects_format(const struct store_token *t, char *out, size_t outsz)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < t->nprojects && off < outsz; i++)
        off += (size_t)snprintf(out + off, outsz - off, "%s%lld", i ? "," : "",
                                (long long)t->projects[i]);
}

static void projects_parse(const char *s, struct store_token *t)
{
    char *end = NULL;

    t->nprojects = 0;
    while (s != NULL && *s != '\0' && t->nprojects < STORE_TOKEN_PROJECTS) {
        long long v = strtoll(s, &end, 10);

        if (end == s)
            break;
        t->projects[t->nprojects++] = v;
        s = *end == ',' ? end + 1 : end;
    }
}

int sq_token_create(struct store *st, const char *token_hash, struct store_token *t,
                    struct bl_err *err)
{
    static const char sql[] = "INSERT INTO api_tokens(token_hash, user_id, name, scopes, projects,"
                              " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    char projects[STORE_TOKEN_PROJECTS * 21];
    struct sq_arg a[6];

    if (token_hash == NULL || token_hash[0] == '\0')
        return bl_err_set(err, BL_EINVAL, "token hash missing");
    if (t->nprojects > STORE_TOKEN_PROJECTS)
        return bl_err_set(err, BL_EINVAL, "a token names at most %d projects",
                          STORE_TOKEN_PROJECTS);
    projects_format(t, projects, sizeof(projects));
    t->created_at = clock_now_us();
    a[0] = (struct sq_arg)SQ_TEXT(token_hash);
    a[1] = (struct sq_arg)SQ_INT(t->user_id);
    a[2] = (struct sq_arg)SQ_TEXT(t->name);
    a[3] = (struct sq_arg)SQ_INT(t->scopes);
    a[4] = (struct sq_arg)SQ_TEXT(projects);
    a[5] = (struct sq_arg)SQ_INT(t->created_at);
    return sq_admin_run(sq_of(st), sql, a, 6, &t->id, NULL, err);
}

#define TOKEN_COLS "t.id, t.user_id, t.name, t.scopes, t.projects, t.created_at, t.last_used"

static int read_token(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_token *t = ctx;

    (void)err;
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, t->name, sizeof(t->name));
    t->scopes = (unsigned)sqlite3_column_int(st, 3) & STORE_SCOPE_ALL;
    projects_parse((const char *)sqlite3_column_text(st, 4), t);
    t->created_at = sqlite3_column_int64(st, 5);
    t->last_used = sqlite3_column_int64(st, 6);
    return 0;
}

static int read_token_principal(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_principal *p = ctx;

    memset(p, 0, sizeof(*p));
    read_token(st, &p->token, err);
    p->user_id = p->token.user_id;
    p->is_admin = sqlite3_column_int(st, 7) != 0;
    p->disabled = sqlite3_column_int(st, 8) != 0;
    return 0;
}

int sq_token_get(struct store *st, const char *token_hash, struct store_principal *out,
                 struct bl_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS ", u.is_admin, u.disabled FROM api_tokens t"
                              " JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1";
    struct sq_query q = { sql, "token", { SQ_TEXT(token_hash) }, 1, read_token_principal, out };

    if (token_hash == NULL)
        return bl_err_set(err, BL_EINVAL, "token lookup: no token");
    return sq_read_one(sq_of(st), &q, err);
}

int sq_token_list(struct store *st, int64_t user_id, struct pool *pool, struct store_token **out,
                  size_t *n, struct bl_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens t"
                              " WHERE ?1 = 0 OR t.user_id = ?1 ORDER BY t.id";
    struct sq_query q = { sql, "list tokens", { SQ_INT(user_id) }, 1, NULL, NULL };

    return read_vec(sq_of(st), &q, read_token, sizeof(**out), pool, (void **)out, n, err);
}

int sq_token_revoke(struct store *st, int64_t id, int64_t user_id, struct bl_err *err)
{
    static const char sql[] = "DELETE FROM api_tokens WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)";
    struct sq_arg a[2] = { SQ_INT(id), SQ_INT(user_id) };
    int changes = 0;
    int rc = sq_admin_run(sq_of(st), sql, a, 2, NULL, &changes, err);

    if (rc == 0 && changes == 0)
        return bl_err_set(err, BL_ENOTFOUND, "no token %lld", (long long)id);
    return rc;
}

int sq_token_touch(struct store *st, int64_t id, int64_t now, struct bl_err *err)
{
    static const char sql[] = "UPDATE api_tokens SET last_used = ?2 WHERE id = ?1";
    struct sq_arg a[2] = { SQ_INT(id), SQ_INT(now) };

    return sq_admin_run(sq_of(st), sql, a, 2, NULL, NULL, err);
}

int sq_project_update(struct store *st, int64_t id, const char *name, int issue_level,
                      struct bl_err *err)
{
    static const char sql[] = "UPDATE projects SET name = coalesce(?2, name),"
                              " issue_level = CASE WHEN ?3 < 0 THEN issue_level ELSE ?3 END"
                              " WHERE id = ?1";
    struct sq_arg a[3] = { SQ_INT(id), SQ_TEXT(name), SQ_INT(issue_level) };
    int changes = 0;
    int rc;

    if (name != NULL &&
        (name[0] == '\0' || strlen(name) >= sizeof(((struct store_project *)0)->name)))
        return bl_err_set(err, BL_EINVAL, "project name must be 1..127 bytes");
    rc = sq_admin_run(sq_of(st), sql, a, 3, NULL, &changes, err);
    if (rc == 0 && changes == 0)
        return bl_err_set(err, BL_ENOTFOUND, "no project %lld", (long long)id);
    return rc;
}
