/*
 * fuzz_normalize.c - libFuzzer driver for the event model: the input is
 * parsed as JSON (with the server's limits) and run through both
 * normalizers, the fingerprint and the API document, once with the default
 * limits and once with tiny ones so truncation and frame trimming are hit.
 * The raw bytes also go through the message parameteriser.
 */
#include <stdint.h>
#include <string.h>

#include "api/api_event_doc.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const cJSON *obj, int logline, const struct ingest_limits *lim)
{
    struct pool pool = POOL_INIT(16384);
    struct buf out = BUF_INIT(1 << 24);
    struct event ev;

    memset(&ev, 0, sizeof(ev));
    ev.received_at = INT64_C(1714564805000000);
    if (logline)
        normalize_log_line(obj, &ev, lim, &pool);
    else
        normalize_sentry(obj, &ev, lim, &pool);
    fingerprint_event(&ev, &pool);
    (void)api_event_doc(&ev, obj, &out);
    buf_reset(&out);
    (void)fingerprint_components(&ev, &out);
    buf_release(&out);
    pool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct json_limits jl = { 1 << 20, 64 };
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct ingest_limits tiny = INGEST_LIMITS_DEFAULT;
    struct buf p = BUF_INIT(1 << 20);
    cJSON *obj;

    if (!ready) {
        hash_global_init();
        json_global_init();
        ready = 1;
    }
    (void)fingerprint_parameterize((const char *)data, size, &p);
    buf_release(&p);
    obj = json_parse((const char *)data, size, &jl, NULL);
    if (obj == NULL)
        return 0;
    tiny.max_frames = 3;
    tiny.max_string = 7;
    run(obj, 0, &lim);
    run(obj, 1, &lim);
    run(obj, 0, &tiny);
    cJSON_Delete(obj);
    return 0;
}
