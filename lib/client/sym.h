/*
 * sym.h - symbolizing raw addresses to Sentry stack frames with libdwfl
 * (elfutils).
 *
 * A symbolizer knows the module layout of one address space: this process
 * (read from /proc/self/maps) or a crashed earlier run (the maps text the
 * crash handler spooled). Each address becomes one frame per inlined
 * function at it (as addr2line -i does): function, source file and line
 * from DWARF when the module has debug information, the ELF symbol
 * otherwise. Debug information is looked for in the module itself and
 * under /usr/lib/debug/.build-id, never over the network (debuginfod).
 * Not thread-safe: one symbolizer is used by one thread.
 */
#ifndef BC_SYM_H
#define BC_SYM_H

#include <stddef.h>

#include "client/buf.h"

struct bc_sym;

/* Symbolizer for the running process. 0, BILOR_ENOMEM or BILOR_EIO. */
int bc_sym_new_self(struct bc_sym **out, const struct bilor_allocator *a);
/* Symbolizer for a module layout in /proc/PID/maps format (maps[0..len)). */
int bc_sym_new_maps(struct bc_sym **out, const struct bilor_allocator *a, const char *maps,
                    size_t len);
void bc_sym_free(struct bc_sym *s);

/*
 * Appends a JSON array of Sentry frames, caller first (the order Sentry
 * wants), for addrs[0..n) given innermost first. When exact_first is set,
 * addrs[0] is the faulting instruction itself rather than a return
 * address. Returns out's error.
 */
int bc_sym_frames(struct bc_sym *s, void *const *addrs, size_t n, int exact_first,
                  struct bc_buf *out);

#endif
