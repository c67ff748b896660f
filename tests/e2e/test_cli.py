"""The `bilor` command line on a data directory, with and without a running server."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

TOKEN_RE = re.compile(r"[A-Za-z0-9_\-.]{24,}")


def dsns(text):
    """[(pid, key)] of every DSN in text."""
    return [(int(m.group(5)), m.group(2)) for m in h.DSN_RE.finditer(text)]


def list_projects(data_dir):
    r = h.cli("project", "list", data_dir=data_dir)
    h.check_eq(r.returncode, 0, "project list exit status (%s)" % r.stderr[-500:])
    out = {}
    for line in r.stdout.splitlines():
        found = dsns(line)
        if found:
            out[found[0][0]] = (line, found[0][1])
    return out


@h.test
def test_help_and_first_start():
    r = h.run([h.BIN, "serve", "--help"], timeout=20)
    h.check_eq(r.returncode, 0, "serve --help exit status")
    text = r.stdout + r.stderr
    for flag in ("--listen", "--data-dir", "--max-body", "--journal-budget", "BILOR_LISTEN"):
        h.check(flag in text, "serve --help mentions %s" % flag)
    r = h.run([h.BIN, "no-such-command"], timeout=20)
    h.check(r.returncode != 0, "unknown subcommand fails")
    r = h.run([h.BIN, "serve", "--no-such-flag", "1"], timeout=20)
    h.check(r.returncode != 0, "unknown flag fails")

    # first start prints the DSN of project 1; the env vars work instead of flags
    srv = h.Server()
    srv.command = lambda: [h.BIN, "serve"]
    srv.env = {"BILOR_LISTEN": "127.0.0.1:%d" % srv.port, "BILOR_DATA_DIR": srv.data_dir}
    srv.start()
    first = srv.log_text()
    found = dsns(first)
    h.check(any(pid == 1 for pid, _ in found), "first start prints the DSN of project 1: %s"
            % first[-1500:])
    projects = srv.projects()
    h.check_eq([(int(p["id"]), p["name"]) for p in projects], [(1, "default")],
               "first start creates project 1 'default'")
    for p in projects:
        for k in ("id", "name", "slug", "dsn"):
            h.check_in(k, p, "project field")
    if found:
        h.check_eq(found[0][1], srv.key(1), "printed DSN key is project 1's key")
    h.check(os.listdir(srv.data_dir), "data dir populated")
    srv.stop()
    srv.start()
    h.check_eq(len(srv.projects()), 1, "second start does not create another project")
    key_before = srv.key(1)
    srv._projects.clear()
    h.check_eq(srv.key(1), key_before, "same key after restart")


@h.test
def test_projects_and_tokens_while_serving():
    srv = h.Server().start()
    d = srv.data_dir
    key1 = srv.key(1)

    r = h.cli("project", "add", "web-frontend", data_dir=d)
    h.check_eq(r.returncode, 0, "project add exit status (%s)" % r.stderr[-500:])
    added = dsns(r.stdout)
    if not h.check(len(added) == 1, "project add prints one DSN: %r" % r.stdout):
        return
    pid2, key2 = added[0]
    h.check_eq(pid2, 2, "new project id")
    h.check(h.KEY_RE.match(key2) and key2 != key1, "new 32-hex key")
    h.check(re.search(r"\b2\b", r.stdout) is not None, "prints the id")

    lst = list_projects(d)
    h.check_eq(sorted(lst), [1, 2], "project list ids")
    if 2 in lst:
        h.check("web-frontend" in lst[2][0], "project list shows the name: %r" % lst[2][0])
        h.check_eq(lst[2][1], key2, "project list shows the DSN key")
    if 1 in lst:
        h.check("default" in lst[1][0] and lst[1][1] == key1, "project 1 line: %r" % lst[1][0])

    api = {int(p["id"]): p for p in srv.projects()}
    h.check_eq(sorted(api), [1, 2], "API sees the project added by the CLI")
    if 2 in api:
        h.check_eq(api[2].get("name"), "web-frontend", "API project name")
        h.check(key2 in (api[2].get("dsn") or ""), "API project dsn")
        h.check_eq(api[2].get("slug"), "web-frontend", "slug")

    # the new key works at once on the running server, only for its project
    eid = h.new_id()
    body = json.dumps({"event_id": eid, "message": "from project two", "level": "error"}).encode()
    r = h.wait_for(lambda: (lambda r: r if r.status != 401 else None)(
        srv.post("/api/2/store/", body, headers=srv.auth_headers(key=key2))),
        timeout=5, what="the new key to be accepted")
    h.check_eq(r.status, 200, "store with the CLI-made key (%s)" % h._short(r.body, 200))
    ev = srv.wait_event(2, eid)
    h.check_eq(ev.get("message"), "from project two", "event in project 2")
    h.check(srv.event(1, eid) is None, "not in project 1")
    h.check_eq(len(srv.issues(1)), 0, "project 1 has no issues")
    h.check_eq(len(srv.issues(2)), 1, "project 2 has the issue")

    # tokens
    r = h.cli("token", "add", data_dir=d)
    h.check_eq(r.returncode, 0, "token add exit status (%s)" % r.stderr[-500:])
    cands = [t for t in TOKEN_RE.findall(r.stdout) if t != h.ADMIN_TOKEN]
    if h.check(len(cands) >= 1, "token add prints a token: %r" % r.stdout):
        tok = max(cands, key=len)
        resp = srv.api("GET", "/api/0/projects/", token=tok)
        h.check_eq(resp.status, 200, "new token works against the API")
        h.check_eq(sorted(int(p["id"]) for p in (resp.json() or [])), [1, 2],
                   "new token sees both projects")
        resp = srv.api("GET", "/api/0/projects/", token=tok[:-1] + ("A" if tok[-1] != "A"
                                                                    else "B"))
        h.check_eq(resp.status, 401, "an altered token is refused")
    r2 = h.cli("token", "add", data_dir=d)
    h.check(r2.returncode == 0 and r2.stdout != r.stdout, "a second token differs")
    h.check_eq(srv.api("GET", "/api/0/projects/", token=h.ADMIN_TOKEN).status, 200,
               "admin token still works")

    # CLI with the server stopped, then the server sees it after restart
    rc, _ = srv.stop()
    h.check_eq(rc, 0, "server stop")
    r = h.cli("project", "add", "offline-added", data_dir=d)
    h.check_eq(r.returncode, 0, "project add while stopped (%s)" % r.stderr[-500:])
    h.check_eq(sorted(list_projects(d)), [1, 2, 3], "project list while stopped")
    srv.start()
    h.check_eq(sorted(int(p["id"]) for p in srv.projects()), [1, 2, 3],
               "server sees the offline-added project")
    r = h.cli("project", "add", data_dir=d)
    h.check(r.returncode != 0, "project add without a name fails")


if __name__ == "__main__":
    h.main()
