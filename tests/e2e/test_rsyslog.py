"""rsyslog (Debian, unmodified) forwarding to Bilor's syslog doors.

The test starts its own rsyslogd (foreground, its own config and work
directory, an imtcp input on a loopback port) and writes lines to it with
util-linux `logger`:

- omfwd over TCP with the RFC 5424 template and octet-counted framing to
  --syslog-tcp: the lines arrive with rsyslog's host, logger's tag as the
  logger and the right level.
- omrelp to --relp: Bilor is killed with SIGKILL while rsyslog sends, then
  restarted on the same data and port; rsyslog retries what it was not
  acknowledged, so every line it sent is stored (at least once; a line
  journaled whose ack the kill cut off comes twice), and lines sent after
  the restart are stored exactly once.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
LOGGER = shutil.which("logger")
MODDIR = "/usr/lib/x86_64-linux-gnu/rsyslog"

_rsyslogs = []


def start_rsyslog(action):
    tmp = h.mkdtemp("bilor-rsyslog-")
    inport = h.free_port()
    conf = os.path.join(tmp, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write("""
global(workDirectory="%(tmp)s")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port="%(inport)d" ruleset="fwd")
ruleset(name="fwd") {
%(action)s
}
""" % {"tmp": tmp, "inport": inport, "action": action})
    log = open(os.path.join(tmp, "rsyslogd.log"), "wb")
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(tmp, "pid")],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=h._die_with_parent)
    _rsyslogs.append(proc)

    def up():
        if proc.poll() is not None:
            raise AssertionError("rsyslogd exited: %s" % open(log.name).read())
        try:
            socket.create_connection(("127.0.0.1", inport), timeout=1).close()
            return True
        except OSError:
            return False
    h.wait_for(up, what="rsyslogd's input")
    return proc, inport


def stop_rsyslogs():
    for p in _rsyslogs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def send(port, msg, tag="app", prio="user.notice"):
    r = h.run([LOGGER, "-n", "127.0.0.1", "-P", str(port), "-T", "-t", tag, "-p", prio, msg])
    h.check_eq(r.returncode, 0, "logger: %s" % r.stderr)


def messages(srv, pid=1):
    return [e.get("message") for e in srv.logs(pid, limit=1000)]


@h.test
def test_omfwd_tcp_rfc5424():
    tp = h.free_port()
    srv = h.Server(args=["--syslog-tcp", "127.0.0.1:%d=1" % tp]).start()
    _, inport = start_rsyslog(
        'action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" '
        'template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted")' % tp)
    tag = h.new_id()[:8]
    send(inport, "fwd one " + tag, tag="shop", prio="local3.warning")
    send(inport, "fwd two " + tag, tag="shop", prio="local3.info")
    h.wait_for(lambda: {"fwd one " + tag, "fwd two " + tag} <= set(messages(srv)),
               what="forwarded lines")
    e = [x for x in srv.logs(1) if x.get("message") == "fwd one " + tag][0]
    h.check_eq(e.get("logger"), "shop", "the tag is the logger")
    h.check_eq(e.get("level"), "warning", "local3.warning")
    h.check_eq(e.get("server_name"), socket.gethostname(), "rsyslog's host name")
    h.check_eq(e.get("attributes", {}).get("facility"), "local3", "facility")


@h.test
def test_omrelp_kill9():
    rp = h.free_port()
    srv = h.Server(args=["--relp", "127.0.0.1:%d=1" % rp]).start()
    _, inport = start_rsyslog(
        'action(type="omrelp" target="127.0.0.1" port="%d" action.resumeRetryCount="-1" '
        'template="RSYSLOG_SyslogProtocol23Format" '
        'action.resumeInterval="1" queue.type="LinkedList" queue.size="100000")' % rp)
    tag = h.new_id()[:8]
    n = 300
    first = ["relp %s %04d" % (tag, i) for i in range(n)]

    def writer():
        # One TCP connection for all lines: logger reads them from stdin.
        subprocess.run([LOGGER, "-n", "127.0.0.1", "-P", str(inport), "-T", "-t", "relp"],
                       input="\n".join(first) + "\n", text=True, timeout=120)
    t = threading.Thread(target=writer)
    t.start()
    # Kill once some lines are stored, while rsyslog is still sending.
    h.wait_for(lambda: sum(1 for m in messages(srv) if m and m.startswith("relp " + tag)) >= 20,
               interval=0.05, what="the first RELP lines")
    srv.kill9()
    t.join(120)
    time.sleep(1)
    srv.restart()
    want = set(first)

    def all_there():
        return want <= set(messages(srv))
    h.wait_for(all_there, timeout=90, what="every line rsyslog sent, after the restart")
    got = [m for m in messages(srv) if m in want]
    dups = len(got) - len(set(got))
    h.note("RELP across kill -9: %d lines sent, %d stored, %d duplicates (acks cut off)"
           % (n, len(set(got)), dups))
    h.check(dups <= 128, "duplicates bounded by rsyslog's window: %d" % dups)
    # After the restart, with nothing killed: exactly once.
    second = ["after %s %03d" % (tag, i) for i in range(50)]
    subprocess.run([LOGGER, "-n", "127.0.0.1", "-P", str(inport), "-T", "-t", "relp"],
                   input="\n".join(second) + "\n", text=True, timeout=60)
    h.wait_for(lambda: set(second) <= set(messages(srv)), what="lines after the restart")
    time.sleep(1)
    after = [m for m in messages(srv) if m in set(second)]
    h.check_eq(len(after), len(second), "lines sent after the restart are stored exactly once")
    rc, took = srv.stop()
    h.check_eq(rc, 0, "a clean stop with a RELP connection open")
    h.check(took < 5, "the RELP listener stops at once (took %.1fs)" % took)


if __name__ == "__main__":
    if LOGGER is None or not os.path.exists(RSYSLOGD) or \
            not os.path.exists(os.path.join(MODDIR, "omrelp.so")):
        h.skip_all("rsyslog, rsyslog-relp or logger is not installed")
    atexit.register(stop_rsyslogs)
    h.main()
