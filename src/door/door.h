/*
 * door.h - the door layer: admission and durable acceptance of ingest
 * bodies, for any listener.
 *
 * DESIGN
 * A listener (the HTTP routes in api/ today; UDP and TCP listeners for
 * GELF, syslog or RELP next) owns its sockets and its replies. Everything
 * between "a body arrived for project P with key K" and "it is durable" is
 * here and speaks no protocol:
 *
 *   door_gate    before anything is read: shutting down, journal budget;
 *   door_auth    key -> project through the key cache, the project's state,
 *                and the rate limits' early check (every limited category
 *                already blocked: refused before the body is read);
 *   door_submit  the format's door check (ingest/format.h), credentials the
 *                body carries, the rate limits charged by category (events,
 *                lines: door/ratelimit.h), then the journal append; the answer comes
 *                through the done callback once the record is durable.
 *
 * Each step answers with an enum door_outcome that the listener maps to
 * its reply (api/api_ingest.c: HTTP statuses and headers; a UDP listener
 * would count a drop, a TCP one close, RELP answer its own codes). The door
 * counts what it did in the metrics registry (door/metrics.h), so every
 * listener's traffic shows in /metrics the same way.
 *
 * Thread-safety: everything may be called from any listener thread; a
 * struct door_req belongs to one request.
 */
#ifndef BL_DOOR_H
#define BL_DOOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "ingest/format.h"
#include "ingest/ingest.h"
#include "door/ratelimit.h"
#include "journal/journal.h"
#include "store/store.h"

enum door_outcome {
    DOOR_ACCEPTED = 0, /* go on / acknowledged (durable once done() says so) */
    DOOR_UNAUTHORIZED, /* no usable key, or an unknown or revoked one */
    DOOR_FORBIDDEN,    /* a key of another project */
    DOOR_TOO_LARGE,    /* over a size limit */
    DOOR_BUSY,         /* over the journal budget (later: a rate limit); retry_after_s */
    DOOR_UNAVAILABLE,  /* shutting down, or the journal or store failed; retry_after_s */
    DOOR_BAD_INPUT,    /* the body (or the request) is malformed; err says why */
    DOOR_RATE_LIMITED, /* over a key's or the project's rate limit; rl says which */
    DOOR_OUTCOME__N
};

/* "accepted", "unauthorized", ... */
const char *door_outcome_name(int outcome);

struct door_config {
    struct store *store;     /* project keys */
    struct journal *journal; /* where accepted bodies go */
    struct ingest_limits limits;
    int retry_after_s;       /* advised wait when busy */
    struct handoff *handoff; /* decompressed bodies for the digest (ingest/handoff.h), or NULL */
};

struct door;
struct handoff;
struct keycache;
struct metrics;

/* Builds the door, its key cache and its metrics registry. */
struct door *door_new(const struct door_config *cfg);
void door_free(struct door *d);
/* From now on every request is refused as DOOR_UNAVAILABLE (shutdown). */
void door_close(struct door *d);
struct metrics *door_metrics(struct door *d);
struct keycache *door_keys(struct door *d);
struct ratelimit *door_ratelimit(struct door *d);
const struct ingest_limits *door_limits(const struct door *d);

struct door_req;
/* Runs on the journal's flusher thread: must be quick (e.g. resume a connection). */
typedef void (*door_done_fn)(struct door_req *r, int outcome);

/* One ingest request, owned by the listener (e.g. in its request pool). */
struct door_req {
    struct door *door;
    int64_t project_id;        /* the project the request is addressed to */
    struct pool *pool;         /* the request's memory */
    int authed;                /* a key of project_id was presented */
    int pending;               /* queued in the journal: done() will follow */
    int no_units;              /* DOOR_BAD_INPUT because no unit of the body was good */
    int retry_after_s;         /* with DOOR_BUSY, DOOR_UNAVAILABLE and DOOR_RATE_LIMITED */
    struct store_key_info key; /* the key's id and limits, once authed */
    struct rl_verdict rl;      /* with DOOR_RATE_LIMITED: which categories, scope, wait */
    const struct ingest_format *format;
    struct format_result result; /* what door_submit's check learned */
    struct bl_err err;           /* why, with every refusal */
    door_done_fn done;
    void *arg; /* the listener's */
};

void door_req_init(struct door_req *r, struct door *d, int64_t project_id, struct pool *pool);

/*
 * Records a refusal the listener decided itself (a malformed path or
 * credentials header) so it is counted like the door's own: sets r->err and
 * returns outcome.
 */
int door_refuse(struct door_req *r, int outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Cheap checks that need nothing from the request: run them first. */
int door_gate(struct door_req *r);

/*
 * The listener itself is bound to r->project_id by the operator (a socket
 * door such as --syslog-udp ADDR:PORT=PROJECT, whose messages carry no
 * key): admitted as if a key of that project had been shown.
 */
int door_bind(struct door_req *r);

/* key (a DSN public key) must belong to r->project_id. */
int door_auth(struct door_req *r, const char *key);

/*
 * Checks body as format f, authenticates with the credentials the body
 * carries when door_auth was not called, and appends it to the journal.
 * DOOR_ACCEPTED with r->pending set: done(r, outcome) follows once the
 * record is durable (DOOR_ACCEPTED) or failed (DOOR_UNAVAILABLE).
 * DOOR_ACCEPTED without pending: the body had nothing to store (an
 * envelope of sessions), nothing was journaled. Any other outcome: refused,
 * nothing journaled, done is not called.
 */
int door_submit(struct door_req *r, const struct ingest_format *f, const void *body, size_t len,
                int encoding, int64_t received_at, door_done_fn done, void *arg);

#endif
