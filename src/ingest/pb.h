/*
 * pb.h - a bounds-checked reader of the protobuf wire format.
 *
 * Just enough of the encoding to walk messages whose field numbers we know
 * (OTLP): varints, fixed 32/64-bit values and length-delimited fields.
 * Every read checks the remaining length; a truncated or malformed input
 * stops the walk with BL_EPARSE instead of reading past the buffer.
 * Unknown fields are skipped by their wire type, as protobuf requires.
 */
#ifndef BL_PB_H
#define BL_PB_H

#include <stddef.h>
#include <stdint.h>

enum pb_wire { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

struct pb {
    const unsigned char *p;
    size_t len;
    size_t i;
};

/* One field as read: its number, wire type and value. */
struct pb_field {
    uint32_t num;
    int wire;
    uint64_t u;             /* PB_VARINT, PB_FIXED64, PB_FIXED32 */
    const unsigned char *p; /* PB_LEN */
    size_t len;
};

static inline struct pb pb_init(const void *p, size_t len)
{
    return (struct pb){ (const unsigned char *)p, len, 0 };
}

/*
 * Reads the next field. Returns 1 with *f filled, 0 at the end of the
 * message, BL_EPARSE on malformed input (groups, the deprecated wire types
 * 3 and 4, are refused: no message we read has them).
 */
int pb_next(struct pb *r, struct pb_field *f);

/* A PB_LEN field's bytes as a sub-message reader. */
static inline struct pb pb_sub(const struct pb_field *f)
{
    return pb_init(f->p, f->len);
}

#endif
