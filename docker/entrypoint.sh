#!/usr/bin/env bash
# Container entrypoint: creates the cluster on first start, then runs the
# server as the postgres user in the foreground (PID 1).
# POSTGRES_PASSWORD set: TCP clients may log in as postgres with it.
# Unset: only local socket connections (docker exec ... psql) are allowed.
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin
PGDATA="${PGDATA:-/var/lib/postgresql/data}"

as_postgres() {
  setpriv --reuid=postgres --regid=postgres --init-groups "$@"
}

# Debian's server puts its socket here; /run is not populated at boot in a
# container, so create it ourselves.
prepare_dirs() {
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
}

# The password goes through a file so it never appears in ps output.
init_cluster() {
  local pwfile auth=()
  if [[ -s "$PGDATA/PG_VERSION" ]]; then
    return 0
  fi
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    auth=(--pwfile="$pwfile" --auth-host=scram-sha-256)
  fi
  (cd / && as_postgres "$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 \
    --locale=C.UTF-8 --auth-local=trust "${auth[@]}")
  [[ -z "${pwfile:-}" ]] || rm -f "$pwfile"
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  else
    echo "POSTGRES_PASSWORD unset: only local connections allowed" >&2
  fi
}

main() {
  # "docker run IMAGE -c x=y" passes options to the server; "docker run
  # IMAGE bash" runs that command instead of the server.
  if [[ "${1:-}" == -* ]]; then
    set -- postgres "$@"
  fi
  if [[ "${1:-postgres}" != "postgres" ]]; then
    exec "$@"
  fi
  shift || true
  prepare_dirs
  init_cluster
  cd /
  exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "$BIN/postgres" -D "$PGDATA" "$@"
}

main "$@"
