/*
 * api_json.h - what the REST handlers share: answering with a written
 * document, query parameters (limit, time range), the next-page Link header,
 * DSNs and the event page. Private to api/.
 */
#ifndef BL_API_JSON_H
#define BL_API_JSON_H

#include "api/api.h"
#include "api/jw.h"

/* Starts a document in resp->body (emptied first). */
void aj_begin(struct bl_resp *resp, struct jw *w);
/* Answers 200 with the document w wrote, or 500 when it could not be written. */
void aj_send(struct bl_resp *resp, struct jw *w);
/* Adds the Link header for the next page when next_cursor is not empty. */
void aj_link_next(struct bl_req *req, struct bl_resp *resp, const char *next_cursor);
/* ?limit=N within 1..max, default def; -1 (and answers 400) when malformed. */
int aj_limit(struct bl_req *req, struct bl_resp *resp, size_t def, size_t max, size_t *out);
/* The DSN of a key: scheme://KEY@host/ID from the public URL. */
char *aj_dsn(struct bl_req *req, const char *key, int64_t project_id);
/*
 * ?since=T&until=T: each an RFC 3339 time (a real calendar date) or a
 * positive epoch number, since before until. *since / *until are 0 when
 * absent. Returns 0, or -1 after answering 400.
 */
int aj_time_range(struct bl_req *req, struct bl_resp *resp, int64_t *since, int64_t *until);
/* One time bound as aj_time_range reads it: 0 and *us, or -1. */
int aj_parse_time(const char *s, int64_t *us);

/* Writes one listing row of an event into an open object. */
typedef void (*api_event_render_fn)(struct bl_req *req, struct jw *w, const struct store_event *e);

/* Runs q, renders each event with render, answers the page with its Link header. */
void api_send_event_page(struct bl_req *req, struct bl_resp *resp,
                         const struct store_event_query *q, api_event_render_fn render);

#endif
