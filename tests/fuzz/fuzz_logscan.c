/*
 * fuzz_logscan.c - the text path of a JSON line (normalize_log_text)
 * against the tree path it stands in for (logscan_diff.h), on every line of
 * the input: under the default limits, tiny ones and a project's scrubbing
 * additions. Aborts when the two paths give different events, or when the
 * text path accepts a line the scrub would change; every line, valid or
 * not, also goes through the text path alone (for the sanitizers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "logscan_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *line, size_t n)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT, tiny = INGEST_LIMITS_DEFAULT;
    struct scrub_rules extra = { "user, remote_addr", "token,X-Auth" };
    const char *why;

    tiny.max_string = 7;
    tiny.max_depth = 3;
    tiny.max_line = 200;
    /* Any bytes at all (the reader trusts the door's check, but never reads past the line). */
    {
        struct pool pool = POOL_INIT(4096);
        struct event ev;

        memset(&ev, 0, sizeof(ev));
        (void)normalize_log_text(line, n, NULL, &ev, &lim, &pool);
        pool_release(&pool);
    }
    for (int cfg = 0; cfg < 3; cfg++) {
        if (logscan_diff(line, n, cfg == 2 ? &extra : NULL, cfg == 1 ? &tiny : &lim, &why) ==
            LSD_DIFF) {
            fprintf(stderr, "fuzz_logscan: config %d: %s\n", cfg, why);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    const char *text = (const char *)data;
    size_t pos = 0;

    if (!ready) {
        hash_global_init();
        json_global_init();
        ready = 1;
    }
    while (pos < size) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t n = nl != NULL ? (size_t)(nl - text - pos) : size - pos;

        one_line(text + pos, n);
        pos += n + 1;
    }
    return 0;
}
