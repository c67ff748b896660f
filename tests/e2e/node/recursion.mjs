// Drives the real @sentry/node SDK for test_sentry_node.py's recursion check.
//   node recursion.mjs DSN
// Throws the same Error from descend() at recursion depths 3 and 7, under
// V8's default Error.stackTraceLimit (10 frames): at depth 7 the callers
// (handle, route, the module's top level) no longer fit in the stack the
// SDK sees. Prints one JSON line:
//   {"d3": "<event id>", "d7": "<event id>", "stackTraceLimit": 10, "flushed": true}
import * as Sentry from "@sentry/node";

const dsn = process.argv[2];
if (!dsn) {
    console.error("usage: node recursion.mjs DSN");
    process.exit(2);
}

Sentry.init({ dsn, tracesSampleRate: 0 });

function descend(depth) {
    if (depth <= 0)
        throw new Error("descent failed at the bottom");
    return descend(depth - 1);
}

function route(depth) {
    return descend(depth);
}

function handle(depth) {
    return route(depth);
}

const ids = { stackTraceLimit: Error.stackTraceLimit };
for (const depth of [3, 7]) {
    try {
        handle(depth);
    } catch (err) {
        ids["d" + depth] = Sentry.captureException(err);
    }
}
ids.flushed = await Sentry.flush(10000);
console.log(JSON.stringify(ids));
process.exit(0);
