/*
 * ratelimit.h - what the server said about when to send again
 * (protocols.md §1.9).
 *
 * X-Sentry-Rate-Limits ("retry_after:categories:scope:reason, ...", any
 * status) wins; otherwise a 429 blocks every category for Retry-After
 * (seconds or an HTTP date), 60 s when absent. libbilor sends events
 * (category "error"; "default" also blocks them) and client reports
 * ("internal"); an empty category list blocks both. Limits only ever
 * extend: a shorter one never shortens a longer one already known.
 */
#ifndef BC_RATELIMIT_H
#define BC_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

enum bc_cat { BC_CAT_ERROR = 0, BC_CAT_INTERNAL = 1, BC_CAT_N = 2 };

#define BC_RETRY_DEFAULT_S 60
#define BC_RETRY_MAX_S 86400

struct bc_limits {
    int64_t until[BC_CAT_N]; /* monotonic µs; 0: not limited */
};

void bc_limits_init(struct bc_limits *l);

/*
 * Applies one answer: status, and the two header values (NULL when
 * absent). now_us is the monotonic clock, now_s the wall clock in seconds
 * (for HTTP dates). Returns 1 when some category became limited.
 */
int bc_limits_update(struct bc_limits *l, int status, const char *retry_after,
                     const char *sentry_limits, int64_t now_us, int64_t now_s);

/* Monotonic µs before which cat may not be sent (0 or past: now). */
int64_t bc_limits_until(const struct bc_limits *l, enum bc_cat cat);

/*
 * Retry-After value to seconds from now: delta-seconds or an IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT"). Returns -1 when unreadable.
 */
int64_t bc_retry_after_seconds(const char *v, int64_t now_s);

/* Parses an X-Sentry-Rate-Limits value into l; returns how many limits applied. */
int bc_limits_parse_sentry(struct bc_limits *l, const char *v, int64_t now_us);

#endif
