/*
 * fmt_syslog.c - syslog messages (RFC 5424, RFC 3164 and variants) as a
 * wire format: the door check and digest decode of a batch (logfmt.h), and
 * the normalizer that maps one message onto the event model.
 *
 * Mapping (docs/ingest.md): severity -> level through the level table
 * (syslog numbers), APP-NAME (or the BSD tag) -> logger, HOSTNAME ->
 * server_name, the header's time -> timestamp (clamped like every other
 * client clock), MSG -> message; facility, procid, msgid and every
 * structured-data param ("SD-ID.name") are attributes.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/format.h"
#include "ingest/logfmt.h"
#include "ingest/normalize_int.h"
#include "ingest/syslog.h"
#include "core/banned.h"

/* Digits of a frame length: 10 is more than any body we accept. */
#define LEN_DIGITS 10

int logfmt_batch_add(struct buf *b, const void *msg, size_t len)
{
    if (buf_addf(b, "%zu ", len) < 0)
        return BL_ETOOBIG;
    return buf_add(b, msg, len) < 0 ? BL_ETOOBIG : 0;
}

/* A batch starts with a frame length; anything else is one message. */
static int is_batch(const char *p, size_t len)
{
    return len > 0 && p[0] >= '1' && p[0] <= '9';
}

int logfmt_batch_next(const char *p, size_t len, size_t *pos, struct slice *msg)
{
    size_t i = *pos, n = 0, digits = 0;

    if (i >= len)
        return 0;
    if (!is_batch(p, len)) {
        *msg = (struct slice){ p, len };
        *pos = len;
        return 1;
    }
    while (i < len && p[i] >= '0' && p[i] <= '9' && digits++ < LEN_DIGITS)
        n = n * 10 + (size_t)(p[i++] - '0');
    if (i >= len || p[i] != ' ' || digits == 0 || n > len - i - 1) {
        *pos = len; /* damaged: cannot happen for what a listener wrote */
        return 0;
    }
    *msg = (struct slice){ p + i + 1, n };
    *pos = i + 1 + n;
    return 1;
}

static int64_t clamp_us(int64_t ts, int64_t received_at)
{
    if (ts > received_at + NZ_FUTURE_US || ts < received_at - NZ_PAST_US)
        return received_at;
    return ts;
}

static const char *dup_slice(struct pool *pool, struct slice s, size_t max)
{
    return s.len > 0 ? nz_strdup(pool, s.p, s.len, max) : NULL;
}

void normalize_syslog(const char *p, size_t len, struct event *ev, const struct ingest_limits *lim,
                      struct pool *pool)
{
    struct syslog_msg m;
    int level = EV_INFO;

    syslog_parse(p, len, ev->received_at, pool, &m);
    ev->source = EV_SRC_SYSLOG;
    ev->kind = EV_KIND_LOG;
    ev->platform = "syslog";
    if (ev_level_from_number(m.severity, &level) == 0)
        ev->level = level;
    else
        ev->level = EV_INFO;
    ev->timestamp = m.has_time ? clamp_us(m.time_us, ev->received_at) : ev->received_at;
    ev->server_name = dup_slice(pool, m.host, lim->max_string);
    ev->logger = dup_slice(pool, m.app, lim->max_string);
    ev->message = nz_strdup(pool, m.msg.p != NULL ? m.msg.p : "", m.msg.len, lim->max_string);
}

static int is_key_param(const struct syslog_param *sp)
{
    return slice_eq(sp->sd_id, LOGFMT_SD_KEY_ID) && slice_eq(sp->name, LOGFMT_SD_KEY_PARAM);
}

/* obj[key] = v as a string, unless key is already there (first one wins). */
static void add_slice(cJSON *obj, const char *key, struct slice v, int keep_empty)
{
    char *s;

    if ((v.len == 0 && !keep_empty) || cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        return;
    s = cJSON_malloc(v.len + 1);
    if (s == NULL)
        return;
    if (v.len > 0)
        memcpy(s, v.p, v.len);
    s[v.len] = '\0';
    cJSON_AddStringToObject(obj, key, s);
    cJSON_free(s);
}

cJSON *normalize_syslog_attributes(const char *p, size_t len, int64_t received_at)
{
    struct pool pool = POOL_INIT(1024);
    struct syslog_msg m;
    cJSON *obj = cJSON_CreateObject();
    char key[2 * 33 + 2];

    if (obj == NULL)
        goto out;
    syslog_parse(p, len, received_at, &pool, &m);
    cJSON_AddStringToObject(obj, "facility", syslog_facility_name(m.facility));
    add_slice(obj, "procid", m.procid, 0);
    add_slice(obj, "msgid", m.msgid, 0);
    for (size_t i = 0; i < m.nparams; i++) {
        const struct syslog_param *sp = &m.params[i];

        if (is_key_param(sp))
            continue;
        /* SD-IDs and names are at most 32 printable bytes each (RFC 5424). */
        snprintf(key, sizeof(key), "%.*s.%.*s", (int)(sp->sd_id.len > 32 ? 32 : sp->sd_id.len),
                 sp->sd_id.p, (int)(sp->name.len > 32 ? 32 : sp->name.len), sp->name.p);
        add_slice(obj, key, sp->value, 1);
    }
out:
    pool_release(&pool);
    return obj;
}

struct slice logfmt_syslog_key(const char *p, size_t len, struct pool *pool)
{
    struct syslog_msg m;

    syslog_parse(p, len, 0, pool, &m);
    for (size_t i = 0; i < m.nparams; i++) {
        if (is_key_param(&m.params[i]))
            return m.params[i].value;
    }
    return SLICE_NULL;
}

/* Messages of a body; every one is stored (syslog_parse never refuses), empty ones skipped. */
static int check_syslog(const struct format_input *in, struct format_result *out,
                        struct bl_err *err)
{
    struct slice text = SLICE_NULL, msg;
    size_t pos = 0;
    int rc = decode_request(in->body, in->len, in->encoding, in->lim->max_body, 0, in->scratch,
                            &text, err);

    if (rc < 0)
        return rc;
    while (logfmt_batch_next(text.p, text.len, &pos, &msg) == 1) {
        if (msg.len > 0)
            out->units.accepted++;
    }
    return 0;
}

static int decode_syslog(const void *payload, size_t len, const struct ingest_meta *meta,
                         const struct ingest_limits *lim, struct pool *pool,
                         struct ingest_events *out, size_t items[INGEST_ITEM__N],
                         struct bl_err *err)
{
    struct buf scratch = BUF_INIT(lim->max_body);
    struct slice body = SLICE_NULL, msg;
    const char *text;
    size_t pos = 0;
    uint32_t idx = 0;
    int rc;

    (void)items;
    rc = decode_request(payload, len, meta->encoding, lim->max_body, 0, &scratch, &body, err);
    if (rc < 0)
        goto out;
    /* One copy for all messages: each event's raw payload points into it. */
    text = pool_memdup(pool, body.p, body.len);
    for (; logfmt_batch_next(text, body.len, &pos, &msg) == 1; idx++) {
        struct event *ev;

        if (msg.len == 0)
            continue;
        ev = ingest_event_new(meta, idx, out, pool);
        ev->raw = msg.p;
        ev->raw_len = msg.len;
        ev->raw_encoding = EV_RAW_IDENTITY;
        normalize_syslog(msg.p, msg.len, ev, lim, pool);
        ingest_event_finish(ev, meta, pool);
    }
out:
    buf_release(&scratch);
    return rc;
}

const struct ingest_format format_syslog = {
    .name = "syslog",
    .protocol = INGEST_SYSLOG,
    .family = "syslog",
    .content_type = NULL,
    .reply = FORMAT_REPLY_UNITS,
    .empty_error = "no syslog messages",
    .check = check_syslog,
    .decode = decode_syslog,
};
