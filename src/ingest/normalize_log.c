/*
 * normalize_log.c - one JSON-lines log record into the event model.
 *
 * Structured loggers disagree on key names (zap "ts" and "msg", slog
 * "time", Logstash "@timestamp"), so each event field has a short list of
 * aliases; the first alias present with a usable value wins. Whatever the
 * table does not consume stays an attribute, and normalize_src.c asks the
 * same table (nz_log_consumed) which members those are.
 */
#include <stddef.h>
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/json.h"
#include "core/banned.h"

const struct nz_log_field nz_log_fields[NZ_LOG_NFIELDS] = {
    { { "timestamp", "ts", "@timestamp", "time" }, NZ_LF_TIME, NZ_LF_NONE },
    { { "level" }, NZ_LF_LEVEL, NZ_LF_NONE },
    { { "message", "msg" }, NZ_LF_TEXT, offsetof(struct event, message) },
    { { "logger" }, NZ_LF_STRING, offsetof(struct event, logger) },
    { { "trace_id" }, NZ_LF_SCALAR, offsetof(struct event, trace_id) },
    { { "span_id" }, NZ_LF_SCALAR, offsetof(struct event, span_id) },
    { { "request_id" }, NZ_LF_SCALAR, offsetof(struct event, request_id) },
    { { "host", "hostname" }, NZ_LF_STRING, offsetof(struct event, server_name) },
    { { "release" }, NZ_LF_STRING, offsetof(struct event, release) },
    { { "environment" }, NZ_LF_STRING, offsetof(struct event, environment) },
};

#define NFIELDS NZ_LOG_NFIELDS
#define NKEYS NZ_LOG_NKEYS

static int usable(int kind, const cJSON *v)
{
    int64_t us;
    int level;

    switch (kind) {
    case NZ_LF_TIME:
        return normalize_timestamp(v, &us) == 0;
    case NZ_LF_LEVEL:
        return nz_level(v, &level) == 0;
    case NZ_LF_TEXT:
        return v != NULL && !cJSON_IsNull(v);
    case NZ_LF_STRING:
        return cJSON_IsString(v);
    default:
        return cJSON_IsString(v) || cJSON_IsNumber(v);
    }
}

/* The member of obj that supplies field f, or NULL. */
static const cJSON *pick(const cJSON *obj, const struct nz_log_field *f)
{
    for (size_t k = 0; k < NKEYS && f->keys[k] != NULL; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->keys[k]);

        if (usable(f->kind, v))
            return v;
    }
    return NULL;
}

int nz_log_consumed(const cJSON *obj, const cJSON *member)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        for (size_t k = 0; k < NKEYS && nz_log_fields[i].keys[k] != NULL; k++) {
            if (strcmp(member->string, nz_log_fields[i].keys[k]) == 0)
                return pick(obj, &nz_log_fields[i]) == member;
        }
    }
    return 0;
}

static const char *text_of(const cJSON *v, size_t max, struct pool *pool)
{
    const char *s = nz_scalar(v, pool, max);
    char *json;

    if (s != NULL)
        return s;
    json = cJSON_PrintUnformatted(v);
    if (json == NULL)
        return NULL;
    s = nz_strdup(pool, json, strlen(json), max);
    cJSON_free(json);
    return s;
}

static void apply(const struct nz_log_field *f, const cJSON *v, struct event *ev, size_t max,
                  struct pool *pool)
{
    int level;

    switch (f->kind) {
    case NZ_LF_TIME:
        ev->timestamp = nz_clamp_time(v, ev->received_at);
        break;
    case NZ_LF_LEVEL:
        if (nz_level(v, &level) == 0)
            ev->level = level;
        break;
    default:
        *(const char **)((char *)ev + f->off) = text_of(v, max, pool);
        break;
    }
}

/*
 * The first member of obj named by each alias, in one pass over obj:
 * looking each of the 15 aliases up walked the members 15 times (a tenth
 * of a log line's decode). A member's first byte rules out most aliases
 * before a string compare.
 */
static void members_of(const cJSON *obj, const cJSON *found[NFIELDS][NKEYS])
{
    memset(found, 0, sizeof(const cJSON *[NFIELDS][NKEYS]));
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        if (c->string == NULL)
            continue;
        for (size_t i = 0; i < NFIELDS; i++) {
            for (size_t k = 0; k < NKEYS && nz_log_fields[i].keys[k] != NULL; k++) {
                const char *key = nz_log_fields[i].keys[k];

                if (found[i][k] == NULL && key[0] == c->string[0] && strcmp(key, c->string) == 0)
                    found[i][k] = c;
            }
        }
    }
}

void normalize_log_line(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                        struct pool *pool)
{
    const cJSON *found[NFIELDS][NKEYS];

    ev->source = EV_SRC_LOGLINE;
    ev->kind = EV_KIND_LOG;
    ev->level = EV_INFO;
    ev->timestamp = ev->received_at;
    if (!cJSON_IsObject(obj))
        return;
    members_of(obj, found);
    for (size_t i = 0; i < NFIELDS; i++) {
        /* As pick(): the first alias present with a usable value. */
        for (size_t k = 0; k < NKEYS && nz_log_fields[i].keys[k] != NULL; k++) {
            if (found[i][k] != NULL && usable(nz_log_fields[i].kind, found[i][k])) {
                apply(&nz_log_fields[i], found[i][k], ev, lim->max_string, pool);
                break;
            }
        }
    }
}
