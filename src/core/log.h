/*
 * log.h - the server's own log: one line per event, key=value fields.
 *
 * The macros test the level before formatting, so a disabled debug line
 * costs one comparison. Messages are lower-case without a full stop, with
 * the subject in quotes: log_warn("cannot open '%s': %s", path, why).
 * Thread-safe (one write(2) per line).
 */
#ifndef BL_LOG_H
#define BL_LOG_H

enum bl_log_level { BL_LOG_DEBUG = 0, BL_LOG_INFO, BL_LOG_WARN, BL_LOG_ERROR, BL_LOG_OFF };

extern int bl_log_min;

void log_set_level(int level);
/* Parses "debug", "info", "warn", "error", "off"; -1 when unknown. */
int log_level_parse(const char *name);
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One call site's rate limit, for errors that repeat while a condition lasts
 * (a full disk, a failing store): the first line is written, then at most one
 * per interval, and the line that passes says how many were suppressed. A
 * flood of identical lines would hide the first cause and fill the disk that
 * is already full.
 */
struct log_limit {
    _Atomic long long next_us; /* CLOCK_MONOTONIC µs before which lines are suppressed */
    _Atomic unsigned long long suppressed;
};

void log_limited(struct log_limit *ll, long long interval_us, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* log_error at most once per `secs` seconds from this call site. */
#define log_error_every(secs, ...)                                                                 \
    do {                                                                                           \
        static struct log_limit ll_;                                                               \
        if (bl_log_min <= BL_LOG_ERROR)                                                            \
            log_limited(&ll_, (long long)(secs)*1000000LL, BL_LOG_ERROR, __VA_ARGS__);             \
    } while (0)

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (bl_log_min <= BL_LOG_DEBUG)                                                            \
            log_write(BL_LOG_DEBUG, __VA_ARGS__);                                                  \
    } while (0)
#define log_info(...)                                                                              \
    do {                                                                                           \
        if (bl_log_min <= BL_LOG_INFO)                                                             \
            log_write(BL_LOG_INFO, __VA_ARGS__);                                                   \
    } while (0)
#define log_warn(...)                                                                              \
    do {                                                                                           \
        if (bl_log_min <= BL_LOG_WARN)                                                             \
            log_write(BL_LOG_WARN, __VA_ARGS__);                                                   \
    } while (0)
#define log_error(...)                                                                             \
    do {                                                                                           \
        if (bl_log_min <= BL_LOG_ERROR)                                                            \
            log_write(BL_LOG_ERROR, __VA_ARGS__);                                                  \
    } while (0)

#endif
