/*
 * fuzz_logattr.c - libFuzzer driver for la_service (store/logattr.h):
 * never reads outside its input, and what it reads agrees with cJSON
 * under the search document's rule (tests/unit/la_diff.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/la_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (la_diff((const char *)data, size) != 0)
        abort();
    return 0;
}
