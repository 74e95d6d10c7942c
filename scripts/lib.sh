# lib.sh - shared by the scripts: dependency installation and the build.
# Sourced, not run.

# Debian packages the build and the tests need.
DBR_PACKAGES="gcc make cmake pkg-config libsqlite3-dev libinih-dev"
# And what only the tests need.
DBR_TEST_PACKAGES="libcmocka-dev clang-format"

# Install the named Debian packages that are missing. As root this runs
# apt-get; otherwise it names what is missing and how to install it.
dbr_ensure_packages() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages:$missing" >&2
		echo "install them with: sudo apt-get install -y$missing" >&2
		return 1
	fi
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null &&
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Configure and build into $1 with extra CMake arguments after it.
dbr_build() {
	dir=$1
	shift
	cmake -S "$DBR_ROOT" -B "$dir" -DDBR_WERROR=ON "$@" >/dev/null &&
		cmake --build "$dir" -j "$(nproc)"
}

# Check that every C file keeps the checked-in .clang-format layout.
dbr_check_format() {
	find "$DBR_ROOT/core" "$DBR_ROOT/drivers" "$DBR_ROOT/include" \
		"$DBR_ROOT/tools" "$DBR_ROOT/examples" "$DBR_ROOT/tests" \
		"$DBR_ROOT/bench" -name '*.[ch]' -print0 |
		xargs -0 clang-format --dry-run --Werror
}
