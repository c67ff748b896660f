/*
 * fuzz_client_parsers.c - libbilor's parsers of what a server or a user
 * hands it: the DSN, Retry-After and X-Sentry-Rate-Limits. The input is
 * split at NUL bytes into a DSN, a Retry-After value and a rate-limit
 * header. Checks that limits never point into the past or beyond the cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/dsn.h"
#include "client/ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t now_us = INT64_C(1000000000000), now_s = 1700000000;
    char *copy = malloc(size + 1);
    const char *parts[3] = { "", "", "" };
    struct bc_dsn dsn;
    struct bc_limits lim;
    size_t start = 0, np = 0;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i <= size && np < 3; i++) {
        if (i == size || copy[i] == '\0') {
            copy[i] = '\0';
            parts[np++] = copy + start;
            start = i + 1;
        }
    }
    memset(&dsn, 0, sizeof(dsn));
    bc_dsn_parse(&dsn, parts[0]);
    bc_limits_init(&lim);
    bc_limits_update(&lim, 429, parts[1], parts[2], now_us, now_s);
    for (int c = 0; c < BC_CAT_N; c++) {
        int64_t until = bc_limits_until(&lim, (enum bc_cat)c);

        if (until != 0 &&
            (until < now_us || until > now_us + (BC_RETRY_MAX_S + 1) * INT64_C(1000000)))
            abort();
    }
    free(copy);
    return 0;
}
