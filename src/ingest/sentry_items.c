/*
 * sentry_items.c - envelope items that are not events: checked at the door,
 * decoded by the digest into struct item and log events (sentry_items.h).
 */
#include <string.h>

#include "ingest/sentry_items.h"
#include "core/json.h"
#include "ingest/jsonscan.h"
#include "ingest/normalize.h"
#include "core/banned.h"

/* Longest filename, content type or feedback field kept; longer ones are cut. */
#define FIELD_MAX 1024
/* Discarded-event lines kept from one client report. */
#define MAX_REPORT_LINES 200

/* Door side. */

struct has_member {
    const char *name;
    int type;
    struct slice value;
};

static int find_member(void *arg, struct slice key, int type, struct slice value)
{
    struct has_member *m = arg;

    if (m->value.p == NULL && slice_eq(key, m->name)) {
        m->type = type;
        m->value = value;
    }
    return 0;
}

/* A JSON item we keep: an object within max bytes, with `need` of type `need_type` if set. */
static int check_json_item(size_t idx, const char *what, struct slice p, size_t max,
                           const char *need, int need_type, const struct ingest_limits *lim,
                           struct bl_err *err)
{
    struct has_member m = { need != NULL ? need : "", JSONSCAN_NULL, SLICE_NULL };
    struct bl_err jerr = { 0 };
    int type = JSONSCAN_NULL;

    if (p.len > max)
        return bl_err_set(err, BL_ETOOBIG, "item %zu (%s): %zu bytes exceeds %zu", idx, what, p.len,
                          max);
    if (jsonscan(p.p, p.len, lim->max_depth, find_member, &m, &type, &jerr) < 0)
        return bl_err_set(err, BL_EPARSE, "item %zu (%s): %s", idx, what, jerr.msg);
    if (type != JSONSCAN_OBJECT)
        return bl_err_set(err, BL_EPARSE, "item %zu (%s): not a JSON object", idx, what);
    if (need != NULL && (m.value.p == NULL || m.type != need_type))
        return bl_err_set(err, BL_EPARSE, "item %zu (%s): \"%s\" is missing or of the wrong type",
                          idx, what, need);
    return 0;
}

static int check_attachment(size_t idx, const struct envelope_item *it,
                            const struct ingest_limits *lim, int has_event_id, struct bl_err *err)
{
    if (it->payload.len > lim->max_attachment)
        return bl_err_set(err, BL_ETOOBIG,
                          "item %zu (attachment): %zu bytes exceeds the attachment limit of %zu",
                          idx, it->payload.len, lim->max_attachment);
    if (!has_event_id)
        return bl_err_set(err, BL_EPARSE,
                          "item %zu (attachment): no event to keep it with (no event item and "
                          "no event_id in the envelope header)",
                          idx);
    return 0;
}

int sentry_items_check(const struct envelope *env, const struct ingest_limits *lim,
                       int has_event_id, struct bl_err *err)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < env->nitems; i++) {
        const struct envelope_item *it = &env->items[i];

        switch (ingest_item_from_type(it->type.p, it->type.len)) {
        case INGEST_ITEM_ATTACHMENT:
            rc = check_attachment(i + 1, it, lim, has_event_id, err);
            break;
        case INGEST_ITEM_LOG:
            rc = check_json_item(i + 1, "log", it->payload, lim->max_body, "items", JSONSCAN_ARRAY,
                                 lim, err);
            break;
        case INGEST_ITEM_CLIENT_REPORT:
            rc = check_json_item(i + 1, "client_report", it->payload, lim->max_event, NULL, 0, lim,
                                 err);
            break;
        case INGEST_ITEM_USER_REPORT:
            rc = check_json_item(i + 1, "user_report", it->payload, lim->max_event, "event_id",
                                 JSONSCAN_STRING, lim, err);
            break;
        case INGEST_ITEM_FEEDBACK:
            rc = check_json_item(i + 1, "feedback", it->payload, lim->max_event, NULL, 0, lim, err);
            break;
        default:
            break;
        }
    }
    return rc;
}

int sentry_items_journal(const size_t items[INGEST_ITEM__N])
{
    for (int k = 0; k < INGEST_ITEM__N; k++) {
        if (items[k] > 0)
            return 1;
    }
    return 0;
}

/* Digest side. */

struct item *sentry_items_push(struct ingest_events *out, struct pool *pool)
{
    struct item *it;

    if (out->nitems == out->items_cap) {
        size_t ncap = out->items_cap > 0 ? out->items_cap * 2 : 16;
        struct item *v = pool_alloc(pool, ncap * sizeof(*v));

        if (out->nitems > 0)
            memcpy(v, out->items, out->nitems * sizeof(*v));
        out->items = v;
        out->items_cap = ncap;
    }
    it = &out->items[out->nitems++];
    memset(it, 0, sizeof(*it));
    return it;
}

static struct item *new_item(int kind, const struct ingest_meta *meta, uint32_t seq,
                             struct pool *pool, struct ingest_events *out)
{
    struct item *it = sentry_items_push(out, pool);

    it->kind = kind;
    it->project_id = meta->project_id;
    it->lsn = meta->lsn;
    it->seq = seq;
    it->received_at = meta->received_at;
    return it;
}

/* A string member copied into pool and cut at FIELD_MAX bytes, or NULL. */
static const char *str_of(const cJSON *obj, const char *key, struct pool *pool)
{
    const char *s = json_str(obj, key);
    size_t n;
    char *c;

    if (s == NULL)
        return NULL;
    n = strlen(s);
    if (n > FIELD_MAX)
        n = FIELD_MAX;
    c = pool_alloc(pool, n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

static void take_event_id(const cJSON *obj, const char *key, char out[33])
{
    const char *s = json_str(obj, key);

    if (s == NULL || envelope_event_id(s, strlen(s), out) < 0)
        out[0] = '\0';
}

static cJSON *parse(struct slice p, size_t max, const struct ingest_limits *lim)
{
    struct json_limits jl = { max, lim->max_depth };
    cJSON *obj = json_parse(p.p, p.len, &jl, NULL);

    if (obj != NULL && !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static void decode_attachment(const struct envelope_item *ei, size_t idx, const char *event_id,
                              const struct ingest_meta *meta, const struct ingest_limits *lim,
                              struct pool *pool, struct ingest_events *out)
{
    cJSON *hdr = parse(ei->header, ei->header.len, lim);
    struct item *it = new_item(ITEM_ATTACHMENT, meta, (uint32_t)idx, pool, out);

    memcpy(it->event_id, event_id, sizeof(it->event_id));
    it->filename = str_of(hdr, "filename", pool);
    it->content_type = str_of(hdr, "content_type", pool);
    it->attachment_type = str_of(hdr, "attachment_type", pool);
    if (it->filename == NULL || it->filename[0] == '\0')
        it->filename = "attachment";
    if (it->content_type == NULL || it->content_type[0] == '\0')
        it->content_type = "application/octet-stream";
    if (it->attachment_type == NULL || it->attachment_type[0] == '\0')
        it->attachment_type = "event.attachment";
    it->len = ei->payload.len;
    it->data = ei->payload.len > 0 ? pool_memdup(pool, ei->payload.p, ei->payload.len) : "";
    cJSON_Delete(hdr);
}

/* The older `user_report` item: {event_id, name, email, comments}. */
static void decode_user_report(const cJSON *obj, struct item *it, struct pool *pool)
{
    take_event_id(obj, "event_id", it->event_id);
    it->name = str_of(obj, "name", pool);
    it->email = str_of(obj, "email", pool);
    it->message = str_of(obj, "comments", pool);
}

/* A `feedback` item: an event whose contexts.feedback says who said what about which event. */
static void decode_feedback(const cJSON *obj, struct item *it, struct pool *pool)
{
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(obj, "contexts");
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(ctx, "feedback");

    take_event_id(obj, "event_id", it->feedback_id);
    take_event_id(fb, "associated_event_id", it->event_id);
    it->name = str_of(fb, "name", pool);
    it->email = str_of(fb, "contact_email", pool);
    it->message = str_of(fb, "message", pool);
    it->url = str_of(fb, "url", pool);
}

static void decode_feedback_item(const struct envelope_item *ei, int k, size_t idx,
                                 const struct ingest_meta *meta, const struct ingest_limits *lim,
                                 struct pool *pool, struct ingest_events *out)
{
    cJSON *obj = parse(ei->payload, lim->max_event, lim);
    struct item *it;

    if (obj == NULL)
        return;
    it = new_item(ITEM_FEEDBACK, meta, (uint32_t)idx, pool, out);
    if (k == INGEST_ITEM_USER_REPORT)
        decode_user_report(obj, it, pool);
    else
        decode_feedback(obj, it, pool);
    cJSON_Delete(obj);
}

/*
 * Client-report reasons and categories as the SDKs name them. Anything else
 * is counted as "other": the counters are keyed by these strings, and a
 * DSN key is public in every browser, so free text would let anyone grow
 * the table without bound.
 */
static const char *const report_reasons[] = {
    "queue_overflow",
    "cache_overflow",
    "buffer_overflow",
    "ratelimit_backoff",
    "network_error",
    "sample_rate",
    "before_send",
    "event_processor",
    "send_error",
    "internal_sdk_error",
    "insufficient_data",
    "backpressure",
    "ignored",
    "deadline_exceeded",
    NULL,
};

static const char *const report_categories[] = {
    "default",  "error",          "transaction",   "security", "attachment", "session",  "internal",
    "profile",  "profile_chunk",  "replay",        "monitor",  "span",       "log_item", "log_byte",
    "feedback", "user_report_v2", "metric_bucket", "statsd",   NULL,
};

static const char *known_name(const char *const *names, const char *s)
{
    for (size_t i = 0; s != NULL && names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0)
            return names[i];
    }
    return "other";
}

static void decode_client_report(const struct envelope_item *ei, size_t idx,
                                 const struct ingest_meta *meta, const struct ingest_limits *lim,
                                 struct pool *pool, struct ingest_events *out)
{
    cJSON *obj = parse(ei->payload, lim->max_event, lim);
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(obj, "discarded_events");
    const cJSON *line;
    uint32_t j = 0;

    cJSON_ArrayForEach(line, lines)
    {
        const char *reason = json_str(line, "reason");
        const char *category = json_str(line, "category");
        double q = 0;
        struct item *it;

        if (j >= MAX_REPORT_LINES)
            break;
        if (reason == NULL || json_num(line, "quantity", &q) < 0 || !(q > 0) || q > 1e15)
            continue;
        it = new_item(ITEM_CLIENT_REPORT, meta, (uint32_t)(idx * MAX_REPORT_LINES + j++), pool,
                      out);
        it->reason = known_name(report_reasons, reason);
        it->category = category != NULL ? known_name(report_categories, category) : "default";
        it->quantity = (int64_t)q;
    }
    cJSON_Delete(obj);
}

/* Sentry log attribute {value, type} -> its plain value (a copy). */
static cJSON *attr_value(const cJSON *a)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");

    return cJSON_Duplicate(v != NULL ? v : a, 1);
}

/* Attributes the JSON-lines normalizer understands under another name. */
static const char *attr_alias(const char *key)
{
    if (strcmp(key, "sentry.environment") == 0)
        return "environment";
    if (strcmp(key, "sentry.release") == 0)
        return "release";
    if (strcmp(key, "server.address") == 0)
        return "host";
    if (strcmp(key, "logger.name") == 0)
        return "logger";
    return NULL;
}

static void copy_member(cJSON *line, const cJSON *entry, const char *from, const char *to)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, from);

    if (v != NULL && !cJSON_IsNull(v) && !cJSON_HasObjectItem(line, to))
        cJSON_AddItemToObject(line, to, cJSON_Duplicate(v, 1));
}

/* One Sentry log entry as the JSON line the logs door would have received. */
static cJSON *entry_to_line(const cJSON *entry)
{
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(entry, "attributes");
    cJSON *line = cJSON_CreateObject();
    const cJSON *a;

    copy_member(line, entry, "timestamp", "timestamp");
    copy_member(line, entry, "level", "level");
    copy_member(line, entry, "body", "message");
    copy_member(line, entry, "trace_id", "trace_id");
    copy_member(line, entry, "span_id", "span_id");
    cJSON_ArrayForEach(a, attrs)
    {
        const char *alias = attr_alias(a->string);

        if (alias != NULL && !cJSON_HasObjectItem(line, alias))
            cJSON_AddItemToObject(line, alias, attr_value(a));
        if (!cJSON_HasObjectItem(line, a->string))
            cJSON_AddItemToObject(line, a->string, attr_value(a));
    }
    return line;
}

static void decode_log_entry(const cJSON *entry, uint32_t seq, const struct ingest_meta *meta,
                             const struct ingest_limits *lim, struct pool *pool,
                             struct ingest_events *out)
{
    cJSON *line = entry_to_line(entry);
    char *text = cJSON_PrintUnformatted(line);
    struct event *ev;

    if (text != NULL && strlen(text) <= lim->max_line) {
        ev = ingest_events_push(out, pool);
        ev->project_id = meta->project_id;
        ev->lsn = meta->lsn;
        ev->seq = seq;
        ev->received_at = meta->received_at;
        ev->raw_len = strlen(text);
        ev->raw = pool_memdup(pool, text, ev->raw_len);
        ev->raw_encoding = EV_RAW_IDENTITY;
        normalize_log_line(line, ev, lim, pool);
    }
    cJSON_free(text);
    cJSON_Delete(line);
}

static uint32_t decode_log(const struct envelope_item *ei, uint32_t seq,
                           const struct ingest_meta *meta, const struct ingest_limits *lim,
                           struct pool *pool, struct ingest_events *out)
{
    cJSON *obj = parse(ei->payload, lim->max_body, lim);
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(obj, "items");
    const cJSON *entry;
    size_t n = 0;

    cJSON_ArrayForEach(entry, entries)
    {
        if (n++ >= SENTRY_ITEMS_MAX_LOGS)
            break;
        if (cJSON_IsObject(entry))
            decode_log_entry(entry, seq, meta, lim, pool, out);
        seq++;
    }
    cJSON_Delete(obj);
    return seq;
}

/* Items that are received but not stored, counted once per type per record. */
static int received_only(int k)
{
    switch (k) {
    case INGEST_ITEM_TRANSACTION:
    case INGEST_ITEM_SESSION:
    case INGEST_ITEM_SESSIONS:
    case INGEST_ITEM_CHECK_IN:
    case INGEST_ITEM_SPAN:
    case INGEST_ITEM_PROFILE:
    case INGEST_ITEM_REPLAY:
    case INGEST_ITEM_OTHER:
        return 1;
    default:
        return 0;
    }
}

static void count_received(const size_t counts[INGEST_ITEM__N], const struct ingest_meta *meta,
                           struct pool *pool, struct ingest_events *out)
{
    for (int k = 0; k < INGEST_ITEM__N; k++) {
        struct item *it;

        if (counts[k] == 0 || !received_only(k))
            continue;
        it = new_item(ITEM_RECEIVED, meta, (uint32_t)k, pool, out);
        it->category = ingest_item_name(k);
        it->quantity = (int64_t)counts[k];
    }
}

int sentry_items_decode(const struct envelope *env, const char *event_id,
                        const struct ingest_meta *meta, const struct ingest_limits *lim,
                        struct pool *pool, uint32_t first_seq, struct ingest_events *out)
{
    size_t counts[INGEST_ITEM__N] = { 0 };
    uint32_t seq = first_seq;

    for (size_t i = 0; i < env->nitems; i++) {
        const struct envelope_item *ei = &env->items[i];
        int k = ingest_item_from_type(ei->type.p, ei->type.len);

        counts[k]++;
        if (k == INGEST_ITEM_ATTACHMENT && event_id[0] != '\0')
            decode_attachment(ei, i, event_id, meta, lim, pool, out);
        else if (k == INGEST_ITEM_USER_REPORT || k == INGEST_ITEM_FEEDBACK)
            decode_feedback_item(ei, k, i, meta, lim, pool, out);
        else if (k == INGEST_ITEM_CLIENT_REPORT)
            decode_client_report(ei, i, meta, lim, pool, out);
        else if (k == INGEST_ITEM_LOG)
            seq = decode_log(ei, seq, meta, lim, pool, out);
    }
    count_received(counts, meta, pool, out);
    return 0;
}
