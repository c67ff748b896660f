/*
 * param_ref.h - the message parameterizer as it was before it was made
 * cheaper (src/ingest/fingerprint_param.c at 5391d4a, names prefixed pr_,
 * without its memo): the reference that tests/unit/test_fpparam.c and
 * tests/fuzz/fuzz_fpparam.c hold the new one to, since a fingerprint must
 * never change (an issue would split). Never edit it to follow the new one.
 */
#ifndef BL_PARAM_REF_H
#define BL_PARAM_REF_H

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

typedef size_t (*pr_matcher_fn)(const char *s, size_t len, size_t i);

/* Bytes of non-ASCII text count as word characters: no token starts inside a word. */
static int pr_is_word(const char *s, size_t len, size_t i)
{
    unsigned char c;

    if (i >= len)
        return 0;
    c = (unsigned char)s[i];
    return isalnum(c) || c == '_' || c >= 0x80;
}

static int pr_is_hex(const char *s, size_t len, size_t i)
{
    return i < len && isxdigit((unsigned char)s[i]);
}

static int pr_is_digit(const char *s, size_t len, size_t i)
{
    return i < len && isdigit((unsigned char)s[i]);
}

static size_t pr_run_of(const char *s, size_t len, size_t i, int (*pred)(const char *, size_t, size_t))
{
    size_t j = i;

    while (pred(s, len, j))
        j++;
    return j - i;
}

/* Exactly n digits at i, as a number; -1 otherwise. */
static int pr_digits_n(const char *s, size_t len, size_t i, size_t n)
{
    int v = 0;

    for (size_t k = 0; k < n; k++) {
        if (!pr_is_digit(s, len, i + k))
            return -1;
        v = v * 10 + (s[i + k] - '0');
    }
    return v;
}

static int pr_email_local(int c)
{
    return isalnum(c) || (c != '\0' && strchr("._%+-", c) != NULL);
}

static int pr_host_char(int c)
{
    return isalnum(c) || c == '.' || c == '-';
}

/* Length of a domain at i with at least one dot and an alphabetic top label. */
static size_t pr_domain_len(const char *s, size_t len, size_t i)
{
    size_t e = i, dot = 0, tld = 0;

    while (e < len && pr_host_char((unsigned char)s[e]))
        e++;
    while (e > i && (s[e - 1] == '.' || s[e - 1] == '-'))
        e--;
    for (size_t k = i; k < e; k++) {
        if (s[k] == '.')
            dot = k;
    }
    if (dot <= i)
        return 0;
    for (size_t k = dot + 1; k < e; k++) {
        if (!isalpha((unsigned char)s[k]))
            return 0;
        tld++;
    }
    return tld >= 2 ? e - i : 0;
}

static size_t pr_m_email(const char *s, size_t len, size_t i)
{
    size_t j = i, d;

    while (j < len && pr_email_local((unsigned char)s[j]))
        j++;
    if (j == i || j >= len || s[j] != '@')
        return 0;
    d = pr_domain_len(s, len, j + 1);
    return d > 0 ? j + 1 + d - i : 0;
}

/* Characters that end a URL inside free text: whitespace, NUL, quotes and angle brackets. */
static int pr_url_end(unsigned char c)
{
    return isspace(c) || c == '\0' || c == '"' || c == '\'' || c == '<' || c == '>';
}

static size_t pr_m_url(const char *s, size_t len, size_t i)
{
    size_t j = i, rest;

    if (!isalpha((unsigned char)s[i]))
        return 0;
    while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '+' || s[j] == '.' || s[j] == '-'))
        j++;
    if (j + 3 >= len || memcmp(s + j, "://", 3) != 0)
        return 0;
    j += 3;
    rest = j;
    while (j < len && !pr_url_end((unsigned char)s[j]))
        j++;
    /* Sentence punctuation after a URL is not part of it. */
    while (j > rest && strchr(".,;:!?)]}", s[j - 1]) != NULL)
        j--;
    return j > rest ? j - i : 0;
}

static size_t pr_m_uuid(const char *s, size_t len, size_t i)
{
    static const size_t groups[] = { 8, 4, 4, 4, 12 };
    size_t j = i;

    for (size_t g = 0; g < 5; g++) {
        if (g > 0) {
            if (j >= len || s[j] != '-')
                return 0;
            j++;
        }
        if (pr_run_of(s, len, j, pr_is_hex) < groups[g])
            return 0;
        j += groups[g];
    }
    return pr_is_word(s, len, j) ? 0 : j - i;
}

/* HH:MM:SS with optional fraction; 0 when absent. */
static size_t pr_time_len(const char *s, size_t len, size_t i)
{
    size_t j = i + 8;

    if (pr_digits_n(s, len, i, 2) < 0 || pr_digits_n(s, len, i, 2) > 23 || i + 2 >= len ||
        s[i + 2] != ':' || pr_digits_n(s, len, i + 3, 2) < 0 || pr_digits_n(s, len, i + 3, 2) > 59 ||
        i + 5 >= len || s[i + 5] != ':' || pr_digits_n(s, len, i + 6, 2) < 0 ||
        pr_digits_n(s, len, i + 6, 2) > 60)
        return 0;
    if (j + 1 < len && (s[j] == '.' || s[j] == ',') && pr_is_digit(s, len, j + 1))
        j += 1 + pr_run_of(s, len, j + 1, pr_is_digit);
    return j - i;
}

/* Z, or +HH:MM / +HHMM; 0 when absent. */
static size_t pr_zone_len(const char *s, size_t len, size_t i)
{
    if (i < len && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    if (i >= len || (s[i] != '+' && s[i] != '-') || pr_digits_n(s, len, i + 1, 2) < 0)
        return 0;
    if (i + 3 < len && s[i + 3] == ':')
        return pr_digits_n(s, len, i + 4, 2) >= 0 ? 6 : 0;
    return pr_digits_n(s, len, i + 3, 2) >= 0 ? 5 : 0;
}

/* ISO 8601 dates with optional time and zone, or a time of day alone. */
static size_t pr_m_date(const char *s, size_t len, size_t i)
{
    int mo = pr_digits_n(s, len, i + 5, 2), d = pr_digits_n(s, len, i + 8, 2);
    size_t j = i + 10, t;

    if (pr_digits_n(s, len, i, 4) < 0 || i + 4 >= len || s[i + 4] != '-' || mo < 1 || mo > 12 ||
        i + 7 >= len || s[i + 7] != '-' || d < 1 || d > 31) {
        t = pr_time_len(s, len, i);
        return t > 0 && !pr_is_word(s, len, i + t) ? t : 0;
    }
    if (j < len && (s[j] == 'T' || s[j] == ' ')) {
        t = pr_time_len(s, len, j + 1);
        if (t > 0) {
            j += 1 + t;
            j += pr_zone_len(s, len, j);
        }
    }
    return pr_is_word(s, len, j) ? 0 : j - i;
}

static const char *const pr_month_names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                           "Aug", "Sep", "Oct", "Nov", "Dec", NULL };
static const char *const pr_day_names[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", NULL };

/* A three-letter name of list at i (any case, longer spellings allowed: "April"); its length. */
static size_t pr_name_len(const char *s, size_t len, size_t i, const char *const *list)
{
    unsigned char w[3];

    /*
     * Tried at every word of every message: the three letters are folded
     * once (| 0x20 on letters only) rather than by a strncasecmp per name.
     */
    if (i + 3 > len)
        return 0;
    for (size_t c = 0; c < 3; c++) {
        w[c] = (unsigned char)(s[i + c] | 0x20);
        if (w[c] < 'a' || w[c] > 'z')
            return 0;
    }
    for (size_t k = 0; list[k] != NULL; k++) {
        if ((list[k][0] | 0x20) == w[0] && list[k][1] == w[1] && list[k][2] == w[2]) {
            size_t j = i + 3;

            while (j < len && isalpha((unsigned char)s[j]))
                j++;
            return j - i;
        }
    }
    return 0;
}

/* 1-2 digits of a day of the month; its length. */
static size_t pr_mday_len(const char *s, size_t len, size_t i)
{
    size_t n = pr_run_of(s, len, i, pr_is_digit);

    return n >= 1 && n <= 2 && pr_digits_n(s, len, i, n) >= 1 && pr_digits_n(s, len, i, n) <= 31 ? n : 0;
}

/* " " then a zone: +HHMM, +HH:MM, Z or an upper-case abbreviation (GMT, UTC, CEST); 0 if none. */
static size_t pr_text_zone_len(const char *s, size_t len, size_t i)
{
    size_t n;

    if (i >= len || s[i] != ' ')
        return 0;
    if ((n = pr_zone_len(s, len, i + 1)) > 0)
        return 1 + n;
    for (n = 0; i + 1 + n < len && isupper((unsigned char)s[i + 1 + n]); n++)
        ;
    return n >= 1 && n <= 5 && !pr_is_word(s, len, i + 1 + n) ? 1 + n : 0;
}

/* "17 Apr 2019 22:31:45 +0000" (RFC 2822 after the weekday); its length. */
static size_t pr_rfc2822_len(const char *s, size_t len, size_t i)
{
    size_t j = i + pr_mday_len(s, len, i), n, t;

    if (j == i || j >= len || s[j] != ' ' || (n = pr_name_len(s, len, j + 1, pr_month_names)) == 0)
        return 0;
    j += 1 + n;
    if (j >= len || s[j] != ' ' || pr_digits_n(s, len, j + 1, 4) < 0)
        return 0;
    j += 5;
    if (j < len && s[j] == ' ' && (t = pr_time_len(s, len, j + 1)) > 0)
        j += 1 + t + pr_text_zone_len(s, len, j + 1 + t);
    return j - i;
}

/* "Apr 17 22:31:45 2019" (ctime, after the weekday) or "Apr 17 22:31:45" (syslog). */
static size_t pr_ctime_len(const char *s, size_t len, size_t i)
{
    size_t j = i + pr_name_len(s, len, i, pr_month_names), n, t;

    if (j == i || j >= len || s[j] != ' ')
        return 0;
    j++;
    if (j < len && s[j] == ' ')
        j++; /* ctime pads the day: "Apr  7" */
    if ((n = pr_mday_len(s, len, j)) == 0 || j + n >= len || s[j + n] != ' ')
        return 0;
    j += n + 1;
    if ((t = pr_time_len(s, len, j)) == 0)
        return 0;
    j += t;
    j += pr_text_zone_len(s, len, j);
    if (j + 5 <= len && s[j] == ' ' && pr_digits_n(s, len, j + 1, 4) >= 0 && !pr_is_word(s, len, j + 5))
        j += 5;
    return j - i;
}

/* "17/Apr/2019:22:31:45 +0000" (the common log format). */
static size_t pr_clf_len(const char *s, size_t len, size_t i)
{
    size_t j = i + pr_mday_len(s, len, i), n, t;

    if (j == i || j >= len || s[j] != '/' || (n = pr_name_len(s, len, j + 1, pr_month_names)) == 0)
        return 0;
    j += 1 + n;
    if (j >= len || s[j] != '/' || pr_digits_n(s, len, j + 1, 4) < 0)
        return 0;
    j += 5;
    if (j < len && s[j] == ':' && (t = pr_time_len(s, len, j + 1)) > 0)
        j += 1 + t + pr_text_zone_len(s, len, j + 1 + t);
    return j - i;
}

/* Dates written with month names, with or without a leading weekday. */
static size_t pr_m_date_text(const char *s, size_t len, size_t i)
{
    size_t j = i, n = pr_name_len(s, len, i, pr_day_names), d;

    if (n > 0) {
        j += n;
        if (j < len && s[j] == ',')
            j++;
        if (j >= len || s[j] != ' ')
            return 0;
        j++;
    }
    d = pr_rfc2822_len(s, len, j);
    if (d == 0)
        d = pr_ctime_len(s, len, j);
    if (d == 0 && n == 0)
        d = pr_clf_len(s, len, j);
    return d > 0 && !pr_is_word(s, len, j + d) ? j + d - i : 0;
}

/*
 * A version: v?N.N.N with optional pre-release and build parts
 * ("1.2.3", "v10.4.0-beta.2", "2.0.1+build5"). Two-part numbers stay
 * floats; four numeric parts are an IPv4 address, tried first.
 */
static size_t pr_m_version(const char *s, size_t len, size_t i)
{
    size_t j = i + (i < len && (s[i] == 'v' || s[i] == 'V'));
    int parts = 0;

    for (;;) {
        size_t n = pr_run_of(s, len, j, pr_is_digit);

        if (n == 0)
            return 0;
        j += n;
        parts++;
        if (j + 1 < len && s[j] == '.' && pr_is_digit(s, len, j + 1)) {
            j++;
            continue;
        }
        break;
    }
    if (parts < 3)
        return 0;
    if (j + 1 < len && (s[j] == '-' || s[j] == '+') && isalnum((unsigned char)s[j + 1])) {
        j++;
        while (j < len &&
               (isalnum((unsigned char)s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '+'))
            j++;
        while (j > i && s[j - 1] == '.')
            j--;
    }
    return pr_is_word(s, len, j) ? 0 : j - i;
}

static size_t pr_ipv4_len(const char *s, size_t len, size_t i)
{
    size_t j = i;

    for (int oct = 0; oct < 4; oct++) {
        size_t n = pr_run_of(s, len, j, pr_is_digit);

        if (n == 0 || n > 3 || pr_digits_n(s, len, j, n) > 255)
            return 0;
        j += n;
        if (oct < 3) {
            if (j >= len || s[j] != '.')
                return 0;
            j++;
        }
    }
    if (pr_is_word(s, len, j) || (j + 1 < len && s[j] == '.' && pr_is_digit(s, len, j + 1)))
        return 0;
    return j - i;
}

/* IPv6: hex groups of at most 4 with either "::" or exactly seven colons. */
static size_t pr_ipv6_len(const char *s, size_t len, size_t i)
{
    size_t j = i, colons = 0, group = 0, digits = 0;
    int dbl = 0;

    for (; j < len && (isxdigit((unsigned char)s[j]) || s[j] == ':'); j++) {
        if (s[j] == ':') {
            colons++;
            dbl |= j > i && s[j - 1] == ':';
            group = 0;
        } else if (++group > 4) {
            return 0;
        } else {
            digits++;
        }
    }
    if (digits == 0 || pr_is_word(s, len, j) || colons > 7 || (!dbl && colons != 7))
        return 0;
    return j - i;
}

static size_t pr_m_ip(const char *s, size_t len, size_t i)
{
    size_t n = pr_ipv4_len(s, len, i);

    return n > 0 ? n : pr_ipv6_len(s, len, i);
}

/* Host names under a few well-known suffixes: any dotted word would catch module names. */
static size_t pr_m_hostname(const char *s, size_t len, size_t i)
{
    static const char *const tlds[] = {
        "com", "net", "org", "io", "dev", "local", "internal", "lan", "cloud",       "app", "co",
        "uk",  "de",  "fr",  "eu", "us",  "info",  "biz",      "svc", "localdomain", NULL,
    };
    size_t n = pr_domain_len(s, len, i), dot = 0;

    if (n == 0 || pr_is_word(s, len, i + n) || (i + n < len && s[i + n] == '('))
        return 0;
    for (size_t k = i; k < i + n; k++) {
        if (s[k] == '.')
            dot = k + 1;
    }
    for (size_t t = 0; tlds[t] != NULL; t++) {
        if (strlen(tlds[t]) == i + n - dot && strncasecmp(s + dot, tlds[t], i + n - dot) == 0)
            return n;
    }
    return 0;
}

static size_t pr_hex_exact(const char *s, size_t len, size_t i, size_t want)
{
    size_t n = pr_run_of(s, len, i, pr_is_hex);

    return n == want && !pr_is_word(s, len, i + n) ? n : 0;
}

static size_t pr_m_sha1(const char *s, size_t len, size_t i)
{
    return pr_hex_exact(s, len, i, 40);
}

static size_t pr_m_md5(const char *s, size_t len, size_t i)
{
    return pr_hex_exact(s, len, i, 32);
}

/* 0x-prefixed, or 8+ hex digits with at least one digit (so plain words stay). */
static size_t pr_m_hex(const char *s, size_t len, size_t i)
{
    size_t n;

    if (i + 2 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        n = pr_run_of(s, len, i + 2, pr_is_hex);
        return n > 0 && !pr_is_word(s, len, i + 2 + n) ? n + 2 : 0;
    }
    n = pr_run_of(s, len, i, pr_is_hex);
    if (n < 8 || pr_is_word(s, len, i + n))
        return 0;
    for (size_t k = i; k < i + n; k++) {
        if (isdigit((unsigned char)s[k]))
            return n;
    }
    return 0;
}

/* A number with optional fraction; returns its length. */
static size_t pr_number_len(const char *s, size_t len, size_t i)
{
    size_t j = i + pr_run_of(s, len, i, pr_is_digit);

    if (j > i && j + 1 < len && s[j] == '.' && pr_is_digit(s, len, j + 1))
        j += 1 + pr_run_of(s, len, j + 1, pr_is_digit);
    return j - i;
}

static size_t pr_m_duration(const char *s, size_t len, size_t i)
{
    static const struct {
        const char *u;
        size_t n;
    } units[] = { { "secs", 4 }, { "mins", 4 }, { "min", 3 }, { "sec", 3 },
                  { "ms", 2 },   { "us", 2 },   { "ns", 2 },  { "\xc2\xb5s", 3 },
                  { "s", 1 },    { "m", 1 },    { "h", 1 } };
    size_t n = pr_number_len(s, len, i);

    if (n == 0 || i + n >= len)
        return 0;
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t k = units[u].n;

        if (s[i + n] == units[u].u[0] && i + n + k <= len &&
            memcmp(s + i + n, units[u].u, k) == 0 && !pr_is_word(s, len, i + n + k))
            return n + k;
    }
    return 0;
}

static size_t pr_m_float(const char *s, size_t len, size_t i)
{
    size_t n = pr_number_len(s, len, i);

    if (n == 0 || memchr(s + i, '.', n) == NULL || pr_is_word(s, len, i + n))
        return 0;
    return n;
}

static size_t pr_m_int(const char *s, size_t len, size_t i)
{
    size_t n = pr_run_of(s, len, i, pr_is_digit);

    return n > 0 && n <= 7 && !pr_is_word(s, len, i + n) ? n : 0;
}

/* What a pr_matcher's first byte can be (pr_start_of): a test before the call. */
enum {
    pr_ST_ALPHA = 1,
    pr_ST_DIGIT = 2,
    pr_ST_HEXALPHA = 4, /* a-f, A-F */
    pr_ST_SYMBOL = 8,   /* . _ % + - (e-mail local parts; '.' and '-' begin host names) */
    pr_ST_COLON = 16,   /* IPv6 "::1" */
    pr_ST_V = 32,       /* v1.2.3 */
};

/* wide: only in version 3 (the version-2 fingerprint must not change). */
static const struct pr_matcher {
    pr_matcher_fn fn;
    const char *placeholder;
    int wide;
    unsigned starts; /* ST_* bits: the pr_matcher gives 0 at a byte of none of them */
} pr_matchers[] = {
    { pr_m_email, "<email>", 0, pr_ST_ALPHA | pr_ST_DIGIT | pr_ST_SYMBOL },
    { pr_m_url, "<url>", 0, pr_ST_ALPHA },
    { pr_m_uuid, "<uuid>", 0, pr_ST_DIGIT | pr_ST_HEXALPHA },
    { pr_m_date_text, "<date>", 1, pr_ST_ALPHA | pr_ST_DIGIT },
    { pr_m_date, "<date>", 0, pr_ST_DIGIT },
    { pr_m_ip, "<ip>", 0, pr_ST_DIGIT | pr_ST_HEXALPHA | pr_ST_COLON },
    { pr_m_version, "<version>", 1, pr_ST_DIGIT | pr_ST_V },
    { pr_m_hostname, "<hostname>", 0, pr_ST_ALPHA | pr_ST_DIGIT | pr_ST_SYMBOL },
    { pr_m_sha1, "<sha1>", 0, pr_ST_DIGIT | pr_ST_HEXALPHA },
    { pr_m_md5, "<md5>", 0, pr_ST_DIGIT | pr_ST_HEXALPHA },
    { pr_m_hex, "<hex>", 0, pr_ST_DIGIT | pr_ST_HEXALPHA },
    { pr_m_duration, "<duration>", 0, pr_ST_DIGIT },
    { pr_m_float, "<float>", 0, pr_ST_DIGIT },
    { pr_m_int, "<int>", 0, pr_ST_DIGIT },
};

/* The ST_* bits of byte c (with the same ctype tests as the pr_matchers). */
static unsigned pr_start_of(unsigned char c)
{
    unsigned st = 0;

    if (isdigit(c))
        st |= pr_ST_DIGIT;
    else if (isalpha(c))
        st |= pr_ST_ALPHA | (isxdigit(c) ? pr_ST_HEXALPHA : 0) | (c == 'v' || c == 'V' ? pr_ST_V : 0);
    else if (c == '.' || c == '_' || c == '%' || c == '+' || c == '-')
        st |= pr_ST_SYMBOL;
    else if (c == ':')
        st |= pr_ST_COLON;
    return st;
}

/* After '=': a quoted string or a boolean literal; returns the length consumed. */
static size_t pr_after_equals(const char *s, size_t len, size_t i, const char **ph)
{
    static const char *const bools[] = { "true", "false", NULL };

    if (i < len && (s[i] == '"' || s[i] == '\'')) {
        const char *close = memchr(s + i + 1, s[i], len - i - 1);

        *ph = "<quoted_str>";
        return close != NULL ? (size_t)(close - s) + 1 - i : 0;
    }
    for (size_t b = 0; bools[b] != NULL; b++) {
        size_t k = strlen(bools[b]);

        *ph = "<bool>";
        if (i + k <= len && strncasecmp(s + i, bools[b], k) == 0 && !pr_is_word(s, len, i + k))
            return k;
    }
    return 0;
}

static size_t pr_match_at(const char *s, size_t len, size_t i, int wide, const char **ph)
{
    unsigned st;

    if (i > 0 && s[i - 1] == '=') {
        size_t n = pr_after_equals(s, len, i, ph);

        if (n > 0)
            return n;
    }
    if (i > 0 && pr_is_word(s, len, i - 1))
        return 0;
    /* Most bytes (spaces, punctuation) start nothing; most pr_matchers need a digit. */
    st = pr_start_of((unsigned char)s[i]);
    if (st == 0)
        return 0;
    for (size_t m = 0; m < sizeof(pr_matchers) / sizeof(pr_matchers[0]); m++) {
        size_t n = (pr_matchers[m].wide && !wide) || (pr_matchers[m].starts & st) == 0
                       ? 0
                       : pr_matchers[m].fn(s, len, i);

        if (n > 0) {
            *ph = pr_matchers[m].placeholder;
            return n;
        }
    }
    return 0;
}

static int pr_parameterize_line(const char *s, size_t len, int wide, struct buf *out)
{
    size_t i = 0, lit = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        const char *ph = NULL;
        size_t n = pr_match_at(s, len, i, wide, &ph);

        if (n == 0) {
            i++;
            continue;
        }
        rc = buf_add(out, s + lit, i - lit);
        if (rc == 0)
            rc = buf_addstr(out, ph);
        i += n;
        lit = i;
    }
    if (rc == 0)
        rc = buf_add(out, s + lit, len - lit);
    return rc;
}

static int pr_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isspace((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int pr_parameterize(const char *msg, size_t len, int wide, struct buf *out)
{
    size_t i = 0, kept = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        const char *nl = memchr(msg + i, '\n', len - i);
        size_t e = nl != NULL ? (size_t)(nl - msg) : len;
        size_t n = e - i;

        if (n > 0 && msg[i + n - 1] == '\r')
            n--;
        if (!pr_blank(msg + i, n)) {
            if (kept == 2) {
                rc = buf_addstr(out, "...");
                break;
            }
            if (kept > 0)
                rc = buf_addch(out, '\n');
            if (rc == 0)
                rc = pr_parameterize_line(msg + i, n, wide, out);
            kept++;
        }
        i = e + 1;
    }
    return rc;
}

/* The old fp_parameterize without its memo. */
static int pr_fp_parameterize(const char *msg, size_t len, int wide, struct buf *out)
{
    return pr_parameterize(msg, len, wide, out);
}

#endif
