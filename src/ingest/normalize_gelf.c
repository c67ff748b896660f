/*
 * normalize_gelf.c - one GELF message (protocols.md §3.1) into the event
 * model, through its JSON line (normalize_line.c).
 *
 * Graylog's tolerance is the rule: "version" is ignored, "message" stands in
 * for a missing "short_message", null values are skipped, arrays and
 * objects are kept as their JSON text, the leading "_" of an additional
 * field is dropped for display and "_id" is dropped altogether; unknown
 * top-level fields are kept as attributes too. Levels are syslog
 * severities; graypy passes other Python levels through (25), which are read
 * as Python levels, and anything else is clamped to debug.
 */
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/banned.h"

static int gelf_level(const cJSON *v)
{
    int level;

    if (v == NULL || cJSON_IsNull(v))
        v = NULL;
    if (v == NULL) {
        (void)ev_level_from_number(1, &level); /* GELF's default: 1, alert */
        return level;
    }
    if (cJSON_IsNumber(v) && v->valuedouble > 7 && v->valuedouble < 10)
        return EV_DEBUG;
    if (nz_level(v, &level) == 0)
        return level;
    if (cJSON_IsNumber(v))
        return v->valuedouble < 0 ? EV_FATAL : EV_DEBUG;
    return EV_INFO;
}

/* A GELF timestamp: seconds (decimals allowed), as a number or numeric string. */
static int64_t gelf_time(const cJSON *v)
{
    int64_t us;

    if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e11)
        return (int64_t)(v->valuedouble * 1e6);
    if (cJSON_IsString(v) && normalize_timestamp(v, &us) == 0)
        return us;
    return 0;
}

static cJSON *field_value(const cJSON *v)
{
    char *text;
    cJSON *s;

    if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        text = cJSON_PrintUnformatted(v);
        if (text == NULL)
            return NULL;
        s = cJSON_CreateString(text);
        cJSON_free(text);
        return s;
    }
    return cJSON_Duplicate(v, 0);
}

static int standard_field(const char *k)
{
    static const char *const names[] = { "version", "host", "short_message", "full_message",
                                         "timestamp", "level" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(k, names[i]) == 0)
            return 1;
    }
    return 0;
}

static void gelf_fields(const cJSON *obj, cJSON *line, const char *message_key)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, obj) {
        const char *k = it->string;

        if (k == NULL || cJSON_IsNull(it) || standard_field(k) || strcmp(k, message_key) == 0)
            continue;
        if (k[0] == '_') {
            if (strcmp(k, "_id") == 0)
                continue;
            k++;
        }
        nz_line_attr(line, k, field_value(it));
    }
}

void normalize_gelf(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                    struct pool *pool)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "short_message");
    const cJSON *full = cJSON_GetObjectItemCaseSensitive(obj, "full_message");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(obj, "host");
    const char *message_key = "short_message";
    cJSON *line = cJSON_CreateObject();

    if (!cJSON_IsString(msg)) {
        msg = cJSON_GetObjectItemCaseSensitive(obj, "message");
        message_key = "message";
    }
    if (line == NULL || !cJSON_IsObject(obj)) {
        cJSON_Delete(line);
        normalize_log_line(NULL, ev, lim, pool);
        return;
    }
    nz_line_time(line, gelf_time(cJSON_GetObjectItemCaseSensitive(obj, "timestamp")));
    cJSON_AddStringToObject(
        line, "level",
        ev_level_name(gelf_level(cJSON_GetObjectItemCaseSensitive(obj, "level"))));
    if (cJSON_IsString(msg))
        cJSON_AddStringToObject(line, "message", msg->valuestring);
    if (cJSON_IsString(host))
        cJSON_AddStringToObject(line, "host", host->valuestring);
    if (cJSON_IsString(full))
        cJSON_AddStringToObject(line, "full_message", full->valuestring);
    gelf_fields(obj, line, message_key);
    normalize_line_object(line, ev, lim, pool);
    cJSON_Delete(line);
}
