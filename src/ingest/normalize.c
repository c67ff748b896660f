/*
 * normalize.c - Sentry events into the one event model (protocols.md §1.7).
 *
 * DESIGN
 * Normalization follows Relay's attitude: a field of the wrong type is
 * dropped, never an error, because an SDK bug must not lose the event. Every
 * string is copied into the batch pool (the cJSON tree is freed right after)
 * and cut to the limits at a UTF-8 boundary. The result depends only on the
 * payload and received_at, so the API can rebuild the same event from the
 * stored raw payload.
 *
 * This file holds the helpers the other normalize_*.c files share and the
 * top-level Sentry fields; messages, exceptions, log lines and the JSON
 * document have their own files (normalize_int.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/json.h"
#include "ingest/envelope.h"
#include "ingest/ingest.h"
#include "core/banned.h"

size_t nz_utf8_cut(const char *s, size_t len, size_t max)
{
    size_t n;

    if (len <= max)
        return len;
    n = max;
    /* s[n] is the first byte dropped; a continuation byte there means the
     * character before the cut is incomplete, so drop it whole. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

const char *nz_strdup(struct pool *pool, const char *s, size_t len, size_t max)
{
    const char *nul = memchr(s, '\0', len);

    if (nul != NULL)
        len = (size_t)(nul - s);
    return pool_strndup(pool, s, nz_utf8_cut(s, len, max));
}

const char *nz_str(const cJSON *obj, const char *key, struct pool *pool, size_t max)
{
    const char *s = json_str(obj, key);

    return s != NULL ? nz_strdup(pool, s, strlen(s), max) : NULL;
}

size_t nz_number_text(double d, char out[40])
{
    int n;

    if (!isfinite(d)) {
        n = snprintf(out, 40, "%s", isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity"));
    } else if (d == floor(d) && fabs(d) < 1e15) {
        n = snprintf(out, 40, "%.0f", d);
    } else {
        n = snprintf(out, 40, "%.15g", d);
        if (strtod(out, NULL) != d)
            n = snprintf(out, 40, "%.17g", d);
    }
    return n < 0 ? 0 : (size_t)n;
}

const char *nz_scalar(const cJSON *v, struct pool *pool, size_t max)
{
    char num[40];
    size_t n;

    if (cJSON_IsString(v))
        return nz_strdup(pool, v->valuestring, strlen(v->valuestring), max);
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (!cJSON_IsNumber(v))
        return NULL;
    n = nz_number_text(v->valuedouble, num);
    return nz_strdup(pool, num, n, max);
}

int normalize_timestamp(const cJSON *v, int64_t *us)
{
    if (cJSON_IsNumber(v))
        return ingest_time_from_number(v->valuedouble, us) == 0 ? 0 : -1;
    if (cJSON_IsString(v))
        return ingest_time_from_string(v->valuestring, strlen(v->valuestring), us) == 0 ? 0 : -1;
    return -1;
}

int64_t nz_clamp_time(const cJSON *v, int64_t received_at)
{
    int64_t ts;

    /* A client clock far off would put the event outside every time range
     * a person looks at, and outside retention; receive time is closer. */
    if (normalize_timestamp(v, &ts) != 0)
        return received_at;
    if (ts > received_at + NZ_FUTURE_US || ts < received_at - NZ_PAST_US)
        return received_at;
    return ts;
}

/* The payload's id when the caller had none; left empty when it is not an id. */
static void take_event_id(const char *s, char out[33])
{
    char id[33];

    if (s != NULL && envelope_event_id(s, strlen(s), id) == 0)
        memcpy(out, id, sizeof(id));
}

int nz_level(const cJSON *v, int *level)
{
    if (cJSON_IsString(v))
        return ev_level_parse(v->valuestring, strlen(v->valuestring), level);
    if (cJSON_IsNumber(v))
        return ev_level_from_number(v->valuedouble, level);
    return -1;
}

/* Sentry's default level is error; a level that names nothing keeps it. */
static int sentry_level(const cJSON *obj)
{
    int level;

    if (nz_level(cJSON_GetObjectItemCaseSensitive(obj, "level"), &level) == 0)
        return level;
    return EV_ERROR;
}

/* Later duplicates of a key are dropped: the first one the client listed wins. */
static void add_tag(struct event *ev, size_t cap, const char *key, const cJSON *v,
                    struct pool *pool)
{
    const char *val = nz_scalar(v, pool, NZ_TAG_MAX);

    if (key == NULL || val == NULL || key[0] == '\0' || ev->ntags >= cap)
        return;
    for (size_t i = 0; i < ev->ntags; i++) {
        if (strcmp(ev->tags[i].key, key) == 0)
            return;
    }
    ev->tags[ev->ntags].key = key;
    ev->tags[ev->ntags].value = val;
    ev->ntags++;
}

/* Tags come as a map or as [key, value] pairs (Sentry's own serializers use both). */
static void sentry_tags(const cJSON *obj, struct event *ev, struct pool *pool)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(obj, "tags");
    const cJSON *it;
    size_t n;

    if (!cJSON_IsObject(tags) && !cJSON_IsArray(tags))
        return;
    n = (size_t)cJSON_GetArraySize(tags);
    if (n > NZ_MAX_TAGS)
        n = NZ_MAX_TAGS;
    if (n == 0)
        return;
    ev->tags = pool_calloc(pool, n, sizeof(*ev->tags));
    cJSON_ArrayForEach(it, tags)
    {
        if (cJSON_IsObject(tags)) {
            add_tag(ev, n, nz_strdup(pool, it->string, strlen(it->string), NZ_TAG_MAX), it, pool);
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2) {
            add_tag(ev, n, nz_scalar(cJSON_GetArrayItem(it, 0), pool, NZ_TAG_MAX),
                    cJSON_GetArrayItem(it, 1), pool);
        }
    }
}

static void sentry_user(const cJSON *obj, struct event *ev, size_t max, struct pool *pool)
{
    const cJSON *user = json_obj(obj, "user");

    if (user == NULL)
        return;
    ev->user_id = nz_scalar(cJSON_GetObjectItemCaseSensitive(user, "id"), pool, max);
    ev->user_email = nz_str(user, "email", pool, max);
    ev->user_name = nz_str(user, "username", pool, max);
    ev->user_ip = nz_str(user, "ip_address", pool, max);
    /* "{{auto}}" asks the server to fill in the peer address, which the
     * journal record does not carry; better nothing than the placeholder. */
    if (ev->user_ip != NULL && strcmp(ev->user_ip, "{{auto}}") == 0)
        ev->user_ip = NULL;
}

static void sentry_ids(const cJSON *obj, struct event *ev, size_t max, struct pool *pool)
{
    const cJSON *contexts = json_obj(obj, "contexts");
    const cJSON *trace = contexts != NULL ? json_obj(contexts, "trace") : NULL;
    const cJSON *extra = json_obj(obj, "extra");

    if (trace != NULL) {
        ev->trace_id = nz_str(trace, "trace_id", pool, max);
        ev->span_id = nz_str(trace, "span_id", pool, max);
    }
    for (size_t i = 0; i < ev->ntags; i++) {
        if (strcmp(ev->tags[i].key, "request_id") == 0)
            ev->request_id = ev->tags[i].value;
    }
    if (ev->request_id == NULL && extra != NULL)
        ev->request_id = nz_scalar(cJSON_GetObjectItemCaseSensitive(extra, "request_id"), pool,
                                   max);
}

static void sentry_fingerprint(const cJSON *obj, struct event *ev, size_t max, struct pool *pool)
{
    const cJSON *fp = json_arr(obj, "fingerprint");
    const cJSON *it;
    size_t n;

    if (fp == NULL)
        return;
    n = (size_t)cJSON_GetArraySize(fp);
    if (n > NZ_MAX_FINGERPRINT)
        n = NZ_MAX_FINGERPRINT;
    if (n == 0)
        return;
    ev->fingerprint_in = pool_calloc(pool, n, sizeof(*ev->fingerprint_in));
    cJSON_ArrayForEach(it, fp)
    {
        const char *s = nz_scalar(it, pool, max);

        if (s != NULL && ev->nfingerprint_in < n)
            ev->fingerprint_in[ev->nfingerprint_in++] = s;
    }
}

static void sentry_strings(const cJSON *obj, struct event *ev, size_t max, struct pool *pool)
{
    ev->logger = nz_str(obj, "logger", pool, max);
    ev->platform = nz_str(obj, "platform", pool, max);
    ev->release = nz_str(obj, "release", pool, max);
    ev->environment = nz_str(obj, "environment", pool, max);
    ev->server_name = nz_str(obj, "server_name", pool, max);
    ev->transaction = nz_str(obj, "transaction", pool, max);
}

void normalize_sentry(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                      struct pool *pool)
{
    size_t max = lim->max_string;

    ev->source = EV_SRC_SENTRY;
    ev->kind = EV_KIND_LOG;
    ev->level = EV_ERROR;
    ev->timestamp = ev->received_at;
    if (cJSON_IsObject(obj)) {
        if (ev->event_id[0] == '\0')
            take_event_id(json_str(obj, "event_id"), ev->event_id);
        ev->timestamp = nz_clamp_time(cJSON_GetObjectItemCaseSensitive(obj, "timestamp"),
                                      ev->received_at);
        ev->level = sentry_level(obj);
        sentry_strings(obj, ev, max, pool);
        nz_message(obj, ev, lim, pool);
        sentry_tags(obj, ev, pool);
        sentry_user(obj, ev, max, pool);
        sentry_ids(obj, ev, max, pool);
        sentry_fingerprint(obj, ev, max, pool);
        nz_exceptions(obj, ev, lim, pool);
    }
    if (ev->environment == NULL || ev->environment[0] == '\0')
        ev->environment = "production";
}
