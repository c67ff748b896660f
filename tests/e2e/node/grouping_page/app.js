// The page of tests/e2e/node/browser_grouping.mjs: the same error from the
// same code reported two ways (caught and captured; rethrown uncaught from a
// timer, reported by the SDK's handlers), and the same type from other code.
import * as Sentry from "@sentry/browser";

const params = new URLSearchParams(location.search);
window.__sent = [];
Sentry.init({
    dsn: params.get("dsn"),
    release: "browser-e2e@1.0.0",
    environment: "e2e-browser",
    beforeSend(event) {
        window.__sent.push(event.event_id);
        return event;
    },
});

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

// The same error from the same code, reported two ways: caught and
// captured, or rethrown from a timer so the SDK's handlers report it.
function attempt(way, n) {
    try {
        run(n);
    } catch (e) {
        if (way === "capture") Sentry.captureException(e);
        else setTimeout(() => { throw e; }, 0);
    }
}

for (const [way, n] of [["capture", 1], ["throw", 2]]) attempt(way, n);
// Other code, same type: another issue.
setTimeout(() => {
    try {
        audit(3);
    } catch (e) {
        Sentry.captureException(e);
    }
    window.__done = true;
}, 100);
