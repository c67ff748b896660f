/* datadir.c - create, lock and recognise a data directory (datadir.h has the design). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/datadir.h"
#include "core/log.h"
#include "core/banned.h"

#define DATADIR_PATH_MAX 1200

/* dir/name, or BL_EINVAL if it does not fit. */
static int join(char *out, size_t len, const char *dir, const char *name, struct bl_err *err)
{
    int n = snprintf(out, len, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= len)
        return bl_err_set(err, BL_EINVAL, "data directory name '%s' is too long", dir);
    return 0;
}

/* mkdir -p, each new level 0700. */
static int make_dirs(const char *dir, struct bl_err *err)
{
    char tmp[DATADIR_PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(tmp))
        return bl_err_set(err, BL_EINVAL, "bad data directory '%s'", dir);
    memcpy(tmp, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        tmp[i] = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return bl_err_set(err, BL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
        tmp[i] = dir[i];
    }
    return 0;
}

int datadir_prepare(const char *dir, struct bl_err *err)
{
    struct stat st;

    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return bl_err_set(err, BL_EIO, "cannot use data directory '%s': %s", dir,
                              strerror(errno));
        return make_dirs(dir, err);
    }
    if (!S_ISDIR(st.st_mode))
        return bl_err_set(err, BL_EINVAL, "data directory '%s' exists and is not a directory", dir);
    if ((st.st_mode & 077) == 0)
        return 0;
    /* Made by hand or by an older version: others could read the secrets inside. */
    if (chmod(dir, st.st_mode & 0700) != 0) {
        log_warn("data directory '%s' is mode %04o and cannot be made private: %s", dir,
                 (unsigned)(st.st_mode & 07777), strerror(errno));
        return 0;
    }
    log_info("data directory '%s' was mode %04o, now %04o: it holds password hashes, token "
             "digests and DSN keys",
             dir, (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 0700));
    return 0;
}

/* The PID of the process holding the lock: from the kernel, else from the file. */
static long holder_pid(int fd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    char buf[32];
    ssize_t n;

    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
        return (long)fl.l_pid;
    /* l_pid is 0 when the holder lives in another PID namespace (a container). */
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

static int write_pid(int fd, const char *path, struct bl_err *err)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != (ssize_t)n)
        return bl_err_set(err, BL_EIO, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int datadir_lock(const char *dir, int *fd, struct bl_err *err)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    char path[DATADIR_PATH_MAX];
    long pid;
    int rc;

    *fd = -1;
    rc = join(path, sizeof(path), dir, "bilor.pid", err);
    if (rc < 0)
        return rc;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return bl_err_set(err, BL_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (fcntl(*fd, F_SETLK, &fl) == 0)
        return write_pid(*fd, path, err);
    if (errno == EACCES || errno == EAGAIN) {
        pid = holder_pid(*fd);
        rc = bl_err_set(err, BL_EBUSY,
                        "data directory '%s' is in use by another bilor serve "
                        "(pid %ld); stop that one first, or give this one another --data-dir",
                        dir, pid);
    } else {
        rc = bl_err_set(err, BL_EIO, "cannot lock '%s': %s", path, strerror(errno));
    }
    close(*fd);
    *fd = -1;
    return rc;
}

void datadir_unlock(int fd)
{
    /* The file stays: unlinking it would let a third process lock a fresh inode meanwhile. */
    if (fd >= 0)
        close(fd);
}

int datadir_check(const char *dir, struct bl_err *err)
{
    static const char *const marks[] = { "bilor.db", "bilor.pid" };
    char path[DATADIR_PATH_MAX];
    struct stat st;

    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (join(path, sizeof(path), dir, marks[i], NULL) == 0 && stat(path, &st) == 0)
            return 0;
    return bl_err_set(err, BL_ENOTFOUND,
                      "no Bilor data directory at '%s': `bilor serve "
                      "--data-dir %s` creates one; or point --data-dir (or BILOR_DATA_DIR) at "
                      "the server's",
                      dir, dir);
}

int datadir_write_url(const char *dir, const char *url, struct bl_err *err)
{
    char path[DATADIR_PATH_MAX], tmp[DATADIR_PATH_MAX];
    size_t len = strlen(url);
    int fd, rc;

    rc = join(path, sizeof(path), dir, "bilor.url", err);
    if (rc == 0)
        rc = join(tmp, sizeof(tmp), dir, "bilor.url.tmp", err);
    if (rc < 0)
        return rc;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    if (write(fd, url, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
        rc = bl_err_set(err, BL_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    close(fd);
    /* rename: a CLI reading at the same moment sees the old URL or the new one, never half. */
    if (rc == 0 && rename(tmp, path) != 0)
        rc = bl_err_set(err, BL_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int datadir_read_url(const char *dir, char *out, size_t len)
{
    char path[DATADIR_PATH_MAX];
    ssize_t n;
    int fd;

    if (len < 2 || join(path, sizeof(path), dir, "bilor.url", NULL) < 0)
        return BL_EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return BL_ENOTFOUND;
    n = read(fd, out, len - 1);
    close(fd);
    if (n <= 0)
        return BL_ENOTFOUND;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    /* Only what serve writes: a URL on one line. */
    if (strncmp(out, "http", 4) != 0 || strchr(out, '\n') != NULL)
        return BL_ENOTFOUND;
    return 0;
}
