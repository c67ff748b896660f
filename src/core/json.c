#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/json.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "core/banned.h"

/*
 * One cheap pass before cJSON sees the bytes. cJSON recurses once per
 * nesting level, so the depth is measured here (strings are skipped so
 * brackets inside them do not count): -1 when it is over max_depth.
 *
 * It also counts the escapes "\u0000" in strings, and rewrites them to
 * "\ufffd" when fix is not NULL (a copy of p at the same offsets). cJSON
 * decodes "\u0000" into a NUL inside a C string, which silently cut every
 * string there (a message lost all that followed). Strings are C strings
 * from cJSON through the event model to SQLite and the API, so a NUL cannot
 * be carried: it becomes U+FFFD, the replacement character, visibly. The
 * escape has the same length, so error offsets stay true, and the stored
 * raw payload keeps the client's bytes.
 */
#ifdef __SSE2__
/* Bit j set when p[j] (j < n <= 16) is a quote, a backslash or a bracket. */
static unsigned marks16(const char *p, size_t n)
{
    unsigned bits = 0;

    if (n == 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));

        /* '[' 0x5b and '{' 0x7b, ']' 0x5d and '}' 0x7d: one compare each once 0x20 is set */
        x = _mm_or_si128(x, _mm_set1_epi8(0x20));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('{')));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('}')));
        return (unsigned)_mm_movemask_epi8(m);
    }
    for (size_t j = 0; j < n; j++) {
        char c = (char)(p[j] | 0x20);

        if (p[j] == '"' || p[j] == '\\' || c == '{' || c == '}')
            bits |= 1u << j;
    }
    return bits;
}

/*
 * json_prescan's pass, 16 bytes at a time: only the bytes that matter are
 * visited (profiled: with a memchr pair per string the prescan was 4% of
 * the server's time on 9 KB events, most of it calls for short strings).
 * Same answers, byte for byte, as the loop below.
 */
static long prescan_marks(const char *p, size_t len, int max_depth, char *fix)
{
    int depth = 0, in_str = 0;
    long nuls = 0;
    size_t skip = 0; /* the byte after a backslash is escaped: not a mark */

    for (size_t base = 0; base < len; base += 16) {
        unsigned bits = marks16(p + base, len - base < 16 ? len - base : 16);

        for (; bits != 0; bits &= bits - 1) {
            size_t i = base + (size_t)__builtin_ctz(bits);
            char c = p[i];

            if (i < skip)
                continue;
            if (in_str) {
                if (c == '"') {
                    in_str = 0;
                } else if (c == '\\') {
                    if (len - i >= 6 && memcmp(p + i + 1, "u0000", 5) == 0) {
                        if (fix != NULL)
                            memcpy(fix + i + 2, "fffd", 4);
                        nuls++;
                    }
                    skip = i + 2;
                }
            } else if (c == '"') {
                in_str = 1;
            } else if (c == '{' || c == '[') {
                if (++depth > max_depth)
                    return -1;
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
    }
    return nuls;
}
#endif

static long json_prescan(const char *p, size_t len, int max_depth, char *fix)
{
#ifdef __SSE2__
    if (len >= 64)
        return prescan_marks(p, len, max_depth, fix);
#endif
    int depth = 0;
    long nuls = 0;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (c == '"') {
            /*
             * A string: its end is the first quote not escaped. Found with
             * memchr (profiled: the byte loop was a third of a parse), then
             * the backslashes before it, if any, are looked at one by one.
             * Each byte is searched at most twice: linear in the worst case.
             */
            size_t quote = i; /* the next quote at or after i, len if none */

            for (i++; i < len;) {
                const char *b;

                if (quote < i) {
                    const char *q = memchr(p + i, '"', len - i);

                    quote = q != NULL ? (size_t)(q - p) : len;
                }
                b = memchr(p + i, '\\', quote - i);
                if (b == NULL) {
                    i = quote;
                    break;
                }
                i = (size_t)(b - p);
                if (len - i >= 6 && memcmp(p + i + 1, "u0000", 5) == 0) {
                    if (fix != NULL)
                        memcpy(fix + i + 2, "fffd", 4);
                    nuls++;
                }
                i += 2; /* the backslash and the character it escapes */
            }
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return -1;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return nuls;
}

/*
 * cJSON on p, or on a copy whose "\u0000" escapes read "\ufffd"
 * (json_prescan). *stop is the offset where cJSON stopped: the end of the
 * value, or the error.
 */
static cJSON *parse_text(const char *p, size_t len, int max_depth, long nuls, size_t *stop)
{
    char *copy = NULL;
    const char *base = p, *end = NULL, *ep;
    cJSON *v;

    if (nuls > 0) {
        copy = xmalloc(len);
        memcpy(copy, p, len);
        (void)json_prescan(p, len, max_depth, copy);
        base = copy;
    }
    v = cJSON_ParseWithLengthOpts(base, len, &end, 0);
    ep = v == NULL ? cJSON_GetErrorPtr() : NULL;
    if (ep != NULL && ep >= base && ep <= base + len)
        end = ep;
    *stop = end != NULL && end >= base && end <= base + len ? (size_t)(end - base) : 0;
    free(copy);
    return v;
}

static cJSON *fast_parse(const char *p, size_t len, int max_depth);

cJSON *json_parse(const char *p, size_t len, const struct json_limits *lim, struct bl_err *err)
{
    cJSON *v;

    if (len <= lim->max_bytes && (v = fast_parse(p, len, lim->max_depth)) != NULL)
        return v;
    return json_parse_slow(p, len, lim, err);
}

cJSON *json_parse_slow(const char *p, size_t len, const struct json_limits *lim, struct bl_err *err)
{
    size_t at = 0;
    long nuls;
    cJSON *v;

    if (len > lim->max_bytes) {
        bl_err_set(err, BL_ETOOBIG, "JSON document of %zu bytes exceeds %zu", len, lim->max_bytes);
        return NULL;
    }
    nuls = json_prescan(p, len, lim->max_depth, NULL);
    if (nuls < 0) {
        bl_err_set(err, BL_EPARSE, "JSON nested deeper than %d levels", lim->max_depth);
        return NULL;
    }
    v = parse_text(p, len, lim->max_depth, nuls, &at);
    if (v == NULL) {
        bl_err_set(err, BL_EPARSE, "invalid JSON at byte %zu", at);
        return NULL;
    }
    while (at < len && (p[at] == ' ' || p[at] == '\t' || p[at] == '\r' || p[at] == '\n'))
        at++;
    if (at < len) {
        bl_err_set(err, BL_EPARSE, "unexpected data after JSON at byte %zu", at);
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int json_num(const cJSON *obj, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsNumber(v))
        return -1;
    *out = v->valuedouble;
    return 0;
}

cJSON *json_obj(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsObject(v) ? v : NULL;
}

cJSON *json_arr(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsArray(v) ? v : NULL;
}

void json_add_str(cJSON *obj, const char *key, const char *s)
{
    if (s != NULL && cJSON_AddStringToObject(obj, key, s) == NULL)
        fatal("out of memory building JSON");
}

int json_print_to(const cJSON *v, struct buf *out)
{
    char *s = cJSON_PrintUnformatted(v);
    int rc;

    if (s == NULL)
        fatal("out of memory printing JSON");
    rc = buf_addstr(out, s);
    cJSON_free(s);
    return rc;
}

static _Thread_local struct pool *json_pool;
/* cJSON's hooks are json_malloc/json_free once json_global_init ran, malloc/free before. */
static int json_hooked;

/*
 * Inside a window, nodes and strings are cut from blocks of the pool, 8
 * bytes aligned (cJSON's largest member is a double): profiled, a
 * pool_alloc call per node and string was 5% of a 9 KB event's decode.
 * The window's start and end forget the block, so a pool reset between
 * windows never leaves it dangling.
 */
#define JSON_BLOCK 8192
static _Thread_local char *json_cur;
static _Thread_local size_t json_left;

static void *json_malloc(size_t n)
{
    size_t need = (n + 7) & ~(size_t)7;
    void *p;

    if (json_pool == NULL)
        return xmalloc(n);
    if (json_left < need) {
        if (need < n || need > JSON_BLOCK / 8)
            return pool_alloc(json_pool, n);
        json_cur = pool_alloc(json_pool, JSON_BLOCK);
        json_left = JSON_BLOCK;
    }
    p = json_cur;
    json_cur += need;
    json_left -= need;
    return p;
}

static void json_free(void *p)
{
    if (json_pool == NULL)
        free(p);
}

void json_global_init(void)
{
    cJSON_Hooks hooks = { json_malloc, json_free };

    cJSON_InitHooks(&hooks);
    json_hooked = 1;
}

void json_pool_begin(struct pool *pool)
{
    json_pool = pool;
    json_cur = NULL;
    json_left = 0;
}

void json_pool_end(void)
{
    json_pool = NULL;
    json_cur = NULL;
    json_left = 0;
}

void json_delete(cJSON *v)
{
    if (json_pool == NULL)
        cJSON_Delete(v);
}

/*
 * ---- the parse itself: cJSON's tree, built in one pass ----
 *
 * cJSON's own parser was two thirds of a Sentry event's parse (profiled:
 * it compares "null", "false" and "true" before it looks at a value's first
 * byte, copies every number into a buffer for strtod, and scans every
 * string twice), and the prescan above read the text once more. This pass
 * builds the very tree cJSON builds (the same nodes, links, strings and
 * numbers, allocated through the same hooks, so cJSON_Delete frees it) for
 * strict RFC 8259 text only: JSON's four blanks, no raw control bytes in
 * strings, escapes as JSON spells them, numbers by JSON's grammar and under
 * cJSON's 64 characters, within the depth limit. Anything else answers
 * NULL and the caller runs the prescan and cJSON as before, so cJSON's
 * leniencies and every error stay exactly what they were; test_json holds
 * the two to the same trees.
 */

struct fast {
    const char *p, *end;
    int max_depth;
};

static void *fast_alloc(size_t n)
{
    return json_hooked ? json_malloc(n) : malloc(n);
}

static void fast_free(void *p)
{
    if (json_hooked)
        json_free(p);
    else
        free(p);
}

static cJSON *fast_item(int type)
{
    cJSON *it = fast_alloc(sizeof(*it));

    if (it != NULL) {
        memset(it, 0, sizeof(*it));
        it->type = type;
    }
    return it;
}

static const char *fast_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* From q: the first quote, backslash or control byte, end if none; 16 bytes at a time. */
static const char *fast_plain(const char *q, const char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f);

    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)), ctl));

        if (m != 0)
            return q + __builtin_ctz(m);
        q += 16;
    }
#endif
    while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
        q++;
    return q;
}

/* Four hex digits at p (p + 4 <= end checked by the caller): the code unit, -1 if not hex. */
static long fast_hex4(const char *p)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int h;

        if (c >= '0' && c <= '9')
            h = c - '0';
        else if (c >= 'a' && c <= 'f')
            h = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            h = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/*
 * The escape at p (on the backslash, its closing quote still ahead) written
 * to *o as cJSON decodes it: the byte after the escape, NULL when it is not
 * strict JSON. "\u0000" is U+FFFD, as json_prescan makes it for cJSON.
 */
static const char *fast_escape(const char *p, const char *end, char **o)
{
    char *w = *o;
    long u, lo;

    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        *w++ = p[1];
        break;
    case 'b':
        *w++ = '\b';
        break;
    case 'f':
        *w++ = '\f';
        break;
    case 'n':
        *w++ = '\n';
        break;
    case 'r':
        *w++ = '\r';
        break;
    case 't':
        *w++ = '\t';
        break;
    case 'u':
        if (end - p < 6 || (u = fast_hex4(p + 2)) < 0 || (u >= 0xDC00 && u <= 0xDFFF))
            return NULL;
        if (u == 0)
            u = 0xFFFD;
        if (u >= 0xD800 && u <= 0xDBFF) { /* a high surrogate needs its low half */
            if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = fast_hex4(p + 8)) < 0xDC00 ||
                lo > 0xDFFF)
                return NULL;
            u = 0x10000 + (((u & 0x3FF) << 10) | (lo & 0x3FF));
            p += 6;
        }
        if (u < 0x80) {
            *w++ = (char)u;
        } else if (u < 0x800) {
            *w++ = (char)(0xC0 | (u >> 6));
            *w++ = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            *w++ = (char)(0xE0 | (u >> 12));
            *w++ = (char)(0x80 | ((u >> 6) & 0x3F));
            *w++ = (char)(0x80 | (u & 0x3F));
        } else {
            *w++ = (char)(0xF0 | (u >> 18));
            *w++ = (char)(0x80 | ((u >> 12) & 0x3F));
            *w++ = (char)(0x80 | ((u >> 6) & 0x3F));
            *w++ = (char)(0x80 | (u & 0x3F));
        }
        *o = w;
        return p + 6;
    default:
        return NULL;
    }
    *o = w;
    return p + 2;
}

/* The string at f->p (on its opening quote), unescaped into a new allocation; NULL to fall back. */
static char *fast_string(struct fast *f)
{
    const char *start = f->p + 1, *q = fast_plain(start, f->end);
    char *s, *w;

    if (q < f->end && *q == '"') { /* most strings: no escape */
        size_t n = (size_t)(q - start);

        s = fast_alloc(n + 1);
        if (s == NULL)
            return NULL;
        memcpy(s, start, n);
        s[n] = '\0';
        f->p = q + 1;
        return s;
    }
    /* The closing quote first: the text's length bounds the unescaped one. */
    while (q < f->end && *q == '\\') {
        if (f->end - q < 2)
            return NULL;
        q = fast_plain(q + 2, f->end);
    }
    if (q >= f->end || *q != '"')
        return NULL;
    s = fast_alloc((size_t)(q - start) + 1);
    if (s == NULL)
        return NULL;
    w = s;
    for (const char *r = start; r < q;) {
        const char *b = fast_plain(r, q);

        memcpy(w, r, (size_t)(b - r));
        w += b - r;
        if (b >= q)
            break;
        r = fast_escape(b, q, &w); /* b is a backslash: control bytes ended the scan above */
        if (r == NULL) {
            fast_free(s);
            return NULL;
        }
    }
    *w = '\0';
    f->p = q + 1;
    return s;
}

static int fast_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const char *fast_digits(const char *q, const char *end)
{
    while (q < end && fast_digit(*q))
        q++;
    return q;
}

/* The end of a number by JSON's grammar at p, NULL if none; *plain when no fraction, no exponent. */
static const char *fast_number_end(const char *p, const char *end, int *plain)
{
    const char *q = p + (*p == '-'), *e;

    *plain = 1;
    if (q < end && *q == '0')
        q++;
    else if (q < end && *q >= '1' && *q <= '9')
        q = fast_digits(q, end);
    else
        return NULL;
    if (q < end && *q == '.') {
        *plain = 0;
        e = fast_digits(q + 1, end);
        if (e == q + 1)
            return NULL;
        q = e;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        *plain = 0;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        e = fast_digits(q, end);
        if (e == q)
            return NULL;
        q = e;
    }
    /* cJSON reads any run of these bytes, up to 63, as one number: more of them is its business. */
    if (q < end &&
        (fast_digit(*q) || *q == '+' || *q == '-' || *q == '.' || *q == 'e' || *q == 'E'))
        return NULL;
    return q;
}

/* A number by JSON's grammar at f->p into it; -1 to fall back. */
static int fast_number(struct fast *f, cJSON *it)
{
    const char *p = f->p, *q;
    int plain;
    char num[64];
    double d;

    q = fast_number_end(p, f->end, &plain);
    if (q == NULL || (size_t)(q - p) >= sizeof(num))
        return -1;
    if (plain && q - p - (*p == '-') <= 15) { /* exact in a double, as strtod makes it */
        int64_t v = 0;

        for (const char *r = p + (*p == '-'); r < q; r++)
            v = v * 10 + (*r - '0');
        d = (double)v;
        if (*p == '-')
            d = -d;
    } else {
        memcpy(num, p, (size_t)(q - p));
        num[q - p] = '\0';
        d = strtod(num, NULL);
    }
    it->valuedouble = d;
    if (d >= INT_MAX) /* cJSON's saturation */
        it->valueint = INT_MAX;
    else if (d <= (double)INT_MIN)
        it->valueint = INT_MIN;
    else
        it->valueint = (int)d;
    f->p = q;
    return 0;
}

static int fast_value(struct fast *f, cJSON *it, int depth);

/* The members (obj) or elements of the container at f->p into it's child list. */
static int fast_container(struct fast *f, cJSON *it, int obj, int depth)
{
    char close = obj ? '}' : ']';
    cJSON *last = NULL;

    if (depth > f->max_depth)
        return -1;
    f->p = fast_ws(f->p + 1, f->end);
    if (f->p < f->end && *f->p == close) {
        f->p++;
        return 0;
    }
    for (;;) {
        cJSON *c = fast_item(cJSON_Invalid);

        if (c == NULL)
            return -1;
        /* Linked at once, so that a failure's cJSON_Delete of the root frees it. */
        if (last == NULL) {
            it->child = c;
        } else {
            last->next = c;
            c->prev = last;
        }
        last = c;
        it->child->prev = c;
        if (obj) {
            if (f->p >= f->end || *f->p != '"' || (c->string = fast_string(f)) == NULL)
                return -1;
            f->p = fast_ws(f->p, f->end);
            if (f->p >= f->end || *f->p != ':')
                return -1;
            f->p = fast_ws(f->p + 1, f->end);
        }
        if (fast_value(f, c, depth) != 0)
            return -1;
        f->p = fast_ws(f->p, f->end);
        if (f->p < f->end && *f->p == close) {
            f->p++;
            return 0;
        }
        if (f->p >= f->end || *f->p != ',')
            return -1;
        f->p = fast_ws(f->p + 1, f->end);
    }
}

/* The value at f->p into it (zeroed but for a key), nested in depth containers; -1 to fall back. */
static int fast_value(struct fast *f, cJSON *it, int depth)
{
    const char *p = f->p;
    size_t left = (size_t)(f->end - p);

    if (left == 0)
        return -1;
    switch (*p) {
    case '{':
        it->type = cJSON_Object;
        return fast_container(f, it, 1, depth + 1);
    case '[':
        it->type = cJSON_Array;
        return fast_container(f, it, 0, depth + 1);
    case '"':
        it->type = cJSON_String;
        return (it->valuestring = fast_string(f)) != NULL ? 0 : -1;
    case 't':
        if (left < 4 || memcmp(p, "true", 4) != 0)
            return -1;
        it->type = cJSON_True;
        it->valueint = 1;
        f->p += 4;
        return 0;
    case 'f':
        if (left < 5 || memcmp(p, "false", 5) != 0)
            return -1;
        it->type = cJSON_False;
        f->p += 5;
        return 0;
    case 'n':
        if (left < 4 || memcmp(p, "null", 4) != 0)
            return -1;
        it->type = cJSON_NULL;
        f->p += 4;
        return 0;
    default:
        it->type = cJSON_Number;
        return fast_number(f, it);
    }
}

/* The tree of strict JSON text p (the whole of len, blanks around), or NULL to leave it to cJSON. */
static cJSON *fast_parse(const char *p, size_t len, int max_depth)
{
    struct fast f = { p, p + len, max_depth < 1000 ? max_depth : 1000 }; /* cJSON's nesting limit */
    cJSON *root;

    f.p = fast_ws(f.p, f.end);
    if (f.p >= f.end || (root = fast_item(cJSON_Invalid)) == NULL)
        return NULL;
    if (fast_value(&f, root, 0) != 0 || fast_ws(f.p, f.end) != f.end) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
