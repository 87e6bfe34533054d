#!/usr/bin/env bash
# Runs pg_automl's benchmarks, all of them or the ones named, and prints one
# "name: value" line per figure.  Sets up what it needs by itself: the build,
# a throwaway cluster and the data.  Figures are ratios against a baseline
# measured in the same run, because absolute times drift on a shared machine.
#
# Usage: bench/run.sh [NAME...]   (model_hopper also answers to the names of
#                                 its figures: bench/run.sh hop_overhead)
#   in_db_vs_standalone   samples/s of the training aggregate inside the
#                         database / samples/s of bench_standalone (same core
#                         code, model, packed buffers, order and thread count),
#                         in a warm backend; also prints the figure for a
#                         fresh backend that reads its buffers from TOAST
#   model_hopper          automl_fit_multiple() on 1 and 2 segments (4 MLP
#                         configurations, same data): mop_speedup_2_segments
#                         (wall time of epoch 2 on 1 segment / on 2) and
#                         hop_overhead (share of the 2-segment segment time
#                         in that epoch not spent in optimizer steps) and
#                         hop_overhead_floor (share of the same epoch that
#                         writing its states alone takes, see _state_write_pass)
# Environment: BENCH_EPOCHS (default 3), BENCH_REPEATS (default 3),
#              BENCH_MOP_REPEATS (default 5, model_hopper: its epochs are short).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ALL=(in_db_vs_standalone model_hopper)
EPOCHS="${BENCH_EPOCHS:-3}"
REPEATS="${BENCH_REPEATS:-3}"
MOP_REPEATS="${BENCH_MOP_REPEATS:-5}"
FLOOR_PASSES="${BENCH_FLOOR_PASSES:-10}"
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
-- The final states of a run's trials as binary COPY rows of 8,000 bytes.
CREATE FUNCTION bench_export_states(run bigint, file text) RETURNS void
LANGUAGE plpgsql AS \$\$
BEGIN
  EXECUTE format('COPY (SELECT t.trial, k, substring(f.state FROM k * 8000 + 1 FOR 8000)
                          FROM automl_trials t JOIN automl_fits f USING (fit_id),
                               generate_series(0, (length(f.state) - 1) / 8000) k
                         WHERE t.run_id = %s ORDER BY t.trial, k) TO %L (FORMAT binary)', run, file);
END \$\$;
-- Seconds that PASSES binary COPYs of FILE into table TBL take.
CREATE FUNCTION bench_copy_passes(tbl text, file text, passes int) RETURNS float8
LANGUAGE plpgsql AS \$\$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1 .. passes LOOP
    EXECUTE format('COPY %I FROM %L (FORMAT binary)', tbl, file);
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0);
END \$\$;
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

# Four configurations of the bench MLP for model_hopper: Adam and SGD with
# momentum, two learning rates each.
MOP_CONFIGS='[{"model": "bench_mlp", "params": {"optimizer": "adam", "lr": 0.001}},
  {"model": "bench_mlp", "params": {"optimizer": "adam", "lr": 0.003}},
  {"model": "bench_mlp", "params": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}},
  {"model": "bench_mlp", "params": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}}]'

# Prints "window_seconds step_seconds unit_seconds segments run_id" of one
# automl_fit_multiple() run of MOP_CONFIGS (3 epochs) on prepared table $1.
# The window is epoch 2, from the close of epoch 1 to the close of epoch 2:
# epoch 1 pays the cold reads of each segment's shard into its buffer cache,
# and the last epoch ends with the run (nothing left to overlap its tail
# with, once per run).  A trial may start its next epoch before the others
# end theirs, so each unit counts with the share of its time inside the window.
_mop_run() {
  automl_psql -AtqF ' ' <<SQL
SET client_min_messages = warning;
SET pg_automl.threads = 1;
SELECT max(run_id) AS run FROM automl_fit_multiple('$1', '$MOP_CONFIGS', epochs => 3, seed => $SEED) \gset
WITH w AS (SELECT min(finished_at) FILTER (WHERE epoch = 1) AS t0, min(finished_at) FILTER (WHERE epoch = 2) AS t1
             FROM automl_run_epochs WHERE run_id = :run),
     u AS (SELECT h.step_seconds, h.seconds,
                  greatest(extract(epoch FROM least(h.finished_at, w.t1)
                                   - greatest(h.finished_at - make_interval(secs => h.seconds), w.t0)), 0) AS inside
             FROM automl_hops h, w WHERE h.run_id = :run AND h.kind = 'train')
SELECT extract(epoch FROM w.t1 - w.t0), sum(u.step_seconds * u.inside / u.seconds), sum(u.inside), r.segments, r.run_id
  FROM w, u, automl_runs r WHERE r.run_id = :run
 GROUP BY w.t0, w.t1, r.segments, r.run_id;
SQL
}

# What committing every hop's state costs at the least, whatever the
# storage: one session per segment, all at once and with nothing else
# running, each writes the final states of run $1's trials (the sizes its
# units wrote, so that one pass of all sessions writes as many states as one
# epoch has units) into a logged table of its own by PostgreSQL's cheapest
# path, binary COPY of 8,000-byte rows (no TOAST, no index, no old version
# to delete).  Prints the seconds of one pass: the slowest session's time
# for FLOOR_PASSES passes, divided by their number.
_state_write_pass() {
  local run="$1" segs="$2" file k pids=()
  file="$(automl_psql -Atq -c "SELECT current_setting('data_directory') || '/bench_states.copy'")"
  automl_psql -q -c "SELECT bench_export_states($run, '$file')" >/dev/null
  for ((k = 0; k < segs; k++)); do
    automl_psql -q -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_floor_$k" \
      -c "CREATE TABLE bench_floor_$k (trial int, k int, chunk bytea)" \
      -c "ALTER TABLE bench_floor_$k ALTER chunk SET STORAGE PLAIN"
  done
  for ((k = 0; k < segs; k++)); do
    automl_psql -Atq -c "SELECT bench_copy_passes('bench_floor_$k', '$file', $FLOOR_PASSES)" \
      >"$AUTOML_RUN_DIR/bench_floor_$k.out" &
    pids+=("$!")
  done
  for k in "${pids[@]}"; do wait "$k"; done
  for ((k = 0; k < segs; k++)); do cat "$AUTOML_RUN_DIR/bench_floor_$k.out"; done |
    awk -v n="$FLOOR_PASSES" '$1 > m {m = $1} END {printf "%.6f\n", m / n}'
}

bench_model_hopper() {
  local speedups=() overheads=() floors=() out one steps1 two steps units segs run write i
  # The same 60,000 rows, shuffled with the same seed, in buffers of 256:
  # one shard, and two shards served by two segment processes.
  automl_psql -q >/dev/null <<SQL
SET client_min_messages = warning;
SELECT rows FROM automl_prepare('bench_train', 'bench_mop_1', 'label', 'image', buffer_size => 256, segments => 1,
                                normalization => 'global', seed => $SEED, overwrite => true);
SELECT rows FROM automl_prepare('bench_train', 'bench_mop_2', 'label', 'image', buffer_size => 256, segments => 2,
                                normalization => 'global', seed => $SEED, overwrite => true);
SQL
  for ((i = 0; i < MOP_REPEATS; i++)); do
    # Each run is timed after epoch 1 (see _mop_run).  The 1- and 2-segment
    # runs alternate, so drift on the machine hits both.
    out="$(_mop_run bench_mop_1)"
    read -r one steps1 _ <<<"$out"
    out="$(_mop_run bench_mop_2)"
    read -r two steps units segs run <<<"$out"
    [[ -n "$one" && -n "$run" ]] || automl_die "model_hopper: a run left no timing (see automl_runs)"
    write="$(_state_write_pass "$run" "$segs")"
    speedups+=("$(awk -v a="$one" -v b="$two" 'BEGIN{printf "%.4f", a / b}')")
    overheads+=("$(awk -v t="$two" -v s="$steps" -v n="$segs" 'BEGIN{printf "%.4f", 1 - s / (n * t)}')")
    floors+=("$(awk -v t="$two" -v w="$write" 'BEGIN{printf "%.4f", w / t}')")
    # Raw figures.  Optimizer steps per segment on 1 and on 2 segments show
    # whether the steps themselves slowed down (cores shared with other
    # processes); the 2-segment overhead splits into time inside units but
    # outside optimizer steps (restoring and saving the state, the hop's
    # commit) and time between or after units (idle: scheduling gaps, one
    # segment finishing before the other).  The floor is what writing the
    # epoch's states alone takes (_state_write_pass), in the same shares.
    automl_log "$(awk -v i="$i" -v a="$one" -v s1="$steps1" -v t="$two" -v s="$steps" -v u="$units" -v n="$segs" -v w="$write" 'BEGIN{
      printf "repeat %d: epoch 2: 1 segment %.3fs (steps %.3fs), 2 segments %.3fs (steps %.3fs per segment); ", i, a, s1, t, s / n
      printf "2-segment time: steps %.3f, in units not steps %.3f, idle %.3f; ", s / (n * t), (u - s) / (n * t), 1 - u / (n * t)
      printf "writing the states alone %.4fs (%.3f)", w, w / t}')"
  done
  printf 'mop_speedup_2_segments: %.3f\n' "$(median "${speedups[@]}")"
  printf 'hop_overhead: %.3f\n' "$(median "${overheads[@]}")"
  printf 'hop_overhead_floor: %.3f\n' "$(median "${floors[@]}")"
}

median() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'
}

main() {
  local names=() n
  ((${#@})) || set -- "${ALL[@]}"
  for n in "$@"; do
    # model_hopper's figures name it too (one run prints them all).
    case "$n" in mop_speedup_2_segments | hop_overhead | hop_overhead_floor) n=model_hopper ;; esac
    declare -F "bench_$n" >/dev/null ||
      automl_die "unknown benchmark '$n' (known: ${ALL[*]}, or a figure of model_hopper)"
    [[ " ${names[*]} " == *" $n "* ]] || names+=("$n")
  done
  automl_install_deps
  automl_build
  automl_cluster_start
  bench_setup_data
  for n in "${names[@]}"; do "bench_$n"; done
}

main "$@"
