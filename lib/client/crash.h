/*
 * crash.h - crash reports: the spool file format, written by the signal
 * handler (crash.c) and read back on the next start (crash_spool.c).
 *
 * A spool file is text, so a person can read it too:
 *
 *   bilor-crash 1
 *   signal 11
 *   code 1
 *   addr 0                      (si_addr, hex)
 *   pc 55d0c0ffee12             (faulting instruction, hex; 0 if unknown)
 *   time 1714564800123456       (µs since the epoch)
 *   release "app@1.0"           (JSON strings, optional, as configured)
 *   environment "production"
 *   server_name "host"
 *   frames 3                    (then one hex return address a line,
 *   55d0c0ffee12                 innermost first, as backtrace() gave them)
 *   ...
 *   maps                        (then /proc/self/maps of the crashed process
 *   55d0c0fe0000-... r-xp ...    to the end: the module layout to symbolize)
 *
 * The handler writes crash-PID-TIME.tmp and renames it to .spool when
 * complete.
 */
#ifndef BC_CRASH_H
#define BC_CRASH_H

#include <stddef.h>
#include <stdint.h>

#include "client/buf.h"

struct bilor;

#define BC_CRASH_FRAMES 256
#define BC_CRASH_MAPS_MAX (4u << 20)

struct bc_spool {
    int sig;
    int code;
    uintptr_t addr;
    uintptr_t pc;
    int64_t time_us;
    const char *release; /* raw JSON strings from the file, NULL when absent */
    size_t release_len;
    const char *environment;
    size_t environment_len;
    const char *server_name;
    size_t server_name_len;
    void *frames[BC_CRASH_FRAMES];
    size_t nframes;
    const char *maps; /* points into the parsed text */
    size_t maps_len;
};

/*
 * Writes a spool file's contents to fd; async-signal-safe (write(2) and
 * integer formatting only; /proc/self/maps is copied with read(2)). meta
 * is the preformatted release/environment/server_name lines.
 */
void bc_crash_write(int fd, int sig, int code, uintptr_t addr, uintptr_t pc, void *const *frames,
                    int nframes, const char *meta, size_t metalen);

/* Parses text[0..len) (kept alive by the caller). 0 or BILOR_EINVAL. */
int bc_spool_parse(const char *text, size_t len, struct bc_spool *sp);

/* Appends the fatal event JSON for a parsed spool, symbolized against its maps. */
int bc_spool_event(struct bilor *c, const struct bc_spool *sp, const char *event_id,
                   struct bc_buf *out);

#endif
