"""Fan-out over several SQL sources."""
import pytest

import dbroute


@pytest.fixture
def filled(three, table):
    for chat, src in ((1, "lite"), (2, "other"), (-1, "pg")):
        three.execute_source(src, "CREATE TABLE %s (n BIGINT, s TEXT)"
                             % table)
        for n in range(3):
            three.execute(chat, "INSERT INTO %s VALUES (?, ?)" % table,
                          (n * 3 + abs(chat), src))
    return table


def test_concat_and_sources(three, filled):
    r = three.fanout("SELECT n, s FROM %s ORDER BY n" % filled)
    rows = []
    for row in r:
        assert r.source == row[1]
        rows.append(row)
    assert sorted(rows) == sorted(
        (n * 3 + c, s) for c, s in ((1, "lite"), (2, "other"), (1, "pg"))
        for n in range(3))
    assert r.missing == []


def test_ordered_limited_distinct(three, filled):
    r = three.fanout("SELECT n FROM %s ORDER BY n DESC" % filled,
                     order_by="n DESC", limit=4)
    assert r.fetchall() == [(8,), (7,), (7,), (5,)]
    r = three.fanout("SELECT n FROM %s WHERE n < ? ORDER BY n" % filled,
                     (5,), order_by=["n"], distinct=True)
    assert r.fetchall() == [(1,), (2,), (4,)]
    r = three.fanout("SELECT n FROM %s ORDER BY n" % filled,
                     sources=["lite", "other"], order_by="n ASC",
                     sequential=True)
    assert [x for (x,) in r] == [1, 2, 4, 5, 7, 8]


def test_partial(three, filled):
    three.execute_source("other", "DROP TABLE %s" % filled)
    with pytest.raises(dbroute.ProgrammingError) as ei:
        three.fanout("SELECT n FROM %s" % filled)
    assert ei.value.source == "other"
    r = three.fanout("SELECT n FROM %s" % filled, allow_partial=True)
    assert len(r.fetchall()) == 6
    (name, err), = r.missing
    assert name == "other" and isinstance(err, dbroute.ProgrammingError)
    assert err.source == "other"
    with pytest.raises(ValueError):
        three.fanout("SELECT 1", limit=0)
