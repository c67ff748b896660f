"""bilor_logging - a logging.Handler that reports records to Bilor.

Bilor speaks the Sentry ingest protocol, so this handler also works with any
Sentry-compatible server. Standard library only, Python 3.8+.

    import logging
    from bilor_logging import BilorHandler

    logging.getLogger().addHandler(
        BilorHandler(dsn="http://KEY@bilor.example:8000/1", level=logging.WARNING,
                     fallback=logging.FileHandler("undelivered.log")))

DESIGN
emit() never blocks on the network and never raises: it turns the record into
a plain JSON-ready event in the caller's thread (so locals, arguments and
source lines are captured as they were when the record was made) and appends
it to a bounded queue that one daemon thread drains. The queue drops its
oldest entry when full; every record the server will not see - dropped,
refused, rate-limited, or sent while the server was unreachable - goes to the
optional fallback handler and is counted, and the counts are reported later
in a Sentry client_report envelope item. After a 429 no request is made until
the announced wait has passed, and after a connection error the handler backs
off exponentially; records arriving meanwhile go straight to the fallback.
The fallback handler is called from the sender thread too, so a slow fallback
(a file, a pipe) never slows the caller: the caller's thread takes no lock the
sender can hold and makes no system call, because a thread that gives up the
GIL can wait a whole switch interval (5 ms) to get it back.
Records of the "bilor_logging" logger, records made inside a sender thread
and records logged while this handler is already emitting in the same thread
are never sent, so the handler cannot feed itself.
"""

import collections
import datetime
import email.utils
import gzip
import http.client
import itertools
import json
import linecache
import logging
import math
import os
import platform
import queue
import random
import reprlib
import socket
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import weakref

__all__ = ["BilorHandler", "parse_dsn", "parse_rate_limits", "parse_retry_after"]
__version__ = "0.1"

SDK_NAME = "bilor-python"
CLIENT = "%s/%s" % (SDK_NAME, __version__)
INTERNAL_LOGGER = "bilor_logging"

# Sizes mirror what Sentry (and Bilor) keep, so nothing useful is cut by the server.
MAX_MESSAGE = 8192            # logentry message / formatted
MAX_VALUE = 1024              # one repr()'d local, one string inside extra
MAX_EXTRA_ITEM = 16 * 1024    # one top-level extra key
MAX_EXTRA_TOTAL = 256 * 1024  # all of extra
MAX_TAG = 200                 # tag key and value
MAX_ITEMS = 100               # items kept from one list or dict
MAX_DEPTH = 6                 # nesting kept inside extra
MAX_CHAIN = 10                # chained exceptions
MAX_FRAMES = 50               # frames per stack trace (trimmed in the middle)
HEAD_FRAMES = 20              # ... of which the outermost
MAX_VARS = 50                 # locals per frame
MAX_LINE = 512                # one source line
MAX_EVENT = 1000 * 1000       # JSON bytes of one event (Bilor refuses over 1 MiB)
MAX_WAIT = 7 * 86400.0        # longest rate-limit wait believed
MAX_DIVERTED = 10000          # records waiting for the fallback handler

# Attributes every LogRecord has; anything else on a record came from extra={...}.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}

_LEVELS = ((logging.CRITICAL, "fatal"), (logging.ERROR, "error"),
           (logging.WARNING, "warning"), (logging.INFO, "info"))

# Per-thread state shared by all handlers: a sender thread marks itself so
# that nothing it logs (urllib, a fallback handler...) is sent again.
_tls = threading.local()

_all_handlers = weakref.WeakSet()


def _level_name(levelno):
    for limit, name in _LEVELS:
        if levelno >= limit:
            return name
    return "debug"


def _iso(t):
    try:
        d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
        return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, OSError, ValueError, TypeError):
        return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------
# turning arbitrary objects into JSON-safe values

_repr = reprlib.Repr()
_repr.maxstring = MAX_VALUE
_repr.maxother = MAX_VALUE
_repr.maxlong = 200
_repr.maxlevel = 4
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = 20
_repr.maxdeque = _repr.maxarray = 20
_repr.maxdict = 20


def _trunc(s, limit):
    if len(s) <= limit:
        return s
    return s[:max(0, limit - 3)] + "..."


def safe_repr(value, limit=MAX_VALUE):
    """repr() that never raises and never returns more than limit characters."""
    try:
        s = _repr.repr(value)
        if type(s) is not str:
            s = str.__str__(s)
    except Exception as e:  # noqa: BLE001 - user __repr__ can raise anything
        s = "<%s object (repr failed: %s)>" % (_type_name(value), _type_name(e))
    return _trunc(s, limit)


def safe_str(value, limit=MAX_VALUE):
    """str() that never raises; falls back to repr()."""
    try:
        if type(value) is str:
            s = value
        elif isinstance(value, str):
            s = str.__str__(value)
        else:
            s = str(value)
            if type(s) is not str:
                s = str.__str__(s)
    except Exception:  # noqa: BLE001
        return safe_repr(value, limit)
    return _trunc(s, limit)


def _type_name(value):
    try:
        return type(value).__name__
    except Exception:  # noqa: BLE001
        return "object"


class _Budget:
    """Characters still allowed in one cleaned value (keeps nested extras small)."""

    __slots__ = ("left",)

    def __init__(self, left):
        self.left = left

    def take(self, s):
        if self.left <= 0:
            return "<trimmed>"
        s = _trunc(s, min(MAX_VALUE, max(self.left, 16)))
        self.left -= len(s) + 4
        return s


def clean(value, budget=None, depth=0, seen=None):
    """A JSON-safe copy of value (dict, list, str, int, float, bool, None). Never raises."""
    if budget is None:
        budget = _Budget(MAX_EXTRA_ITEM)
    try:
        return _clean(value, budget, depth, seen or set())
    except Exception as e:  # noqa: BLE001
        return budget.take("<unserializable %s: %s>" % (_type_name(value), _type_name(e)))


def _clean(value, budget, depth, seen):
    t = type(value)
    if value is None or t is bool:
        return value
    if t is int:
        if -(1 << 63) <= value < (1 << 64):
            return value
        return budget.take("<int of %d bits>" % value.bit_length())
    if t is float:
        return value if math.isfinite(value) else repr(value)
    if t is str:
        return budget.take(value)
    if isinstance(value, str):
        return budget.take(str.__str__(value))
    if isinstance(value, (bytes, bytearray)):
        return budget.take(safe_repr(bytes(value[:MAX_VALUE])))
    if budget.left <= 0:
        return "<trimmed>"
    if isinstance(value, (dict, list, tuple, set, frozenset, collections.deque)):
        if depth >= MAX_DEPTH:
            return budget.take(safe_repr(value))
        if id(value) in seen:
            return "<recursion>"
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                out = {}
                for k, v in itertools.islice(value.items(), MAX_ITEMS):
                    key = k if type(k) is str else safe_str(k, MAX_TAG)
                    out[_trunc(key, MAX_TAG)] = clean(v, budget, depth + 1, seen)
                return out
            return [clean(v, budget, depth + 1, seen)
                    for v in itertools.islice(iter(value), MAX_ITEMS)]
        finally:
            seen.discard(id(value))
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _clean(int.__index__(value), budget, depth, seen)
    if isinstance(value, float):
        return _clean(float.__float__(value), budget, depth, seen)
    return budget.take(safe_repr(value))


# --------------------------------------------------------------------------
# protocol helpers


class Dsn:
    __slots__ = ("scheme", "key", "secret", "host", "project_id", "api")

    def __str__(self):
        return "%s://%s@%s" % (self.scheme, self.key, self.api)


def parse_dsn(dsn):
    """'http://KEY[:SECRET]@host[:port][/prefix]/PROJECT' -> Dsn; ValueError if malformed."""
    if not isinstance(dsn, str):
        raise ValueError("DSN must be a string")
    u = urllib.parse.urlsplit(dsn.strip())
    if u.scheme not in ("http", "https"):
        raise ValueError("DSN scheme must be http or https: %r" % dsn)
    userinfo, at, hostport = u.netloc.rpartition("@")
    if not at or not userinfo:
        raise ValueError("DSN has no public key: %r" % dsn)
    key, _, secret = userinfo.partition(":")
    prefix, _, pid = u.path.rstrip("/").rpartition("/")
    if not key or not hostport or not pid.isdigit() or int(pid) <= 0:
        raise ValueError("DSN needs a key, a host and a numeric project id: %r" % dsn)
    d = Dsn()
    d.scheme, d.key, d.secret, d.host = u.scheme, urllib.parse.unquote(key), secret, hostport
    d.project_id = int(pid)
    d.api = "%s://%s%s/api/%d/" % (u.scheme, hostport, prefix, d.project_id)
    return d


def parse_rate_limits(header):
    """X-Sentry-Rate-Limits -> [(category or None for all, seconds)], like sentry-python.

    Each limit is 'seconds:categories:scope:...'; categories are ';'-separated,
    empty means every category. Malformed limits are skipped.
    """
    out = []
    for limit in (header or "").split(","):
        try:
            parts = limit.strip().split(":")
            if len(parts) < 2:
                continue
            secs = float(parts[0])
            if not secs >= 0:
                continue
            secs = min(secs, MAX_WAIT)
            cats = [c.strip() for c in parts[1].split(";") if c.strip()]
            for cat in cats or [None]:
                out.append((cat, secs))
        except (ValueError, LookupError, TypeError):
            continue
    return out


def parse_retry_after(value, now=None):
    """Retry-After (seconds or an HTTP date) -> seconds, or None if unusable."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        secs = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        secs = when.timestamp() - (time.time() if now is None else now)
    if not secs == secs:  # NaN
        return None
    return min(max(secs, 0.0), MAX_WAIT)


# --------------------------------------------------------------------------
# stack frames


def _stdlib_dirs():
    dirs = set()
    paths = sysconfig.get_paths()
    for p in (paths.get("stdlib"), paths.get("platstdlib"), os.path.dirname(os.__file__)):
        if p:
            dirs.add(os.path.join(os.path.realpath(p), ""))
            dirs.add(os.path.join(os.path.abspath(p), ""))
    return tuple(d for d in dirs if d and d != os.sep)


_STDLIB = _stdlib_dirs()
_LIB_PARTS = tuple(os.sep + p + os.sep for p in ("site-packages", "dist-packages"))


def is_in_app(abs_path):
    """False for code in site-packages, dist-packages or the standard library."""
    if not abs_path:
        return False
    if abs_path.startswith("<"):
        return not abs_path.startswith("<frozen")
    if any(part in abs_path for part in _LIB_PARTS):
        return False
    return not abs_path.startswith(_STDLIB)


def _filename_for(module, abs_path):
    """Path relative to the top package (stable across deploy directories), like Sentry."""
    try:
        if not module or not abs_path or abs_path.startswith("<"):
            return abs_path
        if abs_path.endswith(".pyc"):
            abs_path = abs_path[:-1]
        base = module.split(".", 1)[0]
        if base == module or base == "__main__":
            return os.path.basename(abs_path)
        base_file = getattr(sys.modules.get(base), "__file__", None)
        if not base_file:
            return abs_path
        root = base_file.rsplit(os.sep, 2)[0]
        return abs_path.split(root, 1)[-1].lstrip(os.sep)
    except Exception:  # noqa: BLE001
        return abs_path


def _source(filename, lineno, f_globals, n):
    try:
        lines = linecache.getlines(filename, f_globals)
    except Exception:  # noqa: BLE001
        return None
    if not lines or lineno is None or not 0 < lineno <= len(lines):
        return None

    def line(i):
        return _trunc(lines[i].rstrip("\r\n"), MAX_LINE)
    i = lineno - 1
    return ([line(j) for j in range(max(0, i - n), i)], line(i),
            [line(j) for j in range(i + 1, min(len(lines), i + 1 + n))])


def _frame(frame, lineno, context_lines, include_locals):
    co = frame.f_code
    f_globals = frame.f_globals
    filename = co.co_filename or "<unknown>"
    abs_path = filename if filename.startswith("<") else os.path.abspath(filename)
    module = f_globals.get("__name__")
    module = module if isinstance(module, str) else None
    out = {
        "filename": _filename_for(module, abs_path),
        "abs_path": abs_path,
        "module": module,
        "function": getattr(co, "co_qualname", None) or co.co_name,
        "lineno": lineno,
        "in_app": is_in_app(abs_path),
    }
    if context_lines is not None and context_lines >= 0:
        src = _source(filename, lineno, f_globals, context_lines)
        if src:
            out["pre_context"], out["context_line"], out["post_context"] = src
    if include_locals:
        out["vars"] = _frame_vars(frame)
    return out


def _frame_vars(frame):
    out = {}
    try:
        for name, value in itertools.islice(frame.f_locals.items(), MAX_VARS):
            out[_trunc(safe_str(name, MAX_TAG), MAX_TAG)] = safe_repr(value, MAX_VALUE)
    except Exception:  # noqa: BLE001 - keep what was read
        pass
    return out


def _stacktrace(tb, context_lines, include_locals):
    entries = []
    seen = set()
    while tb is not None and id(tb) not in seen:
        seen.add(id(tb))
        entries.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    if len(entries) > MAX_FRAMES:
        entries = entries[:HEAD_FRAMES] + entries[-(MAX_FRAMES - HEAD_FRAMES):]
    return {"frames": [_frame(f, ln, context_lines, include_locals) for f, ln in entries]}


def _exception_chain(exc):
    """exc and its causes/contexts, newest first, without cycles."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen and len(chain) < MAX_CHAIN:
        seen.add(id(exc))
        chain.append(exc)
        cause = getattr(exc, "__cause__", None)
        if cause is None and not getattr(exc, "__suppress_context__", False):
            cause = getattr(exc, "__context__", None)
        exc = cause if isinstance(cause, BaseException) else None
    return chain


def _exception_value(etype, exc, tb, context_lines, include_locals):
    mod = getattr(etype, "__module__", None)
    out = {
        "type": safe_str(getattr(etype, "__name__", None) or _type_name(exc), MAX_TAG),
        "value": "" if exc is None else safe_str(exc, MAX_MESSAGE),
        "module": mod if isinstance(mod, str) and mod != "builtins" else None,
    }
    if tb is not None:
        out["stacktrace"] = _stacktrace(tb, context_lines, include_locals)
    return out


def exception_values(exc_info, context_lines=5, include_locals=False):
    """(type, value, tb) -> Sentry exception values, oldest cause first."""
    etype, exc, tb = exc_info
    if etype is None and exc is None:
        return None
    if exc is None:
        return [_exception_value(etype, None, tb, context_lines, include_locals)]
    values = []
    for i, e in enumerate(_exception_chain(exc)):
        e_tb = tb if i == 0 else getattr(e, "__traceback__", None)
        values.append(_exception_value(type(e), e, e_tb, context_lines, include_locals))
    values[0]["mechanism"] = {"type": "logging", "handled": True}
    values.reverse()
    return values


# --------------------------------------------------------------------------
# size guard


def _dumps(event):
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                      default=safe_repr).encode("utf-8", "replace")


def _frames_of(event):
    for v in (event.get("exception") or {}).get("values") or []:
        for f in (v.get("stacktrace") or {}).get("frames") or []:
            yield f


def _shrink_steps(event):
    def no_vars():
        for f in _frames_of(event):
            f.pop("vars", None)

    def no_context():
        for f in _frames_of(event):
            f.pop("pre_context", None)
            f.pop("post_context", None)

    def no_extra():
        event["extra"] = {"bilor_trimmed": "extra removed: event too large"}

    def few_frames():
        for v in (event.get("exception") or {}).get("values") or []:
            st = v.get("stacktrace") or {}
            fr = st.get("frames") or []
            if len(fr) > 10:
                st["frames"] = fr[:3] + fr[-7:]

    def short_message():
        le = event.get("logentry") or {}
        for k in ("message", "formatted"):
            if isinstance(le.get(k), str):
                le[k] = _trunc(le[k], 1024)
        le.pop("params", None)
    return (no_vars, no_context, no_extra, few_frames, short_message)


def event_body(event, limit=MAX_EVENT):
    """JSON bytes of event, dropping detail (locals, context, extra...) until under limit."""
    body = _dumps(event)
    for step in _shrink_steps(event):
        if len(body) <= limit:
            break
        step()
        body = _dumps(event)
    return body


# --------------------------------------------------------------------------
# the handler


class BilorHandler(logging.Handler):
    """Sends log records to Bilor as Sentry events, from a background thread.

    dsn              http://KEY@host:port/PROJECT (default: $BILOR_DSN); empty = disabled,
                     every record then goes to the fallback
    level            the handler level (as for any logging.Handler)
    fallback         a logging.Handler (or the name of one set up by dictConfig) that receives
                     every record the server did not get: unreachable, refused (4xx/5xx),
                     rate limited, dropped from a full queue, or logged after close()
    queue_size       records waiting to be sent; when full the oldest is dropped (and counted)
    timeout          seconds for one HTTP request (connect and each read)
    release, environment, server_name (default: the host name), tags (a dict)
    include_locals   add each frame's local variables (repr()'d, truncated) - may leak secrets
    context_lines    source lines before and after each frame's line (None: no source)
    transport        "store" (POST /api/P/store/, gzip JSON) or "envelope" (/api/P/envelope/)
    shutdown_timeout default wait of flush() and close() (logging.shutdown() calls them)

    extra={"tags": {...}} on a log call adds tags; every other extra key goes to the event's
    extra data. After emit(), last_event_id holds the id given to the last record queued.
    """

    BACKOFF_MIN = 1.0
    BACKOFF_MAX = 60.0
    REPORT_INTERVAL = 30.0

    def __init__(self, dsn=None, level=logging.NOTSET, fallback=None, queue_size=100,
                 timeout=5.0, release=None, environment=None, server_name=None, tags=None,
                 include_locals=False, context_lines=5, transport="store",
                 shutdown_timeout=2.0):
        super().__init__(level)
        if dsn is None:
            dsn = os.environ.get("BILOR_DSN") or None
        self.dsn = parse_dsn(dsn) if dsn else None
        if transport not in ("store", "envelope"):
            raise ValueError("transport must be 'store' or 'envelope'")
        self.transport = transport
        self.fallback = fallback
        self.queue_size = max(1, int(queue_size))
        self.timeout = float(timeout)
        self.shutdown_timeout = float(shutdown_timeout)
        # not self.release: that is logging.Handler's lock method
        self.app_release = None if release is None else str(release)
        self.environment = None if environment is None else str(environment)
        self.server_name = server_name if server_name is not None else _hostname()
        self.tags = {_trunc(str(k), MAX_TAG): _trunc(str(v), MAX_TAG)
                     for k, v in (tags or {}).items()}
        self.include_locals = bool(include_locals)
        self.context_lines = None if context_lines is None else max(0, int(context_lines))
        self.last_event_id = None
        self.errors = 0  # internal errors swallowed (never printed)
        self.fallback_dropped = 0  # records the fallback could not keep up with
        self._contexts = {"runtime": {"name": platform.python_implementation(),
                                      "version": platform.python_version()},
                          "os": {"name": platform.system(), "version": platform.release()}}
        self._opener = urllib.request.build_opener()
        self._closed = False
        self._local = threading.local()
        self._init_state()
        _all_handlers.add(self)
        self._ensure_thread()

    def __repr__(self):
        return "<%s %s (%s)>" % (type(self).__name__, self.dsn.api if self.dsn else "disabled",
                                 logging.getLevelName(self.level))

    # -- state (re-made in a forked child: the parent's lock and thread are gone)

    def _init_state(self):
        # Callers never take a lock the sender thread can hold: a caller blocked on one
        # gives up the GIL and can then wait a whole switch interval (5 ms) to get it back.
        # So the queue and the loss tally are deques (atomic append/popleft), the sender is
        # woken through a SimpleQueue (put() never blocks), and event ids come from a
        # PRNG seeded once from os.urandom (uuid4() makes a syscall that releases the GIL).
        self._queue = collections.deque()        # (event, record), oldest first
        self._bell = queue.SimpleQueue()         # one token per wake-up request
        self._losses = collections.deque()       # (reason, n) from any thread
        self._diverted = collections.deque()     # records for the fallback, oldest first
        self._idle = threading.Condition(threading.Lock())   # flush() waits here, emit never
        self._start_lock = threading.Lock()
        self._ids = random.Random()
        self._seq = itertools.count(1)
        self._report_req = 0         # flush() asks for a client report up to this number
        self._report_done = 0
        self._busy = False
        self._stopping = False
        self._thread = None
        self._limits = {}            # rate-limit category (None = all) -> monotonic deadline
        self._backoff_until = 0.0
        self._backoff = self.BACKOFF_MIN
        self._counts = collections.Counter()   # (reason, category) -> records lost; sender only
        self._last_report = time.monotonic()
        self._reported_ok = False    # the server answered 2xx: report losses soon

    def _after_fork(self):
        self._init_state()

    def _ensure_thread(self):
        if self._thread is not None or self.dsn is None or self._closed:
            return
        with self._start_lock:
            if self._thread is None:
                t = threading.Thread(target=self._run, name="bilor_logging-sender", daemon=True)
                t.start()
                self._thread = t

    def pending_losses(self):
        """{reason: records} lost and not yet reported to the server."""
        out = collections.Counter()
        for (reason, _), n in list(self._counts.items()):
            out[reason] += n
        for reason, n in list(self._losses):
            out[reason] += n
        return dict(out)

    # -- logging.Handler interface

    def handle(self, record):
        """Like logging.Handler.handle but without the handler lock (emit takes its own)."""
        try:
            rv = self.filter(record)
        except Exception:  # noqa: BLE001 - a broken filter must not reach the caller
            self.errors += 1
            return False
        if isinstance(rv, logging.LogRecord):
            record = rv
        if rv:
            try:
                self.emit(record)
            except Exception:  # noqa: BLE001 - e.g. RecursionError entering emit()
                self.errors += 1
        return rv

    def emit(self, record):
        try:
            self._emit(record)
        except Exception:  # noqa: BLE001 - the caller must never see our errors
            try:
                self.errors += 1
                self._to_fallback(record)
            except Exception:  # noqa: BLE001 - even at the recursion limit
                pass

    def handleError(self, record):
        """Never prints: the record goes to the fallback and the error is counted."""
        try:
            self.errors += 1
            self._to_fallback(record)
        except Exception:  # noqa: BLE001
            pass

    def flush(self, timeout=None):
        """Waits until queued records are sent, at most timeout seconds; True if all were."""
        try:
            return self._flush(self.shutdown_timeout if timeout is None else timeout)
        except Exception:  # noqa: BLE001
            self.errors += 1
            return False

    def close(self, timeout=None):
        """Stops sending, waiting at most timeout seconds; unsent records go to the fallback."""
        try:
            self._close(self.shutdown_timeout if timeout is None else timeout)
        except Exception:  # noqa: BLE001
            self.errors += 1
        finally:
            try:
                super().close()
            except Exception:  # noqa: BLE001
                self.errors += 1

    # -- the caller's side

    def _ignored(self, record):
        name = getattr(record, "name", None)
        if isinstance(name, str) and (name == INTERNAL_LOGGER
                                      or name.startswith(INTERNAL_LOGGER + ".")):
            return True
        return getattr(_tls, "sender", False)

    def _emit(self, record):
        if self._ignored(record):
            return
        if getattr(self._local, "emitting", False):
            # logged from our own code (a __repr__ that logs...): never recurse
            self._divert(record)
            return
        self._local.emitting = True
        try:
            self._emit_outside(record)
        finally:
            self._local.emitting = False

    def _emit_outside(self, record):
        if self._closed or self.dsn is None:
            self._to_fallback(record)
            return
        reason = self._blocked(time.monotonic())
        if reason:
            self._divert(record, reason)
            return
        event = self.build_event(record)
        self.last_event_id = event["event_id"]
        self._enqueue(event, record)

    def _enqueue(self, event, record):
        q = self._queue
        q.append((event, record))
        while len(q) > self.queue_size:
            try:
                dropped = q.popleft()
            except IndexError:
                break
            self._divert(dropped[1], "queue_overflow")
        self._ensure_thread()
        self._bell.put(None)

    def _divert(self, record, reason=None):
        """Passes a record the server will not get to the fallback, from the sender thread.

        The fallback may block (a file, a pipe) or take locks; running it in the sender
        thread keeps the caller's cost at a deque append.
        """
        if reason:
            self._count(reason)
        if self._thread is None or self._stopping or self._resolve_fallback() is None:
            self._to_fallback(record)
            return
        d = self._diverted
        d.append(record)
        if len(d) > MAX_DIVERTED:
            try:
                d.popleft()
                self.fallback_dropped += 1
            except IndexError:
                pass
        self._bell.put(None)

    def _count(self, reason, n=1):
        self._losses.append((reason, n))

    def _tally(self):
        """Moves losses counted by any thread into _counts (sender thread only)."""
        while True:
            try:
                reason, n = self._losses.popleft()
            except IndexError:
                return
            self._counts[(reason, "error")] += n

    def _resolve_fallback(self):
        fb = self.fallback
        if isinstance(fb, str):
            get = getattr(logging, "getHandlerByName", None)
            fb = get(fb) if get else logging._handlers.get(fb)  # noqa: SLF001 - 3.8-3.11
        if fb is self or not hasattr(fb, "handle"):
            return None
        return fb

    def _to_fallback(self, record):
        try:
            if getattr(self._local, "in_fallback", False):
                return
            self._local.in_fallback = True
        except Exception:  # noqa: BLE001
            return
        try:
            fb = self._resolve_fallback()
            if fb is not None and record.levelno >= getattr(fb, "level", 0):
                fb.handle(record)
        except Exception:  # noqa: BLE001 - a broken fallback is counted, not raised
            self.errors += 1
        finally:
            self._local.in_fallback = False

    # -- building events (caller's thread: captures state as it is now)

    def build_event(self, record):
        """The Sentry event for one LogRecord (JSON-ready). Public for tests and subclasses."""
        event = {
            "event_id": uuid.UUID(int=self._ids.getrandbits(128), version=4).hex,
            "timestamp": _iso(getattr(record, "created", None) or time.time()),
            "platform": "python",
            "level": _level_name(_int(getattr(record, "levelno", logging.ERROR))),
            "logger": safe_str(getattr(record, "name", "root"), MAX_TAG),
            "server_name": self.server_name,
            "sdk": {"name": SDK_NAME, "version": __version__, "integrations": ["logging"]},
            "contexts": self._contexts,
        }
        if self.app_release:
            event["release"] = self.app_release
        if self.environment:
            event["environment"] = self.environment
        event["logentry"] = _logentry(record)
        exc_info = getattr(record, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) == 3:
            values = exception_values(exc_info, self.context_lines, self.include_locals)
            if values:
                event["exception"] = {"values": values}
        tags, extra = self._tags_extra(record)
        if tags:
            event["tags"] = tags
        event["extra"] = extra
        return event

    def _tags_extra(self, record):
        tags = dict(self.tags)
        extra = {}
        left = MAX_EXTRA_TOTAL
        rec = getattr(record, "__dict__", {})
        for key in list(rec):
            if key in _RECORD_ATTRS or not isinstance(key, str):
                continue
            value = rec[key]
            if key == "tags" and isinstance(value, dict):
                for k, v in itertools.islice(value.items(), MAX_ITEMS):
                    tags[_trunc(safe_str(k, MAX_TAG), MAX_TAG)] = safe_str(v, MAX_TAG)
                continue
            share = max(0, min(MAX_EXTRA_ITEM, left))
            item = _Budget(share)
            extra[_trunc(key, MAX_TAG)] = clean(value, item) if share else "<trimmed>"
            left -= max(share - item.left, 16)
        for key in ("thread", "threadName", "process", "processName", "pathname", "lineno",
                    "funcName"):
            extra[key] = clean(rec.get(key))
        if rec.get("stack_info"):
            extra["stack_info"] = safe_str(rec["stack_info"], MAX_EXTRA_ITEM)
        return tags, extra

    # -- the sender thread

    def _run(self):
        _tls.sender = True
        while True:
            self._busy = True
            try:
                self._work()
            except Exception:  # noqa: BLE001
                self.errors += 1
            self._busy = False
            with self._idle:
                self._idle.notify_all()
            if self._stopping and not self._queue:
                return
            self._sleep()

    def _work(self):
        """Sends every queued record, then a client report when one is due or asked for."""
        while True:
            self._drain_diverted()
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            self._process(*item)
        self._drain_diverted()
        req = self._report_req
        self._maybe_report(force=req > self._report_done)
        self._report_done = req

    def _drain_diverted(self):
        while True:
            try:
                record = self._diverted.popleft()
            except IndexError:
                return
            self._to_fallback(record)

    def _sleep(self):
        """Waits for a bell token, or until pending losses may be reported."""
        self._tally()
        wait = self._report_wait(time.monotonic())
        if wait is not None:
            if wait <= 0:
                return
            wait = max(wait, 0.05)
        try:
            self._bell.get(timeout=wait)
        except queue.Empty:
            return
        while True:
            try:
                self._bell.get_nowait()
            except queue.Empty:
                return

    def _report_wait(self, now):
        """Seconds until pending loss counts may be reported (None: nothing pending)."""
        if not self._counts:
            return None
        limits = self._limits
        until = max(self._last_report + self.REPORT_INTERVAL, self._backoff_until,
                    limits.get(None, 0.0), limits.get("internal", 0.0))
        return max(0.0, until - now)

    def _process(self, event, record):
        reason = self._blocked(time.monotonic())
        if reason is None:
            try:
                reason = self._send_event(event)
            except Exception:  # noqa: BLE001 - e.g. an invalid URL; never lose the record
                self.errors += 1
                reason = "internal_sdk_error"
        if reason is not None:
            self._count(reason)
            self._to_fallback(record)

    def _send_event(self, event):
        body = event_body(event)
        if self.transport == "store":
            return self._post("store/", body, "application/json")
        items = [({"type": "event", "content_type": "application/json"}, body)]
        report = self._take_report()
        if report is not None:
            items.append(({"type": "client_report"}, _dumps(report)))
        reason = self._post("envelope/", _envelope(event["event_id"], items),
                            "application/x-sentry-envelope")
        if report is not None and reason is not None:
            self._restore_report(report)
        return reason

    def _maybe_report(self, force=False):
        now = time.monotonic()
        if not self._tally_counts():
            return
        since = now - self._last_report
        due = force or since >= self.REPORT_INTERVAL or (self._reported_ok and since >= 1.0)
        if not due or self._blocked(now, ("internal",)):
            return
        report = self._take_report()
        if report is None:
            return
        if self._post("envelope/", _envelope(None, [({"type": "client_report"}, _dumps(report))]),
                      "application/x-sentry-envelope") is not None:
            self._restore_report(report)

    def _tally_counts(self):
        self._tally()
        return self._counts

    def _take_report(self):
        self._tally()
        counts, self._counts = self._counts, collections.Counter()
        self._last_report = time.monotonic()
        self._reported_ok = False
        if not counts:
            return None
        return {"timestamp": time.time(), "discarded_events": [
            {"reason": r, "category": c, "quantity": n} for (r, c), n in sorted(counts.items())]}

    def _restore_report(self, report):
        for d in report["discarded_events"]:
            self._counts[(d["reason"], d["category"])] += d["quantity"]

    def _post(self, path, body, content_type):
        """POSTs gzip'd body; returns None when accepted, else the loss reason."""
        auth = "Sentry sentry_key=%s, sentry_version=7, sentry_client=%s" % (self.dsn.key, CLIENT)
        if self.dsn.secret:
            auth += ", sentry_secret=%s" % self.dsn.secret
        req = urllib.request.Request(self.dsn.api + path, data=gzip.compress(body, 6),
                                     method="POST", headers={
                                         "Content-Type": content_type,
                                         "Content-Encoding": "gzip",
                                         "X-Sentry-Auth": auth,
                                         "User-Agent": CLIENT})
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                resp.read(65536)
                self._update_limits(resp.status, resp.headers)
        except urllib.error.HTTPError as e:
            return self._on_http_error(e)
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            self._on_network_error(None)
            return "network_error"
        self._backoff = self.BACKOFF_MIN
        self._reported_ok = True
        return None

    def _on_http_error(self, e):
        try:
            e.read(65536)
            e.close()
        except Exception:  # noqa: BLE001
            pass
        headers = e.headers if e.headers is not None else {}
        self._update_limits(e.code, headers)
        if e.code == 429:
            return "ratelimit_backoff"
        if e.code >= 500:
            self._on_network_error(parse_retry_after(headers.get("Retry-After")))
        return "send_error"

    def _on_network_error(self, wait):
        if wait is None:
            wait = self._backoff
            self._backoff = min(self._backoff * 2, self.BACKOFF_MAX)
        self._backoff_until = time.monotonic() + wait

    def _update_limits(self, status, headers):
        now = time.monotonic()
        limits = dict(self._limits)
        parsed = parse_rate_limits(headers.get("X-Sentry-Rate-Limits"))
        if parsed:
            for cat, secs in parsed:
                limits[cat] = max(limits.get(cat, 0.0), now + secs)
        elif status == 429:
            secs = parse_retry_after(headers.get("Retry-After"))
            limits[None] = now + (60.0 if secs is None else secs)
        else:
            return
        self._limits = limits

    def _blocked(self, now, categories=("error", "default")):
        """The loss reason if sending now is not allowed, else None."""
        limits = self._limits
        for cat in (None,) + tuple(categories):
            if limits.get(cat, 0.0) > now:
                return "ratelimit_backoff"
        if self._backoff_until > now:
            return "network_error"
        return None

    # -- flush and close

    def _flush(self, timeout):
        if getattr(_tls, "sender", False) or self._thread is None:
            return not self._queue
        deadline = time.monotonic() + max(0.0, timeout)
        req = next(self._seq)
        self._report_req = max(self._report_req, req)
        self._bell.put(None)
        with self._idle:
            while self._queue or self._diverted or self._busy or self._report_done < req:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def _close(self, timeout):
        if self._closed:
            return
        deadline = time.monotonic() + max(0.0, timeout)
        self._closed = True
        self._flush(timeout)
        self._stopping = True
        left_over = []
        while True:
            try:
                left_over.append(self._queue.popleft())
            except IndexError:
                break
        self._bell.put(None)
        for _, record in left_over:
            self._to_fallback(record)
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(max(0.0, deadline - time.monotonic()))
        self._drain_diverted()


def _int(v):
    try:
        return int(v)
    except Exception:  # noqa: BLE001
        return logging.ERROR


def _hostname():
    try:
        return socket.gethostname()
    except OSError:
        return None


def _logentry(record):
    """{message: template, params, formatted} so that grouping sees the template."""
    msg = getattr(record, "msg", "")
    template = safe_str(msg, MAX_MESSAGE)
    args = getattr(record, "args", None)
    try:
        formatted = record.getMessage()
        formatted = formatted if type(formatted) is str else safe_str(formatted, MAX_MESSAGE)
    except Exception:  # noqa: BLE001 - bad format or a broken __str__ in args
        formatted = "%s %s" % (template, safe_repr(args, MAX_MESSAGE))
    out = {"message": template, "formatted": _trunc(formatted, MAX_MESSAGE)}
    if args:
        if isinstance(args, dict):
            out["params"] = clean(args, _Budget(MAX_MESSAGE))
        elif isinstance(args, tuple):
            out["params"] = [clean(a, _Budget(MAX_VALUE)) for a in args[:MAX_ITEMS]]
        else:
            out["params"] = [clean(args, _Budget(MAX_VALUE))]
    return out


def _envelope(event_id, items):
    header = {"sent_at": _iso(time.time()), "sdk": {"name": SDK_NAME, "version": __version__}}
    if event_id:
        header["event_id"] = event_id
    out = [_dumps(header)]
    for item_header, payload in items:
        h = dict(item_header)
        h["length"] = len(payload)
        out.append(_dumps(h))
        out.append(payload)
    return b"\n".join(out) + b"\n"


def _reinit_after_fork():
    for h in list(_all_handlers):
        try:
            h._after_fork()  # noqa: SLF001
        except Exception:  # noqa: BLE001
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
