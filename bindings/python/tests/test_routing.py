"""Routing: chats, scopes and named sources; the sources' descriptions."""
import dbroute


def test_version():
    assert dbroute.version() == "%d.%d.%d" % tuple(
        int(x) for x in dbroute.__version__.split("."))
    assert dbroute.paramstyle == "qmark"


def test_route_reasons(three):
    assert three.route(-1) == ("pg", "mapped")
    assert three.route(2) == dbroute.Route("other", "mapped")
    assert three.route(5) == ("lite", "default")
    assert three.route(-(1 << 63)) == ("lite", "default")
    assert three.route_scope("cache") == ("cache", "scope")
    assert three.route_scope("nothing") == ("lite", "default")


def test_rows_land_on_the_chat_source(lite, table):
    for src in lite.source_names():
        lite.execute_source(src, "CREATE TABLE %s (chat INTEGER)" % table)
    for chat in (1, 2, 3):
        r = lite.execute(chat, "INSERT INTO %s VALUES (?)" % table, (chat,))
        assert r.rowcount == 1
        assert r.source == ("other" if chat == 2 else "lite")
        assert r.diverted_from is None
    got = {s: lite.execute_source(s, "SELECT chat FROM %s ORDER BY chat"
                                  % table).fetchall()
           for s in ("lite", "other")}
    assert got == {"lite": [(1,), (3,)], "other": [(2,)]}
    # None names the default source.
    assert lite.execute_source(None, "SELECT count(*) FROM %s"
                               % table).fetchone() == (2,)


def test_three_kinds(three, table, key):
    assert three.execute(-1, "SELECT ?::bigint + 1 AS y",
                         (41,)).fetchall() == [(42,)]
    r = three.execute(-1, "SELECT 1 AS a, 'x' AS b")
    assert [d[0] for d in r.description] == ["a", "b"]
    assert all(len(d) == 7 for d in r.description)
    assert r.source == "pg"
    r.close()
    assert three.execute_scope("cache", "SET ? ?", (key, "v")).source \
        == "cache"
    assert three.execute_scope("cache", "GET ?", (key,)).fetchall() \
        == [("v",)]
    three.execute_scope("cache", "DEL ?", (key,))


def test_sources(three):
    srcs = three.sources()
    assert [s.name for s in srcs] == ["lite", "other", "pg", "cache"]
    by = {s.name: s for s in srcs}
    assert by["lite"].is_default and by["lite"].driver_origin == "built-in"
    assert by["pg"].type == "postgres" and by["pg"].sql
    assert by["pg"].transactions and not by["pg"].kv
    assert by["cache"].kv and not by["cache"].sql
    assert all(s.available and s.unavailable_since is None for s in srcs)
    three.execute(-1, "SELECT 1").fetchall()
    pg = three.source("pg")
    assert pg.ops >= 1 and pg.pool_in_use == 0 and pg.pool_open >= 1
    assert three.source().name == "lite"
    three.ping("pg")
    three.ping("cache")


def test_version_check_accepts_any_patch():
    """The same major.minor loads, whatever the patch; another minor or
    major does not."""
    ok = dbroute._compatible
    assert ok(3001, 3001) and ok(3001, 3009) and ok(1002003, 1002000)
    assert not ok(3001, 4001) and not ok(1003000, 2003000)
