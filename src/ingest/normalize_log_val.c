/*
 * normalize_log_val.c - the values the text reader of JSON lines
 * (normalize_log_scan.c) decodes off its hot path: strings with escapes,
 * as cJSON decodes them through core/json.c, and level words.
 */
#include <stdint.h>
#include <string.h>

#include "ingest/normalize_int.h"
#include "core/event.h"
#include "core/banned.h"

static unsigned hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (unsigned)((c | 0x20) - 'a' + 10);
    return 0;
}

static unsigned hex4(const char *p)
{
    return hex_digit(p[0]) << 12 | hex_digit(p[1]) << 8 | hex_digit(p[2]) << 4 | hex_digit(p[3]);
}

static size_t put_utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * The string whose raw content (between the quotes) is p[0..len), decoded
 * into pool and NUL-terminated; *n gets its length. Every escape is at
 * least as long as what it decodes to, so len + 1 bytes hold it.
 */
const char *nz_log_unescape(struct pool *pool, const char *p, size_t len, size_t *n)
{
    char *out = pool_alloc(pool, len + 1);
    size_t o = 0;

    for (size_t i = 0; i < len;) {
        unsigned cp;

        if (p[i] != '\\' || i + 1 >= len) {
            out[o++] = p[i++];
            continue;
        }
        if (p[i + 1] != 'u' || i + 6 > len) {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *f = memchr(from, p[i + 1], sizeof(from) - 1);

            out[o++] = f != NULL ? to[f - from] : p[i + 1];
            i += 2;
            continue;
        }
        cp = hex4(p + i + 2);
        i += 6;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= len && p[i] == '\\' && p[i + 1] == 'u') {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + i + 2) - 0xdc00);
            i += 6;
        }
        /* core/json.c: a NUL cannot be carried in a C string; it reads as U+FFFD. */
        o += put_utf8(cp == 0 ? 0xfffd : cp, out + o);
    }
    out[o] = '\0';
    *n = o;
    return out;
}

/*
 * ev_level_parse for a level text of up to 8 bytes, remembered per decode
 * thread: a log stream names a handful of levels over and over, and each
 * line asked the word table again (a call, a strncasecmp). The text is
 * held whole (zero-padded in a word, with its length), so an answer is
 * only ever reused for the very same bytes.
 */
#define LEVEL_CACHE 8

struct level_memo {
    uint64_t word;
    unsigned char len; /* 0: empty slot */
    signed char rc;    /* ev_level_parse's answer: 0 or -1 */
    signed char level;
};

static _Thread_local struct level_memo level_memo[LEVEL_CACHE];

int nz_log_level(const char *p, size_t len, int *level)
{
    struct level_memo *m;
    uint64_t w = 0;
    int rc;

    if (len == 0 || len > 8)
        return ev_level_parse(p, len, level);
    memcpy(&w, p, len);
    m = &level_memo[(len + (unsigned char)p[0]) % LEVEL_CACHE];
    if (m->len == len && m->word == w) {
        if (m->rc == 0)
            *level = m->level;
        return m->rc;
    }
    rc = ev_level_parse(p, len, level);
    m->word = w;
    m->len = (unsigned char)len;
    m->rc = (signed char)rc;
    m->level = (signed char)(rc == 0 ? *level : 0);
    return rc;
}
