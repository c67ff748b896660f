#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "auth/session.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/banned.h"

void session_new(char id[SESSION_ID_LEN + 1], char csrf[SESSION_CSRF_LEN + 1])
{
    rand_hex(id, SESSION_ID_LEN / 2);
    rand_hex(csrf, SESSION_CSRF_LEN / 2);
}

static int is_hex_id(const char *p, size_t len)
{
    if (len != SESSION_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

int session_cookie_get(const char *header, char id[SESSION_ID_LEN + 1])
{
    static const char name[] = SESSION_COOKIE;
    const size_t nlen = sizeof(name) - 1;
    const char *p = header, *end;

    if (header == NULL ||
        strnlen(header, SESSION_COOKIE_HEADER_MAX + 1) > SESSION_COOKIE_HEADER_MAX)
        return BL_ENOTFOUND;
    end = header + strlen(header);
    /* RFC 6265 §4.2.1: cookie-pairs separated by ";" and optional spaces. */
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *pair_end = semi != NULL ? semi : end;

        while (p < pair_end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(pair_end - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = (size_t)(pair_end - v);

            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
                v++, vlen -= 2;
            if (!is_hex_id(v, vlen))
                return BL_ENOTFOUND;
            memcpy(id, v, vlen);
            id[vlen] = '\0';
            return 0;
        }
        p = pair_end + 1;
    }
    return BL_ENOTFOUND;
}

int session_email_check(const char *s)
{
    size_t len = strlen(s);
    const char *at = strchr(s, '@');

    if (len < 3 || len > 254 || at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
        return BL_EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '"' || s[i] == ',')
            return BL_EINVAL;
    return 0;
}

int session_login_parse(const char *body, size_t len, struct session_login *out, struct bl_err *err)
{
    struct json_limits lim = { 16 * 1024, 4 };
    cJSON *doc = json_parse(body, len, &lim, err);
    const char *email, *pw;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (doc == NULL)
        return bl_err_set(err, BL_EPARSE, "the body must be a JSON object {email, password}");
    email = json_str(doc, "email");
    pw = json_str(doc, "password");
    if (!cJSON_IsObject(doc) || email == NULL || pw == NULL) {
        rc = bl_err_set(err, BL_EINVAL, "email and password are required strings");
    } else if (strlen(email) == 0 || strlen(email) >= sizeof(out->email) || strlen(pw) == 0 ||
               strlen(pw) > SESSION_PASSWORD_MAX) {
        rc = bl_err_set(err, BL_EINVAL, "email or password has a bad length");
    } else {
        for (size_t i = 0; email[i] != '\0'; i++)
            out->email[i] = (char)tolower((unsigned char)email[i]);
        memcpy(out->password, pw, strlen(pw) + 1);
    }
    cJSON_Delete(doc);
    return rc;
}

int session_str_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la != lb || la == 0)
        return 0;
    return sodium_memcmp(a, b, la) == 0;
}

void session_login_wipe(struct session_login *in)
{
    sodium_memzero(in->password, sizeof(in->password));
}
