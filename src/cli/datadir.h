/*
 * datadir.h - the data directory as a whole, as the commands see it.
 *
 * DESIGN
 * Only `bilor serve` creates a data directory; the admin commands refuse a
 * directory that holds no Bilor data instead of creating an empty store
 * there (a typo in --data-dir would otherwise print an empty project list
 * and exit 0). A Bilor data directory holds bilor.db, or bilor.pid left by
 * a server that started there.
 *
 * One server per data directory: two processes digesting one journal into
 * one store would split the requests between them and lose acknowledged
 * lines. `bilor serve` holds a POSIX record lock on <dir>/bilor.pid (which
 * also holds its PID) for as long as it runs; the kernel drops the lock
 * when the process ends, however it ends, so a stale file never blocks a
 * start. The admin commands take no lock: SQLite serializes their writes
 * with the server's.
 *
 * The public URL (what DSNs point at) is derived in one place,
 * config_public_url(); `bilor serve` records it in <dir>/bilor.url at each
 * start, and the admin commands print DSNs from that record, so they agree
 * with the server whatever --listen or --public-url it was given.
 *
 * Everything here is created private (0700 / 0600): the directory holds the
 * admin password hash, token digests and every DSN key.
 */
#ifndef BL_CLI_DATADIR_H
#define BL_CLI_DATADIR_H

#include <stddef.h>

#include "core/err.h"

/*
 * For `bilor serve`: creates dir (and missing parents) mode 0700, or makes
 * an existing one 0700 if others could read it (logged). Fails if dir is
 * not a directory.
 */
int datadir_prepare(const char *dir, struct bl_err *err);

/*
 * For `bilor serve`: locks dir for this process and writes its PID into
 * dir/bilor.pid. *fd keeps the lock until datadir_unlock(). BL_EBUSY names
 * the PID of the server that holds it.
 */
int datadir_lock(const char *dir, int *fd, struct bl_err *err);
void datadir_unlock(int fd);

/* For the admin commands: 0 if dir holds Bilor data, else BL_ENOTFOUND saying how to make one. */
int datadir_check(const char *dir, struct bl_err *err);

/* Records the server's public URL in dir/bilor.url (replaced atomically). */
int datadir_write_url(const char *dir, const char *url, struct bl_err *err);

/* The URL the last server recorded; BL_ENOTFOUND if none was. */
int datadir_read_url(const char *dir, char *out, size_t len);

#endif
