/*
 * otlp_pb.c - the protobuf form of OTLP logs (otlp.h), field numbers from
 * protocols.md §6.3. Fields may come in any order, so a message whose
 * children depend on a sibling (the records need their resource's and
 * scope's values) is read twice: first the sibling, then the children.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ingest/otlp.h"
#include "ingest/pb.h"
#include "core/hash.h"
#include "core/banned.h"

struct walk {
    size_t max_json;
    otlp_record_fn fn;
    void *arg;
    struct bl_err *err;
    struct buf resource; /* attributes of the current resource */
    struct buf attrs;    /* attributes of the current record */
    struct buf body;     /* a non-string body as JSON */
    struct otlp_record rec;
};

static int bad(struct walk *w, const char *what)
{
    return bl_err_set(w->err, BL_EPARSE, "malformed OTLP protobuf: %s", what);
}

static int render_any(struct walk *w, const unsigned char *p, size_t len, struct buf *out,
                      int depth);

/* KeyValue { 1 key, 2 value } as "key":value; the key is read first wherever it is. */
static int render_kv(struct walk *w, const unsigned char *p, size_t len, struct buf *out, int depth)
{
    struct pb r = pb_init(p, len);
    struct pb_field f, key = { 0 }, val = { 0 };
    int rc, have_val = 0;

    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wire == PB_LEN)
            key = f;
        else if (f.num == 2 && f.wire == PB_LEN) {
            val = f;
            have_val = 1;
        }
    }
    if (rc < 0)
        return bad(w, "KeyValue");
    rc = buf_add_json_str(out, (const char *)key.p, key.len);
    rc = rc ? rc : buf_addch(out, ':');
    if (rc == 0 && !have_val)
        return buf_addstr(out, "null");
    return rc ? rc : render_any(w, val.p, val.len, out, depth);
}

/* ArrayValue / KeyValueList: field 1 repeated, as [..] or {..}. */
static int render_list(struct walk *w, const unsigned char *p, size_t len, struct buf *out,
                       int depth, int kvlist)
{
    struct pb r = pb_init(p, len);
    struct pb_field f;
    int rc = buf_addch(out, kvlist ? '{' : '['), n = 0, more;

    while (rc == 0 && (more = pb_next(&r, &f)) == 1) {
        if (f.num != 1 || f.wire != PB_LEN)
            continue;
        rc = n++ ? buf_addch(out, ',') : 0;
        if (rc == 0)
            rc = kvlist ? render_kv(w, f.p, f.len, out, depth + 1)
                        : render_any(w, f.p, f.len, out, depth + 1);
    }
    if (rc == 0 && more < 0)
        return bad(w, kvlist ? "KeyValueList" : "ArrayValue");
    return rc ? rc : buf_addch(out, kvlist ? '}' : ']');
}

static int render_scalar(struct buf *out, const struct pb_field *f)
{
    double d;
    char b64[4096];

    switch (f->num) {
    case 1:
        return buf_add_json_str(out, (const char *)f->p, f->len);
    case 2:
        return buf_addstr(out, f->u ? "true" : "false");
    case 3:
        return buf_addf(out, "%" PRId64, (int64_t)f->u);
    case 4:
        memcpy(&d, &f->u, sizeof(d));
        if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
            return buf_addstr(out, "null"); /* JSON has no NaN or infinity */
        return buf_addf(out, "%.17g", d);
    default: /* 7: bytes, as base64 (the OTLP/JSON mapping) */
        if (sodium_base64_ENCODED_LEN(f->len, sodium_base64_VARIANT_ORIGINAL) > sizeof(b64))
            return buf_addstr(out, "\"[bytes]\"");
        sodium_bin2base64(b64, sizeof(b64), f->p, f->len, sodium_base64_VARIANT_ORIGINAL);
        return buf_add_json_str(out, b64, strlen(b64));
    }
}

static int wire_ok(const struct pb_field *f)
{
    static const int want[] = {
        -1, PB_LEN, PB_VARINT, PB_VARINT, PB_FIXED64, PB_LEN, PB_LEN, PB_LEN
    };

    return f->num >= 1 && f->num <= 7 && f->wire == want[f->num];
}

/* AnyValue: a oneof, so the last value field wins; none at all is null. */
static int render_any(struct walk *w, const unsigned char *p, size_t len, struct buf *out,
                      int depth)
{
    struct pb r = pb_init(p, len);
    struct pb_field f, last = { 0 };
    int rc;

    if (depth > OTLP_MAX_DEPTH)
        return bl_err_set(w->err, BL_EPARSE, "OTLP value nested deeper than %d", OTLP_MAX_DEPTH);
    while ((rc = pb_next(&r, &f)) == 1)
        if (wire_ok(&f))
            last = f;
    if (rc < 0)
        return bad(w, "AnyValue");
    if (last.num == 0)
        return buf_addstr(out, "null");
    if (last.num == 5 || last.num == 6)
        return render_list(w, last.p, last.len, out, depth, last.num == 6);
    return render_scalar(out, &last);
}

/* Repeated KeyValue fields number `num` of a message, as one JSON object. */
static int render_attrs(struct walk *w, const unsigned char *p, size_t len, uint32_t num,
                        struct buf *out)
{
    struct pb r = pb_init(p, len);
    struct pb_field f;
    int rc = 0, more, n = 0;

    buf_reset(out);
    rc = buf_addch(out, '{');
    while (rc == 0 && (more = pb_next(&r, &f)) == 1) {
        if (f.num != num || f.wire != PB_LEN)
            continue;
        rc = n++ ? buf_addch(out, ',') : 0;
        rc = rc ? rc : render_kv(w, f.p, f.len, out, 1);
    }
    if (rc == 0 && more < 0)
        return bad(w, "attributes");
    rc = rc ? rc : buf_addch(out, '}');
    if (rc == BL_ETOOBIG)
        return bl_err_set(w->err, BL_ETOOBIG, "OTLP attributes larger than %zu bytes", w->max_json);
    return rc;
}

static void id_hex(struct walk *w, const struct pb_field *f, size_t want, char *out)
{
    if (f->len == 0)
        return;
    if (f->len != want) {
        w->rec.error = want == 16 ? "trace_id must be 16 bytes" : "span_id must be 8 bytes";
        return;
    }
    hex_encode(f->p, f->len, out);
}

static int record_body(struct walk *w, const struct pb_field *f)
{
    struct pb r = pb_init(f->p, f->len);
    struct pb_field v, last = { 0 };
    int rc;

    while ((rc = pb_next(&r, &v)) == 1)
        if (wire_ok(&v))
            last = v;
    if (rc < 0)
        return bad(w, "body");
    if (last.num == 0)
        return 0;
    if (last.num == 1) {
        w->rec.body_kind = OTLP_BODY_STRING;
        w->rec.body = (struct slice){ (const char *)last.p, last.len };
        return 0;
    }
    buf_reset(&w->body);
    rc = render_any(w, f->p, f->len, &w->body, 1);
    if (rc < 0)
        return rc == BL_ETOOBIG ? bl_err_set(w->err, rc, "OTLP body too large") : rc;
    w->rec.body_kind = OTLP_BODY_JSON;
    w->rec.body = (struct slice){ w->body.p, w->body.len };
    return 0;
}

static int record_field(struct walk *w, const struct pb_field *f)
{
    struct otlp_record *rec = &w->rec;

    switch (f->num) {
    case 1:
        rec->time_ns = f->wire == PB_FIXED64 ? f->u : rec->time_ns;
        return 0;
    case 11:
        rec->observed_ns = f->wire == PB_FIXED64 ? f->u : rec->observed_ns;
        return 0;
    case 2:
        rec->severity_number = f->wire == PB_VARINT && f->u <= 24 ? (int)f->u : 0;
        return 0;
    case 3:
    case 12:
        if (f->wire == PB_LEN)
            *(f->num == 3 ? &rec->severity_text
                          : &rec->event_name) = (struct slice){ (const char *)f->p, f->len };
        return 0;
    case 5:
        return f->wire == PB_LEN ? record_body(w, f) : 0;
    case 8:
        rec->flags = f->wire == PB_FIXED32 ? (uint32_t)f->u : 0;
        return 0;
    case 9:
    case 10:
        if (f->wire == PB_LEN)
            id_hex(w, f, f->num == 9 ? 16 : 8, f->num == 9 ? rec->trace_id : rec->span_id);
        return 0;
    default:
        return 0; /* 6 (attributes) is rendered apart; unknown fields are skipped */
    }
}

static int log_record(struct walk *w, const struct pb_field *lf, struct slice scope_name,
                      struct slice scope_version)
{
    struct pb r = pb_init(lf->p, lf->len);
    struct pb_field f;
    int rc;

    memset(&w->rec, 0, sizeof(w->rec));
    w->rec.resource_attrs = w->resource.p;
    w->rec.scope_name = scope_name;
    w->rec.scope_version = scope_version;
    while ((rc = pb_next(&r, &f)) == 1)
        if ((rc = record_field(w, &f)) < 0)
            return rc;
    if (rc < 0)
        return bad(w, "LogRecord");
    rc = render_attrs(w, lf->p, lf->len, 6, &w->attrs);
    if (rc < 0)
        return rc;
    w->rec.attrs = w->attrs.p;
    return w->fn(w->arg, &w->rec);
}

/* InstrumentationScope { 1 name, 2 version }. */
static int scope(struct walk *w, const struct pb_field *sf, struct slice *name,
                 struct slice *version)
{
    struct pb r = pb_init(sf->p, sf->len);
    struct pb_field f;
    int rc;

    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.wire != PB_LEN)
            continue;
        if (f.num == 1)
            *name = (struct slice){ (const char *)f.p, f.len };
        else if (f.num == 2)
            *version = (struct slice){ (const char *)f.p, f.len };
    }
    return rc < 0 ? bad(w, "InstrumentationScope") : 0;
}

/* ScopeLogs { 1 scope, 2 log_records }; InstrumentationLibraryLogs has the same shape. */
static int scope_logs(struct walk *w, const struct pb_field *sl)
{
    struct pb r = pb_init(sl->p, sl->len);
    struct pb_field f;
    struct slice name = SLICE_NULL, version = SLICE_NULL;
    int rc;

    while ((rc = pb_next(&r, &f)) == 1)
        if (f.num == 1 && f.wire == PB_LEN && scope(w, &f, &name, &version) < 0)
            return BL_EPARSE;
    if (rc < 0)
        return bad(w, "ScopeLogs");
    r = pb_init(sl->p, sl->len);
    while ((rc = pb_next(&r, &f)) == 1)
        if (f.num == 2 && f.wire == PB_LEN && (rc = log_record(w, &f, name, version)) != 0)
            return rc;
    return rc < 0 ? bad(w, "ScopeLogs") : 0;
}

/* ResourceLogs { 1 resource, 2 scope_logs, 1000 instrumentation_library_logs }. */
static int resource_logs(struct walk *w, const struct pb_field *rl)
{
    struct pb r = pb_init(rl->p, rl->len);
    struct pb_field f;
    int rc;

    buf_reset(&w->resource);
    rc = buf_addstr(&w->resource, "{}");
    while (rc == 0 && (rc = pb_next(&r, &f)) == 1)
        rc = f.num == 1 && f.wire == PB_LEN ? render_attrs(w, f.p, f.len, 1, &w->resource) : 0;
    if (rc < 0)
        return rc == BL_EPARSE && w->err != NULL && w->err->code == 0 ? bad(w, "ResourceLogs") : rc;
    r = pb_init(rl->p, rl->len);
    while ((rc = pb_next(&r, &f)) == 1)
        if ((f.num == 2 || f.num == 1000) && f.wire == PB_LEN && (rc = scope_logs(w, &f)) != 0)
            return rc;
    return rc < 0 ? bad(w, "ResourceLogs") : 0;
}

int otlp_decode_pb(const void *p, size_t len, size_t max_json, otlp_record_fn fn, void *arg,
                   struct bl_err *err)
{
    struct bl_err local = { 0 };
    struct walk w;
    struct pb r = pb_init(p, len);
    struct pb_field f;
    int rc;

    memset(&w, 0, sizeof(w));
    w.max_json = max_json;
    w.fn = fn;
    w.arg = arg;
    w.err = err != NULL ? err : &local;
    buf_init(&w.resource, max_json);
    buf_init(&w.attrs, max_json);
    buf_init(&w.body, max_json);
    while ((rc = pb_next(&r, &f)) == 1)
        if (f.num == 1 && f.wire == PB_LEN && (rc = resource_logs(&w, &f)) != 0)
            break;
    if (rc < 0 && w.err->code == 0)
        rc = bad(&w, "ExportLogsServiceRequest");
    buf_release(&w.resource);
    buf_release(&w.attrs);
    buf_release(&w.body);
    return rc == 1 ? 0 : rc;
}
