/* The API's JSON writer (jw.h). */
#include <string.h>

#include "api/jw.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/banned.h"

void jw_init(struct jw *w, struct buf *b)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->first[0] = 1;
}

int jw_end(const struct jw *w)
{
    if (w->rc != 0)
        return w->rc;
    return w->depth == 0 ? 0 : BL_EINVAL;
}

static void put(struct jw *w, const char *s, size_t n)
{
    if (w->rc == 0)
        w->rc = buf_add(w->b, s, n);
}

/* The comma before every member but the first, then "key": when there is a key. */
static void sep(struct jw *w, const char *key)
{
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = 0;
    if (key != NULL) {
        if (w->rc == 0)
            w->rc = buf_add_json_str(w->b, key, strlen(key));
        put(w, ":", 1);
    }
}

static void open_container(struct jw *w, const char *key, char c)
{
    if (w->depth >= JW_MAX_DEPTH) {
        if (w->rc == 0)
            w->rc = BL_EINVAL;
        return;
    }
    sep(w, key);
    put(w, &c, 1);
    w->depth++;
    w->first[w->depth] = 1;
}

static void close_container(struct jw *w, char c)
{
    if (w->depth == 0) {
        if (w->rc == 0)
            w->rc = BL_EINVAL;
        return;
    }
    put(w, &c, 1);
    w->depth--;
}

void jw_obj(struct jw *w, const char *key)
{
    open_container(w, key, '{');
}

void jw_obj_end(struct jw *w)
{
    close_container(w, '}');
}

void jw_arr(struct jw *w, const char *key)
{
    open_container(w, key, '[');
}

void jw_arr_end(struct jw *w)
{
    close_container(w, ']');
}

void jw_null(struct jw *w, const char *key)
{
    sep(w, key);
    put(w, "null", 4);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
    if (s == NULL) {
        jw_null(w, key);
        return;
    }
    sep(w, key);
    if (w->rc == 0)
        w->rc = buf_add_json_str(w->b, s, strlen(s));
}

void jw_str_opt(struct jw *w, const char *key, const char *s)
{
    if (s != NULL)
        jw_str(w, key, s);
}

void jw_int(struct jw *w, const char *key, int64_t v)
{
    sep(w, key);
    if (w->rc == 0) {
        /* By hand, not buf_addf: listings write several numbers per row. */
        char d[24], *p = d + sizeof(d);
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        if (v < 0)
            *--p = '-';
        put(w, p, (size_t)(d + sizeof(d) - p));
    }
}

void jw_tri(struct jw *w, const char *key, int v)
{
    if (v < 0) {
        jw_null(w, key);
        return;
    }
    sep(w, key);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jw_time(struct jw *w, const char *key, int64_t us)
{
    char t[40];

    if (us == 0) {
        jw_null(w, key);
        return;
    }
    clock_fmt_rfc3339(us, t);
    jw_str(w, key, t);
}

void jw_cjson(struct jw *w, const char *key, const cJSON *v)
{
    if (v == NULL) {
        jw_null(w, key);
        return;
    }
    sep(w, key);
    if (w->rc == 0)
        w->rc = json_print_to(v, w->b);
}

void jw_raw(struct jw *w, const char *key, const char *json, size_t len)
{
    sep(w, key);
    put(w, json, len);
}
