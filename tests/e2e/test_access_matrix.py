"""The ACL matrix: every REST route x every kind of principal x own/foreign project.

The expected statuses live in ONE table, tests/data/acl/matrix.tsv (its header says
how to read it). This test sets up the principals on a real server, sends every
cell's request, prints the whole matrix (expected, and got where it differs) and
fails on any differing cell. It also fails when src/api/routes.c has a REST route
without a row (new endpoints must add theirs) or the table has a row for a route
that no longer exists.
"""
import http.client
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

TABLE = os.path.join(h.SRC, "tests", "data", "acl", "matrix.tsv")
ROUTES = os.path.join(h.SRC, "src", "api", "routes.c")
PRINCIPALS = ["anon", "viewer", "member", "padmin", "iadmin", "rtoken", "otoken", "revoked",
              "disabled"]
SESSIONS = {"viewer", "member", "padmin", "iadmin", "disabled"}
PASSWORD = "acl-password-123"
USERS = ["viewer", "member", "padmin", "dis", "spare"]


def load_table():
    rows = []
    with open(TABLE) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 5 + len(PRINCIPALS):
                raise AssertionError("%s:%d: %d columns, want %d" % (TABLE, n, len(cols),
                                                                    5 + len(PRINCIPALS)))
            method, pattern, path, body, pre = cols[:5]
            cells = {}
            for name, cell in zip(PRINCIPALS, cols[5:]):
                own, foreign = cell.split("/")
                cells[name] = (int(own), int(foreign))
            rows.append({"method": method, "pattern": pattern, "path": path,
                         "body": None if body == "-" else body, "pre": pre, "cells": cells})
    return rows


def rest_routes():
    """(METHOD, pattern) of every /api/0/ route in routes.c's table."""
    text = open(ROUTES).read()
    out = set()
    for m in re.finditer(r'\{\s*BL_(GET|POST|PUT|DELETE)\s*,\s*"(/api/0/[^"]*)"', text):
        out.add((m.group(1), m.group(2)))
    return out


class Fixture:
    def __init__(self, srv):
        self.srv = srv
        self.uid = {}
        self.sessions = {}   # name -> (cookie, csrf)
        self.tokens = {}
        self.n = 0

    def cli(self, *args, stdin=None):
        r = h.run([h.BIN] + list(args) + ["--data-dir", self.srv.data_dir], input=stdin)
        if r.returncode != 0:
            raise AssertionError("bilor %s -> %s %s" % (" ".join(args), r.returncode, r.stderr))
        return r.stdout

    def login(self, email, password):
        r = self.srv.request("POST", "/api/0/auth/login/",
                             body=json.dumps({"email": email, "password": password}),
                             headers={"Content-Type": "application/json"})
        if r.status != 200:
            raise AssertionError("login %s -> %s %s" % (email, r.status, r.body))
        cookie = r.header("set-cookie").split(";")[0]
        return cookie, r.json()["csrf_token"]

    def event(self, pid):
        eid, body = h.store_body(message="acl %d" % pid, level="error")
        r = self.srv.post("/api/%d/store/" % pid, body, headers=self.srv.auth_headers(pid))
        h.check_eq(r.status, 200, "event stored")
        self.srv.wait_event(pid, eid)
        # The day file commits before the issue row: wait for the issue too.
        issues = h.wait_for(lambda: self.srv.issues(pid), what="the issue of project %d" % pid)
        return eid, issues[0]["id"], self.log_line(pid)

    def log_line(self, pid):
        """One NDJSON log line in the project; its event_id (the {L} of context)."""
        body = json.dumps({"message": "acl line %d" % pid, "level": "info", "host": "acl"})
        hdrs = dict(self.srv.auth_headers(pid), **{"Content-Type": "application/x-ndjson"})
        r = self.srv.post("/api/%d/logs" % pid, body + "\n", headers=hdrs)
        h.check_eq(r.status, 200, "log line accepted")
        lines = h.wait_for(lambda: self.srv.logs(pid), what="the log line of project %d" % pid)
        return lines[0]["event_id"]

    def new_key(self, pid):
        """A DSN key made for one cell (the {K} of keys/{id}/, which may delete it)."""
        r = self.srv.api("POST", "/api/0/projects/%d/keys/" % pid, {"label": "acl-cell"})
        h.check_eq(r.status, 201, "key made")
        return r.json()["id"]

    def status(self, method, path, body, hdrs, stream):
        """The answer's status; a stream (SSE) is closed once its head is read."""
        if not stream:
            return self.srv.request(method, path, body=body, headers=hdrs).status
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        try:
            conn.request(method, path, headers=dict(hdrs, Accept="text/event-stream"))
            return conn.getresponse().status
        finally:
            conn.close()

    def setup(self):
        srv = self.srv
        self.p1 = 1
        self.p2, _ = srv.add_project("foreign")
        for u in USERS + ["login"]:
            out = self.cli("user", "add", "%s@acl.test" % u, "--password-stdin",
                           stdin=(PASSWORD if u != "login" else "login-password-1") + "\n")
            self.uid[u] = int(re.search(r"id: (\d+)", out).group(1))
        roles = [(self.p1, "viewer", "viewer"), (self.p1, "member", "member"),
                 (self.p1, "padmin", "admin"), (self.p1, "dis", "member")]
        for pid, u, role in roles:
            r = srv.api("POST", "/api/0/projects/%d/members/" % pid,
                        {"email": "%s@acl.test" % u, "role": role})
            h.check_eq(r.status, 200, "member %s added" % u)
        self.add_spare()
        self.data = {self.p1: self.event(self.p1), self.p2: self.event(self.p2)}
        for name, user in (("viewer", "viewer"), ("member", "member"), ("padmin", "padmin"),
                           ("disabled", "dis")):
            self.sessions[name] = self.login("%s@acl.test" % user, PASSWORD)
        self.sessions["iadmin"] = self.login("admin@localhost", h.ADMIN_PASSWORD)
        self.tokens["rtoken"] = self.cli("token", "add", "--user", "padmin@acl.test",
                                         "--scope", "read").strip()
        self.tokens["otoken"] = self.cli("token", "add", "--user", "admin@localhost",
                                         "--project", str(self.p2)).strip()
        self.tokens["revoked"] = self.cli("token", "add", "--user", "admin@localhost").strip()
        self.cli("token", "revoke", str(self.last_token_id("admin@localhost")))
        self.cli("user", "disable", "dis@acl.test")

    def add_spare(self):
        for pid in (self.p1, self.p2):
            r = self.srv.api("POST", "/api/0/projects/%d/members/" % pid,
                             {"email": "spare@acl.test", "role": "viewer"})
            h.check_eq(r.status, 200, "spare added")

    def last_token_id(self, email):
        out = self.cli("token", "list", "--user", email)
        return int(out.strip().splitlines()[-1].split()[0])

    def headers(self, name, relogin):
        if name in self.tokens:
            return {"Authorization": "Bearer " + self.tokens[name]}
        if name in SESSIONS:
            cookie, csrf = self.sessions[name]
            if relogin and name != "disabled":
                email = "admin@localhost" if name == "iadmin" else "%s@acl.test" % name
                cookie, csrf = self.login(email, h.ADMIN_PASSWORD if name == "iadmin"
                                          else PASSWORD)
            return {"Cookie": cookie, "X-CSRF-Token": csrf}
        return {}

    def cell(self, row, name, pid):
        eid, iid, lid = self.data[pid]
        path = (row["path"].replace("{P}", str(pid)).replace("{I}", str(iid))
                .replace("{E}", eid).replace("{L}", lid)
                .replace("{M}", str(self.uid["spare"])))
        if row["pre"] == "key":
            path = path.replace("{K}", str(self.new_key(pid)))
        if row["pre"] == "spare":
            self.add_spare()
        if row["pre"] == "token":
            self.cli("token", "add", "--user", "viewer@acl.test", "--scope", "read")
            path = path.replace("{T}", str(self.last_token_id("viewer@acl.test")))
        hdrs = self.headers(name, row["pre"] == "relogin")
        body = row["body"]
        if body is not None:
            hdrs["Content-Type"] = "application/json"
            self.n += 1
            body = body.replace("{N}", str(self.n))
        return self.status(row["method"], path, body, hdrs, row["pre"] == "stream")


@h.test
def test_every_route_has_a_row():
    have = {(r["method"], r["pattern"]) for r in load_table()}
    routes = rest_routes()
    h.check(len(routes) >= 20, "routes.c parsed (%d REST routes)" % len(routes))
    for m, p in sorted(routes - have):
        h.check(False, "route %s %s has no row in tests/data/acl/matrix.tsv" % (m, p))
    for m, p in sorted(have - routes):
        h.check(False, "matrix row %s %s names no route of routes.c" % (m, p))


@h.test
def test_matrix():
    rows = load_table()
    srv = h.Server().start()
    fx = Fixture(srv)
    fx.setup()
    bad = 0
    width = max(len(r["method"] + " " + r["pattern"]) for r in rows)
    print("%-*s %s" % (width, "route (own/foreign)", " ".join("%-9s" % p for p in PRINCIPALS)))
    for row in rows:
        line = []
        for name in PRINCIPALS:
            want = row["cells"][name]
            got = (fx.cell(row, name, fx.p1), fx.cell(row, name, fx.p2))
            text = "%d/%d" % got
            if got != want:
                bad += 1
                text += "!=%d/%d" % want
            line.append("%-9s" % text)
        print("%-*s %s" % (width, row["method"] + " " + row["pattern"], " ".join(line)))
    sys.stdout.flush()
    h.check_eq(bad, 0, "cells differing from tests/data/acl/matrix.tsv (marked got!=want)")


if __name__ == "__main__":
    h.main()
