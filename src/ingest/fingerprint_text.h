/*
 * fingerprint_text.h - the byte classes and small scanners the grouping's
 * text rules share (fingerprint.c, fingerprint_param.c, fingerprint_date.c).
 */
#ifndef BL_FINGERPRINT_TEXT_H
#define BL_FINGERPRINT_TEXT_H

#include <stddef.h>

/*
 * The C locale's character classes (the server never calls setlocale), as
 * compares: <ctype.h>'s are a call and a table load per byte, and every
 * byte of every message is classified several times.
 */
static inline int c_digit(int c)
{
    return (unsigned)c - '0' < 10u;
}

static inline int c_alpha(int c)
{
    return ((unsigned)c | 0x20u) - 'a' < 26u;
}

static inline int c_alnum(int c)
{
    return c_digit(c) || c_alpha(c);
}

static inline int c_xdigit(int c)
{
    return c_digit(c) || ((unsigned)c | 0x20u) - 'a' < 6u;
}

static inline int c_upper(int c)
{
    return (unsigned)c - 'A' < 26u;
}

static inline int c_space(int c)
{
    return c == ' ' || (unsigned)c - '\t' < 5u; /* \t \n \v \f \r */
}

/* Bytes of non-ASCII text count as word characters: no token starts inside a word. */
static inline int is_word(const char *s, size_t len, size_t i)
{
    unsigned char c;

    if (i >= len)
        return 0;
    c = (unsigned char)s[i];
    return c_alnum(c) || c == '_' || c >= 0x80;
}

static inline int is_hex(const char *s, size_t len, size_t i)
{
    return i < len && c_xdigit((unsigned char)s[i]);
}

static inline int is_digit(const char *s, size_t len, size_t i)
{
    return i < len && c_digit((unsigned char)s[i]);
}

static inline size_t run_of(const char *s, size_t len, size_t i,
                            int (*pred)(const char *, size_t, size_t))
{
    size_t j = i;

    while (pred(s, len, j))
        j++;
    return j - i;
}

/* Exactly n digits at i, as a number; -1 otherwise. */
static inline int digits_n(const char *s, size_t len, size_t i, size_t n)
{
    int v = 0;

    for (size_t k = 0; k < n; k++) {
        if (!is_digit(s, len, i + k))
            return -1;
        v = v * 10 + (s[i + k] - '0');
    }
    return v;
}

static inline int c_lower(int c)
{
    return c_upper(c) ? c + ('a' - 'A') : c;
}

/*
 * fn cleaned into out (cap bytes, NUL-terminated) for a frame component
 * (fingerprint_func.c); its length, 0 for an anonymous JavaScript function.
 */
size_t fp_clean_function(const char *fn, int js, int js_names, char *out, size_t cap);

#endif
