"""A source that is down: fallback = default diverts, none fails."""
import os
import socket

import pytest

import dbroute
from conftest import LITE, pg_section, redis_section, need, write_ini


def dead_port():
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp_path, fallback):
    need("DBR_TEST_PG", "DBR_TEST_REDIS_PASSWORD")
    dead_pg = pg_section("deadpg").replace(
        os.environ["DBR_TEST_PG"],
        "host=127.0.0.1 port=%d dbname=x connect_timeout=5" % dead_port())
    return write_ini(tmp_path, LITE % {"fallback": "fallback = " + fallback}
                     + dead_pg + redis_section("deadcache", dead_port())
                     + "[scopes]\ncache = deadcache\n"
                     + "[chat_mapping]\n-5 = deadpg\n")


def test_fallback_default(tmp_path):
    with dbroute.open(config(tmp_path, "default")) as db:
        r = db.execute(-5, "SELECT 1")
        assert r.fetchall() == [(1,)]
        assert (r.source, r.diverted_from) == ("lite", "deadpg")
        s = db.source("deadpg")
        assert not s.available and s.unavailable_since
        assert s.diverted == 1
        # A key-value source has no SQL default to fall back to.
        with pytest.raises(dbroute.OperationalError) as ei:
            db.execute_scope("cache", "PING")
        assert ei.value.source == "deadcache" and ei.value.retryable
        assert ei.value.category in ("conn", "unavailable")
        # A source named explicitly never falls back.
        with pytest.raises(dbroute.OperationalError):
            db.execute_source("deadpg", "SELECT 1")


def test_fallback_none(tmp_path):
    with dbroute.open(config(tmp_path, "none")) as db:
        with pytest.raises(dbroute.OperationalError) as ei:
            db.execute(-5, "SELECT 1")
        e = ei.value
        assert e.source == "deadpg" and e.retryable
        assert "deadpg" in str(e)
        with pytest.raises(dbroute.OperationalError) as ei:
            db.execute(-5, "SELECT 1")
        assert ei.value.category == "unavailable"
        assert db.execute(1, "SELECT 2").fetchone() == (2,)
