/*
 * api_json.h - small helpers the REST handlers share to build answers.
 * Private to api/.
 */
#ifndef BL_API_JSON_H
#define BL_API_JSON_H

#include <cjson/cJSON.h>

#include "api/api.h"

/* Adds key: RFC 3339 string of us (null when us is 0). */
void aj_add_time(cJSON *obj, const char *key, int64_t us);
/* Adds key: number. */
void aj_add_int(cJSON *obj, const char *key, int64_t v);
/* Answers 200 with v printed compactly, then frees v. */
void aj_send(struct bl_resp *resp, cJSON *v);
/* Adds the Link header for the next page when next_cursor is not empty. */
void aj_link_next(struct bl_req *req, struct bl_resp *resp, const char *next_cursor);
/* ?limit=N within 1..max, default def; -1 (and answers 400) when malformed. */
int aj_limit(struct bl_req *req, struct bl_resp *resp, size_t def, size_t max, size_t *out);
/* The DSN of a key: scheme://KEY@host/ID from the public URL. */
char *aj_dsn(struct bl_req *req, const char *key, int64_t project_id);
/* Parses a time parameter (RFC 3339 or epoch seconds); 0 when absent, -1 on error (400 sent). */
int aj_time_param(struct bl_req *req, struct bl_resp *resp, const char *name, int64_t *out);

/* The listing form of a stored event (no raw payload). */
cJSON *api_event_summary(struct bl_req *req, const struct store_event *e);

typedef cJSON *(*api_event_render_fn)(struct bl_req *req, const struct store_event *e);

/* Runs q, renders each event with render, answers the page with its Link header. */
void api_send_event_page(struct bl_req *req, struct bl_resp *resp,
                         const struct store_event_query *q, api_event_render_fn render);

#endif
