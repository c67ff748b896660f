/*
 * fingerprint_date.c - the parameterizer's dates (fingerprint_param.c):
 * ISO 8601 dates and times of day, and dates written with month names
 * (RFC 2822, ctime and syslog, the common log format), so that a message
 * that names when it happened groups with the same message at any other
 * time.
 */
#include <string.h>

#include "ingest/fingerprint.h"
#include "ingest/fingerprint_text.h"
#include "core/banned.h"

/* HH:MM:SS with optional fraction; 0 when absent. */
static size_t time_len(const char *s, size_t len, size_t i)
{
    size_t j = i + 8;

    if (digits_n(s, len, i, 2) < 0 || digits_n(s, len, i, 2) > 23 || i + 2 >= len ||
        s[i + 2] != ':' || digits_n(s, len, i + 3, 2) < 0 || digits_n(s, len, i + 3, 2) > 59 ||
        i + 5 >= len || s[i + 5] != ':' || digits_n(s, len, i + 6, 2) < 0 ||
        digits_n(s, len, i + 6, 2) > 60)
        return 0;
    if (j + 1 < len && (s[j] == '.' || s[j] == ',') && is_digit(s, len, j + 1))
        j += 1 + run_of(s, len, j + 1, is_digit);
    return j - i;
}

/* Z, or +HH:MM / +HHMM; 0 when absent. */
static size_t zone_len(const char *s, size_t len, size_t i)
{
    if (i < len && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    if (i >= len || (s[i] != '+' && s[i] != '-') || digits_n(s, len, i + 1, 2) < 0)
        return 0;
    if (i + 3 < len && s[i + 3] == ':')
        return digits_n(s, len, i + 4, 2) >= 0 ? 6 : 0;
    return digits_n(s, len, i + 3, 2) >= 0 ? 5 : 0;
}

/* ISO 8601 dates with optional time and zone, or a time of day alone. */
size_t fp_match_date(const char *s, size_t len, size_t i)
{
    int mo = digits_n(s, len, i + 5, 2), d = digits_n(s, len, i + 8, 2);
    size_t j = i + 10, t;

    if (digits_n(s, len, i, 4) < 0 || i + 4 >= len || s[i + 4] != '-' || mo < 1 || mo > 12 ||
        i + 7 >= len || s[i + 7] != '-' || d < 1 || d > 31) {
        t = time_len(s, len, i);
        return t > 0 && !is_word(s, len, i + t) ? t : 0;
    }
    if (j < len && (s[j] == 'T' || s[j] == ' ')) {
        t = time_len(s, len, j + 1);
        if (t > 0) {
            j += 1 + t;
            j += zone_len(s, len, j);
        }
    }
    return is_word(s, len, j) ? 0 : j - i;
}

/* Three lower-case letters as one number, to compare a word with a name at once. */
#define N3(a, b, c) ((unsigned)(a) << 16 | (unsigned)(b) << 8 | (unsigned)(c))

enum { MONTHS, DAYS };

/* Whether w (N3 of three lower-case letters) is a month's or a weekday's abbreviation. */
static int names_one(unsigned w, int which)
{
    switch (w) {
    case N3('j', 'a', 'n'):
    case N3('f', 'e', 'b'):
    case N3('m', 'a', 'r'):
    case N3('a', 'p', 'r'):
    case N3('m', 'a', 'y'):
    case N3('j', 'u', 'n'):
    case N3('j', 'u', 'l'):
    case N3('a', 'u', 'g'):
    case N3('s', 'e', 'p'):
    case N3('o', 'c', 't'):
    case N3('n', 'o', 'v'):
    case N3('d', 'e', 'c'):
        return which == MONTHS;
    case N3('m', 'o', 'n'):
    case N3('t', 'u', 'e'):
    case N3('w', 'e', 'd'):
    case N3('t', 'h', 'u'):
    case N3('f', 'r', 'i'):
    case N3('s', 'a', 't'):
    case N3('s', 'u', 'n'):
        return which == DAYS;
    default:
        return 0;
    }
}

/* A three-letter name (MONTHS or DAYS) at i, any case, longer spellings allowed ("April"); its length. */
static size_t name_len(const char *s, size_t len, size_t i, int which)
{
    unsigned w = 0;
    size_t j = i + 3;

    /*
     * Tried at every word of every message: the three letters are folded
     * once (| 0x20 on letters only) and compared as one number.
     */
    if (i + 3 > len)
        return 0;
    for (size_t c = 0; c < 3; c++) {
        unsigned l = (unsigned char)s[i + c] | 0x20u;

        if (l < 'a' || l > 'z')
            return 0;
        w = w << 8 | l;
    }
    if (!names_one(w, which))
        return 0;
    while (j < len && c_alpha((unsigned char)s[j]))
        j++;
    return j - i;
}

/* 1-2 digits of a day of the month; its length. */
static size_t mday_len(const char *s, size_t len, size_t i)
{
    size_t n = run_of(s, len, i, is_digit);

    return n >= 1 && n <= 2 && digits_n(s, len, i, n) >= 1 && digits_n(s, len, i, n) <= 31 ? n : 0;
}

/* " " then a zone: +HHMM, +HH:MM, Z or an upper-case abbreviation (GMT, UTC, CEST); 0 if none. */
static size_t text_zone_len(const char *s, size_t len, size_t i)
{
    size_t n;

    if (i >= len || s[i] != ' ')
        return 0;
    if ((n = zone_len(s, len, i + 1)) > 0)
        return 1 + n;
    for (n = 0; i + 1 + n < len && c_upper((unsigned char)s[i + 1 + n]); n++)
        ;
    return n >= 1 && n <= 5 && !is_word(s, len, i + 1 + n) ? 1 + n : 0;
}

/* "17 Apr 2019 22:31:45 +0000" (RFC 2822 after the weekday); its length. */
static size_t rfc2822_len(const char *s, size_t len, size_t i)
{
    size_t j = i + mday_len(s, len, i), n, t;

    if (j == i || j >= len || s[j] != ' ' || (n = name_len(s, len, j + 1, MONTHS)) == 0)
        return 0;
    j += 1 + n;
    if (j >= len || s[j] != ' ' || digits_n(s, len, j + 1, 4) < 0)
        return 0;
    j += 5;
    if (j < len && s[j] == ' ' && (t = time_len(s, len, j + 1)) > 0)
        j += 1 + t + text_zone_len(s, len, j + 1 + t);
    return j - i;
}

/* "Apr 17 22:31:45 2019" (ctime, after the weekday) or "Apr 17 22:31:45" (syslog). */
static size_t ctime_len(const char *s, size_t len, size_t i)
{
    size_t j = i + name_len(s, len, i, MONTHS), n, t;

    if (j == i || j >= len || s[j] != ' ')
        return 0;
    j++;
    if (j < len && s[j] == ' ')
        j++; /* ctime pads the day: "Apr  7" */
    if ((n = mday_len(s, len, j)) == 0 || j + n >= len || s[j + n] != ' ')
        return 0;
    j += n + 1;
    if ((t = time_len(s, len, j)) == 0)
        return 0;
    j += t;
    j += text_zone_len(s, len, j);
    if (j + 5 <= len && s[j] == ' ' && digits_n(s, len, j + 1, 4) >= 0 && !is_word(s, len, j + 5))
        j += 5;
    return j - i;
}

/* "17/Apr/2019:22:31:45 +0000" (the common log format). */
static size_t clf_len(const char *s, size_t len, size_t i)
{
    size_t j = i + mday_len(s, len, i), n, t;

    if (j == i || j >= len || s[j] != '/' || (n = name_len(s, len, j + 1, MONTHS)) == 0)
        return 0;
    j += 1 + n;
    if (j >= len || s[j] != '/' || digits_n(s, len, j + 1, 4) < 0)
        return 0;
    j += 5;
    if (j < len && s[j] == ':' && (t = time_len(s, len, j + 1)) > 0)
        j += 1 + t + text_zone_len(s, len, j + 1 + t);
    return j - i;
}

/* Dates written with month names, with or without a leading weekday. */
size_t fp_match_date_text(const char *s, size_t len, size_t i)
{
    size_t j = i, n = name_len(s, len, i, DAYS), d;

    if (n > 0) {
        j += n;
        if (j < len && s[j] == ',')
            j++;
        if (j >= len || s[j] != ' ')
            return 0;
        j++;
    }
    d = rfc2822_len(s, len, j);
    if (d == 0)
        d = ctime_len(s, len, j);
    if (d == 0 && n == 0)
        d = clf_len(s, len, j);
    return d > 0 && !is_word(s, len, j + d) ? j + d - i : 0;
}
