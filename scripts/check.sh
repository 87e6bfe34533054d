#!/usr/bin/env bash
# The project's test command: installs deps, builds, runs the C++ unit tests
# (ctest) and the SQL regression tests (pg_regress) against a private,
# throwaway PostgreSQL 15 cluster, then the unit tests again and every fuzz
# target for AUTOML_FUZZ_SECONDS (60) in a clang build with AddressSanitizer
# and UndefinedBehaviorSanitizer. Exits non-zero if anything failed.
#
# Usage: scripts/check.sh [--unit-only | --regress-only | --sanitize-only] [-- PG_REGRESS_ARGS...]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  sed -n 's/^# Usage: //p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# --no-tests=error: a CMake change that drops every test must not pass.
run_unit() {
  automl_log "unit tests"
  ctest --test-dir "$AUTOML_BUILD_DIR" --output-on-failure --no-tests=error
}

# A test file that the schedule forgets would silently never run.
check_schedule() {
  local sched="$ROOT/regress/schedule" kw rest t f missing=()
  local -A listed=()
  [[ -f "$sched" ]] || automl_die "missing $sched"
  while read -r kw rest; do
    [[ "$kw" == "test:" ]] || continue
    for t in $rest; do listed[$t]=1; done
  done <"$sched"
  ((${#listed[@]} > 0)) || automl_die "$sched lists no tests"
  shopt -s nullglob
  for f in "$ROOT"/regress/sql/*.sql; do
    t="$(basename "$f" .sql)"
    [[ -n "${listed[$t]:-}" ]] || missing+=("$t")
  done
  shopt -u nullglob
  ((${#missing[@]} == 0)) ||
    automl_die "regress/sql tests not in regress/schedule: ${missing[*]}"
}

# pg_regress --use-existing neither drops nor creates the database, so do
# what it would do itself: fresh DB, C messages/formats for stable output.
create_regress_db() {
  local db=automl_regress
  automl_psql -q -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db" \
    -c "CREATE DATABASE $db TEMPLATE template0" \
    -c "ALTER DATABASE $db SET lc_messages TO 'C'" \
    -c "ALTER DATABASE $db SET lc_monetary TO 'C'" \
    -c "ALTER DATABASE $db SET lc_numeric TO 'C'" \
    -c "ALTER DATABASE $db SET lc_time TO 'C'" \
    -c "ALTER DATABASE $db SET bytea_output TO 'hex'" \
    -c "ALTER DATABASE $db SET timezone_abbreviations TO 'Default'"
}

# pg_regress runs as the caller: with --use-existing it only runs psql, so
# it needs no postgres rights, and root can read a repo under /root.
# Output goes to the build tree so the source tree stays clean.
run_regress() {
  local out="$AUTOML_BUILD_DIR/regress"
  automl_log "regression tests"
  rm -rf "$out"
  mkdir -p "$out"
  create_regress_db
  if "$AUTOML_PG_REGRESS" --use-existing --host="$PGHOST" --port="$PGPORT" \
      --user=postgres --dbname=automl_regress --bindir="$AUTOML_SYS_BINDIR" \
      --inputdir="$ROOT/regress" --outputdir="$out" \
      --schedule="$ROOT/regress/schedule" "$@"; then
    return 0
  fi
  if [[ -f "$out/regression.diffs" ]]; then
    echo "---- $out/regression.diffs ----" >&2
    cat "$out/regression.diffs" >&2
  fi
  return 1
}

# The postmaster must never load libtorch: a server asked to preload
# pg_automl refuses to start, with a message that says what to do.
run_preload_check() {
  local dir="$AUTOML_CLUSTER_DIR/preload" bin="$AUTOML_PGROOT$AUTOML_SYS_BINDIR" out
  automl_log "shared_preload_libraries is refused"
  _automl_as_pg "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null 2>&1 ||
    { echo "initdb failed" >&2; return 1; }
  if out="$(_automl_as_pg "$bin/postgres" --single -D "$dir" \
      -c shared_preload_libraries=pg_automl postgres </dev/null 2>&1)"; then
    echo "a server with pg_automl in shared_preload_libraries started" >&2
    return 1
  fi
  grep -q 'pg_automl must not be loaded by shared_preload_libraries' <<<"$out" ||
    { echo "unexpected output: $out" >&2; return 1; }
  echo "ok: $(grep -m1 'must not be loaded' <<<"$out")"
}

# Needs a second session during a run, so it runs outside pg_regress, in its
# own database.
run_vacuum_during_run() {
  automl_log "vacuum during a model hopper run"
  "$ROOT/regress/vacuum_during_run.sh"
}

# Hundreds of calls and errors in one session (40 rounds here): memory
# levels off, nothing is left behind.
run_soak() {
  automl_log "soak"
  "$ROOT/regress/soak.sh" "${AUTOML_SOAK_ROUNDS:-40}"
}

# kill -9 of a segment restarts the whole server, so it runs last, outside
# pg_regress, in its own database.
run_crash_resume() {
  automl_log "crash and resume of a model hopper run"
  "$ROOT/regress/crash_resume.sh"
}

# The core's unit tests in the sanitized build (any report fails them), and
# the fuzz targets from their seed corpora.
run_sanitized() {
  automl_log "unit tests with AddressSanitizer and UndefinedBehaviorSanitizer"
  automl_build_sanitized
  (automl_sanitizer_env && ctest --test-dir "$AUTOML_SANITIZE_DIR" --output-on-failure --no-tests=error) || return 1
  "$ROOT/scripts/fuzz.sh" "${AUTOML_FUZZ_SECONDS:-60}"
}

main() {
  local unit=1 regress=1 sanitize=1 rc=0
  while (($#)); do
    case "$1" in
      --unit-only) regress=0 sanitize=0 ;;
      --regress-only) unit=0 sanitize=0 ;;
      --sanitize-only) unit=0 regress=0 ;;
      --) shift; break ;;
      *) usage ;;
    esac
    shift
  done
  ((unit || regress || sanitize)) || usage
  # Fail fast, before a long build, on a schedule that misses a test.
  if ((regress)); then
    check_schedule
  fi
  automl_install_deps
  if ((unit || regress)); then
    automl_build
  fi
  # Keep going after a unit failure so one run reports everything.
  if ((unit)); then
    run_unit || rc=1
  fi
  if ((regress)); then
    automl_cluster_start
    run_regress "$@" || rc=1
    run_vacuum_during_run || rc=1
    run_soak || rc=1
    run_crash_resume || rc=1
    run_preload_check || rc=1
  fi
  if ((sanitize)); then
    run_sanitized || rc=1
  fi
  if ((rc)); then
    automl_log "FAILED"
  else
    automl_log "all tests passed"
  fi
  exit "$rc"
}

main "$@"
