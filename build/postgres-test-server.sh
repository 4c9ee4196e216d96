#!/usr/bin/env bash
# A throwaway PostgreSQL server for the ledger tests, on a loopback port, run as the current user (root too, via runuser).
#   eval "$(bash build/postgres-test-server.sh start)"   # prints: export DISTILLERY_TEST_POSTGRES=postgres://…
#   ./test.sh
#   bash build/postgres-test-server.sh stop              # stops it and deletes its folder
# Needs Debian's postgresql package (bash build/prerequisites.sh postgresql). State lives in $DISTILLERY_PG_DIR (default /tmp/distillery-pg).
set -euo pipefail
dir=${DISTILLERY_PG_DIR:-/tmp/distillery-pg}
# The first free loopback port from 54329 on, unless one is given.
free_port() {
  for p in $(seq 54329 54399); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }; done
  echo "no free port in 54329-54399" >&2; return 1
}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "postgresql is not installed (bash build/prerequisites.sh postgresql)" >&2; exit 1; }
# PostgreSQL refuses to run as root: root runs it as the 'postgres' user the package created.
as() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    bash "$0" stop >/dev/null 2>&1 || true
    port=${DISTILLERY_PG_PORT:-$(free_port)}
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as "$bin/initdb" -D "$dir/data" -U distillery --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as "$bin/createdb" -h 127.0.0.1 -p "$port" -U distillery distillery_test
    echo "export DISTILLERY_TEST_POSTGRES=postgres://distillery@127.0.0.1:$port/distillery_test"
    ;;
  stop)
    if [ -d "$dir/data" ]; then as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
