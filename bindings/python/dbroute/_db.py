"""The handle, results and transactions over libdbroute.

Lifetime rules (what keeps C memory safe whatever the Python code does):

- Every call into the library on behalf of a handle runs between
  Database._enter() and Database._leave(): _enter() refuses once close()
  began, and close() waits until no call is in flight. Then it frees every
  result, rolls back every transaction and closes the C handle, so a
  result or transaction used later raises ProgrammingError instead of
  reaching freed memory.
- Each C object (result, transaction) sits in a _Handle with a lock: calls
  on one object are serialised, as the C API requires ("one thread at a
  time per object"). A transaction and its result share one lock (they
  share one connection).
- Row values are copied into Python objects before the next row is read.
- Every library call releases the GIL (cffi's API mode does so for every
  call of a function declared in the cdef).
"""

import collections
import collections.abc
import dataclasses
import datetime
import os
import threading

from ._errors import (DataError, NotSupportedError, ProgrammingError,
                      from_struct, misuse)
from ._native import ffi, lib

_INT64_MIN = -(1 << 63)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_UTC = datetime.timezone.utc
_INT64_MAX = (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1

_REASONS = {
    lib.DBR_ROUTE_EXPLICIT: "explicit",
    lib.DBR_ROUTE_SCOPE: "scope",
    lib.DBR_ROUTE_MAPPED: "mapped",
    lib.DBR_ROUTE_DEFAULT: "default",
    lib.DBR_ROUTE_STORE: "store",
}

#: Where an operation goes: the source's name and why ("scope", "mapped",
#: "default").
Route = collections.namedtuple("Route", "source reason")

# A latency histogram of a source (timing): observations, their sum in
# seconds, and per bucket (upper bound in seconds, inf for the last) the
# observations in it, not cumulative. Sampled (`[database] timing_sample`):
# each timed statement counts for the statements since the previous one.
Histogram = collections.namedtuple("Histogram", "count sum buckets")

# The enum dbr_op_kind names, in its order (also Prometheus's `kind`).
_KINDS = ("read", "write", "transaction", "fanout")
_MODES = ("off", "counters", "timing")


@dataclasses.dataclass(frozen=True)
class Source:
    """A configured source: what it is, its state and its counters."""

    name: str
    type: str
    sql: bool
    kv: bool
    transactions: bool
    readonly: bool
    is_default: bool
    driver_version: str
    driver_origin: str
    available: bool
    unavailable_since: object  # Unix seconds (int), or None
    ops: int
    errors: int
    diverted: int
    pool_max: int
    pool_open: int
    pool_in_use: int
    pool_idle: int
    pool_waiters: int
    # Since 0.4 (docs/observability.md): what `[database] metrics` measures
    # ("off", "counters", "timing") and what it measured.
    metrics: str = "off"
    pool_opening: int = 0
    ops_by_kind: dict = dataclasses.field(default_factory=dict)
    errors_by_code: dict = dataclasses.field(default_factory=dict)
    routed: dict = dataclasses.field(default_factory=dict)
    probes: int = 0
    state_since: object = None  # Unix seconds (int), or None
    connects: int = 0
    connect_failures: int = 0
    discarded: int = 0
    statement_time: object = None  # Histogram
    acquire_wait: object = None  # Histogram
    top_ops: list = dataclasses.field(default_factory=list)
    top_time: list = dataclasses.field(default_factory=list)


def _histogram(h):
    """A struct dbr_histogram as a Histogram."""
    n = len(h.bucket)
    bounds = [lib.dbr_histogram_bound(i) / 1e9 for i in range(n - 1)]
    return Histogram(count=h.count, sum=h.sum_ns / 1e9,
                     buckets=list(zip(bounds + [float("inf")],
                                      list(h.bucket))))


def _stats_fields(st):
    """The 0.4 fields of a struct dbr_source_stats, as Source's."""
    return dict(
        metrics=_MODES[st.metrics] if 0 <= st.metrics < 3 else "off",
        pool_opening=st.pool_opening,
        ops_by_kind={k: st.ops_by_kind[i] for i, k in enumerate(_KINDS)},
        # By enum dbr_status (the exceptions' codes); the failing ones only.
        errors_by_code={i: n for i, n in enumerate(st.errors_by_code)
                        if n},
        # By routing reason (dbroute.Route's names); index 0 is unused.
        routed={_str(lib.dbr_route_reason_name(i)): st.routed[i]
                for i in range(1, len(st.routed))
                if _str(lib.dbr_route_reason_name(i)) != "?"},
        probes=st.probes, state_since=st.state_since or None,
        connects=st.connects, connect_failures=st.connect_failures,
        discarded=st.discarded,
        statement_time=_histogram(st.statement_time),
        acquire_wait=_histogram(st.acquire_wait),
        # Heaviest first: (chat, operations) and (chat, seconds).
        top_ops=[(st.top_ops[i].chat, st.top_ops[i].ops)
                 for i in range(st.ntop_ops)],
        top_time=[(st.top_time[i].chat, st.top_time[i].time_ns / 1e9)
                  for i in range(st.ntop_time)])


def _str(p):
    """A borrowed C string as str, or None for NULL."""
    if p == ffi.NULL:
        return None
    return ffi.string(p).decode("utf-8", "replace")


def _cstr(what, s):
    """A str argument as a NUL-terminated C string."""
    if not isinstance(s, str):
        raise TypeError("%s must be str, not %s" % (what, type(s).__name__))
    if "\0" in s:
        raise misuse("%s contains a NUL character" % what)
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise DataError("%s: %s" % (what, e),
                        code=lib.DBR_E_MISUSE) from None


def _bind_named(params, keep):
    """A mapping of named parameters (`:name` placeholders) as a struct
    dbr_param array; `keep` holds what it points to until the call
    returns."""
    names = list(params.keys())
    if not names:
        return ffi.NULL, 0
    values, n = _bind([params[k] for k in names], keep)
    keep.append(values)
    arr = ffi.new("struct dbr_param[]", n)
    for i, k in enumerate(names):
        b = _cstr("parameter name", k)
        keep.append(b)
        arr[i].name = ffi.from_buffer(b)
        arr[i].value = values[i]
    return arr, n


def _chat(chat):
    if isinstance(chat, bool) or not isinstance(chat, int):
        raise TypeError("chat must be int, not %s" % type(chat).__name__)
    if not _INT64_MIN <= chat <= _INT64_MAX:
        raise OverflowError("chat %d is out of the int64 range" % chat)
    return chat


def _bind(params, keep):
    """Parameters as a struct dbr_value array; `keep` holds what the
    array points to until the call returns. Text and blobs are not
    copied (bytes, bytearray and contiguous memoryviews are passed in
    place)."""
    if params is None:
        return ffi.NULL, 0
    if isinstance(params, collections.abc.Mapping):
        raise NotSupportedError(
            "named parameters (a mapping) are taken by execute() and "
            "Transaction.execute() only: pass a sequence for ? "
            "placeholders", code=lib.DBR_E_UNSUPPORTED)
    if (isinstance(params, (str, bytes, bytearray, memoryview))
            or not isinstance(params, collections.abc.Sequence)):
        raise misuse("params must be a sequence of values (a tuple or a "
                     "list), not %s" % type(params).__name__)
    n = len(params)
    if n == 0:
        return ffi.NULL, 0
    arr = ffi.new("struct dbr_value[]", n)
    for i, p in enumerate(params):
        v = arr[i]
        if p is None:
            v.type = lib.DBR_TYPE_NULL
        elif isinstance(p, bool):
            v.type = lib.DBR_TYPE_BOOL
            v.u.i = 1 if p else 0
        elif isinstance(p, datetime.datetime):
            if p.tzinfo is None:
                p = p.replace(tzinfo=_UTC)  # a naive datetime is UTC
            d = p - _EPOCH
            v.type = lib.DBR_TYPE_TIMESTAMP
            v.u.i = (d.days * 86400 + d.seconds) * 1000000 + d.microseconds
        elif isinstance(p, int):
            if not _INT64_MIN <= p <= _INT64_MAX:
                raise DataError("parameter %d: %d is out of the int64 range"
                                % (i + 1, p), code=lib.DBR_E_MISUSE)
            v.type = lib.DBR_TYPE_INT64
            v.u.i = p
        elif isinstance(p, float):
            v.type = lib.DBR_TYPE_DOUBLE
            v.u.d = p
        elif isinstance(p, str):
            try:
                b = p.encode("utf-8")
            except UnicodeEncodeError as e:
                raise DataError("parameter %d: %s" % (i + 1, e),
                                code=lib.DBR_E_MISUSE) from None
            buf = ffi.from_buffer(b)
            keep.append(buf)
            v.type = lib.DBR_TYPE_TEXT
            v.len = len(b)
            v.u.s = buf
        elif isinstance(p, (bytes, bytearray, memoryview)):
            try:
                buf = ffi.from_buffer(p)
            except (TypeError, BufferError) as e:
                raise DataError("parameter %d: %s" % (i + 1, e),
                                code=lib.DBR_E_MISUSE) from None
            keep.append(buf)
            v.type = lib.DBR_TYPE_BLOB
            v.len = len(buf)
            v.u.b = buf
        else:
            raise misuse("parameter %d: type %s is not supported (None, "
                         "bool, int, float, str, bytes, datetime)" % (i + 1,
                                                      type(p).__name__))
    return arr, n


class _Handle:
    """One C object, its lock, and why it is gone once it is."""

    __slots__ = ("ptr", "lock", "gone", "child", "is_tx")

    def __init__(self, ptr, lock, is_tx=False):
        self.ptr = ptr
        self.lock = lock
        self.gone = None
        self.child = None
        self.is_tx = is_tx


class Database:
    """A dbroute handle: open it with dbroute.open(). Shared by all
    threads; close() waits for calls in flight."""

    def __init__(self, config_path):
        path = os.fsencode(config_path)
        if b"\0" in path:
            raise misuse("config path contains a NUL byte")
        self._db = None
        self._cv = threading.Condition(threading.RLock())
        self._busy = 0
        self._closed = False
        # The results and transactions not yet freed (id -> _Handle).
        self._live = {}
        out = ffi.new("struct dbr **")
        err = ffi.new("struct dbr_error *")
        if lib.dbr_open(out, path, ffi.NULL, err) != lib.DBR_OK:
            raise from_struct(err)
        self._db = out[0]

    # Calls in flight.

    def _enter(self):
        with self._cv:
            if self._closed:
                raise misuse("the dbroute handle is closed")
            self._busy += 1

    def _leave(self):
        with self._cv:
            self._busy -= 1
            if not self._busy:
                self._cv.notify_all()

    def _track(self, h):
        with self._cv:
            self._live[id(h)] = h

    def _untrack(self, h):
        with self._cv:
            self._live.pop(id(h), None)

    @property
    def closed(self):
        return self._closed

    def close(self):
        """Wait for calls in flight, free every result, roll back every
        transaction still open, and close the handle. Later use of the
        handle, its results or its transactions raises ProgrammingError.
        Closing twice does nothing."""
        with self._cv:
            if self._closed:
                return
            self._closed = True
            while self._busy:
                self._cv.wait()
            live = list(self._live.values())
            self._live.clear()
        for h in live:
            _release(h, "its dbroute handle was closed")
        db, self._db = self._db, None
        if db is not None:
            lib.dbr_close(db)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # Statements.

    def _run(self, fn, target, sql, params, bind=_bind):
        sql_b = _cstr("sql", sql)
        keep = []
        arr, n = bind(params, keep)
        out = ffi.new("struct dbr_result **")
        err = ffi.new("struct dbr_error *")
        self._enter()
        try:
            if fn(self._db, target, sql_b, arr, n, out, err) != lib.DBR_OK:
                raise from_struct(err)
            return Result(self, out[0], threading.RLock(), None)
        finally:
            self._leave()

    def execute(self, chat, sql, params=()):
        """Run one statement for a chat, on the source the chat is routed
        to. Placeholders are `?` (`??` is a literal `?`) and params a
        sequence, or `:name` and params a mapping of names (without the
        colon) to values. Returns a Result."""
        if isinstance(params, collections.abc.Mapping):
            return self._run(lib.dbr_query_named, _chat(chat), sql, params,
                             _bind_named)
        return self._run(lib.dbr_query, _chat(chat), sql, params)

    def execute_scope(self, scope, sql, params=()):
        """Run one statement in a [scopes] name (e.g. "cache")."""
        return self._run(lib.dbr_query_scope, _cstr("scope", scope), sql,
                         params)

    def execute_source(self, source, sql, params=()):
        """Run one statement on a named source (None: the default)."""
        name = ffi.NULL if source is None else _cstr("source", source)
        return self._run(lib.dbr_query_source, name, sql, params)

    def fanout(self, sql, params=(), *, sources=None, order_by=None,
               limit=None, distinct=False, allow_partial=False,
               sequential=False):
        """Run one statement on several SQL sources (every one, or those
        named in `sources`) and return one Result over the merged rows.

        order_by: a column name or a list of them, each optionally
        followed by " DESC" (each source's statement must order its rows
        the same way); limit: at most this many rows in all; distinct:
        drop duplicate rows; allow_partial: skip failing sources
        (Result.missing says which); sequential: one source at a time.
        """
        sql_b = _cstr("sql", sql)
        keys = _order_keys(order_by)
        names = [_cstr("source", s) for s in (sources or ())]
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError("limit must be int or None, not %s"
                                % type(limit).__name__)
            if limit < 1:
                raise ValueError("limit must be positive")
            if limit > _UINT64_MAX:
                raise DataError("limit %d is out of the uint64 range"
                                % limit, code=lib.DBR_E_MISUSE)
        flags = ((lib.DBR_FANOUT_DISTINCT if distinct else 0)
                 | (lib.DBR_FANOUT_ALLOW_PARTIAL if allow_partial else 0)
                 | (lib.DBR_FANOUT_SEQUENTIAL if sequential else 0))
        keep = []
        arr, n = _bind(params, keep)
        fp = ffi.new("struct dbr_fanout **")
        if lib.dbr_fanout_new(fp) != lib.DBR_OK:
            raise MemoryError("dbroute: out of memory")
        f = fp[0]
        try:
            for s in names:
                if lib.dbr_fanout_add_source(f, s) != lib.DBR_OK:
                    raise MemoryError("dbroute: out of memory")
            for col, desc in keys:
                if lib.dbr_fanout_order_by(f, col, desc) != lib.DBR_OK:
                    raise MemoryError("dbroute: out of memory")
            lib.dbr_fanout_set_limit(f, limit or 0)
            lib.dbr_fanout_set_flags(f, flags)
            out = ffi.new("struct dbr_result **")
            err = ffi.new("struct dbr_error *")
            self._enter()
            try:
                if lib.dbr_query_all(self._db, f, sql_b, arr, n, out,
                                     err) != lib.DBR_OK:
                    raise from_struct(err)
                return Result(self, out[0], threading.RLock(), None,
                              fanout=True)
            finally:
                self._leave()
        finally:
            lib.dbr_fanout_free(f)

    # Transactions.

    def _begin(self, fn, target):
        out = ffi.new("struct dbr_tx **")
        err = ffi.new("struct dbr_error *")
        self._enter()
        try:
            if fn(self._db, target, out, err) != lib.DBR_OK:
                raise from_struct(err)
            return Transaction(self, out[0])
        finally:
            self._leave()

    def transaction(self, chat):
        """Begin a transaction on the source a chat is routed to. Use it
        as a context manager: commit on success, rollback on an
        exception."""
        return self._begin(lib.dbr_tx_begin, _chat(chat))

    def transaction_source(self, source):
        """Begin a transaction on a named source (None: the default)."""
        name = ffi.NULL if source is None else _cstr("source", source)
        return self._begin(lib.dbr_tx_begin_source, name)

    # Routing and sources.

    def _route(self, fn, target):
        buf = ffi.new("char[]", lib.DBR_NAME_SIZE)
        reason = ffi.new("int *")
        self._enter()
        try:
            rc = fn(self._db, target, buf, lib.DBR_NAME_SIZE, reason)
        finally:
            self._leave()
        if rc != lib.DBR_OK:
            raise misuse("route: the source name does not fit")
        return Route(_str(buf), _REASONS.get(reason[0], "?"))

    def route(self, chat):
        """Where an operation for `chat` goes: Route(source, reason)."""
        return self._route(lib.dbr_route_chat, _chat(chat))

    def route_scope(self, scope):
        """Where an operation in scope `scope` goes: Route(source,
        reason)."""
        return self._route(lib.dbr_route_scope, _cstr("scope", scope))

    def source_names(self):
        """The configured sources' names, in configuration order."""
        pp = ffi.new("char ***")
        count = ffi.new("size_t *")
        err = ffi.new("struct dbr_error *")
        self._enter()
        try:
            if lib.dbr_source_names(self._db, pp, count, err) != lib.DBR_OK:
                raise from_struct(err)
        finally:
            self._leave()
        try:
            return [_str(pp[0][i]) for i in range(count[0])]
        finally:
            lib.dbr_free(pp[0])

    def source(self, name=None):
        """One source (None: the default) as a Source."""
        name_b = ffi.NULL if name is None else _cstr("source", name)
        info = ffi.new("struct dbr_source_info *")
        info.size = ffi.sizeof("struct dbr_source_info")
        st = ffi.new("struct dbr_source_stats *")
        st.size = ffi.sizeof("struct dbr_source_stats")
        err = ffi.new("struct dbr_error *")
        self._enter()
        try:
            if (lib.dbr_source_info(self._db, name_b, info, err)
                    != lib.DBR_OK
                    or lib.dbr_source_stats(self._db, name_b, st, err)
                    != lib.DBR_OK):
                raise from_struct(err)
        finally:
            self._leave()
        fl = info.flags
        return Source(
            name=_str(info.name), type=_str(info.type),
            sql=bool(fl & lib.DBR_SOURCE_SQL),
            kv=bool(fl & lib.DBR_SOURCE_KV),
            transactions=bool(fl & lib.DBR_SOURCE_TRANSACTIONS),
            readonly=bool(fl & lib.DBR_SOURCE_READONLY),
            is_default=bool(info.is_default),
            driver_version=_str(info.driver_version),
            driver_origin=_str(info.driver_origin),
            available=st.state != lib.DBR_SOURCE_UNAVAILABLE,
            unavailable_since=st.since or None, ops=st.ops,
            errors=st.errors, diverted=st.diverted, pool_max=st.pool_max,
            pool_open=st.pool_open, pool_in_use=st.pool_in_use,
            pool_idle=st.pool_idle, pool_waiters=st.pool_waiters,
            **_stats_fields(st))

    def metrics_text(self):
        """Every source's metrics in the Prometheus text exposition
        format (dbr_metrics_write()), as str."""
        parts = []
        err = ffi.new("struct dbr_error *")

        @ffi.callback("int(void *, const char *, size_t)")
        def write(ud, text, length):
            parts.append(ffi.unpack(text, length))
            return 0

        self._enter()
        try:
            if lib.dbr_metrics_write(self._db, write, ffi.NULL, err) \
                    != lib.DBR_OK:
                raise from_struct(err)
        finally:
            self._leave()
        return b"".join(parts).decode("utf-8", "replace")

    def sources(self):
        """Every source as a Source, in configuration order."""
        return [self.source(n) for n in self.source_names()]

    def ping(self, source=None):
        """Check that a source (None: the default) answers; raises the
        connection's error when it does not."""
        name = ffi.NULL if source is None else _cstr("source", source)
        err = ffi.new("struct dbr_error *")
        self._enter()
        try:
            if lib.dbr_source_ping(self._db, name, err) != lib.DBR_OK:
                raise from_struct(err)
        finally:
            self._leave()


def _order_keys(order_by):
    if order_by is None:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    keys = []
    for k in order_by:
        words = _cstr("order_by", k).rsplit(None, 1)
        desc = len(words) == 2 and words[1].upper() == b"DESC"
        if len(words) == 2 and words[1].upper() in (b"ASC", b"DESC"):
            k = words[0]
        else:
            k = k.encode("utf-8")
        keys.append((k, desc))
    return keys


def _release(h, why):
    """Free a handle's C object (the caller made sure no call is in
    flight on it). A transaction's result goes first."""
    with h.lock:
        if h.ptr is None:
            return
        ptr, h.ptr, h.gone = h.ptr, None, why
        child, h.child = h.child, None
        if child is not None and child.ptr is not None:
            child_ptr, child.ptr, child.gone = child.ptr, None, why
            lib.dbr_result_free(child_ptr)
        if h.is_tx:
            lib.dbr_tx_rollback(ptr, ffi.NULL)
        else:
            lib.dbr_result_free(ptr)


class Result:
    """A cursor over one statement's rows (PEP 249's cursor, less
    execute): iterate it for tuples, or fetchone/fetchmany/fetchall.

    Attributes: description (7-tuples, name first; None for a statement
    without result columns), rowcount (rows affected for a statement
    without result columns, else -1), lastrowid (the inserted row's id
    where the backend has one, else None), source (the source that served
    it; for a fan-out, that served the last row fetched), diverted_from
    (the source it was routed to when it ran on the default source
    instead, else None), missing (fan-out with allow_partial: a list of
    (source, Error) skipped).

    The result holds one pooled connection until its last row was read
    or close() is called; a statement without result columns gives its
    connection back at once.
    """

    arraysize = 1

    def __init__(self, db, ptr, lock, tx, fanout=False):
        # Called with a call in flight: ptr is valid here.
        self._db = db
        self._tx = tx
        self._h = _Handle(ptr, lock)
        self._fanout = fanout
        self._val = ffi.new("struct dbr_value *")
        self._ncol = lib.dbr_result_column_count(ptr)
        self.description = tuple(
            (_str(lib.dbr_result_column_name(ptr, i)),) + (None,) * 6
            for i in range(self._ncol)) or None
        self.rowcount = -1
        self.lastrowid = None
        self.source = _str(lib.dbr_result_source(ptr))
        self.diverted_from = _str(lib.dbr_result_diverted_from(ptr))
        self.missing = self._read_missing(ptr) if fanout else []
        if tx is None:
            db._track(self._h)
        if not self._ncol:
            with lock:
                self._step()

    @staticmethod
    def _read_missing(ptr):
        missing = []
        err = ffi.new("struct dbr_error *")
        for i in range(1 << 16):
            name = lib.dbr_result_missing(ptr, i, err)
            if name == ffi.NULL:
                break
            missing.append((_str(name), from_struct(err)))
        return missing

    def _free(self):
        """Free the C result (lock held, call in flight)."""
        h = self._h
        if h.ptr is None:
            return
        ptr, h.ptr = h.ptr, None
        if self._tx is None:
            self._db._untrack(h)
        lib.dbr_result_free(ptr)

    def _value(self, ptr, col):
        v = self._val
        lib.dbr_result_value(ptr, col, v)
        t = v.type
        if t == lib.DBR_TYPE_INT64:
            return v.u.i
        if t == lib.DBR_TYPE_DOUBLE:
            return v.u.d
        if t == lib.DBR_TYPE_BOOL:
            return v.u.i != 0
        if t == lib.DBR_TYPE_TIMESTAMP:
            return _EPOCH + datetime.timedelta(microseconds=v.u.i)
        if t == lib.DBR_TYPE_TEXT:
            if not v.len:
                return ""
            try:
                return str(ffi.buffer(v.u.s, v.len), "utf-8")
            except UnicodeDecodeError as e:
                raise DataError("column %d: text is not valid UTF-8 (%s)"
                                % (col + 1, e), code=lib.DBR_E_STMT,
                                source=self.source) from None
        if t == lib.DBR_TYPE_BLOB:
            if not v.len:
                return b""
            return ffi.buffer(v.u.b, v.len)[:]
        return None

    def _step(self):
        """The next row as a tuple, or None at the end (lock held)."""
        h = self._h
        ptr = h.ptr
        if ptr is None:
            if h.gone is not None:
                raise misuse("result is invalid: %s" % h.gone)
            return None
        rc = lib.dbr_result_next(ptr)
        if rc == lib.DBR_ROW:
            if self._fanout:
                self.source = _str(lib.dbr_result_source(ptr))
            return tuple(self._value(ptr, i) for i in range(self._ncol))
        if rc == lib.DBR_DONE:
            if not self._ncol:
                self.rowcount = lib.dbr_result_changes(ptr)
            rowid = ffi.new("int64_t *")
            if lib.dbr_result_last_insert_id(ptr, rowid):
                self.lastrowid = rowid[0]
            self._free()
            return None
        exc = from_struct(lib.dbr_result_error(ptr))
        self._free()
        raise exc

    def _fetch(self, limit):
        db = self._db
        db._enter()
        try:
            with self._h.lock:
                rows = []
                while limit is None or len(rows) < limit:
                    row = self._step()
                    if row is None:
                        break
                    rows.append(row)
                return rows
        finally:
            db._leave()

    def fetchone(self):
        """The next row as a tuple, or None after the last."""
        rows = self._fetch(1)
        return rows[0] if rows else None

    def fetchmany(self, size=None):
        """Up to `size` (default: arraysize) more rows, as a list."""
        return self._fetch(self.arraysize if size is None else size)

    def fetchall(self):
        """Every remaining row, as a list."""
        return self._fetch(None)

    def __iter__(self):
        return self

    def __next__(self):
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def close(self):
        """Free the result and give its connection back (also done after
        the last row). Fetching from a closed result raises."""
        db = self._db
        try:
            db._enter()
        except ProgrammingError:
            return
        try:
            with self._h.lock:
                if self._h.ptr is not None:
                    self._h.gone = "it was closed"
                self._free()
        finally:
            db._leave()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        # A transaction's result is the transaction's to free.
        if self._tx is None and getattr(self, "_h", None) is not None:
            try:
                self.close()
            except Exception:
                pass


class Transaction:
    """An open transaction: one connection pinned until commit() or
    rollback(). As a context manager it commits when the block ends
    normally and rolls back on an exception. A new execute() closes the
    previous Result of the transaction."""

    def __init__(self, db, ptr):
        self._db = db
        self._h = _Handle(ptr, threading.RLock(), is_tx=True)
        db._track(self._h)

    @property
    def active(self):
        return self._h.ptr is not None

    def _check(self):
        if self._h.ptr is None:
            raise misuse("transaction has ended: %s" % self._h.gone)

    def _close_result(self, why):
        child = self._h.child
        if child is not None and child.ptr is not None:
            ptr, child.ptr, child.gone = child.ptr, None, why
            lib.dbr_result_free(ptr)
        self._h.child = None

    def execute(self, sql, params=()):
        """Run one statement inside the transaction (params a sequence
        for `?`, or a mapping for `:name`); returns a Result."""
        sql_b = _cstr("sql", sql)
        keep = []
        named = isinstance(params, collections.abc.Mapping)
        arr, n = (_bind_named if named else _bind)(params, keep)
        query = lib.dbr_tx_query_named if named else lib.dbr_tx_query
        out = ffi.new("struct dbr_result **")
        err = ffi.new("struct dbr_error *")
        db = self._db
        db._enter()
        try:
            with self._h.lock:
                self._check()
                self._close_result("the transaction ran another statement")
                if query(self._h.ptr, sql_b, arr, n, out,
                         err) != lib.DBR_OK:
                    raise from_struct(err)
                res = Result(db, out[0], self._h.lock, self)
                self._h.child = res._h
                return res
        finally:
            db._leave()

    def _end(self, fn, why, failed):
        err = ffi.new("struct dbr_error *")
        db = self._db
        db._enter()
        try:
            with self._h.lock:
                self._check()
                self._close_result("its transaction ended: " + why)
                ptr, self._h.ptr, self._h.gone = self._h.ptr, None, why
                db._untrack(self._h)
                if fn(ptr, err) != lib.DBR_OK:
                    self._h.gone = failed
                    raise from_struct(err)
        finally:
            db._leave()

    def commit(self):
        """Commit and end the transaction (rolled back when the commit
        fails: the exception says why)."""
        self._end(lib.dbr_tx_commit, "it was committed",
                  "its commit failed: it was rolled back or its "
                  "connection lost")

    def rollback(self):
        """Roll back and end the transaction."""
        self._end(lib.dbr_tx_rollback, "it was rolled back",
                  "its rollback failed: its connection was lost")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._h.ptr is None:
            return False
        if exc_type is None:
            self.commit()
        else:
            try:
                self.rollback()
            except Exception:
                pass  # the block's own exception is the one to see
        return False

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is None or h.ptr is None:
            return
        try:
            self.rollback()
        except Exception:
            pass
