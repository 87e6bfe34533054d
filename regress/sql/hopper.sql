-- Model hopper (automl_fit_multiple): segments, the hop schedule and its
-- log, bit-identical hopping, the catalog and views, and bad input.
-- Metrics are checked against bounds, never printed raw.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;
SELECT pg_backend_pid() AS caller_pid \gset

-- 6000 training rows in 24 buffers of 250 over 2 segments; 1000 validation rows.
SELECT rows, buffers, segment_buffers FROM automl_prepare('fm_train', 'hop_train', 'label', 'image', 250, 2);
SELECT rows, buffers FROM automl_prepare('fm_validation', 'hop_val', 'label', 'image', 250, 2, "like" => 'hop_train');
SELECT name FROM automl_add_model('hop_mlp', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 32}, {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}');
SELECT name FROM automl_add_model('hop_mlp_bn', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 16}, {"type": "BatchNorm1d"}, {"type": "ReLU"}, {"type": "Dropout", "p": 0.2},
    {"type": "Linear", "out_features": 10}]}');

\set configs '[{"model": "hop_mlp", "params": {"lr": 0.01}}, {"model": "hop_mlp", "params": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}}, {"model": "hop_mlp_bn", "params": {"optimizer": "rmsprop", "lr": 0.001}}, {"model": "hop_mlp", "params": {"lr": 0.001, "batch_size": 50}}, {"model": "hop_mlp_bn"}]'

------------------------------------------------------------------------------
-- A run: 5 configurations, 2 segments, 3 epochs
------------------------------------------------------------------------------

-- The summary: one row per trial, ranked by validation accuracy.
CREATE TABLE hop_result AS
SELECT * FROM automl_fit_multiple('hop_train', :'configs', 3, 'hop_val', seed => 42);
SELECT run_id AS run FROM hop_result LIMIT 1 \gset
SELECT count(*) AS trials, count(DISTINCT rank) AS ranks, bool_and(status = 'done') AS all_done,
       bool_and(epochs_done = 3) AS all_epochs,
       bool_and(val_accuracy BETWEEN 0.5 AND 1 AND train_loss BETWEEN 0 AND 3 AND val_loss BETWEEN 0 AND 3) AS metrics_ok,
       bool_and(val_top_k_accuracy >= val_accuracy) AS top_k_ok
  FROM hop_result;
-- Ranks follow validation accuracy.
SELECT bool_and(ok) AS ranked FROM (
  SELECT val_accuracy >= lead(val_accuracy) OVER (ORDER BY rank) OR lead(val_accuracy) OVER (ORDER BY rank) IS NULL AS ok
    FROM hop_result) r;
SELECT status, segments, validation_segments, epochs, epochs_done, attempts, finished_at >= started_at AS finished
  FROM automl_runs WHERE run_id = :run;

-- Each segment was one process for the whole run, not the caller.
SELECT segment, count(DISTINCT pid) AS processes, bool_and(pid <> :caller_pid) AS not_the_caller
  FROM automl_hops WHERE run_id = :run GROUP BY segment ORDER BY segment;
SELECT count(DISTINCT pid) AS segment_processes FROM automl_hops WHERE run_id = :run;
-- They are gone once the run is over.
SELECT count(*) AS segments_left FROM pg_stat_activity WHERE backend_type = 'pg_automl segment';

-- The hop log.  Every trial visits every segment exactly once per epoch,
-- its whole shard each time.
SELECT count(*) AS train_units, min(rows) AS min_rows, max(rows) AS max_rows
  FROM automl_hops WHERE run_id = :run AND kind = 'train';
SELECT bool_and(visits = 2 AND segments = 2) AS each_segment_once
  FROM (SELECT count(*) AS visits, count(DISTINCT segment) AS segments FROM automl_hops
         WHERE run_id = :run AND kind = 'train' GROUP BY epoch, trial) v;
-- No trial is on two segments in one hop, no segment trains two trials in one hop.
SELECT count(*) = count(DISTINCT (epoch, hop, trial)) AS trial_once_per_hop,
       count(*) = count(DISTINCT (epoch, hop, segment)) AS segment_once_per_hop,
       max(hop) + 1 AS hops_per_epoch
  FROM automl_hops WHERE run_id = :run AND kind = 'train';
-- The recorded visit order: reshuffled each epoch from the seed (this
-- output is fixed by seed 42).
SELECT trial, string_agg(order_, ' | ' ORDER BY epoch) AS visits
  FROM (SELECT trial, epoch, string_agg(segment::text, ',' ORDER BY hop) AS order_
          FROM automl_hops WHERE run_id = :run AND kind = 'train' GROUP BY trial, epoch) v
 GROUP BY trial ORDER BY trial;
-- Each trial's epoch is validated by every segment on its own shard.
SELECT count(*) AS validate_units, min(n) AS min_segments, max(n) AS max_segments, min(r) AS min_rows, max(r) AS max_rows
  FROM (SELECT count(*) AS n, sum(rows) AS r FROM automl_hops WHERE run_id = :run AND kind = 'validate'
         GROUP BY epoch, trial) v;
-- Each unit's optimizer steps fit inside its wall time.
SELECT bool_and(step_seconds > 0 AND step_seconds <= seconds) AS step_time_ok
  FROM automl_hops WHERE run_id = :run AND kind = 'train';
-- 5 trials on 2 segments: every hop keeps both segments busy.
SELECT epoch, trials, utilisation > 0 AND utilisation <= 1.0001 AS utilisation_ok, seconds > 0 AS timed
  FROM automl_run_epochs WHERE run_id = :run ORDER BY epoch;

-- Per-epoch metrics of every trial's fit, consistent with the hop log.
SELECT count(*) AS epoch_rows, bool_and(e.rows = 6000) AS all_rows FROM automl_fit_epochs e
  JOIN automl_trials t USING (fit_id) WHERE t.run_id = :run;
SELECT bool_and(abs(e.train_loss - h.loss) < 1e-9) AS train_loss_matches_hops
  FROM automl_fit_epochs e JOIN automl_trials t USING (fit_id)
  JOIN (SELECT trial, epoch, sum(loss * rows) / sum(rows) AS loss FROM automl_hops
         WHERE run_id = :run AND kind = 'train' GROUP BY trial, epoch) h ON h.trial = t.trial AND h.epoch = e.epoch
 WHERE t.run_id = :run;
-- The validation metrics combined from the segments equal a full scan.
SELECT bool_and(abs(v.accuracy - r.val_accuracy) < 1e-9 AND abs(v.loss - r.val_loss) < 1e-6) AS same_as_evaluate
  FROM hop_result r, LATERAL automl_evaluate(r.fit_id, 'hop_val') v;

------------------------------------------------------------------------------
-- Hopping is exact: weights and optimizer state travel with the model
------------------------------------------------------------------------------

-- Replays a trial in this one process: the same shards in the order the hop
-- log recorded, each through the training aggregate.
CREATE FUNCTION hop_replay(run bigint, tr int) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
    t automl_trials;
    st bytea;
    h record;
    res automl_train_result;
BEGIN
    SELECT * INTO t FROM automl_trials x WHERE x.run_id = run AND x.trial = tr;
    st := automl_init_state(t.spec, t.params, 'classification', (SELECT seed FROM automl_runs x WHERE x.run_id = run));
    FOR h IN SELECT x.segment FROM automl_hops x WHERE x.run_id = run AND x.trial = tr AND x.kind = 'train'
              ORDER BY x.epoch, x.hop LOOP
        SELECT (r).* INTO res FROM (SELECT automl_train(b.buffer, st, t.spec, t.params) r
                                      FROM (SELECT buffer FROM hop_train WHERE segment_id = h.segment ORDER BY buffer_id) b) s;
        st := res.state;
    END LOOP;
    RETURN st;
END $$;
SELECT t.trial, t.model_name, t.params->>'optimizer' AS optimizer,
       hop_replay(:run, t.trial) = f.state AS hopped_equals_one_process,
       -- (the last visit of an epoch leaves the state in the fit only)
       t.state IS NULL AS state_in_fit,
       automl_state_info(f.state)->'steps' AS steps
  FROM automl_trials t JOIN automl_fits f USING (fit_id) WHERE t.run_id = :run ORDER BY t.trial;

-- The same seed gives the same run, bit for bit.
CREATE TABLE hop_again AS SELECT * FROM automl_fit_multiple('hop_train', :'configs', 3, 'hop_val', seed => 42);
SELECT run_id AS run2 FROM hop_again LIMIT 1 \gset
SELECT bool_and(fa.state = fb.state AND a.state IS NOT DISTINCT FROM b.state) AS same_states, count(*) AS trials
  FROM automl_trials a JOIN automl_trials b USING (trial)
  JOIN automl_fits fa ON fa.fit_id = a.fit_id JOIN automl_fits fb ON fb.fit_id = b.fit_id
 WHERE a.run_id = :run AND b.run_id = :run2;
SELECT (SELECT array_agg(trial ORDER BY epoch, hop, segment) FROM automl_hops WHERE run_id = :run AND kind = 'train')
     = (SELECT array_agg(trial ORDER BY epoch, hop, segment) FROM automl_hops WHERE run_id = :run2 AND kind = 'train')
       AS same_schedule;
-- The procedure runs the same run: called outside a transaction block it
-- commits its checks first and holds no snapshot while the run goes on.
\o /dev/null
CALL automl_fit_multiple_proc('hop_train', :'configs', 3, 'hop_val', seed => 42);
\o
SELECT max(run_id) AS run_proc FROM automl_runs \gset
SELECT bool_and(fa.state = fb.state AND a.state IS NOT DISTINCT FROM b.state) AS same_states, count(*) AS trials
  FROM automl_trials a JOIN automl_trials b USING (trial)
  JOIN automl_fits fa ON fa.fit_id = a.fit_id JOIN automl_fits fb ON fb.fit_id = b.fit_id
 WHERE a.run_id = :run AND b.run_id = :run_proc;
-- In a transaction block it cannot commit, and runs as the function does.
BEGIN;
\o /dev/null
CALL automl_fit_multiple_proc('hop_train', '[{"model": "hop_mlp"}]', 1, seed => 42);
\o
COMMIT;
SELECT status, epochs_done FROM automl_runs WHERE run_id = (SELECT max(run_id) FROM automl_runs);
-- Nor in an exception block (a subtransaction) of a procedure.
CREATE PROCEDURE hop_guarded(INOUT id bigint) LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        CALL automl_fit_multiple_proc('hop_train', '[{"model": "hop_mlp"}]', 1, seed => 42, run_id => id);
    EXCEPTION WHEN others THEN
        RAISE;
    END;
END $$;
\o /dev/null
CALL hop_guarded(NULL);
\o
SELECT status, epochs_done FROM automl_runs WHERE run_id = (SELECT max(run_id) FROM automl_runs);
DROP PROCEDURE hop_guarded;
-- Its commit ends SET LOCAL: a setting the checks saw but the run would not.
DO $$
DECLARE
    id bigint;
BEGIN
    SET LOCAL pg_automl.buffer_cache_mb = 7;
    CALL automl_fit_multiple_proc('hop_train', '[{"model": "hop_mlp"}]', 1, run_id => id);
END $$;
:sqlstate
-- Its checks are the function's; a run that is not interrupted is not resumed.
CALL automl_fit_multiple_proc('hop_train', '[{"model": "hop_nope"}]');
:sqlstate
CALL automl_resume_proc(:run_proc);
:sqlstate
CALL automl_resume_proc(-1);
:sqlstate
-- Another seed gives another schedule.
CREATE TABLE hop_other AS SELECT * FROM automl_fit_multiple('hop_train', :'configs', 1, seed => 43);
SELECT run_id AS run3 FROM hop_other LIMIT 1 \gset
SELECT (SELECT array_agg(trial ORDER BY hop, segment) FROM automl_hops WHERE run_id = :run AND epoch = 1 AND kind = 'train')
    <> (SELECT array_agg(trial ORDER BY hop, segment) FROM automl_hops WHERE run_id = :run3 AND kind = 'train')
       AS other_schedule;
-- Without validation: no validation units, ranked by training accuracy.
SELECT count(*) FILTER (WHERE kind = 'validate') AS validate_units FROM automl_hops WHERE run_id = :run3;
SELECT bool_and(val_accuracy IS NULL AND train_accuracy BETWEEN 0 AND 1) AS train_metrics_only FROM hop_other;

-- A fitted trial is a fit like any other.
SELECT rows, accuracy BETWEEN 0.5 AND 1 AS accuracy_ok
  FROM automl_evaluate((SELECT fit_id FROM hop_result WHERE rank = 1), 'hop_val');
SELECT count(*) AS predictions FROM automl_predict((SELECT fit_id FROM hop_result WHERE rank = 1), 'hop_val');

------------------------------------------------------------------------------
-- Fewer configurations than segments; one segment; regression
------------------------------------------------------------------------------

SELECT rows, buffers FROM automl_prepare('fm_train', 'hop_train4', 'label', 'image', 250, 4);
CREATE TABLE hop_small AS
SELECT * FROM automl_fit_multiple('hop_train4', '[{"model": "hop_mlp"}, {"model": "hop_mlp", "params": {"lr": 0.01}}]', 2);
SELECT run_id AS run4 FROM hop_small LIMIT 1 \gset
-- 4 hops per epoch, 2 of the 4 segments idle in each: utilisation about 1/2.
SELECT max(hop) + 1 AS hops, count(*) AS units, count(DISTINCT pid) AS processes
  FROM automl_hops WHERE run_id = :run4 AND kind = 'train';
SELECT bool_and(utilisation <= 0.55) AS half_idle FROM automl_run_epochs WHERE run_id = :run4;
SELECT count(*) AS done FROM hop_small WHERE status = 'done';

SELECT rows, buffers FROM automl_prepare('fm_train', 'hop_train1', 'label', 'image', 250, 1);
SELECT status, epochs_done FROM automl_fit_multiple('hop_train1', '[{"model": "hop_mlp"}]', 1);

SELECT rows, task FROM automl_prepare('linear', 'hop_linear', 'y', 'a, b, c', 50, 2);
SELECT name FROM automl_add_model('hop_reg', '{"input_shape": [3], "layers": [
    {"type": "Linear", "out_features": 16}, {"type": "Tanh"}, {"type": "Linear", "out_features": 1}]}');
SELECT rank, status, train_accuracy IS NULL AS no_accuracy, val_loss > 0 AS val_loss_ok
  FROM automl_fit_multiple('hop_linear', '[{"model": "hop_reg", "params": {"lr": 0.01}}, {"model": "hop_reg", "params": {"lr": 0.0001}}]',
                           5, 'hop_linear') ORDER BY rank;

------------------------------------------------------------------------------
-- Progress and leaderboard
------------------------------------------------------------------------------

SELECT status, epoch, epochs, hops_done, hops, trials_done, trials, elapsed > '0'::interval AS elapsed, remaining
  FROM automl_progress WHERE run_id = :run;
SELECT count(*) AS leaderboard_rows FROM automl_leaderboard WHERE run_id = :run;
-- Everyone may read the catalog.
SELECT has_table_privilege('public', 'automl_runs', 'SELECT') AS runs,
       has_table_privilege('public', 'automl_hops', 'SELECT') AS hops,
       has_table_privilege('public', 'automl_progress', 'SELECT') AS progress;

------------------------------------------------------------------------------
-- Bad input: a clear error before anything starts, nothing left behind
------------------------------------------------------------------------------

SELECT count(*) AS runs_before FROM automl_runs \gset
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}, {"model": "hop_nope"}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp", "params": {"lr": -1}}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp", "params": {"optimizer": "lbfgs"}}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp", "params": {"learning_rate": 0.1}}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp", "params": [1]}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp", "lr": 0.1}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"name": "hop_mlp"}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '["hop_mlp"]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '{"model": "hop_mlp"}');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', NULL);
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_reg"}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}]', 0);
:sqlstate
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}]', 1, top_k => 0);
:sqlstate
SELECT * FROM automl_fit_multiple('fm_train', '[{"model": "hop_mlp"}]');
:sqlstate
SELECT * FROM automl_fit_multiple('hop_missing', '[{"model": "hop_mlp"}]');
:sqlstate
SELECT * FROM automl_fit_multiple(NULL, '[{"model": "hop_mlp"}]');
:sqlstate
-- Validation data prepared differently.
SELECT rows FROM automl_prepare('fm_validation', 'hop_val_other', 'label', 'image', 250, 2, normalization => 'minmax');
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}]', 1, 'hop_val_other');
:sqlstate
-- An empty shard: a segment would hold every model and train nothing.
SELECT rows FROM automl_prepare('fm_train', 'hop_hole', 'label', 'image', 250, 2);
DELETE FROM hop_hole_seg1;
SELECT * FROM automl_fit_multiple('hop_hole', '[{"model": "hop_mlp"}]');
:sqlstate
-- A validation table may hold empty shards, but not fewer buffers than written.
SELECT rows FROM automl_prepare('fm_validation', 'hop_val_hole', 'label', 'image', 250, 2, "like" => 'hop_train');
DELETE FROM hop_val_hole_seg0;
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}]', 1, 'hop_val_hole');
:sqlstate
-- Numbers beyond a double (jsonb takes them) are out of range, not internal errors.
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp", "params": {"lr": 1e400}}]', 1);
:sqlstate
SELECT automl_params_canonical('{"batch_size": 1e400}');
:sqlstate
SELECT name FROM automl_add_model('hop_big', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 1e400}]}');
:sqlstate
-- Segments commit on their own: the caller must see what they commit.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}]', 1);
:sqlstate
ROLLBACK;
-- A model added in the caller's open transaction is invisible to segments.
BEGIN;
SELECT name FROM automl_add_model('hop_uncommitted', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}');
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_uncommitted"}]', 1);
:sqlstate
ROLLBACK;
-- More segments than background worker slots (max_worker_processes is 16
-- in the test cluster).
SELECT rows, buffers FROM automl_prepare('fm_train', 'hop_wide', 'label', 'image', 250, 17);
SELECT * FROM automl_fit_multiple('hop_wide', '[{"model": "hop_mlp"}]', 1);
:sqlstate
-- Segments connect as the current user, who must be allowed to log in.
CREATE ROLE hop_nologin NOLOGIN SUPERUSER;
SET ROLE hop_nologin;
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}]', 1);
:sqlstate
RESET ROLE;
DROP ROLE hop_nologin;
-- A segment that cannot connect (here: no CONNECT privilege) is a start-up
-- failure, reported before any unit runs.
CREATE ROLE hop_noconnect LOGIN;
GRANT SELECT ON hop_train TO hop_noconnect;
GRANT INSERT, UPDATE ON automl_runs, automl_trials, automl_hops, automl_run_epochs, automl_fits, automl_fit_epochs
   TO hop_noconnect;
GRANT USAGE ON SEQUENCE automl_runs_run_id_seq, automl_fits_fit_id_seq TO hop_noconnect;
SELECT current_database() AS db \gset
REVOKE CONNECT ON DATABASE :"db" FROM PUBLIC;
SET ROLE hop_noconnect;
SELECT * FROM automl_fit_multiple('hop_train', '[{"model": "hop_mlp"}]', 1);
:sqlstate
RESET ROLE;
GRANT CONNECT ON DATABASE :"db" TO PUBLIC;
REVOKE SELECT ON hop_train FROM hop_noconnect;
REVOKE ALL ON automl_runs, automl_trials, automl_hops, automl_run_epochs, automl_fits, automl_fit_epochs
  FROM hop_noconnect;
REVOKE ALL ON SEQUENCE automl_runs_run_id_seq, automl_fits_fit_id_seq FROM hop_noconnect;
DROP ROLE hop_noconnect;
SELECT count(*) - :runs_before AS new_runs FROM automl_runs;

-- automl_resume of what cannot be resumed.
SELECT * FROM automl_resume(:run);
:sqlstate
SELECT * FROM automl_resume(-1);
:sqlstate
SELECT * FROM automl_resume(NULL);
:sqlstate
-- The driver is internal, and checks its arguments anyway.
SELECT automl_mop_run('{"kind": "resume", "run": 1}', 0);
:sqlstate
SELECT automl_mop_run(NULL, 2);
:sqlstate
SELECT automl_mop_run('{"kind": "train", "run": 1, "trial": 0}', 2);
:sqlstate
SELECT automl_mop_run('[1, 2]', 2);
:sqlstate
SELECT automl_mop_run('{"kind": "resume"}', 2);
:sqlstate
SELECT automl_mop_run('{"kind": "resume", "run": "abc"}', 2);
:sqlstate
SELECT automl_mop_run('{"kind": "resume", "run": 1.5}', 2);
:sqlstate
SELECT automl_mop_run('{"kind": "resume", "run": 1e400}', 2);
:sqlstate
-- So does its procedure form, after its commit too (a table it cannot find
-- is not locked; the run's own checks then refuse the command).
CALL automl_mop_drive(NULL, 2);
:sqlstate
CALL automl_mop_drive('{"kind": "resume", "run": 1}', 0);
:sqlstate
CALL automl_mop_drive('{"kind": "train"}', 2);
:sqlstate
CALL automl_mop_drive('{"kind": "resume", "run": 1, "train": "no_such_schema.t"}', 2);
:sqlstate
-- A create command it refuses leaves no run behind.
SELECT count(*) AS runs_before FROM automl_runs \gset
SELECT automl_mop_run('{"kind": "create", "train": "public.hop_train", "validation": null, "epochs": 1, "seed": 0,
                        "top_k": 5, "trials": []}', 2);
:sqlstate
SELECT automl_mop_run('{"kind": "create", "train": "public.hop_train", "validation": null, "epochs": 0, "seed": 0,
                        "top_k": 5, "trials": [{"model": "hop_mlp", "params": {}}]}', 2);
:sqlstate
SELECT automl_mop_run('{"kind": "create", "train": "public.hop_train", "validation": null, "epochs": 1, "seed": 0,
                        "top_k": 5, "trials": [{"model": "hop_mlp", "params": {}}]}', 3);
:sqlstate
SELECT count(*) - :runs_before AS new_runs FROM automl_runs;
-- The segments' entry point and the units behind it are refused outside a
-- segment process, whoever calls them: from a session they would change a
-- run past its driver (fail a trial, close an epoch).
SELECT epochs_done, attempts FROM automl_runs WHERE run_id = :run;
SELECT automl_run_unit('{"kind": "train", "run": -1, "epoch": 1, "hop": 0, "segment": 0, "trial": 0}');
:sqlstate
SELECT automl_run_unit(NULL);
:sqlstate
SELECT automl_run_create('{"kind": "create"}');
:sqlstate
SELECT automl_run_finish_epoch(:run, 3);
:sqlstate
SELECT automl_run_load(:run);
:sqlstate
SELECT automl_run_fail_trial(:run, 0, 1, 'no reason');
:sqlstate
SELECT automl_run_train(:run, 1, 0, 0, 0, false);
:sqlstate
SELECT automl_run_validate(:run, 1, 0, 0);
:sqlstate
SELECT epochs_done, attempts FROM automl_runs WHERE run_id = :run;
SELECT count(*) AS failed FROM automl_trials WHERE run_id = :run AND status = 'failed';
SELECT 1 AS alive;
