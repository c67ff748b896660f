"""A project key deactivated while the server runs is refused within a second.

The door layer caches DSN keys in memory; it used to trust a key it had seen
valid until restart. Here the key is deactivated in the database (as an
admin would) while clients keep sending through every door; each door must
answer 401 within about a second, keep refusing, and leave other projects'
keys and the events acknowledged before the revocation alone.
"""

import json
import os
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

# The cache trusts a key for 1 s (door/keycache.h); the rest is HTTP and scheduling slack.
LIMIT_S = 1.5


def deactivate(data_dir, key):
    db = sqlite3.connect(os.path.join(data_dir, "bilor.db"), timeout=10)
    try:
        cur = db.execute("UPDATE project_keys SET active = 0 WHERE public_key = ?", (key,))
        db.commit()
        return cur.rowcount
    finally:
        db.close()


def store_body(msg):
    eid = h.new_id()
    return eid, json.dumps({"event_id": eid, "message": msg, "level": "error"}).encode()


def post_event(srv, pid, key, msg):
    eid, body = store_body(msg)
    headers = dict(srv.auth_headers(pid, key=key))
    headers["Content-Type"] = "application/json"
    r = srv.post("/api/%d/store/" % pid, body, headers=headers)
    return r.status, eid


def post_logs(srv, pid, key, msg):
    r = srv.post("/api/%d/logs" % pid, json.dumps({"message": msg, "level": "info"}).encode(),
                 headers={"Authorization": "Bearer %s" % key})
    return r.status


def post_envelope_dsn(srv, pid, key, msg):
    """An envelope that authenticates only with the dsn in its header (tunnel case)."""
    eid = h.new_id()
    hdr = {"event_id": eid, "dsn": "http://%s@127.0.0.1:%d/%d" % (key, srv.port, pid)}
    body = "\n".join([json.dumps(hdr), json.dumps({"type": "event"}),
                      json.dumps({"event_id": eid, "message": msg})]) + "\n"
    r = srv.post("/api/%d/envelope/" % pid, body.encode(),
                 headers={"Content-Type": "application/x-sentry-envelope"})
    return r.status


@h.test
def test_revoked_key_refused_within_a_second_under_load():
    srv = h.Server().start()
    pid, key = srv.add_project("revoke-me")
    other_pid, other_key = srv.add_project("stays")
    tag = h.new_id()[:8]

    st, kept_id = post_event(srv, pid, key, "before revocation %s" % tag)
    h.check_eq(st, 200, "event with the key before revocation")
    h.check_eq(post_logs(srv, pid, key, "line before %s" % tag), 200, "logs before")
    h.check_eq(post_envelope_dsn(srv, pid, key, "env before %s" % tag), 200,
               "envelope (dsn auth) before")

    # Load: two clients keep posting with the key the whole time.
    stop = threading.Event()
    revoked_at = [None]
    first_401 = {}
    after_401_ok = {}
    lock = threading.Lock()

    def client(name, send):
        n = 0
        while not stop.is_set():
            status = send(n)
            n += 1
            with lock:
                if revoked_at[0] is None:
                    continue
                if status == 401 and name not in first_401:
                    first_401[name] = time.monotonic() - revoked_at[0]
                elif name in first_401 and status == 200:
                    after_401_ok[name] = after_401_ok.get(name, 0) + 1

    senders = {
        "store": lambda n: post_event(srv, pid, key, "load %s %d" % (tag, n))[0],
        "logs": lambda n: post_logs(srv, pid, key, "load %s %d" % (tag, n)),
        "envelope-dsn": lambda n: post_envelope_dsn(srv, pid, key, "load %s %d" % (tag, n)),
    }
    threads = [threading.Thread(target=client, args=(name, fn), daemon=True)
               for name, fn in senders.items()]
    for t in threads:
        t.start()
    time.sleep(1.2)  # the cache has seen the key valid, several times over
    with lock:
        rows = deactivate(srv.data_dir, key)
        revoked_at[0] = time.monotonic()
    h.check_eq(rows, 1, "key deactivated in the database")
    time.sleep(LIMIT_S + 1.0)
    stop.set()
    for t in threads:
        t.join(30)

    for name in senders:
        took = first_401.get(name)
        h.check(took is not None and took <= LIMIT_S,
                "%s door: first 401 %s after the revocation (limit %.1f s)"
                % (name, "never" if took is None else "%.2f s" % took, LIMIT_S))
        h.check_eq(after_401_ok.get(name, 0), 0, "%s door: no 200 after the first 401" % name)

    # Still refused, with the reason; the other project is unaffected.
    r = srv.post("/api/%d/store/" % pid, store_body("after")[1],
                 headers=srv.auth_headers(pid, key=key))
    h.check_eq(r.status, 401, "store after revocation")
    h.check_in("revoked", r.json().get("error", ""), "401 names the reason")
    st, other_id = post_event(srv, other_pid, other_key, "other project %s" % tag)
    h.check_eq(st, 200, "another project's key still works")
    # What was acknowledged before the revocation is kept.
    h.check(srv.wait_event(pid, kept_id) is not None, "event acknowledged before is stored")
    h.check(srv.wait_event(other_pid, other_id) is not None, "other project's event stored")


if __name__ == "__main__":
    h.main()
