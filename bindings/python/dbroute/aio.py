"""asyncio interface: the blocking calls run in a bounded thread pool, so
the event loop never waits on a database.

    import dbroute.aio
    async with dbroute.aio.open("bot.ini") as db:
        await db.execute(chat, "INSERT INTO t VALUES (?)", (1,))
        rows = await db.fetchall(chat, "SELECT x FROM t")
        async with db.transaction(chat) as tx:
            await tx.execute("UPDATE t SET x = x + 1")

The pool has `max_workers` threads (default 8): at most that many calls
run at once, the others wait their turn without blocking the loop. Size it
to the sources' max_connections.
"""

import asyncio
import concurrent.futures
import functools

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


async def _open(config_path, max_workers):
    if not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError("max_workers must be a positive int")
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=max_workers, thread_name_prefix="dbroute")
    try:
        db = await _run(pool, _db.Database, config_path)
    except BaseException:
        pool.shutdown(wait=False)
        raise
    return AsyncDatabase(db, pool)


async def _run(pool, fn, *args, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        pool, functools.partial(fn, *args, **kwargs))


class AsyncResult:
    """A Result whose fetches run in the pool. Attributes as Result."""

    def __init__(self, res, pool):
        self.sync = res
        self._pool = pool

    def __getattr__(self, name):
        return getattr(self.sync, name)

    async def fetchone(self):
        return await _run(self._pool, self.sync.fetchone)

    async def fetchmany(self, size=None):
        return await _run(self._pool, self.sync.fetchmany, size)

    async def fetchall(self):
        return await _run(self._pool, self.sync.fetchall)

    async def close(self):
        await _run(self._pool, self.sync.close)

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


class AsyncTransaction:
    """A Transaction whose calls run in the pool. As an async context
    manager: commit when the block ends normally, rollback on an
    exception (cancellation included)."""

    def __init__(self, tx, pool):
        self.sync = tx
        self._pool = pool

    @property
    def active(self):
        return self.sync.active

    async def execute(self, sql, params=()):
        res = await _run(self._pool, self.sync.execute, sql, params)
        return AsyncResult(res, self._pool)

    async def fetchall(self, sql, params=()):
        """execute() and fetchall() in one call to the pool."""
        return await _run(self._pool, _fetchall, self.sync.execute, sql,
                          params)

    async def commit(self):
        await _run(self._pool, self.sync.commit)

    async def rollback(self):
        await _run(self._pool, self.sync.rollback)

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await _run(self._pool, self.sync.__exit__, exc_type, exc, tb)
        return False


def _fetchall(execute, *args):
    with execute(*args) as res:
        return res.fetchall()


class AsyncDatabase:
    """A Database whose calls run in a bounded thread pool."""

    def __init__(self, db, pool):
        self.sync = db
        self._pool = pool

    @property
    def closed(self):
        return self.sync.closed

    async def _result(self, fn, *args, **kwargs):
        res = await _run(self._pool, fn, *args, **kwargs)
        return AsyncResult(res, self._pool)

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
        return await _run(self._pool, _fetchall, self.sync.execute, chat,
                          sql, params)

    async def fetchall_scope(self, scope, sql, params=()):
        return await _run(self._pool, _fetchall, self.sync.execute_scope,
                          scope, sql, params)

    async def fetchall_source(self, source, sql, params=()):
        return await _run(self._pool, _fetchall, self.sync.execute_source,
                          source, sql, params)

    def transaction(self, chat):
        """Begin a transaction: await it for an AsyncTransaction, or use
        it as `async with db.transaction(chat) as tx:`."""
        return _Pending(self._begin(self.sync.transaction, chat))

    def transaction_source(self, source):
        return _Pending(self._begin(self.sync.transaction_source, source))

    async def _begin(self, fn, target):
        tx = await _run(self._pool, fn, target)
        return AsyncTransaction(tx, self._pool)

    def route(self, chat):
        """Routing reads memory only: no need to await."""
        return self.sync.route(chat)

    def route_scope(self, scope):
        return self.sync.route_scope(scope)

    async def sources(self):
        return await _run(self._pool, self.sync.sources)

    async def ping(self, source=None):
        await _run(self._pool, self.sync.ping, source)

    async def close(self):
        """Wait for calls in flight, close the handle, stop the pool."""
        try:
            await _run(self._pool, self.sync.close)
        finally:
            self._pool.shutdown(wait=True)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False
