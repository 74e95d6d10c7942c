"""Transactions: commit, rollback on exception, one cursor at a time."""
import pytest

import dbroute


class Boom(Exception):
    pass


def count(db, chat, table):
    return db.execute(chat, "SELECT count(*) FROM %s" % table).fetchone()[0]


@pytest.mark.parametrize("chat", [1, -1])  # SQLite, PostgreSQL
def test_commit_and_rollback(three, table, chat):
    three.execute(chat, "CREATE TABLE %s (x BIGINT)" % table)
    with three.transaction(chat) as tx:
        assert tx.execute("INSERT INTO %s VALUES (?)" % table,
                          (1,)).rowcount == 1
        tx.execute("INSERT INTO %s VALUES (?)" % table, (2,))
    assert not tx.active
    assert count(three, chat, table) == 2
    with pytest.raises(Boom):
        with three.transaction(chat) as tx:
            tx.execute("INSERT INTO %s VALUES (3)" % table)
            assert tx.execute("SELECT count(*) FROM %s"
                              % table).fetchone() == (3,)
            raise Boom()
    assert count(three, chat, table) == 2
    tx = three.transaction(chat)
    tx.execute("DELETE FROM %s" % table)
    tx.rollback()
    assert count(three, chat, table) == 2
    with pytest.raises(dbroute.ProgrammingError, match="rolled back"):
        tx.execute("SELECT 1")
    with pytest.raises(dbroute.ProgrammingError):
        tx.commit()


def test_failed_statement_rolls_back(three, table):
    three.execute(-1, "CREATE TABLE %s (x BIGINT PRIMARY KEY)" % table)
    with pytest.raises(dbroute.IntegrityError) as ei:
        with three.transaction(-1) as tx:
            tx.execute("INSERT INTO %s VALUES (1)" % table)
            tx.execute("INSERT INTO %s VALUES (1)" % table)
    assert ei.value.sqlstate == "23505" and ei.value.source == "pg"
    assert count(three, -1, table) == 0


def test_new_execute_closes_previous_cursor(lite):
    with lite.transaction(1) as tx:
        r1 = tx.execute("SELECT 1 UNION ALL SELECT 2")
        assert r1.fetchone() == (1,)
        r2 = tx.execute("SELECT 3")
        with pytest.raises(dbroute.ProgrammingError, match="another"):
            r1.fetchone()
        assert r2.fetchall() == [(3,)]
        r3 = tx.execute("SELECT 4 UNION ALL SELECT 5")
        r3.fetchone()
    # Commit freed the half-read cursor first.
    with pytest.raises(dbroute.ProgrammingError, match="committed"):
        r3.fetchone()


def test_transaction_by_source_and_unsupported(three, table):
    with three.transaction_source("other") as tx:
        tx.execute("CREATE TABLE %s (x)" % table)
    assert three.execute(2, "SELECT count(*) FROM %s" % table).fetchone() \
        == (0,)
    with pytest.raises(dbroute.NotSupportedError) as ei:
        three.transaction_source("cache")
    assert ei.value.category == "unsupported"


def test_dropped_transaction_rolls_back(lite, table):
    lite.execute(1, "CREATE TABLE %s (x)" % table)
    tx = lite.transaction(1)
    tx.execute("INSERT INTO %s VALUES (1)" % table)
    del tx  # garbage: rolled back, its connection given back
    assert count(lite, 1, table) == 0
    assert lite.source("lite").pool_in_use == 0


def test_failed_commit_says_so(three, table):
    """After a commit that failed, the transaction says it was rolled
    back, not committed."""
    three.execute(-1, "CREATE TABLE %s (x BIGINT UNIQUE DEFERRABLE "
                  "INITIALLY DEFERRED)" % table)
    tx = three.transaction(-1)
    tx.execute("INSERT INTO %s VALUES (1), (1)" % table)
    with pytest.raises(dbroute.IntegrityError):
        tx.commit()
    assert not tx.active
    with pytest.raises(dbroute.ProgrammingError) as ei:
        tx.execute("SELECT 1")
    assert "commit failed" in str(ei.value)
    assert "committed" not in str(ei.value).replace("commit failed", "")
    assert count(three, -1, table) == 0
