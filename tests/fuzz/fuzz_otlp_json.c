/*
 * fuzz_otlp_json.c - the OTLP JSON walker, and the digest decode of both
 * OTLP formats, on arbitrary bytes. Checks that every rendered attribute
 * object and structured body is valid JSON, that ids are lowercase hex of
 * the right length, and that the door's count of good records is what the
 * digest keeps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/format.h"
#include "ingest/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void valid_json(const char *p, size_t len)
{
    cJSON *v = cJSON_ParseWithLength(p, len);

    if (v == NULL)
        abort();
    cJSON_Delete(v);
}

static void hex_id(const char *id, size_t want)
{
    size_t n = strlen(id);

    if (n != 0 && (n != want || strspn(id, "0123456789abcdef") != n))
        abort();
}

static int check(void *arg, const struct otlp_record *r)
{
    size_t *good = arg;

    valid_json(r->attrs, strlen(r->attrs));
    valid_json(r->resource_attrs, strlen(r->resource_attrs));
    if (r->body_kind == OTLP_BODY_JSON)
        valid_json(r->body.p, r->body.len);
    hex_id(r->trace_id, 32);
    hex_id(r->span_id, 16);
    *good += r->error == NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct ingest_meta meta = { INGEST_OTLP_JSON, 0, 1, 1000000, 1, "", NULL, 0 };
    struct ingest_events out;
    struct pool pool = POOL_INIT(4096);
    size_t good = 0;
    int rc;

    if (!inited) {
        hash_global_init();
        json_global_init();
        inited = 1;
    }
    rc = otlp_decode_json(data, size, 4096, 32, check, &good, NULL);
    memset(&out, 0, sizeof(out));
    lim.max_line = 4096;
    lim.max_depth = 32;
    if (ingest_decode(data, size, &meta, &lim, &pool, &out, NULL, NULL) == 0 && rc == 0 &&
        out.n != good)
        abort();
    /* The same bytes as protobuf: the digest side of the other OTLP format. */
    memset(&out, 0, sizeof(out));
    meta.protocol = INGEST_OTLP_PB;
    ingest_decode(data, size, &meta, &lim, &pool, &out, NULL, NULL);
    pool_release(&pool);
    return 0;
}
