#!/usr/bin/env bash
# Crash and resume of a model hopper run: kill -9 one segment process in the
# middle of automl_fit_multiple() (the postmaster restarts the cluster), and
# then restart the server in the middle of another; continue the first run
# with automl_resume() and the second with CALL automl_resume_proc(), and
# require each to end bit-identical to an uninterrupted run with the same
# seed.
#
# Runs against the cluster named by PGHOST/PGPORT/PGUSER (scripts/check.sh
# calls it after pg_regress) in its own database. Killing a backend makes the
# postmaster restart every backend of the cluster: only use a throwaway one.
set -euo pipefail
NAME=crash_resume
DB=automl_crash
PREFIX=cr
# shellcheck source=regress/run_script.sh
source "$(dirname "${BASH_SOURCE[0]}")/run_script.sh"

EPOCHS=10
FIT="SELECT DISTINCT run_id FROM automl_fit_multiple('cr_train', '$CONFIGS', $EPOCHS, 'cr_val', seed => 11)"
TRAIN_UNITS=$((EPOCHS * TRIALS * SEGMENTS))

# Claim $1 holds when query $2 returns no rows (each row is a difference).
expect_none() {
  local out
  out="$(sql "$2")"
  [[ -z "$out" ]] || fail "not true: $1; first differences:"$'\n'"$(head -n 10 <<<"$out")"
  echo "ok: $1"
}

start=$SECONDS
create_run_db 1000

t0=$SECONDS
ref="$(sql "$FIT")"
[[ "$(sql "SELECT count(*) FILTER (WHERE status = 'done') FROM automl_trials WHERE run_id = $ref")" == "$TRIALS" ]] ||
  fail "reference run $ref did not finish all $TRIALS trials"
echo "ok: reference run $ref finished in $((SECONDS - t0)) s"

# Runs the reference run again, interrupts it ($1: kill = kill -9 of a
# segment, which makes the postmaster restart every backend; restart = a fast
# restart of the server), resumes it and compares it with the reference.
interrupt_and_resume() {
  local how="$1" last i done_units
  last="$(sql "SELECT max(run_id) FROM automl_runs")"
  # The same run again, in the background: its session dies with the server.
  start_driver "$FIT"
  # Wait for a third of the train units: the crash must hit a run that has
  # committed work to keep and work left to do.
  wait_for_count "SELECT count(*) FROM automl_hops WHERE run_id > $last AND kind = 'train'" \
    $(((TRAIN_UNITS + 2) / 3)) "a third of its train units, for the $how"
  done_units=$counted
  local run pid status kept units rc t0
  run="$(sql "SELECT run_id FROM automl_runs WHERE run_id > $last")"
  if [[ "$how" == kill ]]; then
    pid="$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_automl segment' AND datname = '$DB'
                 ORDER BY application_name DESC LIMIT 1")"
    [[ -n "$pid" ]] || fail "no segment process of run $run found in pg_stat_activity"
    kill -9 "$pid"
    echo "ok: killed segment process $pid of run $run after $done_units of $TRAIN_UNITS train units"
  else
    # As lib.sh starts it: OpenBLAS with one thread per process.
    OPENBLAS_NUM_THREADS=1 _automl_as_pg "$AUTOML_PGROOT$AUTOML_SYS_BINDIR/pg_ctl" restart -D "$AUTOML_PGDATA" \
      -m fast -w -t 60 -l "$AUTOML_PG_LOG" >/dev/null || fail "pg_ctl restart failed"
    echo "ok: restarted the server (fast) during run $run after $done_units of $TRAIN_UNITS train units"
  fi

  for ((i = 0; ; i++)); do
    kill -0 "$driver" 2>/dev/null || break
    ((i < 600)) || fail "the session driving run $run survived the $how"
    sleep 0.1
  done
  rc=0
  wait "$driver" || rc=$?
  driver=""
  ((rc != 0)) || fail "automl_fit_multiple succeeded despite the $how: $(cat "$log")"
  for ((i = 0; ; i++)); do
    automl_psql -d "$DB" -qAt -c 'SELECT 1' >/dev/null 2>&1 && break
    ((i < 120)) || fail "the server did not accept connections 60 s after the $how"
    sleep 0.5
  done
  echo "ok: server is back"

  status="$(sql "SELECT status FROM automl_progress WHERE run_id = $run")"
  [[ "$status" == interrupted ]] || fail "automl_progress shows run $run as '$status', not 'interrupted'"
  kept="$(sql "SELECT count(*) FROM automl_hops WHERE run_id = $run AND kind = 'train'")"
  ((kept > 0 && kept < TRAIN_UNITS)) || fail "run $run kept $kept of $TRAIN_UNITS train units"
  echo "ok: run $run is interrupted in epoch $(sql "SELECT epoch FROM automl_progress WHERE run_id = $run")" \
    "with $kept train units committed"
  # What survived must be kept as it is, not trained again.
  sql "CREATE TABLE cr_before_$run AS SELECT * FROM automl_hops WHERE run_id = $run"

  t0=$SECONDS
  # The function continues the killed run, the procedure the restarted one.
  if [[ "$how" == kill ]]; then
    sql "SELECT count(*) FROM automl_resume($run)" >/dev/null
  else
    sql "CALL automl_resume_proc($run)" >/dev/null
  fi
  status="$(sql "SELECT status || ' after ' || attempts || ' attempts' FROM automl_runs WHERE run_id = $run")"
  [[ "$status" == "done after 2 attempts" ]] || fail "run $run is $status after automl_resume"
  echo "ok: $([[ "$how" == kill ]] && echo "automl_resume" || echo "automl_resume_proc")($run) finished the run in $((SECONDS - t0)) s"

  expect_none "the $kept units committed before the $how are kept, not trained again" "
    SELECT b.epoch, b.kind, b.trial, b.segment FROM cr_before_$run b
      LEFT JOIN automl_hops h USING (run_id, epoch, kind, trial, segment)
     WHERE (h.pid, h.finished_at) IS DISTINCT FROM (b.pid, b.finished_at)"
  units="$(sql "SELECT count(*) || ' ' || count(DISTINCT (epoch, trial, segment)) FROM automl_hops
                 WHERE run_id = $run AND kind = 'train'")"
  [[ "$units" == "$TRAIN_UNITS $TRAIN_UNITS" ]] ||
    fail "run $run logs '$units' (all, distinct) train units, not $TRAIN_UNITS once each"
  echo "ok: the hop log holds each of the $TRAIN_UNITS train units once"

  # Exact comparisons (IS DISTINCT FROM on float8 and bytea): a resumed run
  # replays the same units on the same states. Epoch metrics are sums over
  # 2 segments' hops, and a + b == b + a, so commit order cannot change them.
  expect_none "every unit's loss and accuracy in automl_hops equals the reference run's" "
    SELECT epoch, kind, trial, segment, r.loss, c.loss
      FROM (SELECT * FROM automl_hops WHERE run_id = $ref) r
      FULL JOIN (SELECT * FROM automl_hops WHERE run_id = $run) c USING (epoch, kind, trial, segment)
     WHERE (r.hop, r.rows, r.loss, r.accuracy, r.top_k_accuracy)
           IS DISTINCT FROM (c.hop, c.rows, c.loss, c.accuracy, c.top_k_accuracy)
     ORDER BY epoch, kind, trial, segment"
  expect_none "automl_trials.state of every trial equals the reference run's byte for byte" "
    SELECT trial, r.status, md5(r.state), c.status, md5(c.state)
      FROM (SELECT * FROM automl_trials WHERE run_id = $ref) r
      FULL JOIN (SELECT * FROM automl_trials WHERE run_id = $run) c USING (trial)
     WHERE (r.status, r.epochs_done, r.state) IS DISTINCT FROM (c.status, c.epochs_done, c.state)
     ORDER BY trial"
  expect_none "automl_fits.state of every trial equals the reference run's byte for byte" "
    SELECT trial, md5(r.state), md5(c.state)
      FROM (SELECT t.trial, f.* FROM automl_trials t JOIN automl_fits f USING (fit_id) WHERE t.run_id = $ref) r
      FULL JOIN (SELECT t.trial, f.* FROM automl_trials t JOIN automl_fits f USING (fit_id) WHERE t.run_id = $run) c
           USING (trial)
     WHERE (r.epochs_done, r.state) IS DISTINCT FROM (c.epochs_done, c.state)
     ORDER BY trial"
  expect_none "every epoch's metrics in automl_fit_epochs equal the reference run's" "
    SELECT trial, epoch, r.train_loss, c.train_loss, r.val_loss, c.val_loss
      FROM (SELECT t.trial, e.* FROM automl_trials t JOIN automl_fit_epochs e USING (fit_id) WHERE t.run_id = $ref) r
      FULL JOIN (SELECT t.trial, e.* FROM automl_trials t JOIN automl_fit_epochs e USING (fit_id) WHERE t.run_id = $run) c
           USING (trial, epoch)
     WHERE (r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.val_top_k_accuracy, r.rows)
           IS DISTINCT FROM (c.train_loss, c.train_accuracy, c.val_loss, c.val_accuracy, c.val_top_k_accuracy, c.rows)
     ORDER BY trial, epoch"
}

interrupt_and_resume kill
interrupt_and_resume restart
echo "ok: crash_resume passed in $((SECONDS - start)) s"
