#!/bin/sh
# fuzz.sh - build the libFuzzer targets with clang and run each on its seed
# corpus for a bounded time; any crash, leak or sanitizer report fails.
#   ./scripts/fuzz.sh [SECONDS]    (default 60 per target)
# New inputs found go to build-fuzz/corpus-*, not into the tree.
set -eu
DBR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$DBR_ROOT/scripts/lib.sh"
seconds=${1:-60}

dbr_ensure_packages $DBR_PACKAGES clang-14 libclang-rt-14-dev
cc=$(command -v clang || command -v clang-14)
dir="$DBR_ROOT/build-fuzz"
# Only the targets: clang links no sanitizer runtime into shared objects,
# so the plugins and the shared library are not built here.
CC=$cc cmake -S "$DBR_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DDBR_FUZZ=ON -DDBR_WERROR=ON -DDBR_BUILD_TESTS=OFF \
	-DDBR_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target fuzz_config fuzz_sqlscan \
	fuzz_sqlguard fuzz_sqlsplit
rm -f "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*
for target in config sqlscan sqlguard sqlsplit; do
	echo "== fuzz $target for ${seconds} s"
	work="$dir/corpus-$target"
	mkdir -p "$work"
	st=0
	ASAN_OPTIONS=detect_leaks=1 "$dir/tests/fuzz/fuzz_$target" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$dir/" \
		"$work" "$DBR_ROOT/tests/fuzz/corpus/$target" \
		>"$dir/fuzz-$target.log" 2>&1 || st=$?
	tail -n 12 "$dir/fuzz-$target.log"
	if [ $st -ne 0 ]; then
		echo "fuzz_$target failed (exit $st); the input is in $dir" >&2
		exit 1
	fi
done
