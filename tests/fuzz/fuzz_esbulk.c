/*
 * fuzz_esbulk.c - Elasticsearch _bulk bodies: parse arbitrary bytes, then
 * render the answer. Checks that items point inside the body, that the
 * good count matches, and that the answer's "errors" flag is right.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/esbulk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct esbulk_limits lim = { 64, 4096, 16 };
    const char *p = (const char *)data;
    struct pool pool = POOL_INIT(4096);
    struct buf out = BUF_INIT(1 << 20);
    struct esbulk_items it;
    size_t good = 0;

    if (esbulk_parse(p, size, &lim, &pool, &it, NULL) == 0) {
        for (size_t i = 0; i < it.n; i++) {
            const struct esbulk_item *x = &it.v[i];

            if (x->doc.len > 0 && (x->doc.p < p || x->doc.p + x->doc.len > p + size))
                abort();
            good += x->status == 0;
        }
        if (good != it.good || esbulk_response(&it, NULL, "i", 0, &out) != 0)
            abort();
        if ((strstr(out.p, "\"errors\":true") != NULL) != (it.good < it.n))
            abort();
    }
    buf_release(&out);
    pool_release(&pool);
    return 0;
}
