"""dbroute.aio: blocking calls in a bounded pool, the loop never waits."""
import asyncio

import pytest

import dbroute
import dbroute.aio

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
