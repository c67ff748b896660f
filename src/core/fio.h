/*
 * fio.h - whole-buffer positional reads and writes, the loops every file
 * writer and reader needs around pread(2) and pwrite(2) (short counts,
 * EINTR). The journal's segments and the store's payload files use them.
 */
#ifndef BL_FIO_H
#define BL_FIO_H

#include <stddef.h>
#include <stdint.h>

/* Writes all n bytes at off: 0, or BL_EIO with errno set (EIO when nothing was written). */
int fio_pwrite_full(int fd, const void *p, size_t n, uint64_t off);

/* Reads all n bytes at off: 0, or BL_EIO with errno set (EIO when the file ends first). */
int fio_pread_full(int fd, void *p, size_t n, uint64_t off);

#endif
