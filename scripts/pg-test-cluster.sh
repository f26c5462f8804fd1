#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests and the PostgreSQL benchmark: a new cluster in a temporary folder,
# listening on a free port of 127.0.0.1 only, trust authentication, superuser "postgres".
#
#   scripts/pg-test-cluster.sh start   # prints the connection string; writes artifacts/pg-test-cluster.env
#   source artifacts/pg-test-cluster.env   # exports LEADSCORING_TEST_POSTGRES (and PG_TEST_CLUSTER_DIR)
#   scripts/pg-test-cluster.sh stop    # stops the server and deletes the folder
#
# The server binaries are Debian's (the postgresql package: /usr/lib/postgresql/VERSION/bin, newest version taken);
# when missing and running as root, the package is installed with apt-get. PG_BIN=/path/to/bin picks other binaries.
# initdb and pg_ctl refuse to run as root: as root the server runs as the user "postgres" (made by the package) or
# else "nobody". The cluster is for tests: fsync is off (a crash of the machine loses it, which does not matter);
# set PG_TEST_DURABLE=1 to keep PostgreSQL's durable defaults (for throughput figures).
set -euo pipefail
cd "$(dirname "$0")/.."
state=${PG_TEST_CLUSTER_ENV:-artifacts/pg-test-cluster.env}

die() { echo "pg-test-cluster: $*" >&2; exit 1; }

bin_dir() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$d" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "pg-test-cluster: installing the postgresql package (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null 2>&1 \
      || die "apt-get install postgresql failed"
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [ -n "$d" ] && [ -x "$d/initdb" ] || die "no PostgreSQL server binaries (apt-get install postgresql, or set PG_BIN)"
  echo "$d"
}

# Runs a command as the cluster's owner: this user, or an unprivileged one when this is root.
owner() {
  if [ "$(id -u)" -ne 0 ]; then echo "$(id -un)"; elif id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}
as_owner() {
  local user=$1; shift
  if [ "$(id -u)" -ne 0 ]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  [ ! -f "$state" ] || die "$state exists: a cluster is running (run: $0 stop)"
  local bin user dir port
  bin=$(bin_dir)
  user=$(owner)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/leadscoring-pg.XXXXXX")
  chmod 755 "$dir"
  [ "$(id -u)" -ne 0 ] || chown "$user" "$dir"
  as_owner "$user" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  # Only TCP on 127.0.0.1, trusted; the Unix socket lives in the cluster's own folder.
  echo "host all all 127.0.0.1/32 trust" | as_owner "$user" tee "$dir/data/pg_hba.conf" >/dev/null
  local durable="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_TEST_DURABLE:-0}" != "1" ] || durable=""
  local attempt started=0
  for attempt in $(seq 1 20); do
    port=$((20000 + (RANDOM % 40000)))
    port_is_free "$port" || continue
    if as_owner "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=200 $durable" start >/dev/null; then
      started=1; break
    fi
  done
  [ "$started" -eq 1 ] || { tail -n 20 "$dir/server.log" >&2 || true; rm -rf "$dir"; die "the server did not start"; }
  local cs="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  mkdir -p "$(dirname "$state")"
  printf 'export PG_TEST_CLUSTER_DIR=%q\nexport PG_TEST_CLUSTER_BIN=%q\nexport PG_TEST_CLUSTER_USER=%q\nexport LEADSCORING_TEST_POSTGRES=%q\n' \
    "$dir" "$bin" "$user" "$cs" >"$state"
  echo "pg-test-cluster: $("$bin/postgres" --version) on 127.0.0.1:$port (folder $dir, user $user)" >&2
  echo "$cs"
}

stop() {
  [ -f "$state" ] || { echo "pg-test-cluster: no cluster to stop ($state missing)" >&2; return 0; }
  # shellcheck disable=SC1090
  source "$state"
  as_owner "$PG_TEST_CLUSTER_USER" "$PG_TEST_CLUSTER_BIN/pg_ctl" -D "$PG_TEST_CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 \
    || echo "pg-test-cluster: pg_ctl stop failed (already stopped?)" >&2
  rm -rf "$PG_TEST_CLUSTER_DIR" "$state"
  echo "pg-test-cluster: stopped, $PG_TEST_CLUSTER_DIR deleted" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
