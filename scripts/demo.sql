-- The main job: load Fashion-MNIST from the Debian package, pack it into
-- minibatch buffers over two segments, train an MLP inside the database and
-- report per-epoch and test accuracy.
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

\echo '== Model: a multilayer perceptron'
SELECT name, input_shape, outputs, parameters
  FROM automl_add_model('mlp-256', '{
        "input_shape": [1, 28, 28],
        "layers": [{"type": "Flatten"},
                   {"type": "Linear", "out_features": 256}, {"type": "ReLU"}, {"type": "Dropout", "p": 0.2},
                   {"type": "Linear", "out_features": 10}]}',
        description => 'Fashion-MNIST baseline', replace => true);

\echo '== Training inside the database (Adam, 5 epochs)'
SELECT epoch, round(train_loss::numeric, 4) AS train_loss, round(train_accuracy::numeric, 4) AS train_acc,
       round(val_loss::numeric, 4) AS val_loss, round(val_accuracy::numeric, 4) AS val_acc,
       round(val_top_k_accuracy::numeric, 4) AS val_top5, round(seconds::numeric, 2) AS seconds
  FROM automl_fit('fashion_train_packed', 'mlp-256', '{"optimizer": "adam", "lr": 0.001, "batch_size": 128}',
                  epochs => 5, validation => 'fashion_validation_packed', seed => 7);

\echo '== Test set'
SELECT round(loss::numeric, 4) AS test_loss, round(accuracy::numeric, 4) AS test_accuracy,
       round(top_k_accuracy::numeric, 4) AS test_top5, rows
  FROM automl_evaluate((SELECT max(fit_id) FROM automl_fits), 'fashion_test_packed');

\echo '== A few predictions, joined back to the source rows'
WITH names(k, name) AS (VALUES ('0','T-shirt/top'),('1','Trouser'),('2','Pullover'),('3','Dress'),('4','Coat'),
                               ('5','Sandal'),('6','Shirt'),('7','Sneaker'),('8','Bag'),('9','Ankle boot'))
SELECT p.id, a.name AS actual, n.name AS predicted, round(p.probability::numeric, 3) AS probability
  FROM automl_predict((SELECT max(fit_id) FROM automl_fits), 'fashion_test_packed') p
  JOIN names n ON n.k = p.predicted JOIN names a ON a.k = p.actual
 ORDER BY p.id LIMIT 8;

\echo '== Confusion: most frequent mistakes on the test set'
WITH names(k, name) AS (VALUES ('0','T-shirt/top'),('1','Trouser'),('2','Pullover'),('3','Dress'),('4','Coat'),
                               ('5','Sandal'),('6','Shirt'),('7','Sneaker'),('8','Bag'),('9','Ankle boot'))
SELECT a.name AS actual, n.name AS predicted, count(*) AS n
  FROM automl_predict((SELECT max(fit_id) FROM automl_fits), 'fashion_test_packed') p
  JOIN names n ON n.k = p.predicted JOIN names a ON a.k = p.actual
 WHERE p.actual <> p.predicted GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT 5;
