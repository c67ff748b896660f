/*
 * fingerprint.h - grouping (design §4, protocols.md §2).
 *
 * Precedence: the client's explicit fingerprint ("{{ default }}" expands to
 * the computed components); else the exception chain's types plus its in-app
 * frames (module or lower-cased basename of the filename, and function;
 * never line numbers; context lines for python/javascript/node/php/ruby;
 * recursion counted once, and for JavaScript without its callers), an
 * exception whose frames give nothing adding its parameterised value;
 * else all frames; else exception type + parameterised value; else the
 * parameterised message template plus the logger. Hash = BLAKE2b-128 over
 * the components. The algorithm version is FINGERPRINT_VERSION and is
 * stored with every issue so it can change without silently splitting old
 * issues.
 */
#ifndef BL_FINGERPRINT_H
#define BL_FINGERPRINT_H

#include <stdint.h>

#include "core/buf.h"
#include "core/event.h"
#include "core/pool.h"

#define FINGERPRINT_VERSION 2

/*
 * Sets ev->fingerprint, grouping_version, template_hash, title, culprit and
 * search_text (strings in pool). Needs the fields normalize_* fills.
 */
void fingerprint_event(struct event *ev, struct pool *pool);

/*
 * Replaces variable parts of a message with placeholders: <email>, <url>,
 * <ip>, <uuid>, <sha1>, <md5>, <date>, <hex>, <float>, <int>, and quoted
 * strings after '=' with <quoted_str>. Keeps the first two non-empty lines.
 * Appends to out.
 */
int fingerprint_parameterize(const char *msg, size_t len, struct buf *out);

/* Appends the component list (one per line) that the hash was computed from, for tests and the UI. */
int fingerprint_components(const struct event *ev, struct buf *out);

#endif
