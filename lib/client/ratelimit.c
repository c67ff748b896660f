/* ratelimit.c - Retry-After and X-Sentry-Rate-Limits. */
#include <ctype.h>
#include <string.h>

#include "bilor/bilor.h"
#include "client/ratelimit.h"
#include "core/banned.h"

void bc_limits_init(struct bc_limits *l)
{
    memset(l, 0, sizeof(*l));
}

int64_t bc_limits_until(const struct bc_limits *l, enum bc_cat cat)
{
    return l->until[cat];
}

static void limit_set(struct bc_limits *l, enum bc_cat cat, int64_t until)
{
    if (until > l->until[cat])
        l->until[cat] = until;
}

/* Seconds, possibly fractional, rounded up to µs; -1 when not a number. */
static int64_t parse_seconds_us(const char *s, size_t n)
{
    int64_t us = 0, frac = 0, scale = 1000000;
    size_t i = 0;

    if (n == 0)
        return -1;
    for (; i < n && isdigit((unsigned char)s[i]); i++) {
        us = us * 10 + (s[i] - '0');
        if (us > BC_RETRY_MAX_S)
            us = BC_RETRY_MAX_S;
    }
    if (i == 0)
        return -1;
    us *= 1000000;
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]); i++) {
            if (scale > 1) {
                scale /= 10;
                frac += (s[i] - '0') * scale;
            } else if (s[i] != '0') {
                frac++; /* round up what is below a microsecond */
                break;
            }
        }
    }
    return us + frac;
}

static int cat_of(const char *s, size_t n, enum bc_cat *cat)
{
    if ((n == 5 && memcmp(s, "error", 5) == 0) || (n == 7 && memcmp(s, "default", 7) == 0)) {
        *cat = BC_CAT_ERROR;
        return 1;
    }
    if (n == 8 && memcmp(s, "internal", 8) == 0) {
        *cat = BC_CAT_INTERNAL;
        return 1;
    }
    return 0;
}

/* One limit "secs:cats:..." of length n. */
static int apply_one(struct bc_limits *l, const char *s, size_t n, int64_t now_us)
{
    const char *colon = memchr(s, ':', n);
    const char *cats, *end;
    int64_t us;
    int hit = 0;

    us = parse_seconds_us(s, colon != NULL ? (size_t)(colon - s) : n);
    if (us < 0 || colon == NULL)
        return 0;
    cats = colon + 1;
    end = memchr(cats, ':', (size_t)(s + n - cats));
    if (end == NULL)
        end = s + n;
    if (cats == end) {
        for (int c = 0; c < BC_CAT_N; c++)
            limit_set(l, (enum bc_cat)c, now_us + us);
        return 1;
    }
    while (cats < end) {
        const char *semi = memchr(cats, ';', (size_t)(end - cats));
        size_t len = (size_t)((semi != NULL ? semi : end) - cats);
        enum bc_cat cat;

        if (cat_of(cats, len, &cat)) {
            limit_set(l, cat, now_us + us);
            hit = 1;
        }
        cats += len + (semi != NULL);
    }
    return hit;
}

int bc_limits_parse_sentry(struct bc_limits *l, const char *v, int64_t now_us)
{
    int n = 0;

    while (v != NULL && *v != '\0') {
        size_t len = strcspn(v, ",");
        const char *s = v;
        size_t k = len;

        while (k > 0 && isspace((unsigned char)*s)) {
            s++;
            k--;
        }
        while (k > 0 && isspace((unsigned char)s[k - 1]))
            k--;
        n += apply_one(l, s, k, now_us);
        v += len + (v[len] == ',');
    }
    return n;
}

static int month_of(const char *m)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    for (int i = 0; i < 12; i++)
        if (memcmp(names + 3 * i, m, 3) == 0)
            return i + 1;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int num2(const char *s, int *out)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return -1;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

/* IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7). */
static int64_t parse_http_date(const char *v)
{
    int d, mo, hh, mi, ss, y1, y2;

    if (strlen(v) < 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' ||
        v[16] != ' ' || v[19] != ':' || v[22] != ':' || memcmp(v + 25, " GMT", 4) != 0)
        return -1;
    mo = month_of(v + 8);
    if (mo == 0 || num2(v + 5, &d) || num2(v + 12, &y1) || num2(v + 14, &y2) || num2(v + 17, &hh) ||
        num2(v + 20, &mi) || num2(v + 23, &ss))
        return -1;
    return days_from_civil(y1 * 100 + y2, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
}

int64_t bc_retry_after_seconds(const char *v, int64_t now_s)
{
    int64_t us, t;

    while (v != NULL && isspace((unsigned char)*v))
        v++;
    if (v == NULL || *v == '\0')
        return -1;
    if (isdigit((unsigned char)*v)) {
        us = parse_seconds_us(v, strcspn(v, " \t\r\n"));
        return us < 0 ? -1 : (us + 999999) / 1000000;
    }
    t = parse_http_date(v);
    if (t < 0)
        return -1;
    t -= now_s;
    if (t < 0)
        return 0;
    return t > BC_RETRY_MAX_S ? BC_RETRY_MAX_S : t;
}

int bc_limits_update(struct bc_limits *l, int status, const char *retry_after,
                     const char *sentry_limits, int64_t now_us, int64_t now_s)
{
    int64_t secs;

    /* The Sentry header, when present, is the whole truth (as in the Sentry SDKs). */
    if (sentry_limits != NULL && sentry_limits[0] != '\0')
        return bc_limits_parse_sentry(l, sentry_limits, now_us) > 0;
    if (status != 429)
        return 0;
    secs = bc_retry_after_seconds(retry_after, now_s);
    if (secs < 0)
        secs = BC_RETRY_DEFAULT_S;
    for (int c = 0; c < BC_CAT_N; c++)
        limit_set(l, (enum bc_cat)c, now_us + secs * 1000000);
    return 1;
}
