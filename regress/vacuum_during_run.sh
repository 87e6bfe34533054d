#!/usr/bin/env bash
# Vacuum reclaims the model states a run supersedes while the run goes on,
# when the run is started with CALL automl_fit_multiple_proc().  Every unit
# replaces its trial's state (TOAST chunks of ~2 kB), so a run whose calling
# session held back the vacuum horizon would keep every state it ever wrote
# until it ended.  In the middle of such a run this requires that the
# calling session holds no xid and no snapshot horizon, and that a VACUUM
# from another session removes nearly all the superseded chunks; the run
# must still finish every trial.  A SELECT of automl_fit_multiple() keeps
# its statement's snapshot, as documented.
#
# Runs against the cluster named by PGHOST/PGPORT/PGUSER (scripts/check.sh
# calls it after pg_regress) in its own database.
set -euo pipefail
NAME=vacuum_during_run
DB=automl_vacuum
PREFIX=vr
# shellcheck source=regress/run_script.sh
source "$(dirname "${BASH_SOURCE[0]}")/run_script.sh"

EPOCHS=16
TRAIN_UNITS=$((EPOCHS * TRIALS * SEGMENTS))

create_run_db 0
# The TOAST table that holds automl_trials.state.
toast="$(sql "SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'automl_trials'::regclass")"
[[ "$toast" != - ]] || fail "automl_trials has no TOAST table"

start_driver "CALL automl_fit_multiple_proc('vr_train', '$CONFIGS', $EPOCHS, seed => 5)"
wait_for_count "SELECT count(*) FROM automl_hops WHERE kind = 'train'" $((TRAIN_UNITS / 2)) "half its train units"
run="$(sql "SELECT run_id FROM automl_runs")"

held="$(sql "SELECT coalesce(backend_xid::text, '-') || ' ' || coalesce(backend_xmin::text, '-')
               FROM pg_stat_activity WHERE pid = automl_run_driver($run)")"
[[ "$held" == "- -" ]] || fail "the session driving run $run holds xid and xmin '$held', not '- -'"
echo "ok: the session driving run $run holds neither an xid nor a snapshot horizon"

# VACUUM VERBOSE of the TOAST table says how many dead chunks it removed and
# how many it had to keep: those of states superseded while the snapshots
# of the units in flight were open (a few states), not all the run's.
out="$(automl_psql -d "$DB" -qAt -c "VACUUM (VERBOSE) $toast" 2>&1)"
read -r removed kept < <(sed -nE 's/.*tuples: ([0-9]+) removed, [0-9]+ remain, ([0-9]+) are dead but not yet removable.*/\1 \2/p' \
  <<<"$out" | head -n 1) || true
[[ -n "$removed" ]] || fail "no tuple counts in the output of VACUUM VERBOSE: $out"
echo "vacuum during run $run: $removed dead state chunks removed, $kept kept"
((removed > kept)) ||
  fail "VACUUM kept $kept of $((removed + kept)) dead state chunks of run $run: something holds back the horizon"
echo "ok: a VACUUM during run $run removed most superseded states"

# The commit released the caller's locks; the procedure takes those on the
# run's table again, so that it cannot be prepared again under the run.
out="$(automl_psql -d "$DB" -qAt -c "SET lock_timeout = '1s'" \
  -c "SELECT rows FROM automl_prepare('fm_train', 'vr_train', 'label', 'image', 250, 2, overwrite => true)" 2>&1)" &&
  fail "vr_train was prepared again while run $run trained on it: $out"
grep -q 'lock timeout' <<<"$out" || fail "preparing vr_train again during run $run failed otherwise: $out"
[[ -n "$(sql "SELECT automl_run_driver($run)")" ]] || fail "run $run ended before the check of its locks"
echo "ok: vr_train cannot be prepared again while run $run trains on it"

wait "$driver" || fail "the run failed: $(cat "$log")"
driver=""
[[ "$(cat "$log")" == "$run" ]] || fail "the procedure returned '$(cat "$log")', not run_id $run"
done_trials="$(sql "SELECT count(*) FROM automl_trials WHERE run_id = $run AND status = 'done'")"
[[ "$done_trials" == "$TRIALS" ]] || fail "run $run finished $done_trials of $TRIALS trials"
echo "ok: run $run finished all $TRIALS trials"

# A SELECT keeps its statement's snapshot for the whole run.
start_driver "SELECT count(*) FROM automl_fit_multiple('vr_train', '$CONFIGS', 5, seed => 5)"
wait_for_count "SELECT count(*) FROM automl_hops WHERE run_id > $run" 1 "the second run's first unit"
run="$(sql "SELECT max(run_id) FROM automl_runs")"
held="$(sql "SELECT backend_xmin IS NOT NULL FROM pg_stat_activity WHERE pid = automl_run_driver($run)")"
[[ "$held" == t ]] || fail "the SELECT driving run $run holds no snapshot: what else does its statement read with?"
echo "ok: a SELECT keeps its snapshot during run $run"
wait "$driver" || fail "the second run failed: $(cat "$log")"
driver=""
