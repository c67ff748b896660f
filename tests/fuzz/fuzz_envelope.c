/*
 * fuzz_envelope.c - envelope_parse and the whole envelope door check on
 * arbitrary bytes. Checks that every item slice lies inside the input and
 * that items come in order without overlapping.
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
            it->payload.p < it->header.p + it->header.len ||
            it->payload.p + it->payload.len > end)
            abort();
        prev = it->payload.p + it->payload.len;
    }
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
    if (ingest_check_envelope(data, size, INGEST_ENC_NONE, &lim, &scratch, &chk, NULL) == 0 &&
        chk.items[INGEST_ITEM_EVENT] > 0 && strlen(chk.event_id) != 32)
        abort();
    buf_release(&scratch);
    pool_release(&pool);
    return 0;
}
