"""GELF socket doors driven by graypy (Debian's python3-graypy, unmodified).

--gelf-udp and --gelf-tcp bound to project 1. graypy's GELFUDPHandler sends
a small message (zlib, one datagram) and one larger than its chunk size
(compressed, then split into chunks that Bilor reassembles);
GELFTCPHandler sends NUL-delimited JSON. Each arrives with its host, level,
logger (GELF facility) and the `extra=` fields as attributes. Raw datagrams
check the protocols.md §3.5 vectors: gzip, out-of-order chunks, "_id"
dropped, the level clamped, a blank host refused (counted).
"""

import binascii
import gzip
import os
import socket
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

CLIENT = r"""
import logging, os, sys, graypy
udp, tcp, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
log = logging.getLogger("gtest")
log.setLevel(logging.DEBUG)
u = graypy.GELFUDPHandler("127.0.0.1", udp)
log.addHandler(u)
log.warning("small udp " + tag, extra={"request_id": "abc", "count": 3})
big = "big udp " + tag + " " + os.urandom(3000).hex()  # zlib keeps ~3000 bytes: 3 chunks
log.error(big, extra={"chunked": "yes"})
log.removeHandler(u)
t = graypy.GELFTCPHandler("127.0.0.1", tcp)
log.addHandler(t)
log.info("tcp one " + tag, extra={"order": "A-17"})
log.debug("tcp two " + tag)
t.close()
print(len(big))
"""


def gelf_python():
    for c in [sys.executable, "/usr/bin/python3"]:
        if c and os.path.exists(c) and subprocess.run(
                [c, "-c", "import graypy"], capture_output=True, timeout=30).returncode == 0:
            return c
    return None


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def by_prefix(srv, pid=1):
    """Log lines and (error levels become issues) their event documents, by message."""
    got = {e.get("message"): e for e in srv.logs(pid)}
    for issue in srv.issues(pid):
        for row in srv.issue_events(issue["id"]):
            doc = srv.event(pid, row["event_id"])
            if doc is not None:
                got[doc.get("message")] = doc
    return got


def find(got, prefix):
    for k, v in got.items():
        if k and k.startswith(prefix):
            return v
    return None


def wait_prefixes(srv, prefixes):
    def ok():
        got = by_prefix(srv)
        return all(find(got, p) is not None for p in prefixes)
    h.wait_for(ok, what="messages %s" % ", ".join(prefixes))
    return by_prefix(srv)


def start():
    up, tp = free_udp_port(), h.free_port()
    srv = h.Server(args=["--gelf-udp", "127.0.0.1:%d=1" % up,
                         "--gelf-tcp", "127.0.0.1:%d=1" % tp]).start()
    return srv, up, tp


@h.test
def test_graypy_udp_chunked_and_tcp():
    py = gelf_python()
    srv, up, tp = start()
    tag = h.new_id()[:8]
    r = h.run([py, "-c", CLIENT, str(up), str(tp), tag], timeout=60)
    h.check_eq(r.returncode, 0, "graypy client: %s" % r.stderr)
    names = ["small udp " + tag, "big udp " + tag, "tcp one " + tag, "tcp two " + tag]
    got = wait_prefixes(srv, names)
    host = socket.gethostname()

    e = find(got, names[0])
    h.check_eq(e.get("level"), "warning", "graypy WARNING (4)")
    h.check_eq(e.get("logger"), "gtest", "GELF facility (graypy: logger name) is the logger")
    h.check_eq(e.get("server_name"), host, "host")
    a = e.get("attributes", {})
    h.check_eq(a.get("request_id"), "abc", "_request_id as an attribute")
    h.check_eq(a.get("count"), 3, "_count keeps its number type")
    h.check("id" not in a, "_id never appears")
    h.check_in("file", a, "deprecated file field kept")

    e = find(got, names[1])
    h.check_eq(len(e.get("message", "")), int(r.stdout.strip() or 0),
               "the chunked message is whole")
    h.check_eq(e.get("level"), "error", "graypy ERROR (3)")
    h.check_eq(e.get("attributes", {}).get("chunked"), "yes", "attribute of the chunked message")

    e = find(got, names[2])
    h.check_eq(e.get("level"), "info", "graypy INFO (6) over TCP")
    h.check_eq(e.get("attributes", {}).get("order"), "A-17", "TCP attribute")
    e = find(got, names[3])
    h.check_eq(e.get("level"), "debug", "graypy DEBUG (7) over TCP")


def chunk(mid, seq, count, data):
    return b"\x1e\x0f" + mid + bytes([seq, count]) + data


@h.test
def test_vectors():
    srv, up, tp = start()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    v1 = (b'{"version":"1.1","host":"web-1","short_message":"v1 plain","timestamp":1714564800.5,'
          b'"level":3,"_user_id":42,"_id":"x"}')
    s.sendto(v1, ("127.0.0.1", up))
    s.sendto(gzip.compress(v1.replace(b"v1 plain", b"v2 gzip")), ("127.0.0.1", up))
    s.sendto(zlib.compress(v1.replace(b"v1 plain", b"v2 zlib"), 1), ("127.0.0.1", up))
    # V3: two chunks of zlib data, the second sent first.
    c0 = binascii.unhexlify("789c6d8a410a80201405eff2d616483b2f235a8f122cc96f164477cff6cd6e86"
                            "b9519925a40d06bad750")
    c1 = binascii.unhexlify("58929426277df7a92c2917bb52c4cd6cfdfaa16d9195116650b099fb4129364c"
                            "6d777ec4f302cce222f8")
    mid = binascii.unhexlify("0102030405060708")
    s.sendto(chunk(mid, 1, 2, c1), ("127.0.0.1", up))
    s.sendto(chunk(mid, 0, 2, c0), ("127.0.0.1", up))
    # V4: a count of 129 is refused.
    s.sendto(chunk(b"\x09" * 8, 0, 129, b"{}"), ("127.0.0.1", up))
    # V7: level 25 clamped/translated, blank host refused, message without short_message.
    s.sendto(b'{"host":"h","short_message":"v7 level","level":25,"_stack_info":null}',
             ("127.0.0.1", up))
    s.sendto(b'{"host":"","short_message":"v7 blank host"}', ("127.0.0.1", up))
    s.sendto(b'{"host":"h","message":"v7 message field"}', ("127.0.0.1", up))
    # V5 over TCP, split across two sends.
    t = socket.create_connection(("127.0.0.1", tp))
    stream = (b'{"version":"1.1","host":"a","short_message":"v5 one"}\0'
              b'{"version":"1.1","host":"a","short_message":"v5 two"}\0')
    t.sendall(stream[:30])
    t.sendall(stream[30:])
    t.close()
    got = wait_prefixes(srv, ["v1 plain", "v2 gzip", "v2 zlib", "xxxxxxxxxxxxxxxxxxxx",
                              "v7 level", "v7 message field", "v5 one", "v5 two"])
    e = find(got, "v1 plain")
    h.check_eq(e.get("level"), "error", "V1 level 3")
    h.check_eq(e.get("attributes", {}).get("user_id"), 42, "V1 user_id=42 (integer)")
    h.check("id" not in e.get("attributes", {}), "V7 _id dropped")
    e = find(got, "xxxxxxxxxxxxxxxxxxxx")
    h.check_eq(e.get("attributes", {}).get("request_id"), "abc", "V3 reassembled")
    h.check_eq(find(got, "v7 level").get("level"), "info", "V7 level 25 is info (Python 25)")
    h.check("stack_info" not in find(got, "v7 level").get("attributes", {}), "null skipped")
    h.check(find(got, "v7 blank host") is None, "V7 blank host refused")
    m = srv.metrics()
    h.check(h.metric_sum(m, "bilor_socket_dropped_total", door="gelf") >= 1,
            "the bad chunk is counted")
    h.check(h.metric_sum(m, "bilor_events_rejected_total", reason="malformed") >= 1,
            "the blank host is counted")


if __name__ == "__main__":
    if gelf_python() is None:
        h.skip_all("python3-graypy is not installed")
    h.main()
