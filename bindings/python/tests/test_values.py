"""Every value type there and back, on each kind of source."""
import datetime

import pytest

import dbroute

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
TEXTS = ["", "plain", "héllo wörld", "emoji 😀🎉 and 日本語",
         "line\nbreak\ttab"]
BLOBS = [b"", b"\x00", b"a\x00b\x00", bytes(range(256)),
         bytes(range(256)) * 8192]  # the last is 2 MiB
BIG = 2 * 1024 * 1024


def roundtrip(db, run, create, table):
    run("CREATE TABLE %s (i BIGINT, d DOUBLE PRECISION, t TEXT, b %s)"
        % (table, create))
    rows = [(None, None, None, None), (INT64_MIN, -1.5, TEXTS[0], BLOBS[0]),
            (INT64_MAX, 1e300, TEXTS[1], BLOBS[1]), (0, 0.0, TEXTS[2],
                                                     BLOBS[2]),
            (1, -0.25, TEXTS[3], BLOBS[3]), (2, 3.5, TEXTS[4], BLOBS[4])]
    for i, row in enumerate(rows):
        r = run("INSERT INTO %s VALUES (?, ?, ?, ?)" % table, row)
        assert r.rowcount == 1
    got = run("SELECT i, d, t, b FROM %s" % table).fetchall()
    assert got == rows
    assert len(got[-1][3]) == BIG
    return got


def test_sqlite_roundtrip(lite, table):
    roundtrip(lite, lambda s, p=(): lite.execute(1, s, p), "BLOB", table)


def test_postgres_roundtrip(three, table):
    roundtrip(three, lambda s, p=(): three.execute(-1, s, p), "BYTEA",
              table)


def test_sqlite_text_with_nul(lite):
    # SQLite keeps a NUL inside text (PostgreSQL's text cannot hold one).
    assert lite.execute(1, "SELECT ?", ("a\x00b😀",)).fetchone() \
        == ("a\x00b😀",)


def test_redis_roundtrip(three, key):
    for v in TEXTS[1:]:
        three.execute_scope("cache", "SET ? ?", (key, v))
        assert three.execute_scope("cache", "GET ?", (key,)).fetchall() \
            == [(v,)]
    for v in BLOBS[1:]:
        three.execute_scope("cache", "SET ? ?", (key, v))
        (got,), = three.execute_scope("cache", "GET ?", (key,)).fetchall()
        got = got if isinstance(got, bytes) else got.encode("utf-8")
        assert got == v
    three.execute_scope("cache", "DEL ?", (key,))
    assert three.execute_scope("cache", "GET ?", (key,)).fetchall() \
        == [(None,)]


def test_buffers_and_bool(lite):
    ba = bytearray(b"\x01\x02\x03")
    mv = memoryview(b"xxabcxx")[2:5]
    assert lite.execute(1, "SELECT ?, ?, ?, ?",
                        (ba, mv, True, False)).fetchone() \
        == (b"\x01\x02\x03", b"abc", 1, 0)


def test_bad_parameters(lite):
    with pytest.raises(dbroute.DataError, match="parameter 2"):
        lite.execute(1, "SELECT ?, ?", (1, INT64_MAX + 1))
    with pytest.raises(dbroute.DataError):
        lite.execute(1, "SELECT ?", (INT64_MIN - 1,))
    with pytest.raises(dbroute.ProgrammingError, match="complex"):
        lite.execute(1, "SELECT ?", (1j,))
    with pytest.raises(dbroute.NotSupportedError, match="named"):
        lite.execute_source("lite", "SELECT :x", {"x": 1})
    with pytest.raises(dbroute.ProgrammingError, match="sequence"):
        lite.execute(1, "SELECT ?", "x")
    with pytest.raises(dbroute.DataError):
        lite.execute(1, "SELECT ?", ("\udc80",))
    with pytest.raises(dbroute.ProgrammingError, match="NUL"):
        lite.execute(1, "SELECT 1\x00; DROP TABLE x")
    with pytest.raises(dbroute.DataError):
        lite.execute(1, "SELECT ?", (memoryview(b"abcd")[::2],))
    with pytest.raises(OverflowError):
        lite.execute(1 << 63, "SELECT 1")
    with pytest.raises(TypeError):
        lite.execute("1", "SELECT 1")


def test_invalid_utf8_text(lite):
    # CAST of a blob to text hands back bytes that are not UTF-8.
    r = lite.execute(1, "SELECT CAST(x'ff00fe' AS TEXT), 1")
    with pytest.raises(dbroute.DataError, match="UTF-8"):
        r.fetchone()
    r.close()


def test_fetch_shapes(lite):
    sql = ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c"
           " WHERE n < 10) SELECT n FROM c")
    r = lite.execute(1, sql)
    assert r.rowcount == -1
    assert r.fetchone() == (1,)
    r.arraysize = 3
    assert r.fetchmany() == [(2,), (3,), (4,)]
    assert r.fetchmany(2) == [(5,), (6,)]
    assert list(r) == [(7,), (8,), (9,), (10,)]
    assert r.fetchone() is None and r.fetchall() == []
    assert lite.execute(1, "SELECT 1 WHERE 0").fetchall() == []


def test_surrogates_raise_data_error(lite):
    """A str the library cannot get as UTF-8 is the binding's DataError,
    wherever it is passed."""
    with pytest.raises(dbroute.DataError, match="sql"):
        lite.execute(1, "SELECT '\udc80'")
    with pytest.raises(dbroute.DataError, match="scope"):
        lite.execute_scope("\udc80", "SELECT 1")
    with pytest.raises(dbroute.DataError, match="source"):
        lite.execute_source("\udc80", "SELECT 1")
    with pytest.raises(dbroute.DataError, match="source"):
        lite.fanout("SELECT 1", sources=["\udc80"])


def test_params_must_be_a_sequence(lite):
    """A set (no order) or a generator (no len) is refused."""
    with pytest.raises(dbroute.ProgrammingError, match="sequence.*set"):
        lite.execute(1, "SELECT ?, ?", {"a", "b"})
    with pytest.raises(dbroute.ProgrammingError, match="sequence"):
        lite.execute(1, "SELECT ?", (x for x in [1]))
    assert lite.execute(1, "SELECT ?, ?", range(2)).fetchone() == (0, 1)
    assert lite.execute(1, "SELECT ?", [7]).fetchone() == (7,)


def test_bool_is_not_a_chat_or_limit(lite):
    with pytest.raises(TypeError):
        lite.route(True)
    with pytest.raises(TypeError):
        lite.execute(False, "SELECT 1")
    with pytest.raises(TypeError):
        lite.fanout("SELECT 1", sources=["lite"], limit=True)
    with pytest.raises(dbroute.DataError):
        lite.fanout("SELECT 1", sources=["lite"], limit=1 << 64)
    assert lite.fanout("SELECT 1", sources=["lite"],
                       limit=(1 << 64) - 1).fetchall() == [(1,)]


def test_lastrowid_and_nan(lite, table):
    lite.execute(1, "CREATE TABLE %s (x)" % table)
    assert lite.execute(1, "INSERT INTO %s VALUES (1)" % table) \
        .lastrowid == 1
    assert lite.execute(1, "INSERT INTO %s VALUES (2)" % table) \
        .lastrowid == 2
    r = lite.execute(1, "UPDATE %s SET x = 5 WHERE x = 1" % table)
    assert (r.lastrowid, r.rowcount) == (None, 1)
    r = lite.execute(1, "SELECT x FROM %s" % table)
    r.fetchall()
    assert r.lastrowid is None
    # SQLite stores a NaN as NULL (documented); infinities stay.
    assert lite.execute(1, "SELECT ?, ?", (float("nan"), float("inf"))) \
        .fetchone() == (None, float("inf"))


def test_bool_and_timestamp(lite):
    utc = datetime.timezone.utc
    when = datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=utc)
    lite.execute(1, "CREATE TABLE IF NOT EXISTS typed "
                 "(b BOOLEAN, t TIMESTAMP)")
    lite.execute(1, "INSERT INTO typed VALUES (?, ?)", (True, when))
    lite.execute(1, "INSERT INTO typed VALUES (?, ?)",
                 (False, datetime.datetime(1000, 1, 1)))
    assert lite.execute(1, "SELECT b, t FROM typed ORDER BY t").fetchall() \
        == [(False, datetime.datetime(1000, 1, 1, tzinfo=utc)),
            (True, when)]
    assert lite.execute(1, "SELECT t || '' FROM typed WHERE b").fetchone() \
        == ("2024-02-29 23:59:58.123456",)


def test_named_parameters(lite):
    assert lite.execute(1, "SELECT :a, :a || :b, ':b'",
                        {"b": "y", "a": "x"}).fetchone() == ("x", "xy", ":b")
    with pytest.raises(dbroute.ProgrammingError, match="'c'"):
        lite.execute(1, "SELECT :a", {"a": 1, "c": 2})
    with pytest.raises(dbroute.ProgrammingError, match="mixes"):
        lite.execute(1, "SELECT :a, ?", {"a": 1})
    with lite.transaction(1) as tx:
        assert tx.execute("SELECT :n + 1", {"n": 41}).fetchone() == (42,)
