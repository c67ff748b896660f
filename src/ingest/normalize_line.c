/*
 * normalize_line.c - log records of other wire formats (Elasticsearch
 * documents, OTLP) as JSON lines.
 *
 * DESIGN
 * A format whose records are log lines maps each record onto a JSON line in
 * the shape the logs door takes (docs/ingest.md): the fields the event model
 * has under their JSON-lines names (timestamp, level, message, host,
 * logger, trace_id, ...) and every other field as an attribute. That line is
 * the event's raw payload (source EV_SRC_LOGLINE), so storage, the listing
 * with its attributes and the API's rebuild on read are those of JSON lines
 * and need nothing per format; the bytes the client sent stay in the
 * journal. Sentry log items are kept the same way (sentry_items.c).
 *
 * An attribute whose name the JSON-lines normalizer would read as one of
 * the fields the mapping already set (an ECS "time" beside "@timestamp") is
 * renamed with a leading "_", so it neither replaces the field nor is lost.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/banned.h"

/* Names the JSON-lines normalizer reads as timestamp, level, message or host. */
static const char *const mapped_names[] = {
    "timestamp", "ts", "@timestamp", "time", "level", "message", "msg", "host", "hostname",
};

void nz_line_attr(cJSON *line, const char *key, cJSON *value)
{
    char name[256];

    if (key == NULL || key[0] == '\0' || value == NULL) {
        cJSON_Delete(value);
        return;
    }
    for (size_t i = 0; i < sizeof(mapped_names) / sizeof(mapped_names[0]); i++) {
        if (strcmp(key, mapped_names[i]) == 0) {
            name[0] = '_';
            snprintf(name + 1, sizeof(name) - 1, "%s", key);
            key = name;
            break;
        }
    }
    /* The first value of a name wins, as in the JSON-lines door. */
    if (cJSON_GetObjectItemCaseSensitive(line, key) != NULL) {
        cJSON_Delete(value);
        return;
    }
    cJSON_AddItemToObject(line, key, value);
}

void nz_line_time(cJSON *line, int64_t us)
{
    char t[40];

    if (us <= 0)
        return; /* the JSON-lines rule: no time means the time it was received */
    clock_fmt_rfc3339(us, t);
    cJSON_AddStringToObject(line, "timestamp", t);
}

void nz_line_str(cJSON *line, const char *key, const char *s, size_t len)
{
    cJSON *v;
    char *tmp;

    if (s == NULL || cJSON_GetObjectItemCaseSensitive(line, key) != NULL)
        return;
    tmp = cJSON_malloc(len + 1);
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    v = cJSON_CreateString(tmp);
    cJSON_free(tmp);
    if (v != NULL)
        cJSON_AddItemToObject(line, key, v);
}

void normalize_line_object(const cJSON *line, struct event *ev, const struct ingest_limits *lim,
                           struct pool *pool)
{
    char *text = cJSON_PrintUnformatted(line);

    if (text != NULL) {
        size_t n = strlen(text);

        ev->raw = pool_memdup(pool, text, n);
        ev->raw_len = n;
        ev->raw_encoding = EV_RAW_IDENTITY;
        cJSON_free(text);
    }
    normalize_log_line(line, ev, lim, pool);
}
