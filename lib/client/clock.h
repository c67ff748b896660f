/* clock.h - the two clocks of libbilor: wall time for records, monotonic for deadlines. */
#ifndef BC_CLOCK_H
#define BC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t bc_clock_real_us(void);
int64_t bc_clock_mono_us(void);
/* "2024-05-01T12:00:00.500000Z" into out (room for 32). */
void bc_clock_rfc3339(int64_t us, char *out, size_t cap);

#endif
