"""Search through the REST API: lines sent through the NDJSON door and events
sent by python3-sentry-sdk are found by queries, histograms and facets;
malformed queries, unknown fields and unknown parameters are 400s; the
context of a line; issues filtered by a query.
"""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402


def ndjson(lines):
    return ("\n".join(json.dumps(x) for x in lines) + "\n").encode()


def send_lines(srv, pid, lines):
    r = srv.post("/api/%d/logs" % pid, ndjson(lines),
                 headers=dict(srv.auth_headers(pid), **{"Content-Type": "application/x-ndjson"}))
    h.check_eq(r.status, 200, "ndjson accepted")
    return r


def q(path, **params):
    return path + "?" + urllib.parse.urlencode(params, doseq=True)


def messages(srv, pid, query, **extra):
    r = srv.api("GET", q("/api/0/projects/%d/logs/" % pid, query=query, **extra))
    if r.status != 200:
        raise AssertionError("query %r -> %s %s" % (query, r.status, r.body[:300]))
    return [x.get("message") for x in r.json()]


LINES = [
    {"message": "connection refused by db1:5432", "level": "warning", "host": "db1",
     "service": "api", "logger": "django.db", "http": {"status": 500}, "user": "bob"},
    {"message": "connection reset by peer", "level": "notice", "host": "db2",
     "service": "api", "logger": "django.request", "http": {"status": 502}},
    {"message": "GET /health 200 in 3ms", "level": "info", "host": "web1", "service": "web",
     "logger": "gunicorn.access"},
    {"message": "Timeout while reading from upstream (read timeout=30s)", "level": "warning",
     "host": "web1", "service": "web", "logger": "nginx", "request_id": "8f2c"},
    {"message": "user bob logged in", "level": "info", "host": "web2", "service": "auth",
     "user": "bob", "http": {"status": 200}},
]


@h.test
def test_log_search_histogram_facets_context():
    srv = h.Server().start()
    now = time.time()
    lines = []
    for i, ln in enumerate(LINES):
        x = dict(ln)
        x["timestamp"] = now - 60 + i  # one second apart, oldest first
        lines.append(x)
    send_lines(srv, 1, lines)
    h.wait_for(lambda: len(messages(srv, 1, "")) >= 5, what="5 lines stored")

    cases = {
        "connection": ["connection reset by peer", "connection refused by db1:5432"],
        "connection -refused": ["connection reset by peer"],
        '"read timeout"': ["Timeout while reading from upstream (read timeout=30s)"],
        "level:>=info host:db*": ["connection reset by peer",
                                  "connection refused by db1:5432"],
        "level:warning host:db*": ["connection refused by db1:5432"],
        "attrs.http.status:50*": ["connection reset by peer", "connection refused by db1:5432"],
        "attrs.user:bob service:auth": ["user bob logged in"],
        "host:[web1,web2] -level:warning": ["user bob logged in", "GET /health 200 in 3ms"],
        "logger:django.* OR request_id:8f2c": [
            "Timeout while reading from upstream (read timeout=30s)",
            "connection reset by peer", "connection refused by db1:5432"],
        "has:request_id": ["Timeout while reading from upstream (read timeout=30s)"],
        "nothing_like_this": [],
    }
    for query, want in cases.items():
        h.check_eq(messages(srv, 1, query), want, "query %r" % query)
    h.check_eq(messages(srv, 1, "connection", since="15m"),
               ["connection reset by peer", "connection refused by db1:5432"],
               "relative since")
    h.check_eq(messages(srv, 1, "connection", until="15m"), [], "relative until")
    # pages of one walk the matches newest first
    items, pages = srv.api_pages(q("/api/0/projects/1/logs/", query="level:>=info", limit=2))
    h.check_eq(len(items), 5, "all lines over pages")
    h.check(pages >= 3, "three pages of 2")
    rows = srv.api_json(q("/api/0/projects/1/logs/", query="attrs.user:bob"))
    h.check_eq(rows[-1].get("attributes", {}).get("user"), "bob", "attributes in the listing")

    # malformed queries: 400 with a position
    r = srv.api("GET", q("/api/0/projects/1/logs/", query="level:>= (a"))
    h.check_eq(r.status, 400, "malformed query is 400")
    h.check("position" in r.json() and "expected" in r.json().get("error", ""),
            "the error says where and what was expected: %s" % r.body[:200])
    r = srv.api("GET", q("/api/0/projects/1/logs/", query="stack.function:x"))
    h.check_eq(r.status, 400, "a field logs do not have is 400")
    r = srv.api("GET", q("/api/0/projects/1/logs/", qeury="x"))
    h.check_eq(r.status, 400, "an unknown parameter is 400")
    h.check("qeury" in r.json().get("error", ""), "the error names the parameter")

    # histogram
    hist = srv.api_json(q("/api/0/projects/1/logs/histogram/", query="-host:web2",
                          since="1h", interval="1m"))
    h.check_eq(hist["interval"], 60, "interval in seconds")
    h.check_eq(sum(b["count"] for b in hist["buckets"]), 4, "four lines not from web2")
    levels = {}
    for b in hist["buckets"]:
        for k, v in b["levels"].items():
            levels[k] = levels.get(k, 0) + v
    h.check_eq(levels, {"warning": 2, "info": 2}, "levels per bucket")
    h.check(all(isinstance(b["t"], str) and b["t"].endswith("Z") for b in hist["buckets"]),
            "bucket times are RFC 3339")
    auto = srv.api_json(q("/api/0/projects/1/logs/histogram/", query="bob", since="24h"))
    h.check_eq(sum(b["count"] for b in auto["buckets"]), 1, "auto interval histogram")
    r = srv.api("GET", q("/api/0/projects/1/logs/histogram/", interval="1x"))
    h.check_eq(r.status, 400, "bad interval is 400")

    # facets
    fac = srv.api_json(q("/api/0/projects/1/logs/facets/", query="-level:debug",
                         field=["host", "attrs.http.status", "service"]))
    by = {f["field"]: {v["value"]: v["count"] for v in f["values"]} for f in fac["facets"]}
    h.check_eq(by.get("host"), {"db1": 1, "db2": 1, "web1": 2, "web2": 1}, "host facet")
    h.check_eq(by.get("attrs.http.status"), {"500": 1, "502": 1, "200": 1}, "attribute facet")
    h.check_eq(by.get("service"), {"api": 2, "web": 2, "auth": 1}, "service facet")
    h.check_eq(fac["facets"][0]["values"][0], {"value": "web1", "count": 2}, "top value first")
    r = srv.api("GET", q("/api/0/projects/1/logs/facets/", field="no.such.thing"))
    h.check_eq(r.status, 400, "unknown facet field is 400")

    # context: same host and service around a line
    web1 = srv.api_json(q("/api/0/projects/1/logs/", query="host:web1"))
    line_id = web1[0]["event_id"]
    ctx = srv.api_json(q("/api/0/projects/1/logs/context/", line=line_id, before=5, after=5))
    h.check_eq(ctx["line"]["message"], web1[0]["message"], "the line itself")
    h.check_eq([x["message"] for x in ctx["before"]], ["GET /health 200 in 3ms"],
               "the line before it from web1/web")
    h.check_eq(ctx["after"], [], "nothing after it")
    srv.stop()


SDK = r'''
import json, sys
import sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], release="search@1.0", environment="e2e")
ids = []
def checkout_failed():
    raise KeyError("cart_id")
try:
    checkout_failed()
except Exception:
    ids.append(sentry_sdk.capture_exception())
with sentry_sdk.push_scope() as scope:
    scope.set_tag("browser", "Firefox")
    ids.append(sentry_sdk.capture_message("quota exceeded for tenant acme", level="error"))
sentry_sdk.flush(timeout=10)
print(json.dumps(ids))
'''


@h.test
def test_event_search_via_sentry_sdk():
    py = h.sdk_python()
    if py is None:
        h.check(False, "python3-sentry-sdk is not installed")
        return
    srv = h.Server().start()
    r = h.run([py, "-c", SDK, srv.dsn(1)], timeout=60)
    h.check_eq(r.returncode, 0, "sdk script ran: %s" % r.stderr[-400:])
    ids = json.loads(r.stdout.strip().splitlines()[-1])
    for i in ids:
        srv.wait_event(1, i)

    def found(query):
        rows = srv.api_json(q("/api/0/projects/1/events/", query=query))
        return sorted(x["event_id"] for x in rows)

    h.check_eq(found("error.type:KeyError"), [ids[0]], "error.type")
    h.check_eq(found("stack.function:checkout_failed"), [ids[0]], "stack.function")
    h.check_eq(found("browser:firefox"), [ids[1]], "tag")
    h.check_eq(found("quota tenant"), [ids[1]], "free words")
    h.check_eq(found("release:search@1.0 level:error"), sorted(ids), "release and level")
    hist = srv.api_json(q("/api/0/projects/1/events/histogram/", query="KeyError",
                          since="1h"))
    h.check_eq(sum(b["count"] for b in hist["buckets"]), 1, "event histogram")
    fac = srv.api_json(q("/api/0/projects/1/events/facets/", field="error.type"))
    h.check_eq(fac["facets"][0]["values"], [{"value": "KeyError", "count": 1}], "event facet")

    issues = srv.api_json(q("/api/0/projects/1/issues/", query="KeyError is:unresolved"))
    h.check_eq(len(issues), 1, "one issue matches KeyError")
    h.check("KeyError" in issues[0]["title"], "the KeyError issue")
    issues = srv.api_json(q("/api/0/projects/1/issues/", query="times_seen:>=1"))
    h.check_eq(len(issues), 2, "both issues seen at least once")
    r = srv.api("GET", q("/api/0/projects/1/issues/", query="is:bogus"))
    h.check_eq(r.status, 400, "bad is: value is 400")
    srv.stop()


def open_tail(srv, query, last_id=None):
    """An SSE connection to /logs/tail/; returns (connection, response)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    hdrs = {"Authorization": "Bearer %s" % srv.token, "Accept": "text/event-stream"}
    if last_id is not None:
        hdrs["Last-Event-ID"] = str(last_id)
    conn.request("GET", q("/api/0/projects/1/logs/tail/", query=query), headers=hdrs)
    resp = conn.getresponse()
    return conn, resp


def next_event(resp, deadline):
    """The next SSE event as (id, data dict); comments are skipped."""
    ev_id, data = None, None
    while time.time() < deadline:
        line = resp.fp.readline().decode().rstrip("\r\n")
        if line.startswith("id:"):
            ev_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip())
        elif line == "" and data is not None:
            return ev_id, data
    raise AssertionError("no event before the deadline")


@h.test
def test_tail_follows_new_lines():
    srv = h.Server().start()
    conn, resp = open_tail(srv, "checkout -level:debug")
    h.check_eq(resp.status, 200, "tail answers 200")
    h.check_eq(resp.getheader("Content-Type"), "text/event-stream", "SSE content type")
    time.sleep(0.3)
    t0 = time.time()
    send_lines(srv, 1, [{"message": "checkout started", "level": "debug"},
                        {"message": "unrelated line"},
                        {"message": "checkout done", "order": 7}])
    ev_id, data = next_event(resp, t0 + 5)
    h.check(time.time() - t0 < 2.0, "the line arrived within 2 s (%.2fs)" % (time.time() - t0))
    h.check_eq(data["message"], "checkout done", "only the matching line")
    h.check_eq(data.get("attributes"), {"order": 7}, "with its attributes")
    conn.close()
    # resume after that line: a line sent while disconnected is delivered
    send_lines(srv, 1, [{"message": "checkout again"}])
    h.wait_for(lambda: messages(srv, 1, '"checkout again"'), what="line stored")
    conn, resp = open_tail(srv, "checkout", last_id=ev_id)
    _, data = next_event(resp, time.time() + 5)
    h.check_eq(data["message"], "checkout again", "Last-Event-ID resumes after the last line")
    r = srv.api("GET", q("/api/0/projects/1/logs/tail/", query="a", since="1h"))
    h.check_eq(r.status, 400, "tail takes only query")
    # the server stops promptly with a tail client connected
    t0 = time.time()
    srv.stop()
    h.check(time.time() - t0 < 10, "stop with a live tail took %.1fs" % (time.time() - t0))
    h.check("stopped cleanly" in srv.log_text(), "clean stop with a tail open")
    conn.close()


@h.test
def test_cli_search_and_tail():
    import subprocess
    srv = h.Server().start()
    send_lines(srv, 1, [{"message": "payment accepted", "level": "info", "host": "pay1"},
                        {"message": "payment declined", "level": "warning", "host": "pay2"}])
    h.wait_for(lambda: len(messages(srv, 1, "payment")) == 2, what="lines stored")
    base = "http://127.0.0.1:%d" % srv.port
    home = h.mkdtemp("bilor-cli-home-")
    env = {"HOME": home, "XDG_CONFIG_HOME": "", "BILOR_URL": "", "BILOR_TOKEN": ""}
    r = h.run([h.BIN, "search", "--url", base, "--token", srv.token, "--json", "payment",
               "level:warning"], env=env)
    h.check_eq(r.returncode, 0, "search ran: %s" % r.stderr)
    rows = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    h.check_eq([x["message"] for x in rows], ["payment declined"], "NDJSON output")
    r = h.run([h.BIN, "search", "payment"], env=dict(env, BILOR_URL=base + "/api/0/",
                                                     BILOR_TOKEN=srv.token))
    h.check_eq(r.returncode, 0, "search from the environment: %s" % r.stderr)
    h.check("pay1 payment accepted" in r.stdout and "\033[" not in r.stdout,
            "plain lines when not a terminal: %r" % r.stdout)
    r = h.run([h.BIN, "search", "--url", base, "--token", srv.token, "level:>="], env=env)
    h.check_eq(r.returncode, 1, "a bad query fails")
    h.check("position" in r.stderr or "expected" in r.stderr, "and says why: %r" % r.stderr)
    r = h.run([h.BIN, "login", "--url", base, "--token", "wrong"], env=env)
    h.check(r.returncode != 0, "login refuses a bad token")
    r = h.run([h.BIN, "login", "--url", base, "--token", srv.token], env=env)
    h.check_eq(r.returncode, 0, "login: %s" % r.stderr)
    conf = os.path.join(home, ".config", "bilor", "cli.conf")
    h.check_eq(os.stat(conf).st_mode & 0o777, 0o600, "config file is 0600")
    r = h.run([h.BIN, "search", "--json", "host:pay1"], env=env)
    h.check_eq([json.loads(x)["message"] for x in r.stdout.splitlines() if x.strip()],
               ["payment accepted"], "search with the saved login: %s" % r.stderr)
    # tail: a line sent after it connected
    full_env = dict(os.environ, **env)
    p = subprocess.Popen([h.BIN, "tail", "--json", "refund"], env=full_env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.8)
        send_lines(srv, 1, [{"message": "refund issued"}, {"message": "other"}])
        import select
        got = b""
        deadline = time.time() + 5
        while b"\n" not in got and time.time() < deadline:
            if select.select([p.stdout], [], [], 0.2)[0]:
                got += os.read(p.stdout.fileno(), 4096)
        lines = [json.loads(x) for x in got.decode().splitlines() if x.strip()]
        h.check_eq([x["message"] for x in lines], ["refund issued"], "bilor tail prints it")
    finally:
        p.kill()
        p.wait()
    srv.stop()


if __name__ == "__main__":
    h.main()
