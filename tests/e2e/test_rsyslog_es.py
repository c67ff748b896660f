"""rsyslog (Debian's rsyslog-elasticsearch, unmodified) with omelasticsearch in
bulk mode against Bilor's Elasticsearch door (/es/).

The test starts its own rsyslogd (foreground, its own config and work
directory, an imtcp input on a loopback port) whose action posts bulk
requests to http://127.0.0.1:PORT/es/_bulk with the project key as the Basic
auth password; lines written to it with util-linux `logger` arrive with
rsyslog's host, the level of their priority and the facility as an attribute.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
LOGGER = shutil.which("logger")
MODULE = "/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so"

_procs = []


def start_rsyslog(es_port, key):
    tmp = h.mkdtemp("bilor-rsyslog-es-")
    inport = h.free_port()
    conf = os.path.join(tmp, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write("""
global(workDirectory="%(tmp)s")
module(load="imtcp")
module(load="omelasticsearch")
input(type="imtcp" address="127.0.0.1" port="%(inport)d" ruleset="es")
ruleset(name="es") {
  action(type="omelasticsearch" server="http://127.0.0.1:%(port)d/es" bulkmode="on"
         searchIndex="rsyslog-e2e" uid="rsyslog" pwd="%(key)s"
         errorfile="%(tmp)s/es-errors.json")
}
""" % {"tmp": tmp, "inport": inport, "port": es_port, "key": key})
    log = open(os.path.join(tmp, "rsyslogd.log"), "wb")
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(tmp, "pid")],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=h._die_with_parent)
    _procs.append(proc)

    def up():
        if proc.poll() is not None:
            raise AssertionError("rsyslogd exited: %s" % open(log.name).read())
        try:
            socket.create_connection(("127.0.0.1", inport), timeout=1).close()
            return True
        except OSError:
            return False
    h.wait_for(up, what="rsyslogd's input")
    return inport, tmp


def send(port, msg, tag, prio):
    r = h.run([LOGGER, "-n", "127.0.0.1", "-P", str(port), "-T", "-t", tag, "-p", prio, msg])
    h.check_eq(r.returncode, 0, "logger: %s" % r.stderr)


@h.test
def test_omelasticsearch_bulk():
    srv = h.Server().start()
    inport, tmp = start_rsyslog(srv.port, srv.key(1))
    tag = h.new_id()[:8]
    send(inport, "es one " + tag, "shop", "local3.warning")
    send(inport, "es two " + tag, "shop", "local3.info")
    want = {"es one " + tag, "es two " + tag}

    def arrived():
        logs = srv.api_json("/api/0/projects/1/logs/")
        got = {(e.get("message") or "").strip(): e for e in logs}
        return got if want <= set(got) else None
    got = h.wait_for(arrived, timeout=60, what="rsyslog's bulk lines")
    one = got["es one " + tag]
    h.check_eq(one.get("level"), "warning", "priority warning")
    h.check_eq(got["es two " + tag].get("level"), "info", "priority info")
    h.check_eq(one.get("server_name"), socket.gethostname(), "fromhost")
    attrs = one.get("attributes") or {}
    h.check_eq(attrs.get("facility"), "local3", "facility attribute")
    h.check_eq(attrs.get("_index"), "rsyslog-e2e", "the index is kept")
    h.check(not os.path.exists(os.path.join(tmp, "es-errors.json")),
            "rsyslog wrote no error file")


if __name__ == "__main__":
    if not os.path.exists(RSYSLOGD) or not LOGGER or not os.path.exists(MODULE):
        h.skip_all("rsyslog, rsyslog-elasticsearch or logger is not installed "
                   "(scripts/install-deps.sh --test)")
    try:
        h.main()
    finally:
        for p in _procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
