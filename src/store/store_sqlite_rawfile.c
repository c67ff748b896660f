/*
 * store_sqlite_rawfile.c - event payloads in a plain file beside their day file.
 *
 * DESIGN
 * An event's payload (the client's gzip'd body, ~2.6 KB for a 9 KB event)
 * was a row of event_raw: one 4 KiB page an event, since two such rows do
 * not fit in one, written to the WAL by the writer and copied again into
 * the database by the checkpointer. Without it the bench's 9 KB events
 * cost 12 us less of the server's CPU each (docs/bench.md, stop 16), the
 * step that kept them under 15,000 a second digested.
 *
 * So the writer appends each payload to "<day file>-raw" and event_raw
 * keeps a 16-byte locator (SQ_RAW_EXTERNAL): offset, length and the
 * payload's own encoding. A day file's transaction gathers its payloads
 * in memory; write_day writes them with one pwrite and fdatasyncs the file
 * before its COMMIT, so a committed locator always names durable bytes.
 * Bytes once flushed are never written over (a COMMIT that reported an
 * error may still be recovered from the WAL at the next open), so the end
 * moves past them whether the COMMIT succeeded or not; what a transaction
 * added but never flushed is dropped and written over by the next one.
 * After a restart appends go after all the file holds. Retention removes the file
 * with its day; a row deleted from a day file leaves its bytes until then.
 *
 * Readers open the file by the database's own path (sqlite3_db_filename)
 * for each payload they read: a listing reads at most a page of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fio.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/* The payloads of one transaction held in memory before their write. */
#define RAWFILE_PENDING_MAX ((size_t)1 << 31)

struct sq_rawfile {
    int fd;
    uint64_t end;       /* flushed bytes end here: never written over */
    struct buf pending; /* this transaction's payloads, written at end by sq_rawfile_flush */
    char path[SQ_PATH_MAX + 8];
};

static int raw_path(const char *db_path, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s-raw", db_path);

    return n > 0 && (size_t)n < outsz ? 0 : BL_ETOOBIG;
}

int sq_rawfile_open(const char *db_path, struct sq_rawfile **out, struct bl_err *err)
{
    struct sq_rawfile *f = xcalloc(1, sizeof(*f));
    struct stat sb;

    *out = NULL;
    if (raw_path(db_path, f->path, sizeof(f->path)) != 0) {
        free(f);
        return bl_err_set(err, BL_ETOOBIG, "payload file path too long");
    }
    f->fd = open(f->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f->fd < 0 || fstat(f->fd, &sb) != 0) {
        int rc = bl_err_set(err, BL_EIO, "cannot open '%s': %s", f->path, strerror(errno));

        if (f->fd >= 0)
            close(f->fd);
        free(f);
        return rc;
    }
    f->end = (uint64_t)sb.st_size;
    buf_init(&f->pending, RAWFILE_PENDING_MAX);
    *out = f;
    return 0;
}

void sq_rawfile_close(struct sq_rawfile *f)
{
    if (f == NULL)
        return;
    close(f->fd);
    buf_release(&f->pending);
    free(f);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int sq_rawfile_add(struct sq_rawfile *f, const void *p, size_t len, int enc,
                   unsigned char loc[SQ_RAW_LOC])
{
    uint64_t at = f->end + f->pending.len;

    if (len > UINT32_MAX || buf_add(&f->pending, p, len) != 0)
        return BL_ETOOBIG;
    put_le(loc, at, 8);
    put_le(loc + 8, len, 4);
    put_le(loc + 12, (uint32_t)enc, 4);
    return 0;
}

int sq_rawfile_flush(struct sq_rawfile *f, struct bl_err *err)
{
    if (f->pending.len == 0)
        return 0;
    if (fio_pwrite_full(f->fd, f->pending.p, f->pending.len, f->end) != 0 || fdatasync(f->fd) != 0)
        return bl_err_set(err, BL_ESTORE, "cannot write '%s': %s", f->path, strerror(errno));
    return 0;
}

void sq_rawfile_done(struct sq_rawfile *f, int flushed)
{
    if (f == NULL)
        return;
    if (flushed)
        f->end += f->pending.len;
    buf_reset(&f->pending);
}

int64_t sq_rawfile_size(const char *db_path)
{
    char path[SQ_PATH_MAX + 8];
    struct stat sb;

    if (raw_path(db_path, path, sizeof(path)) != 0 || stat(path, &sb) != 0)
        return 0;
    return (int64_t)sb.st_size;
}

void sq_rawfile_unlink(const char *db_path)
{
    char path[SQ_PATH_MAX + 8];

    if (raw_path(db_path, path, sizeof(path)) == 0)
        unlink(path);
}

static int read_at(const char *path, char *dst, size_t len, uint64_t at, struct bl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return bl_err_set(err, BL_ESTORE, "cannot open '%s': %s", path, strerror(errno));
    rc = fio_pread_full(fd, dst, len, at);
    close(fd);
    return rc == 0 ? 0 : bl_err_set(err, BL_ESTORE, "stored payload missing in '%s'", path);
}

int sq_rawfile_read(sqlite3 *db, const void *loc, size_t loclen, struct pool *pool,
                    const char **out, size_t *out_len, int *enc, struct bl_err *err)
{
    const char *db_path = sqlite3_db_filename(db, "main");
    char path[SQ_PATH_MAX + 8];
    uint64_t at, len;
    char *dst;

    if (loc == NULL || loclen != SQ_RAW_LOC)
        return bl_err_set(err, BL_ESTORE, "stored payload locator is corrupt");
    at = get_le(loc, 8);
    len = get_le((const unsigned char *)loc + 8, 4);
    *enc = (int)get_le((const unsigned char *)loc + 12, 4);
    if (len > SQ_RAW_MAX)
        return bl_err_set(err, BL_ETOOBIG, "stored payload too large");
    if (db_path == NULL || raw_path(db_path, path, sizeof(path)) != 0)
        return bl_err_set(err, BL_ESTORE, "no payload file for this database");
    dst = pool_alloc(pool, (size_t)len + 1);
    if (read_at(path, dst, (size_t)len, at, err) != 0)
        return BL_ESTORE;
    dst[len] = '\0';
    *out = dst;
    *out_len = (size_t)len;
    return 0;
}
