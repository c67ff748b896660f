/*
 * api_seen.c - environments and releases of issues (store issue_seen).
 *
 * DESIGN
 * On the issues page environment:X means Sentry's "issues with at least
 * one event in X". The store keeps, per issue, the environments and
 * releases of its events and filters the issue listing by them with an
 * EXISTS on its index (store_sqlite_seen.c), so a filter never reads
 * events. What the store decides exactly leaves the query before
 * query_match sees it: the top-level AND terms environment:/release: with
 * ASCII values (the store compares ASCII case-insensitively and with
 * prefixes, as query_match does for keywords), their negations and has:.
 * The rest (such a term inside OR, non-ASCII values) is query_match's on
 * the issue as a document, whose environment and release values are then
 * loaded per issue (the 32 most recent of each, as query_match looks at
 * no more values of a field).
 *
 * ?environment=NAME and ?release=NAME (repeatable: any of them) are the
 * same filter with exact names, as the project's listings give them.
 */
#include <string.h>

#include "api/api_json.h"
#include "api/api_seen.h"
#include "core/banned.h"

#define SEEN_DOC_MAX 32    /* values of one kind query_match looks at (query_eval.c) */
#define SEEN_ISSUE_MAX 100 /* names of each kind in an issue's JSON */

static const char *const kind_fields[2] = { "environment", "release" };

static int seen_kind(const char *field)
{
    for (int k = 0; k < 2; k++)
        if (field != NULL && strcmp(field, kind_fields[k]) == 0)
            return k;
    return -1;
}

static int ascii_value(const struct query_value *v)
{
    if (v->text.len == 0)
        return 0;
    for (size_t i = 0; i < v->text.len; i++)
        if ((unsigned char)v->text.p[i] >= 0x80 || v->text.p[i] == '\0')
            return 0;
    return 1;
}

/* n (a top-level term) as a store filter; 0 when the store cannot decide it exactly. */
static int as_filter(struct pool *pool, const struct query_node *n, struct store_seen_filter *f)
{
    const char **vals;
    int *prefix;

    memset(f, 0, sizeof(*f));
    if (n->kind == Q_NOT) {
        if (!as_filter(pool, n->kids[0], f))
            return 0;
        f->negate = !f->negate;
        return 1;
    }
    f->kind = seen_kind(n->field);
    if (f->kind < 0 || (n->kind != Q_FIELD && n->kind != Q_HAS))
        return 0;
    f->nocase = 1;
    if (n->kind == Q_HAS)
        return 1;
    if (n->op != Q_EQ || n->nvalues == 0 || n->nvalues > STORE_SEEN_VALUES_MAX)
        return 0;
    vals = pool_calloc(pool, n->nvalues, sizeof(*vals));
    prefix = pool_calloc(pool, n->nvalues, sizeof(*prefix));
    for (size_t i = 0; i < n->nvalues; i++) {
        if (!ascii_value(&n->values[i]))
            return 0;
        vals[i] = pool_strndup(pool, n->values[i].text.p, n->values[i].text.len);
        prefix[i] = n->values[i].prefix;
    }
    f->values = vals;
    f->prefix = prefix;
    f->nvalues = n->nvalues;
    return 1;
}

/* Moves the terms the store decides from *query into f (*nf of cap). */
static void split_query(struct pool *pool, const struct query_node **query,
                        struct store_seen_filter *f, size_t *nf, size_t cap)
{
    const struct query_node *root = *query;
    const struct query_node *const *kids = &root;
    size_t nkids = 1, left = 0;
    struct query_node **rest;
    struct query_node *and;

    if (root == NULL)
        return;
    if (root->kind == Q_AND) {
        kids = (const struct query_node *const *)root->kids;
        nkids = root->nkids;
    }
    rest = pool_calloc(pool, nkids, sizeof(*rest));
    for (size_t i = 0; i < nkids; i++) {
        if (*nf < cap && as_filter(pool, kids[i], &f[*nf]))
            (*nf)++;
        else
            rest[left++] = (struct query_node *)kids[i];
    }
    if (left == nkids)
        return;
    if (left <= 1) {
        *query = left == 1 ? rest[0] : NULL;
        return;
    }
    and = pool_calloc(pool, 1, sizeof(*and));
    *and = *root;
    and->kids = rest;
    and->nkids = left;
    *query = and;
}

/* ?environment= / ?release= into a filter; 0 when absent, -1 after answering. */
static int param_filter(struct bl_req *req, struct bl_resp *resp, int kind,
                        struct store_seen_filter *f, int *have)
{
    const char **vals = pool_calloc(req->pool, STORE_SEEN_VALUES_MAX + 1, sizeof(*vals));
    size_t n = req_query_all(req, kind_fields[kind], vals, STORE_SEEN_VALUES_MAX + 1);

    *have = n > 0;
    if (n == 0)
        return 0;
    if (n > STORE_SEEN_VALUES_MAX) {
        resp_error(resp, 400, "at most %d %s parameters", STORE_SEEN_VALUES_MAX, kind_fields[kind]);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (vals[i][0] == '\0') {
            resp_error(resp, 400, "%s must not be empty", kind_fields[kind]);
            return -1;
        }
    }
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->values = vals;
    f->nvalues = n;
    return 0;
}

int api_seen_filters(struct bl_req *req, struct bl_resp *resp, const struct query_node **query,
                     struct store_issue_query *q)
{
    struct store_seen_filter *f = pool_calloc(req->pool, STORE_SEEN_FILTERS_MAX,
                                              sizeof(struct store_seen_filter));
    size_t nf = 0;

    for (int kind = 0; kind < 2; kind++) {
        int have = 0;

        if (param_filter(req, resp, kind, &f[nf], &have) < 0)
            return -1;
        nf += (size_t)have;
    }
    split_query(req->pool, query, f, &nf, STORE_SEEN_FILTERS_MAX);
    q->seen = f;
    q->nseen = nf;
    return 0;
}

size_t api_seen_values(struct api_seen_cache *c, int kind, struct slice *vals, size_t max)
{
    size_t n = 0;

    if (kind < 0 || kind > 1)
        return 0;
    if (!c->loaded[kind]) {
        c->loaded[kind] = 1;
        if (store_seen_list(c->st, 0, c->issue_id, kind, SEEN_DOC_MAX, c->pool, &c->v[kind],
                            &c->n[kind], NULL) < 0)
            c->failed = 1;
    }
    for (size_t i = 0; i < c->n[kind] && n < max; i++)
        vals[n++] = slice_from(c->v[kind][i].value);
    return n;
}

int api_write_issue_seen(struct bl_req *req, struct jw *w, int64_t issue_id)
{
    static const char *const keys[2] = { "environments", "releases" };

    for (int kind = 0; kind < 2; kind++) {
        struct store_seen *v = NULL;
        size_t n = 0;

        if (store_seen_list(req->app->store, 0, issue_id, kind, SEEN_ISSUE_MAX, req->pool, &v, &n,
                            NULL) < 0)
            return -1;
        jw_arr(w, keys[kind]);
        for (size_t i = 0; i < n; i++)
            jw_str(w, NULL, v[i].value);
        jw_arr_end(w);
    }
    return 0;
}

/* GET /api/0/projects/{id}/environments/ and /releases/: most recently seen first. */
static void project_seen(struct bl_req *req, struct bl_resp *resp, int kind)
{
    static const char *const params[] = { "limit", NULL };
    int64_t pid = req_param_id(req, 0);
    struct store_project p;
    struct store_seen *v = NULL;
    struct bl_err err = { 0 };
    size_t limit = 0, n = 0;
    struct jw w;

    if (pid <= 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    if (api_require(req, resp, API_READ, pid) < 0 || req_query_only(req, resp, params) < 0 ||
        aj_limit(req, resp, 100, 1000, &limit) < 0)
        return;
    if (store_project_get(req->app->store, pid, &p, NULL) < 0) {
        resp_error(resp, 404, "no such project");
        return;
    }
    if (store_seen_list(req->app->store, pid, 0, kind, limit, req->pool, &v, &n, &err) < 0) {
        resp_error(resp, 500, "%s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++) {
        jw_obj(&w, NULL);
        jw_str(&w, "name", v[i].value);
        jw_time(&w, "first_seen", v[i].first_seen);
        jw_time(&w, "last_seen", v[i].last_seen);
        jw_int(&w, "issues", v[i].issues);
        jw_int(&w, "events", v[i].times_seen);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    aj_send(resp, &w);
}

void api_project_environments(struct bl_req *req, struct bl_resp *resp)
{
    project_seen(req, resp, STORE_SEEN_ENVIRONMENT);
}

void api_project_releases(struct bl_req *req, struct bl_resp *resp)
{
    project_seen(req, resp, STORE_SEEN_RELEASE);
}
