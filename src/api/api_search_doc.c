/*
 * api_search_doc.c - a stored event as a query_match() document (see the header).
 *
 * Fields the store has as columns are read from the row, so the SQL the
 * store lowers them to and this document always agree; the rest comes from
 * the event rebuilt from the raw payload. "service" is not a field of the
 * event model: it is a log line's "service" attribute or an event's
 * "service" tag, as shippers put it.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_search_doc.h"
#include "core/json.h"
#include "ingest/normalize.h"
#include "search/query.h"
#include "core/banned.h"

int api_doc_init(struct api_doc *d, const struct store_event *row, const struct ingest_limits *lim,
                 struct pool *pool)
{
    struct json_limits jl = { lim->max_body, lim->max_depth };
    cJSON *obj;

    memset(d, 0, sizeof(*d));
    d->row = row;
    d->pool = pool;
    if (row->raw == NULL || row->raw_len == 0)
        return 0;
    obj = json_parse(row->raw, row->raw_len, &jl, NULL);
    if (obj == NULL || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return -1;
    }
    d->lim = lim;
    d->obj = obj;
    return 0;
}

/*
 * The event the digest made of the payload, normalized on first use (a
 * cache filled through the const document query_match hands the getter).
 */
static const struct event *doc_ev(const struct api_doc *cd)
{
    struct api_doc *d = (struct api_doc *)cd;

    if (d->normalized || d->obj == NULL)
        return &d->ev;
    d->normalized = 1;
    memcpy(d->ev.event_id, d->row->event_id, sizeof(d->ev.event_id));
    d->ev.project_id = d->row->project_id;
    d->ev.received_at = d->row->received_at;
    if (d->row->source == EV_SRC_LOGLINE)
        normalize_log_line(d->obj, &d->ev, d->lim, d->pool);
    else
        normalize_sentry(d->obj, &d->ev, d->lim, d->pool);
    return &d->ev;
}

void api_doc_free(struct api_doc *d)
{
    cJSON_Delete(d->obj);
    d->obj = NULL;
}

static size_t one(const char *s, struct slice *vals, size_t max)
{
    if (s == NULL || max == 0)
        return 0;
    vals[0] = slice_from(s);
    return 1;
}

/* A JSON scalar as text (strings as they are, numbers as written by %g, booleans). */
static size_t scalar(const struct api_doc *d, const cJSON *v, struct slice *vals, size_t max)
{
    if (v == NULL || max == 0)
        return 0;
    if (cJSON_IsString(v))
        return one(v->valuestring, vals, max);
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;

        if (x == (double)(long long)x && x > -9e15 && x < 9e15)
            return one(pool_printf(d->pool, "%lld", (long long)x), vals, max);
        return one(pool_printf(d->pool, "%.17g", x), vals, max);
    }
    if (cJSON_IsBool(v))
        return one(cJSON_IsTrue(v) ? "true" : "false", vals, max);
    return 0;
}

/* attrs.a.b: the member "a.b" itself, or member a's member b (log lines only). */
static const cJSON *attr_member(const struct api_doc *d, const char *path)
{
    const cJSON *obj = d->obj, *it;

    if (obj == NULL || d->row->source != EV_SRC_LOGLINE)
        return NULL;
    cJSON_ArrayForEach(it, obj)
    {
        size_t kl = strlen(it->string);

        if (!normalize_src_attribute(obj, it) || strncasecmp(it->string, path, kl) != 0)
            continue;
        if (path[kl] == '\0')
            return it;
        if (path[kl] == '.' && cJSON_IsObject(it)) {
            const cJSON *sub = it;
            const char *p = path + kl + 1;

            /* nested objects, one dotted step at a time */
            while (sub != NULL && cJSON_IsObject(sub)) {
                const cJSON *kid, *found = NULL;

                cJSON_ArrayForEach(kid, sub)
                {
                    size_t l = strlen(kid->string);

                    if (strncasecmp(kid->string, p, l) == 0 && (p[l] == '\0' || p[l] == '.')) {
                        found = kid;
                        break;
                    }
                }
                if (found == NULL)
                    return NULL;
                if (p[strlen(found->string)] == '\0')
                    return found;
                p += strlen(found->string) + 1;
                sub = found;
            }
        }
    }
    return NULL;
}

static size_t tags(const struct api_doc *d, const char *key, struct slice *vals, size_t max)
{
    const struct event *ev = doc_ev(d);
    size_t n = 0;

    for (size_t i = 0; i < ev->ntags && n < max; i++)
        if (ev->tags[i].key != NULL && strcasecmp(ev->tags[i].key, key) == 0 &&
            ev->tags[i].value != NULL)
            vals[n++] = slice_from(ev->tags[i].value);
    return n;
}

/* error.type, error.value, stack.function, stack.module over every exception. */
static size_t exc_field(const struct api_doc *d, const char *field, struct slice *vals, size_t max)
{
    const struct event *ev = doc_ev(d);
    size_t n = 0;

    for (size_t k = 0; k < ev->nexc && n < max; k++) {
        const struct ev_exception *x = &ev->exc[k];

        if (strcmp(field, "error.type") == 0 && x->type != NULL)
            vals[n++] = slice_from(x->type);
        else if (strcmp(field, "error.value") == 0 && x->value != NULL)
            vals[n++] = slice_from(x->value);
        for (size_t f = 0; f < x->nframes && n < max; f++) {
            const char *s = strcmp(field, "stack.function") == 0 ? x->frames[f].function
                            : strcmp(field, "stack.module") == 0 ? x->frames[f].module
                                                                 : NULL;
            if (s != NULL)
                vals[n++] = slice_from(s);
        }
    }
    return n;
}

static size_t service(const struct api_doc *d, struct slice *vals, size_t max)
{
    size_t n = scalar(d, attr_member(d, "service"), vals, max);

    return n > 0 ? n : tags(d, "service", vals, max);
}

static size_t event_field(const struct api_doc *d, const char *f, struct slice *vals, size_t max)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        { "host", offsetof(struct event, server_name) },
        { "platform", offsetof(struct event, platform) },
        { "transaction", offsetof(struct event, transaction) },
        { "trace_id", offsetof(struct event, trace_id) },
        { "span_id", offsetof(struct event, span_id) },
        { "request_id", offsetof(struct event, request_id) },
        { "user.id", offsetof(struct event, user_id) },
        { "user.email", offsetof(struct event, user_email) },
        { "user.ip", offsetof(struct event, user_ip) },
    };

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (strcmp(f, strs[i].name) == 0)
            return one(*(const char *const *)((const char *)doc_ev(d) + strs[i].off), vals, max);
    if (strncmp(f, "error.", 6) == 0 || strncmp(f, "stack.", 6) == 0)
        return exc_field(d, f, vals, max);
    if (strncmp(f, "tags.", 5) == 0)
        return tags(d, f + 5, vals, max);
    if (strncmp(f, "attrs.", 6) == 0)
        return scalar(d, attr_member(d, f + 6), vals, max);
    if (strcmp(f, "service") == 0)
        return service(d, vals, max);
    return 0;
}

size_t api_search_doc_get(const void *doc, const char *f, struct slice *vals, size_t max)
{
    const struct api_doc *d = doc;
    const struct store_event *r = d->row;

    if (strcmp(f, "message") == 0)
        return one(r->message, vals, max);
    if (strcmp(f, "title") == 0)
        return one(r->title, vals, max);
    if (strcmp(f, "level") == 0)
        return one(ev_level_name(r->level), vals, max);
    if (strcmp(f, "logger") == 0)
        return one(r->logger, vals, max);
    if (strcmp(f, "release") == 0)
        return one(r->release, vals, max);
    if (strcmp(f, "environment") == 0)
        return one(r->environment, vals, max);
    if (strcmp(f, "culprit") == 0)
        return one(r->culprit, vals, max);
    if (strcmp(f, "event_id") == 0)
        return one(r->event_id, vals, max);
    if (strcmp(f, "timestamp") == 0)
        return one(pool_printf(d->pool, "%lld", (long long)r->timestamp), vals, max);
    return event_field(d, f, vals, max);
}

int api_search_match(void *arg, const struct store_event *row)
{
    const struct api_match *m = arg;
    struct api_doc d;
    struct pool pool;
    int rc;

    pool_init(&pool, 8192);
    rc = api_doc_init(&d, row, m->limits, &pool);
    if (rc == 0)
        rc = query_match(m->query, api_search_doc_get, &d, m->now_us) ? 1 : 0;
    else
        rc = 0; /* a payload that no longer parses matches on its columns alone: no */
    api_doc_free(&d);
    pool_release(&pool);
    return rc;
}
