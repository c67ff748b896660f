/*
 * slim.c - a Sentry event's JSON without the parts the digest never reads
 * (slim.h).
 *
 * One pass over the text follows its structure (strings skipped whole,
 * brackets matched, tokens in the order JSON allows; the values themselves
 * are left to cJSON) and tracks where it is: the top level, an exception
 * list, a stack trace, a frame. A member to skip is read by the scrub check
 * (quiet_*) and validated by jsonscan, then replaced by `null` in the copy.
 * Any surprise answers 0: the caller's full parse then decides, with its own
 * errors.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ingest/slim.h"
#include "ingest/jsonscan.h" /* jsonscan_unquote */
#include "ingest/jsonstr.h"
#include "core/banned.h"

/* Where a value sits, as far as the digest's reading of it goes. */
enum where {
    W_OTHER,
    W_ROOT,   /* the event object */
    W_EXC,    /* the value of "exception" or "threads": {values: [...]}, a list or one holder */
    W_LIST,   /* a list of exceptions or threads */
    W_HOLDER, /* one exception or thread */
    W_ST,     /* a stacktrace object */
    W_FRAMES, /* its frames */
    W_FRAME,  /* one frame */
    W_CTX,    /* the contexts object: only its trace is read */
    W_SKIP,   /* a value the digest never reads */
};

struct slim {
    const char *p, *end;
    const char *copied; /* the text before this is in out */
    struct buf *out;
    const struct scrub_rules *r;
    int max_depth;
    int skipped;
};

static int key_is(const char *k, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(k, lit, n) == 0;
}

/* Where the value of member k (raw bytes, no escapes) of an object at w is. */
static enum where member_where(enum where w, const char *k, size_t n)
{
    switch (w) {
    case W_ROOT:
        if (key_is(k, n, "exception") || key_is(k, n, "threads"))
            return W_EXC;
        if (key_is(k, n, "stacktrace"))
            return W_ST;
        if (key_is(k, n, "contexts"))
            return W_CTX;
        if (key_is(k, n, "breadcrumbs") || key_is(k, n, "request") || key_is(k, n, "modules") ||
            key_is(k, n, "sdk") || key_is(k, n, "debug_meta"))
            return W_SKIP;
        return W_OTHER;
    case W_EXC:
        if (key_is(k, n, "values"))
            return W_LIST;
        return key_is(k, n, "stacktrace") ? W_ST : W_OTHER;
    case W_HOLDER:
        return key_is(k, n, "stacktrace") ? W_ST : W_OTHER;
    case W_ST:
        return key_is(k, n, "frames") ? W_FRAMES : W_OTHER;
    case W_CTX:
        /* A key with a NUL is cut there in cJSON's tree ("trace\0x" reads as trace). */
        return key_is(k, n, "trace") || memchr(k, '\0', n) != NULL ? W_OTHER : W_SKIP;
    case W_FRAME:
        if (key_is(k, n, "vars") || key_is(k, n, "pre_context") || key_is(k, n, "post_context"))
            return W_SKIP;
        return W_OTHER;
    default:
        return W_OTHER;
    }
}

/* Where an element of an array at w is. */
static enum where element_where(enum where w)
{
    switch (w) {
    case W_EXC:
    case W_LIST:
        return W_HOLDER;
    case W_FRAMES:
        return W_FRAME;
    default:
        return W_OTHER;
    }
}

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* From q: the first quote or backslash, end if none; 16 bytes at a time where SSE2 is. */
static const char *quote_or_bs(const char *q, const char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');

    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)));

        if (m != 0)
            return q + __builtin_ctz(m);
        q += 16;
    }
#endif
    while (q < end && *q != '"' && *q != '\\')
        q++;
    return q;
}

/*
 * p on an opening quote: the byte after the closing one, or NULL; *esc set
 * when the string has a backslash (which escapes the byte after it, as
 * cJSON reads it too).
 */
static const char *string_end(const char *p, const char *end, int *esc)
{
    *esc = 0;
    for (p++;;) {
        p = quote_or_bs(p, end);
        if (p >= end)
            return NULL;
        if (*p == '"')
            return p + 1;
        *esc = 1;
        p += 2;
    }
}

static int scalar_byte(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '+' || c == '.';
}

/*
 * ---- the scrub check of a skipped value (scrub.c's walk, read on the text) ----
 * Strict where cJSON is: whatever passes here parses with cJSON too (escapes,
 * surrogate pairs, numbers of at most 63 characters, the nesting limit),
 * and a little stricter (no raw control bytes, JSON's four blanks only), so
 * that a value the full parse would refuse is never skipped.
 */

static const char *quiet_value(const struct slim *s, const char *p, const char *key, size_t klen,
                               int filter, int depth);

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The code unit of "\uXXXX" at p (p on the backslash), -1 if it is not one. */
static long u_escape(const char *p, const char *end)
{
    long v = 0;

    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    for (int i = 2; i < 6; i++) {
        int h = hexval(p[i]);

        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* The escape at p (on the backslash): its length, 0 when cJSON would refuse it. */
static size_t escape_len(const char *p, const char *end)
{
    long u, lo;

    if (end - p < 2)
        return 0;
    if (jsonstr_escape_letter(p[1]))
        return 2;
    u = u_escape(p, end);
    if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return 0;
    if (u < 0xD800 || u > 0xDBFF)
        return 6;
    lo = u_escape(p + 6, end); /* a high surrogate needs its low half */
    return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 0;
}

#ifdef __SSE2__
/*
 * The bits set in a 16-bit mask. Not __builtin_popcount: without -mpopcnt
 * (the build targets any x86-64) that is a call into libgcc (profiled: 2k
 * instructions a 9 KB event).
 */
static size_t popcount16(unsigned x)
{
    x = x - ((x >> 1) & 0x5555u);
    x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
    x = (x + (x >> 4)) & 0x0f0fu;
    return (x + (x >> 8)) & 0x1fu;
}
#endif

/*
 * From q inside a string: the first byte that is a quote, a backslash or a
 * control byte (end if none), adding the digits before it to *digits and
 * noting an '=' in *eq. 16 bytes at a time where SSE2 is (most of a skipped
 * value is string bytes).
 */
static const char *plain_run(const char *q, const char *end, size_t *digits, int *eq)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f), zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
    const __m128i equals = _mm_set1_epi8('=');

    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f);
        unsigned stop = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)), ctl));
        __m128i d = _mm_sub_epi8(v, zero);
        unsigned dig = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine));
        unsigned eqm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, equals));
        unsigned keep = stop != 0 ? (1u << __builtin_ctz(stop)) - 1 : 0xffffu;

        if ((dig & keep) != 0) /* most runs of text have no digit */
            *digits += popcount16(dig & keep);
        *eq |= (eqm & keep) != 0;
        if (stop != 0)
            return q + __builtin_ctz(stop);
        q += 16;
    }
#endif
    for (; q < end; q++) {
        unsigned char c = (unsigned char)*q;

        if (c == '"' || c == '\\' || c < 0x20)
            return q;
        *digits += c >= '0' && c <= '9';
        *eq |= c == '=';
    }
    return q;
}

/* A string under key: the byte after it, NULL when the walk would replace it. */
static const char *quiet_string(const struct slim *s, const char *p, const char *key, size_t klen,
                                int filter)
{
    const char *q = p + 1, *e;
    size_t digits = 0;
    int esc = 0, eq = 0, changes = 1;
    struct buf b = BUF_INIT((size_t)(s->end - p) + 16);

    for (;;) {
        size_t n;

        q = plain_run(q, s->end, &digits, &eq);
        if (q >= s->end || (unsigned char)*q < 0x20)
            return NULL;
        if (*q == '"')
            break;
        n = escape_len(q, s->end); /* a backslash */
        if (n == 0)
            return NULL;
        if (n == 6) { /* "\u0034" is a digit to the card check, "\u003d" an '=' */
            long u = u_escape(q, s->end);

            digits += u >= '0' && u <= '9';
            eq |= u == '=';
        }
        esc = 1;
        q += n;
    }
    e = q + 1;
    if (filter) /* a sensitive key's value: only "[Filtered]" stays as it is */
        return !esc && key_is(p + 1, (size_t)(q - p - 1), SCRUB_FILTERED) ? e : NULL;
    /* Fewer than 13 digits hold no card number, no '=' no name=value part (scrub.c). */
    if (digits < 13 && (!eq || !scrub_pair_key(key, klen)))
        return e;
    if (!esc)
        return scrub_string_changes(key, klen, p + 1, (size_t)(q - p - 1), s->r) ? NULL : e;
    /* cJSON's string is the unescaped one (a NUL would be U+FFFD there: left to the tree). */
    if (jsonscan_unquote((struct slice){ p, (size_t)(e - p) }, &b) == 0 &&
        memchr(b.p, '\0', b.len) == NULL)
        changes = scrub_string_changes(key, klen, b.p, b.len, s->r);
    buf_release(&b);
    return changes ? NULL : e;
}

static const char *digits_end(const char *p, const char *end)
{
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p;
}

/* A JSON number (RFC 8259's grammar): the byte after it, NULL when the walk would change it. */
static const char *quiet_number(const struct slim *s, const char *p, int filter)
{
    const char *q = p, *int_start, *e;
    size_t digits;
    int exp = 0;
    char num[64];

    if (q < s->end && *q == '-')
        q++;
    int_start = q;
    if (q < s->end && *q == '0')
        q++;
    else if (q < s->end && *q >= '1' && *q <= '9')
        q = digits_end(q, s->end);
    else
        return NULL;
    digits = (size_t)(q - int_start);
    if (q < s->end && *q == '.') {
        e = digits_end(q + 1, s->end);
        if (e == q + 1)
            return NULL;
        q = e;
    }
    if (q < s->end && (*q == 'e' || *q == 'E')) {
        exp = 1;
        q++;
        if (q < s->end && (*q == '+' || *q == '-'))
            q++;
        e = digits_end(q, s->end);
        if (e == q)
            return NULL;
        q = e;
    }
    if (filter || (size_t)(q - p) >= sizeof(num))
        return NULL; /* filtered, or longer than cJSON reads */
    /* Under 1e12 nothing is a card (scrub_number_changes): at most 12 integer digits. */
    if (!exp && digits <= 12)
        return q;
    memcpy(num, p, (size_t)(q - p));
    num[q - p] = '\0';
    return scrub_number_changes(strtod(num, NULL)) ? NULL : q;
}

static const char *quiet_object(const struct slim *s, const char *p, int filter, int depth)
{
    p = ws(p + 1, s->end);
    if (p < s->end && *p == '}')
        return p + 1;
    while (p < s->end && *p == '"') {
        int esc, sensitive;
        const char *k = p + 1, *e = string_end(p, s->end, &esc);
        size_t klen;

        /* A key with escapes or control bytes: left to the tree walk. */
        if (e == NULL || esc)
            return NULL;
        klen = (size_t)(e - k - 1);
        for (size_t i = 0; i < klen; i++)
            if ((unsigned char)k[i] < 0x20)
                return NULL;
        sensitive = filter || scrub_key_sensitive(k, klen, s->r);
        p = ws(e, s->end);
        if (p >= s->end || *p != ':')
            return NULL;
        p = quiet_value(s, ws(p + 1, s->end), k, klen, sensitive, depth);
        if (p == NULL)
            return NULL;
        p = ws(p, s->end);
        if (p < s->end && *p == '}')
            return p + 1;
        if (p >= s->end || *p != ',')
            return NULL;
        p = ws(p + 1, s->end);
    }
    return NULL;
}

static const char *quiet_array(const struct slim *s, const char *p, const char *key, size_t klen,
                               int filter, int depth)
{
    /* [name, value] pairs are scrubbed by name: only the tree walk reads them. */
    if (!filter && scrub_pair_list_key(key, klen))
        return NULL;
    p = ws(p + 1, s->end);
    if (p < s->end && *p == ']')
        return p + 1;
    while (p < s->end) {
        p = quiet_value(s, p, key, klen, filter, depth);
        if (p == NULL)
            return NULL;
        p = ws(p, s->end);
        if (p < s->end && *p == ']')
            return p + 1;
        if (p >= s->end || *p != ',')
            return NULL;
        p = ws(p + 1, s->end);
    }
    return NULL;
}

/*
 * The end of the value at p, nested in depth containers, or NULL when
 * scrub_tree might change anything in it or cJSON might refuse it: key is
 * the nearest object key above (scrub.c's walk), filter set under a
 * sensitive key (every scalar but null, booleans and "[Filtered]" would be
 * replaced).
 */
static const char *quiet_value(const struct slim *s, const char *p, const char *key, size_t klen,
                               int filter, int depth)
{
    if (p >= s->end)
        return NULL;
    switch (*p) {
    case '{':
        return depth + 1 <= s->max_depth ? quiet_object(s, p, filter, depth + 1) : NULL;
    case '[':
        return depth + 1 <= s->max_depth ? quiet_array(s, p, key, klen, filter, depth + 1) : NULL;
    case '"':
        return quiet_string(s, p, key, klen, filter);
    case 't':
        return s->end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return s->end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return s->end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        return quiet_number(s, p, filter);
    }
}

/*
 * The value of member key at s->p (an object or array), nested in depth
 * containers: replaced by null in the copy when nothing in it would be
 * scrubbed and cJSON would read it within the depth limit. 0 or -1.
 */
static int skip_value(struct slim *s, const char *key, size_t klen, int depth)
{
    const char *start = s->p;
    const char *e = quiet_value(s, start, key, klen, scrub_key_sensitive(key, klen, s->r), depth);

    if (e == NULL || buf_add(s->out, s->copied, (size_t)(start - s->copied)) != 0 ||
        buf_add(s->out, "null", 4) != 0)
        return -1;
    s->copied = e;
    s->p = e;
    s->skipped++;
    return 0;
}

/* ---- the walk of the parts that are kept ---- */

static int walk_value(struct slim *s, enum where w, int depth);

static int walk_object(struct slim *s, enum where w, int depth)
{
    s->p = ws(s->p + 1, s->end);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    while (s->p < s->end && *s->p == '"') {
        int esc, rc;
        const char *k = s->p, *e = string_end(s->p, s->end, &esc);
        enum where mw;

        if (e == NULL)
            return -1;
        /* A key with escapes is nothing the walk knows (cJSON would unescape it). */
        mw = esc ? W_OTHER : member_where(w, k + 1, (size_t)(e - k - 2));
        s->p = ws(e, s->end);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p = ws(s->p + 1, s->end);
        if (s->p >= s->end)
            return -1;
        if (mw == W_SKIP && (*s->p == '{' || *s->p == '['))
            rc = skip_value(s, k + 1, (size_t)(e - k - 2), depth);
        else
            rc = walk_value(s, mw == W_SKIP ? W_OTHER : mw, depth);
        if (rc != 0)
            return -1;
        s->p = ws(s->p, s->end);
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return 0;
        }
        if (s->p >= s->end || *s->p != ',')
            return -1;
        s->p = ws(s->p + 1, s->end);
    }
    return -1;
}

static int walk_array(struct slim *s, enum where w, int depth)
{
    s->p = ws(s->p + 1, s->end);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    while (s->p < s->end) {
        if (walk_value(s, element_where(w), depth) != 0)
            return -1;
        s->p = ws(s->p, s->end);
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return 0;
        }
        if (s->p >= s->end || *s->p != ',')
            return -1;
        s->p = ws(s->p + 1, s->end);
    }
    return -1;
}

/* The value at s->p, nested in depth containers; s->p ends after it. */
static int walk_value(struct slim *s, enum where w, int depth)
{
    const char *p = s->p;

    if (p >= s->end)
        return -1;
    if (*p == '{' || *p == '[') {
        if (depth + 1 > s->max_depth)
            return -1; /* the parser's error, from the whole text */
        return *p == '{' ? walk_object(s, w, depth + 1) : walk_array(s, w, depth + 1);
    }
    if (*p == '"') {
        int esc;

        s->p = string_end(p, s->end, &esc);
        return s->p != NULL ? 0 : -1;
    }
    while (p < s->end && scalar_byte(*p))
        p++;
    if (p == s->p)
        return -1;
    s->p = p;
    return 0;
}

/* cJSON's own nesting limit (CJSON_NESTING_LIMIT): deeper is the full parse's error, and it
 * bounds the recursion here whatever the configured depth. */
#define SLIM_DEPTH_CAP 1000

int slim_event(const char *p, size_t len, int max_depth, const struct scrub_rules *r,
               struct buf *out)
{
    int depth = max_depth < SLIM_DEPTH_CAP ? max_depth : SLIM_DEPTH_CAP;
    struct slim s = { p, p + len, p, out, r, depth, 0 };
    size_t mark = out->len;

    s.p = ws(p, s.end);
    if (s.p >= s.end || *s.p != '{' || walk_value(&s, W_ROOT, 0) != 0 || s.skipped == 0 ||
        buf_add(out, s.copied, (size_t)(s.end - s.copied)) != 0) {
        out->len = mark;
        return 0;
    }
    return 1;
}
