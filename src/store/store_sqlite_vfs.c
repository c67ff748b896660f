/*
 * store_sqlite_vfs.c - the store's SQLite VFS: the default one, with a
 * connection's WAL writes gathered into few system calls.
 *
 * DESIGN
 * SQLite writes each WAL frame with two pwrite()s, its 24-byte header and
 * then its page, and on this VM a system call costs 1-3 us: ~4.7 of them
 * per event on the digest's writer thread. This shim ("bilor", wrapping the
 * default VFS; every store connection opens through it) keeps a WAL
 * handle's writes in a buffer (VF_BUF_CAP) while they are contiguous and
 * writes them with one pwrite(). Nothing else changes: the same bytes reach
 * the same offsets in the same order, and they are in the file (the kernel's
 * page cache) before any other connection or process can know of them.
 *
 * When the buffer is written (flushed):
 *  - when a write is not contiguous with it (an overwrite of a frame inside
 *    it is copied in place), or would not fit;
 *  - before any other call on the WAL handle (read, sync, truncate, size,
 *    locks, file controls, close): the handle itself never sees its file
 *    without its own writes;
 *  - before any call on the database file's handle of the same connection
 *    (found with sqlite3_database_file_object when the WAL is opened), and
 *    above all xShmBarrier: SQLite makes a commit visible by writing the
 *    wal-index header in shared memory around that barrier on the database
 *    handle (wal.c, walIndexWriteHdr), and then other connections read the
 *    new frames from the file;
 *  - in the xWrite that puts a commit frame in the file (below).
 *
 * A failed write must fail the transaction it belongs to. SQLite ignores
 * what xShmBarrier, an unlock or some file controls return, and with
 * synchronous=NORMAL no call it checks comes between a commit's last frame
 * and the barrier that publishes it. So a commit frame is written through:
 * a 24-byte write whose "database size after commit" field (bytes 4-7 of a
 * frame header, the WAL file format) is nonzero is a commit frame's header;
 * it is flushed with everything before it in its own xWrite, and so is the
 * write after it (the frame's page; walRewriteChecksums rewrites the header
 * after the page instead, which is then already in the file). A flush that
 * fails elsewhere drops what it held and marks the handle: its writes and
 * syncs fail until the connection releases the WAL write lock, so the
 * transaction whose frames were dropped cannot commit. Dropped frames
 * belonged to no committed transaction, and nothing stays buffered past the
 * write lock, where another connection may write the same offsets. Should a
 * commit ever be published with frames still buffered (an SQLite that
 * writes differently) and their flush fail, the process aborts: a crash
 * loses nothing, a published commit without its frames would.
 *
 * A checkpoint reads each frame it copies with a pread() of its own: the
 * WAL handle of a connection whose database handle got
 * SQLITE_FCNTL_CKPT_START serves those reads from a few windows read
 * ahead (VF_RA_WINDOWS of VF_RA_LEN: the checkpoint goes through pages in
 * order, each transaction's frames are in page order, so it walks a few
 * regions of the WAL at once), until CKPT_DONE or any call other than the
 * copy's own (vf_ra_read says why the windows cannot be stale).
 *
 * The pages a checkpoint writes into the database are not gathered:
 * SQLite publishes a partial checkpoint's progress (nBackfill) right after
 * SQLITE_FCNTL_CKPT_DONE, with no sync (only a checkpoint of the whole WAL
 * syncs the database) and no call whose failure it checks in between, so
 * the last pages gathered could not fail the checkpoint if their write did
 * (docs/bench.md, Stop 12).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/*
 * The most a WAL handle keeps unwritten: 31 frames of 4 KiB pages. The
 * default VFS cannot write more in one call: its write masks the length to
 * 17 bits (SQLite's own writes are at most a 64 KiB page), and 128 KiB
 * became a write of 0 bytes, SQLITE_FULL.
 */
#define VF_BUF_CAP (127u << 10)
_Static_assert(VF_BUF_CAP <= 0x1ffff, "one write of the default VFS");
/* A WAL frame header's size (the WAL file format). */
#define VF_FRAME_HDR 24
/* The wal-index lock slot of the writer (WAL_WRITE_LOCK in the WAL format). */
#define VF_WRITE_LOCK 0
/* A checkpoint's WAL reads: windows read ahead, each at most one read of the default VFS. */
#define VF_RA_WINDOWS 8
#define VF_RA_LEN (124u << 10)
_Static_assert(VF_RA_LEN <= 0x1ffff, "one read of the default VFS");

/* Bytes [off, off + len) of the WAL, read during this checkpoint; len 0: empty. */
struct vf_window {
    sqlite3_int64 off;
    size_t len;
    uint64_t used; /* LRU stamp */
};

struct vf_file {
    sqlite3_file base;
    sqlite3_file *real;  /* the default VFS's file, in the same allocation */
    struct vf_file *wal; /* a database file: its WAL's handle while that is open */
    struct vf_file *db;  /* a WAL: its database file's handle */
    int is_wal;
    /* a WAL: the writes not yet in the file, bytes [off, off + len) */
    unsigned char *buf;
    size_t len;
    sqlite3_int64 off;
    int after_commit; /* the last write was a commit frame's header */
    int lost;         /* a flush failed and dropped writes: fail until the write lock goes */
    /* a WAL being checkpointed: its frames read ahead (store_sqlite_vfs.c, DESIGN) */
    int ckpt;                /* between CKPT_START and CKPT_DONE, nothing else in between */
    sqlite3_int64 ckpt_size; /* the WAL's size at the checkpoint's first read; -1 before */
    unsigned char *ra;       /* VF_RA_WINDOWS windows of VF_RA_LEN */
    struct vf_window win[VF_RA_WINDOWS];
    uint64_t tick;
};

/* The real file follows struct vf_file, aligned for any type. */
#define VF_REAL_OFF ((sizeof(struct vf_file) + 15) & ~(size_t)15)

static sqlite3_vfs vf_vfs;
static const sqlite3_io_methods vf_methods;
static int vf_init_rc = SQLITE_ERROR;
static _Atomic uint64_t vf_writes, vf_flushes, vf_ckpt_reads, vf_ckpt_preads;

static sqlite3_vfs *real_vfs(sqlite3_vfs *vfs)
{
    return vfs->pAppData;
}

static struct vf_file *vf_of(sqlite3_file *file)
{
    return (struct vf_file *)file;
}

/*
 * Writes the buffer; empty after, whatever happened. On failure what it
 * held is lost to the transaction being written: the handle is marked.
 */
static int vf_flush(struct vf_file *f)
{
    int rc;

    if (f->len == 0)
        return SQLITE_OK;
    rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
    atomic_fetch_add_explicit(&vf_flushes, 1, memory_order_relaxed);
    f->len = 0;
    if (rc != SQLITE_OK)
        f->lost = 1;
    return rc;
}

/* The read-ahead of a checkpoint is forgotten: no window is served again. */
static void vf_ra_drop(struct vf_file *w)
{
    w->ckpt = 0;
    for (size_t i = 0; i < VF_RA_WINDOWS; i++)
        w->win[i].len = 0;
}

/*
 * Before a call on any handle: its connection's WAL writes into the file,
 * and the WAL's read-ahead dropped unless the call is one a checkpoint
 * makes while it copies (keep_ra).
 */
static int vf_enter(struct vf_file *f, int keep_ra)
{
    struct vf_file *w = f->is_wal ? f : f->wal;

    if (w == NULL)
        return SQLITE_OK;
    if (!keep_ra && w->ckpt)
        vf_ra_drop(w);
    return vf_flush(w);
}

static int vf_flush_for(struct vf_file *f)
{
    return vf_enter(f, 0);
}

/*
 * A read of the WAL during a checkpoint, from a window read ahead when one
 * holds it. Every frame the checkpoint copies was committed, so in the
 * file, before SQLITE_FCNTL_CKPT_START, and none of them changes until
 * CKPT_DONE: the checkpoint holds the WAL's read-lock 0 exclusively, so no
 * writer restarts or truncates the WAL meanwhile, and writers only append
 * past the frames it copies. Bytes past those in a window (a writer's new
 * frames, half written) are never asked for before the windows are dropped.
 */
static int vf_ra_read(struct vf_file *f, void *p, int n, sqlite3_int64 off)
{
    struct vf_window *lru = &f->win[0];
    sqlite3_int64 len;
    int rc;

    atomic_fetch_add_explicit(&vf_ckpt_reads, 1, memory_order_relaxed);
    for (size_t i = 0; i < VF_RA_WINDOWS; i++) {
        struct vf_window *w = &f->win[i];

        if (w->len > 0 && off >= w->off && off + n <= w->off + (sqlite3_int64)w->len) {
            memcpy(p, f->ra + i * VF_RA_LEN + (off - w->off), (size_t)n);
            w->used = ++f->tick;
            return SQLITE_OK;
        }
        if (lru->len > 0 && (w->len == 0 || w->used < lru->used))
            lru = w;
    }
    atomic_fetch_add_explicit(&vf_ckpt_preads, 1, memory_order_relaxed);
    if (f->ra == NULL)
        f->ra = malloc((size_t)VF_RA_WINDOWS * VF_RA_LEN);
    if (f->ckpt_size < 0 && f->real->pMethods->xFileSize(f->real, &f->ckpt_size) != SQLITE_OK)
        f->ckpt_size = 0;
    /* never past the end: a short read fills with zeros and says nothing of how much it read */
    len = f->ckpt_size - off < (sqlite3_int64)VF_RA_LEN ? f->ckpt_size - off : VF_RA_LEN;
    if (f->ra == NULL || len < n)
        return f->real->pMethods->xRead(f->real, p, n, off);
    lru->len = 0;
    rc = f->real->pMethods->xRead(f->real, f->ra + (size_t)(lru - f->win) * VF_RA_LEN, (int)len,
                                  off);
    if (rc != SQLITE_OK)
        return f->real->pMethods->xRead(f->real, p, n, off);
    lru->off = off;
    lru->len = (size_t)len;
    lru->used = ++f->tick;
    memcpy(p, f->ra + (size_t)(lru - f->win) * VF_RA_LEN, (size_t)n);
    return SQLITE_OK;
}

/* Copies a write into the buffer when it lies inside it or extends it; 0 if it cannot. */
static int vf_gather(struct vf_file *f, const void *p, int n, sqlite3_int64 off)
{
    sqlite3_int64 end = f->off + (sqlite3_int64)f->len;

    if (f->buf == NULL || n <= 0 || (size_t)n > VF_BUF_CAP)
        return 0;
    if (f->len == 0) {
        f->off = off;
        f->len = (size_t)n;
        memcpy(f->buf, p, (size_t)n);
        return 1;
    }
    if (off >= f->off && off + n <= end) {
        memcpy(f->buf + (off - f->off), p, (size_t)n);
        return 1;
    }
    if (off == end && f->len + (size_t)n <= VF_BUF_CAP) {
        memcpy(f->buf + f->len, p, (size_t)n);
        f->len += (size_t)n;
        return 1;
    }
    return 0;
}

/* A frame header whose "database size after commit" is nonzero: a commit frame's. */
static int vf_is_commit_hdr(const void *p, int n)
{
    const unsigned char *h = p;

    return n == VF_FRAME_HDR && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int vf_wal_write(struct vf_file *f, const void *p, int n, sqlite3_int64 off)
{
    int through = vf_is_commit_hdr(p, n) || f->after_commit;
    int rc;

    atomic_fetch_add_explicit(&vf_writes, 1, memory_order_relaxed);
    f->after_commit = vf_is_commit_hdr(p, n);
    if (f->lost)
        return SQLITE_IOERR_WRITE;
    /* no database handle to flush it before a commit is published: nothing is kept */
    if (f->db == NULL && f->len == 0)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    if (f->buf == NULL)
        f->buf = malloc(VF_BUF_CAP); /* none: every write goes through */
    if (!vf_gather(f, p, n, off)) {
        rc = vf_flush(f);
        if (rc != SQLITE_OK)
            return rc;
        if (!vf_gather(f, p, n, off))
            return f->real->pMethods->xWrite(f->real, p, n, off);
    }
    return through ? vf_flush(f) : SQLITE_OK;
}

static int vf_close(sqlite3_file *file)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_flush_for(f), rc2;

    if (f->is_wal && f->db != NULL)
        f->db->wal = NULL;
    if (!f->is_wal && f->wal != NULL)
        f->wal->db = NULL;
    rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    free(f->ra);
    f->ra = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int vf_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_enter(f, f->is_wal);

    if (rc != SQLITE_OK)
        return rc;
    if (f->is_wal && f->ckpt)
        return vf_ra_read(f, p, n, off);
    return f->real->pMethods->xRead(f->real, p, n, off);
}

static int vf_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
    struct vf_file *f = vf_of(file);
    int rc;

    if (f->is_wal) {
        vf_ra_drop(f);
        return vf_wal_write(f, p, n, off);
    }
    rc = vf_enter(f, 1); /* a checkpoint copying pages */
    return rc != SQLITE_OK ? rc : f->real->pMethods->xWrite(f->real, p, n, off);
}

static int vf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_flush_for(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int vf_sync(sqlite3_file *file, int flags)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_flush_for(f);

    if (rc == SQLITE_OK && f->is_wal && f->lost)
        rc = SQLITE_IOERR_WRITE;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int vf_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_enter(f, !f->is_wal); /* the database's: a checkpoint's start */

    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int vf_lock(sqlite3_file *file, int level)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_flush_for(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xLock(f->real, level);
}

static int vf_unlock(sqlite3_file *file, int level)
{
    struct vf_file *f = vf_of(file);

    (void)vf_flush_for(f); /* a failure marked the WAL handle */
    return f->real->pMethods->xUnlock(f->real, level);
}

static int vf_check_reserved(sqlite3_file *file, int *out)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_flush_for(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xCheckReservedLock(f->real, out);
}

/*
 * A checkpoint of the database (wal.c, walCheckpoint) sends CKPT_START,
 * asks the file's size, may send SIZE_HINT, then reads frames from the WAL
 * and writes pages, then sends CKPT_DONE: its WAL reads are read ahead in
 * between, and any other call ends that.
 */
static int vf_file_control(sqlite3_file *file, int op, void *arg)
{
    struct vf_file *f = vf_of(file);
    int keep = !f->is_wal && (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CKPT_START);

    (void)vf_enter(f, keep); /* a failure marked the WAL handle */
    if (!f->is_wal && f->wal != NULL && op == SQLITE_FCNTL_CKPT_START) {
        vf_ra_drop(f->wal);
        f->wal->ckpt = 1;
        f->wal->ckpt_size = -1;
    }
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

/* No flush: these say what the device is, they touch no data. */
static int vf_sector_size(sqlite3_file *file)
{
    struct vf_file *f = vf_of(file);

    return f->real->pMethods->xSectorSize(f->real);
}

static int vf_device_chars(sqlite3_file *file)
{
    struct vf_file *f = vf_of(file);

    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int vf_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_flush_for(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

static int vf_shm_lock(sqlite3_file *file, int ofst, int n, int flags)
{
    struct vf_file *f = vf_of(file);
    int rc;

    (void)vf_flush_for(f); /* a failure marked the WAL handle */
    rc = f->real->pMethods->xShmLock(f->real, ofst, n, flags);
    /* The write transaction is over: whatever was lost failed with it. */
    if ((flags & SQLITE_SHM_UNLOCK) && ofst <= VF_WRITE_LOCK && VF_WRITE_LOCK < ofst + n &&
        f->wal != NULL)
        f->wal->lost = 0;
    return rc;
}

/*
 * SQLite publishes a commit around this barrier. The commit frame's xWrite
 * left nothing buffered; anything here failing to reach the file could be
 * part of what is being published, which no error code can stop now.
 */
static void vf_shm_barrier(sqlite3_file *file)
{
    struct vf_file *f = vf_of(file);
    struct vf_file *w = f->is_wal ? f : f->wal;

    if (w != NULL && w->ckpt)
        vf_ra_drop(w);
    if (w != NULL && w->len > 0 && vf_flush(w) != SQLITE_OK)
        fatal("sqlite vfs: WAL frames could not be written before a commit was published");
    f->real->pMethods->xShmBarrier(f->real);
}

static int vf_shm_unmap(sqlite3_file *file, int delete_flag)
{
    struct vf_file *f = vf_of(file);

    (void)vf_flush_for(f); /* a failure marked the WAL handle */
    return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int vf_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
    struct vf_file *f = vf_of(file);
    int rc = vf_flush_for(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, off, n, out);
}

static int vf_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    struct vf_file *f = vf_of(file);

    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods vf_methods = {
    .iVersion = 3,
    .xClose = vf_close,
    .xRead = vf_read,
    .xWrite = vf_write,
    .xTruncate = vf_truncate,
    .xSync = vf_sync,
    .xFileSize = vf_file_size,
    .xLock = vf_lock,
    .xUnlock = vf_unlock,
    .xCheckReservedLock = vf_check_reserved,
    .xFileControl = vf_file_control,
    .xSectorSize = vf_sector_size,
    .xDeviceCharacteristics = vf_device_chars,
    .xShmMap = vf_shm_map,
    .xShmLock = vf_shm_lock,
    .xShmBarrier = vf_shm_barrier,
    .xShmUnmap = vf_shm_unmap,
    .xFetch = vf_fetch,
    .xUnfetch = vf_unfetch,
};

static int vf_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                   int *out_flags)
{
    struct vf_file *f = vf_of(file);
    sqlite3_vfs *rv = real_vfs(vfs);
    int rc;

    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)((char *)f + VF_REAL_OFF);
    rc = rv->xOpen(rv, name, f->real, flags, out_flags);
    /* SQLite calls xClose when pMethods is set, even after a failed open. */
    if (f->real->pMethods == NULL) {
        f->base.pMethods = NULL;
        return rc;
    }
    f->base.pMethods = &vf_methods;
    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && name != NULL) {
        sqlite3_file *db = sqlite3_database_file_object(name);

        f->is_wal = 1;
        if (db != NULL && db->pMethods == &vf_methods) {
            f->db = vf_of(db);
            f->db->wal = f;
        }
    }
    return rc;
}

/* The rest of the VFS is the default one's, called with the default VFS. */
static int vf_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return real_vfs(vfs)->xDelete(real_vfs(vfs), name, sync_dir);
}

static int vf_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}

static int vf_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, n, out);
}

static void *vf_dlopen(sqlite3_vfs *vfs, const char *name)
{
    return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name);
}

static void vf_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
    real_vfs(vfs)->xDlError(real_vfs(vfs), n, out);
}

static void (*vf_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    return real_vfs(vfs)->xDlSym(real_vfs(vfs), h, sym);
}

static void vf_dlclose(sqlite3_vfs *vfs, void *h)
{
    real_vfs(vfs)->xDlClose(real_vfs(vfs), h);
}

static int vf_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    return real_vfs(vfs)->xRandomness(real_vfs(vfs), n, out);
}

static int vf_sleep(sqlite3_vfs *vfs, int us)
{
    return real_vfs(vfs)->xSleep(real_vfs(vfs), us);
}

static int vf_current_time(sqlite3_vfs *vfs, double *out)
{
    return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out);
}

static int vf_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    return real_vfs(vfs)->xGetLastError(real_vfs(vfs), n, out);
}

static int vf_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return real_vfs(vfs)->xCurrentTimeInt64(real_vfs(vfs), out);
}

static void vf_init(void)
{
    sqlite3_vfs *rv = sqlite3_vfs_find(NULL);

    /* The shim needs shared memory and xFetch (io methods 3): SQLite's unix VFS. */
    if (rv == NULL || rv->iVersion < 2 || rv->xCurrentTimeInt64 == NULL)
        return;
    vf_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)(VF_REAL_OFF + (size_t)rv->szOsFile),
        .mxPathname = rv->mxPathname,
        .zName = SQ_VFS_NAME,
        .pAppData = rv,
        .xOpen = vf_open,
        .xDelete = vf_delete,
        .xAccess = vf_access,
        .xFullPathname = vf_full_pathname,
        .xDlOpen = vf_dlopen,
        .xDlError = vf_dlerror,
        .xDlSym = vf_dlsym,
        .xDlClose = vf_dlclose,
        .xRandomness = vf_randomness,
        .xSleep = vf_sleep,
        .xCurrentTime = vf_current_time,
        .xGetLastError = vf_last_error,
        .xCurrentTimeInt64 = vf_current_time64,
    };
    vf_init_rc = sqlite3_vfs_register(&vf_vfs, 0);
}

int sq_vfs_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, vf_init);
    return vf_init_rc;
}

void sq_vfs_stats(struct sq_vfs_stats *out)
{
    out->wal_writes = atomic_load_explicit(&vf_writes, memory_order_relaxed);
    out->wal_flushes = atomic_load_explicit(&vf_flushes, memory_order_relaxed);
    out->ckpt_reads = atomic_load_explicit(&vf_ckpt_reads, memory_order_relaxed);
    out->ckpt_preads = atomic_load_explicit(&vf_ckpt_preads, memory_order_relaxed);
}
