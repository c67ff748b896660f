/*
 * clock.h - time as int64 microseconds since the Unix epoch, UTC.
 *
 * Every timestamp inside Bilor is an int64_t of microseconds; strings only
 * appear at the edges (RFC 3339 in the API, whatever clients send at the
 * doors).
 */
#ifndef BL_CLOCK_H
#define BL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_US_PER_SEC INT64_C(1000000)
#define CLOCK_US_PER_HOUR (INT64_C(3600) * CLOCK_US_PER_SEC)
#define CLOCK_US_PER_DAY (INT64_C(86400) * CLOCK_US_PER_SEC)

/* Wall clock (CLOCK_REALTIME). */
int64_t clock_now_us(void);
/* Monotonic clock for durations (CLOCK_MONOTONIC). */
int64_t clock_mono_us(void);
/* This thread's CPU time (CLOCK_THREAD_CPUTIME_ID): what a busy machine does not inflate. */
int64_t clock_thread_cpu_us(void);

/*
 * Formats us as "2024-05-01T12:00:00.500000Z" into out (NUL-terminated).
 * Returns the length (27 for years 0000-9999).
 */
size_t clock_fmt_rfc3339(int64_t us, char out[40]);

/*
 * Parses RFC 3339 / ISO 8601 date-times as clients send them:
 * "2024-05-01T12:00:00Z", "...T12:00:00.123456+02:00", a space instead of
 * the T, and no zone at all (taken as UTC). Fractions beyond microseconds
 * are truncated. Returns 0 or BL_EPARSE.
 */
int clock_parse_rfc3339(const char *s, size_t len, int64_t *us);

/* Days since 1970-01-01 for a proleptic Gregorian date (no range checks). */
int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Day number (days since epoch) of us, rounding towards -inf. */
int64_t clock_day_of(int64_t us);

#endif
