/*
 * throttle.h - login throttling: failures per key (an account, a client
 * address) in a sliding window, then refusals with a growing wait.
 *
 * After `limit` failures with less than `window` between consecutive ones
 * a key is locked for base * 2^(failures - limit), at most `window`; a
 * failure after the lock ends locks it again, twice as long. A quiet
 * window forgets the key. Nothing is kept per success except that the
 * caller may clear an account's key.
 *
 * The table is fixed-size (memory cannot grow with hostile traffic): a key
 * hashes to a small bucket; when the bucket is full the stalest entry goes.
 * Thread-safe (one mutex: a login costs an argon2 hash, far more).
 */
#ifndef BL_AUTH_THROTTLE_H
#define BL_AUTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct throttle;

/* window and base in µs. */
struct throttle *throttle_new(size_t slots, unsigned limit, int64_t window, int64_t base);
void throttle_free(struct throttle *t);

/* 0 when key may try now, else the µs until it may (> 0). */
int64_t throttle_wait(struct throttle *t, const char *key, int64_t now);
/* Records a failure of key at now. */
void throttle_fail(struct throttle *t, const char *key, int64_t now);
/* Forgets key (a successful login to that account). */
void throttle_clear(struct throttle *t, const char *key);

#endif
