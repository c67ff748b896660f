/*
 * normalize_log_scan.c - a JSON line into the event model from its text,
 * without a tree (normalize.h, normalize_log_text).
 *
 * DESIGN
 * The tree path of a log line (cJSON parse, the scrub walk, then
 * normalize_log_line) was about two thirds of the digest's decode of a
 * line, though a log line needs only a handful of its members and almost
 * never holds anything to scrub. This path reads the line once: every
 * member, at every depth, is looked at as the scrub walk would look at it
 * (scrub.h's text predicates), and the top-level members named by the
 * field aliases (normalize_int.h) are kept as slices of the line. When
 * nothing would be scrubbed and every chosen value is one it can read, the
 * event is filled from the slices with the very rules of normalize_log_line
 * (which alias wins, what is usable, the same text of numbers, the same
 * truncation); otherwise it answers "take the tree path", which stays the
 * reference (tests/unit/test_logscan.c checks both give the same events).
 *
 * It answers "tree path" for: a sensitive key anywhere, a string or number
 * the scrub would replace, an array under a key that may hold [name, value]
 * pairs, a message that is an object or an array, nesting beyond the
 * limit, and anything that is not a JSON object. Strings are decoded as
 * cJSON decodes them through core/json.c ("\u0000" reads as U+FFFD).
 *
 * The line must be valid JSON (the door's check, or ingest_ndjson_line_ok,
 * passed it): the reader does not validate, but never reads outside the
 * line whatever it holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "ingest/jsonstr.h"
#include "ingest/scrub.h"
#include "core/banned.h"

/*
 * The per-member steps (string_end, member_key, key_info, next_item) are
 * forced inline: a line has a dozen members, and their calls were a
 * fourteenth of its decode (callgrind, logs_fill).
 */
#define HOT static inline __attribute__((always_inline))

/* Longest number text cJSON reads (and the door's check lets through). */
#define NUM_MAX 63

/* One top-level member named by a field alias. */
struct member {
    const char *v; /* the value's first byte (a string's opening quote) */
    const char *end;
    int esc; /* a string with escapes */
};

struct scan {
    const char *begin; /* the line's first byte: all from here to end may be read */
    const char *end;
    const struct scrub_rules *scrub;
    struct pool *pool;
    int max_depth;
    int own_rules; /* the project has scrubbing words or safe keys of its own */
    int esc;       /* the last string value read had escapes */
    /* found[i][k] is set when bit i * NZ_LOG_NKEYS + k of have is (no clearing per line) */
    uint64_t have;
    struct member found[NZ_LOG_NFIELDS][NZ_LOG_NKEYS];
};
_Static_assert(NZ_LOG_NFIELDS *NZ_LOG_NKEYS <= 64, "struct scan's have is 64 bits");

/*
 * A member's key as its values are read under it (an array's elements
 * under the array's): its decoded bytes and what the scrub makes of it.
 */
struct mkey {
    const char *p;
    size_t len;
    unsigned char pair;      /* scrub_pair_key: name=value parts are looked at */
    unsigned char pair_list; /* scrub_pair_list_key: [name, value] pairs */
};

/*
 * Four calls a member, and log lines rarely hold whitespace between
 * tokens: a byte above ' ' ends the skip at once (the loop was a
 * fifteenth of a line's reading).
 */
HOT const char *skip_ws(const char *p, const char *end)
{
    if (p < end && (unsigned char)*p > ' ')
        return p;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static int is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

/*
 * Whether a card-like run (digits with single spaces or dashes between
 * them, scrub.c) of 13 or more is in p[0..len).
 */
static int long_run(const char *p, size_t len)
{
    size_t run = 0;

    for (size_t i = 0; i < len; i++) {
        if (is_digit(p[i])) {
            if (++run >= 13)
                return 1;
        } else if (!((p[i] == ' ' || p[i] == '-') && run > 0 && i + 1 < len &&
                     is_digit(p[i + 1]))) {
            run = 0;
        }
    }
    return 0;
}

/* The digit bytes of a string's raw content p[0..len), but the characters escaped. */
static size_t count_digits(const char *p, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\\')
            i++;
        else
            n += is_digit(p[i]);
    }
    return n;
}

/* p is after a string's opening quote: its closing quote, or NULL; *esc tells escapes. */
HOT const char *quote_end(const char *p, const char *end, int *esc)
{
    const char *q = p;
    int e = 0;

    for (;;) {
        q = jsonstr_find_stop(q, end);
        if (q >= end)
            return NULL;
        if (*q == '"')
            break;
        e = 1; /* the backslash and the character it escapes */
        q += 2;
        if (q > end)
            return NULL;
    }
    *esc = e;
    return q;
}

/* string_end for any string, escapes too: its end first, then its card-like runs. */
static const char *string_end_any(const char *p, const char *end, int *card, int *esc)
{
    const char *q = quote_end(p, end, esc), *from;
    size_t len;

    if (q == NULL)
        return NULL;
    len = (size_t)(q - p);
    if (len < 13)
        *card = 0;
    else if (*esc)
        *card = count_digits(p, len) >= 13;
    else if ((from = jsonstr_card_window(p, len, end)) == NULL)
        *card = 0;
    else
        *card = long_run(from, len - (size_t)(from - p));
    return q;
}

#ifdef JSONSTR_SSE2
/*
 * p is after a string's opening quote: its closing quote, or NULL. *esc
 * tells escapes. *card is 1 when the content may hold a card number (the
 * scrub must look): without escapes, when it has a card-like run of 13
 * digits; with escapes, when it has 13 digit bytes (an upper bound of the
 * decoded string's: an escape yields at most one digit from its own).
 * Strings are a log line's most bytes: each 16-byte block is looked at for
 * the closing quote and for card bytes at once (jsonstr_card_window's
 * blocks, the same ones: both start at p; two passes read a 32-digit
 * request id twice), and the byte-by-byte run only where 13 bytes in a row
 * could hold one. A string with an escape is read again by string_end_any.
 */
HOT const char *string_end(const char *p, const char *begin, const char *end, int *card, int *esc)
{
    const char *q = p, *t, *from = NULL;
    uint32_t prev = 0, cur;

    for (; end - q >= 16; q += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
        unsigned stop = jsonstr_stop_bits16(x);

        cur = jsonstr_card_bits16(x);
        if (stop != 0) {
            unsigned bit = (unsigned)__builtin_ctz(stop);

            if (q[bit] != '"')
                return string_end_any(p, end, card, esc);
            /* bits past the string's end cleared, as jsonstr_card_window does; no run
             * in fewer than 13 bytes */
            cur &= (UINT32_C(1) << bit) - 1;
            if (from == NULL && q + bit - p >= 13 && jsonstr_run13(prev | cur << 16) != 0)
                from = jsonstr_card_from(p, (size_t)(q - p));
            q += bit;
            goto done;
        }
        if (from == NULL && jsonstr_run13(prev | cur << 16) != 0)
            from = jsonstr_card_from(p, (size_t)(q - p));
        prev = cur;
    }
    /*
     * Fewer than 16 bytes before end (a line's last string): the 16 bytes
     * that end at end, when the text holds them, shifted to start at q.
     */
    if (q < end && end - begin >= 16) {
        unsigned sh = (unsigned)(q - (end - 16)), stop, bit;
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(end - 16));

        stop = jsonstr_stop_bits16(x) >> sh;
        cur = jsonstr_card_bits16(x) >> sh;
        if (stop == 0)
            return NULL;
        bit = (unsigned)__builtin_ctz(stop);
        if (q[bit] != '"')
            return string_end_any(p, end, card, esc);
        cur &= (UINT32_C(1) << bit) - 1;
        if (from == NULL && q + bit - p >= 13 && jsonstr_run13(prev | cur << 16) != 0)
            from = jsonstr_card_from(p, (size_t)(q - p));
        q += bit;
        goto done;
    }
    /* A text shorter than 16 bytes: one by one, a bit each (jsonstr_card_window's tail). */
    cur = 0;
    for (t = q; t < end && *t != '"' && *t != '\\'; t++)
        cur |= (uint32_t)jsonstr_card_byte(*t) << (t - q);
    if (t >= end)
        return NULL;
    if (*t != '"')
        return string_end_any(p, end, card, esc);
    if (from == NULL && jsonstr_run13(prev | cur << 16) != 0)
        from = jsonstr_card_from(p, (size_t)(q - p));
    q = t;
done:
    *esc = 0;
    *card = from != NULL && long_run(from, (size_t)(q - from));
    return q;
}
#else
HOT const char *string_end(const char *p, const char *begin, const char *end, int *card, int *esc)
{
    (void)begin;
    return string_end_any(p, end, card, esc);
}
#endif

/* A number's text p[0..len) as cJSON reads it; -1 when it is longer than cJSON reads. */
static int number_of(const char *p, size_t len, double *v)
{
    char num[NUM_MAX + 1];

    if (len > NUM_MAX)
        return -1;
    memcpy(num, p, len);
    num[len] = '\0';
    *v = strtod(num, NULL);
    return 0;
}

static const char *value(struct scan *s, const char *p, const struct mkey *k, int depth);

/* A string value under key: NULL when the scrub would change it. p is on the opening quote. */
HOT const char *string_value(struct scan *s, const char *p, const struct mkey *k)
{
    size_t n;
    int card, esc;
    const char *q = string_end(p + 1, s->begin, s->end, &card, &esc), *text;

    if (q == NULL)
        return NULL;
    s->esc = esc;
    /*
     * The scrub looks at card-like runs, and at name=value parts under a
     * pair key only (scrub.c); an escape may hide an '='.
     */
    if (card || (k->pair && (esc || memchr(p + 1, '=', (size_t)(q - p - 1)) != NULL))) {
        text = esc ? nz_log_unescape(s->pool, p + 1, (size_t)(q - p - 1), &n) : p + 1;
        if (!esc)
            n = (size_t)(q - p - 1);
        if (scrub_string_changes(k->p, k->len, text, n, s->scrub))
            return NULL;
    }
    return q + 1;
}

static int num_byte(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* A number: NULL when the scrub would take it for a card. */
HOT const char *number_value(const char *p, const char *end)
{
    const char *q = p, *digits;
    size_t int_digits;
    int exp = 0;
    double v;

    /*
     * The integer part's digits first, a byte a step with nothing else to
     * track (log lines' numbers are mostly integers); then the rest of the
     * number's bytes. The door's check passed the line, so a number is
     * -?digits(.digits)?([eE][+-]?digits)?: the digits before any '.',
     * 'e' or 'E' are the integer part's.
     */
    if (q < end && *q == '-')
        q++;
    for (digits = q; q < end && is_digit(*q); q++)
        ;
    int_digits = (size_t)(q - digits);
    for (; q < end && num_byte(*q); q++)
        exp |= (*q | 0x20) == 'e';
    if (q == p)
        return NULL;
    /* Below 1e12 (at most 12 digits before the point, no exponent) no number is a card. */
    if ((!exp && int_digits <= 12) || *p == '-')
        return q;
    if (number_of(p, (size_t)(q - p), &v) < 0 || scrub_number_changes(v))
        return NULL;
    return q;
}

/*
 * What a key is, by its bytes: sensitive under the default words, and which
 * field alias it is (-1: none, else field * NZ_LOG_NKEYS + alias). Log
 * lines repeat the same few keys, so each decode thread keeps the answers
 * for the keys it saw last (a direct-mapped table): looking the default
 * words and the aliases up was a fifth of a line's reading.
 */
#define KEYCACHE 128
#define KEYCACHE_LEN 32

struct key_info {
    unsigned char len; /* 0: empty slot */
    signed char alias;
    unsigned char sensitive;
    unsigned char pair, pair_list; /* as struct mkey's */
    char key[KEYCACHE_LEN];
};

static _Thread_local struct key_info key_cache[KEYCACHE];

static int alias_of(const char *key, size_t len)
{
    for (size_t i = 0; i < NZ_LOG_NFIELDS; i++)
        for (size_t k = 0; k < NZ_LOG_NKEYS && nz_log_fields[i].keys[k] != NULL; k++)
            if (strlen(nz_log_fields[i].keys[k]) == len &&
                memcmp(nz_log_fields[i].keys[k], key, len) == 0)
                return (int)(i * NZ_LOG_NKEYS + k);
    return -1;
}

static void key_fill(const char *key, size_t len, struct key_info *e)
{
    e->alias = (signed char)alias_of(key, len);
    e->sensitive = (unsigned char)scrub_key_sensitive(key, len, NULL);
    e->pair = (unsigned char)scrub_pair_key(key, len);
    e->pair_list = (unsigned char)scrub_pair_list_key(key, len);
}

/*
 * memcmp(a, b, len) == 0 for the short keys of a line, without the call:
 * two loads that overlap in the middle cover 4-16 bytes.
 */
static int key_same(const char *a, const char *b, size_t len)
{
    uint64_t x, y, u, v;
    uint32_t x4, y4, u4, v4;

    if (len >= 8 && len <= 16) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + len - 8, 8);
        memcpy(&v, b + len - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (len >= 4 && len < 8) {
        memcpy(&x4, a, 4);
        memcpy(&y4, b, 4);
        memcpy(&u4, a + len - 4, 4);
        memcpy(&v4, b + len - 4, 4);
        return ((x4 ^ y4) | (u4 ^ v4)) == 0;
    }
    return memcmp(a, b, len) == 0;
}

/* The answers for key: from the cache, or in *tmp for keys it does not hold. */
HOT const struct key_info *key_info(const char *key, size_t len, struct key_info *tmp)
{
    struct key_info *e;

    if (len == 0 || len > KEYCACHE_LEN) {
        key_fill(key, len, tmp);
        return tmp;
    }
    e = &key_cache[(len * 31 + (unsigned char)key[0] * 7 + (unsigned char)key[len - 1] * 13 +
                    (unsigned char)key[len / 2]) %
                   KEYCACHE];
    if (e->len != len || !key_same(e->key, key, len)) {
        e->len = (unsigned char)len;
        memcpy(e->key, key, len);
        key_fill(key, len, e);
    }
    return e;
}

/*
 * A member key at p (its opening quote): *k decoded, *alias as key_info's;
 * returns after the ':', or NULL when the key is sensitive (scrub.c
 * filters the whole value of a sensitive key: the tree path does it) or
 * the text is not a member.
 */
HOT const char *member_key(struct scan *s, const char *p, struct mkey *k, int *alias)
{
    struct key_info tmp;
    const struct key_info *ki;
    int esc;
    const char *q;

    /* A key's digits are never looked at (a sensitive key is the tree path's): its end only. */
    if (p >= s->end || *p != '"' || (q = quote_end(p + 1, s->end, &esc)) == NULL)
        return NULL;
    k->len = (size_t)(q - p - 1);
    k->p = esc ? nz_log_unescape(s->pool, p + 1, k->len, &k->len) : p + 1;
    /* The ':' right after the quote, as log lines write it, is taken without skip_ws. */
    p = q + 1;
    if ((p >= s->end || *p != ':') && ((p = skip_ws(p, s->end)) >= s->end || *p != ':'))
        return NULL;
    ki = key_info(k->p, k->len, &tmp);
    *alias = ki->alias;
    k->pair = ki->pair;
    k->pair_list = ki->pair_list;
    /* The project's own words and safe keys are asked each time; the defaults are cached. */
    if (s->own_rules ? scrub_key_sensitive(k->p, k->len, s->scrub) : ki->sensitive)
        return NULL;
    return skip_ws(p + 1, s->end);
}

/* After a member or element: the next one (1), the container's end (0), or -1. */
HOT int next_item(struct scan *s, const char **p, char close)
{
    const char *q = *p;

    /* A ',' right after the value, as log lines write it: no skip_ws before it. */
    if (q < s->end && *q == ',') {
        *p = skip_ws(q + 1, s->end);
        return 1;
    }
    q = skip_ws(q, s->end);

    if (q < s->end && *q == ',') {
        *p = skip_ws(q + 1, s->end);
        return 1;
    }
    if (q < s->end && *q == close) {
        *p = q + 1;
        return 0;
    }
    return -1;
}

static const char *object_value(struct scan *s, const char *p, int depth)
{
    struct mkey k;
    int more, alias;

    p = skip_ws(p + 1, s->end);
    if (p < s->end && *p == '}')
        return p + 1;
    do {
        p = member_key(s, p, &k, &alias);
        if (p == NULL || (p = value(s, p, &k, depth + 1)) == NULL)
            return NULL;
    } while ((more = next_item(s, &p, '}')) > 0);
    return more == 0 ? p : NULL;
}

static const char *array_value(struct scan *s, const char *p, const struct mkey *k, int depth)
{
    int more;

    /* [name, value] pairs are scrubbed by name (scrub.c): only the tree walk reads them. */
    if (k->pair_list)
        return NULL;
    p = skip_ws(p + 1, s->end);
    if (p < s->end && *p == ']')
        return p + 1;
    do {
        /* An array's elements are walked under the array's own key. */
        if ((p = value(s, p, k, depth + 1)) == NULL)
            return NULL;
    } while ((more = next_item(s, &p, ']')) > 0);
    return more == 0 ? p : NULL;
}

static const char *literal(const char *p, const char *end, const char *word, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* Any value at p under key: after it, or NULL when the tree path must decide. */
static const char *value(struct scan *s, const char *p, const struct mkey *k, int depth)
{
    if (p >= s->end)
        return NULL;
    switch (*p) {
    case '"':
        return string_value(s, p, k);
    case '{':
        return depth < s->max_depth ? object_value(s, p, depth) : NULL;
    case '[':
        return depth < s->max_depth ? array_value(s, p, k, depth) : NULL;
    case 't':
        return literal(p, s->end, "true", 4);
    case 'f':
        return literal(p, s->end, "false", 5);
    case 'n':
        return literal(p, s->end, "null", 4);
    default:
        return number_value(p, s->end);
    }
}

/* Notes a top-level member that a field alias names (the first of each name counts). */
static void note_alias(struct scan *s, int alias, const char *v, const char *end)
{
    struct member *m = &s->found[alias / NZ_LOG_NKEYS][alias % NZ_LOG_NKEYS];

    if (s->have & UINT64_C(1) << alias)
        return;
    s->have |= UINT64_C(1) << alias;
    m->v = v;
    m->end = end;
    m->esc = *v == '"' && s->esc; /* value() read the string last */
}

/* The top-level object: 0 when nothing in it needs the tree path. */
static int top_object(struct scan *s, const char *p)
{
    struct mkey k;
    const char *v;
    int more, alias;

    p = skip_ws(p, s->end);
    if (p >= s->end || *p != '{')
        return -1;
    p = skip_ws(p + 1, s->end);
    if (p < s->end && *p == '}')
        return skip_ws(p + 1, s->end) == s->end ? 0 : -1;
    do {
        p = member_key(s, p, &k, &alias);
        if (p == NULL || s->max_depth < 1)
            return -1;
        v = p;
        /* Most members are strings or numbers: read here, without value()'s call and switch. */
        if (p < s->end && *p == '"')
            p = string_value(s, p, &k);
        else if (p < s->end && is_digit(*p))
            p = number_value(p, s->end);
        else
            p = value(s, p, &k, 1);
        if (p == NULL)
            return -1;
        if (alias >= 0)
            note_alias(s, alias, v, p);
    } while ((more = next_item(s, &p, '}')) > 0);
    return more == 0 && skip_ws(p, s->end) == s->end ? 0 : -1;
}

/* A member's value, read as cJSON would hold it. */
struct mval {
    int type; /* 's' string, 'n' number, 't' true, 'f' false, 'z' null, 'o' object or array */
    const char *s;
    size_t len;
    double num;
    int64_t us; /* a time field's value, once usable() read it */
    int level;  /* a level field's value, once usable() read it */
};

static int read_member(struct scan *s, const struct member *m, struct mval *out)
{
    switch (*m->v) {
    case '"':
        out->type = 's';
        out->len = (size_t)(m->end - m->v - 2);
        out->s = m->esc ? nz_log_unescape(s->pool, m->v + 1, out->len, &out->len) : m->v + 1;
        return 0;
    case 't':
    case 'f':
    case 'n':
        out->type = *m->v == 'n' ? 'z' : *m->v;
        return 0;
    case '{':
    case '[':
        out->type = 'o';
        return 0;
    default:
        out->type = 'n';
        return number_of(m->v, (size_t)(m->end - m->v), &out->num);
    }
}

/* normalize_log.c's usable(): the value is one the field takes. */
static int usable(int kind, struct mval *v)
{
    switch (kind) {
    case NZ_LF_TIME:
        return v->type == 'n'   ? ingest_time_from_number(v->num, &v->us) == 0
               : v->type == 's' ? ingest_time_from_string(v->s, v->len, &v->us) == 0
                                : 0;
    case NZ_LF_LEVEL:
        return v->type == 'n'   ? ev_level_from_number(v->num, &v->level) == 0
               : v->type == 's' ? nz_log_level(v->s, v->len, &v->level) == 0
                                : 0;
    case NZ_LF_TEXT:
        return v->type != 'z';
    case NZ_LF_STRING:
        return v->type == 's';
    default:
        return v->type == 's' || v->type == 'n';
    }
}

/* nz_clamp_time for a usable time value. */
static int64_t clamp_time(const struct mval *v, int64_t received_at)
{
    if (v->us > received_at + NZ_FUTURE_US || v->us < received_at - NZ_PAST_US)
        return received_at;
    return v->us;
}

/*
 * nz_scalar's text of a string, number or boolean. A string (cut to max
 * already) is copied to *strs, which moves past it. A string of a valid
 * line holds no NUL (raw control bytes are not JSON, and "\u0000" reads as
 * U+FFFD), so nz_strdup's look for one is not needed.
 */
static const char *scalar_text(const struct mval *v, size_t max, struct pool *pool, char **strs)
{
    char num[40], *out = *strs;

    if (v->type == 's') {
        memcpy(out, v->s, v->len);
        out[v->len] = '\0';
        *strs = out + v->len + 1;
        return out;
    }
    if (v->type == 't' || v->type == 'f')
        return v->type == 't' ? "true" : "false";
    return nz_strdup(pool, num, nz_number_text(v->num, num), max);
}

static void apply(const struct nz_log_field *f, const struct mval *v, struct event *ev, size_t max,
                  struct pool *pool, char **strs)
{
    switch (f->kind) {
    case NZ_LF_TIME: /* usable() read it */
        ev->timestamp = clamp_time(v, ev->received_at);
        break;
    case NZ_LF_LEVEL:
        ev->level = v->level;
        break;
    default:
        *(const char **)((char *)ev + f->off) = scalar_text(v, max, pool, strs);
        break;
    }
}

int normalize_log_text(const char *line, size_t len, const struct scrub_rules *scrub,
                       struct event *ev, const struct ingest_limits *lim, struct pool *pool)
{
    struct scan s;
    struct mval chosen[NZ_LOG_NFIELDS];
    int have[NZ_LOG_NFIELDS] = { 0 };
    size_t need = 0;
    char *strs;

    s.have = 0;
    s.own_rules = scrub != NULL && ((scrub->extra != NULL && scrub->extra[0] != '\0') ||
                                    (scrub->safe != NULL && scrub->safe[0] != '\0'));
    s.begin = line;
    s.end = line + len;
    s.scrub = scrub;
    s.pool = pool;
    s.max_depth = lim->max_depth;
    if (top_object(&s, line) != 0)
        return 1;
    /* As normalize_log_line: per field, the first alias present with a usable value. */
    for (size_t i = 0; i < NZ_LOG_NFIELDS; i++) {
        /* The aliases found, in their order (the lowest bit first). */
        unsigned bits = (unsigned)(s.have >> (i * NZ_LOG_NKEYS)) & ((1u << NZ_LOG_NKEYS) - 1);

        for (; bits != 0 && !have[i]; bits &= bits - 1) {
            unsigned k = (unsigned)__builtin_ctz(bits);

            if (read_member(&s, &s.found[i][k], &chosen[i]) < 0)
                return 1;
            have[i] = usable(nz_log_fields[i].kind, &chosen[i]);
        }
        /* An object or array as the message is printed by cJSON: the tree path. */
        if (have[i] && chosen[i].type == 'o')
            return 1;
    }
    ev->source = EV_SRC_LOGLINE;
    ev->kind = EV_KIND_LOG;
    ev->level = EV_INFO;
    ev->timestamp = ev->received_at;
    /* The kept strings (cut as nz_strdup cuts them) in one block of the pool: one allocation a line. */
    for (size_t i = 0; i < NZ_LOG_NFIELDS; i++) {
        if (have[i] && chosen[i].type == 's' && nz_log_fields[i].off != NZ_LF_NONE) {
            chosen[i].len = nz_utf8_cut(chosen[i].s, chosen[i].len, lim->max_string);
            need += chosen[i].len + 1;
        }
    }
    strs = need > 0 ? pool_alloc(pool, need) : NULL;
    for (size_t i = 0; i < NZ_LOG_NFIELDS; i++)
        if (have[i])
            apply(&nz_log_fields[i], &chosen[i], ev, lim->max_string, pool, &strs);
    return 0;
}
