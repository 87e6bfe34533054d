-- Model hopper under faults: a trial whose loss turns NaN, a trial out of
-- memory, the caller cancelled or terminated, a segment terminated, two runs
-- at once.  None crashes the server or loses committed hops, and every
-- interrupted run resumed ends bit-identical to an uninterrupted one.
-- (kill -9 of a segment, which restarts the server, is in crash_resume.sh.)
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;

-- Waits (at most 60 s) until the query `q` returns true.
CREATE FUNCTION hf_wait(q text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    FOR i IN 1 .. 3000 LOOP
        EXECUTE q INTO ok;
        IF ok THEN RETURN true; END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
    RETURN false;
END $$;
-- Opens a second session on this database.
CREATE FUNCTION hf_connect(name text) RETURNS text
LANGUAGE sql AS $$
    SELECT dblink_connect(name, format('host=%s port=%s dbname=%s user=%s', host(inet_server_addr()),
                          current_setting('port'), current_database(), current_user))
$$;
-- The newest run after `after`, once it has committed `units` train units.
CREATE FUNCTION hf_started(after bigint, units int) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT hf_wait(format('SELECT EXISTS (SELECT 1 FROM automl_hops WHERE run_id > %s AND kind = ''train''
                            GROUP BY run_id HAVING count(*) >= %s)', after, units)) THEN
        RAISE EXCEPTION 'no run after % committed % units', after, units;
    END IF;
    RETURN (SELECT max(run_id) FROM automl_runs WHERE run_id > after);
END $$;
-- Whether run `a` ended with the same trial states, fit states and
-- per-epoch metrics as run `b`.
CREATE FUNCTION hf_same(a bigint, b bigint) RETURNS TABLE (status text, same_states boolean, same_fits boolean,
                                                          same_metrics boolean, same_units boolean)
LANGUAGE sql AS $$
    SELECT (SELECT r.status FROM automl_runs r WHERE r.run_id = a),
           (SELECT bool_and(x.state IS NOT DISTINCT FROM y.state) AND count(*) = (SELECT count(*) FROM automl_trials WHERE run_id = b)
              FROM automl_trials x JOIN automl_trials y USING (trial) WHERE x.run_id = a AND y.run_id = b),
           (SELECT bool_and(fx.state = fy.state AND fx.epochs_done = fy.epochs_done)
              FROM automl_trials x JOIN automl_trials y USING (trial)
              JOIN automl_fits fx ON fx.fit_id = x.fit_id JOIN automl_fits fy ON fy.fit_id = y.fit_id
             WHERE x.run_id = a AND y.run_id = b),
           (SELECT bool_and(ex.train_loss = ey.train_loss AND ex.val_loss = ey.val_loss AND ex.val_accuracy = ey.val_accuracy)
                   AND count(*) = (SELECT count(*) FROM automl_fit_epochs e JOIN automl_trials t USING (fit_id) WHERE t.run_id = b)
              FROM automl_trials x JOIN automl_trials y USING (trial)
              JOIN automl_fit_epochs ex ON ex.fit_id = x.fit_id
              JOIN automl_fit_epochs ey ON ey.fit_id = y.fit_id AND ey.epoch = ex.epoch
             WHERE x.run_id = a AND y.run_id = b),
           -- the same units: every trial visited the same segments in the same hops
           NOT EXISTS (SELECT epoch, kind, hop, trial, segment FROM automl_hops WHERE run_id = a
                       EXCEPT SELECT epoch, kind, hop, trial, segment FROM automl_hops WHERE run_id = b)
           AND (SELECT count(*) FROM automl_hops WHERE run_id = a) = (SELECT count(*) FROM automl_hops WHERE run_id = b)
$$;
-- Segment processes alive now (pg_stat_activity is a snapshot per transaction).
CREATE FUNCTION hf_segments() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_stat_clear_snapshot();
    RETURN (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_automl segment');
END $$;

-- 3 segments: sums over segments must not depend on the order units commit in.
SELECT rows FROM automl_prepare('fm_train', 'hf_train', 'label', 'image', 250, 3);
SELECT rows FROM automl_prepare('fm_validation', 'hf_val', 'label', 'image', 250, 2, "like" => 'hf_train');
SELECT name FROM automl_add_model('hf_mlp', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 32}, {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}');
-- 20M parameters: with Adam's moments and the state's copies, far more than 300 MB.
SELECT name FROM automl_add_model('hf_huge', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 4096}, {"type": "ReLU"}, {"type": "Linear", "out_features": 4096}, {"type": "ReLU"},
    {"type": "Linear", "out_features": 10}]}');

------------------------------------------------------------------------------
-- A trial whose loss turns NaN fails with the reason; the others go on
------------------------------------------------------------------------------

SELECT trial, status, epochs_done, reason, val_accuracy > 0.5 AS learned
  FROM automl_fit_multiple('hf_train', '[{"model": "hf_mlp", "params": {"lr": 0.01}},
                                         {"model": "hf_mlp", "params": {"optimizer": "sgd", "lr": 10, "momentum": 0.99}}]',
                           2, 'hf_val', seed => 3)
 ORDER BY trial;
-- Its last good state is kept (after its first sub-epoch: 12 buffers, one step each);
-- it finished no epoch, so its fit has no state and no epoch metrics.
SELECT t.trial, f.state IS NULL AS fit_without_state, f.epochs_done, automl_state_info(t.state)->'steps' AS steps,
       (SELECT count(*) FROM automl_fit_epochs e WHERE e.fit_id = f.fit_id) AS epoch_rows
  FROM automl_trials t JOIN automl_fits f USING (fit_id)
 WHERE t.run_id = (SELECT max(run_id) FROM automl_runs) AND t.status = 'failed';

------------------------------------------------------------------------------
-- A trial that runs out of memory fails; the segment and the others go on
------------------------------------------------------------------------------

SET pg_automl.segment_memory_mb = 300;
SELECT trial, status, epochs_done, reason LIKE 'out of memory%(SQLSTATE 53200)%' AS out_of_memory
  FROM automl_fit_multiple('hf_train', '[{"model": "hf_mlp"}, {"model": "hf_huge"}, {"model": "hf_mlp", "params": {"lr": 0.01}}]',
                           2, seed => 3)
 ORDER BY trial;
-- Each segment was one process throughout: the error did not end it.
SELECT count(DISTINCT pid) AS segment_processes FROM automl_hops WHERE run_id = (SELECT max(run_id) FROM automl_runs);
-- A run whose every trial fails when created fails, with no epoch done.
SELECT count(*) AS failed_trials FROM automl_fit_multiple('hf_train', '[{"model": "hf_huge"}, {"model": "hf_huge"}]', 2)
 WHERE status = 'failed';
SELECT p.status, p.epoch, r.epochs_done, (SELECT count(*) FROM automl_run_epochs e WHERE e.run_id = r.run_id) AS epoch_rows
  FROM automl_progress p JOIN automl_runs r USING (run_id)
 WHERE run_id = (SELECT max(run_id) FROM automl_runs);
RESET pg_automl.segment_memory_mb;
-- Only a superuser may change the limit.
CREATE ROLE hf_user;
SET ROLE hf_user;
SET pg_automl.segment_memory_mb = 100000;
:sqlstate
RESET ROLE;
DROP ROLE hf_user;

------------------------------------------------------------------------------
-- The reference: an uninterrupted run
------------------------------------------------------------------------------

\set configs '[{"model": "hf_mlp", "params": {"lr": 0.003, "batch_size": 5}}, {"model": "hf_mlp", "params": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 5}}, {"model": "hf_mlp", "params": {"optimizer": "rmsprop", "lr": 0.001, "batch_size": 5}}]'
SELECT count(*) AS trials FROM automl_fit_multiple('hf_train', :'configs', 8, 'hf_val', seed => 9);
SELECT max(run_id) AS ref FROM automl_runs \gset
SELECT status FROM automl_runs WHERE run_id = :ref;
\set run_sql 'SELECT count(*) FROM automl_fit_multiple(''hf_train'', ''' :configs ''', 8, ''hf_val'', seed => 9)'

------------------------------------------------------------------------------
-- The caller is cancelled (from another session, with automl_cancel)
------------------------------------------------------------------------------

SELECT max(run_id) AS last FROM automl_runs \gset
SELECT hf_connect('caller') AS connected;
SELECT dblink_send_query('caller', :'run_sql') AS sent;
SELECT hf_started(:last, 2) AS r1 \gset
-- automl_cancel finds the session that drives the run and cancels it.
SELECT automl_cancel(:r1) AS cancelled;
SELECT count(*) AS result_rows FROM dblink_get_result('caller', false) AS r(n bigint);
SELECT dblink_error_message('caller') LIKE '%canceling statement due to user request%' AS cancelled_by_user;
SELECT count(*) FROM dblink_get_result('caller', false) AS r(n bigint);
-- The segments stop with it; committed hops stay; the run is interrupted.
SELECT hf_wait('SELECT hf_segments() = 0') AS segments_gone;
SELECT status, epochs FROM automl_progress WHERE run_id = :r1;
SELECT count(*) > 0 AS hops_kept FROM automl_hops WHERE run_id = :r1;
-- Resumed, it ends as if nothing had happened.
SELECT count(*) AS trials FROM automl_resume(:r1);
SELECT * FROM hf_same(:r1, :ref);
SELECT attempts FROM automl_runs WHERE run_id = :r1;
-- Nothing to cancel.
SELECT automl_cancel(:r1);
:sqlstate
SELECT automl_cancel(-1);
:sqlstate

------------------------------------------------------------------------------
-- A segment is terminated
------------------------------------------------------------------------------

SELECT max(run_id) AS last FROM automl_runs \gset
SELECT dblink_send_query('caller', :'run_sql') AS sent;
SELECT hf_started(:last, 3) AS r2 \gset
-- (a segment names its run once it has run a unit of it)
SELECT hf_wait(format('SELECT EXISTS (SELECT 1 FROM automl_hops WHERE run_id = %s AND segment = 1)', :r2)) AS segment_1_busy;
SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
 WHERE backend_type = 'pg_automl segment' AND application_name = format('pg_automl run %s segment 1', :r2);
SELECT count(*) AS result_rows FROM dblink_get_result('caller', false) AS r(n bigint);
SELECT dblink_error_message('caller') LIKE '%segment process 1 stopped during the run%' AS segment_stopped;
SELECT count(*) FROM dblink_get_result('caller', false) AS r(n bigint);
SELECT hf_wait('SELECT hf_segments() = 0') AS segments_gone;
SELECT status FROM automl_progress WHERE run_id = :r2;
-- The caller's session is fine and resumes the run itself.
SELECT * FROM dblink('caller', format('SELECT count(*) FROM automl_resume(%s)', :r2)) AS r(n bigint);
SELECT * FROM hf_same(:r2, :ref);

------------------------------------------------------------------------------
-- The caller is terminated
------------------------------------------------------------------------------

SELECT max(run_id) AS last FROM automl_runs \gset
SELECT dblink_send_query('caller', :'run_sql') AS sent;
SELECT hf_started(:last, 2) AS r3 \gset
SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND query LIKE '%automl_fit_multiple(''hf_train''%' AND pid <> pg_backend_pid();
SELECT hf_wait('SELECT hf_segments() = 0') AS segments_gone;
SELECT dblink_disconnect('caller') AS disconnected;
SELECT status FROM automl_progress WHERE run_id = :r3;
SELECT count(*) AS trials FROM automl_resume(:r3);
SELECT * FROM hf_same(:r3, :ref);

------------------------------------------------------------------------------
-- Two runs at once on the same tables
------------------------------------------------------------------------------

SELECT max(run_id) AS last FROM automl_runs \gset
SELECT hf_connect('one') AS one, hf_connect('two') AS two;
SELECT dblink_send_query('one', :'run_sql') AS sent_one;
SELECT hf_started(:last, 1) AS ra \gset
SELECT dblink_send_query('two', :'run_sql') AS sent_two;
SELECT hf_started(:ra, 1) AS rb \gset
-- Both are visible from here while they run; neither can be resumed twice.
SELECT count(*) AS running FROM automl_progress WHERE run_id IN (:ra, :rb) AND status = 'running';
SELECT * FROM automl_resume(:ra);
:sqlstate
SELECT n AS trials_one FROM dblink_get_result('one') AS r(n bigint);
SELECT n AS trials_two FROM dblink_get_result('two') AS r(n bigint);
SELECT dblink_disconnect('one') AS one, dblink_disconnect('two') AS two;
SELECT * FROM hf_same(:ra, :ref);
SELECT * FROM hf_same(:rb, :ref);
SELECT hf_wait('SELECT hf_segments() = 0') AS segments_gone;

------------------------------------------------------------------------------
-- Background worker slots taken by another run
------------------------------------------------------------------------------

-- Two runs of 9 segments do not fit in max_worker_processes = 16: the second
-- waits a few seconds for slots, then says which setting to raise.  The
-- first is not disturbed.
SELECT rows FROM automl_prepare('fm_train', 'hf_wide', 'label', 'image', 250, 9);
SELECT max(run_id) AS last FROM automl_runs \gset
SELECT hf_connect('wide') AS connected;
SELECT dblink_send_query('wide', 'SELECT count(*) FROM automl_fit_multiple(''hf_wide'', ''[{"model": "hf_mlp", "params": {"batch_size": 5}}]'', 30)') AS sent;
SELECT hf_started(:last, 1) AS rw \gset
-- (how many of its segments start first depends on the server's other workers)
CREATE FUNCTION hf_error_of(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'process \d+ of', 'process N of');
END $$;
SELECT hf_error_of($q$SELECT * FROM automl_fit_multiple('hf_wide', '[{"model": "hf_mlp"}]', 1)$q$) AS second_run;
SELECT status FROM automl_progress WHERE run_id = :rw;
SELECT automl_cancel(:rw) AS cancelled;
SELECT count(*) FROM dblink_get_result('wide', false) AS r(n bigint);
SELECT dblink_error_message('wide') LIKE '%canceling statement due to user request%' AS cancelled_by_user;
SELECT dblink_disconnect('wide') AS disconnected;
SELECT hf_wait('SELECT hf_segments() = 0') AS segments_gone;

------------------------------------------------------------------------------
-- What segments rely on, checked before a run starts or resumes
------------------------------------------------------------------------------

-- Database defaults that would break units (another isolation level, read
-- only, a short statement_timeout, a search_path that puts another
-- schema's functions before the built-ins) do not reach the segments.
SELECT current_database() AS db \gset
CREATE SCHEMA hf_evil;
CREATE FUNCTION hf_evil.clock_timestamp() RETURNS timestamptz
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hf_evil.clock_timestamp() was called'; END $$;
ALTER DATABASE :"db" SET default_transaction_isolation = 'serializable';
ALTER DATABASE :"db" SET default_transaction_read_only = on;
ALTER DATABASE :"db" SET statement_timeout = '1ms';
ALTER DATABASE :"db" SET search_path = hf_evil, pg_catalog, public;
SELECT status, count(*) FROM automl_fit_multiple('hf_train', '[{"model": "hf_mlp"}, {"model": "hf_mlp", "params": {"lr": 0.01}}]',
                                                 2, 'hf_val', seed => 3) GROUP BY status;
ALTER DATABASE :"db" RESET default_transaction_isolation;
ALTER DATABASE :"db" RESET default_transaction_read_only;
ALTER DATABASE :"db" RESET statement_timeout;
ALTER DATABASE :"db" RESET search_path;
DROP SCHEMA hf_evil CASCADE;
-- Segments would wait for the locks of the caller's transaction: a run does
-- not start while it holds any on the catalog (here: a replaced model) or
-- an exclusive one on the run's tables.
SELECT name FROM automl_add_model('hf_swap', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}');
BEGIN;
SELECT name FROM automl_add_model('hf_swap', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 16},
    {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}', replace => true);
SELECT * FROM automl_fit_multiple('hf_train', '[{"model": "hf_swap"}]', 1);
:sqlstate
ROLLBACK;
BEGIN;
LOCK TABLE hf_train_seg1 IN ACCESS EXCLUSIVE MODE;
SELECT * FROM automl_fit_multiple('hf_train', '[{"model": "hf_mlp"}]', 1);
:sqlstate
ROLLBACK;
-- (reading the run's tables in the same transaction is fine)
BEGIN;
LOCK TABLE hf_train IN ACCESS SHARE MODE;
SELECT status FROM automl_fit_multiple('hf_train', '[{"model": "hf_swap"}]', 1);
COMMIT;
-- A role that may not write the catalog learns which grants it needs
-- before any segment starts; with them, it runs.
CREATE ROLE hf_analyst LOGIN;
GRANT SELECT ON hf_train, hf_val TO hf_analyst;
SET ROLE hf_analyst;
SELECT * FROM automl_fit_multiple('hf_train', '[{"model": "hf_mlp"}]', 1, 'hf_val');
:sqlstate
RESET ROLE;
GRANT INSERT, UPDATE ON automl_runs, automl_trials, automl_hops, automl_run_epochs, automl_fits, automl_fit_epochs
   TO hf_analyst;
GRANT USAGE ON SEQUENCE automl_runs_run_id_seq, automl_fits_fit_id_seq TO hf_analyst;
SET ROLE hf_analyst;
SELECT status, count(*) FROM automl_fit_multiple('hf_train', '[{"model": "hf_mlp"}]', 1, 'hf_val') GROUP BY status;
RESET ROLE;
DROP OWNED BY hf_analyst;
DROP ROLE hf_analyst;

-- An interrupted run whose data or trials changed is not resumed.
SELECT rows FROM automl_prepare('fm_train', 'hf_redo', 'label', 'image', 250, 3);
SELECT rows FROM automl_prepare('fm_validation', 'hf_redo_val', 'label', 'image', 250, 1, "like" => 'hf_redo');
SELECT max(run_id) AS last FROM automl_runs \gset
SELECT hf_connect('redo') AS connected;
SELECT dblink_send_query('redo', $q$SELECT count(*) FROM automl_fit_multiple('hf_redo', '[{"model": "hf_mlp", "params": {"batch_size": 5}},
    {"model": "hf_mlp", "params": {"optimizer": "sgd", "batch_size": 5}}, {"model": "hf_mlp", "params": {"lr": 0.01, "batch_size": 5}}]',
    30, 'hf_redo_val')$q$) AS sent;
SELECT hf_started(:last, 2) AS rr \gset
-- (a run is not deleted while it goes)
DELETE FROM automl_runs WHERE run_id = :rr;
:sqlstate
SELECT automl_cancel(:rr) AS cancelled;
SELECT count(*) FROM dblink_get_result('redo', false) AS r(n bigint);
SELECT dblink_disconnect('redo') AS disconnected;
SELECT hf_wait('SELECT hf_segments() = 0') AS segments_gone;
-- Nobody drives it: no estimate of the time left.
SELECT status, remaining IS NULL AS no_estimate FROM automl_progress WHERE run_id = :rr;
-- Progress counts the hops of the trials still training.
UPDATE automl_trials SET status = 'failed', reason = 'test' WHERE run_id = :rr AND trial IN (1, 2);
SELECT p.hops, p.hops_done = (SELECT count(*) FROM automl_hops h WHERE h.run_id = :rr AND h.trial = 0 AND h.kind = 'train'
                                 AND h.epoch = p.epoch) AS hops_done_of_trial_0
  FROM automl_progress p WHERE p.run_id = :rr;
UPDATE automl_trials SET status = 'training', reason = NULL WHERE run_id = :rr;
-- A trial's fit goes with its run only; a trial deleted by hand leaves a
-- run that cannot go on, and says so.
\set VERBOSITY terse
DELETE FROM automl_fits WHERE fit_id = (SELECT fit_id FROM automl_trials WHERE run_id = :rr AND trial = 1);
:sqlstate
\set VERBOSITY default
DELETE FROM automl_trials WHERE run_id = :rr AND trial = 1;
SELECT * FROM automl_resume(:rr);
:sqlstate
-- Tables prepared again since the run started (the validation table on
-- another number of segments, the training table alike) are refused: the
-- resumed run would not read the buffers the run read.
\set VERBOSITY terse
SELECT rows FROM automl_prepare('fm_validation', 'hf_redo_val', 'label', 'image', 250, 3, "like" => 'hf_redo', overwrite => true);
SELECT * FROM automl_resume(:rr);
:sqlstate
SELECT rows FROM automl_prepare('fm_validation', 'hf_redo_val', 'label', 'image', 250, 1, "like" => 'hf_redo', overwrite => true);
SELECT rows FROM automl_prepare('fm_train', 'hf_redo', 'label', 'image', 250, 3, overwrite => true);
SELECT * FROM automl_resume(:rr);
:sqlstate
-- So is its procedure form (whose run locks its tables only after its
-- commit, and whose segments check them again when they load the run).
CALL automl_resume_proc(:rr);
:sqlstate
\set VERBOSITY default
SELECT status FROM automl_progress WHERE run_id = :rr;
-- Stopped, it may be deleted; its fits stay.
SELECT array_agg(fit_id) AS rr_fits FROM automl_trials WHERE run_id = :rr \gset
DELETE FROM automl_runs WHERE run_id = :rr;
SELECT (SELECT count(*) FROM automl_hops WHERE run_id = :rr) AS hops,
       (SELECT count(*) FROM automl_fits WHERE fit_id = ANY (:'rr_fits')) AS fits;
SELECT 1 AS alive;
