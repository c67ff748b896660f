/*
 * format.c - the table of wire formats (format.h).
 *
 * To add a format: define its struct ingest_format in a file of its own,
 * declare it below and give it a row in the table.
 */
#include <string.h>
#include <strings.h>

#include "ingest/format.h"
#include "core/hash.h"
#include "ingest/jsonscan.h"
#include "core/banned.h"

extern const struct ingest_format format_sentry_store;
extern const struct ingest_format format_sentry_envelope;
extern const struct ingest_format format_ndjson;
extern const struct ingest_format format_es_bulk;
extern const struct ingest_format format_es_doc;
extern const struct ingest_format format_otlp_pb;
extern const struct ingest_format format_otlp_json;
extern const struct ingest_format format_bilor_v1;
extern const struct ingest_format format_syslog;
extern const struct ingest_format format_gelf;

static const struct ingest_format *const formats[] = {
    &format_sentry_store,    /* fmt_sentry.c: POST /api/<id>/store/ */
    &format_sentry_envelope, /* fmt_sentry.c: POST /api/<id>/envelope/ */
    &format_ndjson,          /* fmt_ndjson.c: POST /api/<id>/logs */
    &format_es_bulk,         /* fmt_es.c: POST /es/_bulk (Elasticsearch API) */
    &format_es_doc,          /* fmt_es.c: POST /es/{index}/_doc */
    &format_otlp_pb,         /* fmt_otlp.c: POST /v1/logs, application/x-protobuf */
    &format_otlp_json,       /* fmt_otlp.c: POST /v1/logs, application/json */
    &format_bilor_v1,        /* fmt_bilor_v1.c: POST /api/v1/message/ (the original Bilor) */
    &format_syslog,          /* fmt_syslog.c: syslog UDP/TCP/RELP listeners */
    &format_gelf,            /* fmt_gelf.c: GELF UDP/TCP listeners, POST /gelf */
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))
_Static_assert(NFORMATS <= FORMAT_MAX, "raise FORMAT_MAX");

size_t format_count(void)
{
    return NFORMATS;
}

const struct ingest_format *format_at(size_t i)
{
    return i < NFORMATS ? formats[i] : NULL;
}

size_t format_index(const struct ingest_format *f)
{
    for (size_t i = 0; i < NFORMATS; i++) {
        if (formats[i] == f)
            return i;
    }
    return 0;
}

const struct ingest_format *format_by_protocol(int protocol)
{
    for (size_t i = 0; i < NFORMATS; i++) {
        if (formats[i]->protocol == protocol)
            return formats[i];
    }
    return NULL;
}

const struct ingest_format *format_by_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < NFORMATS; i++) {
        if (strcmp(formats[i]->name, name) == 0)
            return formats[i];
    }
    return NULL;
}

/* A prefix match, as Sentry's own servers do: "...-envelope; charset=utf-8" names it too. */
static int names_type(const char *content_type, const char *type)
{
    return strncasecmp(content_type, type, strlen(type)) == 0;
}

const struct ingest_format *format_recognise(const struct ingest_format *dflt,
                                             const char *content_type)
{
    if (dflt == NULL || content_type == NULL)
        return dflt;
    for (size_t i = 0; i < NFORMATS; i++) {
        const struct ingest_format *f = formats[i];

        if (f->content_type != NULL && strcmp(f->family, dflt->family) == 0 &&
            names_type(content_type, f->content_type))
            return f;
    }
    return dflt;
}

int format_check_object(const struct format_input *in, struct format_result *out,
                        const char *not_object, struct bl_err *err)
{
    struct slice body = SLICE_NULL;
    int top = 0, rc;

    rc = decode_request(in->body, in->len, in->encoding, in->lim->max_event, 0, in->scratch, &body,
                        err);
    if (rc < 0)
        return rc;
    if (jsonscan(body.p, body.len, in->lim->max_depth, NULL, NULL, &top, err) != 0 ||
        top != JSONSCAN_OBJECT)
        return bl_err_set(err, BL_EPARSE, "%s", not_object);
    out->units.accepted = 1;
    rand_hex(out->check.event_id, 16);
    return 0;
}
