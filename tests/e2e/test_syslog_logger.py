"""Syslog socket doors driven by util-linux `logger` (unmodified, from Debian).

--syslog-udp and --syslog-tcp bound to project 1: logger sends RFC 5424 and
RFC 3164 over UDP, TCP with LF framing and TCP with octet counting, with
structured data; the lines come back through /api/0/projects/1/logs/ with
the right host, app (logger), level and SD params as attributes. Then the
key requirement (--socket-require-key): a line without a key of the project
is dropped and counted, one with [bilor@0 key="..."] arrives without the key
showing. Over-long TCP frames are skipped and the stream goes on.
"""

import os
import shutil
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

LOGGER = shutil.which("logger")


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def logger(*args):
    r = h.run([LOGGER] + list(args), timeout=30)
    h.check_eq(r.returncode, 0, "logger %s: %s" % (" ".join(args), r.stderr))


def by_message(srv, pid=1):
    """Log lines and, for error levels (which become issues), their event documents."""
    got = {e.get("message"): e for e in srv.logs(pid)}
    for issue in srv.issues(pid):
        if issue.get("title") in got:
            continue
        for row in srv.issue_events(issue["id"]):
            doc = srv.event(pid, row["event_id"])
            if doc is not None:
                got[doc.get("message")] = doc
    return got


def wait_lines(srv, words, pid=1):
    def ok():
        have = by_message(srv, pid)
        return all(w in have for w in words)
    h.wait_for(ok, what="lines %s" % ", ".join(words))
    return by_message(srv, pid)


def start(extra=()):
    up, tp = free_udp_port(), h.free_port()
    srv = h.Server(args=["--syslog-udp", "127.0.0.1:%d=1" % up,
                         "--syslog-tcp", "127.0.0.1:%d=1" % tp,
                         "--socket-max-frame", "4096"] + list(extra)).start()
    return srv, up, tp


@h.test
def test_logger_udp_and_tcp():
    srv, up, tp = start()
    tag = h.new_id()[:8]
    udp5424 = "udp5424 " + tag
    udp3164 = "udp3164 " + tag
    tcplf = "tcplf " + tag
    tcpoc = "tcpoc " + tag
    logger("-n", "127.0.0.1", "-P", str(up), "-d", "--rfc5424", "-t", "checkout",
           "-p", "local0.err", "--sd-id", "zoo@123", "--sd-param", 'tiger="hungry"',
           "--msgid", "PAY01", "-i", udp5424)
    logger("-n", "127.0.0.1", "-P", str(up), "-d", "--rfc3164", "-t", "cron",
           "-p", "user.warning", udp3164)
    logger("-n", "127.0.0.1", "-P", str(tp), "-T", "--rfc5424", "-t", "web",
           "-p", "daemon.debug", tcplf)
    logger("-n", "127.0.0.1", "-P", str(tp), "-T", "--octet-count", "--rfc5424", "-t", "api",
           "-p", "auth.crit", "--sd-id", "order@32473", "--sd-param", 'id="A-17"',
           "--sd-param", 'note="quote \\" and \\] done"', tcpoc)
    got = wait_lines(srv, [udp5424, udp3164, tcplf, tcpoc])
    host = socket.gethostname()

    e = got[udp5424]
    h.check_eq(e.get("logger"), "checkout", "RFC 5424 app-name is the logger")
    h.check_eq(e.get("level"), "error", "local0.err is error")
    h.check_eq(e.get("server_name"), host, "hostname from the header")
    a = e.get("attributes", {})
    h.check_eq(a.get("zoo@123.tiger"), "hungry", "SD param as an attribute")
    h.check_eq(a.get("msgid"), "PAY01", "msgid attribute")
    h.check_eq(a.get("facility"), "local0", "facility attribute")
    h.check(str(a.get("procid", "")).isdigit(), "procid attribute (-i): %r" % a.get("procid"))
    h.check_in("timeQuality.tzKnown", a, "logger's own timeQuality SD element")

    e = got[udp3164]
    h.check_eq(e.get("logger"), "cron", "BSD tag is the logger")
    h.check_eq(e.get("level"), "warning", "user.warning")
    h.check_eq(e.get("attributes", {}).get("facility"), "user", "facility user")

    e = got[tcplf]
    h.check_eq(e.get("logger"), "web", "TCP LF framing")
    h.check_eq(e.get("level"), "debug", "daemon.debug")
    h.check_eq(e.get("attributes", {}).get("facility"), "daemon", "facility daemon")

    e = got[tcpoc]
    h.check_eq(e.get("logger"), "api", "TCP octet counting")
    h.check_eq(e.get("level"), "fatal", "auth.crit is fatal")
    a = e.get("attributes", {})
    h.check_eq(a.get("order@32473.id"), "A-17", "SD param over TCP")
    h.check_eq(a.get("order@32473.note"), 'quote " and ] done', "SD escapes undone")

    # The event document shows the message as received.
    full = srv.event(1, got[tcpoc]["event_id"])
    h.check(full.get("raw", "").startswith("<"), "raw syslog message kept: %r" % full.get("raw"))
    h.check_eq(full.get("attributes", {}).get("order@32473.id"), "A-17",
               "attributes in the event document")
    m = srv.metrics()
    h.check(h.metric_sum(m, "bilor_events_accepted_total", door="syslog") >= 4,
            "syslog lines counted as accepted")


@h.test
def test_tcp_oversize_frame_skipped():
    srv, _, tp = start()
    tag = h.new_id()[:8]
    s = socket.create_connection(("127.0.0.1", tp))
    big = "<13>1 - host app - - - " + "x" * 10000
    s.sendall(("<13>1 - host app - - - before %s\n" % tag).encode()
              + big.encode() + b"\n"
              + ("%d <13>1 - host app - - - after %s" % (len("<13>1 - host app - - - after ")
                                                          + len(tag), tag)).encode())
    s.close()
    wait_lines(srv, ["before " + tag, "after " + tag])
    m = srv.metrics()
    h.check_eq(h.metric_sum(m, "bilor_socket_oversize_total", door="syslog"), 1,
               "the over-long frame is counted")


@h.test
def test_require_key():
    srv, up, _ = start(["--socket-require-key", "1"])
    key = srv.key(1)
    tag = h.new_id()[:8]
    logger("-n", "127.0.0.1", "-P", str(up), "-d", "--rfc5424", "-t", "nokey", "nokey " + tag)
    logger("-n", "127.0.0.1", "-P", str(up), "-d", "--rfc5424", "-t", "badkey",
           "--sd-id", "bilor@0", "--sd-param", 'key="%s"' % ("0" * 32), "badkey " + tag)
    logger("-n", "127.0.0.1", "-P", str(up), "-d", "--rfc5424", "-t", "withkey",
           "--sd-id", "bilor@0", "--sd-param", 'key="%s"' % key, "withkey " + tag)
    got = wait_lines(srv, ["withkey " + tag])
    h.check("nokey " + tag not in got, "a line without a key is dropped")
    h.check("badkey " + tag not in got, "a line with another key is dropped")
    a = got["withkey " + tag].get("attributes", {})
    h.check("bilor@0.key" not in a, "the key is not shown as an attribute: %r" % a)
    m = srv.metrics()
    h.check_eq(h.metric_sum(m, "bilor_socket_dropped_total", door="syslog"), 2,
               "both refusals counted")


@h.test
def test_tcp_backpressure_loses_nothing():
    # A tiny journal budget: the TCP door is over it most of the time and must
    # stop reading rather than drop; every line arrives, once.
    tp = h.free_port()
    srv = h.Server(args=["--syslog-tcp", "127.0.0.1:%d=1" % tp,
                         "--journal-budget", "65536"]).start()
    n = 20000
    s = socket.create_connection(("127.0.0.1", tp))
    out = []
    for i in range(n):
        msg = "<14>1 - host bp - - - backpressure line %06d" % i
        out.append("%d %s" % (len(msg), msg))
    s.sendall("".join(out).encode())
    s.close()

    def digested():
        m = srv.metrics()
        return h.metric_sum(m, "bilor_events_digested_total") >= n
    h.wait_for(digested, timeout=120, what="%d lines digested" % n)
    m = srv.metrics()
    h.check_eq(h.metric_sum(m, "bilor_events_accepted_total", door="syslog"), n,
               "every line accepted exactly once")
    h.check_eq(h.metric_sum(m, "bilor_socket_dropped_total", door="syslog"), 0, "none dropped")
    h.check(h.metric_sum(m, "bilor_events_rejected_total", reason="backlog") > 0,
            "the budget was hit (backpressure exercised)")
    got = [e.get("message") for e in srv.logs(1, limit=1000)]
    h.check_eq(len(got), n, "every line stored")
    h.check_eq(len(set(got)), n, "each line once")


if __name__ == "__main__":
    if LOGGER is None:
        h.skip_all("util-linux logger is not installed")
    h.main()
