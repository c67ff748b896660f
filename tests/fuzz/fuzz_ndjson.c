/*
 * fuzz_ndjson.c - the JSON-lines door check, the /store/ check (with its
 * base64 and zlib fallbacks) and the timestamp parsers on arbitrary bytes.
 * Checks the counts add up and recorded errors point at real lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const uint8_t *p, size_t len)
{
    size_t n = len > 0;

    for (size_t i = 0; i + 1 < len; i++)
        n += p[i] == '\n';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct pool pool = POOL_INIT(4096);
    struct buf scratch = BUF_INIT(0);
    struct ingest_ndjson_result r;
    struct ingest_check chk;
    size_t lines = count_lines(data, size);
    int64_t us;

    if (!inited) {
        hash_global_init();
        json_global_init();
        inited = 1;
    }
    lim.max_line = 512;
    lim.max_lines = 1000;
    if (ingest_check_ndjson(data, size, INGEST_ENC_NONE, &lim, &pool, 4, &scratch, &r, NULL) == 0) {
        if (r.accepted + r.rejected > lines || r.nerrors > 4 || r.nerrors > r.rejected)
            abort();
        for (size_t i = 0; i < r.nerrors; i++) {
            if (r.errors[i].line == 0 || r.errors[i].line > lines ||
                strlen(r.errors[i].error) >= sizeof(r.errors[i].error))
                abort();
        }
    }
    lim.max_event = 64u << 10;
    if (ingest_check_store(data, size, INGEST_ENC_NONE, &lim, &scratch, &chk, NULL) == 0 &&
        strlen(chk.event_id) != 32)
        abort();
    ingest_time_from_string((const char *)data, size, &us);
    buf_release(&scratch);
    pool_release(&pool);
    return 0;
}
