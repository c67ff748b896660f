/*
 * bench_http.c - HTTP/1.1 response framing for the generator.
 */
#include <string.h>
#include <strings.h>

#include "bench_http.h"
#include "core/banned.h"

#define NO_LENGTH ((size_t)-1)

/* Offset just past the first "\r\n\r\n", or 0 when there is none yet. */
static size_t find_header_end(const char *p, size_t len)
{
    size_t i;

    for (i = 0; i + 3 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return i + 4;
    return 0;
}

static int starts_i(const char *p, size_t len, const char *lit)
{
    size_t n = strlen(lit);

    return len >= n && strncasecmp(p, lit, n) == 0;
}

/* Does the header value p[0..len) contain word (case-insensitive)? */
static int value_has(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word), i;

    for (i = 0; i + n <= len; i++)
        if (strncasecmp(p + i, word, n) == 0)
            return 1;
    return 0;
}

static int parse_size(const char *p, size_t len, int base, size_t *out)
{
    size_t v = 0, i = 0, digits = 0;

    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    for (; i < len; i++, digits++) {
        int d;

        if (p[i] >= '0' && p[i] <= '9')
            d = p[i] - '0';
        else if (base == 16 && p[i] >= 'a' && p[i] <= 'f')
            d = p[i] - 'a' + 10;
        else if (base == 16 && p[i] >= 'A' && p[i] <= 'F')
            d = p[i] - 'A' + 10;
        else
            break;
        if (v > ((size_t)-1 - (size_t)d) / (size_t)base)
            return -1;
        v = v * (size_t)base + (size_t)d;
    }
    if (digits == 0)
        return -1;
    *out = v;
    return 0;
}

/* Walks the header lines after the status line. */
static int parse_headers(const char *p, size_t hlen, size_t *clen, int *chunked, int *close)
{
    size_t i = 0;

    while (i < hlen && p[i] != '\n')
        i++;
    for (i++; i < hlen;) {
        size_t s = i, e;

        while (i < hlen && p[i] != '\n')
            i++;
        e = i > s && p[i - 1] == '\r' ? i - 1 : i;
        i++;
        if (starts_i(p + s, e - s, "content-length:")) {
            if (parse_size(p + s + 15, e - s - 15, 10, clen) < 0)
                return -1;
        } else if (starts_i(p + s, e - s, "transfer-encoding:")) {
            *chunked = value_has(p + s + 18, e - s - 18, "chunked");
        } else if (starts_i(p + s, e - s, "connection:")) {
            *close = value_has(p + s + 11, e - s - 11, "close");
        }
    }
    return 0;
}

/* Length of a complete chunked body at p, 0 if incomplete, -1 if malformed. */
static long long chunked_len(const char *p, size_t len)
{
    size_t i = 0, sz, e;

    for (;;) {
        for (e = i; e + 1 < len && !(p[e] == '\r' && p[e + 1] == '\n'); e++)
            ;
        if (e + 1 >= len)
            return 0;
        if (parse_size(p + i, e - i, 16, &sz) < 0)
            return -1;
        i = e + 2;
        if (sz == 0)
            break;
        if (sz > len || i + sz + 2 > len)
            return 0;
        if (p[i + sz] != '\r' || p[i + sz + 1] != '\n')
            return -1;
        i += sz + 2;
    }
    /* Trailer fields, then the empty line. */
    for (;;) {
        for (e = i; e + 1 < len && !(p[e] == '\r' && p[e + 1] == '\n'); e++)
            ;
        if (e + 1 >= len)
            return 0;
        if (e == i)
            return (long long)(e + 2);
        i = e + 2;
    }
}

int http_parse_response(const char *p, size_t len, int eof, struct http_resp *r)
{
    size_t hlen = find_header_end(p, len), clen = NO_LENGTH;
    int chunked = 0;

    memset(r, 0, sizeof(*r));
    if (hlen == 0)
        return len > 65536 ? -1 : 0;
    if (hlen < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
        return -1;
    if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
        return -1;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    r->close = p[7] == '0';
    r->header_len = hlen;
    if (parse_headers(p, hlen, &clen, &chunked, &r->close) < 0)
        return -1;
    if (r->status == 204 || r->status == 304 || r->status / 100 == 1) {
        r->total = hlen;
    } else if (chunked) {
        long long n = chunked_len(p + hlen, len - hlen);

        if (n <= 0)
            return (int)n;
        r->total = hlen + (size_t)n;
    } else if (clen != NO_LENGTH) {
        if (len - hlen < clen)
            return 0;
        r->total = hlen + clen;
    } else {
        if (!eof)
            return 0;
        r->total = len;
        r->close = 1;
    }
    return 1;
}
