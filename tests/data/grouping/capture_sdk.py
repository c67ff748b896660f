#!/usr/bin/env python3
"""Captures real SDK payloads into conformance vectors (README.md here).

    python3 tests/data/grouping/capture_sdk.py

Runs a recording Sentry endpoint on 127.0.0.1, points the scenario scripts
of the end-to-end tests at it (tests/e2e/grouping_python.py with Debian's
python3-sentry-sdk, tests/e2e/node/grouping_node.mjs with @sentry/node and
tests/e2e/node/browser_grouping.mjs with @sentry/browser in headless
Chromium), and writes the events they sent as sdk_*.json vectors: which
events must share an issue is decided by the scenario, not by Bilor.
"""
import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
E2E = os.path.join(ROOT, "tests", "e2e")
NODE_DIR = os.path.join(E2E, "node")
EVENTS = []
LOCK = threading.Lock()


def body_events(path, body):
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    elif body[:1] == b"x":
        try:
            body = zlib.decompress(body)
        except zlib.error:
            pass
    if "/store/" in path:
        return [json.loads(body)]
    lines = body.split(b"\n")
    out, i = [], 1
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        head = json.loads(lines[i])
        if "length" in head:
            start = len(b"\n".join(lines[:i + 1])) + 1
            payload = body[start:start + head["length"]]
            rest = body[start + head["length"]:].lstrip(b"\n")
            lines = [b"{}"] + rest.split(b"\n")
            i = 1
        else:
            payload = lines[i + 1] if i + 1 < len(lines) else b""
            i += 2
        if head.get("type") == "event":
            out.append(json.loads(payload))
    return out


class Recorder(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def cors(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "*")

    def do_OPTIONS(self):
        self.send_response(200)
        self.cors()
        self.end_headers()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else self.read_chunked()
        evs = body_events(self.path, body)
        with LOCK:
            EVENTS.extend(evs)
        self.send_response(200)
        self.cors()
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline().strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()


def scrub(ev):
    """Drops what identifies this machine or run; grouping never reads it."""
    for k in ("contexts", "modules", "breadcrumbs", "extra", "server_name", "user", "request",
              "debug_meta", "sdkProcessingMetadata"):
        ev.pop(k, None)
    return ev


def run(cmd, cwd, dsn):
    with LOCK:
        EVENTS.clear()
    r = subprocess.run(cmd + [dsn], cwd=cwd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit("%s failed:\n%s\n%s" % (cmd, r.stdout[-2000:], r.stderr[-3000:]))
    with LOCK:
        return [scrub(e) for e in EVENTS]


def value_of(ev):
    vals = (ev.get("exception") or {}).get("values") or []
    return vals[-1].get("value", "") if vals else ""


def frames_functions(ev):
    fns = []
    for t in (ev.get("threads") or {}).get("values") or []:
        fns += [f.get("function") for f in (t.get("stacktrace") or {}).get("frames") or []]
    return fns


def write(name, description, groups, components):
    for g in groups:
        if not g:
            sys.exit("%s: a group is empty; the SDK did not send what the scenario expects" % name)
    with open(os.path.join(HERE, name), "w") as f:
        json.dump({"description": description, "groups": groups, "components": components}, f,
                  indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", name, [len(g) for g in groups])


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:%d/1" % srv.server_address[1]

    evs = run(["/usr/bin/python3", os.path.join(E2E, "grouping_python.py")], E2E, dsn)
    exc = [e for e in evs if e.get("exception")]
    write("sdk_python_exceptions.json",
          "Captured from python3-sentry-sdk (grouping_python.py): the same ValueError from the "
          "same code via capture_exception and via logger.exception is one issue; the same type "
          "raised by other code is another.",
          [[e for e in exc if value_of(e) in ("bad quantity -1", "bad quantity -2")],
           [e for e in exc if value_of(e) == "bad quantity 3"]],
          ["type:ValueError", "frame:__main__|attempt|run(n)", "frame:__main__|run|checkout([1,-n])",
           "frame:__main__|checkout|validate(qty)",
           "frame:__main__|validate|raiseValueError(\"badquantity%d\"%qty)"])
    msg = [e for e in evs if not e.get("exception")]
    write("sdk_python_threads.json",
          "Captured from python3-sentry-sdk with attach_stacktrace (the current thread's stack "
          "under threads): the same message from the same function is one issue, from another "
          "function another issue (the stack outranks the message, as in Sentry).",
          [[e for e in msg if "poll" in frames_functions(e)],
           [e for e in msg if "drain" in frames_functions(e)]],
          ["frame:__main__|<module>|poll(i)",
           "frame:__main__|poll|sentry_sdk.capture_message(\"queueisstuck\",level=\"error\")"])

    evs = run(["node", "grouping_node.mjs"], NODE_DIR, dsn)
    write("sdk_node.json",
          "Captured from @sentry/node (grouping_node.mjs): the same RangeError from the same code, "
          "captured and as an unhandled rejection, is one issue (Node internals and the task "
          "queue do not count); the same type from other code is another.",
          [[e for e in evs if value_of(e) in ("bad quantity -1", "bad quantity -2")],
           [e for e in evs if value_of(e) == "bad quantity 3"]],
          ["type:RangeError",
           "frame:grouping_node||for(const[way,n]of[[\"capture\",1],[\"reject\",2]])attempt(way,n);",
           "frame:grouping_node|attempt|run(n);",
           "frame:grouping_node|run|checkout([{qty:1},{qty:-n}]);",
           "frame:grouping_node|checkout|items.forEach(validate);",
           "frame:grouping_node|validate|if(item.qty<0)thrownewRangeError(\"badquantity\"+item.qty);"])

    evs = run(["node", "browser_grouping.mjs"], NODE_DIR, dsn)
    write("sdk_browser_chromium.json",
          "Captured from @sentry/browser in headless Chromium (browser_grouping.mjs, page served "
          "over http://): the same RangeError from the same code, captured and rethrown uncaught "
          "from a timer, is one issue; the same type from other code is another; URL filenames, "
          "the anonymous top-level frame and V8's Array.forEach (<anonymous>) do not count.",
          [[e for e in evs if value_of(e) in ("bad quantity -1", "bad quantity -2")],
           [e for e in evs if value_of(e) == "bad quantity 3"]],
          ["type:RangeError", "frame:|attempt|", "frame:|run|", "frame:|checkout|",
           "frame:|validate|"])
    srv.shutdown()


if __name__ == "__main__":
    main()
