#!/usr/bin/env python3
"""Grouping as Sentry groups (issue 11), live against the real binary.

- A project's grouping rules: GET/PUT /api/0/projects/{id}/grouping/, malformed
  rules refused with 400 naming field, line and column (nothing stored), the
  rules applied by the digest (fingerprint rule, title, stack rule) and the
  grouping and rule-set versions recorded on the issues.
- Real SDKs, each in its own project, running the scenario scripts whose
  captured payloads are tests/data/grouping/sdk_*.json: python3-sentry-sdk,
  @sentry/node and @sentry/browser in headless Chromium report the same error
  from the same code in two ways (one issue) and the same type from other
  code (another issue).
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NODE_DIR = os.path.join(h.HERE, "node")
NODE = shutil.which("node") or shutil.which("nodejs")
VERSION = 3  # FINGERPRINT_VERSION


def store(srv, pid, event):
    event = dict(event, event_id=h.new_id())
    r = srv.post("/api/%d/store/" % pid, json.dumps(event).encode(),
                 headers=dict(srv.auth_headers(pid), **{"Content-Type": "application/json"}))
    h.check_eq(r.status, 200, "store accepted")
    return event["event_id"]


def exc_event(typ, value, fn, module="app.jobs", extra_frames=()):
    frames = [{"module": "app.main", "function": "main", "in_app": True}]
    frames += list(extra_frames)
    frames.append({"module": module, "function": fn, "in_app": True})
    return {"platform": "python", "level": "error",
            "exception": {"values": [{"type": typ, "value": value,
                                      "stacktrace": {"frames": frames}}]}}


def issues_by_count(srv, pid, n_events):
    def ready():
        iss = srv.issues(pid)
        return iss if sum(int(i.get("count", 0)) for i in iss) >= n_events else None
    return h.wait_for(ready, timeout=90,
                      what="%d events in the issues of project %d" % (n_events, pid))


@h.test
def test_grouping_rules_api_and_digest():
    srv = h.Server().start()
    pid, _ = srv.add_project("grouping-rules")
    path = "/api/0/projects/%d/grouping/" % pid

    h.check_eq(srv.get(path).status, 401, "GET without a token")
    h.check_eq(srv.api("GET", "/api/0/projects/9999/grouping/").status, 404, "unknown project")
    doc = srv.api_json(path)
    h.check_eq((doc["version"], doc["fingerprint_rules"], doc["stack_rules"]), (0, "", ""),
               "no rules at first")

    bad = [({"fingerprint_rules": "error.type:A -> a\nstack.fn:x -> y"}, "fingerprint_rules", 2, 1),
           ({"stack_rules": "stack.module:vendor.** +ap"}, "stack_rules", 1, 24),
           ({"fingerprint_rules": "message:\"open -> x"}, "fingerprint_rules", 1, 9)]
    for body, field, line, col in bad:
        r = srv.api("PUT", path, body)
        h.check_eq(r.status, 400, "malformed rules %r" % body)
        err = r.json() or {}
        h.check_eq((err.get("field"), err.get("line"), err.get("column")), (field, line, col),
                   "error position of %r: %r" % (body, err))
        h.check("error" in err, "400 carries a JSON error")
    r = srv.request("PUT", path, body=b"not json",
                    headers={"Authorization": "Bearer %s" % srv.token})
    h.check_eq(r.status, 400, "a body that is not JSON")
    h.check_eq(srv.api("PUT", path, {"stack_rules": 7}).status, 400, "rules of the wrong type")
    h.check_eq(srv.api_json(path)["version"], 0, "refused PUTs changed nothing")

    rules = {"fingerprint_rules": "# one issue for every timeout\n"
                                  "error.type:TimeoutError -> timeouts title=\"Upstream timeouts\"\n",
             "stack_rules": "stack.module:vendor.** -app\n"}
    r = srv.api("PUT", path, rules)
    h.check_eq(r.status, 200, "valid rules stored: %s" % r.body[:300])
    doc = srv.api_json(path)
    h.check_eq((doc["version"], doc["fingerprint_rules"], doc["stack_rules"]),
               (1, rules["fingerprint_rules"], rules["stack_rules"]), "rules read back")

    vendor = [{"module": "vendor.http.client", "function": "send", "in_app": True}]
    store(srv, pid, exc_event("TimeoutError", "read timed out", "fetch"))
    store(srv, pid, exc_event("TimeoutError", "connect timed out", "sync", module="app.sync"))
    store(srv, pid, exc_event("ValueError", "bad", "parse"))
    store(srv, pid, exc_event("ValueError", "bad", "parse", extra_frames=vendor))
    iss = issues_by_count(srv, pid, 4)
    by_title = {i["title"]: i for i in iss}
    h.check_eq(sorted(by_title), ["Upstream timeouts", "ValueError: bad"],
               "the fingerprint rule merged the timeouts, the stack rule kept vendor frames out")
    for i in iss:
        h.check_eq(int(i["count"]), 2, "two events in %r" % i["title"])
        h.check_eq((i.get("grouping_version"), i.get("rules_version")), (VERSION, 1),
                   "versions recorded on %r" % i["title"])

    # A message-only event shape and a top-level stack trace group by content.
    store(srv, pid, {"platform": "python", "message": "poll stalled",
                     "stacktrace": {"frames": [{"module": "app.jobs", "function": "poll",
                                                "in_app": True}]}})
    store(srv, pid, {"platform": "python", "message": "poll stalled again",
                     "stacktrace": {"frames": [{"module": "app.jobs", "function": "poll",
                                                "lineno": 7, "in_app": True}]}})
    iss = issues_by_count(srv, pid, 6)
    h.check_eq(len(iss), 3, "two stack-trace events with different messages: one issue")


def run_scenario(cmd, cwd, what):
    r = h.run(cmd, timeout=180, cwd=cwd)
    ok = h.check_eq(r.returncode, 0, "%s exit status\nstdout: %s\nstderr: %s"
                    % (what, r.stdout[-1500:], r.stderr[-2500:]))
    return ok


def check_two_issues(srv, pid, total, what):
    iss = issues_by_count(srv, pid, total)
    counts = sorted(int(i["count"]) for i in iss)
    h.check_eq(counts, [1, total - 1], "%s: the same code reported two ways is one issue, "
               "other code another (%r)" % (what, [(i["title"], i["count"]) for i in iss]))
    for i in iss:
        h.check_eq(i.get("grouping_version"), VERSION, "%s: grouping version" % what)


@h.test
def test_sdks_group_alike():
    srv = h.Server().start()

    py = h.sdk_python()
    if py is None:
        h.note("python3-sentry-sdk not installed: python scenario skipped")
    else:
        pid, _ = srv.add_project("grouping-python")
        if run_scenario([py, os.path.join(h.HERE, "grouping_python.py"), srv.dsn(pid)], h.HERE,
                        "grouping_python.py"):
            # 3 exceptions (2 + 1) and 3 messages with stacks (2 + 1).
            iss = issues_by_count(srv, pid, 6)
            h.check_eq(sorted(int(i["count"]) for i in iss), [1, 1, 2, 2],
                       "python: %r" % [(i["title"], i["count"]) for i in iss])

    if NODE is None:
        h.note("node not installed: node and browser scenarios skipped")
        return
    pid, _ = srv.add_project("grouping-node")
    if run_scenario([NODE, "grouping_node.mjs", srv.dsn(pid)], NODE_DIR, "grouping_node.mjs"):
        check_two_issues(srv, pid, 3, "@sentry/node")

    if not os.path.exists("/usr/bin/chromium"):
        h.note("chromium not installed: browser scenario skipped")
        return
    pid, _ = srv.add_project("grouping-browser")
    if run_scenario([NODE, "browser_grouping.mjs", srv.dsn(pid)], NODE_DIR,
                    "browser_grouping.mjs"):
        check_two_issues(srv, pid, 3, "@sentry/browser in Chromium")


if __name__ == "__main__":
    h.main()
