-- automl_prepare(): shuffling, normalising and packing tables into buffers.
-- Bad inputs must fail with a clear message and SQLSTATE, and leave neither
-- an output table nor an automl_prepared row behind.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;

-- Decoding packed buffers in SQL (see include/pg_automl/packed_buffer.h):
--   "PAMB" | u16 version | u8 label kind | u8 flags | u32 rows | u32 features
--   | f32 x[rows*features] | i32 class[rows] or f32 target[rows] | i64 id[rows]?
CREATE FUNCTION le_uint(b bytea, o int, n int) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT sum(get_byte(b, o + k)::numeric * 256::numeric ^ k) FROM generate_series(0, n - 1) k $$;
CREATE FUNCTION le_f32(b bytea, o int) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN s = 1 THEN -1 ELSE 1 END
         * CASE WHEN e = 0 THEN m * 2::float8 ^ -149 ELSE (1 + m / 8388608) * 2::float8 ^ (e - 127) END
    FROM (SELECT (u >= 2147483648)::int AS s, (floor(u / 8388608)::bigint & 255)::int AS e,
                 (u::bigint & 8388607)::float8 AS m
            FROM (SELECT le_uint(b, o, 4) AS u) x) y $$;
CREATE FUNCTION buffer_header(b bytea, OUT magic text, OUT version int, OUT label_kind int, OUT has_ids boolean,
                              OUT rows int, OUT features int)
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT convert_from(substring(b FROM 1 FOR 4), 'SQL_ASCII'), le_uint(b, 4, 2)::int, get_byte(b, 6),
         get_byte(b, 7) & 1 = 1, le_uint(b, 8, 4)::int, le_uint(b, 12, 4)::int $$;
-- The rows of a buffer: features, label (class index or target) and id.
CREATE FUNCTION unpack(b bytea) RETURNS TABLE (r int, x float8[], label float8, id bigint)
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT i,
         ARRAY(SELECT le_f32(b, 16 + (i * h.features + j) * 4) FROM generate_series(0, h.features - 1) j ORDER BY j),
         CASE WHEN h.label_kind = 1 THEN le_uint(b, 16 + (h.rows * h.features + i) * 4, 4)::float8
              ELSE le_f32(b, 16 + (h.rows * h.features + i) * 4) END,
         CASE WHEN h.has_ids THEN le_uint(b, 16 + (h.rows * h.features + h.rows) * 4 + i * 8, 8)::bigint END
    FROM buffer_header(b) h, generate_series(0, h.rows - 1) i $$;
-- The summary row of a prepared table, without timestamps.
CREATE FUNCTION summary(tbl regclass)
RETURNS TABLE (source text, label text, features text, id text, task text, classes text[], feature_shape int[],
               normalization text, buffer_size int, segments int, seed bigint, rows bigint, buffers int,
               segment_rows bigint[], segment_buffers int[], like_table regclass)
LANGUAGE sql AS $$
  SELECT source_table, label_column, feature_columns, id_column, task, classes, feature_shape, normalization,
         buffer_size, segments, seed, rows, buffers, segment_rows, segment_buffers, like_table
    FROM automl_prepared WHERE output_table = tbl $$;
-- Buffer sizes and contents of a prepared table.
CREATE FUNCTION buffers(tbl regclass)
RETURNS TABLE (buffers bigint, min_rows int, max_rows int, total_rows bigint, header_rows_match boolean,
               segments_match boolean, md5 text)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT count(*), min(rows), max(rows), sum(rows)::bigint, bool_and((buffer_header(buffer)).rows = rows),
            bool_and(segment_id = buffer_id %% (SELECT segments FROM automl_prepared WHERE output_table = %L::regclass)),
            md5(string_agg(md5(buffer), '','' ORDER BY segment_id, buffer_id))
       FROM %s', tbl, tbl);
END $$;

------------------------------------------------------------------------------
-- A real[] column, text labels, ids
------------------------------------------------------------------------------

SELECT output_table, rows, buffers, segments, segment_rows, segment_buffers, classes
  FROM automl_prepare('blobs', 'blobs_p', 'label', 'features', buffer_size => 64, segments => 3, id => 'id');
SELECT * FROM summary('blobs_p');
-- 600 rows in ceil(600 / 64) = 10 buffers of 60 rows, round-robin over 3 segments.
SELECT buffers, min_rows, max_rows, total_rows, header_rows_match, segments_match FROM buffers('blobs_p');
-- One LIST partition per segment; buffers are stored uncompressed.
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'blobs_p'::regclass ORDER BY c.relname;
SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'blobs_p'::regclass AND attname = 'buffer';
SELECT DISTINCT (buffer_header(buffer)).* FROM blobs_p;
-- Every source row is in exactly one buffer, with its class index (classes
-- are sorted: bird = 0, cat = 1, dog = 2).
CREATE TEMP TABLE blobs_rows AS SELECT t.segment_id, t.buffer_id, u.* FROM blobs_p t, unpack(t.buffer) u;
SELECT count(*) AS rows, count(DISTINCT id) AS ids, min(id) AS min_id, max(id) AS max_id FROM blobs_rows;
SELECT b.label, u.label AS class_index, count(*)
  FROM blobs_rows u JOIN blobs b USING (id) GROUP BY 1, 2 ORDER BY 1;
-- Shuffled: the rows of the first buffer are not the first rows of the table.
SELECT count(*) FILTER (WHERE id <= 60) < 60 AS shuffled FROM blobs_rows WHERE buffer_id = 0;

------------------------------------------------------------------------------
-- Normalisation
------------------------------------------------------------------------------

-- standard: per feature, shift = mean and scale = 1 / population stddev.
SELECT bool_and(abs(p.shift[k] - s.mean) < 1e-4 * greatest(1, abs(s.mean))
                AND abs(p.scale[k] - 1 / s.sd) < 1e-4 * (1 / s.sd)) AS stats_match
  FROM automl_prepared p,
       LATERAL (SELECT k, avg(features[k]) AS mean, stddev_pop(features[k]) AS sd
                  FROM blobs, generate_series(1, 4) k GROUP BY k) s
 WHERE p.output_table = 'blobs_p'::regclass;
-- so the packed features have mean 0 and standard deviation 1.
SELECT k, round(avg(x[k])::numeric, 4) AS mean, round(stddev_pop(x[k])::numeric, 4) AS sd
  FROM blobs_rows, generate_series(1, 4) k GROUP BY k ORDER BY k;
-- and each packed value is (x - shift) * scale of its source row.
SELECT bool_and(abs(u.x[k] - (b.features[k] - p.shift[k]) * p.scale[k]) < 1e-5) AS values_match
  FROM blobs_rows u JOIN blobs b USING (id), automl_prepared p, generate_series(1, 4) k
 WHERE p.output_table = 'blobs_p'::regclass;

-- minmax: each feature spans [0, 1].
SELECT normalization, rows FROM automl_prepare('blobs', 'blobs_minmax', 'label', 'features', 100, normalization => 'minmax');
SELECT k, round(min(u.x[k])::numeric, 5) AS min, round(max(u.x[k])::numeric, 5) AS max
  FROM blobs_minmax t, unpack(t.buffer) u, generate_series(1, 4) k GROUP BY k ORDER BY k;

-- global: one shift and one scale for all features; overall mean 0, sd 1.
SELECT normalization, rows FROM automl_prepare('blobs', 'blobs_global', 'label', 'features', 100, normalization => 'global');
SELECT (SELECT count(DISTINCT s) FROM unnest(shift) s) AS distinct_shifts,
       (SELECT count(DISTINCT s) FROM unnest(scale) s) AS distinct_scales
  FROM automl_prepared WHERE output_table = 'blobs_global'::regclass;
SELECT round(avg(v)::numeric, 4) AS mean, round(stddev_pop(v)::numeric, 4) AS sd
  FROM blobs_global t, unpack(t.buffer) u, unnest(u.x) v;

-- none: the values are stored as they are; no ids were asked for.
SELECT normalization, rows, shift, scale
  FROM automl_prepare('blobs', 'blobs_none', 'label', 'features', 100, normalization => 'none');
SELECT DISTINCT (buffer_header(buffer)).has_ids FROM blobs_none;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM blobs b WHERE b.features::float8[] = u.x)) AS found_in_source
  FROM blobs_none t, unpack(t.buffer) u;

------------------------------------------------------------------------------
-- Other feature and label columns
------------------------------------------------------------------------------

-- float8[] features give the same statistics as the real[] ones (up to the
-- rounding of real).
SELECT rows, classes, feature_shape FROM automl_prepare('blobs', 'blobs_p8', 'label', 'features8', 64, 3);
SELECT bool_and(abs(a.s - b.s) < 1e-5 * greatest(1, abs(a.s))) AS same_shift
  FROM unnest((SELECT shift FROM automl_prepared WHERE output_table = 'blobs_p'::regclass)) WITH ORDINALITY a(s, k)
  JOIN unnest((SELECT shift FROM automl_prepared WHERE output_table = 'blobs_p8'::regclass)) WITH ORDINALITY b(s, k) USING (k);
-- A list of numeric columns (real, float8, int, numeric), in that order.
SELECT rows, feature_shape, classes
  FROM automl_prepare('blobs', 'blobs_cols', 'label', ' a, b,c ,  d ', 200, normalization => 'none', id => 'id');
-- (stored as float4: compare with the source values rounded the same way)
SELECT bool_and(u.x = ARRAY[b.a, b.b, b.c, b.d]::float8[]::real[]::float8[]) AS columns_in_order, count(*)
  FROM blobs_cols t, unpack(t.buffer) u JOIN blobs b USING (id);
-- Integer labels: classes sorted as integers (2 < 10), not as text.
CREATE TABLE intlabels AS
SELECT i AS id, (ARRAY[10, 2, 7])[i % 3 + 1] AS label, ARRAY[i % 3, (i % 3) * 2]::real[] AS f
  FROM generate_series(1, 30) i;
SELECT task, classes FROM automl_prepare('intlabels', 'intlabels_p', 'label', 'f', 10, id => 'id');
SELECT i.label, u.label AS class_index, count(*)
  FROM intlabels_p t, unpack(t.buffer) u JOIN intlabels i USING (id) GROUP BY 1, 2 ORDER BY 1;
-- An integer label can be a regression target when asked.
SELECT task, classes FROM automl_prepare('intlabels', 'intlabels_r', 'label', 'f', 10, task => 'regression');
SELECT DISTINCT (buffer_header(buffer)).label_kind FROM intlabels_r;
SELECT automl_prepare('intlabels', 'intlabels_x', 'label', 'f', 10, task => 'clustering');
:sqlstate

-- Regression: a float label makes a regression task with float targets.
SELECT task, classes, rows, buffers, feature_shape
  FROM automl_prepare('linear', 'linear_p', 'y', 'a, b, c', 50, 2, id => 'id');
SELECT DISTINCT (buffer_header(buffer)).label_kind FROM linear_p;
SELECT bool_and(abs(u.label - l.y) < 1e-5 * greatest(1, abs(l.y))) AS targets_match, count(*)
  FROM linear_p t, unpack(t.buffer) u JOIN linear l USING (id);

-- feature_shape: Fashion-MNIST images as [1, 28, 28].
SELECT rows, buffers, feature_shape, segment_rows, segment_buffers
  FROM automl_prepare('fm_validation', 'fm_val_img', 'label', 'image', 250, feature_shape => '{1,28,28}');

------------------------------------------------------------------------------
-- Segments, buffer_size, seeds
------------------------------------------------------------------------------

-- Default: pg_automl.segments (2).
SELECT segments, buffers, segment_rows, segment_buffers FROM automl_prepare('blobs', 'blobs_s', 'label', 'features', 100);
SET pg_automl.segments = 4;
SELECT segments, buffers, segment_rows, segment_buffers
  FROM automl_prepare('blobs', 'blobs_s', 'label', 'features', 100, overwrite => true);
-- An explicit value wins over the setting.
SELECT segments, buffers, segment_rows, segment_buffers
  FROM automl_prepare('blobs', 'blobs_s', 'label', 'features', 100, segments => 1, overwrite => true);
RESET pg_automl.segments;
SET pg_automl.segments = 0;
:sqlstate
SET pg_automl.segments = 1025;
:sqlstate
-- Uneven: 600 rows in buffers of at most 7 rows: 86 buffers of 6 or 7 rows.
SELECT buffers, segment_rows, segment_buffers FROM automl_prepare('blobs', 'blobs_7', 'label', 'features', 7, 5);
SELECT buffers, min_rows, max_rows, total_rows, header_rows_match, segments_match FROM buffers('blobs_7');
-- One row per buffer.
SELECT buffers, segment_buffers FROM automl_prepare('intlabels', 'intlabels_1', 'label', 'f', 1, 1);
-- Same seed: identical buffers; another seed: another shuffle of the same rows.
SELECT seed FROM automl_prepare('blobs', 'blobs_seed0', 'label', 'features', 64, 3, seed => 0, id => 'id');
SELECT seed FROM automl_prepare('blobs', 'blobs_seed7', 'label', 'features', 64, 3, seed => 7, id => 'id');
SELECT seed FROM automl_prepare('blobs', 'blobs_seed7b', 'label', 'features', 64, 3, seed => 7, id => 'id');
SELECT (SELECT md5 FROM buffers('blobs_p')) = (SELECT md5 FROM buffers('blobs_seed0')) AS seed0_same,
       (SELECT md5 FROM buffers('blobs_seed7')) = (SELECT md5 FROM buffers('blobs_seed7b')) AS seed7_same,
       (SELECT md5 FROM buffers('blobs_seed0')) <> (SELECT md5 FROM buffers('blobs_seed7')) AS seeds_differ;
SELECT (SELECT array_agg(u.id ORDER BY u.id) FROM blobs_seed0 t, unpack(t.buffer) u)
     = (SELECT array_agg(u.id ORDER BY u.id) FROM blobs_seed7 t, unpack(t.buffer) u) AS same_rows;
-- The normalisation does not depend on the seed.
SELECT count(DISTINCT (shift, scale)) FROM automl_prepared
 WHERE output_table IN ('blobs_p'::regclass, 'blobs_seed0'::regclass, 'blobs_seed7'::regclass);

------------------------------------------------------------------------------
-- "like": validation data prepared like the training data
------------------------------------------------------------------------------

CREATE TABLE blobs_val AS SELECT * FROM blobs WHERE id % 5 = 0;
SELECT rows, buffers, normalization, like_table
  FROM automl_prepare('blobs_val', 'blobs_val_p', 'label', 'features', 40, 2, "like" => 'blobs_p', id => 'id');
-- Same classes, shift, scale, task and shape as blobs_p, not this table's own statistics.
SELECT t.classes = v.classes AS same_classes, t.shift = v.shift AS same_shift, t.scale = v.scale AS same_scale,
       t.task = v.task AS same_task, t.feature_shape = v.feature_shape AS same_shape
  FROM automl_prepared t, automl_prepared v
 WHERE t.output_table = 'blobs_p'::regclass AND v.output_table = 'blobs_val_p'::regclass;
-- A packed validation row equals the packed training row of the same id.
SELECT bool_and(abs(a.x[1] - b.x[1]) < 1e-6 AND abs(a.x[4] - b.x[4]) < 1e-6 AND a.label = b.label) AS same_values,
       count(*)
  FROM (SELECT u.* FROM blobs_val_p t, unpack(t.buffer) u) a JOIN blobs_rows b USING (id);
-- "like" fixes the normalisation: a different one is ignored.
SELECT normalization FROM automl_prepare('blobs_val', 'blobs_val_p2', 'label', 'features', 40, 2, "like" => 'blobs_p',
                                         normalization => 'minmax');
-- A subset with only some classes is fine: class indexes are those of "like".
CREATE TABLE blobs_dogs AS SELECT * FROM blobs WHERE label = 'dog';
SELECT classes FROM automl_prepare('blobs_dogs', 'blobs_dogs_p', 'label', 'features', 50, 2, "like" => 'blobs_p');
SELECT DISTINCT u.label FROM blobs_dogs_p t, unpack(t.buffer) u;
-- "like" a regression table
SELECT task, classes FROM automl_prepare('linear', 'linear_p2', 'y', 'a, b, c', 50, 2, "like" => 'linear_p');

------------------------------------------------------------------------------
-- overwrite
------------------------------------------------------------------------------

SELECT rows, buffers FROM automl_prepare('intlabels', 'intlabels_p', 'label', 'f', 15, 2, overwrite => true);
SELECT count(*) AS summaries FROM automl_prepared WHERE output_table = 'intlabels_p'::regclass;
SELECT count(*) AS buffers FROM intlabels_p;

------------------------------------------------------------------------------
-- Bad inputs
------------------------------------------------------------------------------

-- Checks that a failed call left nothing behind.
CREATE FUNCTION nothing_left(tbl text) RETURNS boolean LANGUAGE sql AS $$
  SELECT to_regclass(tbl) IS NULL AND to_regclass(tbl || '_seg0') IS NULL
     AND NOT EXISTS (SELECT 1 FROM automl_prepared WHERE output_table::text = tbl) $$;
SELECT count(*) AS prepared_before FROM automl_prepared \gset

CREATE TABLE bad AS SELECT id, label, label_int, features, a FROM blobs WHERE id <= 20;
-- NULL label
UPDATE bad SET label = NULL WHERE id = 3;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT nothing_left('bad_p');
UPDATE bad SET label = 'cat' WHERE id = 3;
-- NULL feature array
UPDATE bad SET features = NULL WHERE id = 4;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT nothing_left('bad_p');
-- NULL element in a feature array
UPDATE bad SET features = '{1, NULL, 3, 4}' WHERE id = 4;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT nothing_left('bad_p');
-- NULL in one of a list of feature columns
UPDATE bad SET features = '{1, 2, 3, 4}', a = NULL WHERE id = 4;
SELECT automl_prepare('bad', 'bad_p', 'label', 'a, label_int', 5);
:sqlstate
SELECT nothing_left('bad_p');
UPDATE bad SET a = 1 WHERE id = 4;
-- ragged arrays
UPDATE bad SET features = '{1, 2, 3}' WHERE id = 5;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT nothing_left('bad_p');
-- empty array
UPDATE bad SET features = '{}' WHERE id = 5;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
-- a multi-dimensional array with another number of values
UPDATE bad SET features = '{{1, 2, 3}, {4, 5, 6}}' WHERE id = 5;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT nothing_left('bad_p');
UPDATE bad SET features = '{1, 2, 3, 4}' WHERE id = 5;
-- NaN and infinite features
UPDATE bad SET features = '{1, NaN, 3, 4}' WHERE id = 6;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT nothing_left('bad_p');
UPDATE bad SET features = '{1, 2, -Infinity, 4}' WHERE id = 6;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5);
:sqlstate
UPDATE bad SET features = '{1, 2, 3, 4}' WHERE id = 6;
-- Finite features beyond single precision: the statistics or the packing
-- name the feature, whatever the normalisation.
CREATE TABLE bad_huge AS SELECT id, label, features::float8[] AS features FROM bad;
UPDATE bad_huge SET features = '{1, 1e300, 3, 4}' WHERE id = 6;
SELECT automl_prepare('bad_huge', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT automl_prepare('bad_huge', 'bad_p', 'label', 'features', 5, normalization => 'global');
:sqlstate
SELECT automl_prepare('bad_huge', 'bad_p', 'label', 'features', 5, normalization => 'none');
:sqlstate
SELECT nothing_left('bad_p');
-- Regression targets that are NaN, infinite, or beyond single precision
-- (counted before anything is written)
CREATE TABLE bad_target AS SELECT id, a, CASE WHEN id = 7 THEN 'NaN'::float8 ELSE id END AS y FROM bad;
SELECT automl_prepare('bad_target', 'bad_p', 'y', 'a', 5);
:sqlstate
SELECT nothing_left('bad_p');
CREATE TABLE bad_targets AS SELECT id, a, CASE id WHEN 3 THEN '-Infinity'::numeric WHEN 4 THEN 1e39 ELSE 2.5 END AS y FROM bad;
SELECT automl_prepare('bad_targets', 'bad_p', 'y', 'a', 5);
:sqlstate
UPDATE bad_targets SET y = 3.4e38 WHERE id = 4;  -- the largest magnitudes a float holds are fine
UPDATE bad_targets SET y = 1e-400 WHERE id = 5;  -- and a numeric too small for any float is 0
DELETE FROM bad_targets WHERE id = 3;
SELECT task, rows FROM automl_prepare('bad_targets', 'bad_p', 'y', 'a', 5);
DROP TABLE bad_p;
-- A failed overwrite (here while packing, after the old table was dropped)
-- keeps the old table.
SELECT automl_prepare('bad_huge', 'intlabels_p', 'label', 'features', 5, normalization => 'none', overwrite => true);
:sqlstate
SELECT buffers, task FROM automl_prepared WHERE output_table = 'intlabels_p'::regclass;
SELECT count(*) AS buffers FROM intlabels_p;
-- empty table
CREATE TABLE empty (label int, f real[]);
SELECT automl_prepare('empty', 'bad_p', 'label', 'f', 5);
:sqlstate
SELECT nothing_left('bad_p');
-- unknown label column, unknown feature column, non-numeric feature columns
SELECT automl_prepare('bad', 'bad_p', 'lable', 'features', 5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'feature', 5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'a, b', 5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'label', 5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'a, label', 5);
:sqlstate
CREATE TABLE bad_text AS SELECT label, ARRAY[a::text] AS f FROM bad;
SELECT automl_prepare('bad_text', 'bad_p', 'label', 'f', 5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', '', 5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', ' , ', 5);
:sqlstate
-- Feature names are taken as written; one that holds a comma or a double
-- quote is double-quoted, its quotes doubled.  A stray quote is refused.
CREATE TABLE odd_names AS SELECT label, features[1] AS "a,b", features[2] AS "Say ""hi""", a AS " x y " FROM blobs WHERE id <= 20;
SELECT rows, feature_shape FROM automl_prepare('odd_names', 'odd_p', 'label', ' "a,b" ,"Say ""hi""", " x y "', 5);
-- (the features are those columns, in that order: their means are the shift)
SELECT bool_and(abs(p.shift[k] - m[k]) < 1e-4) AS means_match
  FROM automl_prepared p, (SELECT ARRAY[avg("a,b"), avg("Say ""hi"""), avg(" x y ")] m FROM odd_names) a, generate_series(1, 3) k
 WHERE p.output_table = 'odd_p'::regclass;
SELECT automl_split_names('x, "a,b" ,"q""r", Mixed Case ');
SELECT automl_prepare('odd_names', 'bad_p', 'label', '"a,b" c', 5);
:sqlstate
SELECT automl_prepare('odd_names', 'bad_p', 'label', '"a,b', 5);
:sqlstate
SELECT automl_prepare('odd_names', 'bad_p', 'label', 'a"b', 5);
:sqlstate
SELECT automl_prepare('odd_names', 'bad_p', 'label', 'a,b', 5);
:sqlstate
SELECT automl_split_names(E' a,\t"b" \n, c\n');
SELECT automl_prepare('odd_names', 'bad_p', 'label', ' "a,b", ', 5);
:sqlstate
SELECT automl_prepare('odd_names', 'bad_p', 'label', '"a,b", ""', 5);
:sqlstate
-- Table names are read as in SQL: quoted, or an error that says how.
SELECT output_table, rows FROM automl_prepare('odd_names', '"Odd P"', 'label', '"a,b"', 5);
SELECT count(*) FROM automl_fit('"Odd P"', 'bad_model_does_not_exist');
:sqlstate
SELECT automl_prepare('odd_names', 'odd p', 'label', '"a,b"', 5);
:sqlstate
SELECT automl_prepare('odd_names', 'a.b.c', 'label', '"a,b"', 5);
:sqlstate
SELECT automl_prepare('odd_names', 'x; DROP TABLE bad', 'label', '"a,b"', 5);
:sqlstate
SELECT count(*) FROM automl_fit('odd p', 'mlp');
:sqlstate
SELECT automl_load_idx('x y', '/nonexistent', '/nonexistent');
:sqlstate
DROP TABLE odd_names, odd_p, "Odd P";
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, id => 'nosuchid');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, id => 'label');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, task => 'regression');
:sqlstate
SELECT nothing_left('bad_p');
-- NULL id
UPDATE bad SET id = NULL WHERE id = 8;
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, id => 'id');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 1, 1, id => 'id');
:sqlstate
SELECT nothing_left('bad_p');
UPDATE bad SET id = 8 WHERE id IS NULL;
-- unknown source; a view
SELECT automl_prepare('nosuchtable', 'bad_p', 'label', 'features', 5);
:sqlstate
CREATE VIEW bad_view AS SELECT * FROM bad;
SELECT automl_prepare('bad_view', 'bad_p', 'label', 'features', 5);
:sqlstate
SELECT nothing_left('bad_p');
-- NULL arguments
SELECT automl_prepare(NULL, 'bad_p', 'label', 'features');
:sqlstate
SELECT automl_prepare('bad', NULL, 'label', 'features');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', NULL, 'features');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', NULL);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', NULL);
:sqlstate
-- buffer_size and segments out of range; more segments than buffers
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 0);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', -5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 2000000);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, segments => 0);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, segments => 2000);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, segments => 5);
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 256);
:sqlstate
SELECT nothing_left('bad_p');
-- unknown normalization
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, normalization => 'zscore');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, normalization => NULL);
:sqlstate
SELECT nothing_left('bad_p');
-- "like" a table that was not prepared, or that does not exist
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, "like" => 'blobs');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, "like" => 'nosuchtable');
:sqlstate
-- "like" with a label that the reference does not know
CREATE TABLE bad_fish AS SELECT * FROM bad;
UPDATE bad_fish SET label = 'fish' WHERE id IN (1, 2);
UPDATE bad_fish SET label = 'cow' WHERE id = 3;
SELECT automl_prepare('bad_fish', 'bad_p', 'label', 'features', 5, "like" => 'blobs_p');
:sqlstate
SELECT nothing_left('bad_p');
-- "like" with another number of features
SELECT automl_prepare('bad', 'bad_p', 'label', 'a, label_int', 5, "like" => 'blobs_p');
:sqlstate
-- "like" with another task
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, "like" => 'blobs_p', task => 'regression');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, "like" => 'linear_p');
:sqlstate
SELECT nothing_left('bad_p');
-- an existing output table
SELECT automl_prepare('bad', 'blobs_p', 'label', 'features', 5);
:sqlstate
SELECT automl_prepare('bad', 'blobs', 'label', 'features', 5, overwrite => true);
:sqlstate
SELECT count(*) AS blobs_rows FROM blobs;
-- A packed table whose summary is gone (as after DROP EXTENSION and CREATE
-- EXTENSION) is named as such, with what to do.
CREATE TABLE old_packed AS SELECT * FROM blobs_p;
SELECT count(*) FROM automl_fit('old_packed', 'no_such_model');
:sqlstate
SELECT automl_prepare('blobs', 'old_packed', 'label', 'features', 100, overwrite => true);
:sqlstate
SELECT automl_prepare('blobs', 'x_p', 'label', 'features', 100, "like" => 'old_packed');
:sqlstate
DROP TABLE old_packed;
SELECT automl_prepare('bad', 'bad', 'label', 'features', 5);
:sqlstate
-- a single class
SELECT automl_prepare('blobs_dogs', 'bad_p', 'label', 'features', 50);
:sqlstate
SELECT nothing_left('bad_p');
-- feature_shape that does not hold the features
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, feature_shape => '{2,3}');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, feature_shape => '{4,0}');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5,
                      feature_shape => array_fill(2147483647, ARRAY[35]));
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, feature_shape => '{-2,-2}');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, feature_shape => '{2,NULL}');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, feature_shape => '{}');
:sqlstate
SELECT automl_prepare('bad', 'bad_p', 'label', 'features', 5, feature_shape => '{{2,2}}');
:sqlstate
SELECT nothing_left('bad_p');
-- After all these failures the catalog holds exactly what it held before.
SELECT count(*) = :prepared_before AS catalog_unchanged FROM automl_prepared;
SELECT count(*) AS stray_tables FROM pg_class WHERE relname LIKE 'bad\_p%';

-- The packing aggregate called directly: label kinds and normalisation
-- values are checked, not guessed.
SELECT length(automl_pack(ARRAY[1.0, 2.0]::float8[], 0, NULL, NULL, NULL, 'class')) AS packed_bytes;
SELECT automl_pack(ARRAY[1.0, 2.0]::float8[], 0, NULL, NULL, NULL, 'classes');
:sqlstate
SELECT automl_pack(ARRAY[1.0, 2.0]::float8[], 0, NULL, '{0, NaN}', '{1, 1}', 'class');
:sqlstate
SELECT automl_pack(ARRAY[1.0, 2.0]::float8[], 0, NULL, '{0}', '{1}', 'class');
:sqlstate
SELECT automl_pack(ARRAY[1e300, 2.0]::float8[], 0, NULL, NULL, NULL, 'class');
:sqlstate
SELECT automl_pack(ARRAY[1.0, 2.0]::float8[], 0.5, NULL, NULL, NULL, 'class');
:sqlstate

-- Multi-dimensional features (an image as real[][]) are read in row-major
-- order and give the default feature_shape.
CREATE TABLE grids AS
SELECT g AS id, g % 2 AS label, ARRAY[[g, 1], [2, g % 3]]::real[] AS grid FROM generate_series(1, 40) g;
SELECT feature_shape, rows, buffers FROM automl_prepare('grids', 'grids_p', 'label', 'grid', 10, 2, normalization => 'none');
SELECT feature_shape FROM automl_prepare('grids', 'grids_p2', 'label', 'grid', 10, 2, feature_shape => '{4}');
-- Row-major: the packed rows hold exactly the flattened grids.
SELECT count(*) AS rows_matching_their_grid
  FROM grids_p t, unpack(t.buffer) u
 WHERE u.x IN (SELECT ARRAY(SELECT unnest(g.grid))::float8[] FROM grids g WHERE g.label = u.label);
-- Model hopper runs read prepared tables from other sessions: no temporary ones.
SELECT rows FROM automl_prepare('grids', 'pg_temp.grids_tmp', 'label', 'grid', 10, 2);
:sqlstate
SELECT to_regclass('pg_temp.grids_tmp') IS NULL AS no_output;
-- Partitions are named after the table: long names that share their start
-- still get partitions of their own.
SELECT rows FROM automl_prepare('grids', 'grids_prepared_with_a_name_long_enough_to_be_cut_one', 'label', 'grid', 10, 2);
SELECT rows FROM automl_prepare('grids', 'grids_prepared_with_a_name_long_enough_to_be_cut_two', 'label', 'grid', 10, 2);
SELECT i.inhparent::regclass AS parent, c.relname AS partition
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent IN ('grids_prepared_with_a_name_long_enough_to_be_cut_one'::regclass,
                       'grids_prepared_with_a_name_long_enough_to_be_cut_two'::regclass)
 ORDER BY 1, 2;
-- Classes are values of the label's type: 1.0 and 1.00 are one class.
CREATE TABLE num_labels AS
SELECT g AS id, (CASE g % 3 WHEN 0 THEN 1.0 WHEN 1 THEN 1.00 ELSE 2 END)::numeric AS label,
       ARRAY[g % 7, g % 5]::real[] AS x
  FROM generate_series(1, 60) g;
SELECT rows, array_length(classes, 1) AS classes FROM automl_prepare('num_labels', 'num_labels_p', 'label', 'x', 10, 2, task => 'classification');
SELECT u.label AS class, count(*) FROM num_labels_p t, unpack(t.buffer) u GROUP BY 1 ORDER BY 1;
