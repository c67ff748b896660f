/* fio.c - whole-buffer positional reads and writes (fio.h). */
#include <errno.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fio.h"
#include "core/banned.h"

int fio_pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
    const unsigned char *q = p;

    while (n > 0) {
        ssize_t w = pwrite(fd, q, n, (off_t)off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO;
        if (w <= 0)
            return BL_EIO;
        q += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int fio_pread_full(int fd, void *p, size_t n, uint64_t off)
{
    unsigned char *q = p;

    while (n > 0) {
        ssize_t r = pread(fd, q, n, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = EIO;
        if (r <= 0)
            return BL_EIO;
        q += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}
