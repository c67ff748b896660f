/*
 * fuzz_logblock.c - libFuzzer driver for the log block reader
 * (store/logblock.h). Blocks come back from disk: trusted, but a corrupt
 * one must be an error. The input's first two bytes give the line count,
 * the next two the length of the lines blob; the rest is the lines blob and
 * then the frames blob. Every frame is decoded and every record walked.
 * The same bytes are also read as a fields blob, and as a frames blob whose
 * table alone is at hand.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/buf.h"
#include "store/logblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ZSTD_DCtx *d;
    struct buf fb = BUF_INIT(LB_FRAME_MAX + 1);
    struct lb_lines ln;
    struct lb_frames fr;
    size_t nlines, llen;

    if (size < 4)
        return 0;
    if (d == NULL)
        d = ZSTD_createDCtx();
    nlines = ((size_t)data[0] | (size_t)data[1] << 8) % (LB_BLOCK_LINES + 1);
    llen = (size_t)data[2] | (size_t)data[3] << 8;
    data += 4;
    size -= 4;
    if (llen > size)
        llen = size;
    if (lb_lines_open(data, llen, nlines, &ln) == 0)
        for (size_t i = 0; i < ln.n; i++)
            (void)(lb_lines_ts(&ln, i) + lb_lines_level(&ln, i));
    {
        struct lb_fields fl;

        if (lb_fields_open(data, size, nlines, &fl) == 0)
            for (size_t i = 0; i < nlines; i++)
                for (int f = 0; f < LB_NFIELDS; f++) {
                    const char *s = NULL;
                    size_t n = 0;

                    if (lb_fields_get(&fl, f, i, &s, &n) > 0 &&
                        (s < (const char *)data || s + n > (const char *)data + size))
                        abort();
                }
    }
    if (lb_frames_head(data + llen, size - llen < 4 + 12 * 4 ? size - llen : 4 + 12 * 4,
                       size - llen, nlines, &fr) == 0) {
        for (size_t f = 0; f < fr.nframes; f++) {
            size_t start, end;

            lb_frames_span(&fr, f, &start, &end);
            if (start >= end || end > fr.data_len)
                abort();
        }
    }
    if (lb_frames_open(data + llen, size - llen, nlines, &fr) == 0) {
        for (size_t f = 0; f < fr.nframes; f++) {
            size_t first, count;

            if (lb_frames_decode(&fr, f, d, &fb, &first, &count, NULL) != 0)
                continue;
            if (lb_frames_find(&fr, first) != f)
                abort();
            {
                const unsigned char *p = (const unsigned char *)fb.p, *end = p + fb.len;
                struct lb_line l;

                for (size_t k = 0; k < count && lb_line_next(&p, end, &l) == 0; k++)
                    if (p > end)
                        abort();
            }
        }
    }
    buf_release(&fb);
    return 0;
}
