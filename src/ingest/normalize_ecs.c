/*
 * normalize_ecs.c - one Elasticsearch document into the event model,
 * through its JSON line (normalize_line.c).
 *
 * Shippers write ECS either nested ({"log":{"level":"error"}}) or with
 * dotted names ("log.level"), so the document is first flattened to dotted
 * names (objects only; arrays stay values), then each event field takes the
 * first name of its list that is present. What no field took is an
 * attribute under its dotted name, which is also how search names it
 * (attrs.host.ip).
 */
#include <stdio.h>
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/banned.h"

#define ECS_MAX_FIELDS 1024 /* flattened names kept; past them the rest is dropped */
#define ECS_MAX_NAME 256

struct flat {
    char *name;
    const cJSON *v;
    int used;
};

struct flat_set {
    struct flat *v;
    size_t n;
};

static void flatten(const cJSON *obj, const char *prefix, int depth, struct flat_set *s,
                    struct pool *pool)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, obj)
    {
        char name[ECS_MAX_NAME];
        int n;

        if (it->string == NULL || s->n >= ECS_MAX_FIELDS)
            continue;
        n = snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", it->string);
        if (n < 0 || (size_t)n >= sizeof(name))
            continue;
        if (cJSON_IsObject(it) && it->child != NULL && depth > 1) {
            flatten(it, name, depth - 1, s, pool);
            continue;
        }
        s->v[s->n].name = pool_memdup(pool, name, (size_t)n + 1);
        s->v[s->n].v = it;
        s->v[s->n].used = 0;
        s->n++;
    }
}

/* The first unused name of names[] present with a value of the wanted kind. */
static struct flat *take(struct flat_set *s, const char *const *names, int want_string)
{
    for (size_t k = 0; names[k] != NULL; k++) {
        for (size_t i = 0; i < s->n; i++) {
            struct flat *f = &s->v[i];

            if (f->used || strcmp(f->name, names[k]) != 0)
                continue;
            if (want_string ? !cJSON_IsString(f->v) : cJSON_IsNull(f->v))
                continue;
            f->used = 1;
            return f;
        }
    }
    return NULL;
}

static const char *const ecs_time[] = { "@timestamp", "timestamp",     "timereported",
                                        "time",       "timegenerated", NULL };
static const char *const ecs_level[] = { "log.level", "level", "severity", "priority", NULL };
static const char *const ecs_message[] = { "message", "log", "msg", NULL };
static const char *const ecs_host[] = { "host.name", "host.hostname", "hostname",
                                        "fromhost",  "host",          NULL };
static const char *const ecs_logger[] = { "log.logger", "logger", "service.name", "programname",
                                          NULL };

/* A field the line carries under its JSON-lines name; the member is consumed. */
static const struct ecs_map {
    const char *line_key;
    const char *names[3];
} ecs_strings[] = {
    { "trace_id", { "trace.id", "trace_id", NULL } },
    { "span_id", { "span.id", "span_id", NULL } },
    { "environment", { "service.environment", NULL, NULL } },
    { "release", { "service.version", NULL, NULL } },
};

static void copy_value(cJSON *line, const char *key, const struct flat *f)
{
    if (f != NULL)
        cJSON_AddItemToObject(line, key, cJSON_Duplicate(f->v, 1));
}

void normalize_es_doc(const cJSON *doc, const char *index, struct event *ev,
                      const struct ingest_limits *lim, struct pool *pool)
{
    struct flat_set s = { pool_alloc(pool, ECS_MAX_FIELDS * sizeof(struct flat)), 0 };
    cJSON *line = cJSON_CreateObject();
    struct flat *svc;

    if (line == NULL || !cJSON_IsObject(doc)) {
        cJSON_Delete(line);
        normalize_log_line(NULL, ev, lim, pool);
        return;
    }
    flatten(doc, "", lim->max_depth, &s, pool);
    copy_value(line, "timestamp", take(&s, ecs_time, 0));
    copy_value(line, "level", take(&s, ecs_level, 0));
    copy_value(line, "message", take(&s, ecs_message, 0));
    copy_value(line, "host", take(&s, ecs_host, 1));
    /* service.name names the logger when nothing else does, and stays an attribute. */
    svc = take(&s, ecs_logger, 1);
    if (svc != NULL && strcmp(svc->name, "service.name") == 0)
        svc->used = 0;
    copy_value(line, "logger", svc);
    for (size_t i = 0; i < sizeof(ecs_strings) / sizeof(ecs_strings[0]); i++) {
        const char *names[4] = { ecs_strings[i].names[0], ecs_strings[i].names[1],
                                 ecs_strings[i].names[2], NULL };

        copy_value(line, ecs_strings[i].line_key, take(&s, names, 0));
    }
    for (size_t i = 0; i < s.n; i++) {
        if (!s.v[i].used)
            nz_line_attr(line, s.v[i].name, cJSON_Duplicate(s.v[i].v, 1));
    }
    if (index != NULL && index[0] != '\0')
        nz_line_attr(line, "_index", cJSON_CreateString(index));
    normalize_line_object(line, ev, lim, pool);
    cJSON_Delete(line);
}
