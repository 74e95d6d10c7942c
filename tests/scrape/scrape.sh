#!/bin/sh
# scrape.sh - a real Prometheus scrapes examples/chatbot-server (issue 16).
#
# usage: tests/scrape/scrape.sh BUILD_DIR
#
# Starts chatbot-server on three SQL sources (two SQLite files and the
# test PostgreSQL, DBR_TEST_PG) and one Redis source (DBR_TEST_REDIS_PORT,
# which the example leaves alone) with a known workload (--ops 36), and
# Debian's prometheus on another free loopback port with its own storage
# in a temp folder, scraping every second. Then it asks Prometheus's HTTP
# API for dbroute_operations_total, dbroute_route_decisions_total and the
# statement histogram's _count until every series has the count the
# workload implies (at most 60 s). Both
# processes are stopped and the folder removed however it ends.
set -eu
build=$1
: "${DBR_TEST_PG:?DBR_TEST_PG is not set (scripts/test.sh starts PostgreSQL)}"
: "${DBR_TEST_REDIS_PORT:?DBR_TEST_REDIS_PORT is not set}"
dir=$(mktemp -d /tmp/dbroute-scrape-XXXXXX)
app=""
prom=""
cleanup() {
	[ -z "$app" ] || kill "$app" 2>/dev/null || true
	[ -z "$prom" ] || kill "$prom" 2>/dev/null || true
	[ -z "$app" ] || wait "$app" 2>/dev/null || true
	[ -z "$prom" ] || wait "$prom" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# Two free loopback ports (bound, read, released: a tiny race at worst).
ports=$(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
app_port=${ports% *}
prom_port=${ports#* }

# The example's table on PostgreSQL starts empty (another run may have
# left rows whose keys the workload writes again).
psql -X -q "$DBR_TEST_PG" -c "SET client_min_messages = warning" \
	-c "DROP TABLE IF EXISTS chatbot_messages" \
	>/dev/null
cat >"$dir/server.ini" <<INI
[database]
default_source = lite1
timing_sample = 1
[source.lite1]
type = sqlite
path = lite1.db
[source.lite2]
type = sqlite
path = lite2.db
[source.pg]
type = postgres
conninfo = $DBR_TEST_PG
timeout = 10
[source.cache]
type = redis
port = $DBR_TEST_REDIS_PORT
password_env = DBR_TEST_REDIS_PASSWORD
timeout = 5
[chat_mapping]
777 = lite2
INI
"$build/examples/chatbot-server" -c "$dir/server.ini" \
	--metrics "127.0.0.1:$app_port" --ops 36 >"$dir/app.log" 2>&1 &
app=$!

cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: dbroute
    static_configs:
      - targets: ['127.0.0.1:$app_port']
YML
prometheus --config.file="$dir/prometheus.yml" \
	--storage.tsdb.path="$dir/data" \
	--web.listen-address="127.0.0.1:$prom_port" \
	--storage.tsdb.retention.time=1h >"$dir/prometheus.log" 2>&1 &
prom=$!

# Expected, from the schedule in chatbot-server.c: 3 SQL sources, 12
# turns each. Every source: its CREATE TABLE and 4 stores (write), 4 reads
# by name; the 6 reads by chat of chat 777 go to lite2 (mapped), the 6 of
# chat 6 to lite1 (the default). Redis is not used: its series stay 0.
python3 - "$prom_port" "$dir" <<'PY'
import json, sys, time, urllib.parse, urllib.request

port, folder = sys.argv[1], sys.argv[2]
want_ops = {
    ("lite1", "write"): 5, ("lite1", "read"): 10,
    ("lite2", "write"): 5, ("lite2", "read"): 10,
    ("pg", "write"): 5, ("pg", "read"): 4,
    ("cache", "write"): 0, ("cache", "read"): 0,
}
for s in ("lite1", "lite2", "pg", "cache"):
    want_ops[(s, "transaction")] = 0
    want_ops[(s, "fanout")] = 0
want_route = {"explicit": 27, "mapped": 6, "default": 6, "scope": 0,
              "store": 0}


def query(q):
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (
        port, urllib.parse.urlencode({"query": q}))
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(body)
    return body["data"]["result"]


deadline = time.monotonic() + 60
got_ops = got_route = None
while time.monotonic() < deadline:
    try:
        got_ops = {(r["metric"]["source"], r["metric"]["kind"]):
                   int(float(r["value"][1]))
                   for r in query("dbroute_operations_total")}
        got_route = {r["metric"]["reason"]: int(float(r["value"][1]))
                     for r in query("dbroute_route_decisions_total")}
        got_timed = {r["metric"]["source"]: int(float(r["value"][1]))
                     for r in query("dbroute_statement_duration_seconds_count")}
        up = query('up{job="dbroute"}')
    except Exception as e:  # not up yet
        got_ops = str(e)
        time.sleep(0.5)
        continue
    want_timed = {src: sum(v for (s, k), v in want_ops.items() if s == src)
                  for src in ("lite1", "lite2", "pg", "cache")}
    if (got_ops == want_ops and got_route == want_route
            and got_timed == want_timed and up
            and up[0]["value"][1] == "1"):
        print("prometheus scraped dbroute_operations_total for %d "
              "sources: %s" % (len({k[0] for k in got_ops}),
                               ", ".join("%s/%s=%d" % (k[0], k[1], v)
                                         for k, v in sorted(got_ops.items())
                                         if v)))
        sys.exit(0)
    time.sleep(0.5)
print("prometheus did not show the expected counts within 60 s",
      file=sys.stderr)
print("want %r %r\ngot  %r %r" % (want_ops, want_route, got_ops, got_route),
      file=sys.stderr)
for log in ("app.log", "prometheus.log"):
    try:
        with open("%s/%s" % (folder, log)) as f:
            sys.stderr.write("== %s\n%s" % (log, f.read()[-3000:]))
    except OSError:
        pass
sys.exit(1)
PY
