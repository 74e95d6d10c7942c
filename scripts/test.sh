#!/bin/sh
# test.sh - install what is missing, build, and run the whole test suite:
# once in a debug build, once under AddressSanitizer and UBSan.
set -eu
DBR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$DBR_ROOT/scripts/lib.sh"

dbr_ensure_packages $DBR_PACKAGES $DBR_TEST_PACKAGES $DBR_PG_PACKAGES \
	$DBR_REDIS_PACKAGES
echo "== format"
dbr_check_format

run_suite() {
	dir=$1
	shift
	echo "== build $dir $*"
	dbr_build "$dir" "$@"
	echo "== ctest $dir"
	ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 300
}

# Throw-away servers for the tests, stopped on any exit.
prefix=""
cleanup() {
	dbr_pg_stop
	dbr_redis_stop
	[ -z "$prefix" ] || rm -rf "$prefix"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
echo "== start PostgreSQL and Redis"
dbr_pg_start
dbr_redis_start
# Suites that need a server fail, rather than skip, without one.
export DBR_TEST_STRICT=1

run_suite "$DBR_ROOT/build-test" -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite "$DBR_ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug \
	-DDBR_SANITIZE=ON
# Install, then build an application against the installed copy both ways.
echo "== install and consume"
prefix=$(mktemp -d)
cmake --install "$DBR_ROOT/build-test" --prefix "$prefix" >/dev/null
cmake -S "$DBR_ROOT/tests/install" -B "$prefix/consumer" \
	-DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" "$prefix/consumer/consumer"
"$prefix/consumer/consumer_static"
pc=$(find "$prefix" -name dbroute.pc)
cc -o "$prefix/pc_consumer" "$DBR_ROOT/tests/install/consumer.c" \
	$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs dbroute)
LD_LIBRARY_PATH=$(dirname "$(dirname "$pc")") "$prefix/pc_consumer"
echo "== all tests passed"
