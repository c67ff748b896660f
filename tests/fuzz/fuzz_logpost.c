/*
 * fuzz_logpost.c - libFuzzer driver for the word postings reader
 * (store/logpost.h). Pages come back from disk: trusted, but a corrupt one
 * must be an error. The input's first byte says where it is cut in two;
 * each half is read as a page (every entry, its ordinals and cells), a
 * token taken from the input is looked up, and the halves are merged as
 * two segments, whose result is read back the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/logpost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const unsigned char *p, const unsigned char *end)
{
    struct lp_entry e;

    while (lp_entry_next(&p, end, &e) == 1) {
        struct lp_post pc;
        struct lp_cells cc;
        struct lp_cell cell;
        uint32_t ord;

        if (e.post_end > end || e.cells_end > end || e.tok + e.toklen > end)
            abort();
        lp_post_open(&pc, &e);
        while (lp_post_next(&pc, &ord) == 1)
            ;
        lp_cells_open(&cc, &e);
        while (lp_cells_next(&cc, &cell) == 1)
            ;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf out = BUF_INIT(1u << 24), ends = BUF_INIT(1u << 16);
    const unsigned char *pages[2];
    size_t lens[2], cut;
    struct lp_src src[2];
    struct lp_entry e;
    static int64_t minute[1100];
    static unsigned char level[1100];
    struct lp_meta meta = { minute, level, sizeof(level) };

    if (size < 2)
        return 0;
    cut = 1 + (size_t)data[0] * (size - 1) / 256;
    for (size_t i = 0; i < sizeof(level); i++) { /* a merge may count cells from these */
        minute[i] = 28575000 + (int64_t)(i % 7);
        level[i] = (unsigned char)(i % 9); /* 8: a line it does not know */
    }
    pages[0] = data + 1;
    lens[0] = cut - 1;
    pages[1] = data + cut;
    lens[1] = size - cut;
    walk(pages[0], pages[0] + lens[0]);
    walk(pages[1], pages[1] + lens[1]);
    (void)lp_page_find(pages[0], lens[0], (const char *)pages[1], lens[1] < 8 ? lens[1] : 8, &e);
    src[0] = (struct lp_src){ &pages[0], &lens[0], 1, 0 };
    src[1] = (struct lp_src){ &pages[1], &lens[1], 1, 1000 };
    if (lp_merge(src, 2, size % 2 ? &meta : NULL, &out, &ends) == 0) {
        const size_t *end = (const size_t *)ends.p;

        for (size_t p = 0; p < ends.len / sizeof(size_t); p++)
            walk((const unsigned char *)out.p + (p ? end[p - 1] : 0),
                 (const unsigned char *)out.p + end[p]);
    }
    buf_release(&out);
    buf_release(&ends);
    return 0;
}
