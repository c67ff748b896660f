/*
 * api_search.h - what the search endpoints share (private to api/): a
 * request's query, time range and match function made into a store query.
 */
#ifndef BL_API_SEARCH_H
#define BL_API_SEARCH_H

#include "api/api.h"
#include "api/api_search_doc.h"
#include "api/jw.h"

struct search_req {
    struct store_event_query q; /* q.match_arg points at m */
    struct api_match m;
};

/*
 * Project, access, allowed parameters, ?query= for target, ?since= and
 * ?until=; kind is the event kind listed. 0, or -1 after answering (400
 * with the position for a malformed query).
 */
int api_search_begin(struct bl_req *req, struct bl_resp *resp, int target, int kind,
                     const char *const *allowed, struct search_req *s);

/* Parses text for target; -1 after answering 400 {"error", "position"}. */
int api_query_parse(struct bl_req *req, struct bl_resp *resp, const char *text, int target,
                    const struct query_node **out);

/*
 * A project's events older than its retention are gone from the API at
 * once, though their day file stays until retention drops it
 * (store_sqlite_retention.c): the first kept time (µs), and a range cut to it.
 */
int64_t api_retention_cutoff(struct bl_req *req, int64_t project_id, int64_t now_us);
void api_retention_clamp(struct bl_req *req, int64_t project_id, int64_t now_us, int64_t *since,
                         int64_t *until);

/*
 * PUT /projects/{id}/'s retention_days row (api_projects.c put_fields):
 * check reads N or answers 400 (-1); store writes it (store_retention_set).
 */
struct cJSON;
int api_retention_check(struct bl_resp *resp, const struct cJSON *v, int *days);
int api_retention_store(struct bl_req *req, int64_t pid, int days, struct bl_err *err);

/* A log line as listings show it: the row, its attributes, host, trace and request ids. */
void api_write_log_row(struct bl_req *req, struct jw *w, const struct store_event *row);

#endif
