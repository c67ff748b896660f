/*
 * ratelimit.h - token buckets per DSN key and per project, in memory.
 *
 * DESIGN
 * Every ingest request that passed the key check is charged here, so this
 * must cost about what the key cache costs: no SQLite, no global lock.
 * Slots (one per key, one per project) live in a fixed open-addressing
 * table; a slot's identity is written once under a table mutex and read
 * lock-free, and its buckets and counters are guarded by one of
 * RL_STRIPES striped mutexes. The limits themselves are not kept here:
 * they come with each request from the key cache (store_key_info), so a
 * limit changed through the API applies within the cache's refresh period.
 *
 * A bucket of limit L per period P holds at most L tokens and refills at
 * L/P. A request is admitted when every bucket that applies holds at least
 * one token, and then takes all its units even if that drives a bucket
 * negative: a batch larger than the limit is admitted once and paid back
 * before the next one (otherwise it could never pass). A refusal says
 * which categories (events, lines) are blocked, at which scope (key or
 * project) and for how many seconds: the Sentry door turns that into
 * X-Sentry-Rate-Limits (protocols.md §1.9).
 *
 * When the table is full (more than RL_SLOTS/2 keys and projects seen since
 * start) new keys are admitted without limits and counted in
 * ratelimit_overflow(); that is logged, never a refusal.
 *
 * The same slots count outcomes per key (for /metrics) and per project and
 * hour for the last RL_HOURS hours (GET /api/0/projects/{id}/stats/); those
 * counts live since the server started.
 */
#ifndef BL_RATELIMIT_H
#define BL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define RL_HOURS 24

/* What a request carries, as the limits count it. */
enum rl_cat { RL_CAT_EVENTS = 0, RL_CAT_LINES, RL_CATS };
enum rl_scope { RL_SCOPE_KEY = 0, RL_SCOPE_PROJECT, RL_SCOPES };

/* One token bucket; all zero is a full bucket not used yet. */
struct rl_bucket {
    double tokens;
    int64_t at_us; /* last refill, monotonic µs; 0: never used */
};

/*
 * Charges n units to b (limit per period_us; limit <= 0: unlimited, always 0).
 * check_only: only say whether it would admit. Returns 0 when admitted (and,
 * unless check_only, taken), else the µs until one token is back (>= 1).
 */
int64_t rl_bucket_take(struct rl_bucket *b, int64_t limit, int64_t period_us, int64_t n,
                       int64_t now_us, int check_only);

/* Why a request was refused: per category, the scope and the wait (0: not blocked). */
struct rl_verdict {
    int wait_s[RL_CATS];
    int scope[RL_CATS]; /* enum rl_scope of the bucket that blocked */
};

/* Per-key outcome counters, and per-project hourly counts. */
enum rl_count { RL_ACCEPTED = 0, RL_RATE_LIMITED, RL_REJECTED, RL_COUNTS };

struct rl_hour {
    int64_t hour_us; /* wall clock µs at the hour's start; 0: no traffic */
    uint64_t n[RL_COUNTS];
};

struct ratelimit;

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/*
 * Admits units[] (by enum rl_cat) for the key ki: 0 and charged, or 1 with
 * v saying why (nothing is charged then). units NULL: only tell whether
 * every category that has a limit is blocked already (the check before a
 * body is read; nothing is charged).
 */
int ratelimit_admit(struct ratelimit *rl, const struct store_key_info *ki,
                    const int64_t units[RL_CATS], int64_t now_us, struct rl_verdict *v);

/* Counts n of what (enum rl_count) for the key and its project (key_id 0: project only). */
void ratelimit_count(struct ratelimit *rl, int64_t project_id, int64_t key_id, int what,
                     uint64_t n);

/* The project's counts for the last RL_HOURS hours, newest first (zeroed when none). */
void ratelimit_hours(struct ratelimit *rl, int64_t project_id, struct rl_hour out[RL_HOURS]);

/* Calls fn for every key slot with its counters (for /metrics). */
typedef void (*rl_key_fn)(void *arg, int64_t key_id, const uint64_t counts[RL_COUNTS]);
void ratelimit_each_key(struct ratelimit *rl, rl_key_fn fn, void *arg);

/* Keys and projects admitted without limits because the table was full. */
uint64_t ratelimit_overflow(const struct ratelimit *rl);

/* "error;default;transaction;security" or "log_item": Sentry data categories. */
const char *rl_cat_sentry(int cat);
const char *rl_scope_name(int scope);

#endif
