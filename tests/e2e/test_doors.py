"""The Sentry doors with hand-made HTTP: protocols.md §1.13 vectors, auth, limits.

Bodies are built byte by byte here (http.client), so every encoding and
envelope shape the real SDKs send is covered, plus the ones they must not
get away with.
"""

import base64
import http.client
import json
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

S1_ID = "fc6d8c0c43fc4630ad850ee518f1b9d0"
S4_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
S5_ID = "0123456789abcdef0123456789abcdef"


def s1_body(eid=S1_ID, message="hello"):
    return ('{"event_id":"%s","message":"%s"}' % (eid, message)).encode()


def s4_items():
    return (b'{"type":"event","length":41}\n'
            b'{"message":"hello world","level":"error"}\n'
            b'{"type":"attachment","length":7,"filename":"note.txt","content_type":"text/plain"}\n'
            b'hello\r\n\n')


def expect_id(r, eid, what):
    ok = h.check_eq(r.status, 200, "%s status (body %s)" % (what, h._short(r.body, 300)))
    if ok:
        h.check_eq(r.json(), {"id": eid}, "%s answer" % what)
        h.check(r.header("content-type", "").startswith("application/json"),
                "%s content type: %r" % (what, r.header("content-type")))
    return ok


def expect_error(r, status, what):
    ok = h.check_eq(r.status, status, "%s status (body %s)" % (what, h._short(r.body, 300)))
    if ok:
        body = r.json()
        h.check(isinstance(body, dict) and isinstance(body.get("error"), str),
                "%s answers {\"error\": ...}: %s" % (what, h._short(r.body, 300)))
    return ok


def raw_deflate(b):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()


def post_chunked(srv, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
    try:
        def gen():
            for i in range(0, len(body), 37):
                yield body[i:i + 37]
        conn.request("POST", path, body=gen(), headers=headers, encode_chunked=True)
        resp = conn.getresponse()
        return h.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@h.test
def test_store_vectors():
    srv = h.Server().start()
    auth = srv.auth_headers(1)
    js = {"Content-Type": "application/json"}

    # S1: plain JSON, header auth
    r = srv.post("/api/1/store/", s1_body(), headers=dict(auth, **js))
    expect_id(r, S1_ID, "S1 store")

    # S2: the same body under every encoding clients use
    cases = {}
    body = lambda eid: s1_body(eid)  # noqa: E731
    encs = [
        ("gzip", "gzip", h.gzip_bytes),
        ("x-gzip", "x-gzip", h.gzip_bytes),
        ("deflate (zlib)", "deflate", h.deflate_bytes),
        ("deflate (raw, tolerated)", "deflate", raw_deflate),
        ("empty Content-Encoding", "", lambda b: b),
        ("Content-Encoding UTF-8", "UTF-8", lambda b: b),
        ("identity", "identity", lambda b: b),
        ("gzip sniffed without header", None, h.gzip_bytes),
        ("list 'gzip,deflate' with zlib body", "gzip,deflate", h.deflate_bytes),
    ]
    if h.brotli_bytes(b"x") is not None:
        encs.append(("br", "br", h.brotli_bytes))
    else:
        h.check(False, "no brotli encoder (python3-brotli or libbrotlienc.so.1) to test br")
    for what, enc, fn in encs:
        eid = h.new_id()
        hdrs = dict(auth, **js)
        if enc is not None:
            hdrs["Content-Encoding"] = enc
        r = srv.post("/api/1/store/", fn(body(eid)), headers=hdrs)
        if expect_id(r, eid, "S2 store %s" % what):
            cases[eid] = what

    # S3: legacy raven body, base64(zlib(json)), no encoding header
    eid = h.new_id()
    r = srv.post("/api/1/store/", base64.b64encode(zlib.compress(body(eid))),
                 headers=dict(auth, **{"Content-Type": "application/octet-stream"}))
    if expect_id(r, eid, "S3 legacy base64+zlib"):
        cases[eid] = "S3"

    # store without event_id: the server makes one up and answers it
    r = srv.post("/api/1/store/", b'{"message":"hello"}', headers=dict(auth, **js))
    if h.check_eq(r.status, 200, "store without event_id"):
        gen = (r.json() or {}).get("id", "")
        if h.check(h.KEY_RE.match(gen), "generated id is 32 hex: %r" % gen):
            cases[gen] = "generated id"

    # dashed UUID in the payload: answered and stored as 32 hex
    dashed = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    r = srv.post("/api/1/store/", s1_body(dashed), headers=dict(auth, **js))
    if expect_id(r, dashed.replace("-", ""), "dashed event_id"):
        cases[dashed.replace("-", "")] = "dashed id"

    # an envelope posted to /store/ with the envelope content type
    eid = h.new_id()
    env = ('{"event_id":"%s"}\n{"type":"event"}\n{"message":"hello"}\n' % eid).encode()
    r = srv.post("/api/1/store/", env,
                 headers=dict(auth, **{"Content-Type": "application/x-sentry-envelope"}))
    if expect_id(r, eid, "envelope on /store/"):
        cases[eid] = "envelope on store"

    cases[S1_ID] = "S1"
    for eid, what in cases.items():
        ev = srv.wait_event(1, eid)
        h.check_eq((ev.get("event_id"), ev.get("message"), ev.get("level")),
                   (eid, "hello", "error"), "stored event for %s" % what)
    ev = srv.event(1, S1_ID)
    h.check_eq(ev.get("environment"), "production", "default environment")


@h.test
def test_envelope_vectors():
    srv = h.Server().start()
    key = srv.key(1)
    q = "?sentry_key=%s&sentry_version=7" % key

    # S4: explicit lengths, trailing newline, CRLF inside the attachment; query auth
    s4 = ('{"event_id":"%s"}\n' % S4_ID).encode() + s4_items()
    r = srv.post("/api/1/envelope/" + q, s4,
                 headers={"Content-Type": "application/x-sentry-envelope"})
    expect_id(r, S4_ID, "S4 envelope")

    # S5: JS style (no length, no final newline, text/plain); recent timestamp
    ts = int(time.time()) - 60 + 0.5
    s5_event = {"event_id": S5_ID, "timestamp": ts, "platform": "javascript", "level": "error",
                "exception": {"values": [{"type": "TypeError", "value": "x is undefined",
                                          "stacktrace": {"frames": [{
                                              "filename": "https://example.com/static/app.js",
                                              "function": "onClick", "lineno": 42, "colno": 7,
                                              "in_app": True}]},
                                          "mechanism": {"type": "onerror", "handled": False}}]}}
    s5 = (json.dumps({"event_id": S5_ID, "sent_at": h.now_rfc3339(),
                      "sdk": {"name": "sentry.javascript.browser", "version": "10.0.0"}},
                     separators=(",", ":")) + "\n" + '{"type":"event"}' + "\n"
          + json.dumps(s5_event, separators=(",", ":"))).encode()
    r = srv.post("/api/1/envelope/" + q, s5,
                 headers={"Content-Type": "text/plain;charset=UTF-8",
                          "Origin": "https://example.com"})
    expect_id(r, S5_ID, "S5 envelope")
    h.check(r.header("access-control-allow-origin") in ("*", "https://example.com"),
            "S5 response has Access-Control-Allow-Origin: %r" % r.headers)
    expose = (r.header("access-control-expose-headers") or "").lower()
    h.check("x-sentry-rate-limits" in expose and "retry-after" in expose,
            "Access-Control-Expose-Headers lists the rate-limit headers: %r" % expose)

    # S6: auth from the envelope header dsn only
    s6_id = h.new_id()
    dsn = "http://%s@127.0.0.1:%d/1" % (key, srv.port)
    s6 = json.dumps({"event_id": s6_id, "dsn": dsn}).encode() + b"\n" + s4_items()
    r = srv.post("/api/1/envelope/", s6, headers={"Content-Type": "application/x-sentry-envelope"})
    expect_id(r, s6_id, "S6 envelope-header dsn")
    # ... and a header key that disagrees with it
    s6b_id = h.new_id()
    s6b = json.dumps({"event_id": s6b_id, "dsn": dsn}).encode() + b"\n" + s4_items()
    r = srv.post("/api/1/envelope/", s6b, headers=srv.auth_headers(key="0" * 32))
    expect_error(r, 401, "S6 dsn plus a different header key")

    # chunked body (the Node transport always streams)
    ch_id = h.new_id()
    ch = (json.dumps({"event_id": ch_id}) + '\n{"type":"event"}\n'
          + json.dumps({"message": "hello chunked", "level": "error"})).encode()
    r = post_chunked(srv, "/api/1/envelope/", h.gzip_bytes(ch),
                     dict(srv.auth_headers(1), **{"Content-Encoding": "gzip"}))
    expect_id(r, ch_id, "chunked gzip envelope")

    # S7: empty envelopes
    for what, b in (("{}", b"{}"), ("{}\\n", b"{}\n"),
                    ("two empty attachments",
                     ('{"event_id":"%s"}\n{"type":"attachment","length":0}\n\n'
                      '{"type":"attachment","length":0}\n' % h.new_id()).encode())):
        r = srv.post("/api/1/envelope/" + q, b)
        if h.check_eq(r.status, 200, "S7 %s status (%s)" % (what, h._short(r.body, 200))) \
                and what != "two empty attachments":
            h.check_eq(r.json(), {}, "S7 %s answer" % what)

    # S8: malformed envelopes
    s8_ids = []
    for what, b in (
            ("length past the end", '{"event_id":"%s"}\n{"type":"event","length":500}\n'
             '{"message":"hello world","level":"error"}\n'),
            ("X after a length-delimited payload",
             '{"event_id":"%s"}\n{"type":"event","length":41}\n'
             '{"message":"hello world","level":"error"}X'),
            ("first line not JSON", 'not json %s\n{"type":"event"}\n{"message":"x"}\n')):
        eid = h.new_id()
        s8_ids.append(eid)
        r = srv.post("/api/1/envelope/" + q, (b % eid).encode())
        expect_error(r, 400, "S8 %s" % what)

    # S9: unknown item type is skipped, the event after it is kept
    s9 = b'{}\n{"type":"future_thing","length":3}\nabc\n{"type":"event"}\n{"message":"after"}\n'
    r = srv.post("/api/1/envelope/" + q, s9)
    s9_id = None
    if h.check_eq(r.status, 200, "S9 status (%s)" % h._short(r.body, 200)):
        s9_id = (r.json() or {}).get("id")
        h.check(h.KEY_RE.match(s9_id or ""), "S9 answers a generated id: %r" % r.body)

    # S10: other item types are accepted with {}
    s10 = [
        b'{}\n{"type":"session"}\n{"sid":"7c7b6585-f901-4351-bf8d-02711b721929","init":true,'
        b'"started":"2024-05-01T12:00:00Z","status":"exited","errors":0,'
        b'"attrs":{"release":"app@1.0","environment":"production"}}\n',
        b'{}\n{"type":"client_report","length":110}\n{"timestamp":1714564800.0,'
        b'"discarded_events":[{"reason":"ratelimit_backoff","category":"error","quantity":3}]}\n',
        b'{}\n{"type":"check_in","length":136}\n{"check_in_id":"83a7c03ed0a04e1b97e2e3b18d38f244",'
        b'"monitor_slug":"nightly-job","status":"ok","duration":12.5,"environment":"production"}\n',
        b'{}\n{"type":"log","item_count":1,"content_type":"application/vnd.sentry.items.log+json",'
        b'"length":247}\n{"items":[{"timestamp":1714564800.25,"level":"warn",'
        b'"body":"disk almost full","trace_id":"5b8efff798038103d269b633813fc60c",'
        b'"attributes":{"disk.free_mb":{"value":120,"type":"integer"},'
        b'"sentry.environment":{"value":"production","type":"string"}}}]}\n',
    ]
    for i, b in enumerate(s10):
        r = srv.post("/api/1/envelope/" + q, b)
        if h.check_eq(r.status, 200, "S10 #%d status (%s)" % (i, h._short(r.body, 200))):
            h.check_eq(r.json(), {}, "S10 #%d answer" % i)

    # what was stored
    ev = srv.wait_event(1, S4_ID)
    h.check_eq((ev.get("message"), ev.get("level")), ("hello world", "error"), "S4 event")
    ev = srv.wait_event(1, S5_ID)
    h.check_eq(ev.get("platform"), "javascript", "S5 platform")
    got = h.parse_time(ev.get("timestamp"))
    h.check(got is not None and abs(got - ts) < 0.002, "S5 timestamp %r == %r"
            % (ev.get("timestamp"), ts))
    vals = ((ev.get("exception") or {}).get("values")) or []
    if h.check(len(vals) == 1, "S5 one exception"):
        h.check_eq((vals[0].get("type"), vals[0].get("value")), ("TypeError", "x is undefined"),
                   "S5 exception")
        fr = ((vals[0].get("stacktrace") or {}).get("frames") or [{}])[-1]
        h.check_eq((fr.get("function"), fr.get("lineno"), fr.get("in_app")),
                   ("onClick", 42, True), "S5 frame")
        mech = vals[0].get("mechanism")
        h.check(mech == "onerror" or (isinstance(mech, dict) and mech.get("type") == "onerror"),
                "S5 mechanism: %r" % mech)
    ev = srv.wait_event(1, s6_id)
    h.check_eq(ev.get("message"), "hello world", "S6 event")
    ev = srv.wait_event(1, ch_id)
    h.check_eq(ev.get("message"), "hello chunked", "chunked event")
    if s9_id:
        ev = srv.wait_event(1, s9_id)
        h.check_eq(ev.get("message"), "after", "S9 event after the unknown item")
    for eid in s8_ids + [s6b_id]:
        h.check(srv.event(1, eid) is None, "rejected envelope %s not stored" % eid)


@h.test
def test_cors_preflight():
    srv = h.Server().start()
    for path in ("/api/1/envelope/", "/api/1/store/"):
        r = srv.request("OPTIONS", path, headers={
            "Origin": "https://example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-sentry-auth, content-type"})
        h.check(r.status in (200, 204), "OPTIONS %s status %s" % (path, r.status))
        h.check(r.header("access-control-allow-origin") in ("*", "https://example.com"),
                "OPTIONS %s Access-Control-Allow-Origin: %r" % (path, r.headers))
        h.check("POST" in (r.header("access-control-allow-methods") or "").upper(),
                "OPTIONS %s Allow-Methods: %r" % (path, r.header("access-control-allow-methods")))
        allow = (r.header("access-control-allow-headers") or "").lower()
        h.check("x-sentry-auth" in allow and "content-type" in allow,
                "OPTIONS %s Allow-Headers: %r" % (path, allow))
    # an error answer carries CORS too, so a browser SDK can read the status
    r = srv.post("/api/1/envelope/", b"{}", headers={"Origin": "https://example.com"})
    h.check_eq(r.status, 401, "unauthenticated envelope")
    h.check(r.header("access-control-allow-origin") is not None,
            "401 answer carries Access-Control-Allow-Origin")


@h.test
def test_auth():
    srv = h.Server().start()
    key1 = srv.key(1)
    pid2, key2 = srv.add_project("second")
    h.check_eq(pid2, 2, "second project id")
    stored = []

    def ok(what, path, headers):
        eid = h.new_id()
        body = s1_body(eid)
        if "/envelope/" in path:
            body = ('{"event_id":"%s"}\n{"type":"event"}\n' % eid).encode() + body + b"\n"
        r = srv.post(path, body, headers=headers)
        if expect_id(r, eid, what):
            stored.append((int(path.split("/")[2]), eid))

    ok("X-Sentry-Auth", "/api/1/store/", srv.auth_headers(1))
    ok("Authorization: Sentry", "/api/1/store/",
       {"Authorization": "Sentry sentry_key=%s, sentry_version=7" % key1})
    ok("Authorization: Basic", "/api/1/store/",
       {"Authorization": "Basic " + base64.b64encode(("%s:" % key1).encode()).decode()})
    ok("?sentry_key=", "/api/1/store/?sentry_key=%s&sentry_version=7" % key1, {})
    ok("lower-case 'sentry' and spaces", "/api/1/store/",
       {"X-Sentry-Auth": "sentry  sentry_version=7 ,sentry_key=%s , sentry_secret=x" % key1})
    ok("project 2 with its own key", "/api/2/store/", srv.auth_headers(key=key2))
    ok("envelope with ?sentry_key=", "/api/2/envelope/?sentry_key=%s" % key2, {})

    eid_bad = []

    def bad(what, status, path, headers):
        eid = h.new_id()
        eid_bad.append((int(path.split("/")[2]), eid))
        r = srv.post(path, s1_body(eid), headers=headers)
        expect_error(r, status, what)

    bad("no credentials", 401, "/api/1/store/", {})
    bad("no credentials (envelope)", 401, "/api/1/envelope/", {})
    bad("unknown key", 401, "/api/1/store/", srv.auth_headers(key="f" * 32))
    bad("unknown key in query", 401, "/api/1/store/?sentry_key=%s" % ("e" * 32), {})
    bad("X-Sentry-Auth without sentry_key", 401, "/api/1/store/",
        {"X-Sentry-Auth": "Sentry sentry_version=7"})
    bad("garbage Authorization", 401, "/api/1/store/", {"Authorization": "Sentry"})
    bad("key of project 2 on project 1", 403, "/api/1/store/", srv.auth_headers(key=key2))
    bad("key of project 1 on project 2 (envelope)", 403, "/api/2/envelope/",
        srv.auth_headers(key=key1))
    bad("key of project 1 on a project that does not exist", 403, "/api/999/store/",
        srv.auth_headers(key=key1))

    h.check_eq(len(stored), 7, "every accepted form answered with its event id")
    for pid, eid in stored:
        try:
            ev = srv.wait_event(pid, eid)
        except AssertionError:
            ev = None
        if h.check(ev is not None, "accepted event %s stored in project %d" % (eid, pid)):
            h.check_eq((ev.get("event_id"), ev.get("project")), (eid, pid),
                       "stored event's id and project")
            h.check(srv.event(3 - pid, eid) is None,
                    "event %s is not visible in project %d" % (eid, 3 - pid))
    for pid, eid in eid_bad:
        h.check(srv.event(pid, eid) is None and srv.event(1, eid) is None,
                "rejected event %s not stored" % eid)

    # the REST API wants a token
    r = srv.get("/api/0/projects/")
    h.check_eq(r.status, 401, "API without token")
    r = srv.api("GET", "/api/0/projects/", token="not-a-token")
    h.check_eq(r.status, 401, "API with a wrong token")
    r = srv.api("GET", "/api/0/projects/1/events/%s/" % S1_ID, token="x" * 64)
    h.check_eq(r.status, 401, "event lookup with a wrong token")


@h.test
def test_malformed_not_stored():
    srv = h.Server().start()
    auth = dict(srv.auth_headers(1), **{"Content-Type": "application/json"})
    ids = [h.new_id() for _ in range(7)]
    cases = [
        ("truncated JSON", "/api/1/store/", s1_body(ids[0])[:-1], {}),
        ("gzip of truncated JSON", "/api/1/store/", h.gzip_bytes(s1_body(ids[1])[:-1]),
         {"Content-Encoding": "gzip"}),
        ("gzip header on garbage", "/api/1/store/", b"\x1f\x8b\x08\x00garbage" + ids[2].encode(),
         {"Content-Encoding": "gzip"}),
        ("JSON array instead of an object", "/api/1/store/",
         ('[{"event_id":"%s"}]' % ids[3]).encode(), {}),
        ("trailing garbage after the object", "/api/1/store/", s1_body(ids[4]) + b" }{", {}),
        ("envelope with a truncated event",
         "/api/1/envelope/", ('{"event_id":"%s"}\n{"type":"event"}\n{"message":' % ids[5])
         .encode(), {}),
        ("envelope event not an object", "/api/1/envelope/",
         ('{"event_id":"%s"}\n{"type":"event"}\n"just a string"\n' % ids[6]).encode(), {}),
        ("empty body", "/api/1/store/", b"", {}),
        ("empty envelope body", "/api/1/envelope/", b"", {}),
    ]
    for what, path, body, extra in cases:
        r = srv.post(path, body, headers=dict(auth, **extra))
        expect_error(r, 400, what)
    # a good event after them: once it is digested, the earlier ones would be too
    sentinel = h.new_id()
    r = srv.post("/api/1/store/", s1_body(sentinel, "sentinel"), headers=auth)
    expect_id(r, sentinel, "sentinel")
    srv.wait_event(1, sentinel)
    for eid in ids:
        h.check(srv.event(1, eid) is None, "malformed body %s not stored" % eid)
    iss = srv.issues(1)
    h.check_eq([i.get("title") for i in iss], ["sentinel"], "only the sentinel's issue exists")


@h.test
def test_oversize():
    srv = h.Server(args=["--max-body", "1048576"]).start()
    auth = dict(srv.auth_headers(1), **{"Content-Type": "application/json"})
    big_id = h.new_id()
    big = s1_body(big_id, "x" * (1536 * 1024))
    # Content-Length over the cap may be refused before the body is read
    r = h.http_early("POST", srv.url("/api/1/store/"), big, headers=auth)
    expect_error(r, 413, "1.5 MiB store body")
    r = post_chunked(srv, "/api/1/store/", s1_body(h.new_id(), "v" * (1536 * 1024)), auth)
    expect_error(r, 413, "1.5 MiB chunked store body (no Content-Length)")
    gz_id = h.new_id()
    r = srv.post("/api/1/store/", h.gzip_bytes(s1_body(gz_id, "y" * (1536 * 1024))),
                 headers=dict(auth, **{"Content-Encoding": "gzip"}))
    expect_error(r, 413, "1.5 MiB after gunzip (small on the wire)")
    env_id = h.new_id()
    env = h.envelope({"event_id": env_id},
                     [({"type": "event"}, s1_body(env_id, "z" * (1536 * 1024)), True)])
    r = srv.post("/api/1/envelope/", h.gzip_bytes(env),
                 headers=dict(auth, **{"Content-Encoding": "gzip"}))
    expect_error(r, 413, "1.5 MiB gzip envelope")
    lines = b"".join(b'{"message":"%d %s"}\n' % (i, b"q" * 1000) for i in range(1600))
    r = srv.post("/api/1/logs", h.gzip_bytes(lines),
                 headers={"Authorization": "Bearer %s" % srv.key(1),
                          "Content-Encoding": "gzip"})
    h.check_eq(r.status, 413, "1.6 MiB NDJSON after gunzip")
    # just under the cap is fine
    ok_id = h.new_id()
    r = srv.post("/api/1/store/", s1_body(ok_id, "w" * (900 * 1024)), headers=auth)
    expect_id(r, ok_id, "900 KiB store body")
    ev = srv.wait_event(1, ok_id)
    h.check(ev.get("message", "").startswith("www"), "900 KiB event stored")
    for eid in (big_id, gz_id, env_id):
        h.check(srv.event(1, eid) is None, "oversize %s not stored" % eid)


@h.test
def test_inflight_budget_503():
    """All bodies held in memory share one budget: past it 503 + Retry-After, nothing stored."""
    srv = h.Server(args=["--max-inflight", "65536"]).start()
    auth = dict(srv.auth_headers(1), **{"Content-Type": "application/json"})
    big_id = h.new_id()
    r = h.http_early("POST", srv.url("/api/1/store/"), s1_body(big_id, "m" * 200000),
                     headers=auth)
    expect_error(r, 503, "200 KB body over a 64 KiB in-flight budget")
    h.check(r.header("Retry-After") is not None, "503 carries Retry-After")
    chunked_id = h.new_id()
    r = post_chunked(srv, "/api/1/store/", s1_body(chunked_id, "n" * 200000), auth)
    expect_error(r, 503, "chunked body that outgrows the in-flight budget")
    ok_id = h.new_id()
    r = srv.post("/api/1/store/", s1_body(ok_id, "small"), headers=auth)
    expect_id(r, ok_id, "a small body still goes through")
    srv.wait_event(1, ok_id)
    for eid in (big_id, chunked_id):
        h.check(srv.event(1, eid) is None, "refused %s not stored" % eid)


@h.test
def test_journal_budget_429():
    """Over the undigested-journal budget the doors answer 429 with Retry-After."""
    srv = h.Server(args=["--journal-budget", "4096"]).start()
    key = srv.key(1)
    auth = dict(srv.auth_headers(1), **{"Content-Type": "application/json"})
    lines = b"".join(b'{"message":"budget filler %d","level":"info","n":%d}\n' % (i, i)
                     for i in range(8000))
    seen = {"store": None, "logs": None}
    refused = []
    bearer = {"Authorization": "Bearer %s" % key}
    for _ in range(30):
        # 429 comes before the body is read: send with http_early
        big = h.http_early("POST", srv.url("/api/1/logs"), lines, bearer, wait_first=0.05)
        if big.status == 429:
            seen["logs"] = big.headers
        for door in ("store", "logs"):
            eid = h.new_id()
            if door == "store":
                r = h.http_early("POST", srv.url("/api/1/store/"), s1_body(eid, "over budget"),
                                 auth, wait_first=0)
            else:
                r = h.http_early("POST", srv.url("/api/1/logs"),
                                 b'{"message":"over budget %s"}\n' % eid.encode(), bearer,
                                 wait_first=0)
            if r.status == 429:
                seen[door] = r.headers
                if door == "store":
                    refused.append(eid)
        if seen["store"] and seen["logs"]:
            break
    if h.check(seen["store"] is not None, "store door answered 429 over the budget"):
        ra = seen["store"].get("retry-after", "")
        h.check(ra.isdigit() and int(ra) >= 1, "Retry-After is integer seconds: %r" % ra)
        rl = seen["store"].get("x-sentry-rate-limits", "")
        parts = rl.split(",")[0].strip().split(":")
        h.check(len(parts) >= 3 and parts[0].isdigit(),
                "X-Sentry-Rate-Limits has >= 3 fields and integer seconds: %r" % rl)
    if h.check(seen["logs"] is not None, "logs door answered 429 over the budget"):
        h.check(seen["logs"].get("retry-after", "").isdigit(), "logs Retry-After: %r"
                % seen["logs"].get("retry-after"))
    # once digested the doors open again
    eid = h.new_id()
    h.wait_for(lambda: srv.post("/api/1/store/", s1_body(eid, "after budget"),
                                headers=auth).status == 200, what="store door to reopen")
    srv.wait_event(1, eid)
    for e in refused:
        h.check(srv.event(1, e) is None, "event refused with 429 not stored")


if __name__ == "__main__":
    h.main()
