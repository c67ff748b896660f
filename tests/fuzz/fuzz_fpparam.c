/*
 * fuzz_fpparam.c - the message parameterizer (fingerprint_param.c) against
 * the one it replaced (param_diff.h), on the whole input as one message and
 * on each of its lines: aborts when the two ever give a different template
 * or a different error, so no fingerprint can change.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "param_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *p, size_t n)
{
    const char *why = NULL;

    if (param_diff(p, n, &why) != 0) {
        fprintf(stderr, "parameterizer differs (%s) on \"%.*s\"\n", why, (int)n, p);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t pos = 0;

    check(p, size);
    while (pos < size) {
        const char *nl = memchr(p + pos, '\n', size - pos);
        size_t n = nl != NULL ? (size_t)(nl - (p + pos)) : size - pos;

        check(p + pos, n);
        pos += n + 1;
    }
    return 0;
}
