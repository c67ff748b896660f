/*
 * fingerprint_param.c - the message parameteriser (protocols.md §2 point 4).
 *
 * "Payment 1234 failed for a@b.com" and "Payment 98 failed for c@d.org"
 * are the same problem; replacing the variable parts by placeholders makes
 * them the same text. The scanner tries, at the start of each token, a
 * table of matchers in an order that matters: the wider shapes come first
 * so that their pieces are not eaten by narrower ones (an e-mail or URL
 * before the IP or host inside it, a UUID before its hex groups, a date
 * before its numbers, a 40-digit hash before generic hex, hex before ints).
 * Ints are runs of 1-7 digits; longer digit runs are ids and count as hex.
 */
#include <string.h>
#include <strings.h>

#include "ingest/fingerprint.h"
#include "ingest/fingerprint_text.h"
#include "core/buf.h"
#include "core/banned.h"

typedef size_t (*matcher_fn)(const char *s, size_t len, size_t i);

static int email_local(int c)
{
    return c_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int host_char(int c)
{
    return c_alnum(c) || c == '.' || c == '-';
}

/* Length of a domain at i with at least one dot and an alphabetic top label. */
static size_t domain_len(const char *s, size_t len, size_t i)
{
    size_t e = i, dot = 0, tld = 0;

    while (e < len && host_char((unsigned char)s[e]))
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
        if (!c_alpha((unsigned char)s[k]))
            return 0;
        tld++;
    }
    return tld >= 2 ? e - i : 0;
}

static size_t m_email(const char *s, size_t len, size_t i)
{
    size_t j = i, d;

    while (j < len && email_local((unsigned char)s[j]))
        j++;
    if (j == i || j >= len || s[j] != '@')
        return 0;
    d = domain_len(s, len, j + 1);
    return d > 0 ? j + 1 + d - i : 0;
}

/* Characters that end a URL inside free text: whitespace, NUL, quotes and angle brackets. */
static int url_end(unsigned char c)
{
    return c_space(c) || c == '\0' || c == '"' || c == '\'' || c == '<' || c == '>';
}

static size_t m_url(const char *s, size_t len, size_t i)
{
    size_t j = i, rest;

    if (!c_alpha((unsigned char)s[i]))
        return 0;
    while (j < len && (c_alnum((unsigned char)s[j]) || s[j] == '+' || s[j] == '.' || s[j] == '-'))
        j++;
    if (j + 3 >= len || memcmp(s + j, "://", 3) != 0)
        return 0;
    j += 3;
    rest = j;
    while (j < len && !url_end((unsigned char)s[j]))
        j++;
    /* Sentence punctuation after a URL is not part of it. */
    while (j > rest && strchr(".,;:!?)]}", s[j - 1]) != NULL)
        j--;
    return j > rest ? j - i : 0;
}

static size_t m_uuid(const char *s, size_t len, size_t i)
{
    static const size_t groups[] = { 8, 4, 4, 4, 12 };
    size_t j = i;

    for (size_t g = 0; g < 5; g++) {
        if (g > 0) {
            if (j >= len || s[j] != '-')
                return 0;
            j++;
        }
        if (run_of(s, len, j, is_hex) < groups[g])
            return 0;
        j += groups[g];
    }
    return is_word(s, len, j) ? 0 : j - i;
}

/*
 * A version: v?N.N.N with optional pre-release and build parts
 * ("1.2.3", "v10.4.0-beta.2", "2.0.1+build5"). Two-part numbers stay
 * floats; four numeric parts are an IPv4 address, tried first.
 */
static size_t m_version(const char *s, size_t len, size_t i)
{
    size_t j = i + (i < len && (s[i] == 'v' || s[i] == 'V'));
    int parts = 0;

    for (;;) {
        size_t n = run_of(s, len, j, is_digit);

        if (n == 0)
            return 0;
        j += n;
        parts++;
        if (j + 1 < len && s[j] == '.' && is_digit(s, len, j + 1)) {
            j++;
            continue;
        }
        break;
    }
    if (parts < 3)
        return 0;
    if (j + 1 < len && (s[j] == '-' || s[j] == '+') && c_alnum((unsigned char)s[j + 1])) {
        j++;
        while (j < len &&
               (c_alnum((unsigned char)s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '+'))
            j++;
        while (j > i && s[j - 1] == '.')
            j--;
    }
    return is_word(s, len, j) ? 0 : j - i;
}

static size_t ipv4_len(const char *s, size_t len, size_t i)
{
    size_t j = i;

    for (int oct = 0; oct < 4; oct++) {
        size_t n = run_of(s, len, j, is_digit);

        if (n == 0 || n > 3 || digits_n(s, len, j, n) > 255)
            return 0;
        j += n;
        if (oct < 3) {
            if (j >= len || s[j] != '.')
                return 0;
            j++;
        }
    }
    if (is_word(s, len, j) || (j + 1 < len && s[j] == '.' && is_digit(s, len, j + 1)))
        return 0;
    return j - i;
}

/* IPv6: hex groups of at most 4 with either "::" or exactly seven colons. */
static size_t ipv6_len(const char *s, size_t len, size_t i)
{
    size_t j = i, colons = 0, group = 0, digits = 0;
    int dbl = 0;

    for (; j < len && (c_xdigit((unsigned char)s[j]) || s[j] == ':'); j++) {
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
    if (digits == 0 || is_word(s, len, j) || colons > 7 || (!dbl && colons != 7))
        return 0;
    return j - i;
}

static size_t m_ip(const char *s, size_t len, size_t i)
{
    size_t n = ipv4_len(s, len, i);

    return n > 0 ? n : ipv6_len(s, len, i);
}

/* Host names under a few well-known suffixes: any dotted word would catch module names. */
static size_t m_hostname(const char *s, size_t len, size_t i)
{
    static const char *const tlds[] = {
        "com", "net", "org", "io", "dev", "local", "internal", "lan", "cloud",       "app", "co",
        "uk",  "de",  "fr",  "eu", "us",  "info",  "biz",      "svc", "localdomain", NULL,
    };
    size_t n = domain_len(s, len, i), dot = 0;

    if (n == 0 || is_word(s, len, i + n) || (i + n < len && s[i + n] == '('))
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

static size_t hex_exact(const char *s, size_t len, size_t i, size_t want)
{
    size_t n = run_of(s, len, i, is_hex);

    return n == want && !is_word(s, len, i + n) ? n : 0;
}

static size_t m_sha1(const char *s, size_t len, size_t i)
{
    return hex_exact(s, len, i, 40);
}

static size_t m_md5(const char *s, size_t len, size_t i)
{
    return hex_exact(s, len, i, 32);
}

/* 0x-prefixed, or 8+ hex digits with at least one digit (so plain words stay). */
static size_t m_hex(const char *s, size_t len, size_t i)
{
    size_t n;

    if (i + 2 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        n = run_of(s, len, i + 2, is_hex);
        return n > 0 && !is_word(s, len, i + 2 + n) ? n + 2 : 0;
    }
    n = run_of(s, len, i, is_hex);
    if (n < 8 || is_word(s, len, i + n))
        return 0;
    for (size_t k = i; k < i + n; k++) {
        if (c_digit((unsigned char)s[k]))
            return n;
    }
    return 0;
}

/* A number with optional fraction; returns its length. */
static size_t number_len(const char *s, size_t len, size_t i)
{
    size_t j = i + run_of(s, len, i, is_digit);

    if (j > i && j + 1 < len && s[j] == '.' && is_digit(s, len, j + 1))
        j += 1 + run_of(s, len, j + 1, is_digit);
    return j - i;
}

static size_t m_duration(const char *s, size_t len, size_t i)
{
    static const struct {
        const char *u;
        size_t n;
    } units[] = { { "secs", 4 }, { "mins", 4 }, { "min", 3 }, { "sec", 3 },
                  { "ms", 2 },   { "us", 2 },   { "ns", 2 },  { "\xc2\xb5s", 3 },
                  { "s", 1 },    { "m", 1 },    { "h", 1 } };
    size_t n = number_len(s, len, i);

    if (n == 0 || i + n >= len)
        return 0;
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t k = units[u].n;

        if (s[i + n] == units[u].u[0] && i + n + k <= len &&
            memcmp(s + i + n, units[u].u, k) == 0 && !is_word(s, len, i + n + k))
            return n + k;
    }
    return 0;
}

static size_t m_float(const char *s, size_t len, size_t i)
{
    size_t n = number_len(s, len, i);

    if (n == 0 || memchr(s + i, '.', n) == NULL || is_word(s, len, i + n))
        return 0;
    return n;
}

static size_t m_int(const char *s, size_t len, size_t i)
{
    size_t n = run_of(s, len, i, is_digit);

    return n > 0 && n <= 7 && !is_word(s, len, i + n) ? n : 0;
}

/* What a matcher's first byte can be (start_of): a test before the call. */
enum {
    ST_ALPHA = 1,
    ST_DIGIT = 2,
    ST_HEXALPHA = 4, /* a-f, A-F */
    ST_SYMBOL = 8,   /* . _ % + - (e-mail local parts; '.' and '-' begin host names) */
    ST_COLON = 16,   /* IPv6 "::1" */
    ST_V = 32,       /* v1.2.3 */
};

/*
 * The shape of the text at a token's start that every matcher needs (see
 * candidates): the run of letters and digits there (w bytes, the first dr
 * of them digits) and the byte after it (c, -1 at the end of the line).
 */
struct shape {
    size_t w, dr;
    int c;
};

/* The matchers' places in matchers[] (their order), as bits of candidates(). */
enum {
    M_EMAIL,
    M_URL,
    M_UUID,
    M_DATE_TEXT,
    M_DATE,
    M_IP,
    M_VERSION,
    M_HOSTNAME,
    M_SHA1,
    M_MD5,
    M_HEX,
    M_DURATION,
    M_FLOAT,
    M_INT,
};
#define B(m) (1u << (m))

/* wide: only in version 3 (the version-2 fingerprint must not change). */
static const struct matcher {
    matcher_fn fn;
    const char *placeholder;
    size_t placeholder_len;
    int wide;
    unsigned starts; /* ST_* bits: the matcher gives 0 at a byte of none of them */
} matchers[] = {
    [M_EMAIL] = { m_email, "<email>", 7, 0, ST_ALPHA | ST_DIGIT | ST_SYMBOL },
    [M_URL] = { m_url, "<url>", 5, 0, ST_ALPHA },
    [M_UUID] = { m_uuid, "<uuid>", 6, 0, ST_DIGIT | ST_HEXALPHA },
    [M_DATE_TEXT] = { fp_match_date_text, "<date>", 6, 1, ST_ALPHA | ST_DIGIT },
    [M_DATE] = { fp_match_date, "<date>", 6, 0, ST_DIGIT },
    [M_IP] = { m_ip, "<ip>", 4, 0, ST_DIGIT | ST_HEXALPHA | ST_COLON },
    [M_VERSION] = { m_version, "<version>", 9, 1, ST_DIGIT | ST_V },
    [M_HOSTNAME] = { m_hostname, "<hostname>", 10, 0, ST_ALPHA | ST_DIGIT | ST_SYMBOL },
    [M_SHA1] = { m_sha1, "<sha1>", 6, 0, ST_DIGIT | ST_HEXALPHA },
    [M_MD5] = { m_md5, "<md5>", 5, 0, ST_DIGIT | ST_HEXALPHA },
    [M_HEX] = { m_hex, "<hex>", 5, 0, ST_DIGIT | ST_HEXALPHA },
    [M_DURATION] = { m_duration, "<duration>", 10, 0, ST_DIGIT },
    [M_FLOAT] = { m_float, "<float>", 7, 0, ST_DIGIT },
    [M_INT] = { m_int, "<int>", 5, 0, ST_DIGIT },
};

/* The ST_* bits of byte c (with the same ctype tests as the matchers). */
static unsigned start_of(unsigned char c)
{
    unsigned st = 0;

    if (c_digit(c))
        st |= ST_DIGIT;
    else if (c_alpha(c))
        st |= ST_ALPHA | (c_xdigit(c) ? ST_HEXALPHA : 0) | (c == 'v' || c == 'V' ? ST_V : 0);
    else if (c == '.' || c == '_' || c == '%' || c == '+' || c == '-')
        st |= ST_SYMBOL;
    else if (c == ':')
        st |= ST_COLON;
    return st;
}

static struct shape shape_at(const char *s, size_t len, size_t i)
{
    struct shape t;
    size_t j = i;

    while (j < len && c_digit((unsigned char)s[j]))
        j++;
    t.dr = j - i;
    while (j < len && c_alnum((unsigned char)s[j]))
        j++;
    t.w = j - i;
    t.c = j < len ? (unsigned char)s[j] : -1;
    return t;
}

/*
 * The matchers that may match a token of shape t starting with byte s0
 * (B(M_*) bits): each needs what its own code implies, so skipping the
 * others changes nothing (tests/unit/test_fpparam.c and fuzz_fpparam hold
 * the output to the previous parameterizer's, tests/fuzz/param_ref.h).
 * Every matcher scans on from the token's start, and the byte after its
 * letters and digits decides most: an e-mail needs '@' or a local-part
 * symbol there, a URL a scheme's '+', '.', '-' or the ':' of "://", a date
 * in words ' ', ',' (after a weekday) or '/' (the common log format), an
 * ISO date '-' after 4 digits or ':' after 2, an IP address '.' or ':', a
 * version '.', a float '.' after digits only, a host name '.' or '-'; a
 * UUID's first group is 8 bytes before '-', digests are 40 or 32 bytes,
 * hex 8 or more (or 0x...), an int only digits, a duration a unit (a
 * letter, "µs") or a fraction after its digits.
 */
static unsigned candidates(const struct shape *t, unsigned char s0)
{
    unsigned m = 0;

    switch (t->c) {
    case '@':
    case '_':
    case '%':
        m = B(M_EMAIL);
        break;
    case '+':
        m = B(M_EMAIL) | B(M_URL);
        break;
    case '.':
        m = B(M_EMAIL) | B(M_URL) | B(M_IP) | B(M_VERSION) | B(M_HOSTNAME) | B(M_DURATION) |
            (t->w == t->dr ? B(M_FLOAT) : 0);
        break;
    case '-':
        m = B(M_EMAIL) | B(M_URL) | B(M_HOSTNAME) | (t->w == 8 ? B(M_UUID) : 0) |
            (t->w == 4 ? B(M_DATE) : 0);
        break;
    case ':':
        m = B(M_URL) | B(M_IP) | (t->w == 2 ? B(M_DATE) : 0);
        break;
    case ' ':
    case ',':
    case '/':
        m = B(M_DATE_TEXT);
        break;
    case 0xc2:
        m = B(M_DURATION);
        break;
    default:
        break;
    }
    m |= (t->w == 40 ? B(M_SHA1) : 0) | (t->w == 32 ? B(M_MD5) : 0) |
         (t->w >= 8 || (s0 == '0' && t->w >= 3) ? B(M_HEX) : 0) |
         (t->w > t->dr ? B(M_DURATION) : 0) | (t->w == t->dr && t->w <= 7 ? B(M_INT) : 0);
    return m;
}

/* After '=': a quoted string or a boolean literal; returns the length consumed. */
static size_t after_equals(const char *s, size_t len, size_t i, const char **ph, size_t *phlen)
{
    static const char *const bools[] = { "true", "false", NULL };

    if (i < len && (s[i] == '"' || s[i] == '\'')) {
        const char *close = memchr(s + i + 1, s[i], len - i - 1);

        *ph = "<quoted_str>";
        *phlen = 12;
        return close != NULL ? (size_t)(close - s) + 1 - i : 0;
    }
    for (size_t b = 0; bools[b] != NULL; b++) {
        size_t k = strlen(bools[b]);

        *ph = "<bool>";
        *phlen = 6;
        if (i + k <= len && strncasecmp(s + i, bools[b], k) == 0 && !is_word(s, len, i + k))
            return k;
    }
    return 0;
}

/* What match_at found: a placeholder for n bytes (n 0: nothing), and whether it was a wide one. */
struct found {
    const char *ph;
    size_t phlen;
    int wide;
};

/* The length of what a placeholder replaces at i, or 0. */
static size_t match_at(const char *s, size_t len, size_t i, int wide, struct found *f)
{
    struct shape t;
    unsigned st;

    if (i > 0 && s[i - 1] == '=') {
        size_t n = after_equals(s, len, i, &f->ph, &f->phlen);

        if (n > 0)
            return n;
    }
    /* Right after a match (next_start skips the rest of words otherwise). */
    if (i > 0 && is_word(s, len, i - 1))
        return 0;
    /* Most bytes (spaces, punctuation) start nothing; most matchers need a digit. */
    st = start_of((unsigned char)s[i]);
    if (st == 0)
        return 0;
    t = shape_at(s, len, i);
    /* In matchers[] order: the lowest bit first. */
    for (unsigned cand = candidates(&t, (unsigned char)s[i]); cand != 0; cand &= cand - 1) {
        const struct matcher *mt = &matchers[__builtin_ctz(cand)];
        size_t n;

        if ((mt->wide && !wide) || (mt->starts & st) == 0)
            continue;
        n = mt->fn(s, len, i);
        if (n > 0) {
            f->ph = mt->placeholder;
            f->phlen = mt->placeholder_len;
            f->wide = mt->wide;
            return n;
        }
    }
    return 0;
}

/*
 * The next position after i where a token may start: no token starts
 * right after a word character (is_word), so the rest of a word is
 * skipped at once.
 */
static size_t next_start(const char *s, size_t len, size_t i)
{
    size_t j = i + 1;

    while (j < len && is_word(s, len, j - 1))
        j++;
    return j;
}

/* One line; *fired is set when a matcher of version 3 only (wide) replaced something. */
static int parameterize_line(const char *s, size_t len, int wide, struct buf *out, int *fired)
{
    size_t i = 0, lit = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        struct found f = { NULL, 0, 0 };
        size_t n = match_at(s, len, i, wide, &f);

        if (n == 0) {
            i = next_start(s, len, i);
            continue;
        }
        *fired |= f.wide;
        rc = buf_add(out, s + lit, i - lit);
        if (rc == 0)
            rc = buf_add(out, f.ph, f.phlen);
        i += n;
        lit = i;
    }
    if (rc == 0)
        rc = buf_add(out, s + lit, len - lit);
    return rc;
}

static int blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!c_space((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int parameterize(const char *msg, size_t len, int wide, struct buf *out, int *fired)
{
    size_t i = 0, kept = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        const char *nl = memchr(msg + i, '\n', len - i);
        size_t e = nl != NULL ? (size_t)(nl - msg) : len;
        size_t n = e - i;

        if (n > 0 && msg[i + n - 1] == '\r')
            n--;
        if (!blank(msg + i, n)) {
            if (kept == 2) {
                rc = buf_addstr(out, "...");
                break;
            }
            if (kept > 0)
                rc = buf_addch(out, '\n');
            if (rc == 0)
                rc = parameterize_line(msg + i, n, wide, out, fired);
            kept++;
        }
        i = e + 1;
    }
    return rc;
}

/*
 * The last message parameterised on this thread and what it gave, for
 * version 2 (out[0]) and version 3 (out[1]). An event's grouping asks for
 * the same message three times in a row (version 2's components, version
 * 3's, then the template hash). Version 3's scan runs first: when none of
 * its own matchers (wide) replaced anything, every position it reached
 * chose what version 2 would have chosen, so its text is version 2's too
 * and one scan answers all three. A copy is used only when it fits where
 * the work would have fitted.
 */
#define MEMO_MAX 2048

static _Thread_local struct {
    int valid;
    int have[2];
    size_t len, n[2];
    char in[MEMO_MAX];
    char out[2][MEMO_MAX];
} memo;

/* Keeps out[start..] as the answer of version w for the memo's message. */
static void memo_keep(int w, const struct buf *out, size_t start)
{
    size_t n = out->len - start;

    if (!memo.valid || n > MEMO_MAX)
        return;
    if (n > 0)
        memcpy(memo.out[w], out->p + start, n);
    memo.n[w] = n;
    memo.have[w] = 1;
}

/* out back to start (a scan whose answer is not the one asked for). */
static void truncate_to(struct buf *out, size_t start)
{
    out->len = start;
    if (out->cap > 0)
        out->p[start] = '\0';
}

int fp_parameterize(const char *msg, size_t len, int wide, struct buf *out)
{
    size_t start = out->len;
    int w = wide != 0, fired = 0, rc;

    if (len > MEMO_MAX)
        return parameterize(msg, len, w, out, &fired);
    if (memo.valid && memo.len == len && memcmp(memo.in, msg, len) == 0) {
        if (memo.have[w] && memo.n[w] <= out->max && out->len <= out->max - memo.n[w])
            return memo.n[w] > 0 ? buf_add(out, memo.out[w], memo.n[w]) : 0;
    } else {
        memo.valid = 1;
        memo.have[0] = memo.have[1] = 0;
        memo.len = len;
        if (len > 0)
            memcpy(memo.in, msg, len);
    }
    /* With version 3's answer known but not version 2's, a wide matcher fired: scan for 2. */
    if (w == 1 || !memo.have[1]) {
        rc = parameterize(msg, len, 1, out, &fired);
        if (rc == 0) {
            memo_keep(1, out, start);
            if (!fired)
                memo_keep(0, out, start);
        }
        if (w == 1 || (rc == 0 && !fired))
            return rc;
        truncate_to(out, start);
    }
    rc = parameterize(msg, len, 0, out, &fired);
    if (rc == 0)
        memo_keep(0, out, start);
    return rc;
}
