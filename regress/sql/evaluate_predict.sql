-- automl_evaluate() and automl_predict() on fitted models: metrics against
-- bounds, predictions mapped back to source rows by id.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;

SELECT rows, buffers FROM automl_prepare('fm_train', 'ep_train', 'label', 'image', 250, 2, id => 'id');
SELECT rows, buffers FROM automl_prepare('fm_validation', 'ep_val', 'label', 'image', 250, 2, "like" => 'ep_train');
SELECT rows, buffers FROM automl_prepare('fm_test', 'ep_test', 'label', 'image', 250, 2, "like" => 'ep_train', id => 'id');
SELECT name FROM automl_add_model('ep_mlp', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 64}, {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}');
SELECT max(fit_id) AS fit FROM automl_fit('ep_train', 'ep_mlp', '{"optimizer": "adam", "batch_size": 50}', 3, 'ep_val') \gset

------------------------------------------------------------------------------
-- automl_evaluate
------------------------------------------------------------------------------

SELECT loss > 0 AND loss < 2 AS loss_ok, accuracy > 0.7 AND accuracy <= 1 AS accuracy_ok,
       top_k_accuracy >= accuracy AND top_k_accuracy <= 1 AS top_k_ok, rows
  FROM automl_evaluate(:fit, 'ep_val');
-- The same numbers as the validation of the fit's last epoch.
SELECT abs(v.loss - e.val_loss) < 1e-9 AS same_loss, v.accuracy = e.val_accuracy AS same_accuracy,
       v.top_k_accuracy = e.val_top_k_accuracy AS same_top_k
  FROM automl_evaluate(:fit, 'ep_val') v, automl_fit_epochs e WHERE e.fit_id = :fit AND e.epoch = 3;
-- top_k = 1 is the accuracy; top_k >= number of classes always hits.
SELECT top_k_accuracy = accuracy AS top1_is_accuracy FROM automl_evaluate(:fit, 'ep_val', 1);
SELECT top_k_accuracy AS top10, rows FROM automl_evaluate(:fit, 'ep_val', 10);
SELECT top_k_accuracy AS top1000 FROM automl_evaluate(:fit, 'ep_val', 1000);
-- top-k accuracy grows with k.
SELECT bool_and(a.top_k_accuracy <= b.top_k_accuracy) AS monotone
  FROM generate_series(1, 9) k, automl_evaluate(:fit, 'ep_test', k) a, automl_evaluate(:fit, 'ep_test', k + 1) b;
-- The test set, and the training set (which the model fits better).
SELECT accuracy > 0.7 AS test_accuracy_ok, rows FROM automl_evaluate(:fit, 'ep_test');
SELECT t.rows, t.accuracy >= v.accuracy - 0.05 AS train_at_least_as_good
  FROM automl_evaluate(:fit, 'ep_train') t, automl_evaluate(:fit, 'ep_val') v;
-- Evaluation changes nothing (Dropout/BatchNorm would run in eval mode).
SELECT md5(state) AS state_md5 FROM automl_fits WHERE fit_id = :fit \gset
SELECT count(*) FROM automl_evaluate(:fit, 'ep_val');
SELECT md5(state) = :'state_md5' AS state_unchanged FROM automl_fits WHERE fit_id = :fit;

------------------------------------------------------------------------------
-- automl_predict
------------------------------------------------------------------------------

CREATE TEMP TABLE pred AS SELECT * FROM automl_predict(:fit, 'ep_test');
-- One row per source row, each id once, all of fm_test.
SELECT count(*) AS rows, count(DISTINCT id) AS ids, min(id) AS min_id, max(id) AS max_id,
       count(DISTINCT (segment_id, buffer_id)) AS buffers, max(row_index) AS max_row_index
  FROM pred;
SELECT count(*) AS unmatched FROM pred p FULL JOIN fm_test t ON t.id = p.id WHERE p.id IS NULL OR t.id IS NULL;
-- "actual" is the label of the source row with that id.
SELECT count(*) FILTER (WHERE p.actual = t.label::text) AS actual_matches, count(*) AS rows
  FROM pred p JOIN fm_test t USING (id);
-- Predicted classes are classes of the table; probabilities are the largest
-- softmax value, so in [1/10, 1].
SELECT bool_and(predicted = ANY ('{0,1,2,3,4,5,6,7,8,9}')) AS known_classes, count(DISTINCT predicted) > 5 AS varied,
       bool_and(probability > 0 AND probability <= 1) AS probability_in_range,
       bool_and(probability >= 0.1 - 1e-6) AS at_least_one_tenth
  FROM pred;
-- The accuracy of the predictions is the accuracy of automl_evaluate.
SELECT (SELECT avg((predicted = actual)::int) FROM pred) = e.accuracy AS same_accuracy
  FROM automl_evaluate(:fit, 'ep_test') e;
-- Predicting twice gives the same answers.
SELECT count(*) AS differences
  FROM automl_predict(:fit, 'ep_test') p2 JOIN pred p USING (id)
 WHERE p2.predicted <> p.predicted OR p2.probability <> p.probability;
-- Rows come in buffer order.
SELECT bool_and(ordered) AS in_order
  FROM (SELECT (segment_id, buffer_id, row_index) > lag((segment_id, buffer_id, row_index)) OVER () AS ordered
          FROM automl_predict(:fit, 'ep_test')) s WHERE ordered IS NOT NULL;
-- Without ids (ep_val was prepared without id): id is NULL.
SELECT count(*) AS rows, count(id) AS ids, count(DISTINCT (segment_id, buffer_id, row_index)) AS positions
  FROM automl_predict(:fit, 'ep_val');

-- One forward pass per buffer: automl_predict_buffer runs once per buffer
-- (4 loops) and returns the buffer's 250 rows each time.
CREATE TEMP TABLE ep_model AS
SELECT f.state, a.spec, f.params FROM automl_fits f JOIN automl_model_arch a ON a.name = f.model_name WHERE f.fit_id = :fit;
-- The plan lines of a query that match a pattern.
CREATE FUNCTION explain_lines(query text, pattern text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
    IF line ~ pattern THEN
      RETURN NEXT regexp_replace(line, '^[ ->]*', '');
    END IF;
  END LOOP;
END $$;
SELECT explain_lines('SELECT p.* FROM ep_test t, ep_model m,
                             LATERAL automl_predict_buffer(m.state, m.spec, m.params, t.buffer) p',
                     'automl_predict_buffer');
-- The per-query model cache is keyed by state, spec and params: the same
-- state with another architecture in the same query is refused, not served
-- by the model cached for the first spec.
SELECT s.k, count(*)
  FROM (VALUES (1, (SELECT spec FROM ep_model)),
               (2, '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 3}]}'::jsonb)) s(k, spec),
       LATERAL automl_predict_buffer((SELECT state FROM ep_model), s.spec, (SELECT params FROM ep_model),
                                     (SELECT buffer FROM ep_test ORDER BY segment_id, buffer_id LIMIT 1)) p
 GROUP BY 1 ORDER BY 1;
:sqlstate
-- And a 1000-row table is predicted well within a generous bound.
SET statement_timeout = '60s';
SELECT count(*) FROM automl_predict(:fit, 'ep_test');
RESET statement_timeout;

------------------------------------------------------------------------------
-- Text labels and regression
------------------------------------------------------------------------------

SELECT rows FROM automl_prepare('blobs', 'ep_blobs', 'label', 'features', 100, 2, id => 'id');
SELECT name FROM automl_add_model('ep_blobs_model', '{"input_shape": [4], "layers": [
    {"type": "Linear", "out_features": 8}, {"type": "ReLU"}, {"type": "Linear", "out_features": 3}]}');
SELECT max(fit_id) AS blobs_fit FROM automl_fit('ep_blobs', 'ep_blobs_model', '{"lr": 0.05, "batch_size": 20}', 10) \gset
SELECT accuracy > 0.95 AS separates_blobs, rows FROM automl_evaluate(:blobs_fit, 'ep_blobs');
SELECT p.predicted, count(*), count(*) FILTER (WHERE p.actual = b.label) AS actual_matches,
       count(*) FILTER (WHERE p.predicted = b.label) > 190 AS mostly_right
  FROM automl_predict(:blobs_fit, 'ep_blobs') p JOIN blobs b USING (id) GROUP BY 1 ORDER BY 1;

SELECT rows FROM automl_prepare('linear', 'ep_linear', 'y', 'a, b, c', 50, 2, id => 'id');
SELECT name FROM automl_add_model('ep_reg', '{"input_shape": [3], "layers": [
    {"type": "Linear", "out_features": 16}, {"type": "Tanh"}, {"type": "Linear", "out_features": 1}]}');
SELECT max(fit_id) AS reg_fit FROM automl_fit('ep_linear', 'ep_reg', '{"lr": 0.01, "batch_size": 10}', 20) \gset
SELECT loss < 0.5 AS fitted, accuracy, top_k_accuracy, rows FROM automl_evaluate(:reg_fit, 'ep_linear');
-- Values, not classes; probability is NULL; actual is the target.
SELECT count(*) AS rows, count(probability) AS probabilities,
       bool_and(abs(actual::float8 - l.y) < 1e-5 * greatest(1, abs(l.y))) AS actual_is_target,
       avg((predicted::float8 - l.y) ^ 2) < 0.5 AS small_squared_error
  FROM automl_predict(:reg_fit, 'ep_linear') p JOIN linear l USING (id);
-- The mean squared error of the predictions is automl_evaluate's loss.
SELECT abs(avg((predicted::float8 - actual::float8) ^ 2) - (SELECT loss FROM automl_evaluate(:reg_fit, 'ep_linear'))) < 1e-4
       AS mse_is_loss
  FROM automl_predict(:reg_fit, 'ep_linear');

------------------------------------------------------------------------------
-- Bad inputs
------------------------------------------------------------------------------

-- unknown fit
SELECT * FROM automl_evaluate(-1, 'ep_val');
:sqlstate
SELECT * FROM automl_predict(-1, 'ep_val');
:sqlstate
SELECT * FROM automl_evaluate(NULL, 'ep_val');
:sqlstate
SELECT * FROM automl_predict(NULL, 'ep_val');
:sqlstate
-- data not prepared, missing, or not prepared like the training data
SELECT * FROM automl_evaluate(:fit, 'fm_test');
:sqlstate
SELECT * FROM automl_predict(:fit, 'fm_test');
:sqlstate
SELECT * FROM automl_evaluate(:fit, 'no_such_table');
:sqlstate
SELECT * FROM automl_evaluate(:fit, NULL);
:sqlstate
SELECT rows FROM automl_prepare('fm_test', 'ep_test_own', 'label', 'image', 250, 2);
SELECT * FROM automl_evaluate(:fit, 'ep_test_own');
:sqlstate
SELECT * FROM automl_predict(:fit, 'ep_test_own');
:sqlstate
SELECT * FROM automl_evaluate(:fit, 'ep_blobs');
:sqlstate
SELECT * FROM automl_predict(:reg_fit, 'ep_test');
:sqlstate
-- top_k
SELECT * FROM automl_evaluate(:fit, 'ep_val', 0);
:sqlstate
SELECT * FROM automl_evaluate(:fit, 'ep_val', NULL);
:sqlstate
-- a fit without a trained state
INSERT INTO automl_fits (fit_id, model_name, params, train_table, task, feature_shape, shift, scale, seed, epochs)
VALUES (1000000, 'ep_mlp', '{}', 'ep_train', 'classification', '{784}', '{}', '{}', 0, 1);
SELECT * FROM automl_evaluate(1000000, 'ep_val');
:sqlstate
SELECT * FROM automl_predict(1000000, 'ep_val');
:sqlstate
DELETE FROM automl_fits WHERE fit_id = 1000000;
-- A fit keeps what its training data looked like: it reads a table prepared
-- again the same way (overwrite => true), and even after its training table
-- is gone; data normalised differently is refused.
SELECT rows FROM automl_prepare('blobs', 'ep_blobs2', 'label', 'features', 100, 2);
SELECT max(fit_id) AS blobs2_fit FROM automl_fit('ep_blobs2', 'ep_blobs_model', '{}', 1) \gset
SELECT rows FROM automl_prepare('blobs', 'ep_blobs2', 'label', 'features', 100, 2, overwrite => true);
SELECT rows FROM automl_evaluate(:blobs2_fit, 'ep_blobs2');
SELECT count(*) FROM automl_predict(:blobs2_fit, 'ep_blobs2');
SELECT rows FROM automl_prepare('blobs', 'ep_blobs3', 'label', 'features', 100, 2, normalization => 'minmax');
-- (the message names the fit's training table; the fit id itself depends on
-- the suites run before)
SELECT * FROM automl_evaluate(:blobs2_fit, 'ep_blobs3');
:sqlstate
-- Once the training table is prepared otherwise, the hint cannot point at it.
SELECT rows FROM automl_prepare('blobs', 'ep_blobs2', 'label', 'features', 100, 2, normalization => 'minmax', overwrite => true);
SELECT * FROM automl_evaluate(:blobs2_fit, 'ep_blobs2');
:sqlstate
DROP TABLE ep_blobs2;
-- (dropping a prepared table removes its summary too)
SELECT count(*) AS dangling_summaries FROM automl_prepared WHERE output_table::text ~ '^[0-9]+$';
SELECT rows FROM automl_prepare('blobs', 'ep_blobs4', 'label', 'features', 100, 2);
SELECT rows FROM automl_evaluate(:blobs2_fit, 'ep_blobs4');
SELECT train_table FROM automl_fits WHERE fit_id = :blobs2_fit;
