"""Errors become exceptions that carry source, SQLSTATE and category."""
import pytest

import dbroute
from conftest import write_ini


def test_statement_errors(three):
    with pytest.raises(dbroute.ProgrammingError) as ei:
        three.execute(-1, "SELEC 1")
    e = ei.value
    assert (e.source, e.sqlstate, e.category, e.code) == (
        "pg", "42601", "stmt", 2)
    assert str(e).startswith("source 'pg'") and not e.retryable
    assert e.hint
    with pytest.raises(dbroute.ProgrammingError) as ei:
        three.execute(1, "SELECT nope")
    assert ei.value.source == "lite" and ei.value.sqlstate is None
    assert "source 'lite'" in str(ei.value)
    assert isinstance(ei.value, dbroute.DatabaseError)
    assert isinstance(ei.value, dbroute.Error)


def test_constraint(three, table):
    for chat in (1, -1):
        three.execute(chat, "CREATE TABLE %s (x BIGINT UNIQUE)" % table)
        three.execute(chat, "INSERT INTO %s VALUES (1)" % table)
        with pytest.raises(dbroute.IntegrityError) as ei:
            three.execute(chat, "INSERT INTO %s VALUES (1)" % table)
        assert ei.value.category == "constraint"
    assert ei.value.sqlstate == "23505"


def test_misuse_and_notfound(three):
    with pytest.raises(dbroute.ProgrammingError) as ei:
        three.execute(1, "BEGIN")
    assert ei.value.category == "misuse"
    with pytest.raises(dbroute.ProgrammingError) as ei:
        three.execute_source("nosuch", "SELECT 1")
    assert ei.value.category == "notfound"
    with pytest.raises(dbroute.ProgrammingError) as ei:
        three.execute_scope("cache", "SUBSCRIBE x")
    assert ei.value.source == "cache"


def test_config_error(tmp_path):
    path = write_ini(tmp_path, "[database]\nfallback = sideways\n"
                     "[source.a]\ntype = sqlite\npath = a.db\nbogus = 1\n")
    with pytest.raises(dbroute.ConfigError) as ei:
        dbroute.open(path)
    lines = str(ei.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(path + ":2:") and "fallback" in lines[0]
    assert lines[1].startswith(path + ":6:") and "bogus" in lines[1]
    assert isinstance(ei.value, dbroute.InterfaceError)
    with pytest.raises(dbroute.ConfigError):
        dbroute.open(str(tmp_path / "missing.ini"))
