/*
 * slim.h - a Sentry event's JSON without the parts the digest never reads.
 *
 * DESIGN
 * The digest builds a cJSON tree of every event only to scrub it and to
 * normalize it; the raw payload is stored as received and the API rebuilds
 * everything else from it. About half of a typical Python event is what
 * normalize_sentry never looks at: the breadcrumbs, the request, the SDK
 * and module lists, and each stack frame's local variables and source
 * context (pre_context, post_context). cJSON costs about 34 instructions a
 * byte, the scrub walk a dozen more.
 *
 * slim_event copies the event text with the values of those members (an
 * object or an array) replaced by `null`, so only the rest is parsed. It
 * does so only when the tree path would have given the very same result:
 * every skipped value is checked strictly (jsonscan, within the depth left
 * under the parser's limit, so a document that cJSON or the depth limit
 * would refuse is left to the full parse and its error), and is read as the
 * scrub walk would read it (scrub.h's text predicates): when anything in it
 * might be scrubbed, the answer is 0 and the caller parses the whole text
 * (the scrubbed raw payload must then be printed from the whole tree).
 * Members are chosen by their path, never by name alone (a "vars" inside
 * a log message's params is printed into the message):
 *   - at the top level: breadcrumbs, request, modules, sdk, debug_meta,
 *     and every member of contexts but trace;
 *   - in a frame of a stack trace that normalize reads (the top level's
 *     stacktrace, exception[.values][i][.stacktrace], threads' values):
 *     vars, pre_context, post_context.
 * Nothing else of the text changes, so the slim tree scrubs and normalizes
 * to the same event (tests/unit/slim_diff.h compares both paths; a fuzz
 * driver too).
 */
#ifndef BL_SLIM_H
#define BL_SLIM_H

#include <stddef.h>

#include "core/buf.h"
#include "ingest/scrub.h"

/*
 * 1 with out = the slim copy of the event p[0..len), 0 when the whole text
 * must be parsed (nothing to skip, a skipped value the scrub may change,
 * anything unusual). max_depth is the parser's nesting limit, r the
 * project's scrubbing rules (NULL: the defaults). out is appended to.
 */
int slim_event(const char *p, size_t len, int max_depth, const struct scrub_rules *r,
               struct buf *out);

#endif
