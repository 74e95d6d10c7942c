#!/bin/sh
# bench.sh - build dbroute-bench in Release, start throw-away PostgreSQL,
# MariaDB and Redis servers exactly as the tests do, run the benchmark, and
# stop the servers (also on failure). Arguments go to dbroute-bench:
#   ./scripts/bench.sh [--json FILE] [--only NAME] [--iterations N]
#                      [--rounds R]
set -eu
DBR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$DBR_ROOT/scripts/lib.sh"

dbr_ensure_packages $DBR_PACKAGES $DBR_PG_PACKAGES $DBR_REDIS_PACKAGES \
	$DBR_MYSQL_PACKAGES
build="$DBR_ROOT/build-bench"
dbr_build "$build" -DCMAKE_BUILD_TYPE=Release -DDBR_BUILD_TESTS=OFF

trap 'dbr_pg_stop; dbr_mysql_stop; dbr_redis_stop' EXIT
trap 'exit 1' INT TERM
dbr_pg_start
dbr_mysql_start
dbr_redis_start
# Each network workload's client and server on one CPU: a loopback round
# trip is 8-15 us within one core here and 85-120 us across cores, so an
# unpinned run measures where the scheduler put them. The servers are
# pinned here (PostgreSQL's backends, forked later, inherit the
# postmaster's affinity; MariaDB's and Redis's threads, all of them), the client by dbroute-bench --pin, around its
# network workloads only.
pin=0
taskset -p -c $pin "$(head -n 1 "$DBR_PG_DIR/data/postmaster.pid")" >/dev/null
taskset -a -p -c $pin "$(cat "$DBR_MYSQL_DIR/mariadbd.pid")" >/dev/null
taskset -a -p -c $pin "$(cat "$DBR_REDIS_DIR/redis.pid")" >/dev/null
echo "== dbroute-bench $* ($(nproc) cores, $(uname -m); network workloads" \
	"pinned to CPU $pin)"
"$build/bench/dbroute-bench" --pin $pin "$@"
# Routing through a mapping store's snapshot (its own program: it loads the
# store's table through the core's internal calls). Only --only and
# --iterations apply to it.
only=; iters=
while [ $# -gt 0 ]; do
	case $1 in
	--only) only=$2; shift ;;
	--iterations) iters=$2; shift ;;
	esac
	shift
done
case ${only:-routing} in
routing | routing.store* | memory | memory.store_mapping)
	"$build/bench/dbroute-bench-routing" ${only:+--only "$only"} \
		${iters:+--iterations "$iters"} ;;
esac
