"""Transport and headers (issue 8): security headers on API and ingest
answers, HTTPS with a self-signed certificate (openssl from Debian) for the
API, raw ingest and python3-sentry-sdk, and --trusted-proxy's validation.
"""

import json
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

CSP_NO_INLINE = "unsafe-inline"


def check_common(r, what):
    h.check_eq(r.header("x-content-type-options"), "nosniff", "%s: nosniff" % what)
    h.check_eq(r.header("referrer-policy"), "same-origin", "%s: Referrer-Policy" % what)


@h.test
def test_security_headers():
    srv = h.Server().start()
    pid, key = srv.add_project("headers")
    r = srv.api("GET", "/api/0/projects/")
    h.check_eq(r.status, 200, "API")
    check_common(r, "API")
    h.check_eq(r.header("x-frame-options"), "DENY", "API: X-Frame-Options")
    csp = r.header("content-security-policy") or ""
    h.check("script-src 'self'" in csp and CSP_NO_INLINE not in csp
            and "frame-ancestors 'none'" in csp, "API: CSP %r" % csp)
    r = srv.api("GET", "/api/0/projects/999/keys/")
    h.check_eq(r.status, 404, "API 404")
    check_common(r, "API 404")
    h.check_eq(r.header("x-frame-options"), "DENY", "API 404: X-Frame-Options")

    hdrs = dict(srv.auth_headers(pid, key=key))
    hdrs["Content-Type"] = "application/json"
    r = srv.post("/api/%d/store/" % pid, json.dumps({"message": "hi"}).encode(), headers=hdrs)
    h.check_eq(r.status, 200, "ingest")
    check_common(r, "ingest")
    h.check_eq(r.header("x-frame-options"), None, "ingest (CORS door): no X-Frame-Options")
    h.check_eq(r.header("access-control-allow-origin"), "*", "ingest keeps CORS")
    r = srv.post("/api/%d/store/" % pid, b"{}", headers={"Content-Type": "application/json"})
    h.check_eq(r.status, 401, "ingest refusal")
    check_common(r, "ingest refusal")
    r = srv.get("/metrics")
    check_common(r, "metrics")
    srv.stop()


SDK_TLS = r'''
import json, sys
import sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], ca_certs=sys.argv[2], default_integrations=False)
eid = sentry_sdk.capture_message("over https", level="error")
sentry_sdk.flush(timeout=10)
print(json.dumps({"id": eid}))
'''


@h.test
def test_https_with_self_signed_certificate():
    tmp = h.mkdtemp()
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    r = h.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
               "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
               "-keyout", key, "-out", cert])
    if r.returncode != 0:
        h.skip_all("openssl cannot make a certificate: %s" % r.stderr[-500:])
    ctx = ssl.create_default_context(cafile=cert)
    srv = h.Server(args=["--tls-cert", cert, "--tls-key", key])
    srv.tls_context = ctx
    srv.start()
    h.check(srv.base.startswith("https://"), "served over https")
    r = srv.api("GET", "/api/0/projects/")
    h.check_eq(r.status, 200, "API over https (certificate verified)")
    h.check(r.json()[0]["dsn"].startswith("https://"), "DSNs say https: %r" % r.json()[0]["dsn"])
    pid, pkey = srv.add_project("tls")
    hdrs = dict(srv.auth_headers(pid, key=pkey))
    hdrs["Content-Type"] = "application/json"
    eid = h.new_id()
    r = srv.post("/api/%d/store/" % pid,
                 json.dumps({"event_id": eid, "message": "raw https"}).encode(), headers=hdrs)
    h.check_eq(r.status, 200, "ingest over https")
    srv.wait_event(pid, eid)
    # Plain HTTP to the TLS port gets no HTTP answer.
    try:
        plain = h.http("GET", "http://127.0.0.1:%d/readyz" % srv.port, timeout=3)
        h.check(plain.status != 200, "plain HTTP is not served: %s" % plain.status)
    except Exception as e:  # noqa: BLE001 - any failure to talk plain HTTP is right
        h.note("plain HTTP refused: %s" % type(e).__name__)
    py = h.sdk_python()
    if py is not None:
        dsn = "https://%s@127.0.0.1:%d/%d" % (pkey, srv.port, pid)
        r = h.run([py, "-c", SDK_TLS, dsn, cert], timeout=60)
        h.check_eq(r.returncode, 0, "sdk over https: %s" % r.stderr[-1500:])
        sid = json.loads(r.stdout.strip().splitlines()[-1])["id"]
        srv.wait_event(pid, sid)
    srv.stop()

    # Only one of the pair, or an unreadable file: a clear start-up error.
    for args in (["--tls-cert", cert], ["--tls-cert", cert, "--tls-key", "/nonexistent.pem"]):
        r = h.run([h.BIN, "serve", "--listen", "127.0.0.1:%d" % h.free_port(),
                   "--data-dir", os.path.join(tmp, "d%d" % len(args))] + args, timeout=30)
        h.check(r.returncode != 0 and "tls" in (r.stderr + r.stdout).lower(),
                "bad TLS options refused: %r" % (r.stderr + r.stdout)[-300:])


@h.test
def test_trusted_proxy_must_be_an_address():
    tmp = h.mkdtemp()
    r = h.run([h.BIN, "serve", "--listen", "127.0.0.1:%d" % h.free_port(),
               "--data-dir", os.path.join(tmp, "d"), "--trusted-proxy", "not-an-ip"], timeout=30)
    h.check(r.returncode != 0 and "trusted-proxy" in r.stderr, "bad proxy: %r" % r.stderr[-300:])
    srv = h.Server(args=["--trusted-proxy", "127.0.0.1"]).start()
    pid, key = srv.add_project("proxied")
    hdrs = dict(srv.auth_headers(pid, key=key))
    hdrs["X-Forwarded-For"] = "203.0.113.9, 198.51.100.7"
    h.check_eq(srv.post("/api/%d/store/" % pid, b'{"message":"via proxy"}',
                        headers=hdrs).status, 200, "a request through the proxy")
    srv.stop()


if __name__ == "__main__":
    h.main()
