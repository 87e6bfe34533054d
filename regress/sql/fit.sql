-- automl_fit(): training inside the database with each optimizer, the
-- catalog rows it writes, reproducibility, regression, batch sizes, and bad
-- inputs.  Metrics are checked against bounds, never printed raw.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
-- automl_fit reports each epoch, with its duration, as a NOTICE.
SET client_min_messages = warning;

-- 6000 training rows in 24 buffers of 250 over 2 segments; 1000 validation rows.
SELECT rows, buffers, segment_buffers FROM automl_prepare('fm_train', 'fit_train', 'label', 'image', 250, 2);
SELECT rows, buffers FROM automl_prepare('fm_validation', 'fit_val', 'label', 'image', 250, 2, "like" => 'fit_train');
SELECT rows, buffers, task FROM automl_prepare('linear', 'fit_linear', 'y', 'a, b, c', 50, 2);

SELECT name, parameters FROM automl_add_model('fit_mlp', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 32}, {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}');
SELECT name, parameters FROM automl_add_model('fit_mlp_bn', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 32}, {"type": "BatchNorm1d"}, {"type": "ReLU"}, {"type": "Dropout", "p": 0.3},
    {"type": "Linear", "out_features": 10}]}');
SELECT name, parameters FROM automl_add_model('fit_cnn', '{"input_shape": [1, 28, 28], "layers": [
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 5, "stride": 2}, {"type": "ReLU"},
    {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"}, {"type": "Linear", "out_features": 10}]}');
SELECT name, parameters FROM automl_add_model('fit_reg', '{"input_shape": [3], "layers": [
    {"type": "Linear", "out_features": 16}, {"type": "Tanh"}, {"type": "Linear", "out_features": 1}]}');

-- The catalog rows of a fit, checked: one automl_fit_epochs row per epoch,
-- finite losses, accuracies in [0, 1], a state whose counters match.
CREATE FUNCTION check_fit(fid bigint)
RETURNS TABLE (model text, optimizer text, task text, epochs int, epochs_done int, finished boolean, epoch_rows bigint,
               rows_per_epoch bigint, losses_finite boolean, accuracies_ok boolean, state_samples boolean)
LANGUAGE sql AS $$
  SELECT f.model_name, f.params->>'optimizer', f.task, f.epochs, f.epochs_done,
         f.finished_at IS NOT NULL AND f.finished_at >= f.started_at,
         count(e.*), max(e.rows),
         bool_and(e.train_loss > 0 AND e.train_loss < 100 AND (f.validation_table IS NULL OR e.val_loss BETWEEN 0 AND 100)),
         bool_and(CASE WHEN f.task = 'regression'
                       THEN e.train_accuracy IS NULL AND e.val_accuracy IS NULL AND e.val_top_k_accuracy IS NULL
                       ELSE e.train_accuracy BETWEEN 0 AND 1 AND (f.validation_table IS NULL
                            OR (e.val_accuracy BETWEEN 0 AND 1 AND e.val_top_k_accuracy BETWEEN e.val_accuracy AND 1)) END
                  AND e.seconds >= 0),
         (automl_state_info(f.state)->>'samples')::bigint = sum(e.rows)
    FROM automl_fits f JOIN automl_fit_epochs e USING (fit_id)
   WHERE f.fit_id = fid
   GROUP BY f.fit_id $$;
CREATE FUNCTION last_fit() RETURNS bigint LANGUAGE sql AS $$ SELECT max(fit_id) FROM automl_fits $$;

------------------------------------------------------------------------------
-- Each optimizer, 2 epochs
------------------------------------------------------------------------------

SELECT count(*) AS epochs, min(epoch) AS first, max(epoch) AS last, count(DISTINCT fit_id) AS fits,
       bool_and(val_accuracy > 0.6) AS learned
  FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true}',
                  2, 'fit_val');
SELECT * FROM check_fit(last_fit());
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned
  FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "adam"}', 2, 'fit_val');
SELECT * FROM check_fit(last_fit());
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned
  FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "adamw", "weight_decay": 0.05, "amsgrad": true}', 2, 'fit_val');
SELECT * FROM check_fit(last_fit());
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned
  FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "rmsprop", "lr": 0.001, "momentum": 0.5, "centered": true}', 2, 'fit_val');
SELECT * FROM check_fit(last_fit());
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned
  FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "adagrad", "lr": 0.05}', 2, 'fit_val');
SELECT * FROM check_fit(last_fit());
-- The stored params are canonical, defaults filled in.
SELECT params FROM automl_fits WHERE fit_id = last_fit();
-- The state records the optimizer and counters: 2 epochs of 24 buffers,
-- one step per buffer by default.
SELECT automl_state_info(state) - 'bytes' AS info FROM automl_fits WHERE fit_id = last_fit();
-- Every fit so far: 2 epochs, validation metrics.
SELECT count(*) AS fits, bool_and(epochs_done = 2) AS all_done, bool_and(validation_table = 'public.fit_val') AS validated
  FROM automl_fits;

-- Training improves the loss of the first epoch.
SELECT bool_and(e2.train_loss < e1.train_loss) AS loss_decreases
  FROM automl_fit_epochs e1 JOIN automl_fit_epochs e2 ON e2.fit_id = e1.fit_id AND e2.epoch = 2 AND e1.epoch = 1;

------------------------------------------------------------------------------
-- Reproducibility
------------------------------------------------------------------------------

SELECT fit_id AS fit_a FROM automl_fit('fit_train', 'fit_mlp', '{"lr": 0.002}', 2, 'fit_val', seed => 42) WHERE epoch = 2 \gset
SELECT fit_id AS fit_b FROM automl_fit('fit_train', 'fit_mlp', '{"lr": 0.002}', 2, 'fit_val', seed => 42) WHERE epoch = 2 \gset
SELECT fit_id AS fit_c FROM automl_fit('fit_train', 'fit_mlp', '{"lr": 0.002}', 2, 'fit_val', seed => 43) WHERE epoch = 2 \gset
-- Same seed: identical losses, metrics and state bytes.
SELECT a.epoch, a.train_loss = b.train_loss AS same_train_loss, a.val_loss = b.val_loss AS same_val_loss,
       a.val_accuracy = b.val_accuracy AS same_val_accuracy
  FROM automl_fit_epochs a JOIN automl_fit_epochs b USING (epoch)
 WHERE a.fit_id = :fit_a AND b.fit_id = :fit_b ORDER BY epoch;
SELECT md5(a.state) = md5(b.state) AS same_state, md5(a.state) <> md5(c.state) AS other_seed_differs,
       a.seed, c.seed
  FROM automl_fits a, automl_fits b, automl_fits c
 WHERE a.fit_id = :fit_a AND b.fit_id = :fit_b AND c.fit_id = :fit_c;
-- The seed gives the initial weights: freshly initialised states compare the same way.
SELECT md5(automl_init_state(spec, '{}', 'classification', 42)) = md5(automl_init_state(spec, '{}', 'classification', 42)) AS same,
       md5(automl_init_state(spec, '{}', 'classification', 42)) <> md5(automl_init_state(spec, '{}', 'classification', 43)) AS differs
  FROM automl_model_arch WHERE name = 'fit_mlp';

------------------------------------------------------------------------------
-- Dropout and BatchNorm, a CNN on flat features, no validation table
------------------------------------------------------------------------------

SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned
  FROM automl_fit('fit_train', 'fit_mlp_bn', '{"lr": 0.003}', 2, 'fit_val');
SELECT * FROM check_fit(last_fit());
-- BatchNorm's running statistics are part of the state: it holds more than
-- the parameters (batches of 1 row would make BatchNorm fail; 250 is fine).
SELECT (automl_state_info(state)->>'bytes')::int > 4 * 3 * (784 * 32 + 32 + 2 * 32 + 32 * 10 + 10) AS holds_adam_state
  FROM automl_fits WHERE fit_id = last_fit();
-- The model's input shape [1, 28, 28] holds the 784 features of the table.
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.5) AS learned
  FROM automl_fit('fit_train', 'fit_cnn', '{"optimizer": "adam", "lr": 0.005}', 1, 'fit_val');
SELECT * FROM check_fit(last_fit());
SELECT count(*) AS epochs, bool_and(val_loss IS NULL AND val_accuracy IS NULL AND val_top_k_accuracy IS NULL) AS no_validation
  FROM automl_fit('fit_train', 'fit_mlp', '{}', 1);
SELECT validation_table FROM automl_fits WHERE fit_id = last_fit();
SELECT * FROM check_fit(last_fit());

------------------------------------------------------------------------------
-- Regression: MSE loss, no accuracy
------------------------------------------------------------------------------

SELECT count(*) AS epochs, bool_and(train_accuracy IS NULL AND val_accuracy IS NULL) AS no_accuracy,
       bool_and(train_loss >= 0) AS loss_nonnegative
  FROM automl_fit('fit_linear', 'fit_reg', '{"lr": 0.01, "batch_size": 10}', 20, 'fit_linear');
SELECT * FROM check_fit(last_fit());
-- y has variance of about 8: a fitted model does far better than that.
SELECT round(var_pop(y)::numeric, 0) AS variance_of_y FROM linear;
SELECT e20.val_loss < 0.5 AS fitted, e20.val_loss < e1.val_loss / 4 AS improved
  FROM automl_fit_epochs e1 JOIN automl_fit_epochs e20 USING (fit_id)
 WHERE fit_id = last_fit() AND e1.epoch = 1 AND e20.epoch = 20;

------------------------------------------------------------------------------
-- batch_size: steps per buffer
------------------------------------------------------------------------------

-- Without batch_size, one step per buffer: 24 steps per epoch.
SELECT count(*) FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "sgd", "lr": 0.05}', 1);
SELECT automl_state_info(state)->'steps' AS steps, automl_state_info(state)->'buffers' AS buffers,
       automl_state_info(state)->'samples' AS samples
  FROM automl_fits WHERE fit_id = last_fit();
-- batch_size 50: 5 steps per buffer of 250 rows, 120 per epoch.
SELECT count(*) FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "sgd", "lr": 0.05, "batch_size": 50}', 1);
SELECT automl_state_info(state)->'steps' AS steps FROM automl_fits WHERE fit_id = last_fit();
-- batch_size 64: ceil(250 / 64) = 4 steps per buffer, 96 per epoch, 192 in 2.
SELECT count(*) FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "sgd", "lr": 0.05, "batch_size": 64}', 2);
SELECT automl_state_info(state)->'steps' AS steps FROM automl_fits WHERE fit_id = last_fit();
-- Minibatches are balanced: batch_size 249 splits a buffer of 250 rows into
-- 2 minibatches of 125 (not 249 + 1, which BatchNorm could not train on).
SELECT count(*) FROM automl_fit('fit_train', 'fit_mlp_bn', '{"batch_size": 249}', 1);
SELECT automl_state_info(state)->'steps' AS steps FROM automl_fits WHERE fit_id = last_fit();
-- batch_size larger than a buffer: one step per buffer.
SELECT count(*) FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "sgd", "lr": 0.05, "batch_size": 1000}', 1);
SELECT automl_state_info(state)->'steps' AS steps FROM automl_fits WHERE fit_id = last_fit();

------------------------------------------------------------------------------
-- The training aggregate directly
------------------------------------------------------------------------------

-- One pass in buffer order from a fresh state is exactly automl_fit's first
-- epoch (same seed, same order).
SELECT fit_id AS fit_d FROM automl_fit('fit_train', 'fit_mlp', '{}', 1, seed => 5) \gset
SELECT md5((r).state) = (SELECT md5(state) FROM automl_fits WHERE fit_id = :fit_d) AS same_state,
       (r).loss = (SELECT train_loss FROM automl_fit_epochs WHERE fit_id = :fit_d) AS same_loss,
       (r).rows, (r).steps
  FROM (SELECT automl_train(t.buffer, automl_init_state(a.spec, '{}', 'classification', 5), a.spec, '{}'
                            ORDER BY t.segment_id, t.buffer_id) AS r
          FROM fit_train t, automl_model_arch a WHERE a.name = 'fit_mlp') s;
-- Training continues from a state: two passes of the aggregate equal two epochs.
SELECT fit_id AS fit_e FROM automl_fit('fit_train', 'fit_mlp', '{}', 2, seed => 5) WHERE epoch = 2 \gset
WITH a AS (SELECT spec FROM automl_model_arch WHERE name = 'fit_mlp'),
     p1 AS (SELECT automl_train(t.buffer, (SELECT state FROM automl_fits WHERE fit_id = :fit_d), a.spec, '{}'
                                ORDER BY t.segment_id, t.buffer_id) AS r FROM fit_train t, a)
SELECT md5((r).state) = (SELECT md5(state) FROM automl_fits WHERE fit_id = :fit_e) AS two_epochs_same,
       (r).steps FROM p1;
-- No rows: the aggregate returns NULL.
SELECT automl_train(buffer, NULL, NULL, NULL) IS NULL AS no_rows FROM fit_train WHERE false;

------------------------------------------------------------------------------
-- automl_train_pass: the aggregate's pass without a query around the state
------------------------------------------------------------------------------

-- One segment's shard, and every shard in turn, bit for bit as the aggregate
-- over the same buffers in the same order.
CREATE TABLE fit_pass_in AS
SELECT a.spec, automl_init_state(a.spec, p.params, 'classification', 3) AS state, p.params
  FROM automl_model_arch a, (VALUES ('{"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}'::jsonb),
                                    ('{"optimizer": "adam", "batch_size": 100}'::jsonb)) p(params)
 WHERE a.name = 'fit_mlp';
SELECT i.params->>'optimizer' AS optimizer, g.segment,
       (p).state = (a).state AS same_state, (p).loss = (a).loss AS same_loss,
       (p).accuracy = (a).accuracy AS same_accuracy, (p).rows, (p).steps = (a).steps AS same_steps,
       (p).step_seconds > 0 AS timed
  FROM fit_pass_in i, (VALUES (0), (1), (NULL)) g(segment),
       LATERAL (SELECT automl_train_pass('fit_train', g.segment, i.state, i.spec, i.params) AS p) x,
       LATERAL (SELECT automl_train(b.buffer, i.state, i.spec, i.params) AS a
                  FROM (SELECT buffer FROM fit_train WHERE g.segment IS NULL OR segment_id = g.segment
                         ORDER BY segment_id, buffer_id) b) y
 ORDER BY 1, 2;
-- automl_eval_pass: the same for automl_eval, over a list of segments.
SELECT i.params->>'optimizer' AS optimizer, g.segments,
       (p).loss = (a).loss AS same_loss, (p).accuracy = (a).accuracy AS same_accuracy,
       (p).top_k_accuracy = (a).top_k_accuracy AS same_top_k, (p).rows
  FROM fit_pass_in i, (VALUES ('{0}'::int[]), ('{1}'), ('{0,1}'), ('{1,0,5}'), (NULL)) g(segments),
       LATERAL (SELECT automl_eval_pass('fit_val', g.segments, i.state, i.spec, i.params, 3) AS p) x,
       LATERAL (SELECT automl_eval(b.buffer, i.state, i.spec, i.params, 3) AS a
                  FROM (SELECT buffer FROM fit_val WHERE g.segments IS NULL OR segment_id = ANY (g.segments)
                         ORDER BY segment_id, buffer_id) b) y
 ORDER BY 1, 2;
SELECT automl_eval_pass('fit_val', '{}', state, spec, params) IS NULL AS no_segments,
       (automl_eval_pass('fit_val', NULL, state, spec, params)).rows AS default_top_k_rows
  FROM fit_pass_in LIMIT 1;
SELECT automl_eval_pass('fit_val', NULL, state, spec, params, 0) FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_eval_pass(NULL, NULL, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_eval_pass('fit_val', NULL, NULL, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
-- A shard with no buffers trains nothing: NULL, as the aggregate.
SELECT automl_train_pass('fit_train', 7, state, spec, params) IS NULL AS empty_shard FROM fit_pass_in LIMIT 1;
-- Bad inputs: NULL or negative arguments, a state of another model, a table
-- without packed buffers, a dropped table, no privilege on the table.
SELECT automl_train_pass(NULL, 0, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_train_pass('fit_train', -1, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_train_pass('fit_train', 0, NULL, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_train_pass('fit_train', 0, state, NULL, params) FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_train_pass('fit_train', 0, state, (SELECT spec FROM automl_model_arch WHERE name = 'fit_mlp_bn'), params)
  FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_train_pass('fit_pass_in', 0, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
SELECT automl_train_pass(2147483647::oid::regclass, 0, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
CREATE TABLE fit_pass_ints (segment_id int, buffer_id int, buffer int);
INSERT INTO fit_pass_ints VALUES (0, 0, 12345);
SELECT automl_train_pass('fit_pass_ints', 0, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
-- A bytea column that holds something else: the error names the buffer.
CREATE TABLE fit_pass_junk (segment_id int, buffer_id int, buffer bytea);
INSERT INTO fit_pass_junk SELECT segment_id, buffer_id, buffer FROM fit_train WHERE segment_id = 0 AND buffer_id < 2;
INSERT INTO fit_pass_junk VALUES (0, 2, '\x00010203');
\set SHOW_CONTEXT errors
SELECT automl_train_pass('fit_pass_junk', 0, state, spec, params) FROM fit_pass_in LIMIT 1;
\set SHOW_CONTEXT never
:sqlstate
-- A domain over bytea reads as bytea; a table named buffer has no column buffer.
CREATE DOMAIN fit_pass_bytes AS bytea;
CREATE TABLE fit_pass_dom (segment_id int, buffer_id int, buffer fit_pass_bytes);
INSERT INTO fit_pass_dom SELECT segment_id, buffer_id, buffer FROM fit_train;
SELECT (automl_train_pass('fit_pass_dom', NULL, state, spec, params)).state
       = (automl_train_pass('fit_train', NULL, state, spec, params)).state AS domain_same FROM fit_pass_in;
CREATE TABLE buffer (segment_id int, buffer_id int, b bytea);
SELECT automl_train_pass('buffer', NULL, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
DROP TABLE fit_pass_ints, fit_pass_junk, fit_pass_dom, buffer;
DROP DOMAIN fit_pass_bytes;
-- The result types are checked before a row is formed (an altered type
-- would make the row read past its values).
BEGIN;
ALTER TYPE automl_train_result ADD ATTRIBUTE extra text;
SELECT automl_train_pass('fit_train', 0, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
ROLLBACK;
BEGIN;
ALTER TYPE automl_eval_result ALTER ATTRIBUTE rows TYPE text;
SELECT automl_eval(t.buffer, i.state, i.spec, i.params, 1) FROM fit_train t, (SELECT * FROM fit_pass_in LIMIT 1) i;
:sqlstate
ROLLBACK;
CREATE ROLE fit_pass_reader LOGIN;
GRANT SELECT ON fit_pass_in TO fit_pass_reader;
SET ROLE fit_pass_reader;
SELECT automl_train_pass('fit_train', 0, state, spec, params) FROM fit_pass_in LIMIT 1;
:sqlstate
RESET ROLE;
DROP OWNED BY fit_pass_reader;
DROP ROLE fit_pass_reader;
DROP TABLE fit_pass_in;

------------------------------------------------------------------------------
-- Bad inputs: nothing is recorded for a failed call
------------------------------------------------------------------------------

SELECT count(*) AS fits_before FROM automl_fits \gset
SELECT name FROM automl_add_model('fit_5out', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 5}]}');
SELECT name FROM automl_add_model('fit_small_in', '{"input_shape": [100], "layers": [{"type": "Linear", "out_features": 10}]}');
SELECT name FROM automl_add_model('fit_cnn_wrong', '{"input_shape": [1, 28, 27], "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]}');
-- unknown model
SELECT * FROM automl_fit('fit_train', 'no_such_model', '{}', 1);
:sqlstate
-- train table not prepared, or missing
SELECT * FROM automl_fit('fm_train', 'fit_mlp', '{}', 1);
:sqlstate
SELECT * FROM automl_fit('no_such_table', 'fit_mlp', '{}', 1);
:sqlstate
-- validation not prepared like the train table, or not prepared at all
SELECT rows FROM automl_prepare('fm_validation', 'fit_val_own', 'label', 'image', 250, 2);
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', 1, 'fit_val_own');
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', 1, 'fm_validation');
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', 1, 'fit_linear');
:sqlstate
-- a model with the wrong number of outputs (classification and regression)
SELECT * FROM automl_fit('fit_train', 'fit_5out', '{}', 1);
:sqlstate
SELECT name FROM automl_add_model('fit_reg10', '{"input_shape": [3], "layers": [{"type": "Linear", "out_features": 10}]}');
SELECT * FROM automl_fit('fit_linear', 'fit_reg10', '{}', 1);
:sqlstate
-- a model with the wrong input shape
SELECT * FROM automl_fit('fit_train', 'fit_small_in', '{}', 1);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_cnn_wrong', '{}', 1);
:sqlstate
SELECT * FROM automl_fit('fit_linear', 'fit_small_in', '{}', 1);
:sqlstate
-- epochs out of range
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', 0);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', -1);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', 1000000);
:sqlstate
-- bad params
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{"optimizer": "lbfgs"}', 1);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{"lr": -1}', 1);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{"batch": 32}', 1);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '[1, 2]', 1);
:sqlstate
-- top_k
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', 1, 'fit_val', top_k => 0);
:sqlstate
-- BatchNorm cannot train on minibatches of one row.
SELECT * FROM automl_fit('fit_train', 'fit_mlp_bn', '{"batch_size": 1}', 1);
:sqlstate
-- NULL arguments
SELECT * FROM automl_fit(NULL, 'fit_mlp', '{}', 1);
:sqlstate
SELECT * FROM automl_fit('fit_train', NULL, '{}', 1);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', NULL);
:sqlstate
SELECT * FROM automl_fit('fit_train', 'fit_mlp', '{}', 1, 'fit_val', top_k => NULL);
:sqlstate
-- NULL params, seed and validation mean the defaults.
SELECT count(*) AS epochs FROM automl_fit('fit_train', 'fit_mlp', NULL, 1, NULL, seed => NULL);
SELECT params->>'optimizer' AS optimizer, seed, validation_table FROM automl_fits WHERE fit_id = last_fit();
-- Only that last call added a fit.
SELECT count(*) - :fits_before AS new_fits FROM automl_fits;
SELECT count(*) AS orphan_epochs FROM automl_fit_epochs e WHERE NOT EXISTS (SELECT 1 FROM automl_fits f WHERE f.fit_id = e.fit_id);
-- A model in use by a fit can be neither removed nor replaced: the fits'
-- states belong to its architecture.
DELETE FROM automl_model_arch WHERE name = 'fit_mlp';
:sqlstate
SELECT name FROM automl_add_model('fit_mlp', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}',
                                  replace => true);
:sqlstate
SELECT parameters FROM automl_model_arch WHERE name = 'fit_mlp';
