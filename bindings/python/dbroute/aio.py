"""asyncio interface: the blocking calls run in thread pools, so the
event loop never waits on a database.

    import dbroute.aio
    async with dbroute.aio.open("bot.ini") as db:
        await db.execute(chat, "INSERT INTO t VALUES (?)", (1,))
        rows = await db.fetchall(chat, "SELECT x FROM t")
        async with db.transaction(chat) as tx:
            await tx.execute("UPDATE t SET x = x + 1")

Two pools, so that a call which gives a connection back can always run:

- the bounded pool (`max_workers` threads, default 8) runs the calls that
  may wait for a connection: open, execute*, fetchall*, fanout,
  transaction*, sources, ping, metrics_text;
- the holders' pool runs the calls on an object that already holds a
  connection: AsyncTransaction.execute/fetchall/commit/rollback and the
  end of its `async with`, AsyncResult.fetch*/close. Each such object has
  at most one call in that pool at a time, and the pool has a thread for
  every connection the sources can hold (the sum of their
  max_connections), so a commit never queues behind calls that wait for
  the connection it would give back.

A wrapper dropped without close() is closed (a transaction rolled back)
by a thread of its own, never on the loop's thread.

max_workers bounds only the first pool; it need not match the sources'
max_connections.
"""

import asyncio
import concurrent.futures
import functools
import queue
import threading

from . import _db

__all__ = ["open", "AsyncDatabase", "AsyncResult", "AsyncTransaction"]


class _Pending:
    """A coroutine whose result is also usable as `async with X:` (no
    `await` needed there)."""

    def __init__(self, coro):
        self._coro = coro
        self._obj = None

    def __await__(self):
        return self._coro.__await__()

    async def __aenter__(self):
        self._obj = await self._coro
        return await self._obj.__aenter__()

    async def __aexit__(self, *exc):
        return await self._obj.__aexit__(*exc)


def open(config_path, *, max_workers=8):  # noqa: A001
    """Open a handle (in the pool: reading the file and loading drivers
    may touch the disk). Await it for an AsyncDatabase, or use it as
    `async with dbroute.aio.open(path) as db:`."""
    return _Pending(_open(config_path, max_workers))


def _connections(db):
    """How many connections the handle's sources can hold at once."""
    return max(1, sum(s.pool_max for s in db.sources()))


async def _open(config_path, max_workers):
    if (isinstance(max_workers, bool) or not isinstance(max_workers, int)
            or max_workers < 1):
        raise ValueError("max_workers must be a positive int")
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=max_workers, thread_name_prefix="dbroute")
    try:
        db = await _run(pool, _db.Database, config_path)
        try:
            n = await _run(pool, _connections, db)
        except BaseException:
            db.close()
            raise
    except BaseException:
        pool.shutdown(wait=False)
        raise
    # Threads start only when needed: the bound is not a cost.
    held = concurrent.futures.ThreadPoolExecutor(
        max_workers=n, thread_name_prefix="dbroute-held")
    return AsyncDatabase(db, _Pools(pool, held))


async def _run(pool, fn, *args, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        pool, functools.partial(fn, *args, **kwargs))


class _Pools:
    """The handle's two thread pools (see the module's docstring), and a
    thread that closes the wrappers dropped without close()."""

    __slots__ = ("wait", "held", "dropped")

    def __init__(self, wait, held):
        self.wait = wait
        self.held = held
        self.dropped = queue.SimpleQueue()
        threading.Thread(target=_reap, args=(self.dropped,),
                         name="dbroute-reaper", daemon=True).start()

    def drop(self, fn, *args):
        """Run fn(*args) off the loop, from a __del__. A __del__ may run
        in the middle of any call, a pool's submit() included, so this
        takes no lock: SimpleQueue.put() is reentrant."""
        self.dropped.put((fn, args))

    def shutdown(self):
        self.wait.shutdown(wait=False)
        self.held.shutdown(wait=False)
        self.dropped.put(None)


def _reap(dropped):
    """Close what drop() queued until shutdown() (after the handle closed
    nothing is left to do: its close freed everything)."""
    while True:
        job = dropped.get()
        if job is None:
            return
        fn, args = job
        job = None
        try:
            fn(*args)
        except Exception:
            pass  # a __del__ has no one to tell
        fn = args = None


class _Holder:
    """One object holding a connection (a transaction and its results
    share one): its calls run in the holders' pool one at a time. A call
    cancelled while it runs keeps its turn until it ends, so the object
    never has two threads of the pool."""

    __slots__ = ("pools", "lock")

    def __init__(self, pools):
        self.pools = pools
        self.lock = asyncio.Lock()

    async def run(self, fn, *args):
        loop = asyncio.get_running_loop()
        await self.lock.acquire()
        try:
            cf = self.pools.held.submit(fn, *args)
        except BaseException:
            self.lock.release()
            raise
        cf.add_done_callback(functools.partial(_release, loop, self.lock))
        return await asyncio.wrap_future(cf)


def _release(loop, lock, _):
    try:
        loop.call_soon_threadsafe(lock.release)
    except RuntimeError:
        pass  # the loop is closed: nobody waits for the lock


class AsyncResult:
    """A Result whose fetches run in the holders' pool. Attributes as
    Result. Dropped without close(), it is closed in that pool."""

    def __init__(self, res, holder):
        self.sync = res
        self._holder = holder

    def __getattr__(self, name):
        return getattr(self.sync, name)

    async def fetchone(self):
        return await self._holder.run(self.sync.fetchone)

    async def fetchmany(self, size=None):
        return await self._holder.run(self.sync.fetchmany, size)

    async def fetchall(self):
        return await self._holder.run(self.sync.fetchall)

    async def close(self):
        await self._holder.run(self.sync.close)

    def __aiter__(self):
        return self

    async def __anext__(self):
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False

    def __del__(self):
        # Freeing a result may wait for its connection: not on the loop.
        sync = self.__dict__.get("sync")
        holder = self.__dict__.get("_holder")
        if sync is not None and holder is not None and sync._tx is None:
            holder.pools.drop(sync.close)


class AsyncTransaction:
    """A Transaction whose calls run in the holders' pool. As an async
    context manager: commit when the block ends normally, rollback on an
    exception (cancellation included). Dropped while active, it is rolled
    back in that pool."""

    def __init__(self, tx, holder):
        self.sync = tx
        self._holder = holder

    @property
    def active(self):
        return self.sync.active

    async def execute(self, sql, params=()):
        res = await self._holder.run(self.sync.execute, sql, params)
        return AsyncResult(res, self._holder)

    async def fetchall(self, sql, params=()):
        """execute() and fetchall() in one call to the pool."""
        return await self._holder.run(_fetchall, self.sync.execute, sql,
                                      params)

    async def commit(self):
        await self._holder.run(self.sync.commit)

    async def rollback(self):
        await self._holder.run(self.sync.rollback)

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await self._holder.run(self.sync.__exit__, exc_type, exc, tb)
        return False

    def __del__(self):
        sync = self.__dict__.get("sync")
        holder = self.__dict__.get("_holder")
        if sync is not None and holder is not None and sync.active:
            holder.pools.drop(_rollback, sync)


def _rollback(tx):
    if tx.active:
        tx.rollback()


def _fetchall(execute, *args):
    with execute(*args) as res:
        return res.fetchall()


class AsyncDatabase:
    """A Database whose calls run in thread pools (see the module's
    docstring)."""

    def __init__(self, db, pools):
        self.sync = db
        self._pools = pools

    @property
    def closed(self):
        return self.sync.closed

    def _wait(self, fn, *args, **kwargs):
        return _run(self._pools.wait, fn, *args, **kwargs)

    async def _result(self, fn, *args, **kwargs):
        res = await self._wait(fn, *args, **kwargs)
        return AsyncResult(res, _Holder(self._pools))

    async def execute(self, chat, sql, params=()):
        return await self._result(self.sync.execute, chat, sql, params)

    async def execute_scope(self, scope, sql, params=()):
        return await self._result(self.sync.execute_scope, scope, sql,
                                  params)

    async def execute_source(self, source, sql, params=()):
        return await self._result(self.sync.execute_source, source, sql,
                                  params)

    async def fanout(self, sql, params=(), **options):
        return await self._result(self.sync.fanout, sql, params, **options)

    async def fetchall(self, chat, sql, params=()):
        """execute() and fetchall() in one call to the pool; the
        connection goes back before this returns."""
        return await self._wait(_fetchall, self.sync.execute, chat, sql,
                                params)

    async def fetchall_scope(self, scope, sql, params=()):
        return await self._wait(_fetchall, self.sync.execute_scope, scope,
                                sql, params)

    async def fetchall_source(self, source, sql, params=()):
        return await self._wait(_fetchall, self.sync.execute_source,
                                source, sql, params)

    def transaction(self, chat):
        """Begin a transaction: await it for an AsyncTransaction, or use
        it as `async with db.transaction(chat) as tx:`."""
        return _Pending(self._begin(self.sync.transaction, chat))

    def transaction_source(self, source):
        return _Pending(self._begin(self.sync.transaction_source, source))

    async def _begin(self, fn, target):
        tx = await self._wait(fn, target)
        return AsyncTransaction(tx, _Holder(self._pools))

    def route(self, chat):
        """Routing reads memory only: no need to await."""
        return self.sync.route(chat)

    def route_scope(self, scope):
        return self.sync.route_scope(scope)

    async def sources(self):
        return await self._wait(self.sync.sources)

    async def ping(self, source=None):
        await self._wait(self.sync.ping, source)

    async def metrics_text(self):
        return await self._wait(self.sync.metrics_text)

    async def close(self):
        """Wait for calls in flight, close the handle, stop the pools.
        Cancelled, the close still completes in the holders' pool (it
        waits for the calls in flight) and the loop never blocks."""
        cf = self._pools.held.submit(self.sync.close)
        try:
            await asyncio.shield(asyncio.wrap_future(cf))
        finally:
            # The pools' threads end once their jobs are done.
            self._pools.shutdown()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False
