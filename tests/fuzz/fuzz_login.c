/*
 * fuzz_login.c - the login body parser (auth/session.h) on arbitrary bytes.
 * Checks that an accepted body gives a non-empty lowercase email and a
 * password of 1..SESSION_PASSWORD_MAX bytes, and that a refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/session.h"
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    struct session_login in;
    struct bl_err err = { 0, "" };
    size_t n;

    if (!init) {
        json_global_init();
        init = 1;
    }
    if (session_login_parse((const char *)data, size, &in, &err) == 0) {
        n = strlen(in.email);
        if (n == 0 || n >= sizeof(in.email))
            abort();
        for (size_t i = 0; i < n; i++)
            if (in.email[i] >= 'A' && in.email[i] <= 'Z')
                abort();
        n = strlen(in.password);
        if (n == 0 || n > SESSION_PASSWORD_MAX)
            abort();
        session_login_wipe(&in);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
