#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and benchmarks: Debian's `postgresql` package, a
# fresh cluster in a temporary directory, listening on loopback only, trust auth.
#
#   scripts/postgres.sh install        # apt-get install postgresql when its server is missing
#   eval "$(scripts/postgres.sh start DIR)"   # exports VOXPRINT_TEST_POSTGRES=postgres://…
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh down DIR / up DIR   # stop the server keeping its data, start it again on
#                                           # the same port: an outage, for the storage-fault tests
#
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user that the
# Debian package creates. Only the `export` line goes to standard output.
set -euo pipefail

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return
    fi
  done
  return 1
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the server of the cluster recorded in DIR, on the port recorded there.
run_server() {
  local dir=$1 bin cluster port
  bin=$(pg_bin)
  cluster=$(cat "$dir/cluster-path")
  port=$(cat "$dir/port")
  # Loopback only, socket in the cluster's own directory, enough connections for several
  # instances with their pools; fsync stays on (the crash tests rely on real durability).
  as_owner "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$cluster -c max_connections=400" \
    start >&2 || { cat "$cluster/server.log" >&2; exit 1; }
}

case "${1:-}" in
  install)
    if pg_bin >/dev/null; then
      exit 0
    fi
    if [ "$(id -u)" != 0 ]; then
      echo "the PostgreSQL tests need Debian's postgresql package: sudo apt-get install postgresql" >&2
      exit 1
    fi
    echo "installing Debian's postgresql" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    ;;
  start)
    dir=${2:?usage: postgres.sh start DIR}
    bin=$(pg_bin) || { echo "no PostgreSQL server found; run: scripts/postgres.sh install" >&2; exit 1; }
    mkdir -p "$dir"
    # The cluster lives in a directory of its owner's own making, because as root the caller's
    # directories (mktemp's are 0700) are out of the postgres user's reach; DIR records where.
    cluster=$(as_owner mktemp -d -t voxprint-postgres.XXXXXX)
    echo "$cluster" >"$dir/cluster-path"
    port=$(free_port)
    echo "$port" >"$dir/port"
    as_owner "$bin/initdb" -D "$cluster/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    run_server "$dir"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (cluster in $cluster)" >&2
    echo "export VOXPRINT_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?usage: postgres.sh stop DIR}
    if [ -f "$dir/cluster-path" ]; then
      cluster=$(cat "$dir/cluster-path")
      as_owner "$(pg_bin)/pg_ctl" -D "$cluster/data" -m fast -w stop >&2 || true
      rm -rf "$cluster"
    fi
    ;;
  down)
    dir=${2:?usage: postgres.sh down DIR}
    as_owner "$(pg_bin)/pg_ctl" -D "$(cat "$dir/cluster-path")/data" -m fast -w stop >&2
    ;;
  up)
    run_server "${2:?usage: postgres.sh up DIR}"
    ;;
  *)
    echo "usage: scripts/postgres.sh install | start DIR | stop DIR | down DIR | up DIR" >&2
    exit 2
    ;;
esac
