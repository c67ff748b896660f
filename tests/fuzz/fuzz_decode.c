/*
 * fuzz_decode.c - decode_body, decode_request and decode_base64 on arbitrary bytes. The
 * first byte picks the Content-Encoding hint; the rest is the body. Checks:
 * the output never passes the cap, a failed call leaves the buffer as it
 * was, and a body decode_is_compressed calls plain is copied unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CAP (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf out = BUF_INIT(16);
    int hint, rc;

    if (size < 1)
        return 0;
    hint = data[0] % 5;
    data++;
    size--;
    buf_addstr(&out, "pre");
    rc = decode_body(data, size, hint, FUZZ_CAP, &out, NULL);
    if (out.len < 3 || memcmp(out.p, "pre", 3) != 0 || out.len - 3 > FUZZ_CAP)
        abort();
    if (rc != 0 && out.len != 3)
        abort();
    if (rc == 0 && !decode_is_compressed(data, size, hint) &&
        (out.len - 3 != size || (size > 0 && memcmp(out.p + 3, data, size) != 0)))
        abort();
    if (rc != 0 && rc != BL_EPARSE && rc != BL_ETOOBIG)
        abort();
    for (unsigned flags = 0; flags <= DECODE_SENTRY_LEGACY; flags++) {
        struct slice text = SLICE_NULL;

        rc = decode_request(data, size, hint, 4096, flags, &out, &text, NULL);
        if (rc != 0 && rc != BL_EPARSE && rc != BL_ETOOBIG)
            abort();
        if (rc == 0 && text.len > 4096)
            abort();
        if (rc == 0 && flags == 0 && !decode_is_compressed(data, size, hint) &&
            (text.p != (const char *)data || text.len != size))
            abort();
    }
    buf_reset(&out);
    rc = decode_base64((const char *)data, size, 4096, &out, NULL);
    if ((rc != 0 && out.len != 0) || out.len > 4096)
        abort();
    buf_release(&out);
    return 0;
}
