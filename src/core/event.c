/*
 * event.c - level names, and the one table that reads a client's level.
 *
 * DESIGN
 * Clients name a level with a word or a number, and numbers mean different
 * things to different loggers. Every door and normalizer reads levels
 * through ev_level_parse / ev_level_from_number, so the rules below are the
 * only ones:
 *
 *   words   any case; the six names plus the spellings of syslog, Python
 *           logging, log4j and friends (level_words below)
 *   0-7     syslog severities (RFC 5424): emerg, alert, crit -> fatal;
 *           err -> error; warning; notice, info -> info; debug
 *   8-9     below Python's DEBUG -> trace
 *   10-99   Python logging: DEBUG 10, INFO 20, WARNING 30, ERROR 40,
 *           CRITICAL 50; a custom level counts as the standard one at or
 *           below it (25 -> info), and everything from 50 up is fatal
 *   other   negative, fractional or >= 100: names no level (-1), and the
 *           caller keeps its default
 *
 * A small number could be either scheme. Python's own levels are multiples
 * of ten and custom ones below DEBUG are rare, while syslog only has 0-7,
 * so 0-7 are read as syslog. A number written as text ("3") is read the
 * same way. pino and bunyan count 10 trace .. 60 fatal, one step off
 * Python; docs/api.md tells their users to send level names.
 */
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/event.h"
#include "core/banned.h"

#define LEVEL_NUMBER_END 100 /* numbers from here on name no level */

static const char *const level_names[EV__NLEVELS] = {
    "trace", "debug", "info", "warning", "error", "fatal",
};

static const struct level_word {
    const char *name;
    int level;
} level_words[] = {
    { "trace", EV_TRACE },  { "verbose", EV_TRACE },    { "debug", EV_DEBUG },
    { "info", EV_INFO },    { "information", EV_INFO }, { "informational", EV_INFO },
    { "notice", EV_INFO },  { "log", EV_INFO },         { "warning", EV_WARNING },
    { "warn", EV_WARNING }, { "error", EV_ERROR },      { "err", EV_ERROR },
    { "fatal", EV_FATAL },  { "critical", EV_FATAL },   { "crit", EV_FATAL },
    { "alert", EV_FATAL },  { "emerg", EV_FATAL },      { "emergency", EV_FATAL },
    { "panic", EV_FATAL },
};

/* Ranges of integers, in order, covering 0 .. LEVEL_NUMBER_END - 1. */
static const struct level_number {
    int lo, hi;
    int level;
} level_numbers[] = {
    { 0, 2, EV_FATAL },                     /* syslog emerg, alert, crit */
    { 3, 3, EV_ERROR },                     /* syslog err */
    { 4, 4, EV_WARNING },                   /* syslog warning */
    { 5, 6, EV_INFO },                      /* syslog notice, info */
    { 7, 7, EV_DEBUG },                     /* syslog debug */
    { 8, 9, EV_TRACE },                     /* below Python's DEBUG */
    { 10, 19, EV_DEBUG },                   /* Python DEBUG */
    { 20, 29, EV_INFO },                    /* Python INFO */
    { 30, 39, EV_WARNING },                 /* Python WARNING */
    { 40, 49, EV_ERROR },                   /* Python ERROR */
    { 50, LEVEL_NUMBER_END - 1, EV_FATAL }, /* Python CRITICAL and custom levels above it */
};

#define NWORDS (sizeof(level_words) / sizeof(level_words[0]))
#define NNUMBERS (sizeof(level_numbers) / sizeof(level_numbers[0]))

const char *ev_level_name(int level)
{
    if (level < 0 || level >= EV__NLEVELS)
        return "error";
    return level_names[level];
}

int ev_level_from_number(double n, int *level)
{
    int i;

    /* Also false for NaN. */
    if (!(n >= 0 && n < LEVEL_NUMBER_END))
        return -1;
    i = (int)n;
    if ((double)i != n)
        return -1;
    for (size_t k = 0; k < NNUMBERS; k++) {
        if (i >= level_numbers[k].lo && i <= level_numbers[k].hi) {
            *level = level_numbers[k].level;
            return 0;
        }
    }
    return -1;
}

/* Plain decimal digits only: no sign, no space, no fraction. */
static int number_text(const char *s, size_t len, int *level)
{
    int n = 0;

    if (len == 0 || len > 3)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    return ev_level_from_number(n, level);
}

int ev_level_parse(const char *s, size_t len, int *level)
{
    /* Every log line asks: the first letter (the names are lower case) rules most out. */
    int c0 = len > 0 ? tolower((unsigned char)s[0]) : 0;

    for (size_t i = 0; i < NWORDS; i++) {
        size_t k;

        if (level_words[i].name[0] != c0)
            continue;
        k = strlen(level_words[i].name);
        if (k == len && strncasecmp(s, level_words[i].name, k) == 0) {
            *level = level_words[i].level;
            return 0;
        }
    }
    return number_text(s, len, level);
}
