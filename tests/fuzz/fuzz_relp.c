/*
 * fuzz_relp.c - the RELP wire parser (ingest/relp.h) fed an arbitrary
 * stream, cut as the listener cuts it: frames one after the other, an
 * oversized frame's data skipped, offers parsed from every "open", and an
 * answer formatted for each frame into a bounded buffer. Checks that a
 * frame never claims bytes past the input and that its data lies inside it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/buf.h"
#include "ingest/relp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct buf out = BUF_INIT(4096);
    size_t pos = 0, max_data = size > 0 ? data[0] * 4u : 64;

    while (pos < size) {
        struct relp_frame f;
        struct relp_offers o;
        struct bl_err err;
        size_t used = 0;
        int rc = relp_parse(p + pos, size - pos, max_data, &f, &used, &err);

        if (rc < 0 || rc == RELP_MORE)
            break;
        if (used == 0 || used > size - pos)
            abort();
        if (rc == RELP_FRAME && f.data.len > 0 &&
            (f.data.p < p + pos || f.data.p + f.data.len > p + pos + used))
            abort();
        pos += used;
        if (rc == RELP_OVERSIZE) {
            if (f.datalen <= max_data)
                abort();
            if (f.datalen >= size - pos || !relp_trailer(p[pos + f.datalen]))
                break;
            pos += f.datalen + 1;
            relp_rsp(&out, f.txnr, 500, "message too large", "");
            continue;
        }
        if (f.cmd == RELP_CMD_OPEN) {
            relp_offers_parse(f.data, &o);
            if (o.version >= 0)
                relp_rsp_open(&out, f.txnr, &o);
        } else {
            relp_rsp(&out, f.txnr, 200, "OK", "");
        }
        if (out.len > 3000)
            buf_reset(&out);
    }
    buf_release(&out);
    return 0;
}
