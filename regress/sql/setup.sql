-- Installs pg_automl and loads the data that the later suites share:
-- a small Fashion-MNIST subset (read server side from the IDX files of the
-- Debian package dataset-fashion-mnist) and small synthetic tables.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;

CREATE EXTENSION pg_automl;
SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_automl';

-- The catalog tables start empty.
SELECT (SELECT count(*) FROM automl_model_arch) AS models,
       (SELECT count(*) FROM automl_prepared) AS prepared,
       (SELECT count(*) FROM automl_fits) AS fits,
       (SELECT count(*) FROM automl_fit_epochs) AS epochs;

-- Fashion-MNIST: 6000 training rows (the first of the training file), 1000
-- validation rows (the last 1000 of the training file) and 1000 test rows.
SELECT * FROM automl_load_fashion_mnist('fm', validation_rows => 1000, train_rows => 6000, test_rows => 1000)
 ORDER BY table_name;

SELECT 'fm_train' AS t, count(*) AS rows, min(id) AS min_id, max(id) AS max_id,
       min(label) AS min_label, max(label) AS max_label, count(DISTINCT label) AS classes,
       min(cardinality(image)) AS min_len, max(cardinality(image)) AS max_len,
       min(lo) AS min_pixel, max(hi) AS max_pixel
  FROM fm_train, LATERAL (SELECT min(x) AS lo, max(x) AS hi FROM unnest(image) x) px;
SELECT 'fm_validation' AS t, count(*) AS rows, min(id) AS min_id, max(id) AS max_id,
       min(label) AS min_label, max(label) AS max_label, count(DISTINCT label) AS classes,
       min(cardinality(image)) AS min_len, max(cardinality(image)) AS max_len
  FROM fm_validation;
SELECT 'fm_test' AS t, count(*) AS rows, min(id) AS min_id, max(id) AS max_id,
       min(label) AS min_label, max(label) AS max_label, count(DISTINCT label) AS classes,
       min(cardinality(image)) AS min_len, max(cardinality(image)) AS max_len
  FROM fm_test;
-- Every class is present in each subset, in roughly equal numbers.
SELECT label, count(*) FILTER (WHERE t = 'train') AS train, count(*) FILTER (WHERE t = 'validation') AS validation,
       count(*) FILTER (WHERE t = 'test') AS test
  FROM (SELECT 'train' t, label FROM fm_train UNION ALL SELECT 'validation', label FROM fm_validation
        UNION ALL SELECT 'test', label FROM fm_test) u
 GROUP BY label ORDER BY label;
\d fm_train

-- The first training label of the file is known (class 9, ankle boot).
SELECT id, label FROM fm_train WHERE id IN (0, 1, 2) ORDER BY id;
-- Loading into an existing table fails cleanly.
SELECT * FROM automl_load_fashion_mnist('fm', 1000, 10, 10);
:sqlstate
-- A missing directory is an I/O error, not a crash.
SELECT * FROM automl_load_fashion_mnist('fm_missing', 10, 10, 10, directory => '/nonexistent');
:sqlstate
SELECT to_regclass('fm_missing_train') IS NULL AS nothing_left;
SELECT * FROM automl_load_fashion_mnist('fm_bad', validation_rows => 60000);
:sqlstate
SELECT count(*) FROM automl_read_idx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz',
                                     '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz', 9990, 100);
SELECT count(*) FROM automl_read_idx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz',
                                     '/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz');
:sqlstate
SELECT count(*) FROM automl_read_idx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz',
                                     '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz', 20000, 5);
:sqlstate
-- (a relative path is read from the data directory, where PG_VERSION holds "15")
SELECT count(*) FROM automl_read_idx('PG_VERSION', 'PG_VERSION');
:sqlstate
SELECT count(*) FROM automl_read_idx(NULL, NULL);
:sqlstate
SELECT count(*) FROM automl_read_idx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz',
                                     '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz', -1, 10);
:sqlstate

-- Synthetic tables.
-- blobs: 3 well separated classes in 4 dimensions, as real[] and float8[]
-- arrays and as separate numeric columns, with text labels and an id.
CREATE TABLE blobs AS
SELECT i AS id,
       (ARRAY['cat', 'dog', 'bird'])[i % 3 + 1] AS label,
       i % 3 AS label_int,
       ARRAY[(i % 3) * 4 + sin(i)::real, (i % 3) * -3 + cos(i * 1.3)::real,
             10 + sin(i * 0.7)::real, (i % 3) + 0.5 * cos(i * 2.1)::real]::real[] AS features,
       ARRAY[(i % 3) * 4 + sin(i), (i % 3) * -3 + cos(i * 1.3),
             10 + sin(i * 0.7), (i % 3) + 0.5 * cos(i * 2.1)]::float8[] AS features8,
       ((i % 3) * 4 + sin(i))::real AS a,
       ((i % 3) * -3 + cos(i * 1.3))::float8 AS b,
       (i % 7)::int AS c,
       round(((i % 3) + 0.5 * cos(i * 2.1))::numeric, 3) AS d
  FROM generate_series(1, 600) i;
ALTER TABLE blobs ADD PRIMARY KEY (id);
SELECT count(*), count(DISTINCT label) AS classes, min(label) AS first_class, max(label) AS last_class,
       min(cardinality(features)) AS len, max(cardinality(features8)) AS len8
  FROM blobs;

-- linear: a regression target y = 2a - 3b + 0.5c + noise.
CREATE TABLE linear AS
SELECT i AS id, a, b, c, (2 * a - 3 * b + 0.5 * c + 0.01 * sin(i * 17))::float8 AS y
  FROM (SELECT i, sin(i * 0.37)::real AS a, cos(i * 0.11)::float8 AS b, (i % 5)::int AS c
          FROM generate_series(1, 400) i) s;
SELECT count(*), round(min(y)::numeric, 2) AS min_y, round(max(y)::numeric, 2) AS max_y FROM linear;
