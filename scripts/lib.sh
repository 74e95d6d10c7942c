# lib.sh - shared by the scripts: dependency installation and the build.
# Sourced, not run.

# Debian packages the build and the tests need.
DBR_PACKAGES="gcc make cmake pkg-config libsqlite3-dev libinih-dev libpq-dev \
libhiredis-dev libssl-dev libmariadb-dev libmicrohttpd-dev libjansson-dev \
libsodium-dev"
# And what only the tests need (the python3 ones: bindings/python;
# prometheus: promtool checks the metrics text, and the server scrapes
# the example).
DBR_TEST_PACKAGES="libcmocka-dev clang-format valgrind python3-cffi \
python3-dev python3-setuptools python3-wheel python3-pytest python3-venv \
prometheus"

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

# Packages of the PostgreSQL tests.
DBR_PG_PACKAGES="postgresql"

# Start a throw-away PostgreSQL cluster in a new temp folder, listening on
# a Unix socket there only. Sets DBR_PG_DIR and exports DBR_TEST_PG (a
# conninfo for database dbroute_test) and DBR_TEST_PG_CTL (a pg_ctl command
# for the cluster, for fault tests). Call dbr_pg_stop to remove it.
dbr_pg_start() {
	bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	DBR_PG_DIR=$(mktemp -d /tmp/dbroute-pg-XXXXXX)
	chmod 755 "$DBR_PG_DIR"
	as_pg=""
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$DBR_PG_DIR"
		as_pg="runuser -u postgres --"
	fi
	$as_pg "$bin/initdb" -D "$DBR_PG_DIR/data" -U postgres -A trust \
		-E UTF8 --no-sync >"$DBR_PG_DIR/initdb.log" 2>&1 || {
		cat "$DBR_PG_DIR/initdb.log" >&2
		return 1
	}
	# A password-only role for the password_env test, trust for the rest.
	printf '%s\n' "local all dbr_pw scram-sha-256" "local all all trust" \
		>"$DBR_PG_DIR/data/pg_hba.conf"
	# In the configuration, so that a plain `pg_ctl start` (the fault
	# tests restart the server) brings the same server back.
	printf '%s\n' "unix_socket_directories = '$DBR_PG_DIR'" \
		"listen_addresses = ''" "fsync = off" \
		>>"$DBR_PG_DIR/data/postgresql.conf"
	DBR_TEST_PG_CTL="$as_pg $bin/pg_ctl -D $DBR_PG_DIR/data -w -t 30"
	$DBR_TEST_PG_CTL -l "$DBR_PG_DIR/server.log" start >/dev/null || {
		cat "$DBR_PG_DIR/server.log" >&2
		return 1
	}
	psql="$bin/psql -X -q -h $DBR_PG_DIR -U postgres -v ON_ERROR_STOP=1"
	$psql -d postgres -c "CREATE DATABASE dbroute_test" &&
		$psql -d postgres -c "CREATE ROLE dbr_pw LOGIN PASSWORD 's3cret'" ||
		return 1
	DBR_TEST_PG="host=$DBR_PG_DIR dbname=dbroute_test user=postgres"
	export DBR_TEST_PG DBR_TEST_PG_CTL
}

dbr_pg_stop() {
	[ -n "${DBR_PG_DIR:-}" ] || return 0
	$DBR_TEST_PG_CTL -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$DBR_PG_DIR"
	DBR_PG_DIR=""
}

# Packages of the Redis tests.
DBR_REDIS_PACKAGES="redis-server redis-tools"

# Start a throw-away redis-server on a loopback port and a Unix socket in a
# new temp folder, persistence off, a password required. Exports
# DBR_TEST_REDIS_PORT, DBR_TEST_REDIS_SOCKET, DBR_TEST_REDIS_PASSWORD and
# DBR_TEST_REDIS_START (the command that starts it again, for restart
# tests). Call dbr_redis_stop to remove it.
dbr_redis_start() {
	DBR_REDIS_DIR=$(mktemp -d /tmp/dbroute-redis-XXXXXX)
	DBR_TEST_REDIS_PASSWORD="dbr-test-$$"
	DBR_TEST_REDIS_SOCKET="$DBR_REDIS_DIR/redis.sock"
	DBR_TEST_REDIS_START="redis-server $DBR_REDIS_DIR/redis.conf"
	port=$((20000 + $$ % 10000))
	tries=0
	while [ $tries -lt 20 ]; do
		cat >"$DBR_REDIS_DIR/redis.conf" <<CONF
bind 127.0.0.1
port $port
unixsocket $DBR_TEST_REDIS_SOCKET
unixsocketperm 700
daemonize yes
pidfile $DBR_REDIS_DIR/redis.pid
logfile $DBR_REDIS_DIR/redis.log
dir $DBR_REDIS_DIR
save ""
appendonly no
requirepass $DBR_TEST_REDIS_PASSWORD
CONF
		$DBR_TEST_REDIS_START
		# Bounded wait: 50 x 0.1 s for the server to answer.
		n=0
		while [ $n -lt 50 ]; do
			if REDISCLI_AUTH=$DBR_TEST_REDIS_PASSWORD redis-cli \
				-p $port ping 2>/dev/null | grep -q PONG; then
				DBR_TEST_REDIS_PORT=$port
				export DBR_TEST_REDIS_PORT DBR_TEST_REDIS_SOCKET \
					DBR_TEST_REDIS_PASSWORD DBR_TEST_REDIS_START
				return 0
			fi
			[ -f "$DBR_REDIS_DIR/redis.pid" ] ||
				grep -q "Address already in use" \
					"$DBR_REDIS_DIR/redis.log" 2>/dev/null &&
				break
			sleep 0.1
			n=$((n + 1))
		done
		dbr_redis_kill
		port=$((port + 1))
		tries=$((tries + 1))
	done
	cat "$DBR_REDIS_DIR/redis.log" >&2
	return 1
}

dbr_redis_kill() {
	[ -f "$DBR_REDIS_DIR/redis.pid" ] &&
		kill "$(cat "$DBR_REDIS_DIR/redis.pid")" 2>/dev/null
	rm -f "$DBR_REDIS_DIR/redis.pid"
	return 0
}

dbr_redis_stop() {
	[ -n "${DBR_REDIS_DIR:-}" ] || return 0
	dbr_redis_kill
	rm -rf "$DBR_REDIS_DIR"
	DBR_REDIS_DIR=""
}

# Packages of the MariaDB tests.
DBR_MYSQL_PACKAGES="mariadb-server mariadb-client"

# Start a throw-away MariaDB server (mariadb-install-db + mariadbd, no
# system service) in a new temp folder: a Unix socket there and a free
# loopback port, utf8mb4 with a binary collation, database dbroute_test,
# a user dbr (password DBR_TEST_MYSQL_PASSWORD) with every right on it and
# a user dbr_ro that may only read it. As root the server runs as mysql.
# Exports DBR_TEST_MYSQL (the socket), DBR_TEST_MYSQL_PORT,
# DBR_TEST_MYSQL_PASSWORD, DBR_TEST_MYSQL_START (the command that starts it
# again, for the fault tests) and DBR_TEST_MYSQL_PIDFILE. On failure the
# server is stopped and its folder removed; otherwise call dbr_mysql_stop.
dbr_mysql_start() {
	DBR_MYSQL_DIR=$(mktemp -d /tmp/dbroute-mysql-XXXXXX)
	chmod 755 "$DBR_MYSQL_DIR"
	my_user=""
	if [ "$(id -u)" -eq 0 ]; then
		chown mysql "$DBR_MYSQL_DIR"
		my_user="--user=mysql"
	fi
	mariadb-install-db --no-defaults $my_user --skip-test-db \
		--auth-root-authentication-method=normal \
		--datadir="$DBR_MYSQL_DIR/data" >"$DBR_MYSQL_DIR/install.log" \
		2>&1 || {
		cat "$DBR_MYSQL_DIR/install.log" >&2
		dbr_mysql_stop
		return 1
	}
	DBR_TEST_MYSQL="$DBR_MYSQL_DIR/mysql.sock"
	DBR_TEST_MYSQL_PIDFILE="$DBR_MYSQL_DIR/mariadbd.pid"
	DBR_TEST_MYSQL_PASSWORD="dbr-test-$$"
	port=$((30000 + $$ % 10000))
	tries=0
	while [ $tries -lt 20 ]; do
		# Backgrounded by the shell (mariadbd does not daemonize).
		# The log reaches the OS at each commit (a killed server
		# keeps every acknowledged write), the disk once a second.
		DBR_TEST_MYSQL_START="mariadbd --no-defaults $my_user \
--datadir=$DBR_MYSQL_DIR/data --socket=$DBR_TEST_MYSQL --port=$port \
--bind-address=127.0.0.1 --pid-file=$DBR_TEST_MYSQL_PIDFILE \
--log-error=$DBR_MYSQL_DIR/server.log --character-set-server=utf8mb4 \
--collation-server=utf8mb4_bin --skip-log-bin --innodb-buffer-pool-size=32M \
--innodb-flush-log-at-trx-commit=2 --max-allowed-packet=32M \
--skip-name-resolve"
		($DBR_TEST_MYSQL_START </dev/null >/dev/null 2>&1 &)
		# Bounded wait: 300 x 0.1 s for the server to answer.
		n=0
		while [ $n -lt 300 ]; do
			if mariadb-admin --no-defaults -uroot \
				--socket="$DBR_TEST_MYSQL" ping >/dev/null 2>&1
			then
				break
			fi
			grep -q "Do you already have another" \
				"$DBR_MYSQL_DIR/server.log" 2>/dev/null && break
			sleep 0.1
			n=$((n + 1))
		done
		if mariadb-admin --no-defaults -uroot \
			--socket="$DBR_TEST_MYSQL" ping >/dev/null 2>&1; then
			break
		fi
		dbr_mysql_kill
		rm -f "$DBR_MYSQL_DIR/server.log"
		port=$((port + 1))
		tries=$((tries + 1))
	done
	[ $tries -lt 20 ] || {
		echo "mariadbd did not start" >&2
		dbr_mysql_stop
		return 1
	}
	DBR_TEST_MYSQL_PORT=$port
	mariadb --no-defaults -uroot --socket="$DBR_TEST_MYSQL" <<SQL || {
CREATE DATABASE dbroute_test;
CREATE USER 'dbr'@'localhost' IDENTIFIED BY '$DBR_TEST_MYSQL_PASSWORD';
CREATE USER 'dbr'@'127.0.0.1' IDENTIFIED BY '$DBR_TEST_MYSQL_PASSWORD';
GRANT ALL ON *.* TO 'dbr'@'localhost';
GRANT ALL ON *.* TO 'dbr'@'127.0.0.1';
CREATE USER 'dbr_ro'@'localhost' IDENTIFIED BY '$DBR_TEST_MYSQL_PASSWORD';
GRANT SELECT ON dbroute_test.* TO 'dbr_ro'@'localhost';
SQL
		dbr_mysql_stop
		return 1
	}
	export DBR_TEST_MYSQL DBR_TEST_MYSQL_PORT DBR_TEST_MYSQL_PASSWORD \
		DBR_TEST_MYSQL_START DBR_TEST_MYSQL_PIDFILE
}

# Kill the server started by dbr_mysql_start and wait (bounded) for it.
dbr_mysql_kill() {
	pidfile="$DBR_MYSQL_DIR/mariadbd.pid"
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -9 "$pid" 2>/dev/null
	n=0
	while [ $n -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
	rm -f "$pidfile"
	return 0
}

dbr_mysql_stop() {
	[ -n "${DBR_MYSQL_DIR:-}" ] || return 0
	dbr_mysql_kill
	rm -rf "$DBR_MYSQL_DIR"
	DBR_MYSQL_DIR=""
}
