"""dbroute.aio: blocking calls in a bounded pool, the loop never waits."""
import asyncio
import gc
import os
import threading
import time

import pytest

import dbroute
import dbroute.aio
from conftest import need, write_ini

TIMEOUT = 60


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def test_hundred_tasks(three_path, table):
    async def main():
        async with dbroute.aio.open(three_path, max_workers=4) as db:
            for chat in (1, 2, -1):
                await db.execute(chat, "CREATE TABLE %s (k BIGINT, v TEXT)"
                                 % table)

            async def task(k):
                chat = (1, 2, -1)[k % 3]
                await db.execute(chat, "INSERT INTO %s VALUES (?, ?)"
                                 % table, (k, "v%d 😀" % k))
                rows = await db.fetchall(chat, "SELECT v FROM %s WHERE "
                                         "k = ?" % table, (k,))
                assert rows == [("v%d 😀" % k,)]
                return chat

            chats = await asyncio.gather(*(task(k) for k in range(100)))
            assert chats.count(-1) == 33
            r = await db.fanout("SELECT count(*) FROM %s" % table)
            assert sum([n async for (n,) in r]) == 100
            for chat in (1, 2, -1):
                await db.execute(chat, "DROP TABLE %s" % table)
            assert all(s.pool_in_use == 0 for s in await db.sources())
        assert db.closed

    run(main())


def test_loop_not_blocked(three_path):
    async def main():
        async with dbroute.aio.open(three_path) as db:
            slow = asyncio.ensure_future(
                db.fetchall(-1, "SELECT pg_sleep(0.3), 1"))
            for _ in range(3):
                await asyncio.sleep(0)
            # The statement runs in the pool while the loop goes on.
            assert not slow.done()
            assert (await slow)[0][1] == 1

    run(main())


def test_transaction_and_errors(three_path, table):
    async def main():
        db = await dbroute.aio.open(three_path, max_workers=2)
        try:
            await db.execute(-1, "CREATE TABLE %s (x BIGINT)" % table)
            async with db.transaction(-1) as tx:
                await tx.execute("INSERT INTO %s VALUES (1)" % table)
            with pytest.raises(ZeroDivisionError):
                async with db.transaction(-1) as tx:
                    await tx.execute("INSERT INTO %s VALUES (2)" % table)
                    1 / 0
            assert await db.fetchall(-1, "SELECT x FROM %s" % table) \
                == [(1,)]
            with pytest.raises(dbroute.ProgrammingError) as ei:
                await db.execute(-1, "SELEC")
            assert ei.value.source == "pg"
            r = await db.execute_scope("cache", "PING")
            assert await r.fetchone() is not None
            await r.close()
            await db.execute(-1, "DROP TABLE %s" % table)
        finally:
            await db.close()

    run(main())


def _ini(tmp_path, body):
    return write_ini(tmp_path, "[database]\ndefault_source = s\n"
                     "[source.s]\n" + body, "aio.ini")


def _pg_ini(tmp_path, max_connections=5, timeout=3):
    need("DBR_TEST_PG")
    return _ini(tmp_path, "type = postgres\nconninfo = %s\ntimeout = %d\n"
                "max_connections = %d\n" % (os.environ["DBR_TEST_PG"],
                                            timeout, max_connections))


def test_more_transactions_than_connections_pg(tmp_path):
    """Tasks waiting in begin() for a connection never keep the commits
    that give one back from running (max_workers = max_connections)."""
    ini = _pg_ini(tmp_path, max_connections=3)

    async def main():
        async with dbroute.aio.open(ini, max_workers=3) as db:
            async def task(k):
                async with db.transaction(1) as tx:
                    await asyncio.sleep(0.05)
                    r = await tx.execute("SELECT ?::int", (k,))
                    return (await r.fetchall())[0][0]

            got = await asyncio.gather(*(task(k) for k in range(9)))
            assert got == list(range(9))
            assert (await db.sources())[0].pool_in_use == 0

    run(main())


def test_more_transactions_than_workers_sqlite(tmp_path):
    """On one SQLite file, transactions waiting in BEGIN IMMEDIATE for the
    write lock never keep the commit that frees it from running."""
    ini = _ini(tmp_path, "type = sqlite\npath = %s\ntimeout = 3\n"
               "max_connections = 8\n" % (tmp_path / "m.db"))

    async def main():
        async with dbroute.aio.open(ini, max_workers=2) as db:
            await db.execute(1, "CREATE TABLE m (chat, text)")

            async def task(chat):
                async with db.transaction(chat) as tx:
                    await tx.execute("INSERT INTO m VALUES (?, ?)",
                                     (chat, "hi"))
                    await asyncio.sleep(0.01)
                    await tx.execute("UPDATE m SET text = 'x' WHERE "
                                     "chat = ?", (chat,))

            await asyncio.gather(*(task(c) for c in range(6)))
            assert await db.fetchall(1, "SELECT count(*) FROM m "
                                     "WHERE text = 'x'") == [(6,)]

    run(main())


async def _ticker(gaps):
    last = time.monotonic()
    for _ in range(100000):
        await asyncio.sleep(0.01)
        now = time.monotonic()
        gaps.append(now - last)
        last = now


def test_cancelled_close_does_not_block_loop(tmp_path):
    """close() cancelled while a statement runs: the loop keeps ticking,
    and the handle is still closed once the statement ends."""
    ini = _pg_ini(tmp_path)

    async def main():
        gaps = []
        db = await dbroute.aio.open(ini)
        q = asyncio.ensure_future(db.fetchall(1, "SELECT pg_sleep(1)"))
        await asyncio.sleep(0.2)
        tick = asyncio.ensure_future(_ticker(gaps))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(db.close(), 0.1)
        await asyncio.sleep(0.2)
        tick.cancel()
        # A stalled loop would show one gap of about 0.8 s.
        assert gaps and max(gaps) < 0.5
        await asyncio.gather(q, return_exceptions=True)
        for _ in range(500):
            if db.closed:
                break
            await asyncio.sleep(0.01)
        assert db.closed

    run(main())


def test_dropped_result_closed_off_the_loop(tmp_path):
    """An AsyncResult dropped unread is closed in the pool, not on the
    event loop's thread."""
    ini = _ini(tmp_path, "type = sqlite\npath = %s\n" % (tmp_path / "d.db"))

    async def main():
        async with dbroute.aio.open(ini) as db:
            res = await db.execute(1, "SELECT 1 UNION ALL SELECT 2")
            assert await res.fetchone() == (1,)
            sync, closed_in = res.sync, []
            close = sync.close

            def recording_close():
                closed_in.append(threading.current_thread())
                close()

            sync.close = recording_close
            del res
            gc.collect()
            for _ in range(500):
                if closed_in:
                    break
                await asyncio.sleep(0.01)
            assert closed_in and closed_in[0] is not threading.main_thread()
            assert (await db.sources())[0].pool_in_use == 0

    run(main())
