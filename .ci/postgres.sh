#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests (internal/store/postgres
# and whatever else uses internal/store/pgtest): Debian's postgresql
# package, installed with apt if initdb is missing, and a cluster made by
# initdb in a new temporary directory, run as a non-root user (the postgres
# system user when this runs as root, else the current user), listening on
# a free port on 127.0.0.1 and on a unix socket in that directory. Trust
# authentication, local and loopback only; fsync on, as in production.
#
# Source it (.ci/run does):
#   source .ci/postgres.sh
# It exports BRIGHTLINE_TEST_DATABASE_URL and BRIGHTLINE_REQUIRE_POSTGRES=1
# (so the PostgreSQL tests fail rather than skip), defines
# brightline_postgres_stop, and adds that to the shell's EXIT trap. Sourcing
# it again while its server answers does nothing. It returns non-zero, with
# the server's log, if anything fails.

brightline_postgres_start() {
	# Already running (sourced twice, or a server of the caller's own)?
	if [ -n "${BRIGHTLINE_TEST_DATABASE_URL:-}" ] && [ -n "${BRIGHTLINE_PG_BIN:-}" ] &&
		"$BRIGHTLINE_PG_BIN/pg_isready" -q -d "$BRIGHTLINE_TEST_DATABASE_URL" 2>/dev/null; then
		echo "postgres: already running at $BRIGHTLINE_TEST_DATABASE_URL"
		return 0
	fi

	local sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "postgres: installing Debian's postgresql"
		$sudo apt-get update -qq || { echo "postgres: apt-get update failed" >&2; return 1; }
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null ||
			{ echo "postgres: apt-get install postgresql failed" >&2; return 1; }
		bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	fi
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "postgres: no initdb under /usr/lib/postgresql/*/bin even after installing postgresql" >&2
		return 1
	fi

	# The server refuses to run as root: run it as the postgres system
	# user the package creates, or as ourselves when we are not root.
	local as=()
	if [ "$(id -u)" = 0 ]; then
		if ! id postgres >/dev/null 2>&1; then
			echo "postgres: running as root and there is no postgres user to run the server as" >&2
			return 1
		fi
		as=(runuser -u postgres --)
	fi

	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/brightline-pg.XXXXXX") || return 1
	chmod 0755 "$dir"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
	if ! "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
		echo "postgres: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		return 1
	fi

	# A free port: ask the kernel for one, then start on it. Another
	# process may take it between the two; that shows as a start failure
	# naming the port, so try a few.
	local port="" try
	for try in 1 2 3 4 5; do
		port=$(brightline_postgres_free_port) || { echo "postgres: couldn't find a free port" >&2; return 1; }
		if "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
			"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=on -c max_connections=300" \
			>/dev/null; then
			break
		fi
		if ! grep -q "could not bind" "$dir/server.log" 2>/dev/null; then
			echo "postgres: pg_ctl start failed:" >&2
			cat "$dir/server.log" >&2
			return 1
		fi
		port=""
	done
	if [ -z "$port" ]; then
		echo "postgres: no free port after 5 tries:" >&2
		cat "$dir/server.log" >&2
		return 1
	fi

	local url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	local ready=""
	for try in $(seq 1 60); do
		if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
			ready=1
			break
		fi
		sleep 0.5
	done
	if [ -z "$ready" ]; then
		echo "postgres: the server on port $port did not become ready:" >&2
		cat "$dir/server.log" >&2
		return 1
	fi

	export BRIGHTLINE_PG_BIN="$bin" BRIGHTLINE_PG_DIR="$dir"
	export BRIGHTLINE_TEST_DATABASE_URL="$url"
	export BRIGHTLINE_REQUIRE_POSTGRES=1
	echo "postgres: $("$bin/postgres" --version | sed 's/^postgres //') at $url (data and log in $dir)"
	# Stop it when the shell exits, after whatever the EXIT trap did.
	local prev
	eval "set -- $(trap -p EXIT)"
	prev="${3:-}"
	# shellcheck disable=SC2064 # expand prev now
	trap "brightline_postgres_stop; $prev" EXIT
	echo "postgres: brightline_postgres_stop (run at exit) stops it and deletes $dir"
}

# brightline_postgres_free_port prints a TCP port on 127.0.0.1 that nothing
# listens on right now.
brightline_postgres_free_port() {
	local port i
	for i in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		# Connection refused means no listener.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# brightline_postgres_stop stops the server and deletes its directory.
brightline_postgres_stop() {
	local dir="${BRIGHTLINE_PG_DIR:-}" bin="${BRIGHTLINE_PG_BIN:-}"
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then return 0; fi
	local as=()
	if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
	"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	unset BRIGHTLINE_PG_DIR BRIGHTLINE_TEST_DATABASE_URL BRIGHTLINE_REQUIRE_POSTGRES
}

brightline_postgres_start || { echo "postgres: couldn't start the throwaway server (see above)" >&2; return 1 2>/dev/null || exit 1; }
