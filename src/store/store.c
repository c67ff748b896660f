/*
 * store.c - backend-neutral helpers of the storage interface.
 */
#include <string.h>

#include "store/store.h"
#include "core/banned.h"

static const char *const status_names[] = { "unresolved", "resolved", "ignored" };

const char *store_issue_status_name(int status)
{
    if (status == STORE_ISSUE_ANY)
        return "all";
    if (status < 0 || (size_t)status >= sizeof(status_names) / sizeof(status_names[0]))
        return "unknown";
    return status_names[status];
}

int store_issue_status_parse(const char *s, int *status)
{
    size_t i;

    if (s == NULL)
        return BL_EINVAL;
    for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *status = (int)i;
            return 0;
        }
    }
    if (strcmp(s, "all") == 0) {
        *status = STORE_ISSUE_ANY;
        return 0;
    }
    return BL_EINVAL;
}
