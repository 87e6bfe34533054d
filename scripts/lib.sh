# shellcheck shell=bash
# Shared helpers for pg_automl scripts. Source it; do not execute it.
#
# Environment (all optional):
#   AUTOML_BUILD_DIR  CMake build tree            (default: $ROOT/build)
#   AUTOML_JOBS       parallel build jobs         (default: 2)
#   AUTOML_RUN_DIR    where pgroot/ and cluster/ live; must be traversable by
#                     the postgres user (default: the build tree if postgres
#                     can reach it, else a fresh mktemp dir in /tmp)
#   AUTOML_PG_SETTINGS extra postgresql.conf lines for the test cluster
#
# After automl_cluster_start: PGHOST PGPORT PGUSER PGDATABASE, AUTOML_PGROOT,
# AUTOML_PGDATA and AUTOML_PG_LOG are exported.

set -euo pipefail

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
AUTOML_BUILD_DIR="${AUTOML_BUILD_DIR:-$ROOT/build}"
AUTOML_JOBS="${AUTOML_JOBS:-2}"

# The system PostgreSQL 15 (Debian layout). The private copy mirrors these
# paths under a prefix, because the server locates share/ and lib/ relative
# to its own binary using exactly these compiled-in locations.
AUTOML_SYS_BINDIR=/usr/lib/postgresql/15/bin
AUTOML_SYS_PKGLIBDIR=/usr/lib/postgresql/15/lib
AUTOML_SYS_SHAREDIR=/usr/share/postgresql/15
AUTOML_PG_CONFIG="$AUTOML_SYS_BINDIR/pg_config"
# shellcheck disable=SC2034  # used by check.sh
AUTOML_PG_REGRESS="$AUTOML_SYS_PKGLIBDIR/pgxs/src/test/regress/pg_regress"

AUTOML_DEPS=(postgresql-15 postgresql-server-dev-15 libtorch-dev
  libopenblas0-pthread nlohmann-json3-dev googletest libgtest-dev
  dataset-fashion-mnist cmake g++ make zlib1g-dev libisal-dev python3)

automl_log() { printf '==> %s\n' "$*" >&2; }
automl_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- deps

# Prints the packages of AUTOML_DEPS that are not fully installed.
_automl_missing_deps() {
  local pkg
  for pkg in "${AUTOML_DEPS[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" \
        != "install ok installed" ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

# Installs missing packages; skips apt entirely when nothing is missing so
# repeated runs are fast and work offline.
automl_install_deps() {
  local missing
  mapfile -t missing < <(_automl_missing_deps)
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  ((EUID == 0)) || automl_die "missing packages (need root): ${missing[*]}"
  automl_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------- build

# Configures once (re-running cmake's configure on every call is slow and
# CMake re-configures by itself when CMakeLists.txt changes), builds, and
# stages the install under build/pgroot via DESTDIR.
automl_build() {
  if [[ ! -f "$AUTOML_BUILD_DIR/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$AUTOML_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
      -DPG_CONFIG="$AUTOML_PG_CONFIG"
  fi
  cmake --build "$AUTOML_BUILD_DIR" -j"$AUTOML_JOBS"
  DESTDIR="$AUTOML_BUILD_DIR/pgroot" cmake --install "$AUTOML_BUILD_DIR"
}

# The core, its unit tests and the fuzz targets built with clang,
# AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage, in
# $AUTOML_SANITIZE_DIR (default build-sanitize).  Installs clang first.
AUTOML_SANITIZE_DIR="${AUTOML_SANITIZE_DIR:-$ROOT/build-sanitize}"
automl_build_sanitized() {
  AUTOML_DEPS+=(clang libclang-rt-14-dev)
  automl_install_deps
  if [[ ! -f "$AUTOML_SANITIZE_DIR/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$AUTOML_SANITIZE_DIR" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPG_AUTOML_WITH_POSTGRES=OFF -DPG_AUTOML_BENCH=OFF -DPG_AUTOML_FUZZ=ON
  fi
  cmake --build "$AUTOML_SANITIZE_DIR" -j"$AUTOML_JOBS"
}

# What the sanitizers of a sanitized binary do on a report: stop, and fail.
# An allocation too large to serve returns NULL, as malloc does without
# ASan: the code turns it into an out-of-memory error (tested), not a report.
automl_sanitizer_env() {
  export ASAN_OPTIONS="abort_on_error=1:allocator_may_return_null=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0"
}

# ---------------------------------------------------------------- run dir

# Runs a command as the cluster owner. PostgreSQL refuses to run as root, so
# root switches to "postgres"; any other user runs the cluster as itself.
# cd / because initdb/pg_ctl fail if they cannot stat the caller's cwd
# (e.g. somewhere under /root).
_automl_as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# True when the cluster owner can traverse and read directory $1 (this
# checks every parent too, e.g. /root is mode 700).
_automl_pg_can_reach() {
  _automl_as_pg test -d "$1" -a -x "$1" -a -r "$1"
}

# Sets AUTOML_RUN_DIR once per shell: the build tree when postgres can reach
# it, otherwise a private temp dir that automl_cluster_stop removes.
_automl_pick_run_dir() {
  if [[ -n "${AUTOML_RUN_DIR:-}" ]]; then
    return 0
  fi
  mkdir -p "$AUTOML_BUILD_DIR"
  if _automl_pg_can_reach "$AUTOML_BUILD_DIR"; then
    AUTOML_RUN_DIR="$AUTOML_BUILD_DIR"
  else
    AUTOML_RUN_DIR="$(mktemp -d /tmp/pg_automl.XXXXXX)"
    chmod 755 "$AUTOML_RUN_DIR"
    AUTOML_RUN_DIR_IS_TEMP=1
    automl_log "postgres cannot reach $AUTOML_BUILD_DIR; using $AUTOML_RUN_DIR"
  fi
  export AUTOML_RUN_DIR
}

# ---------------------------------------------------------------- private pg

# Symlinks $1 to $2 unless $2 is a real file/dir (never clobber the staged
# pg_automl install or anything else that is not ours).
_automl_link() {
  if [[ -e "$2" && ! -L "$2" ]]; then
    return 0
  fi
  ln -sfn "$1" "$2"
}

# Copies a binary only when it changed: the server resolves symlinks of its
# own executable, so a symlink would point it back at the system share/lib.
_automl_copy_bin() {
  local src="$AUTOML_SYS_BINDIR/$1" dst="$2/$1"
  [[ -f "$src" ]] || return 0
  if ! cmp -s "$src" "$dst" 2>/dev/null; then
    rm -f "$dst"
    cp -p "$src" "$dst"
  fi
}

# Links every entry of system dir $1 into $2, skipping pg_automl files so
# only the freshly built ones are ever seen.
_automl_mirror_dir() {
  local src="$1" dst="$2" entry
  mkdir -p "$dst"
  for entry in "$src"/*; do
    case "${entry##*/}" in pg_automl*) continue ;; esac
    _automl_link "$entry" "$dst/${entry##*/}"
  done
}

# Fails unless the private tree really resolves to itself. pg_config and the
# server share the same relocation code (src/port/path.c), so this proves
# postgres/initdb will read the private share/ and lib/.
_automl_check_private_pg() {
  local p="$1" got
  got="$("$p$AUTOML_SYS_BINDIR/pg_config" --sharedir)"
  [[ "$got" == "$p$AUTOML_SYS_SHAREDIR" ]] ||
    automl_die "private pg_config reports sharedir $got"
  got="$("$p$AUTOML_SYS_BINDIR/pg_config" --pkglibdir)"
  [[ "$got" == "$p$AUTOML_SYS_PKGLIBDIR" ]] ||
    automl_die "private pg_config reports pkglibdir $got"
  [[ -r "$p$AUTOML_SYS_SHAREDIR/postgres.bki" ]] ||
    automl_die "private share dir lacks postgres.bki"
  "$p$AUTOML_SYS_BINDIR/postgres" --describe-config >/dev/null
}

# Builds a relocated copy of PostgreSQL 15 at $AUTOML_RUN_DIR/pgroot that
# also sees the staged pg_automl install, so tests never touch /usr.
automl_private_pg() {
  _automl_pick_run_dir
  local p="$AUTOML_RUN_DIR/pgroot" staged="$AUTOML_BUILD_DIR/pgroot" b
  mkdir -p "$p"
  # Temp run dir: postgres cannot read the build tree, so copy the staged
  # install (only pg_automl files and whatever cmake --install put there).
  if [[ "$p" != "$staged" && -d "$staged" ]]; then
    cp -a "$staged/." "$p/"
  fi
  mkdir -p "$p$AUTOML_SYS_BINDIR"
  for b in postgres initdb pg_ctl psql pg_config; do
    _automl_copy_bin "$b" "$p$AUTOML_SYS_BINDIR"
  done
  _automl_mirror_dir "$AUTOML_SYS_PKGLIBDIR" "$p$AUTOML_SYS_PKGLIBDIR"
  # share/: link everything except extension/, which must be a real dir so
  # the staged pg_automl control/sql files can sit next to the system ones.
  mkdir -p "$p$AUTOML_SYS_SHAREDIR/extension"
  _automl_mirror_dir "$AUTOML_SYS_SHAREDIR" "$p$AUTOML_SYS_SHAREDIR"
  _automl_mirror_dir "$AUTOML_SYS_SHAREDIR/extension" \
    "$p$AUTOML_SYS_SHAREDIR/extension"
  # umask may be restrictive; the server runs as another user.
  chmod -R a+rX "$p"
  _automl_check_private_pg "$p"
  AUTOML_PGROOT="$p"
  export AUTOML_PGROOT
}

# ---------------------------------------------------------------- cluster

# Prints the first TCP port from 54320 that nothing listens on. Binding
# tests it for real (ss is not on a minimal image, python3 is a dependency).
_automl_free_port() {
  python3 - "${1:-54320}" <<'PY'
import socket, sys
for port in range(int(sys.argv[1]), 54420):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port in 54320..54419")
PY
}

# Picks the cluster dir: $AUTOML_RUN_DIR/cluster under a lock, so two runs
# sharing a build tree never wipe each other's server; if it is busy, a
# per-run dir beside it that automl_cluster_stop removes.
_automl_cluster_dir() {
  exec 9>"$AUTOML_RUN_DIR/cluster.lock"
  if flock -n 9; then
    AUTOML_CLUSTER_DIR="$AUTOML_RUN_DIR/cluster"
    _automl_cluster_reset "$AUTOML_CLUSTER_DIR"
  else
    exec 9>&-
    AUTOML_CLUSTER_DIR="$(mktemp -d "$AUTOML_RUN_DIR/cluster.XXXXXX")"
    AUTOML_CLUSTER_IS_TEMP=1
    automl_log "$AUTOML_RUN_DIR/cluster is in use; using $AUTOML_CLUSTER_DIR"
  fi
  chmod 755 "$AUTOML_CLUSTER_DIR"
  ((EUID != 0)) || chown postgres:postgres "$AUTOML_CLUSTER_DIR"
}

# We hold the lock, so a server still running there belongs to a run that
# was killed before its trap ran: stop it, then start from scratch.
_automl_cluster_reset() {
  local dir="$1" bin="$AUTOML_PGROOT$AUTOML_SYS_BINDIR"
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    _automl_as_pg "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
}

# Writes our settings to a file included from postgresql.conf, so a port
# retry only rewrites that file.
_automl_write_conf() {
  local data="$1" port="$2"
  cat >"$data/automl.conf" <<CONF
# written by scripts/lib.sh for a throwaway test cluster
listen_addresses = '127.0.0.1'
port = $port
# no unix socket: its path may exceed the 107-byte limit in deep build trees
unix_socket_directories = ''
max_worker_processes = 16
fsync = off
synchronous_commit = off
full_page_writes = off
# New WAL files are not zero-filled first: that protects them against a
# crash only together with fsync, and in a young cluster (nothing to
# recycle yet) it doubled the WAL written during model hopper runs.
wal_init_zero = off
shared_buffers = 256MB
work_mem = 64MB
${AUTOML_PG_SETTINGS:-}
CONF
  ((EUID != 0)) || chown postgres:postgres "$data/automl.conf"
}

# Starts the server, retrying on another port if one was taken meanwhile.
# fd 9 (the lock) is closed for pg_ctl so the daemon does not hold it.
_automl_cluster_launch() {
  local data="$1" log="$2" bin="$AUTOML_PGROOT$AUTOML_SYS_BINDIR"
  local port=54320 try
  for try in 1 2 3; do
    port="$(_automl_free_port "$port")"
    _automl_write_conf "$data" "$port"
    # OPENBLAS_NUM_THREADS=1: OpenBLAS otherwise starts a thread pool in
    # every backend that loads libtorch, before pg_automl can size it, and
    # those threads could receive the backend's signals.
    if OPENBLAS_NUM_THREADS=1 _automl_as_pg "$bin/pg_ctl" start -D "$data" -l "$log" -w -t 60 \
        9>&-; then
      PGPORT="$port"
      return 0
    fi
    grep -q 'could not bind' "$log" 2>/dev/null || break
    port=$((port + 1))
  done
  automl_die "server did not start (attempt $try); see $log"
}

# Creates and starts a fresh cluster under $AUTOML_RUN_DIR/cluster, exports
# libpq variables and stops it on EXIT (also on errors and INT/TERM).
# The trap replaces any EXIT trap the caller had.
automl_cluster_start() {
  trap automl_cluster_stop EXIT
  trap 'exit 130' INT  # make bash run the EXIT trap on signals too
  trap 'exit 143' TERM
  automl_private_pg
  _automl_cluster_dir
  local dir="$AUTOML_CLUSTER_DIR" bin="$AUTOML_PGROOT$AUTOML_SYS_BINDIR"
  # Set only now: the trap stops whatever AUTOML_PGDATA names.
  AUTOML_PGDATA="$dir/data"
  AUTOML_PG_LOG="$dir/server.log"
  export AUTOML_PGDATA AUTOML_PG_LOG
  _automl_as_pg "$bin/initdb" -D "$AUTOML_PGDATA" -A trust -E UTF8 \
    --locale=C -U postgres >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; automl_die "initdb failed"; }
  echo "include 'automl.conf'" >>"$AUTOML_PGDATA/postgresql.conf"
  _automl_cluster_launch "$AUTOML_PGDATA" "$AUTOML_PG_LOG"
  export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=automl
  automl_psql -q -d postgres -c 'CREATE DATABASE automl'
  automl_log "cluster up: $PGHOST:$PGPORT (data $AUTOML_PGDATA)"
}

# Stops the server. Runs as the EXIT trap, so it must never fail (a failing
# trap would replace the script's exit status) and it keeps $? for the log.
automl_cluster_stop() {
  local rc=$? bin="${AUTOML_PGROOT:-}$AUTOML_SYS_BINDIR"
  if [[ -n "${AUTOML_PGDATA:-}" && -f "$AUTOML_PGDATA/postmaster.pid" ]]; then
    _automl_as_pg "$bin/pg_ctl" stop -D "$AUTOML_PGDATA" -m fast -w -t 30 \
      >/dev/null 2>&1 ||
      _automl_as_pg "$bin/pg_ctl" stop -D "$AUTOML_PGDATA" -m immediate \
        >/dev/null 2>&1 || true
  fi
  if ((rc != 0)) && [[ -f "${AUTOML_PG_LOG:-}" ]]; then
    echo "---- last lines of $AUTOML_PG_LOG ----" >&2
    tail -n 40 "$AUTOML_PG_LOG" >&2 || true
  fi
  if [[ -n "${AUTOML_CLUSTER_IS_TEMP:-}" ]]; then
    rm -rf "$AUTOML_CLUSTER_DIR" || true
  fi
  if [[ -n "${AUTOML_RUN_DIR_IS_TEMP:-}" ]]; then
    rm -rf "$AUTOML_RUN_DIR" || true
  fi
  AUTOML_PGDATA=""
  return 0
}

# psql against the test cluster: no psqlrc, stop at the first error.
automl_psql() {
  "$AUTOML_SYS_BINDIR/psql" -X -v ON_ERROR_STOP=1 "$@"
}
