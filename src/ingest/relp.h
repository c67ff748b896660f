/*
 * relp.h - RELP, the Reliable Event Logging Protocol of rsyslog's omrelp:
 * the wire format only (frames, offers, answers), no sockets. The server
 * built on it is listen/listen_relp.c.
 *
 * DESIGN
 * Every RELP frame is "TXNR SP COMMAND SP DATALEN [SP DATA] LF" (librelp's
 * doc/relp.md): TXNR 1-9 digits (0 is reserved for hints such as the
 * server's "serverclose"), COMMAND 1-32 letters, DATALEN 1-9 digits and
 * exactly that many octets of DATA after one space (none, and no space,
 * when DATALEN is 0), then one LF. The client sends "open" (its offers:
 * "relp_version=0", "commands=syslog", ... one per line), any number of
 * "syslog" commands (one message each) without waiting for their answers
 * up to its window, then "close". The server answers each command with a
 * "rsp" frame of the same TXNR, in the order the commands came, whose data
 * is "CODE SP TEXT [LF DATA]": 200 for done, 500 for refused (the client
 * drops a refused message, so 500 is for refusals that are final).
 *
 * relp_parse cuts one frame from a buffer without copying and with limits:
 * a header longer than it may be, a non-digit in a number or a missing
 * trailer is an error (the connection is then closed, as the spec says);
 * a DATALEN over the caller's limit is reported with the header so the
 * caller can skip the data, answer 500 and go on.
 */
#ifndef BL_RELP_H
#define BL_RELP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define RELP_TXNR_MAX 999999999u
#define RELP_CMD_MAX 32
/* "999999999 " + 32 letters + " 999999999 ": the longest header. */
#define RELP_HEADER_MAX (9 + 1 + RELP_CMD_MAX + 1 + 9 + 1)
/* The protocol version we speak: librelp's (0; "1" of the spec was never used). */
#define RELP_VERSION 0

enum relp_cmd { RELP_CMD_OTHER = 0, RELP_CMD_OPEN, RELP_CMD_SYSLOG, RELP_CMD_CLOSE, RELP_CMD_RSP };

enum relp_parse_rc {
    RELP_MORE = 0,     /* no whole frame yet */
    RELP_FRAME = 1,    /* one frame in f; used covers it */
    RELP_OVERSIZE = 2, /* DATALEN over max_data: f has the header; used covers the header */
};

struct relp_frame {
    uint32_t txnr;
    int cmd;           /* enum relp_cmd */
    struct slice name; /* the command as sent */
    size_t datalen;    /* as announced */
    struct slice data; /* with RELP_FRAME */
};

/*
 * One frame from the start of p/len. Returns an enum relp_parse_rc with *f
 * and *used set, or BL_EPARSE (err says why): not RELP, close the
 * connection. After RELP_OVERSIZE the caller skips f->datalen octets and
 * then expects the LF trailer (relp_trailer).
 */
int relp_parse(const char *p, size_t len, size_t max_data, struct relp_frame *f, size_t *used,
               struct bl_err *err);

/* Whether c is the trailer that must follow a frame's data. */
int relp_trailer(char c);

struct relp_offers {
    int version; /* relp_version; -1 when absent or not a number */
    int syslog;  /* "syslog" is among the commands */
};

/* The client's offers, an "open" command's data: "name[=value[,value]...]" lines. */
void relp_offers_parse(struct slice data, struct relp_offers *out);

/*
 * Appends the answer "TXNR rsp LEN CODE SP TEXT" (and "LF" + extra when
 * extra is not empty) to out. BL_ETOOBIG when out is full.
 */
int relp_rsp(struct buf *out, uint32_t txnr, int code, const char *text, const char *extra);

/* Appends the answer to "open": 200 with our offers (version: the lower of the client's and ours). */
int relp_rsp_open(struct buf *out, uint32_t txnr, const struct relp_offers *client);

/* Appends the "serverclose" hint (TXNR 0) a server sends before it closes a session. */
int relp_serverclose(struct buf *out);

#endif
