/* sink.c - stderr, syslog, file or callback. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "client/sink.h"
#include "core/banned.h"

int bc_sink_open(struct bc_sink *s, const struct bilor_options *o)
{
    s->kind = o->sink;
    s->fd = -1;
    s->fn = o->sink_fn;
    s->ud = o->sink_ud;
    switch (o->sink) {
    case BILOR_SINK_NONE:
    case BILOR_SINK_STDERR:
    case BILOR_SINK_SYSLOG:
        return 0;
    case BILOR_SINK_CALLBACK:
        return o->sink_fn != NULL ? 0 : BILOR_EINVAL;
    case BILOR_SINK_FILE:
        if (o->sink_path == NULL || o->sink_path[0] == '\0')
            return BILOR_EINVAL;
        s->fd = open(o->sink_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        return s->fd >= 0 ? 0 : BILOR_EIO;
    }
    return BILOR_EINVAL;
}

void bc_sink_close(struct bc_sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* The record and a newline in one write, so lines of several writers stay whole. */
static int write_line(int fd, const char *json, size_t len)
{
    struct iovec iov[2] = { { (void *)(uintptr_t)json, len }, { (void *)(uintptr_t) "\n", 1 } };
    ssize_t n;

    do {
        n = writev(fd, iov, 2);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len + 1;
}

static int syslog_prio(int level)
{
    static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT };

    return level >= 0 && level <= BILOR_FATAL ? prio[level] : LOG_ERR;
}

int bc_sink_write(struct bc_sink *s, int level, const char *json, size_t len)
{
    switch (s->kind) {
    case BILOR_SINK_NONE:
        return 0;
    case BILOR_SINK_STDERR:
        return write_line(STDERR_FILENO, json, len);
    case BILOR_SINK_FILE:
        return write_line(s->fd, json, len);
    case BILOR_SINK_SYSLOG:
        syslog(LOG_USER | syslog_prio(level), "%.*s", (int)(len > 65536 ? 65536 : len), json);
        return 1;
    case BILOR_SINK_CALLBACK:
        s->fn(s->ud, json, len);
        return 1;
    }
    return 0;
}
