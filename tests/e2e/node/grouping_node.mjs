// Drives @sentry/node for tests/e2e/test_grouping.py and the captured
// payloads of tests/data/grouping/ (README.md there):
//   node grouping_node.mjs DSN
// The same error from the same code reported two ways (caught and captured;
// left as an unhandled rejection, which the SDK reports), then the same type
// from other code. Prints {"flushed": true} when the SDK has sent.
import * as Sentry from "@sentry/node";

const dsn = process.argv[2];
Sentry.init({ dsn, release: "node-e2e@1.0.0", environment: "e2e-node", tracesSampleRate: 0 });

function validate(item) {
    if (item.qty < 0) throw new RangeError("bad quantity " + item.qty);
}

function checkout(items) {
    items.forEach(validate);
}

function run(n) {
    checkout([{ qty: 1 }, { qty: -n }]);
}

function audit(n) {
    throw new RangeError("bad quantity " + n);
}

function attempt(way, n) {
    try {
        run(n);
    } catch (e) {
        if (way === "capture") Sentry.captureException(e);
        else Promise.reject(e);
    }
}

for (const [way, n] of [["capture", 1], ["reject", 2]]) attempt(way, n);
await new Promise((ok) => setTimeout(ok, 200));
try {
    audit(3);
} catch (e) {
    Sentry.captureException(e);
}
console.log(JSON.stringify({ flushed: await Sentry.flush(10000) }));
