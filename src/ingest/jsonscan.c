/*
 * jsonscan.c - one-pass RFC 8259 validator with top-level member callbacks.
 *
 * DESIGN
 * A small state machine (value, key, after-value) over an explicit stack of
 * container kinds, so nesting costs no C recursion and the depth limit is a
 * compare. Its states are labels of one loop (scan_run) with the position
 * in a local, so a token costs its own compares only. Strings dominate real events (stack traces, breadcrumbs), so the
 * string loop skips plain bytes 16 at a time (jsonstr.h) and only looks at
 * quotes, backslashes, control characters and non-ASCII bytes one by one.
 *
 * The door accepts what the digest must later parse with cJSON (json.h), so
 * the scanner is never more lenient than cJSON 1.7: lone UTF-16 surrogates
 * in \u escapes are refused (cJSON fails on them) and numbers are limited
 * to 63 characters (cJSON copies numbers into a 64-byte buffer and fails on
 * longer ones). Beyond RFC 8259 nothing else is refused; raw UTF-8 is
 * checked the way serde_json (Relay) checks it.
 */
#include <stdint.h>
#include <string.h>

#include "ingest/jsonscan.h"
#include "ingest/jsonstr.h"
#include "core/banned.h"

/* Containers deeper than this are refused whatever max_depth says. */
#define JSONSCAN_DEPTH_CAP 4096
#define JSONSCAN_MAX_NUMBER 63

enum scan_state { ST_VALUE, ST_KEY, ST_AFTER, ST_DONE, ST_STOP, ST_FAIL };

struct scan {
    const unsigned char *p;
    const unsigned char *end;
    const unsigned char *base;
    const char *why;
    int max_depth;
    /* the top-level member being read */
    jsonscan_member_fn fn;
    void *arg;
    struct slice key;
    const unsigned char *vstart;
    unsigned char is_obj[JSONSCAN_DEPTH_CAP + 1];
};

static inline int fail(struct scan *s, const unsigned char *at, const char *why)
{
    s->p = at;
    s->why = why;
    return ST_FAIL;
}

/* SDKs send compact JSON: between tokens one compare (> ' ') finds there is nothing to skip. */
static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = p[0] == 0xed ? 0x9f : 0xbf; /* surrogates */
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        lo = p[0] == 0xf0 ? 0x90 : 0x80;
        hi = p[0] == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    }
    return n;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/*
 * Checks the escape at p (p[0] == '\\'); returns its length or 0. A high
 * surrogate must be followed by an escaped low one, a low one never stands
 * alone.
 */
static size_t escape_len(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    unsigned lo;

    if (end - p < 2)
        return 0;
    if (p[1] != 'u') {
        *cp = 0;
        return jsonstr_escape_letter((char)p[1]) ? 2 : 0;
    }
    if (end - p < 6 || hex4(p + 2, cp) < 0)
        return 0;
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
        return 0;
    if (*cp < 0xd800 || *cp > 0xdbff)
        return 6;
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) < 0 || lo < 0xdc00 ||
        lo > 0xdfff)
        return 0;
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    return 12;
}

/*
 * p is on the opening quote; returns the byte after the closing one, or
 * NULL after fail(). Forced inline into its two callers: a line's two dozen
 * strings made the call a tenth of its check.
 */
static inline __attribute__((always_inline)) const unsigned char *scan_string(
    struct scan *s, const unsigned char *p, const unsigned char *end)
{
    unsigned cp;
    size_t n;

    p++;
    for (;;) {
        p = jsonstr_skip_plain(p, end);
        if (p >= end) {
            fail(s, p, "unterminated string");
            return NULL;
        }
        if (*p == '"')
            break;
        if (*p == '\\')
            n = escape_len(p, end, &cp);
        else if (*p >= 0x80)
            n = utf8_seq(p, end);
        else
            n = 0;
        if (n == 0) {
            fail(s, p,
                 *p == '\\'  ? "invalid escape"
                 : *p < 0x80 ? "control character in string"
                             : "invalid UTF-8");
            return NULL;
        }
        p += n;
    }
    return p + 1;
}

static inline const unsigned char *digits(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p;
}

/* p is on the number's first byte; returns the byte after it, or NULL after fail(). */
static const unsigned char *scan_number(struct scan *s, const unsigned char *start,
                                        const unsigned char *end)
{
    const unsigned char *p = start, *q;

    if (*p == '-')
        p++;
    if (p < end && *p == '0')
        q = p + 1;
    else
        q = digits(p, end);
    if (q == p)
        goto bad_number;
    p = q;
    if (p < end && *p == '.') {
        q = digits(++p, end);
        if (q == p) {
            fail(s, p, "digit expected after '.'");
            return NULL;
        }
        p = q;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        q = digits(p, end);
        if (q == p) {
            fail(s, p, "digit expected in exponent");
            return NULL;
        }
        p = q;
    }
    if (p - start > JSONSCAN_MAX_NUMBER) {
        fail(s, start, "number longer than 63 characters");
        return NULL;
    }
    return p;
bad_number:
    fail(s, p, "invalid number");
    return NULL;
}

static int type_of(unsigned char c)
{
    switch (c) {
    case '{':
        return JSONSCAN_OBJECT;
    case '[':
        return JSONSCAN_ARRAY;
    case '"':
        return JSONSCAN_STRING;
    case 't':
        return JSONSCAN_TRUE;
    case 'f':
        return JSONSCAN_FALSE;
    case 'n':
        return JSONSCAN_NULL;
    default:
        return JSONSCAN_NUMBER;
    }
}

static int emit_member(struct scan *s)
{
    struct slice v = { (const char *)s->vstart, (size_t)(s->p - s->vstart) };

    return s->fn(s->arg, s->key, type_of(*s->vstart), v) != 0 ? ST_STOP : ST_AFTER;
}

/*
 * A member's key and its colon from p (after the '{' or the ','): the byte
 * after the colon, or NULL after fail(). At depth 1 the key is kept for fn.
 */
static inline __attribute__((always_inline)) const unsigned char *scan_key(struct scan *s,
                                                                           const unsigned char *p,
                                                                           const unsigned char *end,
                                                                           int depth)
{
    const unsigned char *k;

    p = skip_ws(p, end);
    if (p >= end || *p != '"') {
        fail(s, p, "string key expected");
        return NULL;
    }
    k = p;
    p = scan_string(s, p, end);
    if (p == NULL)
        return NULL;
    if (depth == 1) {
        s->key.p = (const char *)k + 1;
        s->key.len = (size_t)(p - k) - 2;
    }
    if (p >= end || *p != ':') {
        p = skip_ws(p, end);
        if (p >= end || *p != ':') {
            fail(s, p, "':' expected");
            return NULL;
        }
    }
    return p + 1;
}

/*
 * A '{' or '[' (c) at *pp, one level deeper: ST_KEY or ST_VALUE for what
 * comes first, ST_AFTER when it is empty (and closed again), or ST_FAIL.
 */
static inline __attribute__((always_inline)) int scan_open(struct scan *s, const unsigned char **pp,
                                                           const unsigned char *end, int *depth,
                                                           unsigned char c)
{
    const unsigned char *p = *pp;

    if (*depth >= s->max_depth)
        return fail(s, p, "nested too deeply");
    s->is_obj[++*depth] = c == '{';
    p = skip_ws(p + 1, end);
    if (p < end && *p == (c == '{' ? '}' : ']')) {
        *pp = p + 1;
        --*depth;
        return ST_AFTER;
    }
    *pp = p;
    return c == '{' ? ST_KEY : ST_VALUE;
}

/* A string, literal or number at p (its first byte c); the byte after it, or NULL after fail(). */
static inline __attribute__((always_inline)) const unsigned char *scan_scalar(
    struct scan *s, const unsigned char *p, const unsigned char *end, unsigned char c)
{
    const char *word;
    size_t n;

    switch (c) {
    case '"':
        return scan_string(s, p, end);
    case 't':
    case 'f':
    case 'n':
        word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        n = c == 'f' ? 5 : 4;
        if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) {
            fail(s, p, "invalid literal");
            return NULL;
        }
        return p + n;
    default:
        if (c != '-' && (c < '0' || c > '9')) {
            fail(s, p, "unexpected character");
            return NULL;
        }
        return scan_number(s, p, end);
    }
}

/* A value inside a top-level object member ended at p: fn's turn. ST_STOP when fn stops. */
static inline int member_end(struct scan *s, const unsigned char *p)
{
    if (s->fn == NULL || s->vstart == NULL)
        return ST_AFTER;
    s->p = p;
    if (emit_member(s) == ST_STOP)
        return ST_STOP;
    s->vstart = NULL;
    return ST_AFTER;
}

/*
 * The scan as one loop: the position and the depth live in locals and each
 * step jumps straight to the next (a value, a key, what follows a value), so
 * a token costs its few compares, not a state's round trip through *s
 * (the scan was a third of a 9 KB event's door check). Returns ST_DONE with
 * s->p after the top value, ST_STOP when fn stopped it, or ST_FAIL.
 */
static int scan_run(struct scan *s)
{
    const unsigned char *p = s->p, *end = s->end;
    int depth = 0, obj;
    unsigned char c;

value:
    if (p >= end || *p <= ' ') { /* compact JSON's next byte is the token */
        p = skip_ws(p, end);
        if (p >= end)
            return fail(s, p, "value expected");
    }
    c = *p;
    if (depth == 1 && s->is_obj[1])
        s->vstart = p; /* emit_member takes its type from its first byte */
    if (c == '{' || c == '[') {
        int st = scan_open(s, &p, end, &depth, c);

        if (st == ST_KEY)
            goto key;
        if (st == ST_VALUE)
            goto value;
        if (st == ST_AFTER)
            goto after;
        return ST_FAIL;
    }
    p = scan_scalar(s, p, end, c);
    if (p == NULL)
        return ST_FAIL;
    goto after;

key:
    p = scan_key(s, p, end, depth);
    if (p == NULL)
        return ST_FAIL;
    goto value;

after:
    if (depth == 0) {
        s->p = p;
        return ST_DONE;
    }
    obj = s->is_obj[depth];
    if (depth == 1 && obj && member_end(s, p) == ST_STOP)
        return ST_STOP;
    if (p >= end || *p != ',')
        p = skip_ws(p, end);
    if (p < end && *p == ',') {
        p++;
        if (obj)
            goto key;
        goto value;
    }
    if (p < end && *p == (obj ? '}' : ']')) {
        p++;
        depth--;
        goto after;
    }
    return fail(s, p, obj ? "',' or '}' expected" : "',' or ']' expected");
}

int jsonscan(const char *p, size_t len, int max_depth, jsonscan_member_fn fn, void *arg,
             int *top_type, struct bl_err *err)
{
    struct scan s;
    const unsigned char *first;
    int st;

    s.base = (const unsigned char *)p;
    s.p = s.base;
    s.end = s.base + len;
    s.why = NULL;
    s.max_depth = max_depth < JSONSCAN_DEPTH_CAP ? max_depth : JSONSCAN_DEPTH_CAP;
    s.fn = fn;
    s.arg = arg;
    s.vstart = NULL;
    first = skip_ws(s.p, s.end);
    if (top_type != NULL)
        *top_type = first < s.end ? type_of(*first) : JSONSCAN_NULL;
    st = scan_run(&s);
    if (st == ST_DONE) {
        s.p = skip_ws(s.p, s.end);
        if (s.p < s.end)
            st = fail(&s, s.p, "unexpected data after the value");
    }
    if (st == ST_FAIL)
        return bl_err_set(err, BL_EPARSE, "invalid JSON at byte %zu: %s", (size_t)(s.p - s.base),
                          s.why);
    return 0;
}

static void put_utf8(unsigned cp, char out[4], size_t *n)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        *n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        *n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        *n = 3;
    } else {
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        *n = 4;
    }
}

static int unescape_one(const unsigned char *p, const unsigned char *end, size_t *used,
                        struct buf *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    unsigned cp;
    char u[4];
    size_t n;

    *used = escape_len(p, end, &cp);
    if (*used == 0)
        return BL_EPARSE;
    if (p[1] != 'u')
        return buf_addch(out, to[strchr(from, p[1]) - from]);
    put_utf8(cp, u, &n);
    return buf_add(out, u, n);
}

int jsonscan_unquote(struct slice value, struct buf *out)
{
    const unsigned char *p, *end, *run;
    int rc = 0;

    if (value.len < 2 || value.p[0] != '"' || value.p[value.len - 1] != '"')
        return BL_EPARSE;
    p = (const unsigned char *)value.p + 1;
    end = (const unsigned char *)value.p + value.len - 1;
    run = p;
    while (p < end && rc == 0) {
        size_t used = 0;

        if (*p != '\\') {
            if (*p == '"' || *p < 0x20)
                return BL_EPARSE;
            p++;
            continue;
        }
        rc = buf_add(out, run, (size_t)(p - run));
        if (rc == 0)
            rc = unescape_one(p, end, &used, out);
        p += used;
        run = p;
    }
    if (rc == 0)
        rc = buf_add(out, run, (size_t)(end - run));
    return rc;
}
