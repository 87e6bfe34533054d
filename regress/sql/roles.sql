-- pg_automl as the roles of a shared database use it: an owner of data,
-- models and runs (ro_owner), another user with the same grants
-- (ro_other), an outsider with no grant at all (ro_outsider), and an
-- attacker who may create objects in a schema that others put on their
-- search_path (ro_attacker).  Each works in its own session identity.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;

CREATE ROLE ro_owner LOGIN;
CREATE ROLE ro_other LOGIN;
CREATE ROLE ro_outsider LOGIN;
CREATE ROLE ro_attacker LOGIN;
-- The grants the README documents for the roles that use the extension.
GRANT INSERT, UPDATE, DELETE ON automl_model_arch, automl_prepared, automl_fits, automl_fit_epochs,
                                automl_runs, automl_trials, automl_hops, automl_run_epochs TO ro_owner, ro_other;
GRANT USAGE ON SEQUENCE automl_runs_run_id_seq, automl_fits_fit_id_seq TO ro_owner, ro_other;
CREATE SCHEMA ro_owner AUTHORIZATION ro_owner;
CREATE SCHEMA ro_outsider AUTHORIZATION ro_outsider;
GRANT SELECT ON fm_train, fm_validation TO ro_owner;

------------------------------------------------------------------------------
-- DROP TABLE, DROP SCHEMA and DROP OWNED work for every role
------------------------------------------------------------------------------

SET SESSION AUTHORIZATION ro_outsider;
CREATE TEMP TABLE ro_tmp (x int);
DROP TABLE ro_tmp;
:sqlstate
CREATE TABLE ro_outsider.t (x int);
DROP TABLE ro_outsider.t;
:sqlstate
CREATE TABLE ro_outsider.t (x int);
DROP SCHEMA ro_outsider CASCADE;
:sqlstate
CREATE TEMP TABLE ro_tmp (x int);
DROP OWNED BY ro_outsider;
:sqlstate
RESET SESSION AUTHORIZATION;

------------------------------------------------------------------------------
-- The owner's work, with names read through its own search_path
------------------------------------------------------------------------------

SET SESSION AUTHORIZATION ro_owner;
SET search_path = ro_owner, public;
CREATE TABLE src AS SELECT * FROM fm_train WHERE id < 2000;
CREATE TABLE val AS SELECT * FROM fm_validation ORDER BY id LIMIT 500;
SELECT rows, buffers FROM automl_prepare('src', 'train_p', 'label', 'image', 250, 2);
SELECT rows FROM automl_prepare('val', 'val_p', 'label', 'image', 250, 2, "like" => 'train_p');
-- Unqualified names went where the owner's search_path puts them.
SELECT c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname IN ('train_p', 'val_p') ORDER BY 1;
SELECT source_table, owner FROM automl_prepared ORDER BY 1;
-- Its own prepared table: dropping it takes its summary along.
SELECT rows FROM automl_prepare('val', 'scratch_p', 'label', 'image', 250, 1, "like" => 'train_p');
DROP TABLE scratch_p;
:sqlstate
SELECT count(*) AS scratch_summaries FROM automl_prepared WHERE source_table = 'ro_owner.val' AND segments = 1;
SELECT rows FROM automl_prepare('val', 'scratch_p', 'label', 'image', 250, 1, "like" => 'train_p');
SELECT rows FROM automl_prepare('val', 'scratch_p', 'label', 'image', 250, 2, "like" => 'train_p', overwrite => true);
DROP TABLE scratch_p;
SELECT name, owner FROM automl_add_model('ro_mlp', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 16}, {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}');
SELECT count(*) AS epochs FROM automl_fit('train_p', 'ro_mlp', '{"lr": 0.01}', 1, 'val_p');
SELECT max(fit_id) AS owner_fit FROM automl_fits \gset
SELECT count(*) AS trials, bool_and(status = 'done') AS done
  FROM automl_fit_multiple('train_p', '[{"model": "ro_mlp"}, {"model": "ro_mlp", "params": {"lr": 0.01}}]', 1, 'val_p');
SELECT max(run_id) AS owner_run FROM automl_runs \gset
SELECT owner, train_table FROM automl_runs WHERE run_id = :owner_run;
SELECT count(*) AS rows, bool_and(owner = 'ro_owner'::regrole) AS owned
  FROM (SELECT owner FROM automl_trials UNION ALL SELECT owner FROM automl_hops
        UNION ALL SELECT owner FROM automl_run_epochs UNION ALL SELECT owner FROM automl_fits
        UNION ALL SELECT owner FROM automl_fit_epochs) o;
SELECT count(*) AS leaderboard FROM automl_leaderboard WHERE run_id = :owner_run;
RESET search_path;
RESET SESSION AUTHORIZATION;

------------------------------------------------------------------------------
-- Another user sees nothing of it and changes nothing
------------------------------------------------------------------------------

-- What the catalog shows a role: row counts of every table and view.
CREATE FUNCTION ro_visible() RETURNS TABLE (prepared bigint, fits bigint, fit_epochs bigint, runs bigint,
    trials bigint, hops bigint, run_epochs bigint, leaderboard bigint, progress bigint, models bigint)
LANGUAGE sql AS $$
SELECT (SELECT count(*) FROM automl_prepared), (SELECT count(*) FROM automl_fits),
       (SELECT count(*) FROM automl_fit_epochs), (SELECT count(*) FROM automl_runs),
       (SELECT count(*) FROM automl_trials), (SELECT count(*) FROM automl_hops),
       (SELECT count(*) FROM automl_run_epochs), (SELECT count(*) FROM automl_leaderboard),
       (SELECT count(*) FROM automl_progress), (SELECT count(*) FROM automl_model_arch WHERE name = 'ro_mlp') $$;
-- What the owner wrote, as the extension's owner sees it.
CREATE TABLE ro_before AS
SELECT (SELECT md5(string_agg(f.fit_id || ':' || md5(f.state) || ':' || f.epochs_done, ',' ORDER BY f.fit_id))
          FROM automl_fits f WHERE f.owner = 'ro_owner'::regrole) AS fits,
       (SELECT string_agg(t.trial || ':' || t.status, ',' ORDER BY t.trial) FROM automl_trials t
         WHERE t.run_id = :owner_run) AS trials,
       (SELECT count(*) FROM automl_prepared WHERE owner = 'ro_owner'::regrole) AS prepared,
       (SELECT spec::text FROM automl_model_arch WHERE name = 'ro_mlp') AS spec;

SET SESSION AUTHORIZATION ro_other;
-- No label values, statistics, weights or metrics of data it may not read;
-- architectures hold no data and are shared.
SELECT * FROM ro_visible();
UPDATE automl_fits SET state = NULL;
UPDATE automl_trials SET status = 'failed', reason = 'not yours';
UPDATE automl_model_arch SET spec = '{}';
DELETE FROM automl_prepared;
DELETE FROM automl_runs;
DELETE FROM automl_model_arch;
SELECT name FROM automl_add_model('ro_mlp', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}',
                                  replace => true);
:sqlstate
SELECT name FROM automl_add_model('ro_mlp', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}');
:sqlstate
SELECT * FROM automl_evaluate(:owner_fit, 'ro_owner.val_p');
:sqlstate
SELECT * FROM automl_resume(:owner_run);
:sqlstate
SELECT automl_cancel(:owner_run);
:sqlstate
RESET SESSION AUTHORIZATION;

-- Once the owner lets it read the training data, it sees what was made
-- from that data, and may use the models; it still writes nothing of
-- theirs, and cannot drive or stop their runs.
SET SESSION AUTHORIZATION ro_owner;
GRANT USAGE ON SCHEMA ro_owner TO ro_other;
GRANT SELECT ON ro_owner.train_p TO ro_other;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ro_other;
SELECT * FROM ro_visible();
SELECT classes FROM automl_prepared;
SELECT rows > 0 AS evaluated FROM automl_evaluate(:owner_fit, 'ro_owner.train_p');
UPDATE automl_fits SET state = NULL;
UPDATE automl_trials SET status = 'failed', reason = 'not yours';
DELETE FROM automl_runs;
SELECT * FROM automl_resume(:owner_run);
:sqlstate
SELECT automl_cancel(:owner_run);
:sqlstate
-- Its validation data it may not read: segments would have trained on
-- the owner's tables, so the driver refuses before it locks or starts any.
SELECT automl_mop_run(jsonb_build_object('kind', 'create', 'train', 'ro_owner.train_p', 'validation', 'ro_owner.val_p',
                                         'epochs', 1, 'seed', 0, 'top_k', 5,
                                         'trials', '[{"model": "ro_mlp", "params": {}}]'::jsonb), 2);
:sqlstate
CALL automl_mop_drive(jsonb_build_object('kind', 'create', 'train', 'ro_owner.train_p', 'validation', 'ro_owner.val_p',
                                         'epochs', 1, 'seed', 0, 'top_k', 5,
                                         'trials', '[{"model": "ro_mlp", "params": {}}]'::jsonb), 2);
:sqlstate
-- A resume names its run: the run's own tables count, not the command's.
CALL automl_mop_drive(jsonb_build_object('kind', 'resume', 'run', :owner_run, 'train', 'ro_owner.val_p'), 2);
:sqlstate
-- A command the checks cannot read is not run unchecked.
SELECT automl_mop_run('{"kind": "resume", "run": 1000000000000000000}', 2);
:sqlstate
-- Rows planted under the owner's fits and runs, or rows that claim its
-- tables, are refused: rows under a fit or a run carry its owner, a summary
-- describes a table of its writer's, ids come from the sequences.
INSERT INTO automl_hops (run_id, epoch, kind, trial, segment, rows, seconds, pid)
VALUES (:owner_run, 99, 'train', 0, 0, 1, 0, 0);
:sqlstate
INSERT INTO automl_run_epochs (run_id, epoch, seconds, trials) VALUES (:owner_run, 2, 0, 1);
:sqlstate
INSERT INTO automl_fit_epochs (fit_id, epoch, rows, seconds) VALUES (:owner_fit, 2, 1, 0);
:sqlstate
INSERT INTO automl_prepared SELECT * FROM automl_prepared WHERE output_table = 'ro_owner.train_p'::regclass;
:sqlstate
INSERT INTO automl_prepared (output_table, source_table, label_column, feature_columns, task, feature_shape,
                             normalization, shift, scale, buffer_size, segments, seed, rows, buffers, segment_rows,
                             segment_buffers)
VALUES ('ro_owner.src', 'x', 'l', 'f', 'regression', '{1}', 'none', '{0}', '{1}', 1, 1, 0, 1, 1, '{1}', '{1}');
:sqlstate
INSERT INTO automl_fits (model_name, params, train_table, train_relid, task, feature_shape, shift, scale, seed, epochs)
VALUES ('ro_mlp', '{}', 'pg_catalog.pg_class', 'pg_class', 'classification', '{784}', '{0}', '{1}', 0, 1);
:sqlstate
INSERT INTO automl_fits (fit_id, model_name, params, train_table, train_relid, task, feature_shape, shift, scale, seed, epochs)
VALUES (1000000, 'ro_mlp', '{}', 'ro_owner.train_p', 'ro_owner.train_p', 'classification', '{784}', '{0}', '{1}', 0, 1);
:sqlstate
INSERT INTO automl_runs (run_id, train_table, train_relid, train_prepared, task, segments, trials, epochs, seed, top_k)
VALUES (281474976710656 + :owner_run, 'ro_owner.train_p', 'ro_owner.train_p', '{}', 'classification', 2, 1, 1, 0, 5);
:sqlstate
RESET SESSION AUTHORIZATION;
-- Run ids fit the 48 bits of the run's lock, for every role.
\set VERBOSITY terse
INSERT INTO automl_runs (run_id, train_table, train_prepared, task, segments, trials, epochs, seed, top_k)
VALUES (281474976710656 + :owner_run, 'x', '{}', 'classification', 2, 1, 1, 0, 5);
:sqlstate
\set VERBOSITY default
SELECT b.fits = (SELECT md5(string_agg(f.fit_id || ':' || md5(f.state) || ':' || f.epochs_done, ',' ORDER BY f.fit_id))
                   FROM automl_fits f WHERE f.owner = 'ro_owner'::regrole) AS fits_unchanged,
       b.trials = (SELECT string_agg(t.trial || ':' || t.status, ',' ORDER BY t.trial) FROM automl_trials t
                    WHERE t.run_id = :owner_run) AS trials_unchanged,
       b.prepared = (SELECT count(*) FROM automl_prepared WHERE owner = 'ro_owner'::regrole) AS prepared_unchanged,
       b.spec = (SELECT spec::text FROM automl_model_arch WHERE name = 'ro_mlp') AS model_unchanged,
       (SELECT count(*) FROM automl_runs) AS runs
  FROM ro_before b;

------------------------------------------------------------------------------
-- An outsider: no rows, no runs, no units
------------------------------------------------------------------------------

SELECT count(*) AS runs_before FROM automl_runs \gset
SET SESSION AUTHORIZATION ro_outsider;
SELECT * FROM ro_visible();
SELECT automl_mop_run('{"kind": "resume", "run": 1}', 2);
:sqlstate
-- Even with a table it may read, the driver starts no segment for a role
-- that may not write the catalog.
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ro_owner;
GRANT USAGE ON SCHEMA ro_owner TO ro_outsider;
GRANT SELECT ON ro_owner.train_p TO ro_outsider;
SET SESSION AUTHORIZATION ro_outsider;
SELECT automl_mop_run('{"kind": "create", "train": "ro_owner.train_p", "validation": null, "epochs": 1, "seed": 0,
                        "top_k": 5, "trials": [{"model": "ro_mlp", "params": {}}]}', 2);
:sqlstate
SET SESSION AUTHORIZATION ro_owner;
REVOKE SELECT ON ro_owner.train_p FROM ro_outsider;
REVOKE USAGE ON SCHEMA ro_owner FROM ro_outsider;
SET SESSION AUTHORIZATION ro_outsider;
SELECT * FROM automl_fit_multiple('ro_owner.train_p', '[{"model": "ro_mlp"}]', 1);
:sqlstate
SELECT automl_run_unit(jsonb_build_object('kind', 'fail_trial', 'run', :owner_run, 'trial', 0, 'epoch', 1,
                                          'reason', 'an outsider says so'));
:sqlstate
-- A setting that bounds memory is the superuser's; threads are capped by
-- the machine's cores (the detail names how many).
SET pg_automl.max_activation_memory_mb = 0;
:sqlstate
\set VERBOSITY terse
SET pg_automl.threads = 1000;
:sqlstate
\set VERBOSITY default
RESET SESSION AUTHORIZATION;
SELECT count(*) - :runs_before AS new_runs,
       (SELECT count(*) FROM automl_trials WHERE run_id = :owner_run AND status = 'failed') AS failed_trials
  FROM automl_runs;

------------------------------------------------------------------------------
-- A run's lock is not an advisory lock anyone can take
------------------------------------------------------------------------------

-- An interrupted run of the owner (cancelled by statement_timeout).
SET SESSION AUTHORIZATION ro_owner;
SET statement_timeout = '5s';
SELECT * FROM automl_fit_multiple('ro_owner.train_p', '[{"model": "ro_mlp"}, {"model": "ro_mlp", "params": {"lr": 0.01}}]',
                                  1000);
:sqlstate
RESET statement_timeout;
SELECT max(run_id) AS irun FROM automl_runs \gset
RESET SESSION AUTHORIZATION;
-- The outsider's session takes every advisory lock that could name it.
SET SESSION AUTHORIZATION ro_outsider;
SELECT pg_advisory_lock(1885826412, :irun), pg_advisory_lock(:irun);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ro_owner;
SELECT status FROM automl_progress WHERE run_id = :irun;
-- Its resume runs (cancelled again here, after it began: not refused as
-- "already running"), and a stopped run can be deleted.
SET statement_timeout = '6s';
SELECT * FROM automl_resume(:irun);
:sqlstate
RESET statement_timeout;
SELECT r.attempts, p.status FROM automl_progress p JOIN automl_runs r USING (run_id) WHERE run_id = :irun;
DELETE FROM automl_runs WHERE run_id = :irun;
SELECT count(*) AS deleted FROM automl_runs WHERE run_id = :irun;
RESET SESSION AUTHORIZATION;
SELECT pg_advisory_unlock_all();

------------------------------------------------------------------------------
-- Nothing in a schema on the caller's search_path replaces a built-in
------------------------------------------------------------------------------

CREATE SCHEMA ro_trap AUTHORIZATION ro_attacker;
SET SESSION AUTHORIZATION ro_attacker;
CREATE TABLE ro_trap.log (who name, what text);
GRANT USAGE ON SCHEMA ro_trap TO PUBLIC;
GRANT INSERT ON ro_trap.log TO PUBLIC;
-- Every trap logs who ran it and tries to make the attacker a superuser.
CREATE FUNCTION ro_trap.caught(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ro_trap.log VALUES (current_user, what);
    BEGIN
        EXECUTE 'ALTER ROLE ro_attacker SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
END $$;
-- Operators of exact signatures: where pg_catalog has none (oid = regclass,
-- regclass = regclass, regtype = regtype) they win over its implicit casts
-- on any search_path; the others win where the schema comes first.
CREATE FUNCTION ro_trap.eq(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('oid = regclass'); RETURN $1 OPERATOR(pg_catalog.=) $2::oid; END $$;
CREATE OPERATOR ro_trap.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = ro_trap.eq);
CREATE FUNCTION ro_trap.eq(regclass, regclass) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('regclass = regclass'); RETURN $1::oid OPERATOR(pg_catalog.=) $2::oid; END $$;
CREATE OPERATOR ro_trap.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = ro_trap.eq);
CREATE FUNCTION ro_trap.eq(regtype, regtype) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('regtype = regtype'); RETURN $1::oid OPERATOR(pg_catalog.=) $2::oid; END $$;
CREATE OPERATOR ro_trap.= (LEFTARG = regtype, RIGHTARG = regtype, FUNCTION = ro_trap.eq);
CREATE FUNCTION ro_trap.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('text = text'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR ro_trap.= (LEFTARG = text, RIGHTARG = text, FUNCTION = ro_trap.eq);
CREATE FUNCTION ro_trap.eq(text[], text[]) RETURNS boolean LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('text[] = text[]'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR ro_trap.= (LEFTARG = text[], RIGHTARG = text[], FUNCTION = ro_trap.eq);
CREATE FUNCTION ro_trap.to_regclass(text) RETURNS regclass LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('to_regclass'); RETURN pg_catalog.to_regclass($1); END $$;
CREATE FUNCTION ro_trap.format(text, text) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('format'); RETURN pg_catalog.format($1, $2); END $$;
CREATE FUNCTION ro_trap.array_length(anyarray, integer) RETURNS integer LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('array_length'); RETURN pg_catalog.array_length($1, $2); END $$;
CREATE FUNCTION ro_trap.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN PERFORM ro_trap.caught('jsonb_typeof'); RETURN pg_catalog.jsonb_typeof($1); END $$;
RESET SESSION AUTHORIZATION;
-- The traps work: a query of the superuser's own on that path runs them,
-- and makes the attacker a superuser.
SET search_path = public, ro_trap, pg_catalog;
SELECT count(*) FROM pg_class WHERE oid = 'pg_class'::regclass;
RESET search_path;
SELECT count(*) > 0 AS trapped, string_agg(DISTINCT what, ', ') AS traps FROM ro_trap.log;
SELECT rolsuper FROM pg_roles WHERE rolname = 'ro_attacker';
ALTER ROLE ro_attacker NOSUPERUSER;
TRUNCATE ro_trap.log;

-- Everything a superuser does with pg_automl on that path runs none.
SET search_path = public, ro_trap, pg_catalog;
SELECT rows FROM automl_prepare('fm_validation', 'ro_trap_p', 'label', 'image', 250, 2);
SELECT rows FROM automl_prepare('fm_validation', 'ro_trap_p', 'label', 'image', 250, 2, overwrite => true);
SELECT rows FROM automl_prepare('fm_validation', 'ro_trap_v', 'label', 'image', 250, 2, "like" => 'ro_trap_p');
SELECT name FROM automl_add_model('ro_trap_mlp', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}');
SELECT name FROM automl_add_model('ro_trap_mlp', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}',
                                  replace => true);
SELECT count(*) AS epochs FROM automl_fit('ro_trap_p', 'ro_trap_mlp', '{}', 1, 'ro_trap_v');
SELECT count(*) AS rows FROM automl_evaluate((SELECT max(fit_id) FROM automl_fits), 'ro_trap_v');
SELECT count(*) AS rows FROM automl_predict((SELECT max(fit_id) FROM automl_fits), 'ro_trap_v');
SELECT count(*) AS trials FROM automl_fit_multiple('ro_trap_p', '[{"model": "ro_trap_mlp"}]', 1, 'ro_trap_v');
CALL automl_fit_multiple_proc('ro_trap_p', '[{"model": "ro_trap_mlp"}]', 1, 'ro_trap_v');
SELECT count(*) AS runs FROM automl_progress;
SELECT count(*) AS trials FROM automl_leaderboard;
SELECT * FROM automl_resume((SELECT max(run_id) FROM automl_runs));
:sqlstate
SELECT automl_cancel((SELECT max(run_id) FROM automl_runs));
:sqlstate
DELETE FROM automl_runs WHERE run_id = (SELECT max(run_id) FROM automl_runs);
-- An unrelated table dropped (the event trigger runs as the extension's
-- owner), and a prepared one.
CREATE TABLE ro_unrelated (x int);
DROP TABLE ro_unrelated;
DROP TABLE ro_trap_v;
RESET search_path;
SELECT count(*) AS trapped, string_agg(DISTINCT what, ', ') AS traps FROM ro_trap.log;
SELECT rolsuper FROM pg_roles WHERE rolname = 'ro_attacker';

------------------------------------------------------------------------------
-- Activation memory: bounded per forward pass
------------------------------------------------------------------------------

-- A buffer of 256 rows of one feature (about 2 kB) and a model that widens
-- it to 65,536 outputs: 64 MB of activations for the buffer at once.
CREATE TABLE ro_wide AS
SELECT automl_pack(ARRAY[x / 256.0]::float8[], (x % 2)::float8, x, '{0}', '{1}', 'class' ORDER BY x) AS buffer
  FROM generate_series(0, 255) x;
\set wide_spec '{"input_shape": [1], "layers": [{"type": "Linear", "out_features": 65536}, {"type": "ReLU"}, {"type": "Linear", "out_features": 2}]}'
CREATE TABLE ro_wide_state AS SELECT automl_init_state(:'wide_spec', '{}', 'classification', 1) AS state;
SET pg_automl.max_activation_memory_mb = 0;
CREATE TABLE ro_wide_whole AS
SELECT p.* FROM ro_wide w, ro_wide_state s, automl_predict_buffer(s.state, :'wide_spec', '{}', w.buffer) p;
-- Within a limit of 64 MB, prediction and evaluation split the buffer into
-- passes (of 127 rows here) and give the same results.
SET pg_automl.max_activation_memory_mb = 64;
SELECT count(*) AS rows,
       bool_and(c.class_index = w.class_index AND abs(c.probability - w.probability) < 1e-6) AS same
  FROM ro_wide b, ro_wide_state s, automl_predict_buffer(s.state, :'wide_spec', '{}', b.buffer) c
  JOIN ro_wide_whole w USING (row_index);
SELECT (e).* FROM (SELECT automl_eval(b.buffer, s.state, :'wide_spec', '{}', 1) AS e FROM ro_wide b, ro_wide_state s) q
\gset split_
SET pg_automl.max_activation_memory_mb = 0;
SELECT (e).* FROM (SELECT automl_eval(b.buffer, s.state, :'wide_spec', '{}', 1) AS e FROM ro_wide b, ro_wide_state s) q
\gset whole_
SELECT :split_rows AS rows, :split_accuracy = :whole_accuracy AS same_accuracy,
       abs(:split_loss - :whole_loss) <= 1e-6 * abs(:whole_loss) AS same_loss;
SET pg_automl.max_activation_memory_mb = 64;
-- Training cannot split a minibatch: one of 256 rows is refused, one of 32
-- is within the limit.
SELECT (automl_train(b.buffer, s.state, :'wide_spec', '{}')).rows FROM ro_wide b, ro_wide_state s;
:sqlstate
SELECT (automl_train(b.buffer, s.state, :'wide_spec', '{"batch_size": 32}')).steps FROM ro_wide b, ro_wide_state s;
-- A model of which one training row alone exceeds the limit.
SET pg_automl.max_activation_memory_mb = 1;
SELECT (automl_train(b.buffer, s.state, :'wide_spec', '{"batch_size": 1}')).steps FROM ro_wide b, ro_wide_state s;
:sqlstate
RESET pg_automl.max_activation_memory_mb;
SHOW pg_automl.max_activation_memory_mb;
SELECT 1 AS alive;

------------------------------------------------------------------------------
-- Clean up
------------------------------------------------------------------------------

DROP TABLE ro_wide, ro_wide_state, ro_wide_whole, ro_before, ro_trap_p;
DROP FUNCTION ro_visible();
DELETE FROM automl_runs WHERE owner IN ('ro_owner'::regrole, 'ro_other'::regrole);
DELETE FROM automl_fits WHERE owner IN ('ro_owner'::regrole, 'ro_other'::regrole);
DELETE FROM automl_model_arch WHERE owner IN ('ro_owner'::regrole, 'ro_other'::regrole);
DROP OWNED BY ro_owner, ro_other, ro_outsider, ro_attacker CASCADE;
DROP SCHEMA IF EXISTS ro_owner, ro_trap CASCADE;
DROP ROLE ro_owner, ro_other, ro_outsider, ro_attacker;
