/*
 * frames_codec.c - the log frames of a filled data directory compressed
 * again with each codec a block can hold (store/logblock.h): zstd level 1
 * and LZ4 (acceleration 1), frame by frame as the builder does, and each
 * result decompressed back and compared. Prints the bytes a line of each;
 * the instructions come from callgrind, each step being its own function:
 *
 *   bilor-measure-logs-fill /tmp/fill 40000
 *   valgrind --tool=callgrind --toggle-collect=zstd_frame --toggle-collect=lz4_frame \
 *       --toggle-collect=unzstd_frame --toggle-collect=unlz4_frame \
 *       bilor-measure-frames /tmp/fill/events/20261202.db
 *   callgrind_annotate --inclusive=yes callgrind.out.N | grep _frame
 *
 * Divide by the lines (compression) or the frames (decompression) printed.
 * GROUP=k compresses k frames of a block together (frames of 64k lines).
 */
#include <lz4.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/buf.h"
#include "store/logblock.h"
#include "core/banned.h"

#define CAP (LB_FRAME_MAX + (1u << 20))

static ZSTD_CCtx *zc;
static ZSTD_DCtx *zd;
static void *lz;

__attribute__((noinline)) static size_t zstd_frame(char *dst, const char *src, size_t n)
{
    size_t z = ZSTD_compressCCtx(zc, dst, ZSTD_compressBound(n), src, n, 1);

    return ZSTD_isError(z) ? 0 : z;
}

__attribute__((noinline)) static size_t lz4_frame(char *dst, const char *src, size_t n)
{
    int z = LZ4_compress_fast_extState(lz, src, dst, (int)n, LZ4_compressBound((int)n), 1);

    return z > 0 ? (size_t)z : 0;
}

__attribute__((noinline)) static size_t unzstd_frame(char *dst, const char *src, size_t n,
                                                     size_t raw)
{
    size_t got = ZSTD_decompressDCtx(zd, dst, raw, src, n);

    return ZSTD_isError(got) ? 0 : got;
}

__attribute__((noinline)) static size_t unlz4_frame(char *dst, const char *src, size_t n,
                                                    size_t raw)
{
    int got = LZ4_decompress_safe(src, dst, (int)n, (int)raw);

    return got > 0 ? (size_t)got : 0;
}

struct totals {
    size_t lines, frames, raw, zstd, lz4;
};

/* The gathered records (one frame or GROUP of them) through both codecs and back. */
static int both(const struct buf *rec, char *z, char *back, struct totals *t)
{
    size_t zn = zstd_frame(z, rec->p, rec->len), ln;

    if (zn == 0 || unzstd_frame(back, z, zn, rec->len) != rec->len ||
        memcmp(back, rec->p, rec->len) != 0)
        return -1;
    ln = lz4_frame(z, rec->p, rec->len);
    if (ln == 0 || unlz4_frame(back, z, ln, rec->len) != rec->len ||
        memcmp(back, rec->p, rec->len) != 0)
        return -1;
    t->frames++;
    t->raw += rec->len;
    t->zstd += zn;
    t->lz4 += ln;
    return 0;
}

static int one_file(const char *path, size_t group, char *z, char *back, struct totals *t)
{
    struct buf fb = BUF_INIT(CAP), rec = BUF_INIT(CAP);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT nlines, frames FROM log_blocks", -1, &st, NULL);
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        struct lb_frames fr;
        size_t nlines = (size_t)sqlite3_column_int64(st, 0), first, count;

        if (lb_frames_open(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), nlines,
                           &fr) != 0) {
            rc = SQLITE_CORRUPT;
            break;
        }
        t->lines += nlines;
        buf_reset(&rec);
        for (size_t f = 0; f < fr.nframes && rc == SQLITE_OK; f++) {
            if (lb_frames_decode(&fr, f, zd, &fb, &first, &count, NULL) != 0 ||
                buf_add(&rec, fb.p, fb.len) != 0)
                rc = SQLITE_CORRUPT;
            else if (((f + 1) % group == 0 || f + 1 == fr.nframes) && both(&rec, z, back, t) != 0)
                rc = SQLITE_CORRUPT;
            if ((f + 1) % group == 0)
                buf_reset(&rec);
        }
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: cannot read its log blocks (%d)\n", path, rc);
    sqlite3_finalize(st);
    sqlite3_close(db);
    buf_release(&fb);
    buf_release(&rec);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *g = getenv("GROUP");
    size_t group = g != NULL && strtoul(g, NULL, 10) > 0 ? strtoul(g, NULL, 10) : 1;
    struct totals t = { 0, 0, 0, 0, 0 };
    char *z = malloc(2 * (size_t)CAP), *back = malloc(CAP);
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: bilor-measure-frames DAY_FILE.db...\n");
        return 2;
    }
    zc = ZSTD_createCCtx();
    zd = ZSTD_createDCtx();
    lz = malloc((size_t)LZ4_sizeofState());
    if (z == NULL || back == NULL || zc == NULL || zd == NULL || lz == NULL)
        return 1;
    for (int i = 1; i < argc && rc == 0; i++)
        rc = one_file(argv[i], group, z, back, &t);
    if (t.lines > 0 && t.frames > 0)
        printf("%zu lines in %zu frames of %zu line(s) each, records %.1f bytes a line: "
               "zstd-1 %.1f, lz4 %.1f bytes a line\n",
               t.lines, t.frames, LB_FRAME_LINES * group, (double)t.raw / (double)t.lines,
               (double)t.zstd / (double)t.lines, (double)t.lz4 / (double)t.lines);
    ZSTD_freeCCtx(zc);
    ZSTD_freeDCtx(zd);
    free(lz);
    free(z);
    free(back);
    return rc == 0 ? 0 : 1;
}
