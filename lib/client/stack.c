/* stack.c - raw stack capture with backtrace(3). */
#include <execinfo.h>
#include <string.h>

#include "client/stack.h"
#include "core/banned.h"

size_t bc_stack_capture(void **out, size_t max, const void *from)
{
    void *tmp[BC_STACK_MAX + 16];
    int n = backtrace(tmp, (int)(sizeof(tmp) / sizeof(tmp[0])));
    size_t start = 1, count;

    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++) {
        if (tmp[i] == from) {
            start = (size_t)i;
            break;
        }
    }
    if (start >= (size_t)n)
        return 0;
    count = (size_t)n - start;
    if (count > max)
        count = max;
    memcpy(out, tmp + start, count * sizeof(void *));
    return count;
}

void bc_stack_warmup(void)
{
    void *tmp[4];

    (void)backtrace(tmp, 4);
}
