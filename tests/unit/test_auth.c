/*
 * Unit tests for src/auth: token format and digests, argon2id password
 * hashes, and the Bearer check against a temporary store.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "core/hash.h"
#include "t.h"

static int all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || strchr(set, s[i]) == NULL)
            return 0;
    return 1;
}

static void test_tokens(void)
{
    char a[AUTH_TOKEN_MAX], b[AUTH_TOKEN_MAX], d[65], d2[65];

    auth_token_new(a);
    auth_token_new(b);
    CHECK_INT_EQ(strlen(a), 46);
    CHECK(strncmp(a, "bilor_", 6) == 0);
    CHECK(all_of(a + 6, 40, "0123456789abcdef"));
    CHECK(strcmp(a, b) != 0);
    /* BLAKE2b-256 (libsodium's generichash), hex: known vectors. */
    auth_token_digest("", 0, d);
    CHECK_STR_EQ(d, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    auth_token_digest("abc", 3, d);
    CHECK_STR_EQ(d, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    auth_token_digest(a, strlen(a), d);
    auth_token_digest(b, strlen(b), d2);
    CHECK_INT_EQ(strlen(d), 64);
    CHECK(strcmp(d, d2) != 0);
}

static void test_passwords(void)
{
    char pw[32], pw2[32], hash[AUTH_HASH_MAX], hash2[AUTH_HASH_MAX];

    auth_password_new(pw);
    auth_password_new(pw2);
    CHECK_INT_EQ(strlen(pw), 20);
    CHECK(strcmp(pw, pw2) != 0);
    /* Look-alikes (0/O, 1/l/I) are left out: passwords are read off a terminal. */
    CHECK(strpbrk(pw, "0O1lI") == NULL);
    CHECK_INT_EQ(auth_password_hash(pw, hash, NULL), 0);
    CHECK(strncmp(hash, "$argon2id$", 10) == 0);
    CHECK_INT_EQ(auth_password_verify(hash, pw), 0);
    CHECK_INT_EQ(auth_password_verify(hash, pw2), BL_EAUTH);
    CHECK_INT_EQ(auth_password_verify(hash, ""), BL_EAUTH);
    CHECK_INT_EQ(auth_password_verify("not a hash", pw), BL_EAUTH);
    /* Salted: the same password hashes differently, and both verify. */
    CHECK_INT_EQ(auth_password_hash(pw, hash2, NULL), 0);
    CHECK(strcmp(hash, hash2) != 0);
    CHECK_INT_EQ(auth_password_verify(hash2, pw), 0);
}

static void test_bearer(struct store *st)
{
    char tok[AUTH_TOKEN_MAX], hdr[256], digest[65], want[65], long_tok[200];
    int64_t uid = 0, got = 0;
    struct bl_err err = { 0, "" };

    CHECK_INT_EQ(store_user_add(st, "admin", "$argon2id$x", 1, &uid, NULL), 0);
    CHECK_INT_EQ(auth_token_create(st, uid, "laptop", tok, NULL), 0);
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    CHECK_INT_EQ(auth_check_bearer(st, hdr, &got, digest), 0);
    CHECK_INT_EQ(got, uid);
    auth_token_digest(tok, strlen(tok), want);
    CHECK_STR_EQ(digest, want);
    /* The scheme is case-insensitive and spaces around the token do not count. */
    snprintf(hdr, sizeof(hdr), "bearer   %s  ", tok);
    CHECK_INT_EQ(auth_check_bearer(st, hdr, &got, NULL), 0);
    CHECK_INT_EQ(auth_check_bearer_token(st, tok), 0);

    snprintf(hdr, sizeof(hdr), "Basic %s", tok);
    CHECK_INT_EQ(auth_check_bearer(st, hdr, &got, NULL), BL_EAUTH);
    CHECK_INT_EQ(auth_check_bearer(st, NULL, &got, NULL), BL_EAUTH);
    CHECK_INT_EQ(auth_check_bearer(st, "Bearer ", &got, NULL), BL_EAUTH);
    CHECK_INT_EQ(auth_check_bearer(st, "Bearer bilor_0000", &got, NULL), BL_EAUTH);
    tok[strlen(tok) - 1] ^= 1; /* one character off */
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    CHECK_INT_EQ(auth_check_bearer(st, hdr, &got, NULL), BL_EAUTH);
    CHECK_INT_EQ(auth_check_bearer_token(st, tok), BL_EAUTH);

    /* Caller-chosen tokens (BILOR_ADMIN_TOKEN): at least 16 characters, once. */
    CHECK_INT_EQ(auth_token_register(st, uid, "short", "env", &err), BL_EINVAL);
    CHECK_INT_EQ(auth_token_register(st, uid, "a-chosen-token-0001", "env", NULL), 0);
    CHECK_INT_EQ(auth_token_register(st, uid, "a-chosen-token-0001", "env", NULL), BL_EEXIST);
    CHECK_INT_EQ(auth_check_bearer(st, "Bearer a-chosen-token-0001", &got, NULL), 0);
    /*
     * Past AUTH_TOKEN_MAX the header is refused before any hashing, so such a
     * token cannot be registered either (it would be stored and never work).
     */
    memset(long_tok, 'x', sizeof(long_tok) - 1);
    long_tok[sizeof(long_tok) - 1] = '\0';
    CHECK_INT_EQ(auth_token_register(st, uid, long_tok, "long", NULL), BL_EINVAL);
    snprintf(hdr, sizeof(hdr), "Bearer %s", long_tok);
    CHECK_INT_EQ(auth_check_bearer(st, hdr, &got, NULL), BL_EAUTH);
    long_tok[AUTH_TOKEN_MAX] = '\0'; /* the longest that works */
    CHECK_INT_EQ(auth_token_register(st, uid, long_tok, "long", NULL), 0);
    snprintf(hdr, sizeof(hdr), "Bearer %s", long_tok);
    CHECK_INT_EQ(auth_check_bearer(st, hdr, &got, NULL), 0);
}

int main(void)
{
    char dir[256];
    struct store *st = NULL;

    hash_global_init();
    test_tokens();
    test_passwords();
    snprintf(dir, sizeof(dir), "/tmp/bilor-test-auth-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    CHECK_INT_EQ(store_open(&st, dir, NULL, NULL), 0);
    if (st != NULL) {
        test_bearer(st);
        store_close(st);
    }
    t_rm_tree(dir);
    return t_done();
}
