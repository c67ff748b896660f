"""`bilor serve` and the admin commands on a data directory: one server per directory,
no directory made by a typo, one public URL, settings checked before anything is created,
and every file private."""

import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NO_DATA_DIR = "no Bilor data directory"


def serve_once(data_dir, *args, timeout=15, env=None):
    """Runs a `bilor serve` that should stop by itself; status -999 if it kept running."""
    full_env = dict(os.environ, BILOR_ADMIN_TOKEN=h.ADMIN_TOKEN, **(env or {}))
    cmd = [h.BIN, "serve", "--data-dir", data_dir] + list(args)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                         stdin=subprocess.DEVNULL)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc = -999
    return subprocess.CompletedProcess(cmd, rc, out.decode("utf-8", "replace"),
                                       err.decode("utf-8", "replace"))


def dsn_bases(text):
    """[(scheme, host, path prefix, project id)] of every DSN in text."""
    return [(m.group(1), m.group(3), m.group(4), int(m.group(5))) for m in h.DSN_RE.finditer(text)]


@h.test
def test_second_serve_on_same_data_dir_is_refused():
    srv = h.Server().start()
    other_port = h.free_port()
    t0 = time.monotonic()
    r = serve_once(srv.data_dir, "--listen", "127.0.0.1:%d" % other_port)
    took = time.monotonic() - t0
    h.check(r.returncode not in (0, -999), "second serve exits with an error (status %s)"
            % r.returncode)
    h.check(took < 10, "second serve exits at once (%.1fs)" % took)
    h.check("in use" in r.stderr and str(srv.proc.pid) in r.stderr,
            "second serve names the holder's pid %d: %r" % (srv.proc.pid, r.stderr[-500:]))
    h.check("password" not in r.stdout and "API token" not in r.stdout,
            "second serve prints no secrets: %r" % r.stdout[-300:])
    try:
        refused = h.http("GET", "http://127.0.0.1:%d/healthz" % other_port, timeout=2).status
    except OSError:
        refused = None
    h.check(refused is None, "nothing listens on the second port (got %s)" % refused)

    # the first server keeps serving every request, and the admin commands work beside it
    pid2, key2 = srv.add_project("beside-the-server")
    r = h.cli("token", "add", data_dir=srv.data_dir)
    h.check_eq(r.returncode, 0, "token add beside a running server (%s)" % r.stderr[-300:])
    r = h.cli("project", "list", data_dir=srv.data_dir)
    h.check_eq(r.returncode, 0, "project list beside a running server (%s)" % r.stderr[-300:])
    h.check(key2 in r.stdout, "project list shows the new project")
    lines = "".join(json.dumps({"level": "info", "msg": "line %d" % i}) + "\n"
                    for i in range(20)).encode()
    resp = srv.post("/api/%d/logs" % pid2, lines, headers={"Authorization": "Bearer " + key2})
    h.check_eq(resp.status, 200, "logs accepted by the first server")
    got = h.wait_for(lambda: len(srv.logs(pid2)) >= 20 and srv.logs(pid2), what="20 log lines")
    h.check_eq(len(got), 20, "every acknowledged line is stored")

    # the lock goes with the process, however it ends: a kill -9 leaves no stale lock
    srv.kill9()
    srv.start()
    h.check(srv.alive(), "a new server starts after the holder was killed")
    r = serve_once(srv.data_dir, "--listen", "127.0.0.1:%d" % h.free_port())
    h.check(r.returncode not in (0, -999) and str(srv.proc.pid) in r.stderr,
            "the restarted server holds the lock (pid %d): %r" % (srv.proc.pid, r.stderr[-300:]))
    rc, _ = srv.stop()
    h.check_eq(rc, 0, "first server stops cleanly")


@h.test
def test_admin_commands_refuse_a_directory_without_bilor_data():
    base = h.mkdtemp()
    empty = os.path.join(base, "empty")
    os.mkdir(empty)
    missing = os.path.join(base, "typo", "bilor-data")
    for d, what in ((empty, "an empty directory"), (missing, "a missing directory")):
        for args in (("project", "list"), ("project", "add", "web"), ("token", "add")):
            r = h.cli(*args, data_dir=d)
            label = "bilor %s on %s" % (" ".join(args), what)
            h.check(r.returncode not in (0, -999), "%s fails (status %s)" % (label, r.returncode))
            h.check(NO_DATA_DIR in r.stderr and "bilor serve" in r.stderr,
                    "%s says there is no data directory and how to make one: %r"
                    % (label, r.stderr[-300:]))
            h.check_eq(r.stdout, "", "%s prints nothing on stdout" % label)
    h.check_eq(os.listdir(empty), [], "nothing created in the empty directory")
    h.check(not os.path.exists(os.path.join(base, "typo")), "the missing directory is not created")
    # the environment variable is held to the same rule
    r = h.run([h.BIN, "project", "list"], env={"BILOR_DATA_DIR": empty}, cwd=base, timeout=30)
    h.check(r.returncode != 0 and NO_DATA_DIR in r.stderr,
            "BILOR_DATA_DIR without data: %s %r" % (r.returncode, r.stderr[-300:]))
    h.check(not os.path.exists(os.path.join(base, "bilor-data")), "no ./bilor-data created")


@h.test
def test_cli_dsns_use_the_servers_public_url():
    srv = h.Server().start()
    host = "127.0.0.1:%d" % srv.port
    _, key2 = srv.add_project("web")
    r = h.cli("project", "list", data_dir=srv.data_dir)
    h.check_eq(r.returncode, 0, "project list (%s)" % r.stderr[-300:])
    found = dsn_bases(r.stdout)
    h.check_eq(sorted(found), [("http", host, "", 1), ("http", host, "", 2)],
               "project list DSNs point at the server's port %d" % srv.port)
    api_dsn = {int(p["id"]): p["dsn"] for p in srv.projects()}
    h.check_eq(srv.project(2)["dsn"], api_dsn.get(2), "CLI and API print the same DSN")

    # --public-url (a proxy in front): the CLI follows it, also while the server is stopped
    srv.stop()
    srv.args = ["--public-url", "https://errors.example.com/bilor/"]
    srv.start()
    r = h.cli("project", "add", "api", data_dir=srv.data_dir)
    h.check_eq(dsn_bases(r.stdout), [("https", "errors.example.com", "/bilor", 3)],
               "project add DSN uses --public-url: %r" % r.stdout)
    api_dsn = {int(p["id"]): p["dsn"] for p in srv.projects()}
    h.check(r.stdout.strip().endswith(api_dsn.get(3, "?")), "CLI DSN equals the API's: %r %r"
            % (r.stdout, api_dsn.get(3)))
    srv.stop()
    r = h.cli("project", "list", data_dir=srv.data_dir)
    h.check_eq(sorted(dsn_bases(r.stdout)),
               [("https", "errors.example.com", "/bilor", i) for i in (1, 2, 3)],
               "project list after the server stopped still uses its URL")


BAD_SETTINGS = [
    (["--listen", "127.0.0.1"], "listen"),
    (["--listen", "127.0.0.1:"], "listen"),
    (["--listen", "127.0.0.1:0"], "listen"),
    (["--listen", "127.0.0.1:70000"], "listen"),
    (["--listen", "127.0.0.1:80x"], "listen"),
    (["--listen", "::1:8000"], "listen"),
    (["--listen", "bad..name:8000"], "bad..name"),  # refused by the resolver offline
    (["--public-url", "ftp://example.com"], "public URL"),
    (["--public-url", "https://"], "public URL"),
    (["--public-url", "http://example.com/a b"], "public URL"),
    (["--log-level", "loud"], "log level"),
    (["--max-body", "12"], "max-body"),
]


@h.test
def test_bad_settings_are_refused_before_anything_is_created():
    base = h.mkdtemp()
    for i, (args, word) in enumerate(BAD_SETTINGS):
        d = os.path.join(base, "d%d" % i)
        listen = [] if args[0] == "--listen" else ["--listen", "127.0.0.1:%d" % h.free_port()]
        r = serve_once(d, *(listen + args), env={"BILOR_ADMIN_PASSWORD": "pw-that-must-not-show"})
        label = "serve %s" % " ".join(args)
        h.check_eq(r.returncode, 2, "%s exits 2 (usage)" % label)
        h.check(word in r.stderr, "%s names the bad setting: %r" % (label, r.stderr[-300:]))
        h.check("pw-that-must-not-show" not in r.stdout + r.stderr and h.ADMIN_TOKEN not in
                r.stdout + r.stderr, "%s prints no secrets" % label)
        h.check(not os.path.exists(d), "%s creates no data directory" % label)
    # the same through the environment
    d = os.path.join(base, "env")
    r = h.run([h.BIN, "serve"], timeout=15, env={"BILOR_LISTEN": "127.0.0.1",
                                                  "BILOR_DATA_DIR": d})
    h.check_eq(r.returncode, 2, "BILOR_LISTEN without a port exits 2")
    h.check(not os.path.exists(d), "BILOR_LISTEN without a port creates nothing")
    # a data directory path that is a file
    f = os.path.join(base, "a-file")
    with open(f, "w") as fh:
        fh.write("not a directory\n")
    r = serve_once(f, "--listen", "127.0.0.1:%d" % h.free_port())
    h.check(r.returncode not in (0, -999) and "not a directory" in r.stderr,
            "a file as data directory is refused: %s %r" % (r.returncode, r.stderr[-300:]))


def modes(root):
    """{relative path: (is_dir, permission bits)} of everything under root, root included."""
    out = {".": (True, stat.S_IMODE(os.stat(root).st_mode))}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (stat.S_ISDIR(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


@h.test
def test_every_file_in_the_data_dir_is_private():
    srv = h.Server()
    os.chmod(srv.data_dir, 0o755)  # made by hand, readable by everyone
    srv.start()
    h.check("now 0700" in srv.log_text(), "serve says it made the data directory private: %s"
            % srv.tail(10))
    # an event and log lines (partition files, journal segments), CLI writes, a restart
    eid, body = h.store_body(message="private", level="error")
    h.check_eq(srv.post("/api/1/store/", body, headers=srv.auth_headers()).status, 200,
               "event accepted")
    srv.wait_event(1, eid)
    resp = srv.post("/api/1/logs", b'{"level":"info","msg":"private line"}\n',
                    headers={"Authorization": "Bearer " + srv.key(1)})
    h.check_eq(resp.status, 200, "log line accepted")
    h.wait_for(lambda: srv.logs(1), what="the log line")
    srv.add_project("private-too")
    h.check_eq(h.cli("token", "add", data_dir=srv.data_dir).returncode, 0, "token add")
    found = modes(srv.data_dir)   # while serving: WAL and SHM files exist
    srv.restart()
    srv.stop()
    found.update(modes(srv.data_dir))
    for name in ("bilor.db", "bilor.db-wal", "journal", "events"):
        h.check(name in found, "%s is in the data directory: %s" % (name, sorted(found)))
    h.check(any(n.startswith("events" + os.sep) and n.endswith(".db") for n in found),
            "a day partition file exists: %s" % sorted(found))
    h.check(any(n.startswith("journal" + os.sep) for n in found),
            "a journal segment exists: %s" % sorted(found))
    for name, (is_dir, mode) in sorted(found.items()):
        h.check_eq(oct(mode), oct(0o700 if is_dir else 0o600),
                   "mode of %s%s" % (name, "/" if is_dir else ""))


if __name__ == "__main__":
    h.main()
