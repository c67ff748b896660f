/*
 * fmt_ndjson.c - JSON lines: one log record (a JSON object) per line, each
 * line judged on its own (docs/ingest.md). The door check is in check.c,
 * the digest decode in ingest.c.
 */
#include "ingest/format.h"
#include "core/banned.h"

/* Per-line errors described in the answer; more are counted only. */
#define MAX_LINE_ERRORS 100

static int check_ndjson(const struct format_input *in, struct format_result *out,
                        struct bl_err *err)
{
    return ingest_check_ndjson(in->body, in->len, in->encoding, in->lim, in->pool, MAX_LINE_ERRORS,
                               in->scratch, &out->units, err);
}

const struct ingest_format format_ndjson = {
    .name = "logs",
    .protocol = INGEST_LOGS_NDJSON,
    .family = "lines",
    .content_type = NULL,
    .reply = FORMAT_REPLY_UNITS,
    .empty_error = "no valid lines",
    .check = check_ndjson,
    .decode = ingest_decode_ndjson,
    .handoff = 1,
};
