/*
 * json.c - JSON writer (escaping, UTF-8 repair) and a small checker for the
 * raw JSON a caller attaches as extra data.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "client/json.h"
#include "core/banned.h"

static const char hex[] = "0123456789abcdef";

size_t bc_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    /* The second byte's range rules out overlongs, surrogates and > U+10FFFF. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

static void json_escape(struct bc_buf *b, unsigned char c)
{
    char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

    switch (c) {
    case '"':
        bc_buf_add(b, "\\\"", 2);
        break;
    case '\\':
        bc_buf_add(b, "\\\\", 2);
        break;
    case '\n':
        bc_buf_add(b, "\\n", 2);
        break;
    case '\r':
        bc_buf_add(b, "\\r", 2);
        break;
    case '\t':
        bc_buf_add(b, "\\t", 2);
        break;
    default:
        bc_buf_add(b, esc, sizeof(esc));
        break;
    }
}

int bc_json_str_cut(struct bc_buf *b, const char *s, size_t n, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0, used = 0;

    bc_buf_addc(b, '"');
    while (i < n) {
        size_t k = bc_utf8_seq(u + i, n - i);
        size_t cost = k == 0 ? 3 : k;

        if (used + cost > max)
            break;
        used += cost;
        if (k == 1 && u[i] >= 0x20 && u[i] != '"' && u[i] != '\\' && u[i] != 0x7f) {
            run++;
            i++;
            continue;
        }
        bc_buf_add(b, s + i - run, run);
        run = 0;
        if (k == 0)
            bc_buf_add(b, "\xef\xbf\xbd", 3);
        else if (k == 1)
            json_escape(b, u[i]);
        else
            bc_buf_add(b, s + i, k);
        i += k == 0 ? 1 : k;
    }
    bc_buf_add(b, s + i - run, run);
    return bc_buf_addc(b, '"');
}

int bc_json_str(struct bc_buf *b, const char *s, size_t n)
{
    return bc_json_str_cut(b, s, n, (size_t)-1);
}

int bc_json_strz(struct bc_buf *b, const char *s)
{
    if (s == NULL)
        return bc_buf_add(b, "null", 4);
    return bc_json_str(b, s, strlen(s));
}

int bc_json_key(struct bc_buf *b, int *count, const char *key)
{
    if (*count > 0)
        bc_buf_addc(b, ',');
    (*count)++;
    bc_json_strz(b, key);
    return bc_buf_addc(b, ':');
}

int bc_json_double(struct bc_buf *b, double v)
{
    if (!isfinite(v))
        return bc_buf_add(b, "null", 4);
    return bc_buf_addf(b, "%.17g", v);
}

/* ---- checker: recursive descent over one JSON text ---- */

struct jc {
    const unsigned char *s;
    size_t n, i;
    struct bc_buf *out;
};

static int jc_value(struct jc *j, int depth);

static void jc_ws(struct jc *j)
{
    while (j->i < j->n &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static void jc_emit(struct jc *j, size_t from)
{
    if (j->out != NULL)
        bc_buf_add(j->out, j->s + from, j->i - from);
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int jc_escape(struct jc *j)
{
    unsigned char c;

    if (j->i >= j->n)
        return BILOR_EINVAL;
    c = j->s[j->i++];
    if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
        return 0;
    if (c != 'u' || j->n - j->i < 4)
        return BILOR_EINVAL;
    for (int k = 0; k < 4; k++)
        if (!is_hex(j->s[j->i++]))
            return BILOR_EINVAL;
    return 0;
}

static int jc_string(struct jc *j)
{
    size_t from = j->i++;

    while (j->i < j->n) {
        unsigned char c = j->s[j->i];
        size_t k;

        if (c == '"') {
            j->i++;
            jc_emit(j, from);
            return 0;
        }
        if (c < 0x20)
            return BILOR_EINVAL;
        if (c == '\\') {
            j->i++;
            if (jc_escape(j) != 0)
                return BILOR_EINVAL;
            continue;
        }
        k = bc_utf8_seq(j->s + j->i, j->n - j->i);
        if (k == 0)
            return BILOR_EINVAL;
        j->i += k;
    }
    return BILOR_EINVAL;
}

static size_t jc_digits(struct jc *j)
{
    size_t from = j->i;

    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
        j->i++;
    return j->i - from;
}

static int jc_number(struct jc *j)
{
    size_t from = j->i, d;

    if (j->s[j->i] == '-')
        j->i++;
    if (j->i < j->n && j->s[j->i] == '0')
        j->i++;
    else if (jc_digits(j) == 0)
        return BILOR_EINVAL;
    if (j->i < j->n && j->s[j->i] == '.') {
        j->i++;
        if (jc_digits(j) == 0)
            return BILOR_EINVAL;
    }
    if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
        j->i++;
        if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
            j->i++;
        d = jc_digits(j);
        if (d == 0)
            return BILOR_EINVAL;
    }
    jc_emit(j, from);
    return 0;
}

static int jc_literal(struct jc *j)
{
    static const char *const words[] = { "true", "false", "null" };

    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(words[k]);

        if (j->n - j->i >= len && memcmp(j->s + j->i, words[k], len) == 0) {
            j->i += len;
            jc_emit(j, j->i - len);
            return 0;
        }
    }
    return BILOR_EINVAL;
}

/* Object or array: open is '{' or '['. */
static int jc_container(struct jc *j, int depth)
{
    unsigned char open = j->s[j->i], close = open == '{' ? '}' : ']';

    if (depth >= BC_JSON_MAX_DEPTH)
        return BILOR_EINVAL;
    j->i++;
    jc_emit(j, j->i - 1);
    jc_ws(j);
    if (j->i < j->n && j->s[j->i] == close) {
        j->i++;
        jc_emit(j, j->i - 1);
        return 0;
    }
    for (;;) {
        if (open == '{') {
            jc_ws(j);
            if (j->i >= j->n || j->s[j->i] != '"' || jc_string(j) != 0)
                return BILOR_EINVAL;
            jc_ws(j);
            if (j->i >= j->n || j->s[j->i] != ':')
                return BILOR_EINVAL;
            j->i++;
            jc_emit(j, j->i - 1);
        }
        if (jc_value(j, depth + 1) != 0)
            return BILOR_EINVAL;
        jc_ws(j);
        if (j->i >= j->n)
            return BILOR_EINVAL;
        if (j->s[j->i] != ',' && j->s[j->i] != close)
            return BILOR_EINVAL;
        j->i++;
        jc_emit(j, j->i - 1);
        if (j->s[j->i - 1] == close)
            return 0;
    }
}

static int jc_value(struct jc *j, int depth)
{
    unsigned char c;

    jc_ws(j);
    if (j->i >= j->n)
        return BILOR_EINVAL;
    c = j->s[j->i];
    if (c == '{' || c == '[')
        return jc_container(j, depth);
    if (c == '"')
        return jc_string(j);
    if (c == '-' || (c >= '0' && c <= '9'))
        return jc_number(j);
    return jc_literal(j);
}

int bc_json_check(const char *s, size_t n, struct bc_buf *out)
{
    struct jc j = { (const unsigned char *)s, n, 0, out };
    size_t mark = out != NULL ? out->len : 0;

    if (s == NULL || jc_value(&j, 0) != 0)
        goto bad;
    jc_ws(&j);
    if (j.i != j.n)
        goto bad;
    return out != NULL ? out->err : 0;
bad:
    if (out != NULL && out->err == 0 && out->p != NULL) {
        out->len = mark;
        out->p[mark] = '\0';
    }
    return BILOR_EINVAL;
}
