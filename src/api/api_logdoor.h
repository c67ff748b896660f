/*
 * api_logdoor.h - what the HTTP log doors (Elasticsearch, OTLP, GELF, the
 * Bilor v1 API) share: a DSN key from the usual headers, the project that
 * key names, and the journal wait.
 *
 * DESIGN
 * These clients cannot put a project id in the path (an Elasticsearch
 * shipper knows a host and an index), so the key decides the project: it is
 * looked up in the door's key cache and the request is addressed to its
 * project, then door_auth checks it like any other door's. Each door keeps
 * its own reply shapes: it hands logdoor_submit an answer function that maps
 * door outcomes to its protocol's statuses and bodies.
 */
#ifndef BL_API_LOGDOOR_H
#define BL_API_LOGDOOR_H

#include "api/api.h"
#include "door/door.h"

struct logdoor_ctx;
/* Writes the door's reply to outcome (DOOR_ACCEPTED: the acknowledgement). */
typedef void (*logdoor_answer_fn)(struct bl_req *req, struct bl_resp *resp, int outcome);

struct logdoor_ctx {
    struct door_req dr;
    int outcome; /* of the journal wait */
    logdoor_answer_fn answer;
    int op;            /* the door's own */
    const char *index; /* Elasticsearch: the index in the path, or NULL */
    const char *id;    /* Elasticsearch: the document id in the path, or NULL */
    int json;          /* OTLP: the body (and the answer) is JSON */
};

/*
 * The HTTP status of a refusal, the same on every log door: 401, 403, 413,
 * 400, 429 (busy or rate-limited), else 503. Doors with their own bodies
 * (Elasticsearch, OTLP) take the status from here too.
 */
int logdoor_status(int outcome);
/* Whether a client should wait and retry (429, 503): Retry-After is sent then. */
int logdoor_retryable(int outcome);
/* A refusal as {"error": msg} with logdoor_status, plus Retry-After when retryable. */
void logdoor_refuse(struct bl_req *req, struct bl_resp *resp, const struct door_req *dr,
                    int outcome);
/* Retry-After of dr (at least 1 s). */
void logdoor_retry_after(struct bl_req *req, struct bl_resp *resp, const struct door_req *dr);

/* The request's context, created on first use. */
struct logdoor_ctx *logdoor_ctx(struct bl_req *req);

/*
 * A DSN key from Authorization ("ApiKey base64(id:KEY)" or "ApiKey KEY",
 * "Basic base64(user:KEY)", "Bearer KEY") or X-Bilor-Key, else the query's
 * key=KEY (for clients that cannot add a header). 0, or -1 with why in err.
 */
int logdoor_find_key(struct bl_req *req, char key[65], struct bl_err *err);

/*
 * Gate and authenticate: the project is project_id when > 0 (named by the
 * path), else the key's. Returns a door outcome; ctx->dr is ready for
 * logdoor_submit when DOOR_ACCEPTED.
 */
int logdoor_open(struct bl_req *req, struct logdoor_ctx *ctx, int64_t project_id);

/*
 * door_submit with the journal wait; writes the reply with ctx->answer (the
 * acknowledgement now, replaced by the failure's reply if the journal fails).
 */
void logdoor_submit(struct bl_req *req, struct bl_resp *resp, struct logdoor_ctx *ctx,
                    const struct ingest_format *f);

#endif
