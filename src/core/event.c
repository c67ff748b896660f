#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/event.h"
#include "core/banned.h"

static const char *const level_names[EV__NLEVELS] = {
    "trace", "debug", "info", "warning", "error", "fatal",
};

static const struct {
    const char *name;
    int level;
} level_aliases[] = {
    { "trace", EV_TRACE },     { "debug", EV_DEBUG },   { "info", EV_INFO },
    { "information", EV_INFO }, { "notice", EV_INFO },  { "log", EV_INFO },
    { "warning", EV_WARNING }, { "warn", EV_WARNING },  { "error", EV_ERROR },
    { "err", EV_ERROR },       { "fatal", EV_FATAL },   { "critical", EV_FATAL },
    { "crit", EV_FATAL },      { "alert", EV_FATAL },   { "emerg", EV_FATAL },
    { "emergency", EV_FATAL }, { "panic", EV_FATAL },   { "verbose", EV_TRACE },
};

const char *ev_level_name(int level)
{
    if (level < 0 || level >= EV__NLEVELS)
        return "error";
    return level_names[level];
}

int ev_level_from_python(double n)
{
    if (n >= 50)
        return EV_FATAL;
    if (n >= 40)
        return EV_ERROR;
    if (n >= 30)
        return EV_WARNING;
    if (n >= 20)
        return EV_INFO;
    if (n >= 10)
        return EV_DEBUG;
    return EV_TRACE;
}

int ev_level_parse(const char *s, size_t len, int *level)
{
    char tmp[16];
    char *end;
    long n;

    for (size_t i = 0; i < sizeof(level_aliases) / sizeof(level_aliases[0]); i++) {
        size_t k = strlen(level_aliases[i].name);

        if (k == len && strncasecmp(s, level_aliases[i].name, k) == 0) {
            *level = level_aliases[i].level;
            return 0;
        }
    }
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    n = strtol(tmp, &end, 10);
    if (*end != '\0' || n < 0)
        return -1;
    *level = ev_level_from_python((double)n);
    return 0;
}
