/* envelope.c - envelope framing and the client report item. */
#include <stdio.h>

#include "bilor/bilor.h"
#include "client/clock.h"
#include "client/envelope.h"
#include "client/json.h"
#include "core/banned.h"

static void header(struct bc_buf *out, const char *event_id, int64_t now_us)
{
    char sent_at[40];

    bc_clock_rfc3339(now_us, sent_at, sizeof(sent_at));
    bc_buf_addc(out, '{');
    if (event_id != NULL)
        bc_buf_addf(out, "\"event_id\":\"%s\",", event_id);
    bc_buf_addf(out, "\"sent_at\":\"%s\",\"sdk\":{\"name\":\"%s\",\"version\":\"%s\"}}\n", sent_at,
                BILOR_SDK_NAME, BILOR_VERSION_STRING);
}

int bc_envelope_event(struct bc_buf *out, const char *event_id, const char *payload, size_t len,
                      int64_t now_us)
{
    header(out, event_id, now_us);
    bc_buf_addf(out, "{\"type\":\"event\",\"length\":%zu,\"content_type\":\"application/json\"}\n",
                len);
    bc_buf_add(out, payload, len);
    return bc_buf_addc(out, '\n');
}

int bc_envelope_report(struct bc_buf *out, const char *report, size_t len, int64_t now_us)
{
    header(out, NULL, now_us);
    bc_buf_addf(out, "{\"type\":\"client_report\",\"length\":%zu}\n", len);
    bc_buf_add(out, report, len);
    return bc_buf_addc(out, '\n');
}

static void discarded(struct bc_buf *out, int *n, const char *reason, uint64_t quantity)
{
    if (quantity == 0)
        return;
    if ((*n)++ > 0)
        bc_buf_addc(out, ',');
    bc_buf_addf(out, "{\"reason\":\"%s\",\"category\":\"error\",\"quantity\":%llu}", reason,
                (unsigned long long)quantity);
}

int bc_client_report(struct bc_buf *out, int64_t now_us, uint64_t overflow, uint64_t send_error)
{
    int n = 0;

    bc_buf_adds(out, "{\"timestamp\":");
    bc_json_double(out, (double)now_us / 1e6);
    bc_buf_adds(out, ",\"discarded_events\":[");
    discarded(out, &n, "queue_overflow", overflow);
    discarded(out, &n, "send_error", send_error);
    return bc_buf_adds(out, "]}");
}
