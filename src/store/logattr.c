/*
 * logattr.c - a log line's "service" from its stored payload (logattr.h).
 *
 * A walk over the top-level members only: values before the one looked
 * for are skipped by their brackets and quotes, never parsed. The payload
 * is the digest's own (a line that passed the door's JSON check, or
 * cJSON's re-print of it), but it is still read within its length
 * whatever it holds, and whitespace is what cJSON skips (bytes up to
 * 0x20), so the member found is the one cJSON would give.
 */
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#define LA_SSE2 1
#endif

#include "store/logattr.h"
#include "core/banned.h"

/* Deeper values are LA_OTHER: the reader's JSON limits may refuse them. */
#define LA_DEPTH_MAX 16

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (unsigned char)*p <= 0x20)
        p++;
    return p;
}

/*
 * The first '"', '\\' or control byte (< 0x20) at or after p, or a byte
 * near end: 8 bytes at a time where they are there (a line's member
 * names, one byte at a time, were half of this module's time). Per byte,
 * (x - 0x01..) & ~x has its top bit set for a zero byte and (v - 0x20..)
 * & ~v for one below 0x20; a borrow only runs upwards, so the lowest
 * flagged byte is exact. The caller looks at the bytes from there.
 */
static const char *plain_end(const char *p, const char *end)
{
#ifdef LA_SSE2
    /* 16 at a time: the compare is signed, so bytes >= 0x80 stop it too */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned bits = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                         _mm_cmplt_epi8(x, space)));

        if (bits != 0)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);

    while (end - p >= 8) {
        uint64_t v, q, b, m;

        memcpy(&v, p, 8);
        q = v ^ (ones * '"');
        b = v ^ (ones * '\\');
        m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v)) & high;
        if (m != 0)
            return p + __builtin_ctzll(m) / 8;
        p += 8;
    }
#else
    (void)end;
#endif
    return p;
}

/*
 * The end of the string opening at p (past its closing quote), or NULL;
 * *plain: no escape and no control byte (cJSON's text is then the bytes).
 */
static const char *string_end(const char *p, const char *end, int *plain)
{
    *plain = 1;
    p = plain_end(p + 1, end);
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == '"')
            return p + 1;
        if (c == '\\') {
            *plain = 0;
            p++;
        } else if (c < 0x20) {
            *plain = 0;
        }
    }
    return NULL;
}

/*
 * The end of the string opening at p when only its end matters: the next
 * quote not escaped, found 8 bytes at a time (most of a line's bytes are
 * in strings; memchr's call cost more than the scan of a short value).
 */
static const char *skip_string(const char *p, const char *end)
{
    for (p++;;) {
        p = plain_end(p, end);
        if (p >= end)
            return NULL;
        if (*p == '"')
            return p + 1;
        p += *p == '\\' ? 2 : 1;
    }
}

/* The end of the value at p (any kind), or NULL when it does not end or nests too deep. */
static const char *value_end(const char *p, const char *end)
{
    int depth = 0;

    while (p < end) {
        char c = *p;

        if (c == '"') {
            p = skip_string(p, end);
            if (p == NULL)
                return NULL;
        } else if (c == '{' || c == '[') {
            if (++depth > LA_DEPTH_MAX)
                return NULL;
            p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return p; /* the end of the enclosing object: a scalar ended here */
            depth--;
            p++;
        } else if (c == ',' && depth == 0) {
            return p;
        } else {
            p++;
        }
        if (depth == 0 && (c == '"' || c == '}' || c == ']'))
            return p;
    }
    return depth == 0 ? p : NULL;
}

/*
 * Whether the 7 bytes at k are "service" in any case, as cJSON compares
 * names (ASCII letters only: OR 0x20 pairs each letter with its capital
 * alone); strncasecmp went through the locale's tables, 45 instructions
 * a line where this takes about 18.
 */
static int is_service(const char *k)
{
    static const char want[] = "service";

    for (int i = 0; i < 7; i++)
        if (((unsigned char)k[i] | 0x20) != (unsigned char)want[i])
            return 0;
    return 1;
}

/* The member's value at p: LA_VALUE for a plain string, else LA_OTHER. */
static int member_value(const char *p, const char *end, const char **v, size_t *n)
{
    const char *e;
    int plain;

    if (p >= end || *p != '"')
        return LA_OTHER;
    e = string_end(p, end, &plain);
    if (e == NULL || !plain)
        return LA_OTHER;
    *v = p + 1;
    *n = (size_t)(e - p - 2);
    return LA_VALUE;
}

int la_service(const char *json, size_t len, const char **v, size_t *n)
{
    const char *p = json, *end = json + len;

    *v = NULL;
    *n = 0;
    if (json == NULL)
        return LA_OTHER;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return LA_OTHER;
    for (p = skip_ws(p + 1, end); p < end && *p != '}';) {
        const char *key = p + 1, *kend;
        int plain;

        if (*p != '"' || (kend = string_end(p, end, &plain)) == NULL || !plain)
            return LA_OTHER; /* an escaped key may read "service" */
        p = skip_ws(kend, end);
        if (p >= end || *p != ':')
            return LA_OTHER;
        p = skip_ws(p + 1, end);
        if (kend - key - 1 == 7 && is_service(key))
            return member_value(p, end, v, n);
        p = value_end(p, end);
        if (p == NULL)
            return LA_OTHER;
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p = skip_ws(p + 1, end);
        else if (p >= end || *p != '}')
            return LA_OTHER;
    }
    return p < end ? LA_NONE : LA_OTHER;
}
