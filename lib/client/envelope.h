/*
 * envelope.h - Sentry envelopes as libbilor sends them (protocols.md §1.5).
 *
 * One envelope per request: a header line with the event id, sent_at and
 * the SDK, then one item with an explicit length (so the payload is taken
 * byte for byte), then a final newline, the way sentry-python writes them.
 */
#ifndef BC_ENVELOPE_H
#define BC_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "client/buf.h"

/* An envelope around one event payload (compact JSON). */
int bc_envelope_event(struct bc_buf *out, const char *event_id, const char *payload, size_t len,
                      int64_t now_us);

/* An envelope around one client_report item payload. */
int bc_envelope_report(struct bc_buf *out, const char *report, size_t len, int64_t now_us);

/*
 * The client_report payload: records lost on the client, by reason
 * ("queue_overflow" for the bounded queue, "send_error" for records the
 * server refused for good with no sink to take them), category "error".
 */
int bc_client_report(struct bc_buf *out, int64_t now_us, uint64_t overflow, uint64_t send_error);

#endif
