"""The original Bilor API (POST /api/v1/message/, protocols.md §7) with the
seed's payloads L1-L4 through curl and urllib: off by default, opened for one
project by --v1-api, 201 "success", the traceback as an exception chain, and
the seed's per-address throttle (60 a minute, 429 with X-Throttle-Wait-Seconds).
"""

import json
import os
import shutil
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

CURL = shutil.which("curl")

L1 = {"message": "this is a debug message", "formatted": "this is a debug message", "params": [],
      "created": 1410789078.53, "level": 10, "logger": "_bilor_testing"}
L3 = json.loads(
    r'{"message":"boom %s","formatted":"boom x","params":["x"],"created":1410789078.6,"level":40,'
    r'"logger":"app","traceback":{"title":"ZeroDivisionError: division by zero","exception":'
    r'"ZeroDivisionError: division by zero","exception_type":"builtins.ZeroDivisionError",'
    r'"plaintext":"Traceback (most recent call last):\n  File \"app.py\", line 3, in &lt;module&gt;'
    r'\n    1/0\nZeroDivisionError: division by zero","traceback_id":140000000000,"frames":[{"id":'
    r'140000000001,"filename":"app.py","lineno":3,"function_name":"&lt;module&gt;","current_line":'
    r'"1/0","sourcelines":["import x","","1/0"],"lines":[{"classes":["current"],"lineno":3,'
    r'"code":"1/0"}]}]}}')


def urllib_post(url, obj):
    """As the seed's handler posts: requests-style JSON with content-type application/json."""
    req = urllib.request.Request(url, data=json.dumps(obj).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@h.test
def test_v1_closed_by_default():
    srv = h.Server().start()
    st, _, _ = urllib_post(srv.url("/api/v1/message/"), L1)
    h.check_eq(st, 404, "the keyless door is closed without --v1-api")


@h.test
def test_v1_unknown_project_refused():
    srv = h.Server(args=["--v1-api", "99"])
    srv.start(wait=False)
    h.check(srv.proc.wait(30) != 0, "bilor serve --v1-api 99 fails to start")
    h.check("--v1-api 99" in srv.log_text(), "and says why: %s" % srv.tail(5))


@h.test
def test_v1_payloads_and_throttle():
    srv = h.Server(args=["--v1-api", "1"]).start()
    url = srv.url("/api/v1/message/")
    st, _, body = urllib_post(url, L1)
    h.check_eq((st, body), (201, b"success"), "L1")
    l2 = dict(L1, message="with extra", formatted="with extra", extra=["foo", "bar"],
              tags={"env": "prod"})
    st, _, body = urllib_post(url, l2)
    h.check_eq((st, body), (201, b"success"), "L2")
    if CURL:
        r = h.run([CURL, "-sS", "-X", "POST", "-H", "content-type: application/json",
                   "--data-binary", json.dumps(L3), "-w", "\n%{http_code}", url])
        h.check_eq(r.stdout, "success\n201", "L3 via curl")
    else:
        h.check_eq(urllib_post(url, L3)[0], 201, "L3")
    st, _, body = h.http("GET", url)
    h.check_eq(st, 200, "GET answers as the seed did")
    h.check_eq(urllib_post(url, [1, 2])[0], 400, "not an object")
    # L1 and L2 (debug) are log lines; L3 (40) is an issue
    logs = h.wait_for(lambda: (lambda x: x if len(x) == 2 else None)(
        srv.api_json("/api/0/projects/1/logs/")), what="L1 and L2")
    by = {e["message"]: e for e in logs}
    h.check_eq((by["this is a debug message"].get("level"),
                by["this is a debug message"].get("logger")), ("debug", "_bilor_testing"),
               "L1 level 10 and logger")
    h.check_in(["env", "prod"], by["with extra"].get("tags") or [], "L2 tags")
    issues = h.wait_for(lambda: srv.api_json("/api/0/projects/1/issues/") or None,
                        what="the L3 issue")
    h.check_eq(len(issues), 1, "one issue")
    evs = srv.api_json("/api/0/issues/%s/events/" % issues[0]["id"])
    ev = srv.api_json("/api/0/projects/1/events/%s/" % evs[0]["event_id"])
    exc = (ev.get("exception") or {}).get("values") or []
    h.check_eq([(x.get("type"), x.get("value"), x.get("module")) for x in exc],
               [("ZeroDivisionError", "division by zero", "builtins")], "L3 exception")
    frames = ((exc[0] if exc else {}).get("stacktrace") or {}).get("frames") or []
    h.check_eq([(f.get("function"), f.get("lineno"), f.get("context_line"), f.get("filename"))
                for f in frames], [("<module>", 3, "1/0", "app.py")], "L3 frame, unescaped")
    h.check_eq(ev.get("message"), "boom x", "formatted is the message")
    h.check_eq(ev.get("message_template"), "boom %s", "message is the template")
    h.check_eq(ev.get("level"), "error", "level 40")
    # L4: 61 within a minute from one address: 5 sent so far
    statuses = []
    for i in range(56):
        statuses.append(urllib_post(url, dict(L1, message="burst %d" % i))[0])
    h.check_eq(statuses, [201] * 55 + [429] * 0 + [201], "60 accepted in the minute")
    st, hdrs, body = urllib_post(url, L1)
    h.check_eq(st, 429, "the 61st is throttled")
    wait = hdrs.get("X-Throttle-Wait-Seconds")
    h.check(wait is not None and 0 < int(wait) <= 60, "X-Throttle-Wait-Seconds: %r" % wait)
    h.check_eq(hdrs.get("Retry-After"), wait, "Retry-After too")
    h.check_eq(json.loads(body), {"detail": "Request was throttled.Expected available in %s "
                                            "seconds." % wait}, "DRF 2.x detail")


if __name__ == "__main__":
    h.main()
