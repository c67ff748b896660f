/* esbulk.c - Elasticsearch _bulk bodies and answers (esbulk.h). */
#include <inttypes.h>
#include <string.h>

#include "ingest/esbulk.h"
#include "ingest/jsonscan.h"
#include "core/banned.h"

static const char *const actions[] = { "index", "create", "update", "delete" };

const char *esbulk_action_name(int action)
{
    return action >= 0 && action <= ESB_DELETE ? actions[action] : "index";
}

/* The next non-blank line, without its CR/LF; 0 at the end. */
static int next_line(const char *p, size_t len, size_t *i, struct slice *line)
{
    while (*i < len) {
        const char *nl = memchr(p + *i, '\n', len - *i);
        size_t end = nl != NULL ? (size_t)(nl - p) : len, start = *i, n;

        *i = nl != NULL ? end + 1 : len;
        n = end - start;
        while (n > 0 &&
               (p[start + n - 1] == '\r' || p[start + n - 1] == ' ' || p[start + n - 1] == '\t'))
            n--;
        while (n > 0 && (p[start] == ' ' || p[start] == '\t')) {
            start++;
            n--;
        }
        if (n > 0) {
            *line = (struct slice){ p + start, n };
            return 1;
        }
    }
    return 0;
}

struct action_scan {
    int action; /* -1 until found */
    int members;
    struct slice meta; /* the action's object */
};

static int action_member(void *arg, struct slice key, int type, struct slice value)
{
    struct action_scan *a = arg;

    a->members++;
    for (int k = 0; k <= ESB_DELETE; k++)
        if (type == JSONSCAN_OBJECT && slice_eq(key, actions[k])) {
            a->action = k;
            a->meta = value;
        }
    return 0;
}

struct meta_scan {
    struct pool *pool;
    struct slice index;
    struct slice id;
};

static struct slice unquote(struct pool *pool, struct slice v)
{
    struct buf b = BUF_INIT(1024);
    struct slice out = SLICE_NULL;

    if (jsonscan_unquote(v, &b) == 0)
        out = (struct slice){ pool_strndup(pool, b.p, b.len), b.len };
    buf_release(&b);
    return out;
}

static int meta_member(void *arg, struct slice key, int type, struct slice value)
{
    struct meta_scan *m = arg;

    if (type == JSONSCAN_STRING && slice_eq(key, "_index"))
        m->index = unquote(m->pool, value);
    else if (type == JSONSCAN_STRING && slice_eq(key, "_id"))
        m->id = unquote(m->pool, value);
    return 0;
}

static int parse_action(struct slice line, struct pool *pool, struct esbulk_item *it, size_t lineno,
                        struct bl_err *err)
{
    struct action_scan a = { -1, 0, SLICE_NULL };
    struct meta_scan m = { pool, SLICE_NULL, SLICE_NULL };
    int top = 0;

    if (jsonscan(line.p, line.len, 8, action_member, &a, &top, NULL) != 0 ||
        top != JSONSCAN_OBJECT || a.members != 1 || a.action < 0)
        return bl_err_set(err, BL_EPARSE,
                          "Malformed action/metadata line [%zu], expected one of index, "
                          "create, update, delete with an object",
                          lineno);
    jsonscan(a.meta.p, a.meta.len, 8, meta_member, &m, NULL, NULL);
    memset(it, 0, sizeof(*it));
    it->action = a.action;
    it->index = m.index;
    it->id = m.id;
    return 0;
}

static void judge_source(struct esbulk_item *it, struct slice doc, const struct esbulk_limits *lim)
{
    struct bl_err e = { 0 };
    int top = 0;

    it->doc = doc;
    if (it->action == ESB_UPDATE) {
        it->status = 400;
        it->error_type = "action_request_validation_exception";
        it->reason = "update is not supported: log lines are not edited";
    } else if (doc.len > lim->max_line) {
        it->status = 413;
        it->error_type = "mapper_parsing_exception";
        it->reason = "document too large";
    } else if (jsonscan(doc.p, doc.len, lim->max_depth, NULL, NULL, &top, &e) != 0 ||
               top != JSONSCAN_OBJECT) {
        it->status = 400;
        it->error_type = "mapper_parsing_exception";
        it->reason = "failed to parse: the source is not a JSON object";
    }
}

static struct esbulk_item *push(struct esbulk_items *out, struct pool *pool, size_t *cap)
{
    if (out->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct esbulk_item *v = pool_alloc(pool, ncap * sizeof(*v));

        if (out->n > 0)
            memcpy(v, out->v, out->n * sizeof(*v));
        out->v = v;
        *cap = ncap;
    }
    return &out->v[out->n++];
}

int esbulk_parse(const char *body, size_t len, const struct esbulk_limits *lim, struct pool *pool,
                 struct esbulk_items *out, struct bl_err *err)
{
    struct slice line;
    size_t i = 0, lineno = 0, cap = 0;

    memset(out, 0, sizeof(*out));
    while (next_line(body, len, &i, &line)) {
        struct esbulk_item *it;

        lineno++;
        if (out->n == lim->max_items)
            return bl_err_set(err, BL_ETOOBIG, "more than %zu actions in one request",
                              lim->max_items);
        it = push(out, pool, &cap);
        if (parse_action(line, pool, it, lineno, err) < 0)
            return BL_EPARSE;
        if (it->action == ESB_DELETE) {
            it->status = 400;
            it->error_type = "action_request_validation_exception";
            it->reason = "delete is not supported: log lines are not removed one by one";
            continue;
        }
        if (!next_line(body, len, &i, &line))
            return bl_err_set(err, BL_EPARSE,
                              "The bulk request must be terminated by a "
                              "source line after action line [%zu]",
                              lineno);
        lineno++;
        judge_source(it, line, lim);
        out->good += it->status == 0;
    }
    return 0;
}

static int add_item(struct buf *b, const struct esbulk_item *it, const char *id,
                    const char *default_index)
{
    int rc = buf_addf(b, "{\"%s\":{\"_index\":", esbulk_action_name(it->action));

    if (it->index.len > 0)
        rc = rc ? rc : buf_add_json_str(b, it->index.p, it->index.len);
    else
        rc = rc ? rc : buf_add_json_str(b, default_index, strlen(default_index));
    if (id != NULL || it->id.len > 0) {
        rc = rc ? rc : buf_addstr(b, ",\"_id\":");
        rc = rc ? rc : buf_add_json_str(b, id ? id : it->id.p, id ? strlen(id) : it->id.len);
    }
    if (it->status == 0)
        return rc ? rc : buf_addstr(b, ",\"_version\":1,\"result\":\"created\",\"status\":201}}");
    rc = rc ? rc : buf_addf(b, ",\"status\":%d,\"error\":{\"type\":", it->status);
    rc = rc ? rc : buf_add_json_str(b, it->error_type, strlen(it->error_type));
    rc = rc ? rc : buf_addstr(b, ",\"reason\":");
    rc = rc ? rc : buf_add_json_str(b, it->reason, strlen(it->reason));
    return rc ? rc : buf_addstr(b, "}}}");
}

int esbulk_response(const struct esbulk_items *items, const char *const *ids,
                    const char *default_index, int64_t took_ms, struct buf *out)
{
    int rc = buf_addf(out, "{\"took\":%" PRId64 ",\"errors\":%s,\"items\":[", took_ms,
                      items->good < items->n ? "true" : "false");

    for (size_t k = 0; rc == 0 && k < items->n; k++) {
        rc = k ? buf_addch(out, ',') : 0;
        rc = rc ? rc
                : add_item(out, &items->v[k],
                           ids != NULL && items->v[k].status == 0 ? ids[k] : NULL, default_index);
    }
    return rc ? rc : buf_addstr(out, "]}");
}
