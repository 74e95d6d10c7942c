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
echo "== dbroute-bench $* ($(nproc) cores, $(uname -m))"
"$build/bench/dbroute-bench" "$@"
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
