-- The main job: load Fashion-MNIST from the Debian package, pack it into
-- minibatch buffers over two segments, select among four configurations with
-- the model hopper inside the database, and report the leaderboard, the hop
-- schedule and the best model's test accuracy and predictions.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = notice;
CREATE EXTENSION IF NOT EXISTS pg_automl;

\echo '== Loading Fashion-MNIST (20,000 training, 5,000 validation and 10,000 test images)'
SELECT * FROM automl_load_fashion_mnist('fashion', validation_rows => 5000, train_rows => 20000);

\echo '== Packing: shuffled with a seed, 256 rows per buffer, 2 segments'
SELECT output_table, task, array_length(classes, 1) AS classes, feature_shape, rows, buffers,
       segment_rows, segment_buffers
  FROM automl_prepare('fashion_train', 'fashion_train_packed', label => 'label', features => 'image',
                      feature_shape => '{1,28,28}', normalization => 'global', seed => 42);
SELECT output_table, rows, buffers
  FROM automl_prepare('fashion_validation', 'fashion_validation_packed', 'label', 'image',
                      "like" => 'fashion_train_packed', id => 'id');
SELECT output_table, rows, buffers
  FROM automl_prepare('fashion_test', 'fashion_test_packed', 'label', 'image',
                      "like" => 'fashion_train_packed', id => 'id');

\echo '== Models: two multilayer perceptrons'
SELECT name, input_shape, outputs, parameters
  FROM automl_add_model('mlp-256', '{
        "input_shape": [1, 28, 28],
        "layers": [{"type": "Flatten"},
                   {"type": "Linear", "out_features": 256}, {"type": "ReLU"}, {"type": "Dropout", "p": 0.2},
                   {"type": "Linear", "out_features": 10}]}',
        description => 'Fashion-MNIST baseline', replace => true);
SELECT name, input_shape, outputs, parameters
  FROM automl_add_model('mlp-128x64', '{
        "input_shape": [1, 28, 28],
        "layers": [{"type": "Flatten"},
                   {"type": "Linear", "out_features": 128}, {"type": "ReLU"},
                   {"type": "Linear", "out_features": 64}, {"type": "ReLU"},
                   {"type": "Linear", "out_features": 10}]}',
        description => 'two hidden layers', replace => true);

\echo '== Model selection inside the database: 4 configurations hop over 2 segments (4 epochs)'
SELECT rank, trial, fit_id, model_name AS model, params->>'optimizer' AS optimizer, params->>'lr' AS lr, status,
       round(train_loss::numeric, 4) AS train_loss, round(val_loss::numeric, 4) AS val_loss,
       round(val_accuracy::numeric, 4) AS val_acc, round(seconds::numeric, 2) AS train_s
  FROM automl_fit_multiple('fashion_train_packed', '[
         {"model": "mlp-256",    "params": {"optimizer": "adam", "lr": 0.001, "batch_size": 128}},
         {"model": "mlp-256",    "params": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 128}},
         {"model": "mlp-128x64", "params": {"optimizer": "adam", "lr": 0.001, "batch_size": 128}},
         {"model": "mlp-128x64", "params": {"optimizer": "adamw", "lr": 0.003, "weight_decay": 0.01}}]',
         epochs => 4, validation => 'fashion_validation_packed', seed => 7);

\echo '== The run: hops, segment utilisation and the recorded visit order of epoch 1'
SELECT run_id, status, epochs, hops, trials, elapsed FROM automl_progress ORDER BY run_id DESC LIMIT 1;
SELECT epoch, round(seconds::numeric, 2) AS seconds, round(utilisation::numeric, 3) AS utilisation
  FROM automl_run_epochs WHERE run_id = (SELECT max(run_id) FROM automl_runs) ORDER BY epoch;
SELECT hop, string_agg(format('segment %s: trial %s', segment, trial), ', ' ORDER BY segment) AS trains
  FROM automl_hops WHERE run_id = (SELECT max(run_id) FROM automl_runs) AND epoch = 1 AND kind = 'train'
 GROUP BY hop ORDER BY hop;

\echo '== Test set, best configuration'
SELECT round(loss::numeric, 4) AS test_loss, round(accuracy::numeric, 4) AS test_accuracy,
       round(top_k_accuracy::numeric, 4) AS test_top5, rows
  FROM automl_evaluate((SELECT fit_id FROM automl_leaderboard
                         WHERE run_id = (SELECT max(run_id) FROM automl_runs) AND rank = 1), 'fashion_test_packed');

\echo '== A few predictions, joined back to the source rows'
WITH names(k, name) AS (VALUES ('0','T-shirt/top'),('1','Trouser'),('2','Pullover'),('3','Dress'),('4','Coat'),
                               ('5','Sandal'),('6','Shirt'),('7','Sneaker'),('8','Bag'),('9','Ankle boot'))
SELECT p.id, a.name AS actual, n.name AS predicted, round(p.probability::numeric, 3) AS probability
  FROM automl_predict((SELECT fit_id FROM automl_leaderboard
                         WHERE run_id = (SELECT max(run_id) FROM automl_runs) AND rank = 1), 'fashion_test_packed') p
  JOIN names n ON n.k = p.predicted JOIN names a ON a.k = p.actual
 ORDER BY p.id LIMIT 8;

\echo '== Confusion: most frequent mistakes on the test set'
WITH names(k, name) AS (VALUES ('0','T-shirt/top'),('1','Trouser'),('2','Pullover'),('3','Dress'),('4','Coat'),
                               ('5','Sandal'),('6','Shirt'),('7','Sneaker'),('8','Bag'),('9','Ankle boot'))
SELECT a.name AS actual, n.name AS predicted, count(*) AS n
  FROM automl_predict((SELECT fit_id FROM automl_leaderboard
                         WHERE run_id = (SELECT max(run_id) FROM automl_runs) AND rank = 1), 'fashion_test_packed') p
  JOIN names n ON n.k = p.predicted JOIN names a ON a.k = p.actual
 WHERE p.actual <> p.predicted GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT 5;
