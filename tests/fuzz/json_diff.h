/*
 * json_diff.h - json_parse (its own one-pass parse of strict JSON) against
 * json_parse_slow (the prescan and cJSON), shared by tests/unit/test_json.c
 * and tests/fuzz/fuzz_json.c: the same tree, node for node (types, keys,
 * strings, both number fields bit for bit, the next and prev links), or
 * the same error.
 */
#ifndef BL_JSON_DIFF_H
#define BL_JSON_DIFF_H

#include <string.h>

#include "core/json.h"

static inline int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Depth-first: every field cJSON's parse sets, and the list links. */
static inline int same_tree(const cJSON *a, const cJSON *b)
{
    const cJSON *ca, *cb, *pa = NULL, *pb = NULL;

    if (a->type != b->type || a->valueint != b->valueint ||
        memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
        !same_str(a->valuestring, b->valuestring) || !same_str(a->string, b->string))
        return 0;
    if ((a->child == NULL) != (b->child == NULL))
        return 0;
    for (ca = a->child, cb = b->child; ca != NULL && cb != NULL; ca = ca->next, cb = cb->next) {
        if (!same_tree(ca, cb))
            return 0;
        /* prev: the element before; the head's is the last element (below) */
        if (pa != NULL && (ca->prev != pa || cb->prev != pb))
            return 0;
        pa = ca;
        pb = cb;
    }
    if (ca != NULL || cb != NULL)
        return 0;
    return a->child == NULL || (a->child->prev == pa && b->child->prev == pb);
}

/* 0 when both parses of p agree, -1 when not; *fast set when json_parse gave a tree. */
static inline int json_diff(const char *p, size_t len, int max_depth, int *fast)
{
    struct json_limits lim = { 1024 * 1024, max_depth };
    struct bl_err e1 = { 0 }, e2 = { 0 };
    cJSON *a = json_parse(p, len, &lim, &e1);
    cJSON *b = json_parse_slow(p, len, &lim, &e2);
    int rc = 0;

    if ((a == NULL) != (b == NULL) || (a != NULL && !same_tree(a, b)) ||
        (a == NULL && (e1.code != e2.code || strcmp(e1.msg, e2.msg) != 0)))
        rc = -1;
    *fast = a != NULL;
    json_delete(a);
    json_delete(b);
    return rc;
}

#endif
