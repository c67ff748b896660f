/*
 * otlp.h - OpenTelemetry OTLP/HTTP logs (protocols.md §6), protobuf form.
 *
 * DESIGN
 * otlp_decode_pb() walks an ExportLogsServiceRequest and hands each log
 * record to a callback in a flat form: the record's own fields, its scope,
 * and its resource's and its own attributes rendered as JSON objects
 * ({"service.name":"checkout","order.id":42}), so every later stage (the
 * event model's attributes, search on attrs.NAME) sees OTLP attributes as
 * it sees any other log line's. AnyValues keep their types: ints stay
 * integers (as exact decimal text), bytes become base64, arrays and kvlists
 * nested JSON, up to OTLP_MAX_DEPTH levels.
 *
 * A malformed message (bad wire format) fails the whole request (400, no
 * retry, as the spec says for bad data). A record that parses but is wrong
 * (a trace id that is not 16 bytes) is handed over with rec->error set, so
 * the door can count it in partial_success and store the others.
 */
#ifndef BL_OTLP_H
#define BL_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define OTLP_MAX_DEPTH 16 /* AnyValue nesting */

enum otlp_body { OTLP_BODY_NONE = 0, OTLP_BODY_STRING, OTLP_BODY_JSON };

struct otlp_record {
    const char *resource_attrs; /* JSON object text, "{}" when none */
    struct slice scope_name;
    struct slice scope_version;
    uint64_t time_ns;     /* 0: unknown */
    uint64_t observed_ns; /* 0: unknown */
    int severity_number;  /* 0 unspecified, 1..24 */
    struct slice severity_text;
    int body_kind;     /* enum otlp_body */
    struct slice body; /* the string, or JSON text of any other value */
    const char *attrs; /* JSON object text, "{}" when none */
    char trace_id[33]; /* lowercase hex, "" when absent */
    char span_id[17];
    uint32_t flags;
    struct slice event_name;
    const char *error; /* why the record is refused, or NULL */
};

/* Called per record; a non-zero return stops the walk and is returned. */
typedef int (*otlp_record_fn)(void *arg, const struct otlp_record *rec);

/*
 * Decodes a protobuf ExportLogsServiceRequest. max_json caps each rendered
 * attribute object (BL_ETOOBIG above). Returns 0, the callback's non-zero
 * value, BL_EPARSE or BL_ETOOBIG (err says where).
 */
int otlp_decode_pb(const void *p, size_t len, size_t max_json, otlp_record_fn fn, void *arg,
                   struct bl_err *err);

/*
 * The same for the JSON form (protocols.md §6.2, otlp_json.c): max_depth
 * caps the document's nesting. Same returns; a document that is not JSON or
 * has a wrong structure is BL_EPARSE.
 */
int otlp_decode_json(const void *p, size_t len, size_t max_json, int max_depth, otlp_record_fn fn,
                     void *arg, struct bl_err *err);

#endif
