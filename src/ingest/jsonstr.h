/*
 * jsonstr.h - the inner loops over the bytes of a JSON string, shared by
 * the door's validator (jsonscan.c) and the digest's reader of log lines
 * (normalize_log_scan.c).
 *
 * Strings are most of a log line's bytes, so both look at 16 bytes at a
 * time with SSE2 (every x86-64 has it) and only stop on the bytes that
 * matter to them; elsewhere 8 bytes at a time in a 64-bit word (SWAR),
 * then one by one. Static inline: these are the hottest loops of the
 * ingest path and a call per string would cost more than a short string's
 * scan.
 */
#ifndef BL_JSONSTR_H
#define BL_JSONSTR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#define JSONSTR_SSE2 1
#endif

#define JSONSTR_ONES UINT64_C(0x0101010101010101)
#define JSONSTR_HIGHS UINT64_C(0x8080808080808080)

/* Bytes a string can hold without a closer look: printable ASCII but '"' and '\\'. */
static inline int jsonstr_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Non-zero when one of the 8 bytes is < 0x20, '"', '\\' or >= 0x80 (no false negatives). */
static inline uint64_t jsonstr_special8(uint64_t v)
{
    uint64_t quote = v ^ (JSONSTR_ONES * '"');
    uint64_t bslash = v ^ (JSONSTR_ONES * '\\');

    return ((v - JSONSTR_ONES * 0x20) | (quote - JSONSTR_ONES) | (bslash - JSONSTR_ONES) | v) &
           JSONSTR_HIGHS;
}

/*
 * The first byte at or after p that is not plain (jsonstr_plain), or end:
 * what the validator must look at (escapes, control characters, UTF-8).
 * SSE2 compares are signed, so bytes >= 0x80 are below 0x20 too; the
 * lowest flagged byte of jsonstr_special8 is exact (borrows only run
 * upwards).
 */
static inline const unsigned char *jsonstr_skip_plain(const unsigned char *p,
                                                      const unsigned char *end)
{
    uint64_t v, m;

#ifdef JSONSTR_SSE2
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
            _mm_cmplt_epi8(x, space));
        unsigned bits = (unsigned)_mm_movemask_epi8(hit);

        if (bits != 0)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        memcpy(&v, p, 8);
        m = jsonstr_special8(v);
        if (m != 0)
            return p + __builtin_ctzll(m) / 8;
        p += 8;
    }
#else
    while (end - p >= 8) {
        memcpy(&v, p, 8);
        if (jsonstr_special8(v) != 0)
            break;
        p += 8;
    }
    (void)m;
#endif
    while (p < end && jsonstr_plain(*p))
        p++;
    return p;
}

#ifdef JSONSTR_SSE2
/* A bit per byte of x that is '"' or '\\': where a string's plain bytes stop. */
static inline unsigned jsonstr_stop_bits16(__m128i x)
{
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                                    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
}

/* A bit per byte of x that is a digit, a space or a dash (jsonstr_card_byte, 16 at once). */
static inline uint32_t jsonstr_card_bits16(__m128i x)
{
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));

    return (uint32_t)_mm_movemask_epi8(
        _mm_or_si128(digit, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')),
                                         _mm_cmpeq_epi8(x, _mm_set1_epi8('-')))));
}
#endif

/*
 * The first '"' or '\\' at or after p, or end, for a reader of text already
 * validated. 16 bytes at a time with SSE2; the tail (fewer than 16 bytes
 * before end) one by one.
 */
static inline const char *jsonstr_find_stop(const char *p, const char *end)
{
#ifdef JSONSTR_SSE2
    while (end - p >= 16) {
        unsigned stop = jsonstr_stop_bits16(_mm_loadu_si128((const __m128i *)(const void *)p));

        if (stop != 0)
            return p + __builtin_ctz(stop);
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* 1 when c follows a backslash as one of JSON's one-letter escapes (not 'u'). */
static inline int jsonstr_escape_letter(char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return 1;
    default:
        return 0;
    }
}

/* 1 when byte c is a digit, a space or a dash: what a card-like run is made of. */
static inline unsigned jsonstr_card_byte(char c)
{
    return (unsigned char)(c - '0') < 10 || c == ' ' || c == '-';
}

/* The bits that start 13 set bits in a row in m. */
static inline uint32_t jsonstr_run13(uint32_t m)
{
    m &= m >> 1;
    m &= m >> 2;
    m &= m >> 4;
    return m & m >> 5;
}

/* Where a look for card-like runs must start, once the block at i holds 13 card bytes in a row. */
static inline const char *jsonstr_card_from(const char *p, size_t i)
{
    size_t from = i >= 16 ? i - 16 : 0;

    while (from > 0 && jsonstr_card_byte(p[from - 1]))
        from--;
    return p + from;
}

/*
 * Where a card-like run of 13 digits (scrub.c) could be in p[0..len), or
 * NULL when nowhere: such a run needs 13 digits, spaces or dashes in a
 * row. A cheap and exact filter before the byte-by-byte look, which then
 * starts at the returned byte (no run can end before it, and none goes on
 * through the byte before it). 16 bytes give a 16-bit mask, joined to the
 * previous block's so that runs across blocks count (13 fit in any two
 * neighbours). The blocks may read up to limit (the string's end is not
 * the text's end); bits past len are cleared.
 */
static inline const char *jsonstr_card_window(const char *p, size_t len, const char *limit)
{
    uint32_t prev = 0, cur;
    size_t i = 0;

#ifdef JSONSTR_SSE2
    for (; i < len && limit - (p + i) >= 16; i += 16) {
        cur = jsonstr_card_bits16(_mm_loadu_si128((const __m128i *)(const void *)(p + i)));
        if (len - i < 16)
            cur &= (UINT32_C(1) << (len - i)) - 1;
        if (jsonstr_run13(prev | cur << 16) != 0)
            return jsonstr_card_from(p, i);
        prev = cur;
    }
#endif
    /* The bytes left (fewer than 16: limit is past len), one bit each. */
    if (i < len) {
        cur = 0;
        for (size_t k = 0; i + k < len; k++)
            cur |= (uint32_t)jsonstr_card_byte(p[i + k]) << k;
        if (jsonstr_run13(prev | cur << 16) != 0)
            return jsonstr_card_from(p, i);
    }
    return NULL;
}

#endif
