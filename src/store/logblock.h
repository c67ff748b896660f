/*
 * logblock.h - the byte layout of a block of log lines (pure: no SQLite).
 *
 * A block holds up to LB_BLOCK_LINES log lines of one project in one day
 * file, as two blobs:
 *
 *   lines   what filters and histograms read without decompressing:
 *           u8 width (1..8), i64 base (LE), u32 nlines (LE), then nlines
 *           timestamps as width-byte LE offsets from base, then nlines
 *           level bytes, then nlines flag bytes (LB_FLAG_*).
 *   frames  the lines themselves, in frames of at most LB_FRAME_LINES lines,
 *           each frame one zstd frame or one LZ4 block: u32 nframes, then
 *           per frame u32 end offset (in the data), u32 decompressed size
 *           (its top bit LB_FRAME_LZ4 set for an LZ4 block) and u32 first
 *           line index, then the compressed data. A frame decompresses to
 *           its line records one after the other (lb_line_next).
 *
 * Blocks come back from disk, so every reader checks bounds: a corrupt
 * blob is BL_EPARSE, never a read past its end.
 */
#ifndef BL_LOGBLOCK_H
#define BL_LOGBLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

#define LB_BLOCK_LINES 1024
/*
 * A query decompresses the whole frame of each line it reads: frames of 64
 * lines took half the decompression of 128 for 3.6% more disk (bench lines:
 * 106 bytes of frames a line against 99; 32 lines: 117). Blocks written
 * with 128 read the same (the frame table gives every frame's lines).
 */
#define LB_FRAME_LINES 64
/*
 * Frames are written with LZ4 since stop 10 (blocks before: zstd level 1;
 * both read, frame by frame). A bench line's frame bytes cost LZ4 3,200
 * instructions to compress against zstd's 8,300, and a 64-line frame
 * 63,000 to decompress against 193,000, for 139 bytes a line against 93
 * (docs/bench.md "Log frames in LZ4, prepare without its sorts (stop 10)").
 */
#define LB_CODEC_ZSTD 0
#define LB_CODEC_LZ4 1
#define LB_CODEC_DEFAULT LB_CODEC_LZ4
/* In a frame's decompressed size: the frame is an LZ4 block, else a zstd frame. */
#define LB_FRAME_LZ4 0x80000000u
/* A frame is closed early once its records reach this many bytes. */
#define LB_FRAME_BYTES (1u << 20)
/* A frame whose decompressed size claims more is refused. */
#define LB_FRAME_MAX (96u << 20)

/* The strings of a line record, in record order. */
enum lb_str {
    LB_EVENT_ID = 0,
    LB_FINGERPRINT,
    LB_LOGGER,
    LB_MESSAGE,
    LB_TITLE,
    LB_CULPRIT,
    LB_RELEASE,
    LB_ENVIRONMENT,
    LB_SERVER_NAME,
    LB_TRACE_ID,
    LB_REQUEST_ID,
    LB_TAGS_JSON,
    LB_RAW,
    LB_NSTR
};

/*
 * Facet fields: every line's logger, release, environment, host and
 * service as a code into a small per-block dictionary (the fields blob,
 * optional: blocks written before it have none), so facets and other
 * field reads need not decompress a frame:
 *   u8 version (1), u8 nfields, u16 nlines (LE), then per field u8 n and
 *   n values (u8 length, bytes), then per field nlines codes: 0 no value,
 *   1..n a dictionary value, LB_FIELD_OTHER not in the dictionary (too many
 *   distinct values or too long: read the line's record; for service, which
 *   no record string holds, its payload: logattr.h).
 * nfields is LB_NFIELDS, or 4 in blocks written before service was a field
 * (their service is LB_FIELD_OTHER for every line).
 */
#define LB_NFIELDS 5
#define LB_FIELD_SERVICE 4 /* the field that is not a record string (lb_field_str -1) */
#define LB_FIELD_DICT 254
#define LB_FIELD_OTHER 255
extern const int lb_field_str[LB_NFIELDS]; /* the enum lb_str of each field */

/*
 * Line flags. PLAIN: the line's full-text fields are ASCII, where the
 * full-text index and query_match cut the same words, so the index alone
 * decides a word query for it.
 */
#define LB_FLAG_PLAIN 1u

/*
 * Flags of a record's encoding byte (logblock.c): the compact form, and
 * the event id derived from (lsn, seq). A string of at least LB_REF_MIN
 * bytes found in the raw text is stored as its place there.
 */
#define LB_REC_V2 0x80u
#define LB_REC_ID 0x40u
#define LB_REF_MIN 8

/* A little-endian u32 of the block formats. */
static inline uint32_t lb_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * 8 bytes: x's 8 lower-case hex digits, the most significant first, as a
 * little-endian load of them reads (each nibble spread to its byte, 10-15
 * lifted to 'a'-'f' by a carry per byte). About 15 instructions where a
 * table load and a compare a digit took 60.
 */
static inline uint64_t lb_hex8(uint32_t x)
{
    uint64_t v = x, ten;

    v = (v & UINT64_C(0xffff)) << 32 | (v >> 16);
    v = (v & UINT64_C(0x000000ff000000ff)) << 16 | ((v >> 8) & UINT64_C(0x000000ff000000ff));
    v = (v & UINT64_C(0x000f000f000f000f)) << 8 | ((v >> 4) & UINT64_C(0x000f000f000f000f));
    ten = ((v + UINT64_C(0x0606060606060606)) >> 4) & UINT64_C(0x0101010101010101);
    return v + UINT64_C(0x3030303030303030) + ten * ('a' - '0' - 10);
}

/*
 * Whether id's first 24 bytes are lsn's 16 and seq's 8 lower-case hex
 * digits: the event id the ingest derives for a line without its own.
 */
static inline int lb_id_derived(const char *id, uint64_t lsn, uint32_t seq)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w[3];

    memcpy(w, id, sizeof(w));
    return ((w[0] ^ lb_hex8((uint32_t)(lsn >> 32))) | (w[1] ^ lb_hex8((uint32_t)lsn)) |
            (w[2] ^ lb_hex8(seq))) == 0;
#else
    static const char hexdig[] = "0123456789abcdef";

    for (int i = 0; i < 16; i++)
        if (id[i] != hexdig[(lsn >> (60 - 4 * i)) & 15])
            return 0;
    for (int i = 0; i < 8; i++)
        if (id[16 + i] != hexdig[(seq >> (28 - 4 * i)) & 15])
            return 0;
    return 1;
#endif
}

/*
 * One log line as a frame stores it; strings point into the caller's
 * memory (NULL: none). A derived event id read back is built in id, so a
 * line read by lb_line_next is not to be copied by value.
 */
struct lb_line {
    unsigned flags; /* LB_FLAG_*, kept in the lines blob only */
    int64_t timestamp;
    int64_t received_at;
    int level;
    int source;
    int raw_encoding;
    uint64_t template_hash;
    uint64_t lsn;
    uint32_t seq;
    const char *str[LB_NSTR];
    size_t len[LB_NSTR];
    /* service (logattr.h): the value (NULL: none), or other set when the payload must say */
    const char *service;
    size_t service_len;
    int service_other;
    char id[33];
};

/* Building one block (the digest's writer). */
struct lb_builder {
    struct buf frame; /* records of the frame being filled */
    struct buf data;  /* compressed frames so far */
    struct buf table; /* the frame table so far */
    size_t nframes;
    size_t nlines;     /* lines in the block */
    size_t frame_from; /* first line index of the frame being filled */
    int64_t ts[LB_BLOCK_LINES];
    unsigned char level[LB_BLOCK_LINES];
    unsigned char flags[LB_BLOCK_LINES];
    int64_t t_min, t_max;
    uint64_t lsn_min, lsn_max;
    unsigned level_mask;
    /* the fields blob being gathered */
    struct buf fdict[LB_NFIELDS];
    size_t fdoff[LB_NFIELDS][LB_FIELD_DICT];
    size_t fnd[LB_NFIELDS];
    unsigned char fcode[LB_NFIELDS][LB_BLOCK_LINES];
    unsigned char fhash[LB_NFIELDS][256]; /* a value's hash -> its code, 0 none (a hint) */
    void *zc;                             /* ZSTD_CCtx, owned */
    int zlevel;
    void *lz;  /* LZ4's compression state, owned */
    int codec; /* LB_CODEC_*: what the next frames are written with */
};

void lb_builder_init(struct lb_builder *b, int zlevel);
void lb_builder_release(struct lb_builder *b);
/* The codec of the frames closed from now on (LB_CODEC_DEFAULT after init). */
void lb_builder_codec(struct lb_builder *b, int codec);
/* Empties the block (keeps the memory). */
void lb_builder_reset(struct lb_builder *b);
/* Appends a line: BL_ETOOBIG when the block is full (check lb_builder_full first). */
int lb_builder_add(struct lb_builder *b, const struct lb_line *l);
int lb_builder_full(const struct lb_builder *b);
/* Closes the block into its two blobs (appended to lines and frames). */
int lb_builder_finish(struct lb_builder *b, struct buf *lines, struct buf *frames);

/* The block's fields blob (appended to out). */
int lb_builder_fields(const struct lb_builder *b, struct buf *out);

/* Reading the fields blob. */
struct lb_fields {
    size_t n;
    const unsigned char *val[LB_NFIELDS][LB_FIELD_DICT]; /* length byte, then the bytes */
    const unsigned char *codes[LB_NFIELDS];
};

int lb_fields_open(const void *p, size_t len, size_t nlines, struct lb_fields *out);
/* Field f (0..LB_NFIELDS-1) of line i: 0 none, 1 with s and len, -1 not in the blob (read the record). */
int lb_fields_get(const struct lb_fields *fl, int f, size_t i, const char **s, size_t *len);

/* Reading the lines blob. */
struct lb_lines {
    size_t n;
    int width;
    int64_t base;
    const unsigned char *offs, *levels, *flags;
};

/* nlines: what the block's row says; a blob that disagrees is BL_EPARSE. */
int lb_lines_open(const void *p, size_t len, size_t nlines, struct lb_lines *out);
int64_t lb_lines_ts(const struct lb_lines *l, size_t i);
int lb_lines_level(const struct lb_lines *l, size_t i);
unsigned lb_lines_flags(const struct lb_lines *l, size_t i);

/* Reading the frames blob. */
struct lb_frames {
    size_t nframes, nlines;
    const unsigned char *table, *data;
    size_t data_len;
};

int lb_frames_open(const void *p, size_t len, size_t nlines, struct lb_frames *out);
/*
 * The same from the blob's first head_len bytes only (at least its count and
 * table) when the blob is len bytes: data stays NULL, frames are decoded
 * with lb_frames_decode_at from their bytes read separately.
 */
int lb_frames_head(const void *head, size_t head_len, size_t len, size_t nlines,
                   struct lb_frames *out);
/* Where frame fi's compressed bytes are in the data (after the table). */
void lb_frames_span(const struct lb_frames *f, size_t fi, size_t *start, size_t *end);
/* The frame holding line index i. */
size_t lb_frames_find(const struct lb_frames *f, size_t i);
/*
 * Decompresses frame fi into out (reset first) with dctx (a ZSTD_DCtx,
 * for zstd frames); *first and *count are its line indexes.
 */
int lb_frames_decode(const struct lb_frames *f, size_t fi, void *dctx, struct buf *out,
                     size_t *first, size_t *count, struct bl_err *err);
/* The same from z, frame fi's compressed bytes (lb_frames_span long). */
int lb_frames_decode_at(const struct lb_frames *f, size_t fi, const void *z, void *dctx,
                        struct buf *out, size_t *first, size_t *count, struct bl_err *err);
/* Parses the record at *p (advanced past it); strings point into [*p, end). */
int lb_line_next(const unsigned char **p, const unsigned char *end, struct lb_line *out);

#endif
