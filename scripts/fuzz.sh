#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/*_fuzz.cpp) for SECONDS each (default
# 60) from its seed corpus in fuzz/corpus/<target>, with AddressSanitizer
# and UndefinedBehaviorSanitizer.  A crash, leak, UB report or foreign
# exception fails the run; the input is kept in build-sanitize/fuzz-out
# (turn it into a unit test).  Prints executions and coverage per target.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds="${1:-60}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || automl_die "SECONDS must be a number, not $seconds"
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(model_spec train_params packed_buffer idx_reader training_state)
fi

automl_build_sanitized
automl_sanitizer_env
out="$AUTOML_SANITIZE_DIR/fuzz-out"
rc=0
for t in "${targets[@]}"; do
  bin="$AUTOML_SANITIZE_DIR/${t}_fuzz"
  [[ -x "$bin" ]] || automl_die "no fuzz target $t"
  # New inputs go to a scratch corpus; the seeds in the repo stay as they are.
  work="$out/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  automl_log "fuzzing $t for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$work/corpus" "$ROOT/fuzz/corpus/$t" >"$work/log" 2>&1; then
    rc=1
    tail -60 "$work/log" >&2
    automl_log "FAILED: $t (inputs in $work/artifacts)"
    continue
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")"
  cov="$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)"
  echo "$t: ${execs:-?} executions, ${cov:-cov: ?} edges, $(find "$work/corpus" -type f | wc -l) new inputs"
done
if ((rc)); then
  automl_log "fuzzing FAILED"
else
  automl_log "fuzzing passed"
fi
exit "$rc"
