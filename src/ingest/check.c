/*
 * check.c - what the doors verify before a request is acknowledged.
 *
 * DESIGN
 * These run on HTTP threads for every request, so they never build a JSON
 * tree: bodies are decompressed once (to enforce the size caps on what the
 * digest will really see), validated with jsonscan, and only the few
 * top-level members the answer needs (event_id, a log line's timestamp) are
 * looked at. A body that passes here must later decode in the digest, so the
 * rules below are the single source of truth for "accepted" and the digest
 * applies ingest_ndjson_line_ok and ingest_time_* itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "core/clock.h"
#include "core/hash.h"
#include "ingest/decode.h"
#include "ingest/envelope.h"
#include "ingest/sentry_items.h"
#include "ingest/jsonscan.h"
#include "ingest/sentry_auth.h"
#include "core/banned.h"

/* Longest numeric timestamp text we convert (jsonscan allows 63 characters). */
#define TS_TEXT_MAX 64

static const char *const item_names[INGEST_ITEM__N] = {
    "event", "transaction", "attachment", "session", "sessions",    "client_report", "check_in",
    "log",   "span",        "profile",    "replay",  "user_report", "feedback",      "other",
};

static const struct {
    const char *type;
    int item;
} item_aliases[] = {
    { "profile_chunk", INGEST_ITEM_PROFILE },
    { "replay_event", INGEST_ITEM_REPLAY },
    { "replay_recording", INGEST_ITEM_REPLAY },
    { "replay_video", INGEST_ITEM_REPLAY },
};

/* pick_ts knows their lengths (9, 2, 10). */
static const char *const ts_keys[] = { "timestamp", "ts", "@timestamp" };
#define NTS_KEYS (sizeof(ts_keys) / sizeof(ts_keys[0]))

const char *ingest_item_name(int item)
{
    if (item < 0 || item >= INGEST_ITEM__N)
        return item_names[INGEST_ITEM_OTHER];
    return item_names[item];
}

int ingest_item_from_type(const char *type, size_t len)
{
    struct slice t = { type, len };

    /* "other" is the fallback, not a type a client can name. */
    for (int i = 0; i < INGEST_ITEM_OTHER; i++) {
        if (slice_eq(t, item_names[i]))
            return i;
    }
    for (size_t i = 0; i < sizeof(item_aliases) / sizeof(item_aliases[0]); i++) {
        if (slice_eq(t, item_aliases[i].type))
            return item_aliases[i].item;
    }
    return INGEST_ITEM_OTHER;
}

/*
 * Magnitude tells the unit: seconds until year 5138, then milliseconds,
 * then microseconds. The integer and fractional parts are scaled apart so
 * 1714564800.25 s gives exactly ...250000 µs.
 */
int ingest_time_from_number(double v, int64_t *us)
{
    int64_t scale, whole;

    if (!(v >= 0)) /* also NaN */
        return -1;
    if (v < 1e11)
        scale = 1000000;
    else if (v < 1e14)
        scale = 1000;
    else if (v < 1e17)
        scale = 1;
    else
        return -1; /* and infinity */
    whole = (int64_t)v;
    *us = whole * scale + (int64_t)((v - (double)whole) * (double)scale + 0.5);
    return 0;
}

/* Digits with an optional fraction: "1714564800", "1714564800.25". */
static int plain_decimal(const char *s, size_t len)
{
    size_t i = 0, dots = 0;

    for (; i < len; i++) {
        if (s[i] == '.' && dots++ == 0 && i > 0)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return len > 0;
}

int ingest_time_from_string(const char *s, size_t len, int64_t *us)
{
    char num[TS_TEXT_MAX];

    if (clock_parse_rfc3339(s, len, us) == 0)
        return 0;
    if (len >= sizeof(num) || !plain_decimal(s, len))
        return -1;
    memcpy(num, s, len);
    num[len] = '\0';
    return ingest_time_from_number(strtod(num, NULL), us);
}

/* The first member named key of a top-level object, as its raw JSON value. */
struct member_pick {
    const char *const *names;
    size_t n;
    struct slice val[3];
    int type[3];
};

static int pick_member(void *arg, struct slice key, int type, struct slice value)
{
    struct member_pick *m = arg;

    /* Every member of every line passes here: the first byte rules most names out. */
    for (size_t i = 0; i < m->n; i++) {
        if (m->val[i].p == NULL && key.len > 0 && key.p[0] == m->names[i][0] &&
            slice_eq(key, m->names[i])) {
            m->val[i] = value;
            m->type[i] = type;
        }
    }
    return 0;
}

/* pick_ts's store of time key i (the key's length matched ts_keys[i]'s). */
__attribute__((noinline)) static int pick_ts_take(struct member_pick *m, size_t i, struct slice key,
                                                  int type, struct slice value)
{
    if (m->val[i].p == NULL && memcmp(key.p, ts_keys[i], key.len) == 0) {
        m->val[i] = value;
        m->type[i] = type;
    }
    return 0;
}

/*
 * pick_member for a log line's time keys (ts_keys, in their order): every
 * member of every line passes here, so the key's length picks the one name
 * to compare. The rest is out of line: most keys are none of the three,
 * and their return then saves and restores no registers (the compare's
 * frame was half of this function's cost).
 */
static int pick_ts(void *arg, struct slice key, int type, struct slice value)
{
    size_t i;

    switch (key.len) {
    case 9:
        i = 0;
        break;
    case 2:
        i = 1;
        break;
    case 10:
        i = 2;
        break;
    default:
        return 0;
    }
    return pick_ts_take(arg, i, key, type, value);
}

/* A JSON timestamp value the digest will be able to use. */
static int timestamp_ok(struct slice v, int type)
{
    struct buf text = BUF_INIT(TS_TEXT_MAX);
    char num[TS_TEXT_MAX];
    int64_t us;
    int rc = -1;

    if (type == JSONSCAN_NUMBER && v.len < sizeof(num)) {
        memcpy(num, v.p, v.len);
        num[v.len] = '\0';
        return ingest_time_from_number(strtod(num, NULL), &us);
    }
    if (type != JSONSCAN_STRING || v.len < 2)
        return -1;
    if (memchr(v.p, '\\', v.len) == NULL)
        return ingest_time_from_string(v.p + 1, v.len - 2, &us);
    if (jsonscan_unquote(v, &text) == 0)
        rc = ingest_time_from_string(text.p, text.len, &us);
    buf_release(&text);
    return rc;
}

int ingest_ndjson_line_ok(const char *p, size_t len, const struct ingest_limits *lim,
                          struct bl_err *err)
{
    struct member_pick m = { ts_keys, NTS_KEYS, { SLICE_NULL, SLICE_NULL, SLICE_NULL }, { 0 } };
    struct bl_err jerr;
    int type = JSONSCAN_NULL;

    if (len > lim->max_line)
        return bl_err_set(err, BL_EPARSE, "line longer than %zu bytes", lim->max_line);
    if (jsonscan(p, len, lim->max_depth, pick_ts, &m, &type, &jerr) < 0)
        return bl_err_set(err, BL_EPARSE, "%s", jerr.msg);
    if (type != JSONSCAN_OBJECT)
        return bl_err_set(err, BL_EPARSE, "not a JSON object");
    for (size_t i = 0; i < NTS_KEYS; i++) {
        if (m.val[i].p == NULL || m.type[i] == JSONSCAN_NULL)
            continue;
        if (timestamp_ok(m.val[i], m.type[i]) < 0)
            return bl_err_set(err, BL_EPARSE, "unparseable timestamp in \"%s\"", ts_keys[i]);
        break;
    }
    return 0;
}

/* Records a rejected line while fewer than max_errors are (array grown in pool). */
static void line_error(struct ingest_ndjson_result *out, struct pool *pool, size_t max_errors,
                       size_t *cap, size_t lineno, const char *msg)
{
    struct ingest_line_error *e;
    size_t n;

    if (out->nerrors == max_errors)
        return;
    if (out->nerrors == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct ingest_line_error *v;

        if (ncap > max_errors)
            ncap = max_errors;
        v = pool_alloc(pool, ncap * sizeof(*v));
        if (out->nerrors > 0)
            memcpy(v, out->errors, out->nerrors * sizeof(*v));
        out->errors = v;
        *cap = ncap;
    }
    e = &out->errors[out->nerrors++];
    e->line = lineno;
    n = strnlen(msg, sizeof(e->error) - 1);
    memcpy(e->error, msg, n);
    e->error[n] = '\0';
}

/* Whitespace-only lines are skipped like empty ones (editors and shells leave them). */
static int blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    }
    return 1;
}

int ingest_check_ndjson(const void *body, size_t len, int encoding, const struct ingest_limits *lim,
                        struct pool *pool, size_t max_errors, struct buf *scratch,
                        struct ingest_ndjson_result *out, struct bl_err *err)
{
    struct slice text = SLICE_NULL;
    size_t pos = 0, lineno = 0, nlines = 0, cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = decode_request(body, len, encoding, lim->max_body, 0, scratch, &text, err);
    while (rc == 0 && pos < text.len) {
        const char *line = text.p + pos, *nl = memchr(line, '\n', text.len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : text.len - pos;
        struct bl_err lerr;

        pos += n + 1;
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (blank(line, n))
            continue;
        if (++nlines > lim->max_lines)
            return bl_err_set(err, BL_ETOOBIG, "more than %zu lines", lim->max_lines);
        if (ingest_ndjson_line_ok(line, n, lim, &lerr) == 0) {
            out->accepted++;
            continue;
        }
        out->rejected++;
        line_error(out, pool, max_errors, &cap, lineno, lerr.msg);
    }
    return rc;
}

/* The event id a JSON event object carries, normalized, or a fresh one. */
static void event_id_of(struct slice v, int type, char id[33])
{
    if (v.p != NULL && type == JSONSCAN_STRING && v.len >= 2 &&
        envelope_event_id(v.p + 1, v.len - 2, id) == 0)
        return;
    rand_hex(id, 16);
}

/* Validates one event JSON object; m gets its raw "event_id" value. */
static int check_event_json(struct slice text, const struct ingest_limits *lim,
                            struct member_pick *m, struct bl_err *err)
{
    static const char *const names[] = { "event_id" };
    struct bl_err jerr;
    int type = JSONSCAN_NULL;

    if (text.len > lim->max_event)
        return bl_err_set(err, BL_ETOOBIG, "event of %zu bytes exceeds %zu", text.len,
                          lim->max_event);
    memset(m, 0, sizeof(*m));
    m->names = names;
    m->n = 1;
    if (jsonscan(text.p, text.len, lim->max_depth, pick_member, m, &type, &jerr) < 0)
        return bl_err_set(err, BL_EPARSE, "event: %s", jerr.msg);
    if (type != JSONSCAN_OBJECT)
        return bl_err_set(err, BL_EPARSE, "event is not a JSON object");
    return 0;
}

int ingest_check_store(const void *body, size_t len, int encoding, const struct ingest_limits *lim,
                       struct buf *scratch, struct ingest_check *out, struct bl_err *err)
{
    struct member_pick m;
    struct slice text = SLICE_NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = decode_request(body, len, encoding, lim->max_event, DECODE_SENTRY_LEGACY, scratch, &text,
                        err);
    if (rc == 0)
        rc = check_event_json(text, lim, &m, err);
    if (rc == 0)
        event_id_of(m.val[0], m.type[0], out->event_id);
    return rc;
}

/* Counts items, validates event payloads, and picks the first event's own id. */
static int check_items(const struct envelope *env, const struct ingest_limits *lim,
                       struct ingest_check *out, struct member_pick *first, struct bl_err *err)
{
    struct member_pick m;
    size_t nevents = 0;
    int rc;

    for (size_t i = 0; i < env->nitems; i++) {
        const struct envelope_item *it = &env->items[i];
        int k = ingest_item_from_type(it->type.p, it->type.len);

        out->items[k]++;
        if (k != INGEST_ITEM_EVENT)
            continue;
        rc = check_event_json(it->payload, lim, &m, err);
        if (rc < 0)
            return rc;
        if (nevents++ == 0)
            *first = m;
    }
    return nevents > 0;
}

static int take_dsn(const struct envelope *env, struct ingest_check *out, struct bl_err *err)
{
    if (env->dsn.len == 0)
        return 0;
    if (sentry_auth_parse_dsn(env->dsn.p, env->dsn.len, out->dsn_key, &out->dsn_project) < 0) {
        out->dsn_key[0] = '\0';
        out->dsn_project = 0;
        return bl_err_set(err, BL_EPARSE, "envelope header: malformed dsn");
    }
    return 0;
}

int ingest_check_envelope(const void *body, size_t len, int encoding,
                          const struct ingest_limits *lim, struct buf *scratch,
                          struct ingest_check *out, struct bl_err *err)
{
    struct envelope_limits elim = ENVELOPE_LIMITS_DEFAULT;
    struct pool pool;
    struct envelope env;
    struct member_pick first;
    struct slice text = SLICE_NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&first, 0, sizeof(first));
    pool_init(&pool, 4096);
    elim.max_depth = lim->max_depth;
    rc = decode_request(body, len, encoding, lim->max_body, 0, scratch, &text, err);
    if (rc == 0)
        rc = envelope_parse(text.p, text.len, &elim, &pool, &env, err);
    if (rc == 0)
        rc = take_dsn(&env, out, err);
    if (rc == 0)
        rc = check_items(&env, lim, out, &first, err);
    /* Attachments, logs, feedback, client reports (sentry_items.c). */
    if (rc >= 0) {
        int irc = sentry_items_check(&env, lim, rc > 0 || env.event_id[0] != '\0', err);

        rc = irc < 0 ? irc : rc;
    }
    if (rc > 0) {
        if (env.event_id[0] != '\0')
            memcpy(out->event_id, env.event_id, sizeof(out->event_id));
        else
            event_id_of(first.val[0], first.type[0], out->event_id);
        rc = 0;
    }
    pool_release(&pool);
    return rc;
}
