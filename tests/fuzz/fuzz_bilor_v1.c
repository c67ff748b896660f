/*
 * fuzz_bilor_v1.c - the original Bilor API's door check and digest decode
 * (fmt_bilor_v1.c) on arbitrary bytes: whatever the check accepts decodes
 * into exactly one event with the door's id, whose raw payload (the Sentry
 * event it was rewritten as) is valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    const struct ingest_format *f;
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct buf scratch = BUF_INIT(1u << 20);
    struct format_input in = { data, size, INGEST_ENC_NONE, &lim, &pool, &scratch };
    struct format_result res;
    struct ingest_meta meta = { INGEST_BILOR_V1, 0, 1, 1000000, 1, "", NULL, 0 };
    struct ingest_events out;
    cJSON *raw;

    if (!inited) {
        hash_global_init();
        json_global_init();
        inited = 1;
    }
    f = format_by_protocol(INGEST_BILOR_V1);
    lim.max_event = 64u << 10;
    lim.max_depth = 32;
    memset(&res, 0, sizeof(res));
    memset(&out, 0, sizeof(out));
    if (f->check(&in, &res, NULL) == 0) {
        meta.event_id = res.check.event_id;
        if (ingest_decode(data, size, &meta, &lim, &pool, &out, NULL, NULL) != 0 || out.n != 1 ||
            strcmp(out.v[0].event_id, res.check.event_id) != 0)
            abort();
        raw = cJSON_ParseWithLength(out.v[0].raw, out.v[0].raw_len);
        if (raw == NULL)
            abort();
        cJSON_Delete(raw);
    }
    buf_release(&scratch);
    pool_release(&pool);
    return 0;
}
