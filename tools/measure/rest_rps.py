#!/usr/bin/env python3
"""rest_rps.py - requests/s of one REST GET over keep-alive connections on loopback.

Measures the cost of authentication and the access rule on the REST path
(docs/api.md "Access"): the same GET with a bearer token and with a session cookie.

    rest_rps.py BILOR_BIN [--seconds 10] [--procs 4] [--path /api/0/projects/1/issues/]

Starts BILOR_BIN on a free port with a fresh data directory (first-start admin
token and password from the environment below), stores a few events so the
listing is not empty, then runs --procs loader processes, each one connection
sending the request back to back, for each mode: "bearer" always, "cookie"
when the binary has POST /api/0/auth/login. Prints requests/s per mode and the
server's CPU time per request (from /proc: less sensitive to a busy machine).
Python loaders on the same (shared, 2-core) machine: compare runs taken side by
side, not absolute numbers.
"""
import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "measure-" + "0123456789abcdef" * 3
PASSWORD = "measure-password-1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def call(port, method, path, body=None, headers=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def loader(port, raw, seconds, out):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    n = bad = 0
    end = time.time() + seconds
    while time.time() < end:
        s.sendall(raw)
        status = f.readline()
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        f.read(length)
        if b" 200 " not in status:
            bad += 1
        n += 1
    out.put((n, bad))


def cpu_seconds(pid):
    """user + system CPU time of a process so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(port, path, headers, seconds, procs):
    raw = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (
        path, "".join("%s: %s\r\n" % kv for kv in headers.items()))).encode()
    q = mp.Queue()
    ps = [mp.Process(target=loader, args=(port, raw, seconds, q)) for _ in range(procs)]
    for p in ps:
        p.start()
    res = [q.get() for _ in ps]
    for p in ps:
        p.join()
    n = sum(r[0] for r in res)
    bad = sum(r[1] for r in res)
    return n / seconds, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--path", default="/api/0/projects/1/issues/")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bilor-rps-")
    port = free_port()
    env = dict(os.environ, BILOR_ADMIN_TOKEN=TOKEN, BILOR_ADMIN_PASSWORD=PASSWORD)
    srv = subprocess.Popen([a.bin, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir",
                            tmp + "/data", "--log-level", "warn"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            try:
                if call(port, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        st, _, body = call(port, "GET", "/api/0/projects/", headers={"Authorization": "Bearer " + TOKEN})
        key = json.loads(body)[0]["dsn"].split("//")[1].split("@")[0]
        for i in range(20):
            ev = json.dumps({"message": "measure %d" % i, "level": "error",
                             "fingerprint": ["m%d" % i]}).encode()
            call(port, "POST", "/api/1/store/", ev, {"X-Sentry-Auth": "Sentry sentry_key=" + key,
                                                     "Content-Type": "application/json"})
        time.sleep(2)
        modes = [("bearer", {"Authorization": "Bearer " + TOKEN})]
        login = json.dumps({"email": "admin@localhost", "password": PASSWORD}).encode()
        st, hdrs, body = call(port, "POST", "/api/0/auth/login", login,
                              {"Content-Type": "application/json"})
        if st == 200:
            cookie = [v for k, v in hdrs.items() if k.lower() == "set-cookie"][0].split(";")[0]
            modes.append(("cookie", {"Cookie": cookie}))
        for name, h in modes:
            cpu0 = cpu_seconds(srv.pid)
            rps, bad = run(port, a.path, h, a.seconds, a.procs)
            cpu = cpu_seconds(srv.pid) - cpu0
            print("%-7s %8.0f requests/s  %6.1f server CPU us/request  (%d non-200)"
                  % (name, rps, cpu * 1e6 / max(1, rps * a.seconds), bad))
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
