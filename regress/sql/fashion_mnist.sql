-- End to end: train an MLP on a Fashion-MNIST subset inside the database to
-- at least 80% validation accuracy, then evaluate it on the test subset.
-- Only booleans are printed: exact metrics depend on the libtorch build.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- 6000 training images, 1000 validation and 1000 test images (setup.sql),
-- normalised with the training set's statistics.
SELECT rows, buffers, classes FROM automl_prepare('fm_train', 'fmnist_train', 'label', 'image', 250, 2, seed => 1);
SELECT rows, buffers FROM automl_prepare('fm_validation', 'fmnist_val', 'label', 'image', 250, 2, "like" => 'fmnist_train');
SELECT rows, buffers FROM automl_prepare('fm_test', 'fmnist_test', 'label', 'image', 250, 2, "like" => 'fmnist_train', id => 'id');

SELECT name, input_shape, outputs, parameters FROM automl_add_model('fmnist_mlp', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 128}, {"type": "ReLU"}, {"type": "Dropout", "p": 0.1},
    {"type": "Linear", "out_features": 10}]}', 'Fashion-MNIST MLP 784-128-10');

CREATE TEMP TABLE fmnist_fit AS
SELECT * FROM automl_fit('fmnist_train', 'fmnist_mlp', '{"optimizer": "adam", "lr": 0.001, "batch_size": 64}',
                         epochs => 6, validation => 'fmnist_val', seed => 7);
SELECT count(*) AS epochs, max(val_accuracy) >= 0.80 AS reached_80_percent,
       (array_agg(val_accuracy ORDER BY epoch DESC))[1] >= 0.80 AS last_epoch_above_80_percent,
       bool_and(val_top_k_accuracy >= 0.95) AS top5_above_95_percent,
       (array_agg(train_loss ORDER BY epoch DESC))[1] < (array_agg(train_loss ORDER BY epoch))[1] AS loss_decreased
  FROM fmnist_fit;
SELECT max(fit_id) AS fit FROM fmnist_fit \gset

-- The test subset: never seen during training or model selection.
SELECT accuracy >= 0.78 AS test_above_78_percent, top_k_accuracy >= 0.95 AS test_top5_above_95_percent, rows
  FROM automl_evaluate(:fit, 'fmnist_test');
-- Per-row predictions for the test images, mapped back by id.
CREATE TEMP TABLE fmnist_pred AS SELECT * FROM automl_predict(:fit, 'fmnist_test');
SELECT count(*) AS rows, count(*) FILTER (WHERE p.actual = t.label::text) AS labels_match,
       avg((p.predicted = t.label::text)::int) >= 0.78 AS test_above_78_percent
  FROM fmnist_pred p JOIN fm_test t USING (id);
-- Every class is recognised reasonably often (the hardest, "shirt", is often
-- confused with "T-shirt", "pullover" and "coat").
SELECT bool_and(recall >= 0.3) AS every_class_above_30_percent, count(*) AS classes
  FROM (SELECT actual, avg((predicted = actual)::int) AS recall FROM fmnist_pred GROUP BY actual) r;
-- Confident predictions are more often right than unsure ones.
SELECT avg((predicted = actual)::int) FILTER (WHERE probability >= 0.9)
     > avg((predicted = actual)::int) FILTER (WHERE probability < 0.6) AS confidence_is_informative
  FROM fmnist_pred;
