/*
 * ingest.c - the digest side of ingest: one journal record in, normalized
 * and fingerprinted events out.
 *
 * DESIGN
 * The door already checked the record (check.c) with the same decoders and
 * the same per-line rule, so everything here is expected to succeed; a
 * failure means the record was written by a version with other rules and
 * the whole record is skipped (BL_EPARSE, no events). Decoding is a pure
 * function of the record: event ids come from the door's answer (stored in
 * the journal) or, for JSON lines, from the record's lsn and line number, so
 * replaying the journal after a crash yields the very same events.
 *
 * Raw payloads are copied into the batch pool: the client's gzip body as
 * received when it was gzip (the store keeps it as it is), otherwise the
 * decoded JSON of the event or line.
 */
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/scrub.h"
#include "core/hash.h"
#include "core/json.h"
#include "ingest/decode.h"
#include "ingest/envelope.h"
#include "ingest/fingerprint.h"
#include "ingest/format.h"
#include "ingest/normalize.h"
#include "ingest/sentry_items.h"
#include "ingest/slim.h"
#include "core/banned.h"

struct event *ingest_events_push(struct ingest_events *out, struct pool *pool)
{
    struct event *ev;

    if (out->n == out->cap) {
        size_t ncap = out->cap > 0 ? out->cap * 2 : 16;
        struct event *v = pool_alloc(pool, ncap * sizeof(*v));

        if (out->n > 0)
            memcpy(v, out->v, out->n * sizeof(*v));
        out->v = v;
        out->cap = ncap;
    }
    ev = &out->v[out->n++];
    memset(ev, 0, sizeof(*ev));
    return ev;
}

/*
 * v as 8 lowercase hex digits, most significant first (hex_encode's text of
 * its 4 big-endian bytes), without a table: each nibble spread to a byte of
 * a word, then '0'-'9' or 'a'-'f' added to all eight at once.
 */
static void hex8(uint32_t v, char out[8])
{
    uint64_t x = v;

    x = ((x & UINT64_C(0xffff0000)) << 16) | (x & UINT64_C(0xffff));
    x = ((x & UINT64_C(0x0000ff000000ff00)) << 8) | (x & UINT64_C(0x000000ff000000ff));
    x = ((x & UINT64_C(0x00f000f000f000f0)) << 4) | (x & UINT64_C(0x000f000f000f000f));
    /* nibble n of v (from the lowest) is byte n of x; a digit above 9 gets 'a' - '0' - 10 more */
    x += UINT64_C(0x3030303030303030) +
         (((x + UINT64_C(0x0606060606060606)) >> 4) & UINT64_C(0x0101010101010101)) * 0x27;
    x = __builtin_bswap64(x);
    memcpy(out, &x, 8);
}

/*
 * The id of an event the door did not name (JSON lines): its journal
 * position in hex (16 chars of lsn, 8 of seq) and 8 chars of a hash of
 * both. Deterministic, so a replay stores the same line under the same id,
 * and increasing in arrival order, so the store's unique id index grows at
 * its right edge instead of touching a random page per line. lsn_hex is
 * the lsn's 16 chars (the same for every line of a record: made once).
 */
static void derived_id_at(uint64_t lsn, const char lsn_hex[16], uint32_t seq, char out[33])
{
    unsigned char key[20] = "bilor-ev", h[16];

    for (int i = 0; i < 8; i++)
        key[8 + i] = (unsigned char)(lsn >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        key[16 + i] = (unsigned char)(seq >> (24 - 8 * i));
    memcpy(out, lsn_hex, 16);
    hex8(seq, out + 16);
    /*
     * The first 8 hex digits of the BLAKE2b-128 of both: stored ids stay what
     * they were, and a replay (the store probes an issue event by its id)
     * derives the same one. Only the 4 bytes shown are encoded.
     */
    hash_bytes128(key, sizeof(key), h);
    hex8((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3], out + 24);
    out[32] = '\0';
}

static void lsn_hex_of(uint64_t lsn, char out[16])
{
    hex8((uint32_t)(lsn >> 32), out);
    hex8((uint32_t)lsn, out + 8);
}

static void derived_id(uint64_t lsn, uint32_t seq, char out[33])
{
    char lsn_hex[16];

    lsn_hex_of(lsn, lsn_hex);
    derived_id_at(lsn, lsn_hex, seq, out);
}

static struct event *new_event(const struct ingest_meta *meta, uint32_t seq,
                               struct ingest_events *out, struct pool *pool)
{
    struct event *ev = ingest_events_push(out, pool);

    ev->project_id = meta->project_id;
    ev->lsn = meta->lsn;
    ev->seq = seq;
    ev->received_at = meta->received_at;
    return ev;
}

static void take_id(const char *id, char out[33])
{
    char tmp[33];

    if (out[0] == '\0' && id != NULL && id[0] != '\0' &&
        envelope_event_id(id, strlen(id), tmp) == 0)
        memcpy(out, tmp, sizeof(tmp));
}

static void finish(struct event *ev, const struct ingest_meta *meta, struct pool *pool)
{
    if (ev->event_id[0] == '\0')
        derived_id(ev->lsn, ev->seq, ev->event_id);
    /* Grouping is most of a log line's decode, and only issues need it. */
    if (fingerprint_deferrable(ev, meta->issue_level))
        fingerprint_event_deferred(ev, pool, NULL);
    else
        fingerprint_event(ev, pool);
}

struct event *ingest_event_new(const struct ingest_meta *meta, uint32_t seq,
                               struct ingest_events *out, struct pool *pool)
{
    return new_event(meta, seq, out, pool);
}

void ingest_event_finish(struct event *ev, const struct ingest_meta *meta, struct pool *pool)
{
    finish(ev, meta, pool);
}

static cJSON *parse_object(const char *p, size_t len, size_t max, const struct ingest_limits *lim,
                           struct bl_err *err)
{
    struct json_limits jl = { max, lim->max_depth };
    cJSON *obj = json_parse(p, len, &jl, err);

    if (obj != NULL && !cJSON_IsObject(obj)) {
        json_delete(obj);
        bl_err_set(err, BL_EPARSE, "not a JSON object");
        return NULL;
    }
    return obj;
}

/*
 * Scrubs a parsed document (scrub.h); when anything was sensitive, *raw
 * becomes the scrubbed compact JSON, so the kept payload never holds what
 * the normalized fields no longer show. Returns 1 when it did.
 */
static int scrubbed_raw(cJSON *obj, const struct ingest_meta *meta, struct pool *pool,
                        struct event *ev)
{
    struct buf b = BUF_INIT(SIZE_MAX / 2);
    int done = 0;

    if (scrub_tree(obj, meta->scrub) == 0)
        return 0;
    if (json_print_to(obj, &b) == 0) {
        ev->raw = pool_memdup(pool, b.p, b.len);
        ev->raw_len = b.len;
    } else {
        ev->raw = SCRUB_FILTERED; /* never keep the unscrubbed text */
        ev->raw_len = sizeof(SCRUB_FILTERED) - 1;
    }
    ev->raw_encoding = EV_RAW_IDENTITY;
    done = 1;
    buf_release(&b);
    return done;
}

/*
 * The tree of an event without the parts the digest never reads (slim.h),
 * when nothing in the event would be scrubbed; NULL when the whole text
 * must be parsed and scrubbed as before (scrubbed_raw prints the whole
 * tree), or when it does not parse (the whole parse reports why).
 */
static cJSON *parse_slim(const char *p, size_t len, const struct ingest_meta *meta,
                         const struct ingest_limits *lim)
{
    struct buf b = BUF_INIT(len * 2 + 64); /* "{}" -> "null" may grow it a little */
    cJSON *obj = NULL;

    if (len <= lim->max_event && slim_event(p, len, lim->max_depth, meta->scrub, &b) == 1)
        obj = parse_object(b.p, b.len, lim->max_event, lim, NULL);
    if (obj != NULL && scrub_tree(obj, meta->scrub) > 0) {
        json_delete(obj);
        obj = NULL;
    }
    buf_release(&b);
    return obj;
}

int ingest_decode_store(const void *payload, size_t len, const struct ingest_meta *meta,
                        const struct ingest_limits *lim, struct pool *pool,
                        struct ingest_events *out, size_t items[INGEST_ITEM__N], struct bl_err *err)
{
    struct buf scratch = BUF_INIT(lim->max_event);
    struct slice body = SLICE_NULL;
    cJSON *obj = NULL;
    struct event *ev;
    int rc, slim = 0;

    (void)items;
    rc = decode_request(payload, len, meta->encoding, lim->max_event, DECODE_SENTRY_LEGACY,
                        &scratch, &body, err);
    if (rc == 0 && (obj = parse_slim(body.p, body.len, meta, lim)) != NULL) {
        slim = 1;
    } else if (rc == 0) {
        obj = parse_object(body.p, body.len, lim->max_event, lim, err);
        rc = obj != NULL ? 0 : BL_EPARSE;
    }
    if (rc < 0)
        goto out;
    ev = new_event(meta, 0, out, pool);
    take_id(meta->event_id, ev->event_id);
    if (!slim && scrubbed_raw(obj, meta, pool, ev)) {
        /* scrubbed: the client's (compressed) body is not kept, the scrubbed JSON is */
    } else if (decode_is_gzip(payload, len)) {
        ev->raw = pool_memdup(pool, payload, len);
        ev->raw_len = len;
        ev->raw_encoding = EV_RAW_GZIP;
    } else {
        ev->raw = pool_memdup(pool, body.p, body.len);
        ev->raw_len = body.len;
        ev->raw_encoding = EV_RAW_IDENTITY;
    }
    normalize_sentry(obj, ev, lim, pool);
    finish(ev, meta, pool);
out:
    json_delete(obj);
    buf_release(&scratch);
    return rc;
}

/*
 * Scrubs the log items in place (they become log lines through
 * sentry_items.c, which only sees the scrubbed text).
 * An item that does not parse is left for those steps to reject.
 */
static size_t scrub_items(struct envelope *env, const struct ingest_meta *meta,
                          const struct ingest_limits *lim, struct pool *pool)
{
    size_t scrubbed = 0;

    for (size_t i = 0; i < env->nitems; i++) {
        struct envelope_item *it = &env->items[i];
        int k = ingest_item_from_type(it->type.p, it->type.len);
        struct slice out;

        /* The event item is scrubbed as the tree it is parsed into anyway (scrubbed_raw);
         * transactions are only counted, never stored. */
        if (k != INGEST_ITEM_LOG)
            continue;
        if (scrub_text(it->payload.p, it->payload.len, lim->max_body, lim->max_depth, meta->scrub,
                       pool, &out) == 1) {
            it->payload = out;
            scrubbed++;
        }
    }
    return scrubbed;
}

/* Counts the items by type and returns the first event item, or NULL. */
static const struct envelope_item *envelope_items(const struct envelope *env,
                                                  size_t counts[INGEST_ITEM__N])
{
    const struct envelope_item *event = NULL;

    for (size_t i = 0; i < env->nitems; i++) {
        int k = ingest_item_from_type(env->items[i].type.p, env->items[i].type.len);

        counts[k]++;
        if (k == INGEST_ITEM_EVENT && event == NULL)
            event = &env->items[i];
    }
    return event;
}

/*
 * The raw payload of an envelope's event. A gzip envelope no larger than its
 * event's JSON is kept as received, like a gzip /store/ body: the store
 * need not compress the event again (zstd was a quarter of the digest's
 * time on 10 KB envelopes) and the API takes the event item out on read.
 * Otherwise (uncompressed, or attachments making the envelope the bigger
 * one) the event's JSON alone is kept. So is it when scrubbing changed any
 * item: the envelope as received is then never kept.
 */
static void keep_envelope_raw(struct event *ev, const void *payload, size_t len,
                              const struct envelope_item *item, int scrubbed, struct pool *pool)
{
    const unsigned char *p = payload;

    if (!scrubbed && len >= 2 && p[0] == 0x1f && p[1] == 0x8b && len <= item->payload.len) {
        ev->raw = pool_memdup(pool, payload, len);
        ev->raw_len = len;
        ev->raw_encoding = EV_RAW_GZIP;
        ev->source = EV_SRC_SENTRY_ENVELOPE;
        return;
    }
    ev->raw = pool_memdup(pool, item->payload.p, item->payload.len);
    ev->raw_len = item->payload.len;
    ev->raw_encoding = EV_RAW_IDENTITY;
}

int ingest_envelope_event(const char *raw, size_t len, struct pool *pool, struct slice *json)
{
    struct envelope_limits elim = ENVELOPE_LIMITS_DEFAULT;
    size_t counts[INGEST_ITEM__N] = { 0 };
    const struct envelope_item *item;
    struct envelope env;
    int rc = envelope_parse(raw, len, &elim, pool, &env, NULL);

    if (rc < 0)
        return rc;
    item = envelope_items(&env, counts);
    if (item == NULL)
        return BL_ENOTFOUND;
    *json = item->payload;
    return 0;
}

/* The items that are not events (sentry_items.c); their log events get ids here. */
static void other_items(const struct envelope *env, const char *event_id,
                        const struct ingest_meta *meta, const struct ingest_limits *lim,
                        struct pool *pool, struct ingest_events *out)
{
    size_t from = out->n;

    sentry_items_decode(env, event_id, meta, lim, pool, 1, out);
    for (size_t i = from; i < out->n; i++)
        finish(&out->v[i], meta, pool);
}

int ingest_decode_envelope(const void *payload, size_t len, const struct ingest_meta *meta,
                           const struct ingest_limits *lim, struct pool *pool,
                           struct ingest_events *out, size_t items[INGEST_ITEM__N],
                           struct bl_err *err)
{
    struct envelope_limits elim = ENVELOPE_LIMITS_DEFAULT;
    struct buf scratch = BUF_INIT(lim->max_body);
    struct slice body = SLICE_NULL;
    size_t counts[INGEST_ITEM__N] = { 0 };
    const struct envelope_item *item = NULL;
    struct envelope env;
    cJSON *obj = NULL;
    struct event *ev = NULL;
    size_t scrubbed = 0;
    int ev_scrubbed, rc, slim = 0;

    elim.max_depth = lim->max_depth;
    rc = decode_request(payload, len, meta->encoding, lim->max_body, 0, &scratch, &body, err);
    if (rc == 0)
        rc = envelope_parse(body.p, body.len, &elim, pool, &env, err);
    if (rc == 0)
        scrubbed = scrub_items(&env, meta, lim, pool);
    if (rc == 0)
        item = envelope_items(&env, counts);
    if (rc == 0 && item != NULL &&
        (obj = parse_slim(item->payload.p, item->payload.len, meta, lim)) != NULL) {
        slim = 1;
    } else if (rc == 0 && item != NULL) {
        obj = parse_object(item->payload.p, item->payload.len, lim->max_event, lim, err);
        rc = obj != NULL ? 0 : BL_EPARSE;
    }
    if (rc < 0)
        goto out;
    if (item != NULL) {
        ev = new_event(meta, 0, out, pool);
        take_id(meta->event_id, ev->event_id);
        take_id(env.event_id, ev->event_id);
        /* Scrubbed before normalizing; then its raw is the scrubbed JSON, never the envelope. */
        ev_scrubbed = !slim && scrubbed_raw(obj, meta, pool, ev);
        normalize_sentry(obj, ev, lim, pool);
        if (!ev_scrubbed)
            keep_envelope_raw(ev, payload, len, item, scrubbed > 0, pool);
        finish(ev, meta, pool);
    }
    other_items(&env, item != NULL ? ev->event_id : env.event_id, meta, lim, pool, out);
out:
    for (int k = 0; rc == 0 && items != NULL && k < INGEST_ITEM__N; k++)
        items[k] += counts[k];
    json_delete(obj);
    buf_release(&scratch);
    return rc;
}

/* The door checked the record being decoded on this thread (ingest_checked_begin). */
static _Thread_local int checked;

void ingest_checked_begin(void)
{
    checked = 1;
}

void ingest_checked_end(void)
{
    checked = 0;
}

/* The same blank-line rule as the door's (check.c), so line numbers agree. */
static int blank_line(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    }
    return 1;
}

static void ndjson_line(const char *line, size_t n, uint32_t idx, const char lsn_hex[16],
                        const struct ingest_meta *meta, const struct ingest_limits *lim,
                        struct pool *pool, struct ingest_events *out)
{
    cJSON *obj;
    struct event *ev;

    /* The door answered per line; lines it rejected were never promised. */
    if (!checked && ingest_ndjson_line_ok(line, n, lim, NULL) != 0)
        return;
    /* Read from the text when nothing in it needs the tree (normalize_log_scan.c). */
    ev = new_event(meta, idx, out, pool);
    if (normalize_log_text(line, n, meta->scrub, ev, lim, pool) == 0) {
        derived_id_at(meta->lsn, lsn_hex, idx, ev->event_id);
        ev->raw = line;
        ev->raw_len = n;
        ev->raw_encoding = EV_RAW_IDENTITY;
        finish(ev, meta, pool);
        return;
    }
    out->n--; /* the tree path below, as it always was */
    obj = parse_object(line, n, lim->max_line, lim, NULL);
    if (obj == NULL)
        return;
    ev = new_event(meta, idx, out, pool);
    derived_id_at(meta->lsn, lsn_hex, idx, ev->event_id);
    ev->raw = line;
    ev->raw_len = n;
    ev->raw_encoding = EV_RAW_IDENTITY;
    (void)scrubbed_raw(obj, meta, pool, ev);
    normalize_log_line(obj, ev, lim, pool);
    finish(ev, meta, pool);
    json_delete(obj);
}

int ingest_decode_ndjson(const void *payload, size_t len, const struct ingest_meta *meta,
                         const struct ingest_limits *lim, struct pool *pool,
                         struct ingest_events *out, size_t items[INGEST_ITEM__N],
                         struct bl_err *err)
{
    struct buf scratch = BUF_INIT(lim->max_body);
    struct slice body = SLICE_NULL;
    const char *text;
    char lsn_hex[16];
    size_t pos = 0, nlines = 0;
    uint32_t idx = 0;
    int rc;

    (void)items;
    rc = decode_request(payload, len, meta->encoding, lim->max_body, 0, &scratch, &body, err);
    if (rc < 0)
        goto out;
    /* One copy for all lines: each event's raw payload points into it. */
    text = pool_memdup(pool, body.p, body.len);
    lsn_hex_of(meta->lsn, lsn_hex);
    for (; pos < body.len; idx++) {
        const char *line = text + pos, *nl = memchr(line, '\n', body.len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : body.len - pos;

        pos += n + 1;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (blank_line(line, n))
            continue;
        if (++nlines > lim->max_lines) {
            rc = bl_err_set(err, BL_EPARSE, "more than %zu lines", lim->max_lines);
            break;
        }
        ndjson_line(line, n, idx, lsn_hex, meta, lim, pool, out);
    }
out:
    buf_release(&scratch);
    return rc;
}

int ingest_decode(const void *payload, size_t len, const struct ingest_meta *meta,
                  const struct ingest_limits *lim, struct pool *pool, struct ingest_events *out,
                  size_t items[INGEST_ITEM__N], struct bl_err *err)
{
    const struct ingest_format *f = format_by_protocol(meta->protocol);
    size_t start = out->n, start_items = out->nitems;
    int rc;

    if (f != NULL)
        rc = f->decode(payload, len, meta, lim, pool, out, items, err);
    else
        rc = bl_err_set(err, BL_EPARSE, "unknown record protocol %d", meta->protocol);
    if (rc < 0) {
        /* All or nothing per record: the digest counts it and moves on. */
        out->n = start;
        out->nitems = start_items;
        if (err != NULL)
            err->code = BL_EPARSE;
        rc = BL_EPARSE;
    }
    return rc;
}
