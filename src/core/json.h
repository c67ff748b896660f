/*
 * json.h - the thin helper around cJSON that the rest of Bilor uses.
 *
 * Parsing always goes through json_parse(), which enforces a size and a
 * nesting limit before cJSON sees the bytes, so untrusted input can neither
 * recurse deeply nor be unbounded. Getters borrow: the returned pointers
 * live as long as the cJSON tree.
 */
#ifndef BL_JSON_H
#define BL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"

struct json_limits {
    size_t max_bytes;
    int max_depth;
};

#define JSON_LIMITS_DEFAULT ((struct json_limits){ 1024 * 1024, 64 })

/*
 * Parses exactly len bytes (trailing whitespace allowed, anything else is an
 * error). Returns a tree the caller frees with cJSON_Delete(), or NULL with
 * err set (BL_ETOOBIG, BL_EPARSE).
 */
cJSON *json_parse(const char *p, size_t len, const struct json_limits *lim, struct bl_err *err);
/*
 * The same through the prescan and cJSON's own parser only. json_parse
 * builds the tree of strict JSON in one pass of its own and leaves the rest
 * (cJSON's leniencies, every error) to this; tests hold the two to the same
 * trees.
 */
cJSON *json_parse_slow(const char *p, size_t len, const struct json_limits *lim,
                       struct bl_err *err);

/* Borrowed string value of obj[key], NULL when absent or not a string. */
const char *json_str(const cJSON *obj, const char *key);
/* obj[key] as a number; returns 0 and sets *out, or -1 when absent/not a number. */
int json_num(const cJSON *obj, const char *key, double *out);
/* obj[key] when it is an object (or array for json_arr), else NULL. */
cJSON *json_obj(const cJSON *obj, const char *key);
cJSON *json_arr(const cJSON *obj, const char *key);

/* Adds key: s when s is not NULL (cJSON copies s). */
void json_add_str(cJSON *obj, const char *key, const char *s);

/* Compact text of v appended to out. */
int json_print_to(const cJSON *v, struct buf *out);

/* Routes cJSON's allocations through xmalloc (call once at start-up). */
void json_global_init(void);

/*
 * Until json_pool_end(), cJSON allocations made by this thread come from
 * pool and cJSON frees are no-ops; the caller resets the pool afterwards.
 * This removes malloc/free per JSON node from the digest (a fifth of its
 * time on Sentry events). The rule: every tree built inside the window is
 * deleted inside it, nothing built outside is deleted inside, and the pool
 * is reset only outside a window (json.c cuts blocks of it).
 */
void json_pool_begin(struct pool *pool);
void json_pool_end(void);

/*
 * cJSON_Delete(v), but inside a json_pool window, where every free is a
 * no-op, the walk over the tree is skipped: the pool is reset as a whole.
 * (Profiled: the walk was 7% of the digest's decode of a 9 KB event.)
 */
void json_delete(cJSON *v);

#endif
