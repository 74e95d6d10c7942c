"""Threads: one shared handle, the GIL released in library calls, and
close() against calls in flight and results left behind."""
import gc
import threading

import pytest

import dbroute

JOIN = 60  # seconds: no thread of these tests may take longer


def test_eight_threads_share_a_handle(three, table):
    for chat in (1, 2, -1):
        three.execute(chat, "CREATE TABLE %s (t BIGINT, n BIGINT)" % table)
    chats = (1, 2, -1)
    errors = []

    def work(t):
        try:
            chat = chats[t % 3]
            for n in range(40):
                three.execute(chat, "INSERT INTO %s VALUES (?, ?)" % table,
                              (t, n))
                got = three.execute(chat, "SELECT count(*) FROM %s WHERE "
                                    "t = ?" % table, (t,)).fetchone()
                assert got == (n + 1,)
                if n % 10 == 0:
                    with three.transaction(chat) as tx:
                        tx.execute("SELECT n FROM %s WHERE t = ?" % table,
                                   (t,)).fetchall()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(JOIN)
    assert not any(th.is_alive() for th in threads)
    assert errors == []
    for s in three.sources():
        assert s.pool_in_use == 0, s


def pg_waiting(db, what):
    """Whether a PostgreSQL backend is waiting on a lock (the statement
    runs on another connection)."""
    return db.execute_source(
        "pg", "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type"
        " = 'Lock' AND query LIKE ?", ("%" + what + "%",)).fetchone()[0] > 0


def test_gil_released_while_blocked(three, table):
    # A thread blocks inside the library on a row lock this thread holds.
    # If the library call kept the GIL, this thread could never run again
    # to see it waiting and release the lock: the thread would time out.
    three.execute(-1, "CREATE TABLE %s (x BIGINT)" % table)
    three.execute(-1, "INSERT INTO %s VALUES (1)" % table)
    tx = three.transaction(-1)
    tx.execute("UPDATE %s SET x = 2" % table)
    out = []
    th = threading.Thread(target=lambda: out.append(three.execute(
        -1, "UPDATE %s SET x = 3" % table).rowcount))
    th.start()
    for _ in range(1000):  # 10 s at most
        if pg_waiting(three, "SET x = 3"):
            break
        threading.Event().wait(0.01)
    else:
        pytest.fail("the update never waited on the lock")
    tx.commit()
    th.join(JOIN)
    assert out == [1]


def test_close_waits_for_calls_in_flight(three_path):
    db = dbroute.open(three_path)
    started = threading.Event()
    out = []

    def slow():
        started.set()
        try:
            res = db.execute(-1, "SELECT pg_sleep(0.5), 7")
            out.append("executed")
            res.fetchall()
        except dbroute.Error as e:
            out.append(e)

    th = threading.Thread(target=slow)
    th.start()
    started.wait(JOIN)
    for _ in range(1000):
        if db.source("pg").pool_in_use:
            break
        threading.Event().wait(0.01)
    db.close()
    th.join(JOIN)
    # The statement in flight finished; its result is then invalid.
    assert out[0] == "executed"
    assert isinstance(out[1], dbroute.ProgrammingError)
    assert "closed" in str(out[1])


def test_use_after_close_raises(three_path):
    db = dbroute.open(three_path)
    r1 = db.execute(1, "SELECT 1 UNION ALL SELECT 2")
    r1.fetchone()
    r2 = db.execute(-1, "SELECT 1")
    tx = db.transaction(-1)
    txr = tx.execute("SELECT generate_series(1, 3)")
    db.close()
    db.close()
    for call in (r1.fetchone, r2.fetchall, txr.fetchone, tx.commit,
                 lambda: tx.execute("SELECT 1"), lambda: db.execute(1, "x"),
                 db.sources, lambda: db.route(1)):
        with pytest.raises(dbroute.ProgrammingError, match="closed"):
            call()
    r1.close()  # closing what is gone is allowed
    with db:
        pass


def test_result_close_and_garbage(lite):
    r = lite.execute(1, "SELECT 1 UNION ALL SELECT 2")
    assert lite.source().pool_in_use == 1
    r.close()
    assert lite.source().pool_in_use == 0
    with pytest.raises(dbroute.ProgrammingError, match="closed"):
        r.fetchone()
    with lite.execute(1, "SELECT 1 UNION ALL SELECT 2") as r:
        r.fetchone()
    assert lite.source().pool_in_use == 0
    lite.execute(1, "SELECT 1 UNION ALL SELECT 2").fetchone()
    gc.collect()
    assert lite.source().pool_in_use == 0


def test_one_result_many_threads(lite):
    # Calls on one result are serialised; each row is read once.
    r = lite.execute(1, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT "
                     "n + 1 FROM c WHERE n < 2000) SELECT n FROM c")
    got = []

    def drain():
        for row in r:
            got.append(row[0])

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(JOIN)
    assert sorted(got) == list(range(1, 2001))
