/*
 * fuzz_envelope.c - envelope_parse and the whole envelope door check on
 * arbitrary bytes. Checks that every item slice lies inside the input and
 * that items come in order without overlapping, and that whatever the door
 * accepts the digest decodes (events, logs, attachments, feedback, reports).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/envelope.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_items(const char *p, size_t len, const struct envelope *env)
{
    const char *end = p + len, *prev = env->header.p + env->header.len;

    for (size_t i = 0; i < env->nitems; i++) {
        const struct envelope_item *it = &env->items[i];

        if (it->header.p < prev || it->header.p + it->header.len > end ||
            it->payload.p < it->header.p + it->header.len || it->payload.p + it->payload.len > end)
            abort();
        prev = it->payload.p + it->payload.len;
    }
}

/*
 * What the door accepts the digest must decode: events, log entries and the
 * other items (sentry_items.c), each item kept with a sane kind and size.
 */
static void decode_accepted(const uint8_t *data, size_t size, const struct ingest_limits *lim,
                            const char *event_id)
{
    struct ingest_meta m = {
        INGEST_SENTRY_ENVELOPE, INGEST_ENC_NONE, 1, 1714564800000000, 9, event_id, NULL, 0
    };
    struct pool pool = POOL_INIT(4096);
    struct ingest_events out = { 0 };

    if (ingest_decode(data, size, &m, lim, &pool, &out, NULL, NULL) != 0)
        abort();
    for (size_t i = 0; i < out.nitems; i++) {
        const struct item *it = &out.items[i];

        if (it->kind < ITEM_ATTACHMENT || it->kind > ITEM_RECEIVED || it->len > size ||
            (it->kind == ITEM_ATTACHMENT && strlen(it->event_id) != 32))
            abort();
    }
    for (size_t i = 0; i < out.n; i++) {
        if (strlen(out.v[i].event_id) != 32)
            abort();
    }
    pool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    struct envelope_limits elim = { 64, 4096, 16 };
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct buf scratch = BUF_INIT(0);
    struct envelope env;
    struct ingest_check chk;
    const char *p = (const char *)data;

    if (!inited) {
        hash_global_init();
        json_global_init();
        inited = 1;
    }
    if (envelope_parse(p, size, &elim, &pool, &env, NULL) == 0) {
        if (env.nitems > elim.max_items || strlen(env.event_id) % 32 != 0)
            abort();
        check_items(p, size, &env);
    }
    lim.max_body = 1u << 20;
    lim.max_event = 64u << 10;
    if (ingest_check_envelope(data, size, INGEST_ENC_NONE, &lim, &scratch, &chk, NULL) == 0) {
        if (chk.items[INGEST_ITEM_EVENT] > 0 && strlen(chk.event_id) != 32)
            abort();
        decode_accepted(data, size, &lim, chk.event_id);
    }
    buf_release(&scratch);
    pool_release(&pool);
    return 0;
}
