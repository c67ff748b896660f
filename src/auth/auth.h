/*
 * auth.h - secrets: admin passwords (argon2id) and API tokens (stored hashed).
 *
 * A token is shown once when created ("bilor_" + 40 hex chars); the store
 * keeps only its BLAKE2b digest, so a leaked database does not leak working
 * tokens. Looking a token up hashes the presented value and compares digests
 * through the store's primary key.
 */
#ifndef BL_AUTH_H
#define BL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define AUTH_TOKEN_MAX 128
#define AUTH_HASH_MAX 160 /* >= crypto_pwhash_STRBYTES */

/* A new random token, NUL-terminated. */
void auth_token_new(char out[AUTH_TOKEN_MAX]);
/* The digest stored for a token (64 hex chars). */
void auth_token_digest(const char *token, size_t len, char out[65]);
/* A random password of 20 URL-safe characters. */
void auth_password_new(char out[32]);
/* argon2id hash string of password (moderate limits: ~64 MiB, 2 passes). */
int auth_password_hash(const char *password, char out[AUTH_HASH_MAX], struct bl_err *err);
/* 0 when password matches hash, BL_EAUTH otherwise. */
int auth_password_verify(const char *hash, const char *password);

/* Creates a token for user_id in st; the plain token goes to out. */
int auth_token_create(struct store *st, int64_t user_id, const char *label,
                      char out[AUTH_TOKEN_MAX], struct bl_err *err);
/* Registers a caller-chosen plain token (BILOR_ADMIN_TOKEN). */
int auth_token_register(struct store *st, int64_t user_id, const char *token, const char *label,
                        struct bl_err *err);
/*
 * Checks an "Authorization: Bearer TOKEN" header value. Returns 0 with
 * *user_id and, when digest is not NULL, the token's stored digest (its
 * identity in the store, not a secret), or BL_EAUTH.
 */
int auth_check_bearer(struct store *st, const char *header, int64_t *user_id, char digest[65]);
/* 0 when the plain token is registered, BL_EAUTH otherwise. */
int auth_check_bearer_token(struct store *st, const char *token);

#endif
