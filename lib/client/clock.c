/* clock.c - clock_gettime wrappers and RFC 3339 formatting. */
#include <stdio.h>
#include <time.h>

#include "client/clock.h"
#include "core/banned.h"

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t bc_clock_real_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

int64_t bc_clock_mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

void bc_clock_rfc3339(int64_t us, char *out, size_t cap)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;

    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, cap, "1970-01-01T00:00:00.000000Z");
        return;
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}
