/*
 * fuzz_jsonscan.c - jsonscan on arbitrary bytes. Besides not crashing, it
 * checks the promise the door relies on: whatever jsonscan accepts, cJSON
 * (through json_parse, as the digest uses it) accepts too; every member
 * value slice is itself valid JSON of the reported type; every string
 * member value unquotes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/jsonscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_member(void *arg, struct slice key, int type, struct slice value)
{
    struct buf b = BUF_INIT(value.len + 1);
    int top = -1;

    (void)arg;
    (void)key;
    if (jsonscan(value.p, value.len, 64, NULL, NULL, &top, NULL) != 0 || top != type)
        abort();
    if (type == JSONSCAN_STRING && jsonscan_unquote(value, &b) != 0)
        abort();
    buf_release(&b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    struct json_limits lim = { size + 1, 16 };
    const char *p = (const char *)data;
    cJSON *tree;

    if (!inited) {
        hash_global_init();
        json_global_init();
        inited = 1;
    }
    if (jsonscan(p, size, 16, on_member, NULL, NULL, NULL) != 0)
        return 0;
    tree = json_parse(p, size, &lim, NULL);
    if (tree == NULL)
        abort();
    cJSON_Delete(tree);
    return 0;
}
