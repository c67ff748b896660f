// Drives the real @sentry/node SDK at a Bilor server for tests/e2e/test_sentry_node.py.
//   node capture.mjs DSN
// Captures an Error thrown from a named function, a message and a chained
// error (Error cause), flushes, then prints one JSON line:
//   {"exception": "<event id>", "message": "<event id>", "cause": "<event id>", "flushed": true}
import * as Sentry from "@sentry/node";

const dsn = process.argv[2];
if (!dsn) {
    console.error("usage: node capture.mjs DSN");
    process.exit(2);
}

Sentry.init({
    dsn,
    release: "node-e2e@3.1.4",
    environment: "e2e-node",
    serverName: "node-e2e-host",
    tracesSampleRate: 0,
    debug: process.env.BILOR_E2E_NODE_DEBUG === "1",
});

function explodeWidget(size) {
    throw new Error(`widget exploded at size ${size}`);
}

function parseManifest() {
    try {
        JSON.parse("{not json");
    } catch (err) {
        throw new Error("manifest unreadable", { cause: err });
    }
}

const ids = {};
Sentry.setTag("runtime", "node");
Sentry.setUser({ id: "n-7", email: "node@example.com" });
try {
    explodeWidget(7);
} catch (err) {
    ids.exception = Sentry.captureException(err);
}
ids.message = Sentry.captureMessage("node says hello 42", "error");
try {
    parseManifest();
} catch (err) {
    ids.cause = Sentry.captureException(err);
}
ids.flushed = await Sentry.flush(10000);
console.log(JSON.stringify(ids));
process.exit(0);
