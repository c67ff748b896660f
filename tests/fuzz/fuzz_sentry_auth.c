/*
 * fuzz_sentry_auth.c - the Sentry credential parsers on arbitrary header
 * values. The input is split at NUL bytes into X-Sentry-Auth,
 * Authorization, the sentry_key query value and a DSN. Checks that a key
 * found is 1..64 characters of [A-Za-z0-9_].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/sentry_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_key(const char *key)
{
    size_t n = strlen(key);

    if (n == 0 || n > 64)
        abort();
    for (size_t i = 0; i < n; i++) {
        char c = key[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    const char *parts[4] = { NULL, NULL, NULL, NULL };
    struct sentry_auth_in in;
    char key[65];
    long long pid = 0;
    size_t start = 0, np = 0;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i <= size && np < 4; i++) {
        if (i == size || copy[i] == '\0') {
            copy[i] = '\0';
            parts[np++] = copy + start;
            start = i + 1;
        }
    }
    in.x_sentry_auth = parts[0];
    in.authorization = parts[1];
    in.query_sentry_key = parts[2];
    if (sentry_auth_find(&in, key, NULL) == 0)
        check_key(key);
    if (parts[3] != NULL && sentry_auth_parse_dsn(parts[3], strlen(parts[3]), key, &pid) == 0) {
        check_key(key);
        if (pid <= 0)
            abort();
    }
    free(copy);
    return 0;
}
