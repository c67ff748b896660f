"""Shared harness for Bilor's end-to-end tests.

Each tests/e2e/test_*.py is one CTest test. It starts the real `bilor`
binary (env BILOR_BIN) on 127.0.0.1 with a free port and a fresh temporary
data directory, drives it with real clients and raw HTTP, and checks what
the REST API returns. Python standard library only.

    import bilor_harness as h

    @h.test
    def test_something():
        srv = h.Server().start()
        status, _, body = srv.post("/api/1/store/", b"{}", headers=srv.auth_headers())
        h.check_eq(status, 200, "store answers 200")

    if __name__ == "__main__":
        h.main()

Checks record a failure and keep going; an exception ends the current test
function (counted as one failure). Every server started is killed at the end
(also on failure or timeout) and the tail of its log is printed when its test
failed. The last line printed is "N passed, N failed".
"""

import atexit
import ctypes
import ctypes.util
import gzip
import http.client as httpc
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("BILOR_SRC") or os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("BILOR_BIN") or os.path.join(SRC, "build", "src", "bilor")

# Deterministic admin credentials (the server honours these on first start).
ADMIN_TOKEN = "e2e" + "5f0c2d9a41b8e7f3" * 4
ADMIN_PASSWORD = "e2e-admin-password-123"

DEFAULT_TIMEOUT = 20.0   # seconds to wait for digestion to show data
HTTP_TIMEOUT = 15.0

KEY_RE = re.compile(r"^[0-9a-f]{32}$")
DSN_RE = re.compile(r"(https?)://([0-9A-Za-z_]+)(?::[^@\s]*)?@([^/\s]+)((?:/[^\s/]+)*)/(\d+)\b")

# --------------------------------------------------------------------------
# results

_passed = 0
_failed = 0
_tests = []
_current = {"name": None, "failed": False}
_servers = []          # every Server ever started, for cleanup
_tmpdirs = []


class TestTimeout(Exception):
    pass


def _where():
    for fr in reversed(traceback.extract_stack()[:-2]):
        if os.path.abspath(fr.filename) != os.path.abspath(__file__):
            return "%s:%d" % (os.path.basename(fr.filename), fr.lineno)
    return "?"


def _fail(msg):
    global _failed
    _failed += 1
    _current["failed"] = True
    print("FAIL %s [%s]: %s" % (_where(), _current["name"], msg), flush=True)


def check(cond, msg):
    """Records one check; returns cond so callers can skip dependent checks."""
    global _passed
    if cond:
        _passed += 1
    else:
        _fail(msg)
    return bool(cond)


def check_eq(got, want, msg):
    global _passed
    if got == want:
        _passed += 1
        return True
    _fail("%s: got %s, want %s" % (msg, _short(got), _short(want)))
    return False


def check_in(item, container, msg):
    global _passed
    try:
        ok = item in container
    except TypeError:
        ok = False
    if ok:
        _passed += 1
        return True
    _fail("%s: %s not in %s" % (msg, _short(item), _short(container)))
    return False


def _short(v, n=600):
    s = v if isinstance(v, str) else repr(v)
    if isinstance(v, (bytes, bytearray)):
        s = repr(bytes(v[:n]))
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def test(fn):
    """Decorator: registers a test function (run in definition order)."""
    _tests.append(fn)
    return fn


def note(msg):
    print("  .. %s" % msg, flush=True)


def skip_all(msg):
    """Ends the whole file as skipped (exit 0): only for a missing local tool."""
    print("SKIP: %s" % msg)
    print("0 passed, 0 failed")
    _cleanup()
    sys.exit(0)


# --------------------------------------------------------------------------
# plumbing


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mkdtemp(prefix="bilor-e2e-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def new_id():
    return uuid.uuid4().hex


def now_rfc3339(offset=0.0):
    t = time.time() + offset
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def parse_time(s):
    """RFC 3339 string (or number) -> float epoch seconds; None if unparsable."""
    if isinstance(s, (int, float)):
        return float(s)
    if not isinstance(s, str):
        return None
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:?\d\d)?$",
                 s.strip())
    if not m:
        return None
    import calendar
    y, mo, d, hh, mi, ss = (int(x) for x in m.groups()[:6])
    t = calendar.timegm((y, mo, d, hh, mi, ss, 0, 0, 0))
    if m.group(7):
        t += float(m.group(7))
    z = m.group(8)
    if z and z not in ("Z", "z"):
        sign = 1 if z[0] == "+" else -1
        z = z[1:].replace(":", "")
        t -= sign * (int(z[:2]) * 3600 + int(z[2:]) * 60)
    return t


def wait_for(fn, timeout=DEFAULT_TIMEOUT, interval=0.2, what="condition"):
    """Calls fn until it returns something truthy; returns that value.

    Exceptions from fn count as "not yet". Raises AssertionError at the
    timeout, naming what was awaited and the last value or exception.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Exception as e:  # noqa: BLE001 - anything means "not yet"
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s (last: %s)"
                                 % (timeout, what, _short(last, 300)))
        time.sleep(interval)


def gzip_bytes(b):
    return gzip.compress(b)


def deflate_bytes(b):
    return zlib.compress(b)


_brotli = {"lib": False}


def brotli_bytes(b):
    """Brotli-compresses b with the python module or libbrotlienc via ctypes; None if neither."""
    try:
        import brotli  # type: ignore
        return brotli.compress(b)
    except ImportError:
        pass
    if _brotli["lib"] is False:
        lib = None
        for name in ("libbrotlienc.so.1", ctypes.util.find_library("brotlienc")):
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                lib = None
        _brotli["lib"] = lib
    lib = _brotli["lib"]
    if lib is None:
        return None
    fn = lib.BrotliEncoderCompress
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_size_t,
                   ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]
    cap = len(b) + (len(b) >> 2) + 1024
    out = ctypes.create_string_buffer(cap)
    n = ctypes.c_size_t(cap)
    if not fn(5, 22, 0, len(b), b, ctypes.byref(n), out):
        return None
    return out.raw[:n.value]


def raw_payloads(data_dir):
    """Every stored event payload of every SQLite file under data_dir, decompressed: rows of
    event_raw, inline (older binaries) or by their locator into the day's payload file
    (encoding 16: offset, length and the payload's own encoding; store_sqlite_rawfile.c)."""
    out = []
    for root, _, files in os.walk(data_dir):
        for f in files:
            if not f.endswith(".db"):
                continue
            db = sqlite3.connect("file:%s?mode=ro" % os.path.join(root, f), uri=True)
            try:
                rows = db.execute("SELECT encoding, raw FROM event_raw").fetchall()
            except sqlite3.Error:
                rows = []
            db.close()
            for enc, raw in rows:
                raw = bytes(raw or b"")
                if enc == 16:
                    at, size, enc = struct.unpack("<QII", raw)
                    with open(os.path.join(root, f) + "-raw", "rb") as fh:
                        fh.seek(at)
                        raw = fh.read(size)
                if enc == 1:
                    raw = gzip.decompress(raw)
                elif enc == 2:
                    raw = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True,
                                         check=True).stdout
                out.append(raw)
    return out


def parse_link(header):
    """Link header -> {rel: {"url":..., "results":..., "cursor":...}}."""
    out = {}
    if not header:
        return out
    for m in re.finditer(r'<([^>]*)>((?:\s*;\s*[A-Za-z_]+\s*=\s*"[^"]*")*)', header):
        attrs = dict(re.findall(r'([A-Za-z_]+)\s*=\s*"([^"]*)"', m.group(2)))
        attrs["url"] = m.group(1)
        if "rel" in attrs:
            out[attrs["rel"]] = attrs
    return out


def sdk_python():
    """An interpreter that can import sentry_sdk (Debian's python3-sentry-sdk)."""
    cands = [sys.executable, "/usr/bin/python3", shutil.which("python3") or ""]
    for c in cands:
        if not c or not os.path.exists(c):
            continue
        r = subprocess.run([c, "-c", "import sentry_sdk"], capture_output=True, timeout=30)
        if r.returncode == 0:
            return c
    return None


def run(cmd, timeout=60, env=None, cwd=None, input=None):
    """Runs a command; returns CompletedProcess (text). Never raises on exit status."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=full_env, cwd=cwd, input=input)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, -999, e.stdout or "", (e.stderr or "")
                                           + "\n[harness] timed out after %ss" % timeout)


def cli(*args, data_dir, timeout=30, env=None):
    """Runs `bilor ARGS --data-dir D`."""
    return run([BIN] + list(args) + ["--data-dir", data_dir], timeout=timeout, env=env)


# --------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # dict, lower-case names
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __iter__(self):   # status, headers, body = resp
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return "<%s %s %s>" % (self.status, _short(self.headers, 300), _short(self.body, 300))


def http(method, url, body=None, headers=None, timeout=HTTP_TIMEOUT, context=None):
    """One HTTP(S) request on a fresh connection; never raises on HTTP status.

    An https:// URL is verified with context (an ssl.SSLContext), else the defaults."""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn = httpc.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout,
                                     context=context)
    else:
        conn = httpc.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        hdrs = dict(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def http_early(method, url, body, headers=None, timeout=HTTP_TIMEOUT, wait_first=1.0):
    """One request whose answer may come before the body was read (early 413 / 429).

    http.client fails with a broken pipe when the server answers and closes
    while the body is still being sent. This sends the head, waits up to
    wait_first seconds for an early answer, then sends the body in pieces,
    stopping as soon as the server has answered, and reads the answer.
    """
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
    try:
        head = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (u.hostname, u.port or 80),
                "Content-Length: %d" % len(body), "Connection: close"]
        head += ["%s: %s" % kv for kv in (headers or {}).items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        pos, first = 0, True
        while pos < len(body):
            ready, _, _ = select.select([sock], [], [], wait_first if first else 0)
            first = False
            if ready:
                break
            try:
                sock.sendall(body[pos:pos + 65536])
            except (BrokenPipeError, ConnectionResetError):
                break
            pos += 65536
        resp = httpc.HTTPResponse(sock, method=method)
        resp.begin()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        sock.close()


# --------------------------------------------------------------------------
# server


def _die_with_parent():
    """In the child: SIGKILL when the test process dies (even by SIGKILL from CTest)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Server:
    """One `bilor serve` process on 127.0.0.1:<free port> with a data directory.

    Reuse data_dir (and port) to restart on the same data.
    """

    def __init__(self, data_dir=None, port=None, args=(), env=None, name="bilor"):
        if data_dir is None:
            data_dir = os.path.join(mkdtemp(), "data")
            os.mkdir(data_dir)
        self.data_dir = data_dir
        self.port = port or free_port()
        self.args = list(args)
        self.env = dict(env or {})
        self.name = name
        self.proc = None
        # stdout+stderr of every start, next to the data directory (in the temp dir)
        self.log_path = os.path.join(os.path.dirname(os.path.abspath(self.data_dir)),
                                     "%s.log" % name)
        self.starts = 0
        self._projects = {}
        self.token = ADMIN_TOKEN
        self.tls_context = None  # an ssl.SSLContext: the server speaks HTTPS
        _servers.append(self)

    # -- lifecycle

    @property
    def base(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls_context else "http", self.port)

    def command(self):
        return [BIN, "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--data-dir", self.data_dir] + self.args

    def start(self, wait=True, timeout=30):
        env = dict(os.environ)
        env.update({"BILOR_ADMIN_TOKEN": ADMIN_TOKEN, "BILOR_ADMIN_PASSWORD": ADMIN_PASSWORD})
        env.update(self.env)
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(("\n===== start #%d: %s\n" % (self.starts, " ".join(self.command())))
                  .encode())
        log.flush()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("bilor exited with status %s during start"
                                   % self.proc.returncode)
            return http("GET", self.base + "/readyz", timeout=2,
                        context=self.tls_context).status == 200
        try:
            wait_for(ready, timeout=timeout, interval=0.05, what="/readyz")
        except AssertionError:
            if self.proc.poll() is not None:
                raise AssertionError("bilor exited with status %s during start; log tail:\n%s"
                                     % (self.proc.returncode, self.tail()))
            raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM; waits for exit; returns (exit status, seconds taken). Kills -9 after timeout."""
        if not self.alive():
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            rc = "hung (killed after %ss)" % timeout
        return rc, time.monotonic() - t0

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self, timeout=30):
        rc, _ = self.stop()
        self.start(timeout=timeout)
        return rc

    def tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError as e:
            return "(no log: %s)" % e

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- HTTP

    def url(self, path):
        return self.base + path

    def request(self, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT):
        return http(method, self.url(path), body=body, headers=headers, timeout=timeout,
                    context=self.tls_context)

    def post(self, path, body, headers=None, timeout=HTTP_TIMEOUT):
        return self.request("POST", path, body=body, headers=headers, timeout=timeout)

    def get(self, path, headers=None, timeout=HTTP_TIMEOUT):
        return self.request("GET", path, headers=headers, timeout=timeout)

    def api(self, method, path, body=None, token=None, timeout=HTTP_TIMEOUT):
        """REST API call with the admin token; returns Response (use .json())."""
        hdrs = {"Authorization": "Bearer %s" % (token or self.token), "Accept": "application/json"}
        if body is not None:
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        return self.request(method, path, body=body, headers=hdrs, timeout=timeout)

    def api_json(self, path, token=None):
        """GET an API path; returns the JSON, raising AssertionError on a non-200."""
        r = self.api("GET", path, token=token)
        if r.status != 200:
            raise AssertionError("GET %s -> %s %s" % (path, r.status, _short(r.body, 300)))
        return r.json()

    def api_pages(self, path, max_pages=200):
        """Follows Link rel="next" (results="true") and returns all items and page count."""
        items, pages = [], 0
        url = path
        seen = set()
        while url and pages < max_pages:
            r = self.api("GET", url)
            if r.status != 200:
                raise AssertionError("GET %s -> %s %s" % (url, r.status, _short(r.body, 300)))
            page = r.json()
            if not isinstance(page, list):
                raise AssertionError("GET %s: not a JSON list: %s" % (url, _short(r.body)))
            items.extend(page)
            pages += 1
            nxt = parse_link(r.header("link")).get("next")
            if not nxt or nxt.get("results") != "true" or not page:
                break
            url = self._next_url(url, nxt)
            if url in seen:
                raise AssertionError("pagination loops at %s" % url)
            seen.add(url)
        return items, pages

    @staticmethod
    def _next_url(cur, nxt):
        if nxt.get("url"):
            u = urllib.parse.urlsplit(nxt["url"])
            if u.path:
                return u.path + ("?" + u.query if u.query else "")
        u = urllib.parse.urlsplit(cur)
        q = [(k, v) for k, v in urllib.parse.parse_qsl(u.query) if k != "cursor"]
        q.append(("cursor", nxt.get("cursor", "")))
        return u.path + "?" + urllib.parse.urlencode(q)

    # -- projects and keys

    def projects(self):
        return self.api_json("/api/0/projects/")

    def project(self, pid=1):
        pid = int(pid)
        if pid not in self._projects:
            for p in self.projects():
                if int(p["id"]) == pid:
                    m = DSN_RE.search(p.get("dsn") or "")
                    if not m:
                        raise AssertionError("project %s has no usable dsn: %r" % (pid, p))
                    self._projects[pid] = {"id": pid, "name": p.get("name"), "key": m.group(2),
                                           "dsn": p["dsn"]}
                    break
            else:
                raise AssertionError("project %s not in /api/0/projects/" % pid)
        return self._projects[pid]

    def key(self, pid=1):
        return self.project(pid)["key"]

    def dsn(self, pid=1):
        """DSN pointing at this server (whatever host the server itself prints)."""
        return "http://%s@127.0.0.1:%d/%d" % (self.key(pid), self.port, int(pid))

    def add_project(self, name):
        """`bilor project add NAME` (CLI, works while serving) -> (pid, key)."""
        r = cli("project", "add", name, data_dir=self.data_dir)
        if r.returncode != 0:
            raise AssertionError("bilor project add %s -> exit %s\n%s%s"
                                 % (name, r.returncode, r.stdout, r.stderr))
        m = DSN_RE.search(r.stdout)
        if not m:
            raise AssertionError("bilor project add printed no DSN: %r" % r.stdout)
        pid, key = int(m.group(5)), m.group(2)
        self._projects[pid] = {"id": pid, "name": name, "key": key,
                               "dsn": m.group(0)}
        return pid, key

    def auth_headers(self, pid=1, key=None):
        return {"X-Sentry-Auth": "Sentry sentry_key=%s, sentry_version=7, "
                                 "sentry_client=bilor-e2e/1.0" % (key or self.key(pid))}

    # -- data lookups

    def event(self, pid, event_id):
        """The normalized event, or None while it is not there (404)."""
        r = self.api("GET", "/api/0/projects/%d/events/%s/" % (int(pid), event_id))
        if r.status == 404:
            return None
        if r.status != 200:
            raise AssertionError("GET event %s -> %s %s" % (event_id, r.status,
                                                            _short(r.body, 300)))
        return r.json()

    def wait_event(self, pid, event_id, timeout=DEFAULT_TIMEOUT):
        return wait_for(lambda: self.event(pid, event_id), timeout=timeout,
                        what="event %s in project %s" % (event_id, pid))

    def issues(self, pid=1, status="all", sort=None, limit=100):
        q = {"status": status, "limit": str(limit)}
        if sort:
            q["sort"] = sort
        items, _ = self.api_pages("/api/0/projects/%d/issues/?%s"
                                  % (int(pid), urllib.parse.urlencode(q)))
        return items

    def issue(self, issue_id):
        return self.api_json("/api/0/issues/%s/" % issue_id)

    def issue_events(self, issue_id, limit=100):
        items, _ = self.api_pages("/api/0/issues/%s/events/?limit=%d" % (issue_id, limit))
        return items

    def logs(self, pid=1, limit=1000, **params):
        q = {"limit": str(limit)}
        q.update({k: str(v) for k, v in params.items()})
        items, _ = self.api_pages("/api/0/projects/%d/logs/?%s"
                                  % (int(pid), urllib.parse.urlencode(q)))
        return items

    def metrics(self):
        """Parsed /metrics: {name: [(labels dict, value)]}."""
        r = self.get("/metrics")
        if r.status != 200:
            raise AssertionError("/metrics -> %s" % r.status)
        return parse_metrics(r.body.decode("utf-8", "replace"))


def parse_metrics(text):
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$')
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = line_re.match(line.strip())
        if not m:
            raise AssertionError("bad metrics line: %r" % line)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return out


def metric_sum(metrics, name, **labels):
    total = 0.0
    for lab, v in metrics.get(name, []):
        if all(lab.get(k) == v2 for k, v2 in labels.items()):
            total += v
    return total


# --------------------------------------------------------------------------
# Sentry payload helpers


def store_body(event_id=None, **fields):
    ev = {"event_id": event_id or new_id()}
    ev.update(fields)
    return ev["event_id"], json.dumps(ev).encode()


def envelope(header, items):
    """items: list of (item_header dict, payload bytes, with_length bool)."""
    out = [json.dumps(header, separators=(",", ":")).encode()]
    for ih, payload, with_len in items:
        ih = dict(ih)
        if with_len:
            ih["length"] = len(payload)
        out.append(json.dumps(ih, separators=(",", ":")).encode())
        out.append(payload)
    return b"\n".join(out) + b"\n"


# --------------------------------------------------------------------------
# runner


def _cleanup():
    for s in _servers:
        try:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait(5)
        except Exception:  # noqa: BLE001
            pass
    if os.environ.get("BILOR_E2E_KEEP"):
        for d in _tmpdirs:
            print("kept %s" % d)
        return
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


def _on_alarm(signum, frame):
    raise TestTimeout("whole test file exceeded its time limit")


def _on_term(signum, frame):
    _cleanup()
    sys.exit(1)


def main(total_timeout=540):
    """Runs every @test in order; prints "N passed, N failed"; exits non-zero on failure."""
    global _failed
    atexit.register(_cleanup)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(total_timeout))
    only = set(a for a in sys.argv[1:] if not a.startswith("-"))
    if not os.path.exists(BIN):
        print("FAIL: bilor binary not found at %s (set BILOR_BIN)" % BIN)
        print("0 passed, 1 failed")
        sys.exit(1)
    try:
        for fn in _tests:
            if only and fn.__name__ not in only:
                continue
            _current["name"] = fn.__name__
            _current["failed"] = False
            first_server = len(_servers)
            t0 = time.monotonic()
            print("== %s" % fn.__name__, flush=True)
            try:
                fn()
            except TestTimeout:
                _fail("time limit hit inside this test")
                _dump(_servers[first_server:])
                raise
            except Exception as e:  # noqa: BLE001
                _fail("%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()))
            for s in _servers[first_server:]:
                if s.alive():
                    s.proc.kill()
                    s.proc.wait(5)
                _scan_log(s)
            if _current["failed"]:
                _dump(_servers[first_server:])
            print("-- %s %s (%.1fs)" % (fn.__name__, "FAILED" if _current["failed"] else "ok",
                                       time.monotonic() - t0), flush=True)
    except TestTimeout:
        pass
    finally:
        signal.alarm(0)
        _cleanup()
    print("%d passed, %d failed" % (_passed, _failed), flush=True)
    sys.exit(1 if _failed or not _passed else 0)


SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
                          r"AddressSanitizer:DEADLYSIGNAL|Segmentation fault")


def _scan_log(server):
    """Sanitizer reports in a server's output are failures even when every check passed."""
    lines = server.log_text().splitlines()
    for i, line in enumerate(lines):
        if SANITIZER_RE.search(line):
            _fail("%s log has a sanitizer/crash report:\n%s"
                  % (server.name, "\n".join(lines[i:i + 40])))
            return


def _dump(servers):
    for s in servers:
        print("---- tail of %s log (%s, port %d) ----" % (s.name, s.log_path, s.port))
        print(s.tail())
        print("---- end of log ----", flush=True)

