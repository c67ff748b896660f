"""Unit tests for bilor_logging (no server needed): python3 -m unittest test_bilor_logging"""

import contextlib
import io
import json
import logging
import math
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_logging as bl  # noqa: E402


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


class Broken:
    def __str__(self):
        raise RuntimeError("broken __str__")

    def __repr__(self):
        raise RuntimeError("broken __repr__")


class BadExc(Exception):
    def __str__(self):
        raise RuntimeError("broken exception __str__")


def record(msg="hello %s", args=("bob",), level=logging.ERROR, exc_info=None, name="app.x",
           **extra):
    rec = logging.LogRecord(name, level, __file__, 42, msg, args, exc_info, func="fn")
    rec.__dict__.update(extra)
    return rec


def raise_value_error(n):
    local_text = "x" * 5000  # noqa: F841 - read back through include_locals
    raise ValueError("bad value %d" % n)


def caught(fn, *args):
    try:
        fn(*args)
    except BaseException:  # noqa: BLE001
        return sys.exc_info()
    raise AssertionError("did not raise")


def recurse(n):
    return recurse(n + 1)


class TestDsn(unittest.TestCase):
    def test_forms(self):
        d = bl.parse_dsn("http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1")
        self.assertEqual(d.key, "0123456789abcdef0123456789abcdef")
        self.assertEqual(d.api, "http://127.0.0.1:8000/api/1/")
        self.assertEqual(d.project_id, 1)
        self.assertEqual(d.secret, "")
        d = bl.parse_dsn("https://k:s@errors.example.com/prefix/sub/42/")
        self.assertEqual((d.key, d.secret), ("k", "s"))
        self.assertEqual(d.api, "https://errors.example.com/prefix/sub/api/42/")
        d = bl.parse_dsn("http://k@[::1]:9000/7")
        self.assertEqual(d.api, "http://[::1]:9000/api/7/")

    def test_bad(self):
        for bad in ("", "nonsense", "ftp://k@h/1", "http://h/1", "http://k@h/", "http://k@h/x",
                    "http://k@h/0", "http://@h/1", None, 5):
            with self.assertRaises(ValueError, msg=repr(bad)):
                bl.parse_dsn(bad)

    def test_handler_rejects_bad_dsn_and_transport(self):
        with self.assertRaises(ValueError):
            bl.BilorHandler(dsn="http://h/1")
        with self.assertRaises(ValueError):
            bl.BilorHandler(dsn="http://k@h/1", transport="carrier-pigeon")


class TestRateLimitParsing(unittest.TestCase):
    def test_sentry_header(self):
        got = bl.parse_rate_limits("60:error;default:project:quota, 5::key")
        self.assertEqual(got, [("error", 60.0), ("default", 60.0), (None, 5.0)])

    def test_two_fields_enough_and_junk_skipped(self):
        self.assertEqual(bl.parse_rate_limits("30:error"), [("error", 30.0)])
        self.assertEqual(bl.parse_rate_limits("abc:error, -1:error, 7, , 3::org:backlog"),
                         [(None, 3.0)])
        self.assertEqual(bl.parse_rate_limits(""), [])
        self.assertEqual(bl.parse_rate_limits(None), [])
        self.assertEqual(bl.parse_rate_limits("1e99:error"), [("error", bl.MAX_WAIT)])

    def test_retry_after(self):
        self.assertEqual(bl.parse_retry_after("2"), 2.0)
        self.assertEqual(bl.parse_retry_after(" 1.5 "), 1.5)
        self.assertEqual(bl.parse_retry_after("-4"), 0.0)
        self.assertIsNone(bl.parse_retry_after("soon"))
        self.assertIsNone(bl.parse_retry_after(None))
        self.assertIsNone(bl.parse_retry_after("nan"))
        now = 1_700_000_000.0
        date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 90))
        self.assertAlmostEqual(bl.parse_retry_after(date, now=now), 90.0, delta=1.0)
        past = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now - 90))
        self.assertEqual(bl.parse_retry_after(past, now=now), 0.0)


class FakeHeaders(dict):
    def get(self, k, d=None):
        for key, v in self.items():
            if key.lower() == k.lower():
                return v
        return d


class TestLimitsState(unittest.TestCase):
    def setUp(self):
        self.h = bl.BilorHandler(dsn="http://k@127.0.0.1:9/1")

    def tearDown(self):
        self.h.close(0.1)

    def test_429_retry_after_only(self):
        self.h._update_limits(429, FakeHeaders({"Retry-After": "2"}))
        now = time.monotonic()
        self.assertEqual(self.h._blocked(now), "ratelimit_backoff")
        self.assertIsNone(self.h._blocked(now + 2.1))

    def test_bare_429_is_60s(self):
        self.h._update_limits(429, FakeHeaders())
        self.assertEqual(self.h._blocked(time.monotonic() + 59), "ratelimit_backoff")
        self.assertIsNone(self.h._blocked(time.monotonic() + 61))

    def test_sentry_header_wins_over_retry_after(self):
        self.h._update_limits(429, FakeHeaders({"Retry-After": "30",
                                                "X-Sentry-Rate-Limits": "1:error:project"}))
        now = time.monotonic()
        self.assertEqual(self.h._blocked(now + 0.5), "ratelimit_backoff")
        self.assertIsNone(self.h._blocked(now + 1.5))

    def test_other_category_does_not_block_events(self):
        self.h._update_limits(200, FakeHeaders({"X-Sentry-Rate-Limits":
                                                "60:transaction;session:project"}))
        self.assertIsNone(self.h._blocked(time.monotonic()))
        self.h._update_limits(200, FakeHeaders({"X-Sentry-Rate-Limits": "60:internal:key"}))
        self.assertIsNone(self.h._blocked(time.monotonic()))
        self.assertEqual(self.h._blocked(time.monotonic(), ("internal",)), "ratelimit_backoff")

    def test_limit_on_200_blocks(self):
        self.h._update_limits(200, FakeHeaders({"X-Sentry-Rate-Limits": "10::organization"}))
        self.assertEqual(self.h._blocked(time.monotonic()), "ratelimit_backoff")

    def test_backoff_doubles(self):
        self.h.BACKOFF_MIN, self.h.BACKOFF_MAX = 1.0, 3.0
        self.h._backoff = 1.0
        waits = []
        for _ in range(4):
            before = time.monotonic()
            self.h._on_network_error(None)
            waits.append(round(self.h._backoff_until - before))
        self.assertEqual(waits, [1, 2, 3, 3])
        self.assertEqual(self.h._blocked(time.monotonic()), "network_error")


class TestClean(unittest.TestCase):
    def roundtrip(self, v):
        out = bl.clean(v)
        json.dumps(out, allow_nan=False)
        return out

    def test_scalars(self):
        self.assertEqual(self.roundtrip(None), None)
        self.assertEqual(self.roundtrip(True), True)
        self.assertEqual(self.roundtrip(3), 3)
        self.assertEqual(self.roundtrip(2.5), 2.5)
        self.assertEqual(self.roundtrip(float("nan")), "nan")
        self.assertEqual(self.roundtrip(float("inf")), "inf")
        self.assertIn("bits", self.roundtrip(10 ** 5000))
        self.assertEqual(self.roundtrip(b"\xff\x00"), "b'\\xff\\x00'")

    def test_cycles_and_depth(self):
        d = {"a": 1}
        d["self"] = d
        lst = [1]
        lst.append(lst)
        out = self.roundtrip({"d": d, "l": lst})
        self.assertEqual(out["d"]["self"], "<recursion>")
        self.assertEqual(out["l"][1], "<recursion>")
        deep = cur = {}
        for _ in range(50):
            cur["n"] = {}
            cur = cur["n"]
        self.roundtrip(deep)

    def test_broken_objects(self):
        out = self.roundtrip({"b": Broken(), Broken(): 1, "s": {3, 4}, "g": (i for i in [1])})
        self.assertIn("<Broken instance at", out["b"])
        self.assertEqual(sorted(out["s"]), [3, 4])
        self.assertTrue(any("<Broken instance at" in k for k in out))
        self.assertIn("generator", out["g"])

    def test_str_subclass_with_broken_str(self):
        class S(str):
            def __str__(self):
                raise RuntimeError("no")
        self.assertEqual(self.roundtrip(S("abc")), "abc")
        self.assertEqual(bl.safe_str(S("abc")), "abc")

    def test_budget(self):
        out = self.roundtrip({"k%d" % i: "v" * 1000 for i in range(100)})
        self.assertLess(len(json.dumps(out)), bl.MAX_EXTRA_ITEM + 4000)
        self.assertEqual(len(self.roundtrip("x" * 100000)), bl.MAX_VALUE)

    def test_safe_repr_str(self):
        self.assertIn("<Broken instance at", bl.safe_repr(Broken()))
        self.assertIn("<Broken instance at", bl.safe_str(Broken()))

        class Weird:
            def __repr__(self):
                return 42
        self.assertIn("<Weird instance at", bl.safe_repr(Weird()))
        self.assertEqual(len(bl.safe_repr("y" * 10 ** 6)), bl.MAX_VALUE)


class TestFrames(unittest.TestCase):
    def test_in_app(self):
        self.assertFalse(bl.is_in_app("/usr/lib/python3/dist-packages/requests/api.py"))
        self.assertFalse(bl.is_in_app("/venv/lib/python3.11/site-packages/django/core.py"))
        self.assertFalse(bl.is_in_app(os.path.abspath(json.__file__)))
        self.assertFalse(bl.is_in_app(os.path.abspath(logging.__file__)))
        self.assertFalse(bl.is_in_app("<frozen importlib._bootstrap>"))
        self.assertTrue(bl.is_in_app("/srv/app/shop/views.py"))
        self.assertTrue(bl.is_in_app("<stdin>"))
        self.assertTrue(bl.is_in_app(os.path.abspath(__file__)))

    def test_exception_frames(self):
        vals = bl.exception_values(caught(raise_value_error, 3))
        self.assertEqual(len(vals), 1)
        v = vals[0]
        self.assertEqual((v["type"], v["value"], v["module"]), ("ValueError", "bad value 3", None))
        self.assertEqual(v["mechanism"], {"type": "logging", "handled": True})
        fr = v["stacktrace"]["frames"]
        self.assertEqual([f["function"] for f in fr][-2:], ["caught", "raise_value_error"])
        last = fr[-1]
        self.assertEqual(last["module"], __name__)
        self.assertEqual(last["abs_path"], os.path.abspath(__file__))
        self.assertTrue(last["filename"].endswith("test_bilor_logging.py"))
        self.assertTrue(last["in_app"])
        self.assertIn('raise ValueError("bad value %d" % n)', last["context_line"])
        self.assertEqual(len(last["pre_context"]), 5)
        self.assertEqual(len(last["post_context"]), 5)
        self.assertNotIn("vars", last)

    def test_locals_and_context_options(self):
        vals = bl.exception_values(caught(raise_value_error, 3), context_lines=1,
                                   include_locals=True)
        last = vals[-1]["stacktrace"]["frames"][-1]
        self.assertEqual(last["vars"]["n"], "3")
        self.assertLessEqual(len(last["vars"]["local_text"]), bl.MAX_VALUE)
        self.assertTrue(last["vars"]["local_text"].startswith("'xxx"))
        self.assertEqual((len(last["pre_context"]), len(last["post_context"])), (1, 1))
        vals = bl.exception_values(caught(raise_value_error, 3), context_lines=None)
        self.assertNotIn("context_line", vals[-1]["stacktrace"]["frames"][-1])

    def test_stdlib_frames_not_in_app(self):
        vals = bl.exception_values(caught(json.loads, "{bad"))
        frames = vals[-1]["stacktrace"]["frames"]
        self.assertTrue(frames[0]["in_app"])
        self.assertFalse(frames[-1]["in_app"])
        self.assertEqual(frames[-1]["module"], "json.decoder")
        self.assertEqual(frames[-1]["filename"], "json/decoder.py")
        self.assertEqual(vals[-1]["module"], "json.decoder")

    def test_chains(self):
        def inner():
            raise KeyError("k")

        def outer():
            try:
                inner()
            except KeyError as e:
                raise RuntimeError("wrapped") from e

        def implicit():
            try:
                inner()
            except KeyError:
                raise OSError("during handling")

        def suppressed():
            try:
                inner()
            except KeyError:
                raise OSError("suppressed") from None
        types = [v["type"] for v in bl.exception_values(caught(outer))]
        self.assertEqual(types, ["KeyError", "RuntimeError"])
        vals = bl.exception_values(caught(implicit))
        self.assertEqual([v["type"] for v in vals], ["KeyError", "OSError"])
        self.assertEqual(vals[0]["stacktrace"]["frames"][-1]["function"].split(".")[-1], "inner")
        self.assertIn("mechanism", vals[-1])
        self.assertEqual([v["type"] for v in bl.exception_values(caught(suppressed))],
                         ["OSError"])

    def test_cyclic_context_and_bad_str(self):
        a, b = ValueError("a"), BadExc()
        a.__context__, b.__context__ = b, a
        vals = bl.exception_values((ValueError, a, None))
        self.assertEqual([v["type"] for v in vals], ["BadExc", "ValueError"])
        self.assertEqual(vals[0]["value"], "BadExc()")
        self.assertNotIn("stacktrace", vals[-1])
        self.assertIsNone(bl.exception_values((None, None, None)))
        self.assertEqual(bl.exception_values((KeyError, None, None))[0]["type"], "KeyError")

    def test_recursion_error_frames_trimmed(self):
        vals = bl.exception_values(caught(recurse, 0))
        frames = vals[-1]["stacktrace"]["frames"]
        self.assertEqual(vals[-1]["type"], "RecursionError")
        self.assertEqual(len(frames), bl.MAX_FRAMES)
        self.assertEqual(frames[-1]["function"].split(".")[-1], "recurse")


class TestEvents(unittest.TestCase):
    def setUp(self):
        self.h = bl.BilorHandler(dsn="http://k@127.0.0.1:9/1", release="r@1",
                                 environment="test", server_name="host-1", tags={"svc": "api"})

    def tearDown(self):
        self.h.close(0.1)

    def test_message_event(self):
        ev = self.h.build_event(record("Failed for user %s", ("bob",), tags={"tenant": "acme"},
                                       order_id=17))
        self.assertEqual(ev["logentry"], {"message": "Failed for user %s", "params": ["bob"],
                                          "formatted": "Failed for user bob"})
        self.assertEqual(ev["level"], "error")
        self.assertEqual(ev["logger"], "app.x")
        self.assertEqual((ev["release"], ev["environment"], ev["server_name"]),
                         ("r@1", "test", "host-1"))
        self.assertEqual(ev["tags"], {"svc": "api", "tenant": "acme"})
        self.assertEqual(ev["extra"]["order_id"], 17)
        for k in ("thread", "threadName", "process", "processName", "funcName", "lineno"):
            self.assertIn(k, ev["extra"])
        self.assertNotIn("exception", ev)
        self.assertEqual(len(ev["event_id"]), 32)
        json.dumps(ev, allow_nan=False)

    def test_levels(self):
        got = [self.h.build_event(record(level=lv))["level"] for lv in
               (5, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, 45,
                logging.CRITICAL)]
        self.assertEqual(got, ["debug", "debug", "info", "warning", "error", "error", "fatal"])

    def test_weird_messages(self):
        ev = self.h.build_event(record("x %s", (Broken(),)))
        self.assertEqual(ev["logentry"]["message"], "x %s")
        self.assertIn("<Broken instance at", ev["logentry"]["formatted"])
        ev = self.h.build_event(record("%d items", ("many",)))
        self.assertEqual(ev["logentry"]["params"], ["many"])
        ev = self.h.build_event(record(Broken(), ()))
        self.assertIn("<Broken instance at", ev["logentry"]["message"])
        ev = self.h.build_event(record("%(id)s done", ({"id": 7},)))
        self.assertEqual(ev["logentry"]["formatted"], "7 done")
        self.assertEqual(ev["logentry"]["params"], {"id": 7})
        ev = self.h.build_event(record("m" * 100000, ()))
        self.assertEqual(len(ev["logentry"]["message"]), bl.MAX_MESSAGE)
        self.assertEqual(len(ev["logentry"]["formatted"]), bl.MAX_MESSAGE)
        ev = self.h.build_event(record("plain", (), tags="not-a-dict"))
        self.assertEqual(ev["extra"]["tags"], "not-a-dict")
        self.assertEqual(ev["tags"], {"svc": "api"})

    def test_exception_event(self):
        ev = self.h.build_event(record("boom", (), exc_info=caught(raise_value_error, 1)))
        self.assertEqual(ev["exception"]["values"][-1]["type"], "ValueError")
        ev = self.h.build_event(record("boom", (), exc_info=(None, None, None)))
        self.assertNotIn("exception", ev)

    def test_shrink(self):
        ev = self.h.build_event(record("boom", (), exc_info=caught(recurse, 0)))
        for f in bl._frames_of(ev):
            f["vars"] = {"v%d" % i: "z" * 1000 for i in range(50)}
        body = bl.event_body(ev, limit=200000)
        self.assertLessEqual(len(body), 200000)
        back = json.loads(body)
        self.assertNotIn("vars", back["exception"]["values"][-1]["stacktrace"]["frames"][0])
        self.assertIn("context_line", back["exception"]["values"][-1]["stacktrace"]["frames"][0])
        small = bl.event_body(self.h.build_event(record()), limit=10)
        self.assertIn(b'"logentry"', small)


class TestHandlerLocal(unittest.TestCase):
    def test_disabled_goes_to_fallback(self):
        fb = ListHandler()
        old = os.environ.pop("BILOR_DSN", None)
        try:
            h = bl.BilorHandler(fallback=fb)
        finally:
            if old is not None:
                os.environ["BILOR_DSN"] = old
        h.handle(record())
        self.assertEqual(len(fb.records), 1)
        self.assertTrue(h.flush(0.1))
        h.close()

    def test_internal_logger_ignored_and_no_stderr(self):
        fb = ListHandler()
        h = bl.BilorHandler(dsn="http://k@127.0.0.1:9/1", fallback=fb)
        h._backoff_until = time.monotonic() + 100
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            h.handle(record(name="bilor_logging"))
            h.handle(record(name="bilor_logging.sender"))
            self.assertEqual(fb.records, [])
            h.handle(record(name="bilor_logging_other"))
            self.assertTrue(h.flush(2))
            self.assertEqual(len(fb.records), 1)
            self.assertEqual(h.pending_losses(), {"network_error": 1})
            h.handleError(record())
            self.assertEqual(len(fb.records), 2)

            def bad_filter(r):
                raise RuntimeError("filter")
            h.addFilter(bad_filter)
            self.assertFalse(h.handle(record()))
            h.removeFilter(bad_filter)
            h.close(0.5)
            h.handle(record(msg="after close"))
            h.close(0.5)
            self.assertTrue(h.flush(0.1) in (True, False))
        self.assertEqual(err.getvalue(), "")
        self.assertEqual(fb.records[-1].msg, "after close")

    def test_fallback_by_name_and_broken_fallback(self):
        named = ListHandler()
        named.set_name("bilor-unit-fallback")
        h = bl.BilorHandler(fallback="bilor-unit-fallback")
        h.handle(record())
        self.assertEqual(len(named.records), 1)
        h.fallback = "no-such-handler"
        h.handle(record())

        class Exploding(logging.Handler):
            def handle(self, r):
                raise RuntimeError("fallback down")
        h.fallback = Exploding()
        before = h.errors
        h.handle(record())
        self.assertEqual(h.errors, before + 1)
        h.close(0.1)
        named.close()

    def test_internal_failure_goes_to_fallback(self):
        fb = ListHandler()
        h = bl.BilorHandler(dsn="http://k@127.0.0.1:9/1", fallback=fb)

        def explode(record):
            raise RuntimeError("bug in build_event")
        h.build_event = explode
        with contextlib.redirect_stderr(io.StringIO()) as err:
            h.emit(record(msg="kept"))
            h.handle(record(msg="kept too"))
        self.assertEqual(err.getvalue(), "")
        self.assertEqual([r.msg for r in fb.records], ["kept", "kept too"])
        self.assertEqual(h.errors, 2)
        h.close(0.1)

    def test_fallback_level_respected(self):
        fb = ListHandler()
        fb.setLevel(logging.ERROR)
        h = bl.BilorHandler(fallback=fb)
        h.handle(record(level=logging.INFO))
        h.handle(record(level=logging.ERROR))
        self.assertEqual([r.levelno for r in fb.records], [logging.ERROR])
        h.close(0.1)

    def test_reentrant_logging_goes_to_fallback(self):
        fb = ListHandler()
        h = bl.BilorHandler(dsn="http://k@127.0.0.1:9/1", fallback=fb)
        log = logging.getLogger("bilor-unit-reentrant")
        log.propagate = False
        log.addHandler(h)

        class Loud:
            def __repr__(self):
                log.error("logged from __repr__")
                return "Loud()"
        try:
            h._backoff_until = 0.0
            with contextlib.redirect_stderr(io.StringIO()) as err:
                log.error("object %r", Loud())
                h._backoff_until = time.monotonic() + 100
                h.flush(2)
            self.assertEqual(err.getvalue(), "")
            self.assertIn("logged from __repr__", [r.getMessage() for r in fb.records])
            self.assertEqual(h.last_event_id is not None, True)
        finally:
            log.removeHandler(h)
            h.close(0.1)

    def test_envelope_format(self):
        env = bl._envelope("ab" * 16, [({"type": "event"}, b'{"a":1}'),
                                       ({"type": "client_report"}, b"{}")])
        lines = env.split(b"\n")
        self.assertEqual(json.loads(lines[0])["event_id"], "ab" * 16)
        self.assertEqual(json.loads(lines[1]), {"type": "event", "length": 7})
        self.assertEqual(lines[2], b'{"a":1}')
        self.assertEqual(json.loads(lines[3]), {"type": "client_report", "length": 2})
        self.assertEqual(lines[4:], [b"{}", b""])

    def test_client_report_counts(self):
        h = bl.BilorHandler(dsn="http://k@127.0.0.1:9/1")
        h._count("ratelimit_backoff", 3)
        h._count("queue_overflow")
        rep = h._take_report()
        self.assertEqual(rep["discarded_events"], [
            {"reason": "queue_overflow", "category": "error", "quantity": 1},
            {"reason": "ratelimit_backoff", "category": "error", "quantity": 3}])
        self.assertTrue(math.isfinite(rep["timestamp"]))
        self.assertIsNone(h._take_report())
        h._restore_report(rep)
        self.assertEqual(sum(h._counts.values()), 4)
        h.close(0.1)


if __name__ == "__main__":
    unittest.main()
