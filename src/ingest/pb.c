/* pb.c - protobuf wire-format reader (pb.h). */
#include "ingest/pb.h"
#include "core/err.h"
#include "core/banned.h"

static int varint(struct pb *r, uint64_t *out)
{
    uint64_t v = 0;

    for (int shift = 0; shift < 64; shift += 7) {
        unsigned char b;

        if (r->i >= r->len)
            return BL_EPARSE;
        b = r->p[r->i++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return BL_EPARSE; /* more than ten bytes */
}

static int fixed(struct pb *r, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (r->len - r->i < n)
        return BL_EPARSE;
    for (size_t k = 0; k < n; k++)
        v |= (uint64_t)r->p[r->i + k] << (8 * k);
    r->i += n;
    *out = v;
    return 0;
}

int pb_next(struct pb *r, struct pb_field *f)
{
    uint64_t key, len;

    if (r->i >= r->len)
        return 0;
    if (varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return BL_EPARSE;
    f->num = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    f->p = NULL;
    f->len = 0;
    switch (f->wire) {
    case PB_VARINT:
        return varint(r, &f->u) < 0 ? BL_EPARSE : 1;
    case PB_FIXED64:
        return fixed(r, 8, &f->u) < 0 ? BL_EPARSE : 1;
    case PB_FIXED32:
        return fixed(r, 4, &f->u) < 0 ? BL_EPARSE : 1;
    case PB_LEN:
        if (varint(r, &len) < 0 || len > r->len - r->i)
            return BL_EPARSE;
        f->p = r->p + r->i;
        f->len = (size_t)len;
        r->i += (size_t)len;
        return 1;
    default:
        return BL_EPARSE;
    }
}
