"""Web sessions end to end: sign-in, cookie flags, CSRF, sign-out, expiry, password
change, login throttling, and the /auth/me contract the web UI builds on."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

PASSWORD = "session-password-1"


def add_user(srv, email, password=PASSWORD, admin=False):
    args = [h.BIN, "user", "add", email, "--password-stdin", "--data-dir", srv.data_dir]
    if admin:
        args.append("--admin")
    r = h.run(args, input=password + "\n")
    h.check_eq(r.returncode, 0, "bilor user add %s: %s" % (email, r.stderr))
    return int(re.search(r"id: (\d+)", r.stdout).group(1))


def login(srv, email, password):
    return srv.request("POST", "/api/0/auth/login", body=json.dumps(
        {"email": email, "password": password}), headers={"Content-Type": "application/json"})


def session_of(r):
    return r.header("set-cookie").split(";")[0], r.json()["csrf_token"]


def as_session(srv, method, path, sess, body=None, csrf=True):
    cookie, token = sess
    hdrs = {"Cookie": cookie}
    if csrf:
        hdrs["X-CSRF-Token"] = token
    if body is not None:
        hdrs["Content-Type"] = "application/json"
        body = json.dumps(body)
    return srv.request(method, path, body=body, headers=hdrs)


@h.test
def test_login_cookie_csrf_logout():
    srv = h.Server().start()
    uid = add_user(srv, "Ann@Example.test")
    r = login(srv, "ann@example.test", PASSWORD)
    h.check_eq(r.status, 200, "login answers 200")
    body = r.json()
    h.check_eq(body["user"]["id"], uid, "login answers the user")
    h.check_eq(body["user"]["email"], "ann@example.test", "emails are lowercased")
    h.check_eq(body["user"]["is_admin"], False, "not an admin")
    h.check(re.fullmatch(r"[0-9a-f]{32}", body["csrf_token"] or ""), "a CSRF token")
    cookie = r.header("set-cookie")
    h.check(re.match(r"bilor_session=[0-9a-f]{64};", cookie), "256-bit session id: %s" % cookie)
    for flag in ("HttpOnly", "SameSite=Lax", "Path=/"):
        h.check_in(flag, cookie, "cookie flag %s" % flag)
    h.check("Secure" not in cookie, "no Secure flag over plain http")
    sess = session_of(r)
    sid = sess[0].split("=", 1)[1]
    # The id is stored hashed: the data directory never holds it.
    for root, _, files in os.walk(srv.data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                h.check(sid.encode() not in fh.read(), "session id not stored in %s" % f)
    me = as_session(srv, "GET", "/api/0/auth/me", sess, csrf=False)
    h.check_eq(me.status, 200, "/auth/me with the cookie")
    h.check_eq(me.json()["user"]["email"], "ann@example.test", "/auth/me user")
    h.check_eq(me.json()["csrf_token"], sess[1], "/auth/me carries the session's CSRF token")
    h.check_eq(srv.get("/api/0/auth/me").status, 401, "/auth/me without a cookie")
    # CSRF: a state-changing request by cookie needs the header, and the right one.
    r = as_session(srv, "POST", "/api/0/tokens/", sess, body={"name": "x"}, csrf=False)
    h.check_eq(r.status, 403, "POST without X-CSRF-Token refused")
    bad = (sess[0], "0" * 32)
    r = as_session(srv, "POST", "/api/0/tokens/", bad, body={"name": "x"})
    h.check_eq(r.status, 403, "POST with a wrong X-CSRF-Token refused")
    h.check_eq(len(srv.api_json("/api/0/tokens/")), 1, "nothing was created (admin's token only)")
    r = as_session(srv, "POST", "/api/0/tokens/", sess, body={"name": "x"})
    h.check_eq(r.status, 201, "POST with the CSRF token works")
    # Bearer requests are exempt from CSRF.
    r = srv.api("PUT", "/api/0/projects/1/", {"issue_level": "error"})
    h.check_eq(r.status, 200, "bearer PUT without CSRF header works")
    # Logout ends the session for good.
    r = as_session(srv, "POST", "/api/0/auth/logout", sess)
    h.check_eq(r.status, 204, "logout")
    h.check_in("Max-Age=0", r.header("set-cookie") or "", "logout clears the cookie")
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", sess).status, 401, "after logout")


@h.test
def test_secure_cookie_with_https_public_url():
    srv = h.Server(args=["--public-url", "https://bilor.example.test"]).start()
    r = login(srv, "admin@localhost", h.ADMIN_PASSWORD)
    h.check_eq(r.status, 200, "first start's admin signs in with the printed email")
    h.check_eq(r.json()["user"]["is_admin"], True, "the first start's admin is an admin")
    h.check_eq(r.json()["user"]["id"], 1, "and user 1")
    h.check_in("Secure", r.header("set-cookie"), "Secure flag with an https public URL")


@h.test
def test_admin_email_from_environment():
    srv = h.Server(env={"BILOR_ADMIN_EMAIL": "Boss@Example.test"}).start()
    h.check_in("email:     boss@example.test", srv.log_text(), "first start prints the email")
    r = login(srv, "BOSS@example.test", h.ADMIN_PASSWORD)
    h.check_eq(r.status, 200, "the admin signs in with BILOR_ADMIN_EMAIL, any case")
    h.check_eq(r.json()["user"]["id"], 1, "user 1")


@h.test
def test_expiry():
    srv = h.Server(args=["--session-idle", "2", "--session-max", "4"]).start()
    add_user(srv, "exp@example.test")
    sess = session_of(login(srv, "exp@example.test", PASSWORD))
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", sess).status, 200, "fresh session")
    time.sleep(3)
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", sess).status, 401, "idle 3 s > 2 s")
    # Absolute expiry: kept busy every second, it still ends after 4 s.
    sess = session_of(login(srv, "exp@example.test", PASSWORD))
    start = time.time()
    last = 200
    while time.time() - start < 6 and last == 200:
        last = as_session(srv, "GET", "/api/0/auth/me", sess).status
        time.sleep(0.7)
    h.check_eq(last, 401, "a busy session ends at --session-max")
    h.check(time.time() - start >= 3.5, "not before --session-max (%.1f s)" % (time.time() - start))


@h.test
def test_password_change_ends_other_sessions():
    srv = h.Server().start()
    add_user(srv, "pw@example.test")
    a = session_of(login(srv, "pw@example.test", PASSWORD))
    b = session_of(login(srv, "pw@example.test", PASSWORD))
    r = as_session(srv, "POST", "/api/0/auth/password", a,
                   body={"current_password": "wrong-password", "new_password": "another-pass-2"})
    h.check_eq(r.status, 403, "a wrong current password is refused")
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", b).status, 200, "b still alive")
    r = as_session(srv, "POST", "/api/0/auth/password", a,
                   body={"current_password": PASSWORD, "new_password": "another-pass-2"})
    h.check_eq(r.status, 204, "password changed")
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", a).status, 200, "the changing session stays")
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", b).status, 401, "the other one ended")
    h.check_eq(login(srv, "pw@example.test", PASSWORD).status, 401, "old password refused")
    h.check_eq(login(srv, "pw@example.test", "another-pass-2").status, 200, "new one works")
    # The CLI's passwd ends every session of the user.
    r = h.run([h.BIN, "user", "passwd", "pw@example.test", "--password-stdin", "--data-dir",
               srv.data_dir], input="third-pass-33\n")
    h.check_eq(r.returncode, 0, "bilor user passwd")
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", a).status, 401, "CLI passwd ends sessions")


@h.test
def test_admin_sets_password():
    """An instance admin's reset (PUT /users/{id}/ password): the old password and every
    session of the user end, a bad one is a 400 that changes nothing."""
    srv = h.Server().start()
    uid = add_user(srv, "reset@example.test")
    a = session_of(login(srv, "reset@example.test", PASSWORD))
    for bad in ("short", 12345, "x" * 1025):
        r = srv.api("PUT", "/api/0/users/%d/" % uid, {"password": bad})
        h.check_eq(r.status, 400, "a bad password is refused: %r" % (bad,))
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", a).status, 200, "nothing changed")
    h.check_eq(srv.api("PUT", "/api/0/users/%d/" % uid, {"password": "by-the-admin-1"},
                       token=None).status, 200, "the admin sets a password")
    h.check_eq(as_session(srv, "GET", "/api/0/auth/me", a).status, 401, "their session ended")
    h.check_eq(login(srv, "reset@example.test", PASSWORD).status, 401, "old password refused")
    h.check_eq(login(srv, "reset@example.test", "by-the-admin-1").status, 200, "new one works")
    b = session_of(login(srv, "reset@example.test", "by-the-admin-1"))
    r = as_session(srv, "PUT", "/api/0/users/%d/" % uid, b, body={"password": "self-made-22"})
    h.check_eq(r.status, 403, "a user who is not an instance admin cannot use the reset")
    h.check_eq(srv.api("PUT", "/api/0/users/999/", {"password": "nobody-has-it"}).status, 404,
               "an unknown user is a 404")


@h.test
def test_throttling():
    srv = h.Server().start()
    add_user(srv, "victim@example.test")
    add_user(srv, "other@example.test")
    times = {}
    for i in range(5):
        t0 = time.time()
        r = login(srv, "victim@example.test", "wrong-%d" % i)
        times.setdefault("wrong", []).append(time.time() - t0)
        h.check_eq(r.status, 401, "bad password %d" % (i + 1))
        h.check_eq(r.json(), {"error": "wrong email or password"}, "one message")
    t0 = time.time()
    r = login(srv, "nobody@example.test", "whatever")
    times["unknown"] = time.time() - t0
    h.check_eq(r.status, 401, "unknown email")
    h.check_eq(r.json(), {"error": "wrong email or password"}, "same message for unknown email")
    # The same argon2 cost either way (loose bound: a shared, noisy machine).
    avg = sum(times["wrong"]) / len(times["wrong"])
    h.note("wrong password %.3f s on average, unknown email %.3f s" % (avg, times["unknown"]))
    h.check(times["unknown"] > avg * 0.3, "unknown email is not answered much faster")
    r = login(srv, "victim@example.test", PASSWORD)
    h.check_eq(r.status, 429, "6th attempt within 15 min is throttled, even the right password")
    first = int(r.header("retry-after") or "0")
    h.check(first >= 1, "Retry-After given (%s)" % first)
    r = login(srv, "other@example.test", PASSWORD)
    h.check_eq(r.status, 200, "another account still signs in from the same address")


@h.test
def test_project_role_follows_token_scopes():
    """The listing's role is what the caller may do: a token's scopes cap its user's role."""
    srv = h.Server().start()
    for scopes, want in ((["read"], "viewer"), (["write"], "member"), (["admin"], "admin")):
        r = srv.api("POST", "/api/0/tokens/", {"name": "scoped " + scopes[0], "scopes": scopes})
        if not h.check_eq(r.status, 201, "token with scopes %s" % scopes):
            continue
        tok = r.json()["token"]
        roles = {p["id"]: p["role"] for p in srv.api_json("/api/0/projects/", token=tok)}
        h.check_eq(roles.get(1), want, "role of a %s token's admin user" % scopes[0])
        h.check_eq(srv.api("PUT", "/api/0/projects/1/", {"name": "x"}, token=tok).status,
                   200 if want == "admin" else 403, "settings as the role says")


if __name__ == "__main__":
    h.main()
