"""The real @sentry/node SDK (tests/e2e/node/capture.mjs) against the real server.

@sentry/node sends envelopes only, without `length` on JSON items, without a
final newline and with a chunked body, so this covers the modern path that
python3-sentry-sdk 1.9.10 (store endpoint) does not.
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NODE_DIR = os.path.join(h.HERE, "node")
SCRIPT = os.path.join(NODE_DIR, "capture.mjs")


def exc_values(ev):
    exc = ev.get("exception") or {}
    vals = exc.get("values") if isinstance(exc, dict) else exc
    return vals or []


def frames_of(value):
    return ((value or {}).get("stacktrace") or {}).get("frames") or []


@h.test
def test_node_capture():
    srv = h.Server().start()
    r = h.run([NODE, SCRIPT, srv.dsn(1)], timeout=90, cwd=NODE_DIR,
              env={"BILOR_E2E_NODE_DEBUG": "1"})
    if not h.check_eq(r.returncode, 0, "node capture.mjs exit status\nstdout: %s\nstderr: %s"
                      % (r.stdout[-2000:], r.stderr[-3000:])):
        return
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1]
    ids = json.loads(line)
    h.check_eq(ids.get("flushed"), True, "Sentry.flush() resolved true (debug log: %s)"
               % r.stdout[-1500:])
    for k in ("exception", "message", "cause"):
        h.check(h.KEY_RE.match(ids.get(k) or ""), "event id for %s: %r" % (k, ids.get(k)))

    ev = srv.wait_event(1, ids["exception"])
    vals = exc_values(ev)
    if h.check(len(vals) >= 1, "exception present"):
        prim = vals[-1]
        h.check_eq(prim.get("type"), "Error", "exception type")
        h.check_eq(prim.get("value"), "widget exploded at size 7", "exception value")
        fr = frames_of(prim)
        fnames = [f.get("function") for f in fr]
        h.check("explodeWidget" in fnames, "frames include the throwing function: %r" % fnames)
        if fr:
            h.check_eq(fr[-1].get("function"), "explodeWidget", "last frame threw")
            h.check((fr[-1].get("filename") or fr[-1].get("abs_path") or "")
                    .endswith("capture.mjs"), "frame file: %r" % fr[-1].get("filename"))
            h.check(isinstance(fr[-1].get("lineno"), int) and fr[-1]["lineno"] > 0,
                    "frame lineno: %r" % fr[-1].get("lineno"))
            h.check("throw new Error" in (fr[-1].get("context_line") or ""),
                    "context line from the node SDK: %r" % fr[-1].get("context_line"))
    h.check_eq(ev.get("platform"), "node", "platform")
    h.check_eq(ev.get("release"), "node-e2e@3.1.4", "release")
    h.check_eq(ev.get("environment"), "e2e-node", "environment")
    h.check_eq(ev.get("server_name"), "node-e2e-host", "server_name")
    h.check_in(["runtime", "node"], ev.get("tags") or [], "tag")
    h.check_eq((ev.get("user") or {}).get("id"), "n-7", "user id")
    h.check(isinstance((ev.get("contexts") or {}).get("runtime"), dict),
            "contexts.runtime kept: %s" % h._short(ev.get("contexts"), 300))

    msg = srv.wait_event(1, ids["message"])
    h.check_eq(msg.get("message"), "node says hello 42", "captureMessage text")
    h.check_eq(msg.get("level"), "error", "captureMessage level")

    cause = srv.wait_event(1, ids["cause"])
    types = [v.get("type") for v in exc_values(cause)]
    h.check_eq(types, ["SyntaxError", "Error"], "Error cause chain (linked errors), oldest first")

    issues = h.wait_for(lambda: (lambda l: len(l) >= 3 and l)(srv.issues(1)),
                        what="three issues")
    h.check_eq(len(issues), 3, "issues: widget, message, manifest")
    widget = [i for i in issues if "widget exploded" in (i.get("title") or "")]
    if h.check_eq(len(widget), 1, "widget issue by title"):
        h.check("explodeWidget" in (widget[0].get("culprit") or ""),
                "culprit names the function: %r" % widget[0].get("culprit"))
        h.check_eq(int(widget[0]["count"]), 1, "widget issue count")


@h.test
def test_node_recursion_depths_one_issue():
    """protocols.md §2: recursion counts once, whatever the depth. V8 keeps the
    10 innermost frames, so the deeper throw also loses its callers."""
    srv = h.Server().start()
    r = h.run([NODE, os.path.join(NODE_DIR, "recursion.mjs"), srv.dsn(1)], timeout=90,
              cwd=NODE_DIR)
    if not h.check_eq(r.returncode, 0, "node recursion.mjs exit status\nstdout: %s\nstderr: %s"
                      % (r.stdout[-2000:], r.stderr[-3000:])):
        return
    ids = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    h.check_eq(ids.get("flushed"), True, "Sentry.flush() resolved true")
    h.check_eq(ids.get("stackTraceLimit"), 10, "V8's default Error.stackTraceLimit")
    d3 = srv.wait_event(1, ids["d3"])
    d7 = srv.wait_event(1, ids["d7"])
    f3 = [f.get("function") for f in frames_of(exc_values(d3)[-1])]
    f7 = [f.get("function") for f in frames_of(exc_values(d7)[-1])]
    h.check_eq((f3.count("descend"), f7.count("descend")), (4, 8),
               "descend frames at depths 3 and 7: %r / %r" % (f3, f7))
    h.check(len(f7) == 10 and [f for f in f3 if f not in f7],
            "the depth-7 stack lost callers to the 10-frame limit: %r / %r" % (f3, f7))
    h.check(d3.get("issue_id") is not None, "depth 3 grouped: %r" % d3.get("issue_id"))
    h.check_eq(d7.get("issue_id"), d3.get("issue_id"), "depth 3 and depth 7 share one issue")
    h.check_eq(d7.get("fingerprint"), d3.get("fingerprint"), "same fingerprint")
    issues = srv.issues(1)
    h.check_eq(len(issues), 1, "one issue: %r" % [i.get("title") for i in issues])
    if issues:
        h.check_eq(int(issues[0]["count"]), 2, "the issue counts both events")
        h.check("descend" in (issues[0].get("culprit") or ""),
                "culprit names the recursive function: %r" % issues[0].get("culprit"))


NODE = shutil.which("node") or shutil.which("nodejs")

if __name__ == "__main__":
    if not NODE:
        h.skip_all("node is not installed (scripts/install-deps.sh --test installs it)")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@sentry", "node")):
        h.skip_all("tests/e2e/node/node_modules/@sentry/node is missing "
                   "(run scripts/install-deps.sh --test)")
    h.main()
