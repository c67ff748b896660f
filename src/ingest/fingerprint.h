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

/*
 * 3: every event shape (top-level stack, crashing thread, template, single
 * exception object), browser-independent JavaScript frames, built-in and
 * project rules, the wider parameterizer. 2 is still computed as the
 * previous version (fingerprint_prev) for the transition.
 */
#define FINGERPRINT_VERSION 3

struct grules;

/* A project's grouping rules (grouprules.h); version is recorded on its issues. */
struct fingerprint_rules {
    const struct grules *fingerprint; /* NULL: none */
    const struct grules *stack;       /* NULL: none */
    int version;
};

/*
 * Sets ev->fingerprint, grouping_version, template_hash, title, culprit and
 * search_text (strings in pool). Needs the fields normalize_* fills.
 */
void fingerprint_event(struct event *ev, struct pool *pool);
/*
 * The same with a project's rules (NULL: none). Also sets fingerprint_prev
 * and grouping_version_prev (the previous version's fingerprint) and
 * rules_version; applies the stack-trace rules to ev's frames. May run
 * again on an event already fingerprinted (the previous-version
 * fingerprint is kept from the first run).
 */
void fingerprint_event_rules(struct event *ev, struct pool *pool,
                             const struct fingerprint_rules *rules);

/*
 * Grouping is most of the cost of decoding a log line, and only issues
 * need it: an event with no exception and no stack trace whose level is
 * below issue_level (the project's, 0: unknown) is a log line unless the
 * level setting changes, so the decode may call fingerprint_event_deferred
 * instead. That sets title, culprit and search_text like
 * fingerprint_event_rules but leaves fingerprint empty, grouping_version,
 * template_hash and fingerprint_prev unset; fingerprint_event_rules on it
 * later gives exactly what it would have given at decode time (nothing in
 * such an event is re-marked by stack-trace rules).
 */
int fingerprint_deferrable(const struct event *ev, int issue_level);
void fingerprint_event_deferred(struct event *ev, struct pool *pool,
                                const struct fingerprint_rules *rules);
/* 1 when ev went through fingerprint_event_deferred only. */
int fingerprint_is_deferred(const struct event *ev);

/*
 * Replaces variable parts of a message with placeholders: <email>, <url>,
 * <ip>, <uuid>, <sha1>, <md5>, <date>, <hex>, <float>, <int>, and quoted
 * strings after '=' with <quoted_str>. Keeps the first two non-empty lines.
 * Appends to out.
 */
int fingerprint_parameterize(const char *msg, size_t len, struct buf *out);
/* The parameterizer of a version: wide != 0 for version 3's shapes, 0 for version 2's. */
int fp_parameterize(const char *msg, size_t len, int wide, struct buf *out);
/*
 * The parameterizer's date matchers (fingerprint_date.c): the length of an
 * ISO date or time of day at s[i], of a date with a month's name (version
 * 3), or 0.
 */
size_t fp_match_date(const char *s, size_t len, size_t i);
size_t fp_match_date_text(const char *s, size_t len, size_t i);
/* The frame a person would look at first: the last in-app one, else the last (fingerprint_label.c). */
const struct ev_frame *fp_culprit_frame(const struct event *ev);
/* An event's title, culprit and exceptions' search text, in pool (fingerprint_label.c). */
const char *fp_title(const struct event *ev, struct pool *pool);
const char *fp_culprit(const struct event *ev, struct pool *pool);
const char *fp_search_text(const struct event *ev, struct pool *pool);

/* Appends the component list (one per line) that the hash was computed from, for tests and the UI. */
int fingerprint_components(const struct event *ev, struct buf *out);
int fingerprint_components_rules(const struct event *ev, const struct fingerprint_rules *rules,
                                 struct buf *out);

#endif
