/*
 * fuzz_json.c - json_parse's one-pass parse of strict JSON against the
 * prescan and cJSON it stands in for (json_diff.h), on any bytes, under a
 * deep and a shallow nesting limit. Aborts on a different tree or error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "json_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    int fast;

    if (!ready) {
        json_global_init();
        ready = 1;
    }
    if (json_diff((const char *)data, size, 64, &fast) != 0 ||
        json_diff((const char *)data, size, 3, &fast) != 0) {
        fprintf(stderr, "fuzz_json: the two parses differ\n");
        abort();
    }
    return 0;
}
