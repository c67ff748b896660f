/*
 * fuzz_logfmt.c - libFuzzer driver for the socket doors' formats
 * (ingest/logfmt.h): the input is a body of the gelf and of the syslog
 * format (one message, or a batch when it starts with a digit), run
 * through each format's door check and digest decode, then every message
 * through its normalizer, attribute builder and the API document, as the
 * API does on read. Checks that each event's raw payload lies inside the
 * decoded body and that the door and the digest agree on the message count,
 * and that a message decoded without grouping (a log line by the project's
 * issue level) and grouped later gets what grouping at decode gives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_event_doc.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/format.h"
#include "ingest/logfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECEIVED INT64_C(1714564805000000)

/* The API's rebuild of one stored event (api_events.c) and its document. */
static void show(const struct event *stored, const struct ingest_limits *lim)
{
    struct pool pool = POOL_INIT(4096);
    struct json_limits jl = { lim->max_body, lim->max_depth };
    struct buf doc = BUF_INIT(1 << 24);
    struct event ev;
    cJSON *attrs = NULL, *obj = NULL;

    memset(&ev, 0, sizeof(ev));
    ev.received_at = RECEIVED;
    if (stored->source == EV_SRC_SYSLOG) {
        normalize_syslog(stored->raw, stored->raw_len, &ev, lim, &pool);
        attrs = normalize_syslog_attributes(stored->raw, stored->raw_len, RECEIVED);
    } else {
        obj = json_parse(stored->raw, stored->raw_len, &jl, NULL);
        if (obj == NULL)
            abort(); /* the digest stored it, so it parses */
        normalize_gelf(obj, &ev, lim, &pool);
        attrs = normalize_gelf_attributes(obj);
    }
    if (ev.level != stored->level || ev.timestamp != stored->timestamp)
        abort(); /* the API must rebuild what the digest stored */
    fingerprint_event(&ev, &pool);
    (void)api_event_doc(&ev, attrs, &doc);
    cJSON_Delete(attrs);
    cJSON_Delete(obj);
    buf_release(&doc);
    pool_release(&pool);
}

/* Decoded again with every deferrable event left ungrouped, then grouped: as decoded in out. */
static void check_deferred(const struct ingest_format *f, const uint8_t *data, size_t size,
                           const struct ingest_events *out, const struct ingest_limits *lim)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_meta meta = { f->protocol, 0, 1, RECEIVED, 9, "", NULL, EV__NLEVELS };
    struct ingest_events late;

    memset(&late, 0, sizeof(late));
    if (ingest_decode(data, size, &meta, lim, &pool, &late, NULL, NULL) != 0 || late.n != out->n)
        abort();
    for (size_t i = 0; i < late.n; i++) {
        struct event *a = &late.v[i];
        const struct event *b = &out->v[i];

        if (fingerprint_is_deferred(a))
            fingerprint_event_rules(a, &pool, NULL);
        if (strcmp(a->fingerprint, b->fingerprint) != 0 ||
            strcmp(a->fingerprint_prev, b->fingerprint_prev) != 0 ||
            a->template_hash != b->template_hash || (a->title == NULL) != (b->title == NULL) ||
            (a->title != NULL && strcmp(a->title, b->title) != 0))
            abort();
    }
    pool_release(&pool);
}

static void run(const struct ingest_format *f, const uint8_t *data, size_t size)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(16384);
    struct buf scratch = BUF_INIT(lim.max_body);
    struct format_input in = { data, size, 0, &lim, &pool, &scratch };
    struct format_result res;
    struct ingest_meta meta = { f->protocol, 0, 1, RECEIVED, 9, "", NULL, 0 };
    struct ingest_events out;
    struct bl_err err = { 0, "" };
    int checked;

    memset(&res, 0, sizeof(res));
    memset(&out, 0, sizeof(out));
    checked = f->check(&in, &res, &err) == 0;
    buf_release(&scratch);
    if (ingest_decode(data, size, &meta, &lim, &pool, &out, NULL, &err) == 0) {
        if (checked && out.n != res.units.accepted)
            abort(); /* the digest stores exactly what the door promised */
        for (size_t i = 0; i < out.n; i++)
            show(&out.v[i], &lim);
        check_deferred(f, data, size, &out, &lim);
    }
    pool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct slice m;
    size_t pos = 0, total = 0;

    if (!ready) {
        hash_global_init();
        json_global_init();
        ready = 1;
    }
    while (logfmt_batch_next((const char *)data, size, &pos, &m) == 1) {
        if (m.p < (const char *)data || m.p + m.len > (const char *)data + size)
            abort();
        total += m.len;
    }
    if (total > size)
        abort();
    run(format_by_name("gelf"), data, size);
    run(format_by_name("syslog"), data, size);
    return 0;
}
