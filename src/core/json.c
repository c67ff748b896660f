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

cJSON *json_parse(const char *p, size_t len, const struct json_limits *lim, struct bl_err *err)
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

static void *json_malloc(size_t n)
{
    return json_pool != NULL ? pool_alloc(json_pool, n) : xmalloc(n);
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
}

void json_pool_begin(struct pool *pool)
{
    json_pool = pool;
}

void json_pool_end(void)
{
    json_pool = NULL;
}

void json_delete(cJSON *v)
{
    if (json_pool == NULL)
        cJSON_Delete(v);
}
