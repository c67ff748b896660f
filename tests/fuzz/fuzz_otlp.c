/*
 * fuzz_otlp.c - the OTLP protobuf walker on arbitrary bytes. Checks that
 * every slice handed to the callback lies inside the input or in rendered
 * text, and that rendered attribute objects are braced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in_p;
static size_t in_len;

static void inside(struct slice s)
{
    if (s.len > 0 && (s.p < (const char *)in_p || s.p + s.len > (const char *)in_p + in_len))
        abort();
}

static int check(void *arg, const struct otlp_record *r)
{
    size_t n = strlen(r->attrs), m = strlen(r->resource_attrs);

    (void)arg;
    inside(r->scope_name);
    inside(r->scope_version);
    inside(r->severity_text);
    inside(r->event_name);
    if (r->body_kind == OTLP_BODY_STRING)
        inside(r->body);
    if (n < 2 || r->attrs[0] != '{' || r->attrs[n - 1] != '}' || m < 2 ||
        r->resource_attrs[0] != '{')
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in_p = data;
    in_len = size;
    otlp_decode_pb(data, size, 4096, check, NULL, NULL);
    return 0;
}
