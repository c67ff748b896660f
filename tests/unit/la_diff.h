/*
 * la_diff.h - la_service (store/logattr.h) against cJSON with the search
 * document's rule (api_search_doc.c: the first top-level member named
 * "service" in any case; a string is its value), shared by test_logattr
 * and fuzz_logattr. Returns 0 when they agree: LA_OTHER agrees with
 * anything, LA_NONE with no such member (or a payload cJSON refuses),
 * LA_VALUE with the very string.
 */
#ifndef BL_LA_DIFF_H
#define BL_LA_DIFF_H

#include <cjson/cJSON.h>
#include <string.h>
#include <strings.h>

#include "store/logattr.h"

static int la_diff(const char *json, size_t len)
{
    const char *v;
    size_t n;
    int r = la_service(json, len, &v, &n), bad = 0;
    cJSON *obj, *it, *found = NULL;

    if (r == LA_OTHER)
        return 0;
    obj = cJSON_ParseWithLength(json, len);
    if (obj == NULL || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return 0; /* a payload the document cannot read: never one the store writes */
    }
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string != NULL && strcasecmp(it->string, "service") == 0) {
            found = it;
            break;
        }
    }
    if (r == LA_NONE)
        bad = found != NULL;
    else
        bad = found == NULL || !cJSON_IsString(found) || strlen(found->valuestring) != n ||
              memcmp(found->valuestring, v, n) != 0;
    cJSON_Delete(obj);
    return bad;
}

#endif
