/*
 * api_search.c - search over logs and events: listings with ?query=,
 * histograms, facets and the context of a line.
 *
 * Every endpoint takes a fixed set of query parameters and refuses any
 * other (a typo such as ?qeury= must not silently return everything), and
 * a malformed query is a 400 that says where and what was expected. The
 * store answers the query (store.h); what it cannot decide from its columns
 * it asks api_search_match() (api_search_doc.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_event_doc.h"
#include "api/api_json.h"
#include "api/api_search.h"
#include "core/clock.h"
#include "search/query.h"
#include "core/banned.h"

#define HIST_AUTO_BUCKETS 120
#define FACET_SCAN_MAX 100000 /* newest rows a facet request reads at most */
#define FACET_FIELDS_MAX 10
#define FACET_SLOTS 4096 /* distinct values counted per field */

int api_query_parse(struct bl_req *req, struct bl_resp *resp, const char *text, int target,
                    const struct query_node **out)
{
    struct query_node *n = NULL;
    struct query_error qe;
    char msg[256];
    struct jw w;

    *out = NULL;
    if (text == NULL)
        return 0;
    if (query_parse(text, strlen(text), target, req->pool, &n, &qe) == 0) {
        *out = n;
        return 0;
    }
    snprintf(msg, sizeof(msg), "query: %s (at position %zu)", qe.msg, qe.pos);
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    jw_str(&w, "error", msg);
    jw_int(&w, "position", (int64_t)qe.pos);
    jw_obj_end(&w);
    aj_send(resp, &w);
    if (resp->status == 200)
        resp->status = 400;
    return -1;
}

int api_search_begin(struct bl_req *req, struct bl_resp *resp, int target, int kind,
                     const char *const *allowed, struct search_req *s)
{
    struct store_event_query *q = &s->q;

    memset(s, 0, sizeof(*s));
    q->project_id = req_param_id(req, 0);
    q->kind = kind;
    if (q->project_id <= 0) {
        resp_error(resp, 404, "no such project");
        return -1;
    }
    if (api_require(req, resp, API_READ, q->project_id) < 0 ||
        req_query_only(req, resp, allowed) < 0 ||
        aj_time_range(req, resp, &q->since, &q->until) < 0 ||
        api_query_parse(req, resp, req_query(req, "query"), target, &s->m.query) < 0)
        return -1;
    s->m.limits = &req->app->limits;
    s->m.now_us = clock_now_us();
    api_retention_clamp(req, q->project_id, s->m.now_us, &q->since, &q->until);
    q->query = s->m.query;
    q->now_us = s->m.now_us;
    q->match = api_search_match;
    q->match_arg = &s->m;
    return 0;
}

int64_t api_retention_cutoff(struct bl_req *req, int64_t project_id, int64_t now_us)
{
    int days = STORE_RETENTION_DAYS_DEFAULT;

    if (store_retention_get(req->app->store, project_id, &days, NULL) != 0)
        return 0;
    return now_us - (int64_t)days * CLOCK_US_PER_DAY;
}

void api_retention_clamp(struct bl_req *req, int64_t project_id, int64_t now_us, int64_t *since,
                         int64_t *until)
{
    int64_t cut = api_retention_cutoff(req, project_id, now_us);

    if (cut > *since)
        *since = cut;
    if (*until > 0 && *until <= *since)
        *until = *since; /* an empty range */
}

/* Listings of events (issue events; logs are in api_events.c). */

static const char *const list_params[] = { "query", "since", "until", "limit", "cursor", NULL };

static void event_row(struct bl_req *req, struct jw *w, const struct store_event *e)
{
    (void)req;
    api_write_event_row(w, e);
}

void api_events_list(struct bl_req *req, struct bl_resp *resp)
{
    struct search_req s;

    if (api_search_begin(req, resp, QUERY_EVENTS, EV_KIND_ISSUE, list_params, &s) < 0 ||
        aj_limit(req, resp, 100, 1000, &s.q.limit) < 0)
        return;
    s.q.cursor = req_query(req, "cursor");
    api_send_event_page(req, resp, &s.q, event_row);
}

/* Histograms. */

static const char *const hist_params[] = { "query", "since", "until", "interval", NULL };

/* "30s", "1m", "1h", "1d": µs, or 0 when malformed. */
static int64_t parse_interval(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    int64_t unit = *end == 's'   ? CLOCK_US_PER_SEC
                   : *end == 'm' ? 60 * CLOCK_US_PER_SEC
                   : *end == 'h' ? CLOCK_US_PER_HOUR
                   : *end == 'd' ? CLOCK_US_PER_DAY
                                 : 0;

    if (end == s || v < 1 || v > 100000 || unit == 0 || end[1] != '\0')
        return 0;
    return v * unit;
}

static int64_t auto_interval(int64_t span)
{
    static const int64_t steps[] = { 60,       300,       900,   1800,      3600,      3 * 3600,
                                     6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400 };
    size_t i;

    for (i = 0; i + 1 < sizeof(steps) / sizeof(steps[0]); i++)
        if (span / (steps[i] * CLOCK_US_PER_SEC) < HIST_AUTO_BUCKETS)
            break;
    return steps[i] * CLOCK_US_PER_SEC;
}

static int hist_range(struct bl_req *req, struct bl_resp *resp, struct search_req *s,
                      struct store_histogram *h)
{
    const char *iv = req_query(req, "interval");
    int64_t until = s->q.until > 0 ? s->q.until : s->m.now_us;
    int64_t since = s->q.since > 0 ? s->q.since : until - CLOCK_US_PER_DAY;
    int64_t nb;

    if (since >= until) {
        resp_error(resp, 400, "'since' must be before 'until'");
        return -1;
    }
    h->interval = iv == NULL || strcmp(iv, "auto") == 0 ? auto_interval(until - since)
                                                        : parse_interval(iv);
    if (h->interval == 0) {
        resp_error(resp, 400, "interval must be auto or a duration such as 1m, 1h or 1d");
        return -1;
    }
    h->start = since - since % h->interval;
    nb = (until - h->start + h->interval - 1) / h->interval;
    if (nb > STORE_HIST_MAX) {
        resp_error(resp, 400, "interval too small for the time range (at most %d buckets)",
                   STORE_HIST_MAX);
        return -1;
    }
    h->nbuckets = (size_t)nb;
    h->counts = pool_calloc(req->pool, h->nbuckets * EV__NLEVELS, sizeof(int64_t));
    return 0;
}

static void write_buckets(struct jw *w, const struct store_histogram *h)
{
    jw_int(w, "interval", h->interval / CLOCK_US_PER_SEC);
    jw_arr(w, "buckets");
    for (size_t b = 0; b < h->nbuckets; b++) {
        const int64_t *c = &h->counts[b * EV__NLEVELS];
        int64_t total = 0;

        for (int l = 0; l < EV__NLEVELS; l++)
            total += c[l];
        jw_obj(w, NULL);
        jw_time(w, "t", h->start + (int64_t)b * h->interval);
        jw_int(w, "count", total);
        jw_obj(w, "levels");
        for (int l = 0; l < EV__NLEVELS; l++)
            if (c[l] > 0)
                jw_int(w, ev_level_name(l), c[l]);
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void histogram(struct bl_req *req, struct bl_resp *resp, int target, int kind)
{
    struct search_req s;
    struct store_histogram h;
    struct bl_err err = { 0 };
    struct jw w;
    int rc;

    if (api_search_begin(req, resp, target, kind, hist_params, &s) < 0 ||
        hist_range(req, resp, &s, &h) < 0)
        return;
    rc = store_event_histogram(req->app->store, &s.q, &h, &err);
    if (rc < 0) {
        resp_error(resp, rc == BL_EINVAL ? 400 : 500, "%s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    jw_obj(&w, NULL);
    write_buckets(&w, &h);
    jw_obj_end(&w);
    aj_send(resp, &w);
}

void api_logs_histogram(struct bl_req *req, struct bl_resp *resp)
{
    histogram(req, resp, QUERY_LOGS, EV_KIND_LOG);
}

void api_events_histogram(struct bl_req *req, struct bl_resp *resp)
{
    histogram(req, resp, QUERY_EVENTS, EV_KIND_ISSUE);
}

/* Facets. */

static const char *const facet_params[] = { "query", "since", "until", "field", "limit", NULL };

struct facet_slot {
    const char *value;
    int64_t count;
};

struct facet {
    const char *field; /* canonical */
    struct facet_slot *slots;
    size_t used;
    int64_t others; /* values past FACET_SLOTS distinct ones */
};

struct facets {
    struct facet f[FACET_FIELDS_MAX];
    size_t n;
    size_t rows;
    struct bl_req *req;
};

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static void facet_count(struct facet *f, struct slice v, struct pool *pool)
{
    size_t i = (size_t)str_hash(v.p, v.len) & (FACET_SLOTS - 1);

    for (size_t probe = 0; probe < FACET_SLOTS; probe++, i = (i + 1) & (FACET_SLOTS - 1)) {
        struct facet_slot *s = &f->slots[i];

        if (s->value == NULL) {
            if (f->used * 4 >= FACET_SLOTS * 3)
                break; /* full enough: the rest are "others" */
            s->value = pool_strndup(pool, v.p, v.len);
            s->count = 1;
            f->used++;
            return;
        }
        if (strlen(s->value) == v.len && memcmp(s->value, v.p, v.len) == 0) {
            s->count++;
            return;
        }
    }
    f->others++;
}

/*
 * Whether the row itself holds field f as the document would give it: the
 * columns api_search_doc_get reads from the row, and the host and service
 * of a log line read from its block (host_known, service_known). Then no
 * payload is re-normalized.
 */
static int row_field(const struct store_event *row, const char *f, struct slice *v)
{
    const char *s;

    if (strcmp(f, "level") == 0)
        s = ev_level_name(row->level);
    else if (strcmp(f, "logger") == 0)
        s = row->logger;
    else if (strcmp(f, "release") == 0)
        s = row->release;
    else if (strcmp(f, "environment") == 0)
        s = row->environment;
    else if (strcmp(f, "host") == 0 && row->host_known)
        s = row->server_name;
    else if (strcmp(f, "service") == 0 && row->service_known)
        s = row->service;
    else
        return -1;
    if (s == NULL)
        return 0;
    *v = slice_from(s);
    return 1;
}

static int facet_row(void *arg, const struct store_event *row)
{
    struct facets *fs = arg;
    struct api_doc d;
    struct pool pool;
    struct slice vals[32];
    int doc = 0; /* 1: d is open, -1: the payload does not parse */

    fs->rows++;
    /* a payload that does not parse gives no values, as before (the row's own fields neither) */
    if (row->raw != NULL) {
        pool_init(&pool, 8192);
        doc = api_doc_init(&d, row, &fs->req->app->limits, &pool) == 0 ? 1 : -1;
    }
    for (size_t i = 0; i < fs->n && doc >= 0; i++) {
        size_t nv;
        int r = row_field(row, fs->f[i].field, vals);

        if (r >= 0)
            nv = (size_t)r;
        else {
            if (doc == 0) {
                pool_init(&pool, 8192);
                doc = api_doc_init(&d, row, &fs->req->app->limits, &pool) == 0 ? 1 : -1;
            }
            nv = doc > 0 ? api_search_doc_get(&d, fs->f[i].field, vals, 32) : 0;
        }
        for (size_t k = 0; k < nv; k++)
            facet_count(&fs->f[i], vals[k], fs->req->pool);
    }
    if (doc != 0) {
        api_doc_free(&d);
        pool_release(&pool);
    }
    return 0;
}

/*
 * What a facet scan of log lines asks the store for: only the fields a
 * line's block gives (row_field: STORE_RAW_FIELDS, or _SERVICE when service
 * is one of them), else whole lines with their payloads (1).
 */
static int line_fields_only(const struct facets *fs)
{
    static const char *const cheap[] = { "level",       "logger", "release",
                                         "environment", "host",   "service" };
    int mode = STORE_RAW_FIELDS;

    for (size_t i = 0; i < fs->n; i++) {
        size_t k = 0;

        while (k < sizeof(cheap) / sizeof(cheap[0]) && strcmp(cheap[k], fs->f[i].field) != 0)
            k++;
        if (k == sizeof(cheap) / sizeof(cheap[0]))
            return 1;
        if (strcmp(fs->f[i].field, "service") == 0)
            mode = STORE_RAW_FIELDS_SERVICE;
    }
    return mode;
}

/* ?field=F: a field of the search language (its canonical name), or 400. */
static int facet_fields(struct bl_req *req, struct bl_resp *resp, int target, struct facets *fs)
{
    const char *names[FACET_FIELDS_MAX + 1];
    size_t n = req_query_all(req, "field", names, FACET_FIELDS_MAX + 1);

    if (n == 0 || n > FACET_FIELDS_MAX) {
        resp_error(resp, 400, "facets need 1 to %d field parameters", FACET_FIELDS_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = pool_printf(req->pool, "has:%s", names[i]);
        const struct query_node *q;
        struct query_node *qn = NULL;
        struct query_error qe;

        if (strchr(names[i], ' ') != NULL || strchr(names[i], ':') != NULL ||
            query_parse(text, strlen(text), target, req->pool, &qn, &qe) != 0 || qn == NULL ||
            qn->kind != Q_HAS) {
            resp_error(resp, 400, "unknown field '%.64s' for facets", names[i]);
            return -1;
        }
        q = qn;
        fs->f[i].field = q->field;
        fs->f[i].slots = pool_calloc(req->pool, FACET_SLOTS, sizeof(struct facet_slot));
    }
    fs->n = n;
    return 0;
}

static int slot_cmp(const void *a, const void *b)
{
    const struct facet_slot *x = a, *y = b;

    if (x->value == NULL || y->value == NULL)
        return x->value == NULL ? (y->value == NULL ? 0 : 1) : -1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->value, y->value);
}

static void write_facets(struct jw *w, struct facets *fs, size_t limit, int complete)
{
    jw_obj(w, NULL);
    jw_int(w, "rows", (int64_t)fs->rows);
    jw_tri(w, "complete", complete != 0);
    jw_arr(w, "facets");
    for (size_t i = 0; i < fs->n; i++) {
        struct facet *f = &fs->f[i];

        qsort(f->slots, FACET_SLOTS, sizeof(*f->slots), slot_cmp);
        jw_obj(w, NULL);
        jw_str(w, "field", f->field);
        jw_arr(w, "values");
        for (size_t k = 0; k < limit && k < f->used; k++) {
            jw_obj(w, NULL);
            jw_str(w, "value", f->slots[k].value);
            jw_int(w, "count", f->slots[k].count);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_int(w, "others", f->others);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

static void facets(struct bl_req *req, struct bl_resp *resp, int target, int kind)
{
    struct search_req s;
    struct facets *fs = pool_calloc(req->pool, 1, sizeof(*fs));
    struct bl_err err = { 0 };
    size_t limit, scanned = 0;
    struct jw w;
    int rc;

    fs->req = req;
    if (api_search_begin(req, resp, target, kind, facet_params, &s) < 0 ||
        facet_fields(req, resp, target, fs) < 0 || aj_limit(req, resp, 10, 100, &limit) < 0)
        return;
    s.q.with_raw = kind == EV_KIND_LOG ? line_fields_only(fs) : 1;
    rc = store_event_scan(req->app->store, &s.q, FACET_SCAN_MAX, facet_row, fs, &scanned, &err);
    if (rc < 0) {
        resp_error(resp, rc == BL_EINVAL ? 400 : 500, "%s", bl_err_msg(&err));
        return;
    }
    aj_begin(resp, &w);
    write_facets(&w, fs, limit, scanned < FACET_SCAN_MAX);
    aj_send(resp, &w);
}

void api_logs_facets(struct bl_req *req, struct bl_resp *resp)
{
    facets(req, resp, QUERY_LOGS, EV_KIND_LOG);
}

void api_events_facets(struct bl_req *req, struct bl_resp *resp)
{
    facets(req, resp, QUERY_EVENTS, EV_KIND_ISSUE);
}
