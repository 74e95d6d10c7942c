#!/bin/sh
# test.sh - install what is missing, start throw-away PostgreSQL, MariaDB
# and Redis servers, build, and run the whole test suite: in a debug build (and the
# CLI under valgrind), under AddressSanitizer + UBSan, the threaded suites
# under ThreadSanitizer; then install and build against the installed copy,
# and run the fuzzers for a bounded time.
set -eu
DBR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$DBR_ROOT/scripts/lib.sh"

dbr_ensure_packages $DBR_PACKAGES $DBR_TEST_PACKAGES $DBR_PG_PACKAGES \
	$DBR_REDIS_PACKAGES $DBR_MYSQL_PACKAGES
echo "== format"
dbr_check_format
# The optimiser finds warnings a debug build does not (maybe-uninitialized,
# format-truncation); scripts/bench.sh builds this way.
echo "== build Release"
dbr_build "$DBR_ROOT/build-release" -DCMAKE_BUILD_TYPE=Release

# run_suite DIR [CTEST-REGEX] -- CMAKE-ARGS...
run_suite() {
	dir=$1
	only=$2
	shift 3
	echo "== build $dir $*"
	dbr_build "$dir" "$@"
	echo "== ctest $dir ${only:+(only $only)}"
	ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 300 \
		${only:+-R "$only"}
}

# The CLI's check, route and query paths under valgrind's memcheck.
valgrind_cli() {
	vdir=$(mktemp -d)
	cat >"$vdir/v.ini" <<INI
[database]
default_source = lite
[source.lite]
type = sqlite
path = lite.db
[source.pg]
type = postgres
conninfo = $DBR_TEST_PG
[source.cache]
type = redis
port = $DBR_TEST_REDIS_PORT
password_env = DBR_TEST_REDIS_PASSWORD
[scopes]
cache = cache
[chat_mapping]
-1 = pg
[mapping]
store = lite
INI
	vg="valgrind -q --error-exitcode=9 --leak-check=full
		--errors-for-leak-kinds=definite,indirect
		$DBR_ROOT/build-test/dbroute"
	$vg mapping init -c "$vdir/v.ini"
	$vg check -c "$vdir/v.ini" >/dev/null
	$vg mapping set -c "$vdir/v.ini" 5 pg --reason valgrind 2>/dev/null
	$vg mapping import -c "$vdir/v.ini" --reason valgrind 2>/dev/null
	$vg mapping history -c "$vdir/v.ini" --format json >/dev/null
	$vg mapping list -c "$vdir/v.ini" --source pg >/dev/null
	$vg route -c "$vdir/v.ini" -1 5 >/dev/null
	$vg query -c "$vdir/v.ini" --chat 5 'SELECT ? AS x' --param 1 >/dev/null
	$vg query -c "$vdir/v.ini" --chat -1 'SELECT ?::int + 1 AS y' \
		--param 41 >/dev/null
	$vg query -c "$vdir/v.ini" --scope cache 'SET ? ?' --param k \
		--param v >/dev/null
	# Error paths: exit 1 (runtime) and 2 (configuration), no leaks.
	st=0
	$vg query -c "$vdir/v.ini" --chat 5 'SELECT nope' 2>/dev/null || st=$?
	[ $st -eq 1 ] || { echo "valgrind: query error exit $st" >&2; return 1; }
	st=0
	$vg check -c /nonexistent.ini 2>/dev/null || st=$?
	[ $st -eq 2 ] || { echo "valgrind: config error exit $st" >&2; return 1; }
	rm -rf "$vdir"
}

# Throw-away servers for the tests, stopped on any exit.
prefix=""
cleanup() {
	dbr_pg_stop
	dbr_mysql_stop
	dbr_redis_stop
	[ -z "$prefix" ] || rm -rf "$prefix"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
echo "== start PostgreSQL, MariaDB and Redis"
dbr_pg_start
dbr_mysql_start
dbr_redis_start
# Suites that need a server fail, rather than skip, without one.
export DBR_TEST_STRICT=1

run_suite "$DBR_ROOT/build-test" "" -- -DCMAKE_BUILD_TYPE=Debug
echo "== prometheus scrapes examples/chatbot-server"
"$DBR_ROOT/tests/scrape/scrape.sh" "$DBR_ROOT/build-test"
echo "== valgrind on the CLI"
valgrind_cli
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite "$DBR_ROOT/build-asan" "" -- -DCMAKE_BUILD_TYPE=Debug \
	-DDBR_SANITIZE=ON
# The suites that run threads, under ThreadSanitizer.
TSAN_OPTIONS=halt_on_error=1 \
	run_suite "$DBR_ROOT/build-tsan" \
	"pool|integration|health|conformance|postgres|mysql|redis|faults|fanout|misuse|metrics|snapshot|audit|reload|refresh|fence|move_run" \
	-- \
	-DCMAKE_BUILD_TYPE=Debug -DDBR_TSAN=ON
# Install, then build an application against the installed copy both ways.
# Everything installed runs from another folder (/) with neither
# LD_LIBRARY_PATH nor DBROUTE_PLUGIN_DIR: the CLI finds its library by its
# RPATH, and the library finds its plugins next to itself.
echo "== install and consume"
ibuild=${DBR_INSTALL_BUILD:-$DBR_ROOT/build-test}
prefix=$(mktemp -d)
cmake --install "$ibuild" --prefix "$prefix" >/dev/null
cat >"$prefix/three.ini" <<EOF
[database]
default_source = lite
[source.lite]
type = sqlite
path = $prefix/lite.db
[source.pg]
type = postgres
conninfo = $DBR_TEST_PG
timeout = 5
[source.cache]
type = redis
port = $DBR_TEST_REDIS_PORT
password_env = DBR_TEST_REDIS_PASSWORD
timeout = 5
EOF
head -n 5 "$prefix/three.ini" >"$prefix/lite.ini"
(
	cd /
	unset LD_LIBRARY_PATH DBROUTE_PLUGIN_DIR
	"$prefix/bin/dbroute" check -c "$prefix/three.ini"
	"$prefix/bin/dbroute" query -c "$prefix/three.ini" --source lite \
		'SELECT 1'
	"$prefix/bin/dbroute" query -c "$prefix/three.ini" --source pg \
		'SELECT 1'
	"$prefix/bin/dbroute" query -c "$prefix/three.ini" --source cache \
		'PING'
)
cmake -S "$DBR_ROOT/tests/install" -B "$prefix/consumer" \
	-DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
(
	cd /
	unset LD_LIBRARY_PATH DBROUTE_PLUGIN_DIR
	"$prefix/consumer/consumer" "$prefix/three.ini" lite pg cache
	# A static link cannot find where its library was installed: its
	# plugin folder is the one configured at build time, so it opens a
	# source of the built-in SQLite driver only.
	"$prefix/consumer/consumer_static" "$prefix/lite.ini" lite
)
pc=$(find "$prefix" -name dbroute.pc)
cc -o "$prefix/pc_consumer" "$DBR_ROOT/tests/install/consumer.c" \
	$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs dbroute)
(
	cd /
	unset DBROUTE_PLUGIN_DIR
	LD_LIBRARY_PATH=$(dirname "$(dirname "$pc")") \
		"$prefix/pc_consumer" "$prefix/three.ini" lite pg cache
)
# A driver built out of tree, as docs/writing-a-driver.md walks through:
# the template driver copied to a folder of its own, compiled against the
# installed header alone (pkg-config dbroute-driver: no libdbroute), put in
# a plugin_dir and served by the installed CLI.
drv="$prefix/mydriver"
mkdir -p "$drv/plugins"
cp "$DBR_ROOT/drivers/template/template.c" "$drv/"
pcdir=$(dirname "$pc")
if [ -n "$(PKG_CONFIG_PATH=$pcdir pkg-config --libs dbroute-driver)" ]; then
	echo "dbroute-driver.pc must not link anything" >&2
	exit 1
fi
cc -std=c11 -Wall -Werror -fPIC -fvisibility=hidden -shared -Wl,-z,defs \
	$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags dbroute-driver) \
	-o "$drv/plugins/template.so" "$drv/template.c"
chmod 0755 "$drv/plugins" "$drv/plugins/template.so"
printf '[database]\nplugin_dir = plugins\n[source.t]\ntype = template\n%s\n' \
	'label = out-of-tree' >"$drv/t.ini"
(
	cd /
	unset LD_LIBRARY_PATH DBROUTE_PLUGIN_DIR
	"$prefix/bin/dbroute" query -c "$drv/t.ini" --source t 'anything' \
		>"$drv/out"
	"$prefix/bin/dbroute" check -c "$drv/t.ini" >"$drv/check"
)
if ! grep -q out-of-tree "$drv/out"; then
	echo "the out-of-tree driver returned no row" >&2
	cat "$drv/out" >&2
	exit 1
fi
# Served by the file built above, not by the installed template.so.
if ! grep -qF "	$drv/plugins/template.so " "$drv/check"; then
	echo "the template source is not served by $drv/plugins/template.so" >&2
	cat "$drv/check" >&2
	exit 1
fi
# The Python binding, installed as bindings/python/README.md says: into a
# venv, offline, built against the installed copy found through pkg-config
# (from a copy of the sources, so no build leftovers are picked up); its
# pytest suite (on the servers above) and its example bot (on two SQLite
# files, then with a PostgreSQL source) run from / without LD_LIBRARY_PATH.
echo "== python binding"
py="$prefix/py"
cp -R "$DBR_ROOT/bindings/python" "$py-src"
/usr/bin/python3 -m venv --system-site-packages "$py"
PKG_CONFIG_PATH=$pcdir "$py/bin/pip" install -q --no-build-isolation \
	--no-index "$py-src"
cp "$py-src/examples/chatbot.ini" "$prefix/"
sed -e '/^\[source\.groups\]$/,/^path/s/^type = sqlite$/type = postgres/' \
	-e "s|^path = groups.db$|conninfo = $DBR_TEST_PG|" \
	"$prefix/chatbot.ini" >"$prefix/chatbot-pg.ini"
(
	cd /
	unset LD_LIBRARY_PATH DBROUTE_PLUGIN_DIR PYTHONPATH
	export PYTHONDONTWRITEBYTECODE=1
	"$py/bin/python" -m pytest -q -p no:cacheprovider \
		"$DBR_ROOT/bindings/python/tests"
	"$py/bin/python" "$py-src/examples/chatbot.py" "$prefix/chatbot.ini"
	"$py/bin/python" "$py-src/examples/chatbot.py" \
		"$prefix/chatbot-pg.ini" >"$prefix/chatbot-pg.out"
)
grep "source groups (postgres): 3 messages" "$prefix/chatbot-pg.out"
# The library installed in another prefix, the binding installed again as
# the README says, from the same folder (pip left its build there): the
# extension is rebuilt and loads the library of the new prefix.
echo "== python binding reinstalled against a second prefix"
cmake --install "$ibuild" --prefix "$prefix/second" >/dev/null
pc2=$(dirname "$(find "$prefix/second" -name dbroute.pc)")
PKG_CONFIG_PATH=$pc2 "$py/bin/pip" install -q --no-build-isolation \
	--no-index "$py-src"
(
	cd /
	unset LD_LIBRARY_PATH DBROUTE_PLUGIN_DIR PYTHONPATH
	"$py/bin/python" -c 'import dbroute; print(dbroute.version())
print(*[l.split()[-1] for l in open("/proc/self/maps") if "libdbroute" in l])'
) >"$prefix/reinstall.out"
if ! grep -q "$prefix/second/.*libdbroute" "$prefix/reinstall.out"; then
	cat "$prefix/reinstall.out"
	echo "the reinstalled binding loads the old prefix's library"
	exit 1
fi
# The fuzzers, for a bounded time each (DBR_FUZZ_SECONDS, default 60).
"$DBR_ROOT/scripts/fuzz.sh" "${DBR_FUZZ_SECONDS:-60}"
echo "== all tests passed"
