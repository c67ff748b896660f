#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "core/banned.h"

/*
 * cJSON recurses once per nesting level, so the depth is measured in one
 * cheap pass first; strings are skipped so brackets inside them do not
 * count.
 */
static int json_depth_ok(const char *p, size_t len, int max_depth)
{
    int depth = 0;
    int in_str = 0;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

cJSON *json_parse(const char *p, size_t len, const struct json_limits *lim, struct bl_err *err)
{
    const char *end = NULL;
    cJSON *v;

    if (len > lim->max_bytes) {
        bl_err_set(err, BL_ETOOBIG, "JSON document of %zu bytes exceeds %zu", len, lim->max_bytes);
        return NULL;
    }
    if (!json_depth_ok(p, len, lim->max_depth)) {
        bl_err_set(err, BL_EPARSE, "JSON nested deeper than %d levels", lim->max_depth);
        return NULL;
    }
    v = cJSON_ParseWithLengthOpts(p, len, &end, 0);
    if (v == NULL) {
        size_t at = end != NULL && end >= p ? (size_t)(end - p) : 0;
        const char *ep = cJSON_GetErrorPtr();

        if (ep != NULL && ep >= p && ep <= p + len)
            at = (size_t)(ep - p);
        bl_err_set(err, BL_EPARSE, "invalid JSON at byte %zu", at);
        return NULL;
    }
    while (end != NULL && end < p + len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (end != NULL && end < p + len) {
        bl_err_set(err, BL_EPARSE, "unexpected data after JSON at byte %zu", (size_t)(end - p));
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
