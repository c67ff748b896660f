#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/banned.h"

int bl_log_min = BL_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

void log_set_level(int level)
{
    bl_log_min = level;
}

int log_level_parse(const char *name)
{
    for (int i = 0; i <= BL_LOG_OFF; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void log_vwrite(int level, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int n, m;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level]);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 3)
        n = sizeof(line) - 3;
    line[n++] = '"';
    line[n++] = '\n';
    /* One write per line so concurrent threads never interleave a line. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

void log_write(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

void log_limited(struct log_limit *ll, long long interval_us, int level, const char *fmt, ...)
{
    char msg[1536];
    struct timespec ts;
    long long now, next;
    unsigned long long skipped;
    va_list ap;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
    next = atomic_load(&ll->next_us);
    /* Whoever moves next_us forward writes the line; everyone else counts. */
    if (now < next || !atomic_compare_exchange_strong(&ll->next_us, &next, now + interval_us)) {
        atomic_fetch_add(&ll->suppressed, 1);
        return;
    }
    skipped = atomic_exchange(&ll->suppressed, 0);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (skipped > 0)
        log_write(level, "%s (%llu similar lines suppressed)", msg, skipped);
    else
        log_write(level, "%s", msg);
}

void fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(BL_LOG_ERROR, fmt, ap);
    va_end(ap);
    abort();
}
