#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server: scripts/postgres.sh dotnet test ...
# Installs Debian's postgresql package when missing, initdb's a cluster in a temporary folder, starts it on a free
# 127.0.0.1 port (trust authentication, loopback only), exports COMMENTFLOW_TEST_POSTGRES for the command, then stops
# the server and deletes the folder whatever the command did. Exits with the command's status.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
    echo "$dir"
  fi
}

bin=$(pg_bin)
if [[ -z "$bin" ]]; then
  log "PostgreSQL not installed: installing Debian's postgresql package"
  if [[ $(id -u) -ne 0 ]]; then
    log "installing needs root (apt-get install -y postgresql)"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bin=$(pg_bin)
  if [[ -z "$bin" ]]; then
    log "postgresql installed but no initdb/pg_ctl under /usr/lib/postgresql"
    exit 1
  fi
fi

# initdb refuses to run as root: the cluster belongs to the 'postgres' user the package creates.
run_as=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  run_as=(runuser -u postgres --)
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
dir=$(mktemp -d /tmp/commentflow-pg.XXXXXX)
mkdir "$dir/data" "$dir/socket"
if [[ ${#run_as[@]} -gt 0 ]]; then chown -R postgres "$dir"; fi

stop() {
  ${run_as[@]+"${run_as[@]}"} "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

${run_as[@]+"${run_as[@]}"} "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# fsync off: a test server that is deleted afterwards needs no durability, and the tests run faster without it.
${run_as[@]+"${run_as[@]}"} "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export COMMENTFLOW_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
# The binaries, for tests that need a server of their own to stop and start (the database outage test).
export COMMENTFLOW_TEST_POSTGRES_BIN="$bin"
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') started on 127.0.0.1:$port ($dir)"

status=0
"$@" || status=$?
exit $status
