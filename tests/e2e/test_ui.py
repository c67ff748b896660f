"""The web UI in a real browser: Debian's chromium driven by playwright-core
(tests/e2e/node/ui_browser.mjs) against the real server, with data sent by
python3-sentry-sdk and the JSON lines door.

Phases: main (sign in, list, search, open, stack trace, "around this event",
resolve, logs explorer, 390 px, first-load size and time), regressed (a new
event brings the resolved issue back), xss (hostile events on every page).
Screenshots go to $BILOR_SCREENSHOTS (docs/screenshots/ when refreshing the
committed set: scripts/screenshots.sh), else to a temporary folder.
"""

import json
import re
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NODE = shutil.which("node") or shutil.which("nodejs")
NODE_DIR = os.path.join(h.HERE, "node")
SCRIPT = os.path.join(NODE_DIR, "ui_browser.mjs")
CHROMIUM = os.environ.get("BILOR_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("BILOR_SCREENSHOTS") or h.mkdtemp("bilor-e2e-shots-")

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
XTRACE = "0af7651916cd43dd8448eb211c80319c"

APP = r'''
import json, sys
import sentry_sdk

sentry_sdk.init(dsn=sys.argv[1], release="shop@2.4.1", environment="production",
                server_name="web-1")
sentry_sdk.set_context("trace", {"trace_id": "%s", "span_id": "b7ad6b7169203331"})
sentry_sdk.set_user({"id": "42", "email": "jane@example.com"})
sentry_sdk.add_breadcrumb(category="http", message="POST /checkout", level="info")
ids = {}


def charge_card(amount):
    raise ValueError("payment declined for amount %%d" %% amount)


def checkout_handler(cart):
    return charge_card(cart["total"])


def render_invoice(n):
    return {}["invoice-%%d" %% n]


try:
    checkout_handler({"total": 42})
except ValueError:
    ids["payment"] = sentry_sdk.capture_exception()
if sys.argv[2] == "all":
    try:
        render_invoice(7)
    except KeyError:
        ids["invoice"] = sentry_sdk.capture_exception()
sentry_sdk.flush(timeout=10)
print(json.dumps(ids))
''' % TRACE

IMG = "<img src=x onerror=alert('%s')>"
SCR = "<script>alert('%s')</script>"
SVG = "\"><svg onload=alert('%s')>"
JSU = "javascript:alert('%s')"


def run_app(srv, which, dsn=None):
    py = h.sdk_python()
    if not py:
        raise AssertionError("no python can import sentry_sdk (scripts/install-deps.sh --test)")
    d = h.mkdtemp("bilor-e2e-ui-app-")
    path = os.path.join(d, "shop.py")
    with open(path, "w") as f:
        f.write(APP)
    r = h.run([py, path, dsn or srv.dsn(1), which], timeout=90, cwd=d)
    if r.returncode != 0:
        raise AssertionError("sentry-sdk app failed: %s" % r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def send_logs(srv, lines):
    body = "\n".join(json.dumps(x) for x in lines).encode()
    r = srv.post("/api/1/logs", body, headers={"Authorization": "Bearer " + srv.key(1),
                                                "Content-Type": "application/x-ndjson"})
    h.check_eq(r.status, 200, "logs accepted: %r" % r.body[:300])


def browser(srv, phase, expect):
    for need, what in ((NODE, "node"), (os.path.exists(CHROMIUM), CHROMIUM),
                       (os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")),
                        "playwright-core")):
        if not need:
            raise AssertionError("%s is missing (scripts/install-deps.sh --test)" % what)
    r = h.run([NODE, SCRIPT, phase, srv.base, srv.token, SHOTS, json.dumps(expect)],
              timeout=240, cwd=NODE_DIR)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if not h.check(lines, "browser phase %s printed a result (rc %s)\nstdout: %s\nstderr: %s"
                   % (phase, r.returncode, r.stdout[-2000:], r.stderr[-3000:])):
        return {}
    out = json.loads(lines[-1])
    for c in out.get("checks", []):
        h.note("  ok: " + c)
    for f in out.get("failures", []):
        h.check(False, "[%s] %s\nbrowser console: %s" % (phase, f, out.get("console", [])[-15:]))
    return out


@h.test
def test_ui_serving():
    srv = h.Server().start()
    r = srv.get("/")
    h.check_eq(r.status, 200, "GET / is the UI")
    h.check("text/html" in (r.header("Content-Type") or ""), "index.html is HTML")
    h.check_eq(r.header("Cache-Control"), "no-cache", "index.html is revalidated")
    csp = r.header("Content-Security-Policy") or ""
    h.check("script-src 'self'" in csp and "unsafe-inline" not in csp, "CSP without inline script")
    html = r.body.decode()
    h.check("<script>" not in html and not re.search(r"\son[a-z]+=", html),
            "no inline script or handler in index.html")
    asset = html.split('src="')[1].split('"')[0]
    h.check(asset.startswith("/ui/v/"), "assets are fingerprinted: %s" % asset)
    r2 = srv.get(asset, headers={"Accept-Encoding": "gzip"})
    h.check_eq(r2.status, 200, "the module loads")
    h.check_eq(r2.header("Content-Encoding"), "gzip", "gzip when accepted")
    h.check("immutable" in (r2.header("Cache-Control") or ""), "fingerprinted assets are immutable")
    r3 = srv.get(asset, headers={"Accept-Encoding": "gzip", "If-None-Match": r2.header("ETag")})
    h.check_eq(r3.status, 304, "a matching ETag answers 304")
    h.check_eq(srv.get("/ui/../bilor-data/").status, 404, "no path outside the UI")

    # --ui-dir serves from disk (development).
    dev = h.Server(args=["--ui-dir", os.path.join(h.SRC, "ui")]).start()
    r = dev.get("/ui/v/dev/js/app.js")
    with open(os.path.join(h.SRC, "ui", "js", "app.js"), "rb") as f:
        h.check_eq(r.body, f.read(), "--ui-dir serves the file from disk")
    h.check("/ui/v/dev/" in dev.get("/").body.decode(), "index.html from disk names the dev version")
    h.check_eq(dev.get("/ui/js").status, 404, "a folder is not a file")
    h.check_eq(dev.get("/ui/v/dev/../../CMakeLists.txt").status, 404, "no way out of --ui-dir")


@h.test
def test_ui_browser():
    srv = h.Server().start()
    ids = run_app(srv, "all")
    ev = srv.wait_event(1, ids["payment"])
    h.check_eq(ev.get("trace_id"), TRACE, "the SDK's trace id is on the event")
    srv.wait_event(1, ids["invoice"])
    send_logs(srv, [
        {"level": "info", "message": "payment gateway answered 402", "trace_id": TRACE,
         "server_name": "web-1", "logger": "shop.gateway"},
        {"level": "debug", "message": "cart loaded", "server_name": "web-1", "logger": "shop.cart"},
    ])
    h.wait_for(lambda: len(srv.logs(1)) >= 2, what="log lines stored")

    expect = {"titles": ["payment declined", "invoice-7"], "search": "payment",
              "target": "payment declined", "functions": ["charge_card", "checkout_handler"],
              "around_line": "payment gateway answered 402"}
    out = browser(srv, "main", expect)
    perf = out.get("perf")
    if h.check(perf, "first-load measurements"):
        h.note("first load: %s" % json.dumps(perf))
        h.check(perf["ui_bytes"] < 150 * 1024, "first load under 150 KB: %d" % perf["ui_bytes"])
        h.check_eq(perf["cached_ui_requests_to_network"], 0,
                   "a cached reload fetches no fingerprinted asset")
    issue_id = out.get("issue_id")
    if not issue_id:
        return
    h.check_eq(srv.issue(issue_id).get("status"), "resolved", "the API shows it resolved")

    # A new event of the same issue reopens it.
    run_app(srv, "one")
    h.wait_for(lambda: srv.issue(issue_id).get("status") == "unresolved",
               what="issue reopened by a new event")
    browser(srv, "regressed", {"issue_id": issue_id})

    # An issue seen only in staging, of another release: the filters pick it out.
    r = srv.post("/api/1/store/", json.dumps({
        "event_id": "5" * 32, "message": "Staging cache stampede", "level": "error",
        "environment": "staging", "release": "shop@2.5.0-rc1", "platform": "python"}).encode(),
        dict(srv.auth_headers(1), **{"Content-Type": "application/json"}))
    h.check_eq(r.status, 200, "staging event accepted")
    srv.wait_event(1, "5" * 32)
    browser(srv, "environments", {"staging": ["Staging cache stampede"],
                                  "production": ["payment declined", "invoice-7"],
                                  "release": "shop@2.4.1"})


@h.test
def test_ui_session():
    """Email and password sign-in, a token made on the account page, sign-out."""
    srv = h.Server().start()
    out = browser(srv, "session", {"email": "admin@localhost", "password": h.ADMIN_PASSWORD,
                                   "token_name": "made in the browser"})
    if not out:
        return
    tokens = srv.api_json("/api/0/tokens/")
    h.check("made in the browser" in [t["name"] for t in tokens],
            "the API lists the token by the name the UI sent: %r" % tokens)


@h.test
def test_ui_xss():
    srv = h.Server().start()
    now = time.time()
    ev_id, body = h.store_body(
        message=IMG % "message", logger=SCR % "logger", level="error", platform="python",
        release=SCR % "release", environment=SVG % "env", server_name=IMG % "host",
        tags={"tag" + IMG % "k": SVG % "tag", "link": JSU % "tag"},
        user={"id": SCR % "uid", "email": SVG % "email" + "@x.com", "username": IMG % "user"},
        exception={"values": [{
            "type": "Boom" + IMG % "type", "value": SVG % "value",
            "stacktrace": {"frames": [
                {"function": SVG % "libfn", "filename": JSU % "file", "in_app": False},
                {"function": IMG % "fn", "filename": "app.py", "lineno": 3, "in_app": True,
                 "context_line": SCR % "ctx", "pre_context": [IMG % "pre"],
                 "vars": {"v": IMG % "var", SCR % "k": "1"}}]}}]},
        breadcrumbs={"values": [{"timestamp": now - 5, "category": SCR % "cat",
                                 "message": IMG % "crumb", "data": {"u": JSU % "data"}}]},
        request={"url": JSU % "req", "method": "GET", "headers": {"Referer": SVG % "hdr"}},
        contexts={"trace": {"trace_id": XTRACE, "span_id": "b7ad6b7169203331"},
                  "os": {"name": SVG % "os"}},
        extra={"e": IMG % "extra"})
    r = srv.post("/api/1/store/", body, headers=srv.auth_headers())
    h.check_eq(r.status, 200, "hostile event accepted")
    _, body2 = h.store_body(message=SVG % "title2", level="fatal", logger=JSU % "lg")
    h.check_eq(srv.post("/api/1/store/", body2, headers=srv.auth_headers()).status, 200,
               "second hostile event accepted")
    send_logs(srv, [
        {"level": "warning", "message": IMG % "log", "trace_id": XTRACE, "logger": SCR % "lg",
         "attr": SVG % "attr", "href": JSU % "attr", SCR % "key": IMG % "val"},
        {"level": "info", "message": SVG % "log2", "server_name": SCR % "srv"},
    ])
    srv.wait_event(1, ev_id)
    h.wait_for(lambda: len(srv.issues(1)) >= 2 and len(srv.logs(1)) >= 2, what="data stored")
    issue_ids = [str(i["id"]) for i in srv.issues(1)]
    # Hostile names where the settings and admin pages show them.
    h.check_eq(srv.api("POST", "/api/0/projects/1/keys/", {"label": IMG % "key"}).status, 201,
               "a key with a hostile label")
    r = srv.api("POST", "/api/0/users/", {"email": "x@ui.test", "password": "user-password-1",
                                          "name": SCR % "user"})
    h.check_eq(r.status, 201, "a user with a hostile name")
    srv.api("POST", "/api/0/projects/1/members/", {"email": "x@ui.test", "role": "viewer"})
    srv.api("POST", "/api/0/tokens/", {"name": SVG % "token"})
    browser(srv, "xss", {"issue_ids": issue_ids,
                         "visible": [IMG % "fn", SCR % "ctx", IMG % "crumb", JSU % "req"]})


def add_user(srv, email, role=None, password="user-password-123", pid=1):
    r = srv.api("POST", "/api/0/users/", {"email": email, "password": password})
    h.check_eq(r.status, 201, "user %s added: %r" % (email, r.body[:200]))
    if role:
        r = srv.api("POST", "/api/0/projects/%d/members/" % pid, {"email": email, "role": role})
        h.check_eq(r.status, 200, "%s is a %s" % (email, role))
    return r.json()


def login(srv, email, password):
    return srv.post("/api/0/auth/login", json.dumps({"email": email, "password": password}).encode(),
                    headers={"Content-Type": "application/json"})


@h.test
def test_ui_settings():
    """Project settings in the browser, then what the API and the doors do."""
    srv = h.Server().start()
    ids = run_app(srv, "one")
    srv.wait_event(1, ids["payment"])
    add_user(srv, "dev@ui.test")
    add_user(srv, "member@ui.test", "member")
    add_user(srv, "viewer@ui.test", "viewer")
    label = "browser key"
    rules = "error.type:ValueError -> payment-errors\n"
    creds = {"email": "admin@localhost", "password": h.ADMIN_PASSWORD}
    out = browser(srv, "settings", dict(creds, key_label=label, new_member="dev@ui.test",
                                        rules=rules))
    proj = srv.api_json("/api/0/projects/1/")
    h.check_eq((proj["issue_level"], proj["retention_days"]), ("warning", 14),
               "the API shows the issue level and retention set in the page")
    h.check_eq(srv.api_json("/api/0/projects/1/settings/")["events_per_hour"], 5000,
               "the project-wide limit set in the page")
    keys = {k["label"]: k for k in srv.api_json("/api/0/projects/1/keys/")}
    key = keys.get(label)
    if not h.check(key, "the API lists the key made in the page: %r" % list(keys)):
        return
    h.check_eq((key["events_per_minute"], key["lines_per_minute"], key["enabled"]),
               (120, 600, True), "the key's limits as set in the page")
    h.check_eq(out.get("new_dsn"), key["dsn"], "the page showed the key's DSN")
    h.check("kbd-key" in keys, "the key made with the keyboard exists")
    members = {m["email"]: m["role"] for m in srv.api_json("/api/0/projects/1/members/")}
    h.check_eq(members.get("dev@ui.test"), "admin", "the member added and promoted in the page")
    h.check_eq(srv.api_json("/api/0/projects/1/grouping/")["fingerprint_rules"], rules,
               "the grouping rules saved in the page (the bad ones were not)")

    # The key made in the page works at the Sentry door (python3-sentry-sdk)...
    sent = run_app(srv, "one", dsn=key["dsn"])
    ev = srv.wait_event(1, sent["payment"])
    h.check(ev is not None, "an event sent with the new key is stored")
    # ...until it is revoked in the page: then the door refuses it.
    browser(srv, "revoke", dict(creds, key_label=label))
    _, body = h.store_body(message="after revoke", level="error")

    def refused():
        return srv.post("/api/1/store/", body, headers=srv.auth_headers(
            key=key["public_key"])).status == 401
    h.wait_for(refused, timeout=5, what="the revoked key is refused with 401")
    h.check(not {k["label"]: k for k in srv.api_json("/api/0/projects/1/keys/")}[label]["enabled"],
            "the API lists the key as revoked")

    browser(srv, "readonly", {"member_email": "member@ui.test", "viewer_email": "viewer@ui.test",
                              "password": "user-password-123"})


@h.test
def test_ui_admin():
    """Users and API tokens in the browser, then what the API shows."""
    srv = h.Server().start()
    ids = run_app(srv, "one")
    srv.wait_event(1, ids["payment"])
    creds = {"email": "admin@localhost", "password": h.ADMIN_PASSWORD}
    new = {"new_user": "ops@ui.test", "new_password": "first-password-1",
           "reset_password": "second-password-2", "token_name": "read-only ci",
           "project_name": srv.api_json("/api/0/projects/1/")["name"]}
    out = browser(srv, "admin", dict(creds, **new))
    users = {u["email"]: u for u in srv.api_json("/api/0/users/")}
    u = users.get("ops@ui.test")
    if h.check(u, "the API lists the user added in the page"):
        h.check_eq((u["name"], u["is_admin"], u["disabled"]), ("Made In Browser", False, True),
                   "name, admin taken back, disabled")
        h.check_eq(login(srv, "ops@ui.test", new["reset_password"]).status, 401,
                   "a disabled user cannot sign in")
        srv.api("PUT", "/api/0/users/%d/" % u["id"], {"disabled": False})
        h.check_eq(login(srv, "ops@ui.test", new["new_password"]).status, 401,
                   "the first password was replaced")
        h.check_eq(login(srv, "ops@ui.test", new["reset_password"]).status, 200,
                   "the password set by the admin works")
    tok = out.get("new_token")
    tokens = {t["name"]: t for t in srv.api_json("/api/0/tokens/")}
    t = tokens.get(new["token_name"])
    if not (h.check(tok, "the page showed the secret") and
            h.check(t, "the API lists the token made in the page")):
        return
    h.check_eq((t["scopes"], t["projects"]), (["read"], [1]), "scope and project as chosen")
    h.check_eq(srv.api("GET", "/api/0/projects/1/issues/", token=tok).status, 200,
               "the token reads its project")
    h.check_eq(srv.api("PUT", "/api/0/projects/1/", {"name": "x"}, token=tok).status, 403,
               "a read token cannot change settings")
    browser(srv, "revoke_token", dict(creds, token_name=new["token_name"]))
    h.check_eq(srv.api("GET", "/api/0/projects/1/issues/", token=tok).status, 401,
               "the token revoked in the page is refused")


if __name__ == "__main__":
    h.main()
