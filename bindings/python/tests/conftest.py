"""Fixtures: configurations over the servers scripts/test.sh starts.

SQLite sources need nothing. PostgreSQL and Redis sources come from
DBR_TEST_PG (a conninfo), DBR_TEST_REDIS_PORT and DBR_TEST_REDIS_PASSWORD,
as for the C suites: without them a test that needs a server is skipped,
or fails when DBR_TEST_STRICT is set (scripts/test.sh sets it).
"""
import itertools
import os
import sys

import pytest

import dbroute

# A statement or wait in these tests is bounded by the sources' timeout.
TIMEOUT = 10
_names = itertools.count()


def need(*names):
    """Skip (or fail under DBR_TEST_STRICT) without these variables."""
    missing = [n for n in names if not os.environ.get(n)]
    if not missing:
        return
    why = "%s not set: start the servers as scripts/test.sh does" % (
        ", ".join(missing))
    if os.environ.get("DBR_TEST_STRICT"):
        pytest.fail(why)
    pytest.skip(why)


def write_ini(tmp_path, text, name="t.ini"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def pg_section(name="pg", extra=""):
    return ("[source.%s]\ntype = postgres\nconninfo = %s\ntimeout = %d\n%s"
            % (name, os.environ["DBR_TEST_PG"], TIMEOUT, extra))


def redis_section(name="cache", port=None, extra=""):
    return ("[source.%s]\ntype = redis\nport = %s\n"
            "password_env = DBR_TEST_REDIS_PASSWORD\ntimeout = %d\n%s"
            % (name, port or os.environ["DBR_TEST_REDIS_PORT"], TIMEOUT,
               extra))


LITE = """[database]
default_source = lite
%(fallback)s
[source.lite]
type = sqlite
path = lite.db
timeout = 10
[source.other]
type = sqlite
path = other.db
timeout = 10
"""


@pytest.fixture
def lite(tmp_path):
    """Two SQLite sources: lite (default) and other (chat 2)."""
    path = write_ini(tmp_path, LITE % {"fallback": ""}
                     + "[chat_mapping]\n2 = other\n")
    with dbroute.open(path) as db:
        yield db


@pytest.fixture
def three_path(tmp_path):
    """lite (default, SQLite), other (SQLite), pg and cache (Redis);
    chat -1 on pg, chat 2 on other, scope cache on cache."""
    need("DBR_TEST_PG", "DBR_TEST_REDIS_PORT", "DBR_TEST_REDIS_PASSWORD")
    return write_ini(tmp_path, LITE % {"fallback": ""} + pg_section()
                     + redis_section()
                     + "[scopes]\ncache = cache\n"
                     + "[chat_mapping]\n-1 = pg\n2 = other\n")


@pytest.fixture
def three(three_path):
    with dbroute.open(three_path) as db:
        yield db


@pytest.fixture
def table(request):
    """A table name no other test (or concurrent run) uses; dropped
    from every source of the `three` or `lite` fixture afterwards."""
    name = "py_%d_%d" % (os.getpid(), next(_names))
    yield name
    for fx in ("three", "lite"):
        if fx in request.fixturenames:
            db = request.getfixturevalue(fx)
            if db.closed:
                continue
            for s in db.sources():
                if s.sql:
                    db.execute_source(s.name, "DROP TABLE IF EXISTS "
                                      + name)


@pytest.fixture
def key():
    """A Redis key no other test uses."""
    return "py:%d:%d" % (os.getpid(), next(_names))


def pytest_report_header(config):
    return "dbroute %s (binding %s) from %s, python %s" % (
        dbroute.version(), dbroute.__version__,
        os.path.dirname(dbroute.__file__), sys.version.split()[0])
