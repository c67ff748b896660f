/*
 * stack.h - capturing the caller's stack as raw return addresses.
 *
 * Capturing is cheap (glibc backtrace(), which unwinds with the .eh_frame
 * tables every Linux binary carries), so it runs on the caller's thread;
 * symbolizing is slow and runs on the sender thread (sym.h).
 */
#ifndef BC_STACK_H
#define BC_STACK_H

#include <stddef.h>

#define BC_STACK_MAX 128

/*
 * Fills out (room for max) with return addresses, innermost first,
 * starting at the address from: the return address into the application
 * of the public function that was called, so libbilor's own frames are
 * left out. When from is not on the stack every frame but this one is
 * kept. Returns the number of addresses.
 */
size_t bc_stack_capture(void **out, size_t max, const void *from);

/*
 * The first backtrace() loads libgcc_s with dlopen(), which allocates and
 * takes locks: call this once before a crash handler might need it.
 */
void bc_stack_warmup(void);

#endif
