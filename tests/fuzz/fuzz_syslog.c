/*
 * fuzz_syslog.c - syslog_parse on arbitrary bytes, and the TCP framer on the
 * same bytes fed in two pieces. Checks that every slice the parser returns
 * lies inside the input (or the pool, for unescaped values) and that the
 * framer never consumes more than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "ingest/syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct slice s, const char *p, size_t len)
{
    if (s.len > 0 && (s.p < p || s.p + s.len > p + len))
        abort();
}

static void frame_all(const char *p, size_t len, size_t split)
{
    struct syslog_framer f;
    size_t off = 0, avail = split < len ? split : len;

    syslog_framer_init(&f, 64);
    while (off < len) {
        struct slice msg;
        size_t used = 0;
        int rc = syslog_frame(&f, p + off, avail - off, &msg, &used);

        if (used > avail - off)
            abort();
        if (rc == 1 && (msg.p < p + off || msg.p + msg.len > p + avail || msg.len > 64))
            abort();
        off += used;
        if (rc < 0)
            return;
        if (rc == 0 && used == 0) {
            if (avail == len)
                return;
            avail = len;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pool pool = POOL_INIT(4096);
    struct syslog_msg m;
    const char *p = (const char *)data;

    syslog_parse(p, size, INT64_C(1714564830000000), &pool, &m);
    inside(m.host, p, size);
    inside(m.app, p, size);
    inside(m.procid, p, size);
    inside(m.msgid, p, size);
    inside(m.msg, p, size);
    for (size_t i = 0; i < m.nparams; i++) {
        inside(m.params[i].sd_id, p, size);
        inside(m.params[i].name, p, size);
    }
    frame_all(p, size, size / 2);
    pool_release(&pool);
    return 0;
}
