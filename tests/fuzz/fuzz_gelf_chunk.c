/*
 * fuzz_gelf_chunk.c - the GELF chunk reassembler fed arbitrary datagrams:
 * the input is cut into datagrams by a length byte before each, from one
 * of four senders, with time moving on. Checks the byte budget holds and
 * that a completed message fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/buf.h"
#include "ingest/gelf_chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gelf_reasm *r = gelf_reasm_new(8, 4096);
    struct buf out = BUF_INIT(2048);
    size_t i = 0;
    int64_t now = 0;

    while (i < size) {
        size_t n = data[i++];
        int rc;

        if (n > size - i)
            n = size - i;
        now += (n & 7) * 1000000;
        rc = gelf_reasm_add(r, n & 3, data + i, n, now, &out);
        if (rc == 1 && out.len > 2048)
            abort();
        if ((n & 15) == 0)
            gelf_reasm_expire(r, now);
        i += n;
    }
    buf_release(&out);
    gelf_reasm_free(r);
    return 0;
}
