"""The 0.4 statistics (Source's metrics fields) and the Prometheus text,
after real operations on real SQLite sources."""
import dbroute

from conftest import write_ini

CONFIG = """[database]
default_source = lite
timing_sample = 1
[source.lite]
type = sqlite
path = lite.db
[source.other]
type = sqlite
path = other.db
[chat_mapping]
2 = other
"""


def test_source_stats_fields(tmp_path):
    with dbroute.open(write_ini(tmp_path, CONFIG)) as db:
        db.execute(1, "CREATE TABLE m (chat_id INTEGER, text TEXT)")
        for i in range(5):
            db.execute(1, "INSERT INTO m VALUES (?, ?)", (1, "hi %d" % i))
        for _ in range(3):
            assert db.execute(1, "SELECT count(*) FROM m").fetchall() \
                == [(5,)]
        with db.transaction(1) as tx:
            tx.execute("INSERT INTO m VALUES (?, ?)", (1, "in tx"))
        try:
            db.execute(1, "SLECT 1")
        except dbroute.ProgrammingError:
            pass
        db.execute(2, "SELECT 1").fetchall()
        s = db.source("lite")
        assert s.metrics == "timing"
        assert s.ops_by_kind == {"read": 3, "write": 7,
                                 "transaction": 2, "fanout": 0}
        assert s.ops == 12
        assert s.routed["default"] == 5 + 1 + 3 + 1 + 1
        assert s.routed["mapped"] == 0
        assert sum(s.errors_by_code.values()) == s.errors == 1
        assert s.connects >= 1 and s.connect_failures == 0
        assert s.discarded >= 0 and s.probes == 0
        assert s.state_since > 0 and s.pool_opening == 0
        # timing_sample = 1: every statement timed.
        h = s.statement_time
        assert h.count == 12
        assert sum(n for _, n in h.buckets) == h.count
        assert h.buckets[-1][0] == float("inf")
        assert h.buckets[0][0] == 1e-6
        assert h.sum > 0
        assert s.acquire_wait.count == 5 + 1 + 3 + 1 + 1
        assert s.top_ops[0] == (1, 12)
        assert s.top_time and s.top_time[0][0] == 1 and s.top_time[0][1] > 0
        o = db.source("other")
        assert o.ops_by_kind["read"] == 1 and o.routed["mapped"] == 1
        assert o.top_ops == [(2, 1)]


def test_metrics_text(tmp_path):
    with dbroute.open(write_ini(tmp_path, CONFIG)) as db:
        for _ in range(4):
            db.execute(7, "SELECT 1").fetchall()
        text = db.metrics_text()
    lines = text.splitlines()
    assert "# TYPE dbroute_operations_total counter" in lines
    assert 'dbroute_operations_total{source="lite",kind="read"} 4' in lines
    assert 'dbroute_operations_total{source="other",kind="read"} 0' in lines
    assert ('dbroute_statement_duration_seconds_count{source="lite"} 4'
            in lines)
    assert 'dbroute_chat_operations{chat="7"} 4' in lines
