"""The store URL (--store / BILOR_STORE) and the node id of a data directory."""

import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402


def serve_once(*args, env=None):
    """Runs `bilor serve ARGS` expecting it to exit at once; returns CompletedProcess."""
    d = os.path.join(h.mkdtemp(), "data")
    cmd = [h.BIN, "serve", "--listen", "127.0.0.1:%d" % h.free_port(), "--data-dir", d]
    return h.run(cmd + list(args), timeout=30, env=env), d


@h.test
def test_bad_store_urls_stop_the_start():
    r, d = serve_once("--store", "mysql://root@db/bilor")
    text = r.stdout + r.stderr
    h.check(r.returncode != 0, "an unknown scheme fails the start (%s)" % text[-300:])
    h.check("mysql" in text and "sqlite:PATH" in text,
            "the error names the scheme and the accepted forms: %s" % text[-300:])
    h.check("password" not in text, "no first-start secrets printed: %s" % text[-300:])

    r, d = serve_once(env={"BILOR_STORE": "postgres://bilor:s3cret@db.example/bilor"})
    text = r.stdout + r.stderr
    h.check(r.returncode != 0, "postgres:// fails the start in this build")
    h.check("PostgreSQL" in text, "the error says PostgreSQL is not built: %s" % text[-300:])
    h.check("s3cret" not in text, "the error does not print the URL's password")


@h.test
def test_store_elsewhere():
    tmp = h.mkdtemp()
    store_dir = os.path.join(tmp, "store")
    url = "sqlite://" + store_dir
    srv = h.Server(args=("--store", url))
    srv.start()
    h.check_eq([int(p["id"]) for p in srv.projects()], [1], "project 1 in the store")
    h.check(os.path.exists(os.path.join(store_dir, "bilor.db")), "bilor.db in the store dir")
    h.check(not os.path.exists(os.path.join(srv.data_dir, "bilor.db")),
            "no bilor.db in the data dir")
    node = os.path.join(srv.data_dir, "node_id")
    h.check(os.path.exists(node), "the data dir holds the node id")
    if os.path.exists(node):
        h.check_eq(stat.S_IMODE(os.stat(node).st_mode), 0o600, "node_id is private")
        first = open(node).read()

    # the admin commands reach the same store through --store or BILOR_STORE
    r = h.cli("project", "add", "by-flag", "--store", url, data_dir=srv.data_dir)
    h.check_eq(r.returncode, 0, "project add --store (%s)" % r.stderr[-300:])
    r = h.cli("project", "add", "by-env", data_dir=srv.data_dir, env={"BILOR_STORE": url})
    h.check_eq(r.returncode, 0, "project add with BILOR_STORE (%s)" % r.stderr[-300:])
    h.check_eq(sorted(int(p["id"]) for p in srv.projects()), [1, 2, 3],
               "the server sees the projects the CLI added")

    srv.restart()
    h.check_eq(srv.get("/readyz").status, 200, "ready after a restart")
    if os.path.exists(node):
        h.check_eq(open(node).read(), first, "the node id survives a restart")
    srv.stop()


if __name__ == "__main__":
    h.main()
