/*
 * test_otlp.c - OTLP logs in protobuf form: protocols.md §6.5 O2, every
 * AnyValue type, resource and scope attributes, bad ids, malformed input.
 */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "core/err.h"
#include "ingest/otlp.h"
#include "ingest/pb.h"

struct seen {
    int n;
    char out[8][1024];
};

static int collect(void *arg, const struct otlp_record *r)
{
    struct seen *s = arg;

    if (s->n < 8)
        snprintf(s->out[s->n], sizeof(s->out[0]),
                 "res=%s scope=%.*s/%.*s t=%llu o=%llu sev=%d/%.*s body%d=%.*s attrs=%s "
                 "trace=%s span=%s flags=%u err=%s",
                 r->resource_attrs, (int)r->scope_name.len, r->scope_name.p,
                 (int)r->scope_version.len, r->scope_version.p, (unsigned long long)r->time_ns,
                 (unsigned long long)r->observed_ns, r->severity_number, (int)r->severity_text.len,
                 r->severity_text.p, r->body_kind, (int)r->body.len, r->body.p, r->attrs,
                 r->trace_id, r->span_id, r->flags, r->error ? r->error : "-");
    s->n++;
    return 0;
}

static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = 0;

    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;

        sscanf(hex, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

/* A tiny protobuf writer for building test messages. */
struct w {
    unsigned char b[4096];
    size_t n;
};

static void varint(struct w *w, unsigned long long v)
{
    do {
        w->b[w->n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

static void bytes(struct w *w, unsigned num, const void *p, size_t len)
{
    varint(w, (unsigned long long)num << 3 | 2);
    varint(w, len);
    memcpy(w->b + w->n, p, len);
    w->n += len;
}

static void sub(struct w *w, unsigned num, const struct w *s)
{
    bytes(w, num, s->b, s->n);
}

static void str(struct w *w, unsigned num, const char *s)
{
    bytes(w, num, s, strlen(s));
}

static void test_o2(void)
{
    static const char *o2 =
        "0a790a1c0a1a0a0c736572766963652e6e616d65120a0a08636865636b6f757412590a050a036170701250"
        "09008063f8995bcb1710111a054552524f522a100a0e7061796d656e74206661696c6564320e0a086f7264"
        "65722e69641202182a4a105b8efff798038103d269b633813fc60c5208eee19b7ec3c1b174";
    unsigned char buf[256];
    size_t n = unhex(o2, buf);
    struct seen s = { 0 };

    CHECK_INT_EQ(n, 123);
    CHECK_INT_EQ(otlp_decode_pb(buf, n, 65536, collect, &s, NULL), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_STR_EQ(s.out[0], "res={\"service.name\":\"checkout\"} scope=app/ t=1714564800000000000 "
                           "o=0 sev=17/ERROR body1=payment failed attrs={\"order.id\":42} "
                           "trace=5b8efff798038103d269b633813fc60c span=eee19b7ec3c1b174 flags=0 "
                           "err=-");
    /* truncated anywhere: malformed, never read past the end */
    for (size_t k = 1; k < n; k++) {
        struct seen t = { 0 };
        int rc = otlp_decode_pb(buf, k, 65536, collect, &t, NULL);

        CHECK(rc == 0 || rc == BL_EPARSE);
    }
}

static void test_values(void)
{
    struct w kv, any, arr, kvl, rec, sl, rl, req, tmp;
    struct seen s = { 0 };
    struct bl_err err = { 0 };
    double d = 2.5;
    unsigned char tid[16] = { 1 }, bad_span[5] = { 2 };

    memset(&rec, 0, sizeof(rec));
    /* attributes: int -1, double, bool, bytes, array [1,"x"], kvlist {"k":null} */
    memset(&kv, 0, sizeof(kv));
    memset(&any, 0, sizeof(any));
    str(&kv, 1, "neg");
    varint(&any, 3 << 3 | 0);
    varint(&any, (unsigned long long)-1LL);
    sub(&kv, 2, &any);
    sub(&rec, 6, &kv);
    memset(&kv, 0, sizeof(kv));
    memset(&any, 0, sizeof(any));
    str(&kv, 1, "d");
    varint(&any, 4 << 3 | 1);
    memcpy(any.b + any.n, &d, 8);
    any.n += 8;
    sub(&kv, 2, &any);
    sub(&rec, 6, &kv);
    memset(&kv, 0, sizeof(kv));
    memset(&any, 0, sizeof(any));
    str(&kv, 1, "b");
    varint(&any, 2 << 3 | 0);
    varint(&any, 1);
    sub(&kv, 2, &any);
    sub(&rec, 6, &kv);
    memset(&kv, 0, sizeof(kv));
    memset(&any, 0, sizeof(any));
    str(&kv, 1, "raw");
    bytes(&any, 7, "\x00\x01\xff", 3);
    sub(&kv, 2, &any);
    sub(&rec, 6, &kv);
    memset(&kv, 0, sizeof(kv));
    memset(&any, 0, sizeof(any));
    memset(&arr, 0, sizeof(arr));
    memset(&tmp, 0, sizeof(tmp));
    varint(&tmp, 3 << 3 | 0);
    varint(&tmp, 1);
    sub(&arr, 1, &tmp);
    memset(&tmp, 0, sizeof(tmp));
    str(&tmp, 1, "x\"y");
    sub(&arr, 1, &tmp);
    sub(&any, 5, &arr);
    str(&kv, 1, "list");
    sub(&kv, 2, &any);
    sub(&rec, 6, &kv);
    memset(&kv, 0, sizeof(kv));
    memset(&any, 0, sizeof(any));
    memset(&kvl, 0, sizeof(kvl));
    memset(&tmp, 0, sizeof(tmp));
    str(&tmp, 1, "k");
    sub(&kvl, 1, &tmp);
    sub(&any, 6, &kvl);
    str(&kv, 1, "map");
    sub(&kv, 2, &any);
    sub(&rec, 6, &kv);
    /* body: a kvlist, so JSON; a 16-byte trace id, a 5-byte span id (refused) */
    sub(&rec, 5, &any);
    bytes(&rec, 9, tid, 16);
    bytes(&rec, 10, bad_span, 5);
    varint(&rec, 8 << 3 | 5);
    memcpy(rec.b + rec.n, "\x01\x00\x00\x00", 4);
    rec.n += 4;
    varint(&rec, 99 << 3 | 0);
    varint(&rec, 7); /* unknown field: skipped */
    memset(&sl, 0, sizeof(sl));
    memset(&rl, 0, sizeof(rl));
    memset(&req, 0, sizeof(req));
    sub(&sl, 2, &rec);
    sub(&rl, 1000, &sl); /* the deprecated instrumentation_library_logs */
    sub(&req, 1, &rl);
    CHECK_INT_EQ(otlp_decode_pb(req.b, req.n, 65536, collect, &s, &err), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_STR_EQ(s.out[0], "res={} scope=/ t=0 o=0 sev=0/ body2={\"k\":null} "
                           "attrs={\"neg\":-1,\"d\":2.5,\"b\":true,\"raw\":\"AAH/\","
                           "\"list\":[1,\"x\\\"y\"],\"map\":{\"k\":null}} "
                           "trace=01000000000000000000000000000000 span= flags=1 "
                           "err=span_id must be 8 bytes");
    /* the attribute object over its cap */
    CHECK_INT_EQ(otlp_decode_pb(req.b, req.n, 32, collect, &s, &err), BL_ETOOBIG);
}

static void test_malformed(void)
{
    struct seen s = { 0 };
    struct bl_err err = { 0 };

    CHECK_INT_EQ(otlp_decode_pb("", 0, 1024, collect, &s, NULL), 0);
    CHECK_INT_EQ(s.n, 0);
    CHECK_INT_EQ(otlp_decode_pb("\x0a\x05\x01", 3, 1024, collect, &s, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "malformed") != NULL);
    CHECK_INT_EQ(otlp_decode_pb("\x0b", 1, 1024, collect, &s, NULL), BL_EPARSE); /* group */
    CHECK_INT_EQ(otlp_decode_pb("\x00\x01", 2, 1024, collect, &s, NULL), BL_EPARSE);
    CHECK_INT_EQ(otlp_decode_pb("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, 1024,
                                collect, &s, NULL),
                 BL_EPARSE);
    /* arrays nested 40 deep inside an attribute value: refused, not recursed */
    {
        struct w v, cur, kv, rec, sl, rl, req;

        memset(&cur, 0, sizeof(cur));
        for (int i = 0; i < 40; i++) {
            memset(&v, 0, sizeof(v));
            sub(&v, 1, &cur); /* ArrayValue { values: cur } */
            memset(&cur, 0, sizeof(cur));
            sub(&cur, 5, &v); /* AnyValue { array_value } */
        }
        memset(&kv, 0, sizeof(kv));
        memset(&rec, 0, sizeof(rec));
        memset(&sl, 0, sizeof(sl));
        memset(&rl, 0, sizeof(rl));
        memset(&req, 0, sizeof(req));
        str(&kv, 1, "deep");
        sub(&kv, 2, &cur);
        sub(&rec, 6, &kv);
        sub(&sl, 2, &rec);
        sub(&rl, 2, &sl);
        sub(&req, 1, &rl);
        CHECK_INT_EQ(otlp_decode_pb(req.b, req.n, 1 << 20, collect, &s, &err), BL_EPARSE);
        CHECK(strstr(err.msg, "deeper") != NULL);
    }
}

int main(void)
{
    test_o2();
    test_values();
    test_malformed();
    return t_done();
}
