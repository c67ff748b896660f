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

/* A log line as listings show it: the row, its attributes, host, trace and request ids. */
void api_write_log_row(struct bl_req *req, struct jw *w, const struct store_event *row);

#endif
