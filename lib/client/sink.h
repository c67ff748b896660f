/*
 * sink.h - the fallback sink: where a record goes when the server cannot
 * take it. One JSON record per line (or per callback / syslog message).
 * Used by one thread at a time (the sender, or bilor_free() after it).
 */
#ifndef BC_SINK_H
#define BC_SINK_H

#include <stddef.h>

#include "bilor/bilor.h"

struct bc_sink {
    enum bilor_sink kind;
    int fd; /* BILOR_SINK_FILE, else -1 */
    bilor_sink_fn fn;
    void *ud;
};

/* From the options; opens the file. 0, BILOR_EINVAL, BILOR_EIO. */
int bc_sink_open(struct bc_sink *s, const struct bilor_options *o);
void bc_sink_close(struct bc_sink *s);
/* Returns 1 when the record went somewhere, 0 when the sink is NONE or failed. */
int bc_sink_write(struct bc_sink *s, int level, const char *json, size_t len);

#endif
