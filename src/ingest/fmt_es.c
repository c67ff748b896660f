/*
 * fmt_es.c - the Elasticsearch doors (protocols.md §5): _bulk bodies and
 * single documents (/{index}/_doc, rsyslog's non-bulk mode).
 *
 * The door check judges every bulk item with esbulk_parse and leaves the
 * items in the result (format_result.detail) for the listener's per-item
 * answer; a body whose items all fail is still answered 200 with
 * "errors":true, as Elasticsearch does, so nothing is journaled for it.
 * The digest parses the same body with the same rules and keeps each good
 * item as a log event numbered by its position in the body, so the ids are
 * the same on every replay.
 */
#include <string.h>

#include "ingest/format.h"
#include "ingest/esbulk.h"
#include "ingest/jsonscan.h"
#include "ingest/normalize.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/banned.h"

static struct esbulk_limits bulk_limits(const struct ingest_limits *lim)
{
    return (struct esbulk_limits){ lim->max_lines, lim->max_line, lim->max_depth };
}

static int check_bulk(const struct format_input *in, struct format_result *out, struct bl_err *err)
{
    struct esbulk_limits el = bulk_limits(in->lim);
    struct esbulk_items *items = pool_calloc(in->pool, 1, sizeof(*items));
    struct slice body = SLICE_NULL;
    int rc;

    rc = decode_request(in->body, in->len, in->encoding, in->lim->max_body, 0, in->scratch, &body,
                        err);
    if (rc == 0)
        rc = esbulk_parse(body.p, body.len, &el, in->pool, items, err);
    if (rc < 0)
        return rc;
    /* The sources live in the scratch buffer, freed after the check. */
    for (size_t i = 0; i < items->n; i++)
        items->v[i].doc = SLICE_NULL;
    out->units.accepted = items->good;
    out->units.rejected = items->n - items->good;
    out->detail = items;
    return 0;
}

static int decode_bulk(const void *payload, size_t len, const struct ingest_meta *meta,
                       const struct ingest_limits *lim, struct pool *pool,
                       struct ingest_events *out, size_t items_n[INGEST_ITEM__N],
                       struct bl_err *err)
{
    struct esbulk_limits el = bulk_limits(lim);
    struct json_limits jl = { lim->max_line, lim->max_depth };
    struct buf scratch = BUF_INIT(lim->max_body);
    struct slice body = SLICE_NULL;
    struct esbulk_items items;
    int rc;

    (void)items_n;
    rc = decode_request(payload, len, meta->encoding, lim->max_body, 0, &scratch, &body, err);
    if (rc == 0)
        rc = esbulk_parse(body.p, body.len, &el, pool, &items, err);
    for (size_t i = 0; rc == 0 && i < items.n; i++) {
        const struct esbulk_item *it = &items.v[i];
        cJSON *doc;
        struct event *ev;

        if (it->status != 0)
            continue; /* answered as failed: never promised */
        doc = json_parse(it->doc.p, it->doc.len, &jl, NULL);
        if (doc == NULL)
            continue;
        ev = ingest_event_new(meta, (uint32_t)i, out, pool);
        normalize_es_doc(doc, it->index.len > 0 ? it->index.p : NULL, ev, lim, pool);
        ingest_event_finish(ev, meta, pool);
        cJSON_Delete(doc);
    }
    buf_release(&scratch);
    return rc;
}

static int check_doc(const struct format_input *in, struct format_result *out, struct bl_err *err)
{
    return format_check_object(in, out, "failed to parse: the document is not a JSON object", err);
}

static int decode_doc(const void *payload, size_t len, const struct ingest_meta *meta,
                      const struct ingest_limits *lim, struct pool *pool, struct ingest_events *out,
                      size_t items_n[INGEST_ITEM__N], struct bl_err *err)
{
    struct json_limits jl = { lim->max_event, lim->max_depth };
    struct buf scratch = BUF_INIT(lim->max_event);
    struct slice body = SLICE_NULL;
    cJSON *doc = NULL;
    struct event *ev;
    int rc;

    (void)items_n;
    rc = decode_request(payload, len, meta->encoding, lim->max_event, 0, &scratch, &body, err);
    if (rc == 0) {
        doc = json_parse(body.p, body.len, &jl, err);
        rc = cJSON_IsObject(doc) ? 0 : bl_err_set(err, BL_EPARSE, "not a JSON object");
    }
    if (rc == 0) {
        ev = ingest_event_new(meta, 0, out, pool);
        if (meta->event_id != NULL && strlen(meta->event_id) == 32)
            memcpy(ev->event_id, meta->event_id, 33);
        normalize_es_doc(doc, NULL, ev, lim, pool);
        ingest_event_finish(ev, meta, pool);
    }
    cJSON_Delete(doc);
    buf_release(&scratch);
    return rc;
}

const struct ingest_format format_es_bulk = {
    .name = "es_bulk",
    .protocol = INGEST_ES_BULK,
    .family = "es",
    .content_type = NULL,
    .reply = FORMAT_REPLY_UNITS,
    .empty_error = NULL, /* all items failed: 200 with "errors":true, nothing journaled */
    .check = check_bulk,
    .decode = decode_bulk,
};

const struct ingest_format format_es_doc = {
    .name = "es_doc",
    .protocol = INGEST_ES_DOC,
    .family = "es_doc",
    .content_type = NULL,
    .reply = FORMAT_REPLY_EVENT_ID,
    .empty_error = "no document",
    .check = check_doc,
    .decode = decode_doc,
};
