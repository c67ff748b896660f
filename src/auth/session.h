/*
 * session.h - web sessions: the cookie, its id, the login body.
 *
 * A session id is 256 random bits shown to the browser once, as 64 hex
 * chars in the cookie "bilor_session"; the store keeps its BLAKE2b digest
 * (auth_token_digest), so a copy of the database cannot sign anyone in.
 * The CSRF token is another 128 random bits kept beside it: the web UI
 * reads it from the login answer or /auth/me and sends it back in
 * X-CSRF-Token on every state-changing request.
 *
 * The parsers here read hostile input (any client's Cookie header and
 * login body): both have fuzz drivers (tests/fuzz/fuzz_session.c).
 */
#ifndef BL_AUTH_SESSION_H
#define BL_AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SESSION_COOKIE "bilor_session"
#define SESSION_ID_LEN 64   /* hex chars of a session id */
#define SESSION_CSRF_LEN 32 /* hex chars of a CSRF token */
#define SESSION_PASSWORD_MAX 1024
/* Cookie headers longer than this are not searched (a browser sends far less). */
#define SESSION_COOKIE_HEADER_MAX 8192

/* A new session id and CSRF token, NUL-terminated. */
void session_new(char id[SESSION_ID_LEN + 1], char csrf[SESSION_CSRF_LEN + 1]);

/*
 * Finds the session cookie in a Cookie header value ("a=1; bilor_session=...").
 * Returns 0 with id filled when a well-formed one (64 lowercase hex chars) is
 * there, else BL_ENOTFOUND. The first bilor_session wins.
 */
int session_cookie_get(const char *header, char id[SESSION_ID_LEN + 1]);

/* The login body {"email": E, "password": P}, both strings (email lowercased). */
struct session_login {
    char email[256];
    char password[SESSION_PASSWORD_MAX + 1];
};

/* 0, or BL_EPARSE / BL_EINVAL with a message in err meant for the client. */
int session_login_parse(const char *body, size_t len, struct session_login *out,
                        struct bl_err *err);

/* Overwrites the password (the compiler may not drop it). */
void session_login_wipe(struct session_login *in);

/* 0 when s looks like an email address we accept (user names). */
int session_email_check(const char *s);

/* Constant-time comparison of two NUL-terminated strings (CSRF tokens). */
int session_str_eq(const char *a, const char *b);

#endif
