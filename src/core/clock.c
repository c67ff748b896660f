#include <stdio.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/banned.h"

int64_t clock_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * CLOCK_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CLOCK_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t clock_thread_cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * CLOCK_US_PER_SEC + ts.tv_nsec / 1000;
}

/* Howard Hinnant's days_from_civil: exact for the whole int64 day range we use. */
int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t clock_day_of(int64_t us)
{
    int64_t d = us / CLOCK_US_PER_DAY;

    if (us < 0 && us % CLOCK_US_PER_DAY != 0)
        d--;
    return d;
}

/* Hinnant's civil_from_days, the inverse of clock_days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* n decimal digits of v, zero-padded, at p. */
static char *put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/*
 * Written by hand rather than with gmtime_r and snprintf: every listing row
 * carries two or three of these, and the libc pair was a tenth of a REST
 * request's CPU.
 */
size_t clock_fmt_rfc3339(int64_t us, char out[40])
{
    int64_t secs = us / CLOCK_US_PER_SEC, frac = us % CLOCK_US_PER_SEC, y, sod;
    unsigned m, d;
    char *p = out;

    if (frac < 0) {
        frac += CLOCK_US_PER_SEC;
        secs--;
    }
    sod = secs % 86400;
    if (sod < 0)
        sod += 86400;
    civil_from_days((secs - sod) / 86400, &y, &m, &d);
    if (y < 0 || y > 9999) {
        int n = snprintf(out, 40, "%04lld-%02u-%02uT%02d:%02d:%02d.%06dZ", (long long)y, m, d,
                         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)frac);

        return n < 0 || n >= 40 ? 0 : (size_t)n;
    }
    p = put_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)(sod / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(sod / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)(sod % 60), 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)frac, 6);
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

static int digits(const char *s, size_t len, size_t *i, size_t n, int *out)
{
    int v = 0;

    for (size_t k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return 0;
}

static int parse_zone(const char *s, size_t len, size_t i, int64_t *offset_s)
{
    int hh, mm = 0;

    *offset_s = 0;
    if (i == len)
        return 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
        return 0;
    if (s[i] != '+' && s[i] != '-')
        return -1;
    {
        int sign = s[i] == '-' ? -1 : 1;

        i++;
        if (digits(s, len, &i, 2, &hh) < 0)
            return -1;
        if (i < len && s[i] == ':')
            i++;
        if (i < len && digits(s, len, &i, 2, &mm) < 0)
            return -1;
        if (i != len || hh > 23 || mm > 59)
            return -1;
        *offset_s = sign * (hh * 3600 + mm * 60);
    }
    return 0;
}

/* 28..31: "2026-02-30" is not a date, however the arithmetic would read it. */
static int days_in_month(int y, int mo)
{
    static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return mo == 2 && leap ? 29 : days[mo - 1];
}

/* "YYYY-MM-DD" then 'T', 't' or ' '. */
static int parse_date(const char *s, size_t len, size_t *i, int *y, int *mo, int *d)
{
    if (digits(s, len, i, 4, y) < 0 || *i >= len || s[(*i)++] != '-' ||
        digits(s, len, i, 2, mo) < 0 || *i >= len || s[(*i)++] != '-' ||
        digits(s, len, i, 2, d) < 0)
        return -1;
    if (*i >= len || (s[*i] != 'T' && s[*i] != 't' && s[*i] != ' '))
        return -1;
    (*i)++;
    return *mo >= 1 && *mo <= 12 && *d >= 1 && *d <= days_in_month(*y, *mo) ? 0 : -1;
}

/* Fraction after '.' or ',' as microseconds; digits past the sixth are dropped. */
static int parse_fraction(const char *s, size_t len, size_t *i, int64_t *frac)
{
    int64_t scale = 100000;

    *frac = 0;
    if (*i >= len || (s[*i] != '.' && s[*i] != ','))
        return 0;
    (*i)++;
    if (*i >= len || s[*i] < '0' || s[*i] > '9')
        return -1;
    for (; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        *frac += (s[*i] - '0') * scale;
        scale /= 10;
    }
    return 0;
}

/* "hh:mm[:ss[.frac]]" */
static int parse_time(const char *s, size_t len, size_t *i, int *h, int *mi, int *sec,
                      int64_t *frac)
{
    *sec = 0;
    *frac = 0;
    if (digits(s, len, i, 2, h) < 0 || *i >= len || s[(*i)++] != ':' ||
        digits(s, len, i, 2, mi) < 0)
        return -1;
    if (*i < len && s[*i] == ':') {
        (*i)++;
        if (digits(s, len, i, 2, sec) < 0 || parse_fraction(s, len, i, frac) < 0)
            return -1;
    }
    return *h <= 23 && *mi <= 59 && *sec <= 60 ? 0 : -1;
}

/* Two digits at s as a number, or -1. */
static int two(const char *s)
{
    unsigned a = (unsigned)(s[0] - '0'), b = (unsigned)(s[1] - '0');

    return a <= 9u && b <= 9u ? (int)(a * 10 + b) : -1;
}

/* The day of the last date read on this thread: a batch's lines share a few dates. */
static _Thread_local struct {
    int ymd; /* y * 10000 + mo * 100 + d of a valid date, 0: none */
    int64_t days;
} last_day;

/*
 * "YYYY-MM-DDTHH:MM:SS[.fraction]Z", the shape nearly every log line's
 * timestamp has, read in one pass; 1 when s has another shape (the general
 * parser below decides), else what the general parser gives for it.
 */
static int parse_utc(const char *s, size_t len, int64_t *us)
{
    int y1, y2, mo, d, h, mi, sec, ymd;
    int64_t frac = 0, days;
    size_t i = 19;

    if (len < 20 || s[len - 1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':')
        return 1;
    y1 = two(s);
    y2 = two(s + 2);
    mo = two(s + 5);
    d = two(s + 8);
    h = two(s + 11);
    mi = two(s + 14);
    sec = two(s + 17);
    if ((y1 | y2 | mo | d | h | mi | sec) < 0)
        return 1;
    if (s[i] == '.') {
        static const int scale[6] = { 100000, 10000, 1000, 100, 10, 1 };

        /* At least one digit, then only digits up to the Z; past the sixth they are dropped. */
        if (++i == len - 1)
            return 1;
        for (size_t k = 0; i < len - 1; i++, k++) {
            if ((unsigned)(s[i] - '0') > 9u)
                return 1;
            if (k < 6)
                frac += (s[i] - '0') * scale[k];
        }
    }
    if (i != len - 1)
        return 1;
    ymd = (y1 * 100 + y2) * 10000 + mo * 100 + d;
    if (ymd == last_day.ymd) {
        days = last_day.days;
    } else {
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y1 * 100 + y2, mo))
            return BL_EPARSE;
        days = clock_days_from_civil(y1 * 100 + y2, (unsigned)mo, (unsigned)d);
        last_day.ymd = ymd;
        last_day.days = days;
    }
    if (h > 23 || mi > 59 || sec > 60)
        return BL_EPARSE;
    *us = (days * 86400 + h * 3600 + mi * 60 + sec) * CLOCK_US_PER_SEC + frac;
    return 0;
}

int clock_parse_rfc3339(const char *s, size_t len, int64_t *us)
{
    size_t i = 0;
    int y, mo, d, h, mi, sec;
    int64_t frac, offset = 0;
    int rc = parse_utc(s, len, us);

    if (rc <= 0)
        return rc;
    if (parse_date(s, len, &i, &y, &mo, &d) < 0 ||
        parse_time(s, len, &i, &h, &mi, &sec, &frac) < 0 || parse_zone(s, len, i, &offset) < 0)
        return BL_EPARSE;
    *us = ((clock_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
            offset) *
           CLOCK_US_PER_SEC) +
          frac;
    return 0;
}
