/*
 * test_client_sink.c - the fallback sinks: a file gets one JSON line per
 * record, BILOR_SINK_STDERR writes to file descriptor 2 only because it
 * was asked to, syslog takes records without complaint, and bad sink
 * settings are refused by bilor_new().
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bilor/bilor.h"
#include "core/hash.h"
#include "core/json.h"

#include "t.h"

static int count_lines(const char *path, const char *needle)
{
    char buf[1 << 16];
    int fd = open(path, O_RDONLY), n = 0;
    ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    if (fd >= 0)
        close(fd);
    if (len <= 0)
        return 0;
    buf[len] = '\0';
    for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return strstr(buf, needle) != NULL ? n : -n;
}

static void send_two(enum bilor_sink kind, const char *path)
{
    struct bilor_options o;
    struct bilor *c = NULL;

    bilor_options_init(&o);
    o.sink = kind;
    o.sink_path = path;
    CHECK_INT_EQ(bilor_new(&c, &o), 0);
    if (c == NULL)
        return;
    bilor_log(c, BILOR_WARNING, "sink", "first record %d", 1);
    bilor_log(c, BILOR_ERROR, "sink", "second\nrecord");
    CHECK_INT_EQ(bilor_flush(c, 5000), 0);
    bilor_free(c);
}

int main(void)
{
    char dir[] = "/tmp/bilor-sink-test-XXXXXX";
    char file[128], err[128];
    struct bilor_options o;
    struct bilor *c = NULL;
    int saved, fd;

    hash_global_init();
    json_global_init();
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(file, sizeof(file), "%s/sink.jsonl", dir);
    snprintf(err, sizeof(err), "%s/stderr.txt", dir);

    send_two(BILOR_SINK_FILE, file);
    CHECK_INT_EQ(count_lines(file, "\"formatted\":\"second\\nrecord\""), 2);

    /* stderr, captured: exactly the two records and nothing else. */
    fflush(stderr);
    saved = dup(2);
    fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    send_two(BILOR_SINK_STDERR, NULL);
    send_two(BILOR_SINK_NONE, NULL);
    dup2(saved, 2);
    close(saved);
    CHECK_INT_EQ(count_lines(err, "first record 1"), 2);

    send_two(BILOR_SINK_SYSLOG, NULL);

    bilor_options_init(&o);
    o.sink = BILOR_SINK_FILE;
    CHECK_INT_EQ(bilor_new(&c, &o), BILOR_EINVAL); /* no path */
    o.sink_path = "/nonexistent-dir/x.jsonl";
    CHECK_INT_EQ(bilor_new(&c, &o), BILOR_EIO);
    o.sink = BILOR_SINK_CALLBACK;
    CHECK_INT_EQ(bilor_new(&c, &o), BILOR_EINVAL); /* no callback */
    bilor_options_init(&o);
    o.queue_size = 0;
    CHECK_INT_EQ(bilor_new(&c, &o), BILOR_EINVAL);
    bilor_options_init(&o);
    o.dsn = "http://bad-key@h/1";
    CHECK_INT_EQ(bilor_new(&c, &o), BILOR_EINVAL);
    CHECK(c == NULL);
    CHECK_INT_EQ(bilor_new(NULL, &o), BILOR_EINVAL);

    unlink(file);
    unlink(err);
    rmdir(dir);
    return t_done();
}
