/*
 * sentry_auth.c - finding a Sentry client's public key (protocols.md §1.3).
 *
 * Each source is looked at on its own and yields "no key", a key, or a
 * parse error; the caller-visible rule is then simple: exactly one key, or
 * 401 (missing / ambiguous) or 400 (malformed). Keys are restricted to the
 * characters the JavaScript SDK's DSN regex allows, so whatever passes here
 * is also safe to log and to put in SQL parameters and file names.
 */
#include <string.h>

#include "ingest/sentry_auth.h"
#include "core/buf.h"
#include "ingest/decode.h"
#include "core/banned.h"

#define SENTRY_KEY_MAX 64
#define BASIC_MAX 512
#define PROJECT_ID_DIGITS 18

enum { SRC_NONE = 0, SRC_KEY = 1 };

static int key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Copies a valid key, lowercased, into key; BL_EPARSE when it is empty, long or odd. */
static int take_key(struct slice k, char key[65])
{
    if (k.len == 0 || k.len > SENTRY_KEY_MAX)
        return BL_EPARSE;
    for (size_t i = 0; i < k.len; i++) {
        unsigned char c = (unsigned char)k.p[i];

        if (!key_char(c))
            return BL_EPARSE;
        key[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    key[k.len] = '\0';
    return 0;
}

/* Splits s at the first c: head before it, tail after it (empty when absent). */
static int split_at(struct slice s, char c, struct slice *head, struct slice *tail)
{
    const char *at = s.len > 0 ? memchr(s.p, c, s.len) : NULL;

    if (at == NULL) {
        *head = s;
        *tail = SLICE_LIT("");
        return 0;
    }
    head->p = s.p;
    head->len = (size_t)(at - s.p);
    tail->p = at + 1;
    tail->len = s.len - head->len - 1;
    return 1;
}

/* "k=v, k=v": SRC_KEY with the first sentry_key, SRC_NONE without one. */
static int sentry_fields(struct slice s, char key[65], const char *what, struct bl_err *err)
{
    struct slice item, rest = s, name, value;

    while (rest.len > 0) {
        split_at(rest, ',', &item, &rest);
        if (!split_at(slice_trim(item), '=', &name, &value))
            continue;
        if (!slice_eq(slice_trim(name), "sentry_key"))
            continue;
        value = slice_trim(value);
        if (value.len >= 2 && value.p[0] == '"' && value.p[value.len - 1] == '"') {
            value.p++;
            value.len -= 2;
        }
        if (take_key(value, key) < 0)
            return bl_err_set(err, BL_EPARSE, "invalid sentry_key in %s", what);
        return SRC_KEY;
    }
    return SRC_NONE;
}

/* Splits "Scheme rest" into its first word and the trimmed rest. */
static void scheme_word(struct slice v, struct slice *word, struct slice *rest)
{
    size_t i = 0;

    v = slice_trim(v);
    while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t')
        i++;
    word->p = v.p;
    word->len = i;
    rest->p = v.p + i;
    rest->len = v.len - i;
    *rest = slice_trim(*rest);
}

static int from_x_sentry_auth(const char *value, char key[65], struct bl_err *err)
{
    struct slice word, rest;

    scheme_word(slice_from(value), &word, &rest);
    if (slice_eqi(word, "sentry"))
        return sentry_fields(rest, key, "X-Sentry-Auth", err);
    /* Some old clients leave the "Sentry" word out. */
    if (memchr(word.p, '=', word.len) != NULL)
        return sentry_fields(slice_from(value), key, "X-Sentry-Auth", err);
    return bl_err_set(err, BL_EPARSE, "malformed X-Sentry-Auth header");
}

static int from_basic(struct slice b64, char key[65], struct bl_err *err)
{
    struct buf raw = BUF_INIT(BASIC_MAX);
    struct slice user, secret;
    int rc = decode_base64(b64.p, b64.len, BASIC_MAX, &raw, NULL);

    if (rc == 0) {
        split_at((struct slice){ raw.p, raw.len }, ':', &user, &secret);
        rc = take_key(user, key);
    }
    buf_release(&raw);
    if (rc < 0)
        return bl_err_set(err, BL_EPARSE, "malformed Basic credentials");
    return SRC_KEY;
}

static int from_authorization(const char *value, char key[65], struct bl_err *err)
{
    struct slice word, rest;

    scheme_word(slice_from(value), &word, &rest);
    if (slice_eqi(word, "sentry"))
        return sentry_fields(rest, key, "Authorization", err);
    if (slice_eqi(word, "basic"))
        return from_basic(rest, key, err);
    if (slice_eqi(word, "bearer")) {
        if (take_key(rest, key) < 0)
            return bl_err_set(err, BL_EPARSE, "malformed Bearer key");
        return SRC_KEY;
    }
    /* Another scheme (a proxy's, say) carries no Sentry key. */
    return SRC_NONE;
}

static int from_query(const char *value, char key[65], struct bl_err *err)
{
    if (take_key(slice_from(value), key) < 0)
        return bl_err_set(err, BL_EPARSE, "invalid sentry_key in query string");
    return SRC_KEY;
}

int sentry_auth_find(const struct sentry_auth_in *in, char key[65], struct bl_err *err)
{
    char cand[65];
    int found = 0, rc;

    key[0] = '\0';
    for (int src = 0; src < 3; src++) {
        if (src == 0 && in->x_sentry_auth != NULL)
            rc = from_x_sentry_auth(in->x_sentry_auth, cand, err);
        else if (src == 1 && in->authorization != NULL)
            rc = from_authorization(in->authorization, cand, err);
        else if (src == 2 && in->query_sentry_key != NULL)
            rc = from_query(in->query_sentry_key, cand, err);
        else
            continue;
        if (rc < 0)
            return rc;
        if (rc == SRC_KEY && found++ == 0)
            memcpy(key, cand, sizeof(cand));
    }
    if (found > 1) {
        key[0] = '\0';
        return bl_err_set(err, BL_EAUTH, "multiple authorization payloads");
    }
    if (found == 0)
        return bl_err_set(err, BL_EAUTH, "missing credentials");
    return 0;
}

static int scheme_ok(struct slice s)
{
    if (s.len == 0 || !((s.p[0] | 0x20) >= 'a' && (s.p[0] | 0x20) <= 'z'))
        return 0;
    for (size_t i = 1; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];

        if (!key_char(c) && c != '+' && c != '-' && c != '.')
            return 0;
    }
    return 1;
}

/* "host[:port]": a non-empty host and, if given, a decimal port. */
static int host_ok(struct slice hp)
{
    struct slice host = hp, port = SLICE_LIT("");
    const char *colon = NULL;

    for (size_t i = 0; i < hp.len; i++) {
        if (hp.p[i] == ':')
            colon = hp.p + i;
        else if (hp.p[i] == ']')
            colon = NULL; /* the colons of an IPv6 literal */
    }
    if (colon != NULL) {
        host.len = (size_t)(colon - hp.p);
        port.p = colon + 1;
        port.len = hp.len - host.len - 1;
        if (port.len == 0 || port.len > 5)
            return 0;
        for (size_t i = 0; i < port.len; i++) {
            if (port.p[i] < '0' || port.p[i] > '9')
                return 0;
        }
    }
    return host.len > 0;
}

static int project_of(struct slice path, long long *project_id)
{
    const char *last = path.p + path.len;
    long long id = 0;
    size_t n = 0;

    while (last > path.p && last[-1] != '/')
        last--;
    if (path.len == 0 || path.p[0] != '/')
        return BL_EPARSE;
    n = (size_t)(path.p + path.len - last);
    if (n == 0 || n > PROJECT_ID_DIGITS)
        return BL_EPARSE;
    for (size_t i = 0; i < n; i++) {
        if (last[i] < '0' || last[i] > '9')
            return BL_EPARSE;
        id = id * 10 + (last[i] - '0');
    }
    if (id <= 0)
        return BL_EPARSE;
    *project_id = id;
    return 0;
}

int sentry_auth_parse_dsn(const char *dsn, size_t len, char key[65], long long *project_id)
{
    struct slice scheme, rest, authority, path, user, secret, hostport;
    const char *sep = NULL, *slash;

    for (size_t i = 0; i + 3 <= len && sep == NULL; i++) {
        if (memcmp(dsn + i, "://", 3) == 0)
            sep = dsn + i;
    }
    if (sep == NULL)
        return BL_EPARSE;
    scheme = (struct slice){ dsn, (size_t)(sep - dsn) };
    rest = (struct slice){ sep + 3, len - scheme.len - 3 };
    slash = rest.len > 0 ? memchr(rest.p, '/', rest.len) : NULL;
    authority = (struct slice){ rest.p, slash ? (size_t)(slash - rest.p) : rest.len };
    path = (struct slice){ rest.p + authority.len, rest.len - authority.len };
    if (!scheme_ok(scheme) || !split_at(authority, '@', &user, &hostport) || !host_ok(hostport))
        return BL_EPARSE;
    split_at(user, ':', &user, &secret);
    if (take_key(user, key) < 0 || project_of(path, project_id) < 0) {
        key[0] = '\0';
        return BL_EPARSE;
    }
    return 0;
}
