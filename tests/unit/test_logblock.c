/*
 * test_logblock.c - the log block codec (store/logblock.h): lines round-trip
 * through frames, the per-line timestamps and levels read back without
 * decompressing, the fields blob gives each line's logger, release,
 * environment and host (or says to read the record), frames decode from
 * the table alone plus their own bytes, and corrupt blobs are errors, never
 * reads out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/varint.h"
#include "store/logblock.h"
#include "t.h"

#define T0 INT64_C(1714564805000000)

static void mk_line(struct lb_line *l, size_t i, char *msg, size_t msgsz)
{
    memset(l, 0, sizeof(*l));
    snprintf(msg, msgsz, "GET /items/%zu 200 in %zu ms", i, i % 97);
    l->timestamp = T0 + (int64_t)((i * 7919) % 5000) * 1000; /* out of order on purpose */
    l->received_at = T0 + (int64_t)i;
    l->level = (int)(i % 6);
    l->source = 1;
    l->raw_encoding = 0;
    l->template_hash = UINT64_C(0xfedcba9876543210) + i;
    l->lsn = 1000 + i / 10;
    l->seq = (uint32_t)(i % 10);
    l->str[LB_EVENT_ID] = "0123456789abcdef0123456789abcdef";
    l->len[LB_EVENT_ID] = 32;
    l->str[LB_MESSAGE] = msg;
    l->len[LB_MESSAGE] = strlen(msg);
    l->str[LB_LOGGER] = i % 3 == 0 ? NULL : "app";
    l->len[LB_LOGGER] = i % 3 == 0 ? 0 : 3;
    l->str[LB_RELEASE] = i % 5 == 0 ? "" : NULL; /* empty and absent differ */
    l->str[LB_RAW] = msg;
    l->len[LB_RAW] = strlen(msg);
}

/*
 * A full block: every line reads back as it went in, from the frame that
 * holds it, whatever codec its frames were written with (codec -1: the
 * two in turn, frame after frame, as a block can hold after a change).
 */
static void round_trip(int codec)
{
    struct lb_builder b;
    struct buf lines = BUF_INIT(1 << 24), frames = BUF_INIT(1 << 26), fb = BUF_INIT(1 << 26);
    struct lb_lines ln;
    struct lb_frames fr;
    ZSTD_DCtx *d = ZSTD_createDCtx();
    char msg[128];
    size_t i;

    lb_builder_init(&b, 1);
    CHECK_INT_EQ(b.codec, LB_CODEC_DEFAULT);
    for (i = 0; i < LB_BLOCK_LINES; i++) {
        struct lb_line l;

        if (i % LB_FRAME_LINES == 0)
            lb_builder_codec(&b, codec >= 0                      ? codec
                                 : (i / LB_FRAME_LINES) % 2 == 0 ? LB_CODEC_ZSTD
                                                                 : LB_CODEC_LZ4);
        mk_line(&l, i, msg, sizeof(msg));
        CHECK_INT_EQ(lb_builder_add(&b, &l), 0);
    }
    CHECK(lb_builder_full(&b));
    {
        struct lb_line l;

        mk_line(&l, 0, msg, sizeof(msg));
        CHECK_INT_EQ(lb_builder_add(&b, &l), BL_ETOOBIG);
    }
    CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), 0);
    CHECK_INT_EQ(lb_lines_open(lines.p, lines.len, LB_BLOCK_LINES, &ln), 0);
    CHECK_INT_EQ(lb_lines_open(lines.p, lines.len, LB_BLOCK_LINES - 1, &ln), BL_EPARSE);
    CHECK_INT_EQ(lb_lines_open(lines.p, lines.len, LB_BLOCK_LINES, &ln), 0);
    CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, LB_BLOCK_LINES, &fr), 0);
    CHECK_INT_EQ(fr.nframes, LB_BLOCK_LINES / LB_FRAME_LINES);
    for (size_t f = 0; f < fr.nframes; f++) {
        const unsigned char *raw = fr.table + f * 12 + 4;
        int lz4 = (raw[3] & 0x80) != 0, want = codec >= 0 ? codec == LB_CODEC_LZ4 : (int)(f % 2);

        CHECK_INT_EQ(lz4, want);
    }
    for (i = 0; i < LB_BLOCK_LINES; i++) {
        struct lb_line want, got;
        size_t first = 0, count = 0, fi = lb_frames_find(&fr, i);
        const unsigned char *p, *end;
        char wmsg[128];

        mk_line(&want, i, wmsg, sizeof(wmsg));
        CHECK(lb_lines_ts(&ln, i) == want.timestamp);
        CHECK_INT_EQ(lb_lines_level(&ln, i), want.level);
        CHECK_INT_EQ(fi, i / LB_FRAME_LINES);
        CHECK_INT_EQ(lb_frames_decode(&fr, fi, d, &fb, &first, &count, NULL), 0);
        CHECK(first <= i && i < first + count);
        p = (const unsigned char *)fb.p;
        end = p + fb.len;
        for (size_t k = first; k <= i; k++)
            CHECK_INT_EQ(lb_line_next(&p, end, &got), 0);
        CHECK(got.timestamp == want.timestamp && got.received_at == want.received_at);
        CHECK(got.template_hash == want.template_hash && got.lsn == want.lsn);
        CHECK_INT_EQ(got.seq, want.seq);
        CHECK_INT_EQ(got.level, want.level);
        CHECK(got.len[LB_MESSAGE] == strlen(wmsg) &&
              memcmp(got.str[LB_MESSAGE], wmsg, got.len[LB_MESSAGE]) == 0);
        CHECK((got.str[LB_LOGGER] == NULL) == (want.str[LB_LOGGER] == NULL));
        CHECK((got.str[LB_RELEASE] != NULL) == (i % 5 == 0));
        CHECK(got.str[LB_TITLE] == NULL);
    }
    lb_builder_release(&b);
    buf_release(&lines);
    buf_release(&frames);
    buf_release(&fb);
    ZSTD_freeDCtx(d);
}

static void test_round_trip(void)
{
    round_trip(LB_CODEC_LZ4);
    round_trip(LB_CODEC_ZSTD); /* blocks written before stop 10 */
    round_trip(-1);
}

/* A short block after a reset; the timestamp width follows the block's span. */
static void test_short_block(void)
{
    struct lb_builder b;
    struct buf lines = BUF_INIT(1 << 20), frames = BUF_INIT(1 << 24);
    struct lb_lines ln;
    struct lb_frames fr;
    struct lb_line l;
    char msg[64];

    lb_builder_init(&b, 1);
    mk_line(&l, 1, msg, sizeof(msg));
    CHECK_INT_EQ(lb_builder_add(&b, &l), 0);
    lb_builder_reset(&b);
    CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), BL_EINVAL); /* empty */
    l.timestamp = T0;
    CHECK_INT_EQ(lb_builder_add(&b, &l), 0);
    l.timestamp = T0 + 3;
    CHECK_INT_EQ(lb_builder_add(&b, &l), 0);
    CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), 0);
    CHECK_INT_EQ(lb_lines_open(lines.p, lines.len, 2, &ln), 0);
    CHECK_INT_EQ(ln.width, 1);
    CHECK(lb_lines_ts(&ln, 1) == T0 + 3);
    CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, 2, &fr), 0);
    CHECK_INT_EQ(fr.nframes, 1);
    CHECK(b.t_min == T0 && b.t_max == T0 + 3);
    lb_builder_release(&b);
    buf_release(&lines);
    buf_release(&frames);
}

/* Every truncation and many bit flips of a block: an error or a valid decode, never a crash. */
static void corrupt(int codec)
{
    struct lb_builder b;
    struct buf lines = BUF_INIT(1 << 20), frames = BUF_INIT(1 << 24), fb = BUF_INIT(1 << 26);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    struct lb_frames fr;
    char msg[64];
    size_t i, errors = 0;

    lb_builder_init(&b, 1);
    lb_builder_codec(&b, codec);
    for (i = 0; i < 300; i++) {
        struct lb_line l;

        mk_line(&l, i, msg, sizeof(msg));
        lb_builder_add(&b, &l);
    }
    CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), 0);
    for (i = 0; i < frames.len; i += 7) {
        struct lb_lines ln;

        if (lb_frames_open(frames.p, i, 300, &fr) != 0)
            errors++;
        if (lb_lines_open(lines.p, i < lines.len ? i : lines.len - 1, 300, &ln) != 0)
            errors++;
    }
    CHECK(errors > 0);
    for (i = 0; i < frames.len; i += 13) {
        char *copy = malloc(frames.len);
        size_t first, count;

        memcpy(copy, frames.p, frames.len);
        copy[i] ^= 0x5a;
        if (lb_frames_open(copy, frames.len, 300, &fr) == 0) {
            for (size_t f = 0; f < fr.nframes; f++) {
                if (lb_frames_decode(&fr, f, d, &fb, &first, &count, NULL) == 0) {
                    const unsigned char *p = (const unsigned char *)fb.p, *end = p + fb.len;
                    struct lb_line got;

                    for (size_t k = 0; k < count && lb_line_next(&p, end, &got) == 0; k++)
                        CHECK(p <= end);
                }
            }
        }
        free(copy);
    }
    lb_builder_release(&b);
    buf_release(&lines);
    buf_release(&frames);
    buf_release(&fb);
    ZSTD_freeDCtx(d);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * A frame read as the other codec, cut short, or claiming more or fewer
 * bytes than it holds is refused: the size must come out exact.
 */
static void codec_mismatch(int codec)
{
    struct lb_builder b;
    struct buf lines = BUF_INIT(1 << 20), frames = BUF_INIT(1 << 24), fb = BUF_INIT(1 << 26);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    struct lb_frames fr;
    char msg[64];
    size_t first, count;
    unsigned char *raw;
    uint32_t size;

    lb_builder_init(&b, 1);
    lb_builder_codec(&b, codec);
    for (size_t i = 0; i < 40; i++) {
        struct lb_line l;

        mk_line(&l, i, msg, sizeof(msg));
        CHECK_INT_EQ(lb_builder_add(&b, &l), 0);
    }
    CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), 0);
    CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, 40, &fr), 0);
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), 0);
    CHECK(first == 0 && count == 40);
    raw = (unsigned char *)frames.p + 4 + 4;
    size = rd32(raw);
    wr32(raw, size ^ LB_FRAME_LZ4); /* the other codec */
    CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, 40, &fr), 0);
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), BL_EPARSE);
    wr32(raw, size + 1); /* one byte more than the frame holds */
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), BL_EPARSE);
    wr32(raw, size - 1); /* one byte fewer */
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), BL_EPARSE);
    wr32(raw, (size & LB_FRAME_LZ4) | (LB_FRAME_MAX + 1)); /* past LB_FRAME_MAX */
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), BL_EPARSE);
    wr32(raw, size);
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), 0);
    /* the compressed bytes cut short: the frame ends a byte earlier */
    wr32((unsigned char *)frames.p + 4, rd32((unsigned char *)frames.p + 4) - 1);
    frames.len--;
    CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, 40, &fr), 0);
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), BL_EPARSE);
    lb_builder_release(&b);
    buf_release(&lines);
    buf_release(&frames);
    buf_release(&fb);
    ZSTD_freeDCtx(d);
}

static void test_corrupt(void)
{
    corrupt(LB_CODEC_LZ4);
    corrupt(LB_CODEC_ZSTD);
    codec_mismatch(LB_CODEC_LZ4);
    codec_mismatch(LB_CODEC_ZSTD);
}

/* Field f's expected value for line i of test_fields (NULL: none). */
static const char *field_want(int f, size_t i, char *tmp, size_t tmpsz)
{
    switch (f) {
    case 0: /* logger: a few values, one too long for the dictionary */
        if (i % 9 == 0)
            return NULL;
        if (i % 50 == 1) {
            memset(tmp, 'x', 300);
            tmp[300] = '\0';
            return tmp;
        }
        snprintf(tmp, tmpsz, "app.mod%zu", i % 4);
        return tmp;
    case 1: /* release: more distinct values than a dictionary holds */
        snprintf(tmp, tmpsz, "r%zu", i);
        return tmp;
    case 2: /* environment: empty is a value */
        return i % 2 ? "" : "prod";
    case 3: /* host */
        snprintf(tmp, tmpsz, "h\xc3\xb6st-%zu", i % 7);
        return tmp;
    default: /* service: none, a few values, or "other" (i % 5 == 0: the payload must say) */
        if (i % 5 == 1)
            return NULL;
        snprintf(tmp, tmpsz, "svc%zu", i % 3);
        return tmp;
    }
}

static void set_field(struct lb_line *l, int f, size_t i, const char *v)
{
    if (f == LB_FIELD_SERVICE) {
        l->service = v;
        l->service_len = v != NULL ? strlen(v) : 0;
        l->service_other = i % 5 == 0;
        return;
    }
    l->str[lb_field_str[f]] = v;
    l->len[lb_field_str[f]] = v != NULL ? strlen(v) : 0;
}

/* The blob as a block from before service was a field writes it: 4 fields. */
static void four_fields(const struct buf *in, size_t n, struct buf *out)
{
    const unsigned char *u = (const unsigned char *)in->p + 4;

    for (int f = 0; f < LB_NFIELDS - 1; f++) {
        size_t nv = *u++;

        for (size_t k = 0; k < nv; k++)
            u += 1 + *u;
    }
    buf_reset(out);
    buf_add(out, in->p, (size_t)(u - (const unsigned char *)in->p));
    out->p[1] = LB_NFIELDS - 1;
    /* past the service dictionary to the codes; the service codes are the last n */
    for (size_t nv = *u++, k = 0; k < nv; k++)
        u += 1 + *u;
    buf_add(out, u, (size_t)(LB_NFIELDS - 1) * n);
}

/* Every line's fields read back from the fields blob, or a -1 for those past it. */
static void test_fields(void)
{
    struct lb_builder b;
    struct buf lines = BUF_INIT(1 << 20), frames = BUF_INIT(1 << 24), fields = BUF_INIT(1 << 20);
    struct buf fb = BUF_INIT(1 << 26);
    struct lb_fields fl;
    struct lb_frames fr, whole;
    ZSTD_DCtx *d = ZSTD_createDCtx();
    char tmp[LB_NFIELDS][400], msg[64];
    size_t i, n = 600, other = 0;

    lb_builder_init(&b, 1);
    for (i = 0; i < n; i++) {
        struct lb_line l;

        mk_line(&l, i, msg, sizeof(msg));
        for (int f = 0; f < LB_NFIELDS; f++)
            set_field(&l, f, i, field_want(f, i, tmp[f], sizeof(tmp[f])));
        CHECK_INT_EQ(lb_builder_add(&b, &l), 0);
    }
    CHECK_INT_EQ(lb_builder_fields(&b, &fields), 0);
    CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), 0);
    CHECK_INT_EQ(lb_fields_open(fields.p, fields.len, n, &fl), 0);
    CHECK(lb_fields_open(fields.p, fields.len, n - 1, &fl) != 0);
    CHECK_INT_EQ(lb_fields_open(fields.p, fields.len, n, &fl), 0);
    for (i = 0; i < n; i++) {
        for (int f = 0; f < LB_NFIELDS; f++) {
            const char *want = field_want(f, i, tmp[0], sizeof(tmp[0])), *got = NULL;
            size_t len = 0;
            int r = lb_fields_get(&fl, f, i, &got, &len);

            if (r < 0) {
                other++;
                CHECK(want != NULL &&
                      (strlen(want) > 255 || f == 1 || (f == LB_FIELD_SERVICE && i % 5 == 0)));
                continue;
            }
            CHECK(f != LB_FIELD_SERVICE || i % 5 != 0);
            CHECK_INT_EQ(r, want != NULL);
            if (r > 0)
                CHECK(len == strlen(want) && memcmp(got, want, len) == 0);
        }
    }
    CHECK(other > n - LB_FIELD_DICT); /* releases past the dictionary, the long loggers */
    /* a block written before service was a field: the others read alike, service never */
    {
        struct buf old = BUF_INIT(1 << 20);
        struct lb_fields ofl;

        four_fields(&fields, n, &old);
        CHECK_INT_EQ(lb_fields_open(old.p, old.len, n, &ofl), 0);
        for (i = 0; i < n; i++) {
            const char *a = NULL, *o = NULL;
            size_t al = 0, ol = 0;

            for (int f = 0; f < LB_FIELD_SERVICE; f++) {
                int r = lb_fields_get(&fl, f, i, &a, &al);

                CHECK_INT_EQ(lb_fields_get(&ofl, f, i, &o, &ol), r);
                if (r > 0)
                    CHECK(al == ol && memcmp(a, o, al) == 0);
            }
            CHECK_INT_EQ(lb_fields_get(&ofl, LB_FIELD_SERVICE, i, &o, &ol), -1);
        }
        buf_release(&old);
    }
    /* truncated or flipped blobs are errors or readable, never out of bounds */
    for (i = 0; i < fields.len; i += 5)
        CHECK(lb_fields_open(fields.p, i, n, &fl) != 0);
    /* the frame table alone, then one frame from its own bytes */
    CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, n, &whole), 0);
    CHECK_INT_EQ(lb_frames_head(frames.p, 4 + whole.nframes * 12, frames.len, n, &fr), 0);
    CHECK(lb_frames_head(frames.p, 4 + whole.nframes * 12 - 1, frames.len, n, &fr) != 0);
    CHECK_INT_EQ(lb_frames_head(frames.p, 4 + whole.nframes * 12, frames.len, n, &fr), 0);
    for (size_t f = 0; f < fr.nframes; f++) {
        size_t start, end, first, count;
        struct lb_line l;
        const unsigned char *p, *e;

        lb_frames_span(&fr, f, &start, &end);
        CHECK_INT_EQ(lb_frames_decode_at(&fr, f, whole.data + start, d, &fb, &first, &count, NULL),
                     0);
        p = (const unsigned char *)fb.p;
        e = p + fb.len;
        CHECK_INT_EQ(lb_line_next(&p, e, &l), 0);
        CHECK_INT_EQ(l.lsn, 1000 + first / 10);
    }
    lb_builder_release(&b);
    buf_release(&lines);
    buf_release(&frames);
    buf_release(&fields);
    buf_release(&fb);
    ZSTD_freeDCtx(d);
}

/* Every field of got is want's, strings byte for byte (NULL stays NULL, empty stays empty). */
static int same_line(const struct lb_line *want, const struct lb_line *got)
{
    if (got->timestamp != want->timestamp || got->received_at != want->received_at ||
        got->level != want->level || got->source != want->source ||
        got->raw_encoding != want->raw_encoding || got->template_hash != want->template_hash ||
        got->lsn != want->lsn || got->seq != want->seq)
        return 0;
    for (int i = 0; i < LB_NSTR; i++) {
        if ((got->str[i] == NULL) != (want->str[i] == NULL))
            return 0;
        if (want->str[i] != NULL &&
            (got->len[i] != want->len[i] || memcmp(got->str[i], want->str[i], want->len[i]) != 0))
            return 0;
    }
    return 1;
}

/* The id the ingest derives from (lsn, seq), with tail as its hash part. */
static void derived(char out[33], uint64_t lsn, uint32_t seq, const char *tail)
{
    snprintf(out, 33, "%016llx%08x%s", (unsigned long long)lsn, (unsigned)seq, tail);
}

#define NSHAPES 10

/* Line shape k of test_compact: each takes another branch of the compact record. */
static void mk_shape(struct lb_line *l, int k, char id[33], char raw[2048])
{
    static const char msg[] = "GET /api/orders/12583 HTTP/1.1 200 44440 188.32ms";
    static const char rid[] = "a1be89ab6cecf0c2e629292a2d718dec";

    memset(l, 0, sizeof(*l));
    l->timestamp = T0 + k;
    l->received_at = T0 + 1000 + k;
    l->level = 2;
    l->source = 1;
    l->template_hash = 77 + (uint64_t)k;
    l->lsn = UINT64_C(0x123456789a) + (uint64_t)k;
    l->seq = 1000u + (uint32_t)k;
    derived(id, l->lsn, l->seq, "1bcf34be");
    snprintf(raw, 512, "{\"logger\":\"nginx.access\",\"request_id\":\"%s\",\"message\":\"%s\"}",
             rid, msg);
    l->str[LB_EVENT_ID] = id;
    l->str[LB_MESSAGE] = l->str[LB_TITLE] = msg;
    l->str[LB_LOGGER] = l->str[LB_CULPRIT] = "nginx.access";
    l->str[LB_SERVER_NAME] = "web-7";
    l->str[LB_REQUEST_ID] = rid;
    l->str[LB_RAW] = raw;
    switch (k) {
    case 1: /* looks derived, but upper case: kept as it is */
        derived(id, l->lsn, l->seq, "1BCF34BE");
        break;
    case 2: /* derived from another position */
        derived(id, l->lsn + 1, l->seq, "1bcf34be");
        break;
    case 3: /* a compressed payload: no places in it */
        l->raw_encoding = 1;
        break;
    case 4: /* no payload; an empty title, a culprit of its own */
        l->str[LB_RAW] = NULL;
        l->str[LB_TITLE] = "";
        l->str[LB_CULPRIT] = "views.orders";
        break;
    case 5: /* the message twice in the payload, a short id, no logger */
        snprintf(raw, 2048, "%s %s", msg, msg);
        l->str[LB_EVENT_ID] = "abc";
        l->str[LB_LOGGER] = NULL;
        break;
    case 6: /* a title of its own and strings the payload does not hold */
        l->str[LB_TITLE] = "OrderError: 12583";
        l->str[LB_REQUEST_ID] = "ffffffffffffffffffffffffffffffff";
        l->str[LB_TAGS_JSON] = "[[\"k\",\"v\"]]";
        break;
    case 7: /* the payload's end */
        snprintf(raw, 2048, "x %s", msg);
        l->str[LB_EVENT_ID] = NULL;
        break;
    case 9: /* near misses (the same first and last bytes) before the message: found only so many times */
        raw[0] = '\0';
        for (int i = 0; i < 20; i++)
            snprintf(raw + strlen(raw), 2048 - strlen(raw), "%.10sX%s ", msg, msg + 11);
        snprintf(raw + strlen(raw), 2048 - strlen(raw), "%s", msg);
        break;
    default:
        break;
    }
    for (int i = 0; i < LB_NSTR; i++)
        l->len[i] = l->str[i] != NULL ? strlen(l->str[i]) : 0;
}

/* Compact records read back as they went in, whichever branch their strings took. */
static void test_compact(void)
{
    struct lb_builder b;
    struct buf lines = BUF_INIT(1 << 20), frames = BUF_INIT(1 << 24), fb = BUF_INIT(1 << 24);
    struct lb_frames fr;
    ZSTD_DCtx *d = ZSTD_createDCtx();
    char id[NSHAPES][33], raw[NSHAPES][2048];
    struct lb_line want[NSHAPES];
    size_t first = 0, count = 0;
    const unsigned char *p, *end;

    lb_builder_init(&b, 1);
    for (int k = 0; k < NSHAPES; k++) {
        mk_shape(&want[k], k, id[k], raw[k]);
        CHECK_INT_EQ(lb_builder_add(&b, &want[k]), 0);
    }
    CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), 0);
    CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, NSHAPES, &fr), 0);
    CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), 0);
    CHECK_INT_EQ(count, NSHAPES);
    p = (const unsigned char *)fb.p;
    end = p + fb.len;
    for (int k = 0; k < NSHAPES; k++) {
        struct lb_line got;
        const unsigned char *at = p;

        CHECK_INT_EQ(lb_line_next(&p, end, &got), 0);
        CHECK(same_line(&want[k], &got));
        CHECK((at[2] & LB_REC_V2) != 0);
        CHECK_INT_EQ((at[2] & LB_REC_ID) != 0,
                     k == 0 || k == 3 || k == 4 || k == 6 || k == 8 || k == 9);
        /* the first shape stores its payload and a few bytes more, nothing twice */
        if (k == 0)
            CHECK((size_t)(p - at) < want[0].len[LB_RAW] + 64);
        if (k == 9) /* the message given up on: stored as it is */
            CHECK((size_t)(p - at) > want[9].len[LB_RAW] + want[9].len[LB_MESSAGE]);
    }
    CHECK(p == end);
    lb_builder_release(&b);
    buf_release(&lines);
    buf_release(&frames);
    buf_release(&fb);
    ZSTD_freeDCtx(d);
}

/*
 * A string is found in the payload wherever it lies: at every place from
 * the start to the end of payloads of every length around the 16 places
 * looked at together (and one by one past them); one byte off at either
 * end, it is not found and is stored as it is.
 */
static void test_found_places(void)
{
    static const char msg[] = "payment failed for order 4711: card declined";
    const size_t n = sizeof(msg) - 1;
    ZSTD_DCtx *d = ZSTD_createDCtx();

    for (size_t before = 0; before < 40; before++) {
        for (size_t after = 0; after < 20; after++) {
            for (int miss = 0; miss < 3; miss++) {
                struct lb_builder b;
                struct buf lines = BUF_INIT(1 << 20), frames = BUF_INIT(1 << 20);
                struct buf fb = BUF_INIT(1 << 20);
                struct lb_frames fr;
                struct lb_line want, got;
                char raw[128];
                size_t first = 0, count = 0, len = before + n + after;
                const unsigned char *p, *end;

                memset(raw, 'q', sizeof(raw));
                memcpy(raw + before, msg, n);
                if (miss == 1)
                    raw[before] = 'P'; /* the first byte off */
                else if (miss == 2)
                    raw[before + n - 1] = 'E'; /* the last byte off */
                memset(&want, 0, sizeof(want));
                want.timestamp = T0;
                want.level = 2;
                want.str[LB_MESSAGE] = msg;
                want.len[LB_MESSAGE] = n;
                want.str[LB_RAW] = raw;
                want.len[LB_RAW] = len;
                lb_builder_init(&b, 1);
                CHECK_INT_EQ(lb_builder_add(&b, &want), 0);
                CHECK_INT_EQ(lb_builder_finish(&b, &lines, &frames), 0);
                CHECK_INT_EQ(lb_frames_open(frames.p, frames.len, 1, &fr), 0);
                CHECK_INT_EQ(lb_frames_decode(&fr, 0, d, &fb, &first, &count, NULL), 0);
                CHECK_INT_EQ(count, 1);
                p = (const unsigned char *)fb.p;
                end = p + fb.len;
                CHECK_INT_EQ(lb_line_next(&p, end, &got), 0);
                CHECK(same_line(&want, &got));
                CHECK(p == end);
                /* found: the message is a place, not its bytes a second time */
                CHECK_INT_EQ(fb.len < len + n, miss != 0 ? 0 : 1);
                lb_builder_release(&b);
                buf_release(&lines);
                buf_release(&frames);
                buf_release(&fb);
            }
        }
    }
    ZSTD_freeDCtx(d);
}

/* lb_id_derived against the id written out by snprintf, and every digit of it off. */
static void test_id_derived(void)
{
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);

    for (int round = 0; round < 2000; round++) {
        uint64_t lsn = round < 4 ? (round & 1 ? UINT64_MAX : 0) : x;
        uint32_t seq = round < 4 ? (round & 2 ? UINT32_MAX : 0) : (uint32_t)(x >> 17);
        char id[33];

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        snprintf(id, sizeof(id), "%016llx%08xdeadbeef", (unsigned long long)lsn, (unsigned)seq);
        CHECK(lb_id_derived(id, lsn, seq));
        CHECK(!lb_id_derived(id, lsn + 1, seq));
        CHECK(!lb_id_derived(id, lsn, seq ^ 0x80000000u));
        for (int i = 0; i < 24; i++) {
            char c = id[i];

            id[i] = c == '9' ? 'a' : c == 'f' ? 'F' : (char)(c + 1);
            CHECK(!lb_id_derived(id, lsn, seq));
            id[i] = c;
        }
    }
}

/* A record as builds before the compact form wrote it. */
static void put_v1(struct buf *f, const struct lb_line *l)
{
    unsigned char head[3] = { (unsigned char)l->level, (unsigned char)l->source,
                              (unsigned char)l->raw_encoding };

    buf_add(f, head, 3);
    varint_put(f, varint_zz(l->timestamp));
    varint_put(f, varint_zz(l->received_at));
    varint_put(f, l->template_hash);
    varint_put(f, l->lsn);
    varint_put(f, l->seq);
    for (int i = 0; i < LB_NSTR; i++) {
        varint_put(f, l->str[i] != NULL ? l->len[i] + 1 : 0);
        if (l->str[i] != NULL)
            buf_add(f, l->str[i], l->len[i]);
    }
}

/* Records written before the compact form (day files of earlier builds) read as they were. */
static void test_v1(void)
{
    struct buf f = BUF_INIT(1 << 20);
    char id[NSHAPES][33], raw[NSHAPES][2048];
    struct lb_line want[NSHAPES];
    const unsigned char *p, *end;

    for (int k = 0; k < NSHAPES; k++) {
        mk_shape(&want[k], k, id[k], raw[k]);
        put_v1(&f, &want[k]);
    }
    p = (const unsigned char *)f.p;
    end = p + f.len;
    for (int k = 0; k < NSHAPES; k++) {
        struct lb_line got;

        CHECK_INT_EQ(lb_line_next(&p, end, &got), 0);
        CHECK(same_line(&want[k], &got));
    }
    CHECK(p == end);
    buf_release(&f);
}

/* A compact record: the fixed part (flags in the encoding byte), then the string tags in t. */
static int read_v2(unsigned flags, const uint64_t *t, size_t nt, const char *tail)
{
    struct buf f = BUF_INIT(1 << 16);
    unsigned char head[3] = { 1, 1, (unsigned char)(LB_REC_V2 | flags) };
    struct lb_line l;
    const unsigned char *p;
    int rc;

    buf_add(&f, head, 3);
    for (int i = 0; i < 5; i++)
        varint_put(&f, 5);
    for (size_t i = 0; i < nt; i++)
        varint_put(&f, t[i]);
    buf_addstr(&f, tail);
    p = (const unsigned char *)f.p;
    rc = lb_line_next(&p, p + f.len, &l);
    buf_release(&f);
    return rc;
}

/* Compact records that point outside themselves are errors. */
static void test_v2_corrupt(void)
{
    /* 13 strings: the raw text "abcdefgh" (8 bytes: tag 17) last */
    uint64_t ok[LB_NSTR + 1] = { 0 }, t[LB_NSTR + 1];

    ok[LB_RAW] = 17;
    CHECK_INT_EQ(read_v2(0, ok, LB_NSTR, "abcdefgh"), 0);
    memcpy(t, ok, sizeof(t));
    t[LB_MESSAGE] = 4 << 2 | 2; /* "efgh": 4 bytes at 4, below */
    {
        struct buf f = BUF_INIT(1 << 16);
        unsigned char head[3] = { 1, 1, LB_REC_V2 };
        struct lb_line l;
        const unsigned char *p;
        size_t at = 0;

        buf_add(&f, head, 3);
        for (int i = 0; i < 5; i++)
            varint_put(&f, 5);
        for (int i = 0; i < LB_NSTR; i++) {
            varint_put(&f, t[i]);
            if (i == LB_MESSAGE) {
                at = f.len;
                varint_put(&f, 4);
            }
        }
        buf_addstr(&f, "abcdefgh");
        p = (const unsigned char *)f.p;
        CHECK_INT_EQ(lb_line_next(&p, p + f.len, &l), 0);
        CHECK(l.len[LB_MESSAGE] == 4 && memcmp(l.str[LB_MESSAGE], "efgh", 4) == 0);
        /* past the raw text's end: 4 bytes at 5 */
        f.p[at] = 5;
        p = (const unsigned char *)f.p;
        CHECK_INT_EQ(lb_line_next(&p, p + f.len, &l), BL_EPARSE);
        buf_release(&f);
    }
    /* a place in a raw text there is not */
    memcpy(t, ok, sizeof(t));
    t[LB_MESSAGE] = 4 << 2 | 2;
    t[LB_MESSAGE + 1] = 0; /* read as the offset */
    t[LB_RAW] = 0;
    CHECK_INT_EQ(read_v2(0, t, LB_NSTR + 1, ""), BL_EPARSE);
    /* the raw text as a place in itself */
    memcpy(t, ok, sizeof(t));
    t[LB_RAW] = 4 << 2 | 2;
    CHECK_INT_EQ(read_v2(0, t, LB_NSTR, ""), BL_EPARSE);
    /* the same as itself, or as a later string */
    memcpy(t, ok, sizeof(t));
    t[LB_TITLE] = (uint64_t)(LB_TITLE + 1) << 2;
    CHECK_INT_EQ(read_v2(0, t, LB_NSTR, "abcdefgh"), BL_EPARSE);
    t[LB_TITLE] = (uint64_t)(LB_RAW + 1) << 2;
    CHECK_INT_EQ(read_v2(0, t, LB_NSTR, "abcdefgh"), BL_EPARSE);
    t[LB_TITLE] = (uint64_t)(LB_MESSAGE + 1) << 2;
    CHECK_INT_EQ(read_v2(0, t, LB_NSTR, "abcdefgh"), 0);
    /* a literal longer than the record; a derived id cut short */
    memcpy(t, ok, sizeof(t));
    t[LB_RAW] = 19;
    CHECK_INT_EQ(read_v2(0, t, LB_NSTR, "abcdefgh"), BL_EPARSE);
    CHECK_INT_EQ(read_v2(LB_REC_ID, NULL, 0, "abc"), BL_EPARSE);
}

int main(void)
{
    test_round_trip();
    test_fields();
    test_short_block();
    test_corrupt();
    test_compact();
    test_found_places();
    test_id_derived();
    test_v1();
    test_v2_corrupt();
    return t_done();
}
