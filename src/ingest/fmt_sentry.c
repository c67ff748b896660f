/*
 * fmt_sentry.c - the Sentry wire formats: /store/ bodies (one event JSON,
 * or a Raven-era base64+zlib body) and envelopes (protocols.md §1). Their
 * door checks are in check.c, their digest decodes in ingest.c.
 */
#include <string.h>

#include "ingest/format.h"
#include "ingest/sentry_items.h"
#include "core/banned.h"

static int check_store(const struct format_input *in, struct format_result *out, struct bl_err *err)
{
    int rc = ingest_check_store(in->body, in->len, in->encoding, in->lim, in->scratch, &out->check,
                                err);

    if (rc == 0)
        out->units.accepted = 1;
    return rc;
}

/* Every item is kept or counted (sentry_items.h); only an empty envelope is not journaled. */
static int check_envelope(const struct format_input *in, struct format_result *out,
                          struct bl_err *err)
{
    int rc = ingest_check_envelope(in->body, in->len, in->encoding, in->lim, in->scratch,
                                   &out->check, err);

    if (rc < 0)
        return rc;
    out->units.accepted = sentry_items_journal(out->check.items);
    memcpy(out->key, out->check.dsn_key, sizeof(out->key));
    out->key_project = out->check.dsn_project;
    return 0;
}

const struct ingest_format format_sentry_store = {
    .name = "store",
    .protocol = INGEST_SENTRY_STORE,
    .family = "sentry",
    .content_type = NULL,
    .reply = FORMAT_REPLY_EVENT_ID,
    .empty_error = NULL,
    .check = check_store,
    .decode = ingest_decode_store,
    .handoff = 1,
};

const struct ingest_format format_sentry_envelope = {
    .name = "envelope",
    .protocol = INGEST_SENTRY_ENVELOPE,
    .family = "sentry",
    .content_type = "application/x-sentry-envelope",
    .reply = FORMAT_REPLY_EVENT_ID,
    .empty_error = NULL,
    .check = check_envelope,
    .decode = ingest_decode_envelope,
    .handoff = 1,
};
