/*
 * fuzz_cookie.c - the session cookie parser (auth/session.h) on arbitrary
 * Cookie header values. Checks that an id found is exactly 64 lowercase hex
 * characters and that the parser never reads past the header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char id[SESSION_ID_LEN + 1];

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    memset(id, 'x', sizeof(id));
    if (session_cookie_get(copy, id) == 0) {
        if (strlen(id) != SESSION_ID_LEN)
            abort();
        for (size_t i = 0; i < SESSION_ID_LEN; i++)
            if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                abort();
    }
    free(copy);
    return 0;
}
