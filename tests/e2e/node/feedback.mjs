// Drives @sentry/node at a Bilor server for tests/e2e/test_envelope_items.py.
//   node feedback.mjs DSN
// Captures an error with an attachment on the scope, then user feedback
// about it (Sentry.captureFeedback: a `feedback` envelope item), flushes and
// prints one JSON line: {"error": "<event id>", "feedback": "<id>", "flushed": true}.
// @sentry/node 8.x has no Sentry.logger; structured logs are sent by the
// test as raw envelopes instead.
import * as Sentry from "@sentry/node";

const dsn = process.argv[2];
if (!dsn) {
    console.error("usage: node feedback.mjs DSN");
    process.exit(2);
}

Sentry.init({ dsn, release: "node-fb@1.0.0", environment: "e2e-node", tracesSampleRate: 0 });

function chargeCard() {
    throw new Error("card declined for order 1234");
}

const ids = {};
Sentry.getCurrentScope().addAttachment({
    filename: "cart.json",
    data: '{"items":3}',
    contentType: "application/json",
});
try {
    chargeCard();
} catch (err) {
    ids.error = Sentry.captureException(err);
}
Sentry.getCurrentScope().clearAttachments();
ids.feedback = Sentry.captureFeedback({
    message: "The checkout button did nothing",
    name: "Ada",
    email: "ada@example.com",
    url: "https://shop.example.com/checkout",
    associatedEventId: ids.error,
});
ids.flushed = await Sentry.flush(10000);
console.log(JSON.stringify(ids));
process.exit(0);
