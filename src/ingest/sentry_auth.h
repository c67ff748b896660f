/*
 * sentry_auth.h - where a Sentry client put its public key (protocols.md §1.3).
 *
 * Sources, in Relay's order: X-Sentry-Auth header, "Authorization: Sentry
 * k=v,...", "Authorization: Basic base64(key:secret)", "Authorization:
 * Bearer KEY" (our JSON-lines door), and the query string (sentry_key=...).
 * The envelope header "dsn" is handled by the caller since it needs the
 * body. More than one source carrying a key is ambiguous and rejected.
 */
#ifndef BL_SENTRY_AUTH_H
#define BL_SENTRY_AUTH_H

#include <stddef.h>

#include "core/err.h"

struct sentry_auth_in {
    const char *x_sentry_auth; /* header values, NULL when absent */
    const char *authorization;
    const char *query_sentry_key; /* the sentry_key query argument, NULL when absent */
};

/*
 * Finds the public key. Returns 0 with key set (1-64 chars, lowercased),
 * BL_EAUTH when no source has a key ("missing credentials") or when more than
 * one does ("multiple authorization payloads"), BL_EPARSE when a header is
 * malformed or the key has characters other than [A-Za-z0-9_].
 *
 * A header without a sentry_key (e.g. "Sentry sentry_version=7") and an
 * Authorization header with another scheme (Digest, a proxy's token) carry
 * no key and are not sources. X-Sentry-Auth may omit the leading "Sentry"
 * word (some old clients do). Values may be wrapped in double quotes.
 */
int sentry_auth_find(const struct sentry_auth_in *in, char key[65], struct bl_err *err);

/*
 * Extracts the public key of a DSN "scheme://KEY[:secret]@host[:port]/path/ID"
 * and its project id. Returns 0 or BL_EPARSE.
 */
int sentry_auth_parse_dsn(const char *dsn, size_t len, char key[65], long long *project_id);

#endif
