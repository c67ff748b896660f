/*
 * syslog.h - syslog messages (RFC 5424, RFC 3164 and what passes for it)
 * and the TCP framings of RFC 6587 (protocols.md §4).
 *
 * DESIGN
 * syslog_parse() never refuses a message: real senders deviate from both
 * RFCs (no hostname from /dev/log writers, RFC 3339 stamps in BSD headers,
 * no PRI at all), and a log line that cannot be fully parsed is still a log
 * line. It decides the shape heuristically as protocols.md §4.3 says: PRI,
 * then "1 " means RFC 5424, else a BSD timestamp, else RFC 3339, else no
 * header; whatever is left is the message. Pure: no allocation except the
 * unescaped structured-data values, from the caller's pool.
 *
 * The framer splits a TCP byte stream into messages, detecting per frame:
 * a digit starts an octet-counted frame ("LEN SP MSG"), anything else runs
 * to a LF (or NUL) trailer. A frame over the limit is skipped (counted by
 * the caller), not fatal: the rest of the stream still parses.
 */
#ifndef BL_SYSLOG_H
#define BL_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pool.h"

#define SYSLOG_MAX_PARAMS 64 /* structured-data params kept per message */

enum syslog_format { SYSLOG_NONE = 0, SYSLOG_RFC5424, SYSLOG_RFC3164 };

struct syslog_param {
    struct slice sd_id; /* "timeQuality", "zoo@123" */
    struct slice name;
    struct slice value; /* unescaped */
};

struct syslog_msg {
    int format;   /* enum syslog_format */
    int facility; /* 0..23; 1 (user) when there was no PRI */
    int severity; /* 0..7; 5 (notice) when there was no PRI */
    int has_time;
    int64_t time_us;   /* µs since the epoch, UTC */
    struct slice host; /* empty when absent or nil */
    struct slice app;  /* APP-NAME or the BSD TAG */
    struct slice procid;
    struct slice msgid;
    struct syslog_param params[SYSLOG_MAX_PARAMS];
    size_t nparams;
    struct slice msg; /* BOM and trailing CR/LF removed */
};

/*
 * Parses one message. now_us dates BSD timestamps (which have no year):
 * the current year, or the previous one when that would be more than a day
 * in the future. Always succeeds; p must stay valid while out is used.
 */
void syslog_parse(const char *p, size_t len, int64_t now_us, struct pool *pool,
                  struct syslog_msg *out);

/* "kern", "user", ..., "local7" for 0..23, else "unknown". */
const char *syslog_facility_name(int facility);

/* Per-connection state of the TCP framer. */
struct syslog_framer {
    size_t max;        /* largest message accepted */
    size_t skip;       /* bytes of an over-long octet-counted frame still to drop */
    int skip_to_lf;    /* dropping an over-long LF frame up to its trailer */
    uint64_t oversize; /* frames dropped for their size */
};

void syslog_framer_init(struct syslog_framer *f, size_t max);

/*
 * Takes the next frame from buffered bytes p/len. Returns 1 with *msg set
 * (pointing into p) and *used bytes consumed; 0 when more bytes are needed
 * (*used may still be > 0 when bytes were dropped); -1 when the stream is
 * not syslog framing at all (a length prefix that is not a number).
 */
int syslog_frame(struct syslog_framer *f, const char *p, size_t len, struct slice *msg,
                 size_t *used);

#endif
