#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth/auth.h"
#include "core/hash.h"
#include "core/banned.h"

_Static_assert(AUTH_HASH_MAX >= crypto_pwhash_STRBYTES, "AUTH_HASH_MAX too small");

void auth_token_new(char out[AUTH_TOKEN_MAX])
{
    memcpy(out, "bilor_", 6);
    rand_hex(out + 6, 20);
}

void auth_token_digest(const char *token, size_t len, char out[65])
{
    unsigned char d[32];

    crypto_generichash(d, sizeof(d), (const unsigned char *)token, len, NULL, 0);
    hex_encode(d, sizeof(d), out);
}

void auth_password_new(char out[32])
{
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    size_t i;

    for (i = 0; i < 20; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    out[i] = '\0';
}

int auth_password_hash(const char *password, char out[AUTH_HASH_MAX], struct bl_err *err)
{
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return bl_err_set(err, BL_ENOMEM, "cannot hash password: out of memory");
    return 0;
}

int auth_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : BL_EAUTH;
}

int auth_token_register(struct store *st, int64_t user_id, const char *token, const char *label,
                        struct bl_err *err)
{
    char digest[65];

    if (strlen(token) < 16)
        return bl_err_set(err, BL_EINVAL, "API tokens must be at least 16 characters");
    /* auth_check_bearer refuses longer ones: such a token would be stored yet never work. */
    if (strlen(token) > AUTH_TOKEN_MAX)
        return bl_err_set(err, BL_EINVAL, "API tokens must be at most %d characters",
                          AUTH_TOKEN_MAX);
    auth_token_digest(token, strlen(token), digest);
    return store_token_add(st, user_id, digest, label, err);
}

int auth_token_create(struct store *st, int64_t user_id, const char *label,
                      char out[AUTH_TOKEN_MAX], struct bl_err *err)
{
    auth_token_new(out);
    return auth_token_register(st, user_id, out, label, err);
}

int auth_check_bearer(struct store *st, const char *header, int64_t *user_id, char digest_out[65])
{
    char digest[65];
    size_t len;

    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
        return BL_EAUTH;
    header += 7;
    while (*header == ' ')
        header++;
    len = strlen(header);
    while (len > 0 && header[len - 1] == ' ')
        len--;
    if (len == 0 || len > AUTH_TOKEN_MAX)
        return BL_EAUTH;
    auth_token_digest(header, len, digest);
    if (store_token_lookup(st, digest, user_id, NULL) < 0)
        return BL_EAUTH;
    if (digest_out != NULL)
        memcpy(digest_out, digest, sizeof(digest));
    return 0;
}

int auth_check_bearer_token(struct store *st, const char *token)
{
    char digest[65];
    int64_t uid = 0;

    auth_token_digest(token, strlen(token), digest);
    return store_token_lookup(st, digest, &uid, NULL) == 0 ? 0 : BL_EAUTH;
}
