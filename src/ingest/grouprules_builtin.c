/*
 * grouprules_builtin.c - the rules every project gets (grouprules.h).
 *
 * Sentry ships default stack-trace rules that keep well-known runtime and
 * library frames out of the in-app variant (so a Node upgrade or a new
 * Babel helper does not split issues) and built-in fingerprint rules for
 * errors that are noise unless grouped together (a chunk that failed to
 * load names a different chunk every deploy). Both are data, written in
 * the same syntax a project's own rules use, and parsed once. A change to
 * either table changes grouping and therefore FINGERPRINT_VERSION.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/grouprules.h"
#include "core/banned.h"

/* Frames that are never the application's, and those that never identify an error. */
static const char builtin_stack[] =
    "# Node's own code and its task queue: not the application, and which of\n"
    "# them is on the stack depends on the Node version and on timing.\n"
    "family:javascript stack.abs_path:node:** -app -group\n"
    "family:javascript stack.abs_path:internal/** -app -group\n"
    "family:javascript stack.module:node:** -app -group\n"
    "family:javascript stack.function:processTicksAndRejections -app -group\n"
    "family:javascript stack.function:runMicrotasks -app -group\n"
    "family:javascript stack.function:process.processTicksAndRejections -app -group\n"
    "family:javascript stack.function:listOnTimeout -app -group\n"
    "family:javascript stack.function:processTimers -app -group\n"
    "# Dependencies are not in-app.\n"
    "family:javascript stack.abs_path:**/node_modules/** -app\n"
    "# Transpiler and polyfill helpers: generated glue, never the cause.\n"
    "family:javascript stack.abs_path:**/@babel/runtime/** -app -group\n"
    "family:javascript stack.module:@babel.runtime.** -app -group\n"
    "family:javascript stack.module:@babel/runtime/** -app -group\n"
    "family:javascript stack.abs_path:**/core-js/** -app -group\n"
    "family:javascript stack.module:core-js** -app -group\n"
    "family:javascript stack.abs_path:**/tslib/** -app -group\n"
    "family:javascript stack.abs_path:**/tslib.es6.* -app -group\n"
    "family:javascript stack.module:tslib** -app -group\n"
    "family:javascript stack.abs_path:**/regenerator-runtime/** -app -group\n"
    "family:javascript stack.module:regenerator-runtime** -app -group\n"
    "family:javascript stack.abs_path:**/webpack/bootstrap* -app -group\n"
    "family:javascript stack.abs_path:webpack/bootstrap* -app -group\n"
    "family:javascript stack.abs_path:**/webpack/runtime/** -app -group\n"
    "family:javascript stack.abs_path:**/zone.js/** -app -group\n"
    "family:javascript stack.abs_path:**/zone.js -app -group\n"
    "# Python's standard library and installed packages.\n"
    "family:python stack.abs_path:**/site-packages/** -app\n"
    "family:python stack.abs_path:**/dist-packages/** -app\n";

/* Errors that are one problem whatever their message says. */
static const char builtin_fingerprint[] =
    "# A deploy removed the chunk the old page wanted: one issue per app.\n"
    "family:javascript error.type:ChunkLoadError -> chunkloaderror\n"
    "family:javascript error.value:\"ChunkLoadError*\" -> chunkloaderror\n"
    "family:javascript error.value:\"Loading chunk * failed*\" -> chunkloaderror\n"
    "family:javascript error.value:\"Loading CSS chunk * failed*\" -> chunkloaderror\n"
    "family:javascript error.value:\"Failed to fetch dynamically imported module*\""
    " -> dynamicimporterror\n"
    "family:javascript error.value:\"error loading dynamically imported module*\""
    " -> dynamicimporterror\n"
    "family:javascript error.value:\"Importing a module script failed*\" -> dynamicimporterror\n"
    "# React hydration mismatches: one issue per page.\n"
    "family:javascript message:\"*Text content does not match server-rendered HTML*\""
    " -> hydrationerror, {{ transaction }}\n"
    "family:javascript message:\"*Hydration failed because*\" -> hydrationerror, {{ transaction "
    "}}\n"
    "family:javascript message:\"*There was an error while hydrating*\""
    " -> hydrationerror, {{ transaction }}\n"
    "family:javascript message:\"Minified React error #418*\" -> hydrationerror, {{ transaction "
    "}}\n"
    "family:javascript message:\"Minified React error #423*\" -> hydrationerror, {{ transaction "
    "}}\n"
    "family:javascript message:\"Minified React error #425*\" -> hydrationerror, {{ transaction "
    "}}\n";

static struct grules parsed[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void parse_one(const char *text, int kind)
{
    struct grules_error e;

    /* The tables are compiled in: a parse error is a bug caught by the first test. */
    if (grules_parse(text, strlen(text), kind, &parsed[kind], &e) != 0) {
        fprintf(stderr, "built-in grouping rules: line %d, column %d: %s\n", e.line, e.column,
                e.msg);
        abort();
    }
}

static void parse_all(void)
{
    parse_one(builtin_fingerprint, GRULES_FINGERPRINT);
    parse_one(builtin_stack, GRULES_STACK);
}

const struct grules *grules_builtin(int kind)
{
    pthread_once(&once, parse_all);
    return &parsed[kind == GRULES_STACK ? GRULES_STACK : GRULES_FINGERPRINT];
}
