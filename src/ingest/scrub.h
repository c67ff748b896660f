/*
 * scrub.h - data scrubbing at ingest: values of sensitive keys and credit
 * card numbers become "[Filtered]" before anything is stored.
 *
 * DESIGN
 * The digest scrubs each client JSON document (a /store/ event, an envelope's
 * event, transaction and log items, a JSON log line) after it is decoded and
 * before it is normalized, so the normalized fields and the raw payload kept
 * for the API are both the scrubbed ones (docs/architecture.md, "Scrubbing").
 *
 * What is sensitive (docs/ingest.md, "Data scrubbing"):
 *   - a member whose key contains one of the default words (password,
 *     passwd, secret, api_key, apikey, token, auth, cookie, session, csrf,
 *     ...) or one of the project's extra keys, case-insensitively, unless
 *     the key is one of the project's safe keys (exact, case-insensitive):
 *     a scalar value becomes "[Filtered]", an object or array keeps its
 *     shape with every scalar inside filtered;
 *   - [name, value] pairs (Sentry's header and query lists) the same way;
 *   - in query strings, cookie strings, form bodies and URLs (values of keys
 *     named query_string, cookies, data, url, and header values), each
 *     name=value part whose name is sensitive;
 *   - anywhere, a run of 13-19 digits (spaces or dashes between groups) with
 *     a card network's prefix that passes the Luhn check.
 * Object keys themselves are never changed. Thread-safe: the only state is
 * a per-thread cache of the default words' answers by key (scrub.c).
 */
#ifndef BL_SCRUB_H
#define BL_SCRUB_H

#include <stddef.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/pool.h"

#define SCRUB_FILTERED "[Filtered]"

/* A project's additions; NULL or "" lists mean none. Comma-separated keys. */
struct scrub_rules {
    const char *extra; /* more sensitive words (substring match) */
    const char *safe;  /* keys never scrubbed (exact match) */
};

/* 1 when key (len bytes) is sensitive under r (NULL: the defaults only). */
int scrub_key_sensitive(const char *key, size_t len, const struct scrub_rules *r);

/* 1 when s is a plausible card number (digits, spaces, dashes) passing Luhn. */
int scrub_is_card(const char *s, size_t len);

/*
 * For decoders that read a document as text without building a tree
 * (normalize_log_scan.c): whether scrub_tree would replace anything of a
 * string value s (decoded, len bytes) under the member key (the nearest
 * object key above it, keylen bytes, decoded), of a number value v, and
 * whether an array under key may be a [name, value] pair (then only the
 * tree walk knows). A key that scrub_key_sensitive names is the caller's to
 * look at first.
 */
int scrub_string_changes(const char *key, size_t keylen, const char *s, size_t len,
                         const struct scrub_rules *r);
int scrub_number_changes(double v);
/* Keys whose string values are name=value lists (query strings, cookies, form bodies, URLs). */
int scrub_pair_key(const char *key, size_t keylen);
int scrub_pair_list_key(const char *key, size_t keylen);

/* Scrubs the tree in place; returns how many values were replaced. */
size_t scrub_tree(cJSON *root, const struct scrub_rules *r);

/*
 * Scrubs one JSON document given as text: 0 when nothing was sensitive
 * (*out untouched), 1 with *out = the scrubbed compact JSON in pool, or a
 * negative code when it is not JSON within max bytes and depth (left to
 * the caller's own parse to report).
 */
int scrub_text(const char *p, size_t len, size_t max, int depth, const struct scrub_rules *r,
               struct pool *pool, struct slice *out);

#endif
