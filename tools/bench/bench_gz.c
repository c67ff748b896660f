/*
 * bench_gz.c - gzip templates with a stored-block slot (see bench_gz.h).
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench_gz.h"
#include "core/xmalloc.h"
#include "core/banned.h"

/* Fixed gzip header: no name, no mtime, "unix" OS, like a stripped GzipFile. */
static const unsigned char gzip_head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

static void put_le32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

/* Raw-deflates in[0..n) onto out at *pos with the given flush mode. */
static int deflate_piece(unsigned char *out, size_t cap, size_t *pos, const char *in, size_t n,
                         int level, int flush)
{
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out + *pos;
    z.avail_out = (uInt)(cap - *pos);
    rc = deflate(&z, flush);
    *pos = cap - z.avail_out;
    deflateEnd(&z);
    if (flush == Z_FINISH)
        return rc == Z_STREAM_END ? 0 : -1;
    return rc == Z_OK && z.avail_in == 0 ? 0 : -1;
}

/* A non-final stored block holding the slot: header byte, LEN, NLEN, data. */
static void put_stored_slot(unsigned char *out, size_t *pos, const char *slot)
{
    unsigned char *p = out + *pos;

    p[0] = 0;
    p[1] = BGZ_SLOT;
    p[2] = 0;
    p[3] = (unsigned char)~BGZ_SLOT;
    p[4] = 0xff;
    memcpy(p + 5, slot, BGZ_SLOT);
    *pos += 5 + BGZ_SLOT;
}

int bgz_build(struct bgz_tmpl *t, const char *raw, size_t len, size_t slot_at, int level)
{
    size_t cap = compressBound((uLong)len) + 128, pos = sizeof(gzip_head);
    unsigned char *out = xmalloc(cap);
    int rc;

    memset(t, 0, sizeof(*t));
    memcpy(out, gzip_head, sizeof(gzip_head));
    t->slot_gz = BGZ_NO_SLOT;
    if (slot_at == BGZ_NO_SLOT || slot_at + BGZ_SLOT > len) {
        rc = deflate_piece(out, cap, &pos, raw, len, level, Z_FINISH);
    } else {
        const char *suf = raw + slot_at + BGZ_SLOT;

        rc = deflate_piece(out, cap, &pos, raw, slot_at, level, Z_SYNC_FLUSH);
        t->slot_gz = pos + 5;
        put_stored_slot(out, &pos, raw + slot_at);
        t->suf_len = len - slot_at - BGZ_SLOT;
        if (rc == 0)
            rc = deflate_piece(out, cap, &pos, suf, t->suf_len, level, Z_FINISH);
        t->crc_pre = crc32(0, (const Bytef *)raw, (uInt)slot_at);
        t->crc_suf = crc32(0, (const Bytef *)suf, (uInt)t->suf_len);
    }
    if (rc < 0 || pos + 8 > cap) {
        free(out);
        return -1;
    }
    put_le32(out + pos, crc32(0, (const Bytef *)raw, (uInt)len));
    put_le32(out + pos + 4, (unsigned long)len);
    t->gz = out;
    t->len = pos + 8;
    t->raw_len = len;
    return 0;
}

void bgz_patch(unsigned char *dst, const struct bgz_tmpl *t, const char *id)
{
    unsigned long crc;

    if (t->slot_gz == BGZ_NO_SLOT)
        return;
    memcpy(dst + t->slot_gz, id, BGZ_SLOT);
    crc = crc32(0, (const Bytef *)id, BGZ_SLOT);
    crc = crc32_combine(t->crc_pre, crc, BGZ_SLOT);
    crc = crc32_combine(crc, t->crc_suf, (z_off_t)t->suf_len);
    put_le32(dst + t->len - 8, crc);
}

void bgz_release(struct bgz_tmpl *t)
{
    free(t->gz);
    memset(t, 0, sizeof(*t));
}

int bgz_inflate(const unsigned char *gz, size_t len, char **out, size_t *out_len)
{
    size_t cap = len * 8 + 1024;
    char *p = xmalloc(cap);
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + 15) != Z_OK) {
        free(p);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)gz;
    z.avail_in = (uInt)len;
    for (;;) {
        z.next_out = (Bytef *)p + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK || z.avail_out != 0)
            break;
        cap *= 2;
        p = xrealloc(p, cap);
    }
    *out_len = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || z.avail_in != 0) {
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}
