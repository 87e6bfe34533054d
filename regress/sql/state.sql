-- Training states: automl_init_state / automl_state_info, and robustness
-- against corrupt, truncated, foreign and forged bytes.  Each bad state must
-- give a clean error (22P03 invalid_binary_representation for bytes that are not a valid
-- state, 22023 for a valid state of another model) in every function that
-- reads states, and the backend must survive.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;
SELECT pg_backend_pid() AS backend_pid \gset

SELECT rows, buffers FROM automl_prepare('blobs', 'st_blobs', 'label', 'features', 100, 2);
SELECT rows, buffers FROM automl_prepare('linear', 'st_linear', 'y', 'a, b, c', 100, 2);
-- The model, its spec and a state trained for one pass with Adam.
CREATE TABLE m AS
SELECT spec, '{"lr": 0.01}'::jsonb AS params FROM automl_spec_info('{"input_shape": [4], "layers": [
    {"type": "Linear", "out_features": 8}, {"type": "ReLU"}, {"type": "Linear", "out_features": 3}]}');
CREATE TABLE st (name text PRIMARY KEY, state bytea);
INSERT INTO st SELECT 'fresh', automl_init_state(spec, params, 'classification', 1) FROM m;
INSERT INTO st SELECT 'trained', (automl_train(b.buffer, s.state, m.spec, m.params ORDER BY b.segment_id, b.buffer_id)).state
  FROM st_blobs b, st s, m WHERE s.name = 'fresh' GROUP BY ();

------------------------------------------------------------------------------
-- automl_init_state and automl_state_info
------------------------------------------------------------------------------

-- A fresh state: no steps yet, no optimizer state; bytes = header, meta,
-- RNG state, 4 tensors of parameters and an empty optimizer state.
SELECT automl_state_info(state) FROM st WHERE name = 'fresh';
-- After one pass over 6 buffers: 6 steps, 600 samples, and Adam's moments.
SELECT automl_state_info(state) - 'bytes' AS info,
       (automl_state_info(state)->>'bytes')::int > (SELECT (automl_state_info(state)->>'bytes')::int FROM st WHERE name = 'fresh') AS grew
  FROM st WHERE name = 'trained';
SELECT (automl_state_info(state)->>'bytes')::int = length(state) AS bytes_is_length FROM st;
-- Each optimizer and each task.
SELECT o AS optimizer, automl_state_info(automl_init_state(m.spec, jsonb_build_object('optimizer', o), 'classification', 0)) - 'bytes' AS info
  FROM m, unnest(ARRAY['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad']) o;
SELECT automl_state_info(automl_init_state(spec, NULL, 'regression', NULL)) - 'bytes' AS info
  FROM automl_spec_info('{"input_shape": [3], "layers": [{"type": "Linear", "out_features": 1}]}');
-- The seed: same seed, same bytes.
SELECT automl_init_state(spec, params, 'classification', 1) = (SELECT state FROM st WHERE name = 'fresh') AS same_seed_same_state,
       automl_init_state(spec, params, 'classification', 2) <> (SELECT state FROM st WHERE name = 'fresh') AS other_seed_other_state
  FROM m;
-- Bad arguments
SELECT automl_init_state(spec, params, 'regression', 0) FROM m;
:sqlstate
SELECT automl_init_state(spec, params, 'clustering', 0) FROM m;
:sqlstate
SELECT automl_init_state(spec, '{"optimizer": "newton"}', 'classification', 0) FROM m;
:sqlstate
SELECT automl_init_state('{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 1}]}', '{}', 'classification', 0);
:sqlstate
SELECT automl_init_state('{"input_shape": [4]}', '{}', 'classification', 0);
:sqlstate
SELECT automl_init_state(NULL, '{}', 'classification', 0);
:sqlstate
SELECT automl_init_state(spec, params, NULL, 0) FROM m;
:sqlstate
SELECT automl_state_info(NULL) IS NULL AS strict;

------------------------------------------------------------------------------
-- Corrupt bytes
------------------------------------------------------------------------------

-- State layout (include/pg_automl/training_state.h):
--   0 "PGAMLST1" | 8 u32 version | 12 u32 crc32(payload) | 16 u64 payload size
--   | 24 payload: u8 task, u8 optimizer, i64 outputs, u32 spec crc, i64 steps,
--   i64 samples, i64 buffers | 62 RNG state tensor: u8 dtype, u8 rank, i64 dims...
INSERT INTO st
SELECT 'flipped', set_byte(state, length(state) / 2, get_byte(state, length(state) / 2) # 255) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'overlaid', overlay(state PLACING '\x00000000'::bytea FROM length(state) / 3 FOR 4) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'truncated', substring(state FROM 1 FOR length(state) - 10) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'header only', substring(state FROM 1 FOR 24) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'half header', substring(state FROM 1 FOR 12) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'extended', state || '\x00'::bytea FROM st WHERE name = 'trained'
UNION ALL
SELECT 'version 2', set_byte(state, 8, 2) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'empty', ''::bytea
UNION ALL
SELECT 'zero byte', '\x00'::bytea
UNION ALL
SELECT 'packed buffer', (SELECT buffer FROM st_blobs ORDER BY segment_id, buffer_id LIMIT 1)
UNION ALL
SELECT 'random', decode(repeat(md5('pg_automl'), 64), 'hex')
UNION ALL
SELECT 'text', convert_to('PGAMLST1 but not really a state', 'UTF8');
SELECT name, length(state) FROM st ORDER BY name;

-- automl_state_info on each
SELECT automl_state_info(state) FROM st WHERE name = 'flipped';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'overlaid';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'truncated';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'header only';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'half header';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'extended';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'version 2';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'empty';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'zero byte';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'packed buffer';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'random';
:sqlstate
SELECT automl_state_info(state) FROM st WHERE name = 'text';
:sqlstate
SELECT 1 AS alive;

-- the training aggregate
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_blobs b, st s, m WHERE s.name = 'flipped';
:sqlstate
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_blobs b, st s, m WHERE s.name = 'truncated';
:sqlstate
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_blobs b, st s, m WHERE s.name = 'extended';
:sqlstate
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_blobs b, st s, m WHERE s.name = 'empty';
:sqlstate
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_blobs b, st s, m WHERE s.name = 'zero byte';
:sqlstate
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_blobs b, st s, m WHERE s.name = 'packed buffer';
:sqlstate
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_blobs b, st s, m WHERE s.name = 'random';
:sqlstate
SELECT 1 AS alive;
-- the evaluation aggregate
SELECT automl_eval(b.buffer, s.state, m.spec, m.params, 2) FROM st_blobs b, st s, m WHERE s.name = 'flipped';
:sqlstate
SELECT automl_eval(b.buffer, s.state, m.spec, m.params, 2) FROM st_blobs b, st s, m WHERE s.name = 'truncated';
:sqlstate
SELECT automl_eval(b.buffer, s.state, m.spec, m.params, 2) FROM st_blobs b, st s, m WHERE s.name = 'empty';
:sqlstate
SELECT automl_eval(b.buffer, s.state, m.spec, m.params, 2) FROM st_blobs b, st s, m WHERE s.name = 'packed buffer';
:sqlstate
SELECT automl_eval(b.buffer, s.state, m.spec, m.params, 2) FROM st_blobs b, st s, m WHERE s.name = 'random';
:sqlstate
SELECT 1 AS alive;
-- prediction
SELECT count(*) FROM st_blobs b, st s, m, automl_predict_buffer(s.state, m.spec, m.params, b.buffer) WHERE s.name = 'flipped';
:sqlstate
SELECT count(*) FROM st_blobs b, st s, m, automl_predict_buffer(s.state, m.spec, m.params, b.buffer) WHERE s.name = 'truncated';
:sqlstate
SELECT count(*) FROM st_blobs b, st s, m, automl_predict_buffer(s.state, m.spec, m.params, b.buffer) WHERE s.name = 'empty';
:sqlstate
SELECT count(*) FROM st_blobs b, st s, m, automl_predict_buffer(s.state, m.spec, m.params, b.buffer) WHERE s.name = 'packed buffer';
:sqlstate
SELECT count(*) FROM st_blobs b, st s, m, automl_predict_buffer(s.state, m.spec, m.params, b.buffer) WHERE s.name = 'random';
:sqlstate
SELECT 1 AS alive;
-- The good states still work after all that.
SELECT (r).rows, (r).steps, (r).loss > 0 AS loss_ok
  FROM (SELECT automl_train(b.buffer, s.state, m.spec, m.params ORDER BY b.segment_id, b.buffer_id) r
          FROM st_blobs b, st s, m WHERE s.name = 'trained' GROUP BY ()) x;
SELECT (r).rows, (r).accuracy BETWEEN 0 AND 1 AS accuracy_ok, (r).top_k_accuracy >= (r).accuracy AS top_k_ok
  FROM (SELECT automl_eval(b.buffer, s.state, m.spec, m.params, 2) r FROM st_blobs b, st s, m WHERE s.name = 'trained' GROUP BY ()) x;
SELECT count(*), count(DISTINCT class_index) <= 3 AS classes_ok
  FROM st_blobs b, st s, m, automl_predict_buffer(s.state, m.spec, m.params, b.buffer) WHERE s.name = 'trained';

------------------------------------------------------------------------------
-- Forged states: a valid checksum over malformed contents
------------------------------------------------------------------------------

-- CRC-32 (zlib's) of b from byte `start` on, and a state with its header
-- recomputed, so that the parser itself must catch what is wrong.
CREATE FUNCTION crc32(b bytea, start int) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  c bigint := 4294967295;
BEGIN
  FOR i IN start .. length(b) - 1 LOOP
    c := c # get_byte(b, i);
    FOR k IN 1 .. 8 LOOP
      c := CASE WHEN c & 1 = 1 THEN (c >> 1) # 3988292384 ELSE c >> 1 END;
    END LOOP;
  END LOOP;
  RETURN c # 4294967295;
END $$;
CREATE FUNCTION put_le(b bytea, pos int, n int, v bigint) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  FOR k IN 0 .. n - 1 LOOP
    b := set_byte(b, pos + k, ((v >> (8 * k)) & 255)::int);
  END LOOP;
  RETURN b;
END $$;
CREATE FUNCTION reseal(s bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT put_le(put_le(s, 16, 8, length(s) - 24), 12, 4, crc32(s, 24)) $$;
-- Resealing a good state changes nothing: the CRC above is the state's.
SELECT reseal(state) = state AS crc_matches FROM st WHERE name = 'trained';

INSERT INTO st
SELECT 'bad task', reseal(set_byte(state, 24, 7)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'bad optimizer', reseal(set_byte(state, 25, 9)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'sgd optimizer', reseal(set_byte(state, 25, 1)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'outputs 0', reseal(put_le(state, 26, 8, 0)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'outputs 5', reseal(put_le(state, 26, 8, 5)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'spec crc', reseal(put_le(state, 34, 4, 12345)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'negative steps', reseal(put_le(state, 38, 8, -1)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'tensor type', reseal(set_byte(state, 62, 99)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'tensor rank', reseal(set_byte(state, 63, 200)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'tensor dim', reseal(put_le(state, 64, 8, 4611686018427387904)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'negative dim', reseal(put_le(state, 64, 8, -5)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'short rng', reseal(put_le(state, 64, 8, 16)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'cut payload', reseal(substring(state FROM 1 FOR length(state) - 100)) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'trailing bytes', reseal(state || '\xdeadbeef'::bytea) FROM st WHERE name = 'trained'
UNION ALL
SELECT 'meta only', reseal(substring(state FROM 1 FOR 62)) FROM st WHERE name = 'trained';

-- Every forged state, in every function that reads states: the SQLSTATE
-- and message of each (caught in a subtransaction; "ok" if no error).
CREATE FUNCTION try_state(variant text)
RETURNS TABLE (fn text, code text, message text, detail text) LANGUAGE plpgsql AS $$
DECLARE
  s bytea := (SELECT state FROM st WHERE name = variant);
  spec jsonb := (SELECT m.spec FROM m);
  params jsonb := (SELECT m.params FROM m);
BEGIN
  FOR i IN 1 .. 4 LOOP
    fn := (ARRAY['state_info', 'train', 'eval', 'predict'])[i];
    code := 'ok';
    message := NULL;
    detail := NULL;
    BEGIN
      CASE i
        WHEN 1 THEN PERFORM automl_state_info(s);
        WHEN 2 THEN PERFORM automl_train(b.buffer, s, spec, params) FROM st_blobs b;
        WHEN 3 THEN PERFORM automl_eval(b.buffer, s, spec, params, 2) FROM st_blobs b;
        WHEN 4 THEN PERFORM count(*) FROM st_blobs b, automl_predict_buffer(s, spec, params, b.buffer);
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    END;
    RETURN NEXT;
  END LOOP;
END $$;
SELECT v AS variant, t.* FROM unnest(ARRAY['bad task', 'bad optimizer', 'outputs 0', 'negative steps']) v, try_state(v) t;
SELECT v AS variant, t.* FROM unnest(ARRAY['tensor type', 'tensor rank', 'tensor dim', 'negative dim', 'short rng']) v, try_state(v) t;
SELECT v AS variant, t.* FROM unnest(ARRAY['cut payload', 'trailing bytes', 'meta only']) v, try_state(v) t;
-- Well-formed states of something else: another optimizer, another
-- architecture (22023: the state is fine, the request does not match it).
SELECT v AS variant, t.* FROM unnest(ARRAY['sgd optimizer', 'spec crc', 'outputs 5']) v, try_state(v) t;
SELECT 1 AS alive;

------------------------------------------------------------------------------
-- Valid states used with the wrong model, optimizer or data
------------------------------------------------------------------------------

-- A state of another architecture (same layer shapes, other widths).
SELECT automl_train(b.buffer, s.state, i.spec, m.params)
  FROM st_blobs b, st s, m, automl_spec_info('{"input_shape": [4], "layers": [
       {"type": "Linear", "out_features": 9}, {"type": "ReLU"}, {"type": "Linear", "out_features": 3}]}') i
 WHERE s.name = 'trained';
:sqlstate
-- The same layers with another activation is another architecture, too.
SELECT automl_eval(b.buffer, s.state, i.spec, m.params, 1)
  FROM st_blobs b, st s, m, automl_spec_info('{"input_shape": [4], "layers": [
       {"type": "Linear", "out_features": 8}, {"type": "Tanh"}, {"type": "Linear", "out_features": 3}]}') i
 WHERE s.name = 'trained';
:sqlstate
-- An Adam state trained on with SGD parameters.
SELECT automl_train(b.buffer, s.state, m.spec, '{"optimizer": "sgd"}') FROM st_blobs b, st s, m WHERE s.name = 'trained';
:sqlstate
-- Other Adam settings are fine: the state holds no hyperparameters.
SELECT (automl_train(b.buffer, s.state, m.spec, '{"lr": 0.5, "betas": [0.5, 0.6]}')).rows
  FROM st_blobs b, st s, m WHERE s.name = 'trained';
-- Data with another number of features (Fashion-MNIST, 784).
SELECT rows FROM automl_prepare('fm_validation', 'st_fm', 'label', 'image', 500, 2);
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM st_fm b, st s, m WHERE s.name = 'trained';
:sqlstate
-- Regression targets given to a classifier, and classes to a regression model.
SELECT automl_train(b.buffer, automl_init_state(i.spec, '{}', 'classification', 0), i.spec, '{}')
  FROM st_linear b, automl_spec_info('{"input_shape": [3], "layers": [{"type": "Linear", "out_features": 3}]}') i;
:sqlstate
SELECT automl_train(b.buffer, automl_init_state(i.spec, '{}', 'regression', 0), i.spec, '{}')
  FROM st_blobs b, automl_spec_info('{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 1}]}') i;
:sqlstate
-- Class indexes beyond the model's outputs (3 classes, 2 outputs).
SELECT automl_train(b.buffer, automl_init_state(i.spec, '{}', 'classification', 0), i.spec, '{}')
  FROM st_blobs b, automl_spec_info('{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2}]}') i;
:sqlstate

------------------------------------------------------------------------------
-- Corrupt packed buffers
------------------------------------------------------------------------------

-- Buffer layout: "PAMB" | u16 version | u8 label kind | u8 flags | u32 rows | u32 features | data
CREATE TABLE bad_buffers AS
SELECT 'magic' AS name, set_byte(buffer, 0, 0) AS buffer FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'version', set_byte(buffer, 4, 9) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'label kind', set_byte(buffer, 6, 3) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'zero rows', put_le(buffer, 8, 4, 0) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'too many rows', put_le(buffer, 8, 4, 2000000) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'more rows', put_le(buffer, 8, 4, 101) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'huge features', put_le(buffer, 12, 4, 4294967295) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'ids flag', set_byte(buffer, 7, 1) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'truncated', substring(buffer FROM 1 FOR length(buffer) - 1) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'short', substring(buffer FROM 1 FOR 10) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'empty', ''::bytea
UNION ALL SELECT 'a state', state FROM st WHERE name = 'fresh'
UNION ALL SELECT 'class 99', put_le(buffer, 16 + 100 * 4 * 4, 4, 99) FROM st_blobs WHERE buffer_id = 0
UNION ALL SELECT 'class -1', put_le(buffer, 16 + 100 * 4 * 4 + 4, 4, -1) FROM st_blobs WHERE buffer_id = 0;
-- Every bad buffer in training, evaluation and prediction.
CREATE FUNCTION try_buffer(variant text)
RETURNS TABLE (fn text, code text, message text, detail text) LANGUAGE plpgsql AS $$
DECLARE
  buf bytea := (SELECT buffer FROM bad_buffers WHERE name = variant);
  s bytea := (SELECT state FROM st WHERE name = 'trained');
  spec jsonb := (SELECT m.spec FROM m);
  params jsonb := (SELECT m.params FROM m);
BEGIN
  FOR i IN 1 .. 3 LOOP
    fn := (ARRAY['train', 'eval', 'predict'])[i];
    code := 'ok';
    message := NULL;
    detail := NULL;
    BEGIN
      CASE i
        WHEN 1 THEN PERFORM automl_train(buf, s, spec, params);
        WHEN 2 THEN PERFORM automl_eval(buf, s, spec, params, 2);
        WHEN 3 THEN PERFORM count(*) FROM automl_predict_buffer(s, spec, params, buf);
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    END;
    RETURN NEXT;
  END LOOP;
END $$;
SELECT b.name AS variant, t.* FROM bad_buffers b, try_buffer(b.name) t ORDER BY b.name, t.fn;
-- Buffers read from a table are kept in a per-backend cache keyed by their
-- TOAST value: a buffer changed in its table is read anew, never served stale.
CREATE TABLE st_fm_model AS
SELECT spec, automl_init_state(spec, '{}', 'classification', 0) AS state
  FROM automl_spec_info('{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}');
SELECT (automl_train(b.buffer, m.state, m.spec, '{}')).rows FROM st_fm b, st_fm_model m;
SELECT (automl_train(b.buffer, m.state, m.spec, '{}')).rows FROM st_fm b, st_fm_model m;
UPDATE st_fm SET buffer = set_byte(buffer, 0, 0) WHERE buffer_id = 1;
SELECT (automl_train(b.buffer, m.state, m.spec, '{}')).rows FROM st_fm b, st_fm_model m;
:sqlstate
UPDATE st_fm SET buffer = set_byte(buffer, 0, ascii('P')) WHERE buffer_id = 1;
SELECT (automl_train(b.buffer, m.state, m.spec, '{}')).rows FROM st_fm b, st_fm_model m;
-- Another column of the row changes, the buffer's TOAST value stays: still fine.
UPDATE st_fm SET rows = rows WHERE buffer_id = 1;
SELECT (automl_eval(b.buffer, m.state, m.spec, '{}', 1)).rows FROM st_fm b, st_fm_model m;
-- And one at top level, outside any subtransaction.
SELECT automl_train(b.buffer, s.state, m.spec, m.params) FROM bad_buffers b, st s, m WHERE b.name = 'truncated' AND s.name = 'trained';
:sqlstate
SELECT 1 AS alive;

------------------------------------------------------------------------------
-- NULL arguments
------------------------------------------------------------------------------

SELECT automl_train(b.buffer, NULL, m.spec, m.params) FROM st_blobs b, m;
:sqlstate
SELECT automl_train(b.buffer, s.state, NULL, m.params) FROM st_blobs b, st s, m WHERE s.name = 'trained';
:sqlstate
SELECT automl_train(NULL, s.state, m.spec, m.params) FROM st s, m WHERE s.name = 'trained';
:sqlstate
-- NULL params are the defaults (Adam, like the state).
SELECT (automl_train(b.buffer, s.state, m.spec, NULL)).rows FROM st_blobs b, st s, m WHERE s.name = 'trained';
SELECT automl_eval(b.buffer, NULL, m.spec, m.params, 1) FROM st_blobs b, m;
:sqlstate
SELECT automl_eval(b.buffer, s.state, NULL, m.params, 1) FROM st_blobs b, st s, m WHERE s.name = 'trained';
:sqlstate
SELECT automl_eval(NULL, s.state, m.spec, m.params, 1) FROM st s, m WHERE s.name = 'trained';
:sqlstate
SELECT automl_eval(b.buffer, s.state, m.spec, m.params, 0) FROM st_blobs b, st s, m WHERE s.name = 'trained';
:sqlstate
-- top_k NULL is 5 (at most the 3 outputs): every row is a hit.
SELECT (automl_eval(b.buffer, s.state, m.spec, m.params, NULL)).top_k_accuracy FROM st_blobs b, st s, m WHERE s.name = 'trained';
SELECT count(*) FROM st_blobs b, m, automl_predict_buffer(NULL, m.spec, m.params, b.buffer);
:sqlstate
SELECT count(*) FROM st_blobs b, st s, m, automl_predict_buffer(s.state, NULL, m.params, b.buffer) WHERE s.name = 'trained';
:sqlstate
SELECT count(*) FROM st s, m, automl_predict_buffer(s.state, m.spec, m.params, NULL) WHERE s.name = 'trained';
:sqlstate
SELECT count(*) FROM automl_predict_buffer(NULL, NULL, NULL, NULL);
:sqlstate
-- The aggregates' support functions take "internal" and cannot be called from SQL.
SELECT automl_train_step(NULL, NULL, NULL, NULL, NULL);
:sqlstate
-- The same backend served every statement of this file: nothing crashed.
SELECT pg_backend_pid() = :backend_pid AS same_backend;
