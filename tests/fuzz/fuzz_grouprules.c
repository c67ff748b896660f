/*
 * fuzz_grouprules.c - the grouping-rules parser (ingest/grouprules.h) on
 * arbitrary text, as both kinds. Checks that an error points inside the
 * text with a message, and that rules that parsed can be applied to an
 * event (fingerprint rules matched, stack-trace rules applied) and used to
 * fingerprint it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/grouprules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const char *text, size_t len, const struct grules_error *e)
{
    int lines = 1;

    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (e->msg[0] == '\0' || e->line < 1 || e->line > lines || e->column < 1 ||
        (size_t)e->column > len + 1)
        abort();
}

static void use(const struct grules *fp, const struct grules *stack)
{
    struct ev_frame frames[3] = {
        { .function = "main",
          .module = "app.main",
          .filename = "main.py",
          .abs_path = "/srv/app/main.py",
          .context_line = "run()",
          .lineno = 1,
          .in_app = 1 },
        { .function = "call",
          .module = "vendor.http",
          .package = "libx.so",
          .filename = "http.py",
          .abs_path = "/srv/vendor/http.py",
          .lineno = 2,
          .in_app = -1 },
        { .function = "Object.<anonymous>",
          .filename = "node:internal/timers",
          .abs_path = "node:internal/timers",
          .lineno = 3,
          .sourcemapped = 1 },
    };
    struct ev_exception x = { .type = "TimeoutError",
                              .value = "read timed out after 3s",
                              .mechanism = "generic",
                              .handled = 1,
                              .frames = frames,
                              .nframes = 3 };
    struct ev_tag tag = { "region", "eu-1" };
    struct event ev;
    struct pool pool = POOL_INIT(4096);
    struct fingerprint_rules rules = { fp, stack, 1 };

    memset(&ev, 0, sizeof(ev));
    ev.platform = "python";
    ev.message = "quota exceeded";
    ev.logger = "app";
    ev.exc = &x;
    ev.nexc = 1;
    ev.tags = &tag;
    ev.ntags = 1;
    (void)grules_match_fingerprint(fp, &ev);
    grules_apply_stack(stack, &ev);
    fingerprint_event_rules(&ev, &pool, &rules);
    if (ev.fingerprint[0] == '\0' || ev.title == NULL)
        abort();
    pool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct grules fp, stack, empty;
    struct grules_error e;
    int fp_ok = grules_parse(text, size, GRULES_FINGERPRINT, &fp, &e) == 0;

    if (!fp_ok)
        check_error(text, size, &e);
    if (grules_parse(text, size, GRULES_STACK, &stack, &e) != 0)
        check_error(text, size, &e);
    else if (fp_ok)
        use(&fp, &stack);
    else
        use(NULL, &stack);
    if (fp_ok) {
        memset(&empty, 0, sizeof(empty));
        use(&fp, &empty);
    }
    grules_free(&fp);
    grules_free(&stack);
    return 0;
}
