#!/usr/bin/env bash
# Private PostgreSQL 15 and Redis 7 instances for development, tests and the demo.
#
#   scripts/services.sh up|down|status|env
#
# When HOTLINE_DATABASE_URL and HOTLINE_REDIS_URL are both set, those servers are used and
# nothing is installed or started. Otherwise the Debian packages are installed when missing
# (that needs root) and private instances are started under .run/ on loopback only, on the
# project's own ports, so they never collide with a system instance on 5432/6379.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${HOTLINE_RUN_DIR:-$root/.run}
pg_port=${HOTLINE_PG_PORT:-55432}
redis_port=${HOTLINE_REDIS_PORT:-56379}
pg_db=hotline

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

external() { [ -n "${HOTLINE_DATABASE_URL:-}" ] && [ -n "${HOTLINE_REDIS_URL:-}" ]; }

pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/postgres" ] && { echo "$d"; return 0; }
	done
	return 1
}

apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		die "the Debian package(s) $* are missing; installing them needs root: run 'sudo apt-get install -y $*' once, then try again"
	fi
	say "installing Debian package(s): $*"
	# A fresh machine has no package lists yet; update once per run.
	if [ -z "${_apt_updated:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		_apt_updated=1
	fi
	# policy-rc.d stops the packages' own system instances from starting on 5432/6379.
	local policy=/usr/sbin/policy-rc.d created=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || { [ -n "$created" ] && rm -f "$policy"; die "apt-get install $* failed"; }
	[ -n "$created" ] && rm -f "$policy"
	return 0
}

ensure_packages() {
	local want=()
	pg_bindir >/dev/null || want+=(postgresql)
	command -v redis-server >/dev/null || want+=(redis-server)
	command -v pg_isready >/dev/null || want+=(postgresql-client)
	[ ${#want[@]} -eq 0 ] || apt_install "${want[@]}"
}

# PostgreSQL refuses to run as root: as root it runs as the postgres user, whose data
# directory must be reachable through every parent. When the checkout sits somewhere the
# postgres user cannot enter, the data goes under /var/tmp instead.
pg_user=""
pg_dir=""
pg_setup_paths() {
	if [ "$(id -u)" -eq 0 ]; then
		pg_user=postgres
		id postgres >/dev/null 2>&1 || die "user 'postgres' is missing (it comes with the postgresql package)"
		mkdir -p "$run_dir"
		if runuser -u postgres -- test -x "$run_dir"; then
			pg_dir=$run_dir/pg
		else
			pg_dir=/var/tmp/hotline-pg-$(printf '%s' "$run_dir" | md5sum | cut -c1-12)
		fi
	else
		pg_user=$(id -un)
		pg_dir=$run_dir/pg
	fi
}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_up() {
	local bin
	bin=$(pg_bindir) || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
	pg_setup_paths
	if [ ! -s "$pg_dir/PG_VERSION" ]; then
		say "creating PostgreSQL cluster in $pg_dir"
		mkdir -p "$pg_dir"
		[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pg_dir"
		chmod 700 "$pg_dir"
		as_pg "$bin/initdb" -D "$pg_dir" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$run_dir/initdb.log" 2>&1 ||
			die "initdb failed; see $run_dir/initdb.log"
	fi
	if as_pg "$bin/pg_ctl" -D "$pg_dir" status >/dev/null 2>&1; then
		say "PostgreSQL already running on 127.0.0.1:$pg_port"
	else
		# Tuned for a test and demo instance: durability stays on (fsync), but commits are
		# grouped and the shared buffers sized for a small machine.
		as_pg "$bin/pg_ctl" -D "$pg_dir" -w -t 60 -l "$pg_dir/log" \
			-o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c max_connections=200 -c shared_buffers=256MB" \
			start >/dev/null || die "PostgreSQL did not start; see $pg_dir/log"
		say "PostgreSQL started on 127.0.0.1:$pg_port (data $pg_dir)"
	fi
	local i
	for i in $(seq 1 60); do
		pg_isready -q -h 127.0.0.1 -p "$pg_port" && break
		sleep 0.5
	done
	pg_isready -q -h 127.0.0.1 -p "$pg_port" || die "PostgreSQL on 127.0.0.1:$pg_port is not ready"
	if ! psql -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "select 1 from pg_database where datname='$pg_db'" | grep -q 1; then
		psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "create database $pg_db" >/dev/null
	fi
}

pg_down() {
	local bin
	bin=$(pg_bindir) || return 0
	pg_setup_paths
	if [ -s "$pg_dir/postmaster.pid" ]; then
		as_pg "$bin/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null && say "PostgreSQL stopped"
	fi
}

redis_up() {
	mkdir -p "$run_dir/redis"
	if [ -s "$run_dir/redis/redis.pid" ] && kill -0 "$(cat "$run_dir/redis/redis.pid")" 2>/dev/null; then
		say "Redis already running on 127.0.0.1:$redis_port"
	else
		redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
			--dir "$run_dir/redis" --pidfile "$run_dir/redis/redis.pid" --logfile "$run_dir/redis/log" ||
			die "Redis did not start; see $run_dir/redis/log"
		say "Redis started on 127.0.0.1:$redis_port"
	fi
	local i
	for i in $(seq 1 60); do
		[ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.25
	done
	die "Redis on 127.0.0.1:$redis_port is not ready; see $run_dir/redis/log"
}

redis_down() {
	local pidf=$run_dir/redis/redis.pid
	local pid
	pid=$(cat "$pidf" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		local i
		for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$pidf"
		say "Redis stopped"
	fi
}

print_env() {
	if external; then
		echo "export HOTLINE_DATABASE_URL='$HOTLINE_DATABASE_URL'"
		echo "export HOTLINE_REDIS_URL='$HOTLINE_REDIS_URL'"
	else
		echo "export HOTLINE_DATABASE_URL='postgres://postgres@127.0.0.1:$pg_port/$pg_db?sslmode=disable'"
		echo "export HOTLINE_REDIS_URL='redis://127.0.0.1:$redis_port/0'"
	fi
}

status() {
	local rc=0
	if external; then
		say "using external servers from HOTLINE_DATABASE_URL and HOTLINE_REDIS_URL"
		return 0
	fi
	if pg_isready -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; then say "PostgreSQL: up on 127.0.0.1:$pg_port"; else say "PostgreSQL: down"; rc=1; fi
	if [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ]; then say "Redis: up on 127.0.0.1:$redis_port"; else say "Redis: down"; rc=1; fi
	return $rc
}

case "${1:-}" in
up)
	if external; then say "using external servers from HOTLINE_DATABASE_URL and HOTLINE_REDIS_URL"; exit 0; fi
	mkdir -p "$run_dir"
	ensure_packages
	pg_up
	redis_up
	;;
down)
	external && exit 0
	redis_down
	pg_down
	;;
status) status ;;
env) print_env ;;
*)
	echo "usage: $0 up|down|status|env" >&2
	exit 2
	;;
esac
