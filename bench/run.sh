#!/usr/bin/env bash
# Runs pg_automl's benchmarks, all of them or the ones named, and prints one
# "name: value" line per figure.  Sets up what it needs by itself: the build,
# a throwaway cluster and the data.  Figures are ratios against a baseline
# measured in the same run, because absolute times drift on a shared machine.
#
# Usage: bench/run.sh [NAME...]
#   in_db_vs_standalone   samples/s of the training aggregate inside the
#                         database / samples/s of bench_standalone (same core
#                         code, model, packed buffers, order and thread count),
#                         in a warm backend; also prints the figure for a
#                         fresh backend that reads its buffers from TOAST
# Environment: BENCH_EPOCHS (default 3), BENCH_REPEATS (default 3).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ALL=(in_db_vs_standalone)
EPOCHS="${BENCH_EPOCHS:-3}"
REPEATS="${BENCH_REPEATS:-3}"
SPEC='{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 128}, {"type": "ReLU"},
       {"type": "Linear", "out_features": 10}]}'
PARAMS='{"optimizer": "adam", "lr": 0.001}'
SEED=7

# Full Fashion-MNIST training set (60,000 rows), packed in buffers of 256.
bench_setup_data() {
  automl_psql -q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_automl;
SELECT count(*) FROM automl_load_fashion_mnist('bench', validation_rows => 0, test_rows => 1);
SELECT automl_add_model('bench_mlp', '$SPEC');
SELECT rows FROM automl_prepare('bench_train', 'bench_packed', 'label', 'image', buffer_size => 256,
                                normalization => 'global', seed => $SEED);
CREATE FUNCTION bench_train(epochs int, OUT seconds float8, OUT rows bigint, OUT loss float8)
LANGUAGE plpgsql AS \$\$
DECLARE
  st bytea;
  spec jsonb := (SELECT a.spec FROM automl_model_arch a WHERE a.name = 'bench_mlp');
  params jsonb := automl_params_canonical('$PARAMS');
  r automl_train_result;
  t0 timestamptz;
BEGIN
  st := automl_init_state(spec, params, 'classification', $SEED);
  t0 := clock_timestamp();
  rows := 0;
  FOR e IN 1 .. epochs LOOP
    SELECT (x).* INTO r
      FROM (SELECT automl_train(buffer, st, spec, params) x
              FROM (SELECT buffer FROM bench_packed ORDER BY segment_id, buffer_id) b) s;
    st := r.state;
    rows := rows + r.rows;
  END LOOP;
  seconds := extract(epoch FROM clock_timestamp() - t0);
  loss := r.loss;
END \$\$;
SQL
}

bench_in_db_vs_standalone() {
  local dir="$AUTOML_BUILD_DIR/bench" ratios=() cold_ratios=() db cold sa db_loss sa_loss i
  mkdir -p "$dir"
  chmod 777 "$dir"
  automl_psql -Atq -c "SELECT spec FROM automl_model_arch WHERE name = 'bench_mlp'" >"$dir/spec.json"
  automl_psql -q -c "\\copy (SELECT buffer FROM bench_packed ORDER BY segment_id, buffer_id) TO '$dir/buffers.copy' WITH (FORMAT binary)"
  for ((i = 0; i < REPEATS; i++)); do
    # Steady state, as a segment process that serves its shard for a whole
    # run: one warm-up epoch loads libtorch and reads the buffers, then the
    # timed epochs run in the same backend.  The standalone baseline also
    # holds its buffers in memory before its clock starts.
    read -r db db_loss < <(automl_psql -AtqF ' ' -c "SELECT 1 FROM bench_train(1)" \
      -c "SELECT seconds, loss FROM bench_train($EPOCHS)" | tail -n 1)
    # Cold: a fresh backend, libtorch already loaded but buffers read from TOAST.
    read -r cold _ < <(automl_psql -AtqF ' ' -c "SELECT 1 FROM automl_state_info(automl_init_state(
      (SELECT spec FROM automl_model_arch WHERE name = 'bench_mlp'), '{}', 'classification', 0))" \
      -c "SELECT seconds, loss FROM bench_train($EPOCHS)" | tail -n 1)
    read -r sa sa_loss < <("$AUTOML_BUILD_DIR/bench_standalone" "$dir/spec.json" "$PARAMS" \
      "$dir/buffers.copy" "$EPOCHS" "$SEED" 1 | awk '/^seconds/{s=$2} /^loss/{l=$2} END{print s, l}')
    ratios+=("$(awk -v a="$sa" -v b="$db" 'BEGIN{printf "%.4f", a / b}')")
    cold_ratios+=("$(awk -v a="$sa" -v b="$cold" 'BEGIN{printf "%.4f", a / b}')")
    automl_log "repeat $i: in-db ${db}s (cold ${cold}s, loss $db_loss), standalone ${sa}s (loss $sa_loss)"
  done
  # Medians of the repeats; identical losses show both ran the same training.
  printf 'in_db_vs_standalone: %s\n' "$(median "${ratios[@]}")"
  printf 'in_db_vs_standalone_cold: %s\n' "$(median "${cold_ratios[@]}")"
  awk -v a="$db_loss" -v b="$sa_loss" 'BEGIN{d=a-b; if (d<0) d=-d; printf "in_db_standalone_loss_diff: %.3g\n", d}'
}

median() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'
}

main() {
  local names=("$@")
  ((${#names[@]})) || names=("${ALL[@]}")
  for n in "${names[@]}"; do
    declare -F "bench_$n" >/dev/null || automl_die "unknown benchmark '$n' (known: ${ALL[*]})"
  done
  automl_install_deps
  automl_build
  automl_cluster_start
  bench_setup_data
  for n in "${names[@]}"; do "bench_$n"; done
}

main "$@"
