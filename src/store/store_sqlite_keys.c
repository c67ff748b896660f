/*
 * store_sqlite_keys.c - DSN keys with their rate limits, and per-project
 * ingest settings (quota, scrubbing keys).
 *
 * Keys are never deleted: revoking clears `active`, so an old DSN stays
 * recognisable in the listing and its id is never reused.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

#define KEY_COLUMNS                                                                                \
    "k.id, k.project_id, k.public_key, k.label, k.active, k.created_at,"                           \
    " k.events_per_minute, k.events_per_hour, k.lines_per_minute"

static int read_key(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_key *k = ctx;

    (void)err;
    memset(k, 0, sizeof(*k));
    k->id = sqlite3_column_int64(st, 0);
    k->project_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, k->public_key, sizeof(k->public_key));
    sq_col_copy(st, 3, k->label, sizeof(k->label));
    k->active = sqlite3_column_int(st, 4);
    k->created_at = sqlite3_column_int64(st, 5);
    k->limits.events_per_minute = sqlite3_column_int64(st, 6);
    k->limits.events_per_hour = sqlite3_column_int64(st, 7);
    k->limits.lines_per_minute = sqlite3_column_int64(st, 8);
    return 0;
}

static int read_info(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_key_info *ki = ctx;

    (void)err;
    memset(ki, 0, sizeof(*ki));
    ki->project_id = sqlite3_column_int64(st, 0);
    ki->key_id = sqlite3_column_int64(st, 1);
    ki->key.events_per_minute = sqlite3_column_int64(st, 2);
    ki->key.events_per_hour = sqlite3_column_int64(st, 3);
    ki->key.lines_per_minute = sqlite3_column_int64(st, 4);
    ki->project.events_per_minute = sqlite3_column_int64(st, 5);
    ki->project.events_per_hour = sqlite3_column_int64(st, 6);
    ki->project.lines_per_minute = sqlite3_column_int64(st, 7);
    return 0;
}

int sq_key_info(struct store *st, const char *public_key, struct store_key_info *out,
                struct bl_err *err)
{
    static const char sql[] =
        "SELECT k.project_id, coalesce(k.id, 0), k.events_per_minute, k.events_per_hour,"
        " k.lines_per_minute, coalesce(s.events_per_minute, 0),"
        " coalesce(s.events_per_hour, 0), coalesce(s.lines_per_minute, 0)"
        " FROM project_keys k LEFT JOIN project_settings s ON s.project_id = k.project_id"
        " WHERE k.public_key = ?1 AND k.active = 1";
    struct sq_query q = { sql, "key lookup", { SQ_TEXT(public_key) }, 1, read_info, out };

    if (public_key == NULL)
        return bl_err_set(err, BL_EINVAL, "key lookup: no key");
    return sq_read_one(sq_of(st), &q, err);
}

static int check_limits(const struct store_limits *l, struct bl_err *err)
{
    if (l->events_per_minute < 0 || l->events_per_hour < 0 || l->lines_per_minute < 0)
        return bl_err_set(err, BL_EINVAL, "rate limits must be >= 0 (0: unlimited)");
    return 0;
}

int sq_key_add(struct store *st, struct store_key *k, struct bl_err *err)
{
    static const char sql[] =
        "INSERT INTO project_keys(public_key, project_id, active, created_at, id, label,"
        " events_per_minute, events_per_hour, lines_per_minute)"
        " SELECT ?1, ?2, 1, ?3, coalesce(max(id), 0) + 1, ?4, ?5, ?6, ?7 FROM project_keys";
    struct sq_arg args[7];
    int rc = check_limits(&k->limits, err);

    if (rc != 0)
        return rc;
    rand_hex(k->public_key, 16);
    k->active = 1;
    k->created_at = clock_now_us();
    if (k->label[0] == '\0')
        snprintf(k->label, sizeof(k->label), "Default");
    args[0] = (struct sq_arg)SQ_TEXT(k->public_key);
    args[1] = (struct sq_arg)SQ_INT(k->project_id);
    args[2] = (struct sq_arg)SQ_INT(k->created_at);
    args[3] = (struct sq_arg)SQ_TEXT(k->label);
    args[4] = (struct sq_arg)SQ_INT(k->limits.events_per_minute);
    args[5] = (struct sq_arg)SQ_INT(k->limits.events_per_hour);
    args[6] = (struct sq_arg)SQ_INT(k->limits.lines_per_minute);
    rc = sq_admin_run(sq_of(st), sql, args, 7, NULL, NULL, err);
    if (rc == 0) {
        static const char idsql[] = "SELECT id FROM project_keys WHERE public_key = ?1";
        struct sq_query q = {
            idsql, "new key", { SQ_TEXT(k->public_key) }, 1, sq_row_int64, &k->id
        };

        rc = sq_read_one(sq_of(st), &q, err);
    }
    return rc;
}

struct key_vec {
    struct store_key *v;
    size_t n, cap;
};

static int list_key(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct key_vec *kv = ctx;

    if (kv->n == kv->cap) {
        kv->cap = kv->cap == 0 ? 8 : kv->cap * 2;
        kv->v = xrealloc(kv->v, kv->cap * sizeof(*kv->v));
    }
    return read_key(st, &kv->v[kv->n++], err);
}

int sq_key_list(struct store *st, int64_t project_id, struct pool *pool, struct store_key **out,
                size_t *n, struct bl_err *err)
{
    static const char sql[] = "SELECT " KEY_COLUMNS
                              " FROM project_keys k WHERE k.project_id = ?1 ORDER BY k.id";
    struct key_vec kv = { NULL, 0, 0 };
    struct sq_query q = { sql, "list keys", { SQ_INT(project_id) }, 1, list_key, &kv };
    int rc = sq_read_each(sq_of(st), &q, err);

    *out = NULL;
    *n = 0;
    if (rc == 0 && kv.n > 0) {
        *out = pool_memdup(pool, kv.v, kv.n * sizeof(*kv.v));
        *n = kv.n;
    }
    free(kv.v);
    return rc;
}

int sq_key_update(struct store *st, const struct store_key *k, struct bl_err *err)
{
    static const char sql[] =
        "UPDATE project_keys SET label = ?3, active = ?4, events_per_minute = ?5,"
        " events_per_hour = ?6, lines_per_minute = ?7 WHERE id = ?1 AND project_id = ?2";
    struct sq_arg args[7];
    int changes = 0;
    int rc = check_limits(&k->limits, err);

    if (rc != 0)
        return rc;
    args[0] = (struct sq_arg)SQ_INT(k->id);
    args[1] = (struct sq_arg)SQ_INT(k->project_id);
    args[2] = (struct sq_arg)SQ_TEXT(k->label);
    args[3] = (struct sq_arg)SQ_INT(k->active != 0);
    args[4] = (struct sq_arg)SQ_INT(k->limits.events_per_minute);
    args[5] = (struct sq_arg)SQ_INT(k->limits.events_per_hour);
    args[6] = (struct sq_arg)SQ_INT(k->limits.lines_per_minute);
    rc = sq_admin_run(sq_of(st), sql, args, 7, NULL, &changes, err);
    if (rc == 0 && changes == 0)
        rc = bl_err_set(err, BL_ENOTFOUND, "no key %lld in this project", (long long)k->id);
    return rc;
}

static int read_settings(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct store_project_settings *ps = ctx;

    (void)err;
    ps->limits.events_per_minute = sqlite3_column_int64(st, 0);
    ps->limits.events_per_hour = sqlite3_column_int64(st, 1);
    ps->limits.lines_per_minute = sqlite3_column_int64(st, 2);
    sq_col_copy(st, 3, ps->scrub_fields, sizeof(ps->scrub_fields));
    sq_col_copy(st, 4, ps->safe_fields, sizeof(ps->safe_fields));
    return 0;
}

int sq_settings_get(struct store *st, int64_t project_id, struct store_project_settings *out,
                    struct bl_err *err)
{
    static const char sql[] =
        "SELECT events_per_minute, events_per_hour, lines_per_minute, scrub_fields, safe_fields"
        " FROM project_settings WHERE project_id = ?1";
    struct sq_query q = { sql, "project settings", { SQ_INT(project_id) }, 1, read_settings, out };
    int rc;

    memset(out, 0, sizeof(*out));
    rc = sq_read_one(sq_of(st), &q, err);
    return rc == BL_ENOTFOUND ? 0 : rc; /* no row: the defaults */
}

int sq_settings_set(struct store *st, int64_t project_id, const struct store_project_settings *in,
                    struct bl_err *err)
{
    static const char sql[] =
        "INSERT INTO project_settings(project_id, events_per_minute, events_per_hour,"
        " lines_per_minute, scrub_fields, safe_fields) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(project_id) DO UPDATE SET events_per_minute = excluded.events_per_minute,"
        " events_per_hour = excluded.events_per_hour,"
        " lines_per_minute = excluded.lines_per_minute, scrub_fields = excluded.scrub_fields,"
        " safe_fields = excluded.safe_fields";
    struct sq_arg args[6];
    int rc = check_limits(&in->limits, err);

    if (rc != 0)
        return rc;
    args[0] = (struct sq_arg)SQ_INT(project_id);
    args[1] = (struct sq_arg)SQ_INT(in->limits.events_per_minute);
    args[2] = (struct sq_arg)SQ_INT(in->limits.events_per_hour);
    args[3] = (struct sq_arg)SQ_INT(in->limits.lines_per_minute);
    args[4] = (struct sq_arg)SQ_TEXT(in->scrub_fields);
    args[5] = (struct sq_arg)SQ_TEXT(in->safe_fields);
    return sq_admin_run(sq_of(st), sql, args, 6, NULL, NULL, err);
}
