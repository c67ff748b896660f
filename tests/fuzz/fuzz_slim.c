/*
 * fuzz_slim.c - an event parsed without the parts the digest never reads
 * (slim_event) against the whole text's parse it stands in for
 * (slim_diff.h): the input as one event, under the default limits, tiny
 * ones and a project's scrubbing additions. Aborts when the slim copy
 * parses where the whole text does not, hides something the scrub would
 * change, or normalizes or groups differently; any bytes also go through
 * slim_event alone (for the sanitizers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "slim_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT, tiny = INGEST_LIMITS_DEFAULT;
    struct scrub_rules extra = { "user, remote_addr", "token,X-Auth,Cookie" };
    struct buf out = BUF_INIT(size * 2 + 64);
    const char *text = (const char *)data, *why;

    if (!ready) {
        hash_global_init();
        json_global_init();
        ready = 1;
    }
    (void)slim_event(text, size, 3, NULL, &out);
    buf_release(&out);
    tiny.max_string = 7;
    tiny.max_depth = 3;
    tiny.max_frames = 2;
    for (int cfg = 0; cfg < 3; cfg++) {
        if (slim_diff(text, size, cfg == 2 ? &extra : NULL, cfg == 1 ? &tiny : &lim, &why) ==
            SD_DIFF) {
            fprintf(stderr, "fuzz_slim: config %d: %s\n", cfg, why);
            abort();
        }
    }
    return 0;
}
