"""python3-sentry-sdk scenarios for tests/e2e/test_grouping.py and the captured
payloads of tests/data/grouping/ (README.md there): python3 grouping_python.py DSN

The same error from the same code reported two ways (capture_exception, and
logger.exception through the logging integration), the same type from other
code, and messages with attach_stacktrace (the current thread's stack, sent as
"threads") from one function twice and from another once.
"""
import logging
import sys

import sentry_sdk

sentry_sdk.init(dsn=sys.argv[1], release="py-e2e@1.0.0", environment="e2e-python",
                attach_stacktrace=False)
log = logging.getLogger("shop")


def validate(qty):
    if qty < 0:
        raise ValueError("bad quantity %d" % qty)


def checkout(items):
    for qty in items:
        validate(qty)


def run(n):
    checkout([1, -n])


def audit(n):
    raise ValueError("bad quantity %d" % n)


def attempt(way, n):
    try:
        run(n)
    except ValueError:
        if way == "capture":
            sentry_sdk.capture_exception()
        else:
            log.exception("checkout failed")


for way, n in (("capture", 1), ("log", 2)):
    attempt(way, n)
try:
    audit(3)
except ValueError:
    sentry_sdk.capture_exception()


def poll(i):
    with sentry_sdk.push_scope() as scope:
        scope.set_tag("loop", str(i))
        sentry_sdk.capture_message("queue is stuck", level="error")


def drain():
    sentry_sdk.capture_message("queue is stuck", level="error")


# Re-initialising replaces the client: send what the first one holds first.
sentry_sdk.flush(timeout=10)
sentry_sdk.init(dsn=sys.argv[1], release="py-e2e@1.0.0", environment="e2e-python",
                attach_stacktrace=True)
for i in range(2):
    poll(i)
drain()
sentry_sdk.flush(timeout=10)
print('{"flushed": true}')
