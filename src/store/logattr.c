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
#include <string.h>

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
 * The end of the string opening at p (past its closing quote), or NULL;
 * *plain: no escape and no control byte (cJSON's text is then the bytes).
 */
static const char *string_end(const char *p, const char *end, int *plain)
{
    *plain = 1;
    for (p++; p < end; p++) {
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
 * quote not escaped, found with memchr (most of a line's bytes are in
 * strings, and a byte-by-byte scan was most of this module's time).
 */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end;) {
        const char *q = memchr(p, '"', (size_t)(end - p)), *b;

        if (q == NULL)
            return NULL;
        for (b = q; b > p && b[-1] == '\\';)
            b--;
        if ((q - b) % 2 == 0)
            return q + 1;
        p = q + 1;
    }
    return NULL;
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
