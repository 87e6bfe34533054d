-- Cancelling training (statement_timeout: the same path as pg_cancel_backend)
-- between buffers and inside one buffer's minibatch loop, and the settings
-- pg_automl.device and pg_automl.threads.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;
SELECT pg_backend_pid() AS backend_pid \gset

-- 24 buffers of 250 rows; and all 6000 rows in a single buffer.
SELECT rows, buffers FROM automl_prepare('fm_train', 'it_train', 'label', 'image', 250, 2);
SELECT rows, buffers FROM automl_prepare('fm_train', 'it_one', 'label', 'image', 6000, 1);
SELECT name FROM automl_add_model('it_mlp', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 32}, {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}');
-- Wide enough that 6000 steps of one row take tens of seconds.
SELECT name FROM automl_add_model('it_wide', '{"input_shape": [784], "layers": [
    {"type": "Linear", "out_features": 1024}, {"type": "ReLU"}, {"type": "Linear", "out_features": 1024}, {"type": "ReLU"},
    {"type": "Linear", "out_features": 10}]}');
CREATE TABLE it_model AS
SELECT name, spec, automl_init_state(spec, '{"batch_size": 1}', 'classification', 0) AS state
  FROM automl_model_arch WHERE name IN ('it_mlp', 'it_wide');
SELECT count(*) AS fits_before FROM automl_fits \gset

------------------------------------------------------------------------------
-- Cancel between buffers
------------------------------------------------------------------------------

-- The training aggregate over the 24 buffers, 1000 times (minutes of work).
SET statement_timeout = '300ms';
SELECT (automl_train(t.buffer, m.state, m.spec, '{"batch_size": 1}')).rows
  FROM generate_series(1, 1000) g, it_train t, it_model m WHERE m.name = 'it_mlp';
:sqlstate
RESET statement_timeout;
SELECT 1 AS alive;
-- automl_train_pass (one pass over the table per call, 1000 calls) too.
SET statement_timeout = '300ms';
SELECT (automl_train_pass('it_train', NULL, m.state, m.spec, '{"batch_size": 1}')).rows
  FROM generate_series(1, 1000) g, it_model m WHERE m.name = 'it_mlp';
:sqlstate
RESET statement_timeout;
SELECT 1 AS alive;
-- automl_fit with many epochs: cancelled, and it records nothing.
SET statement_timeout = '300ms';
SELECT count(*) FROM automl_fit('it_train', 'it_mlp', '{}', 10000, 'it_train');
:sqlstate
RESET statement_timeout;
SELECT count(*) - :fits_before AS new_fits FROM automl_fits;

------------------------------------------------------------------------------
-- Cancel inside one buffer
------------------------------------------------------------------------------

-- One buffer of 6000 rows with batch_size 1 is 6000 optimizer steps of a
-- wide model in a single call of the aggregate's transition function (tens
-- of seconds).  The interrupt is checked between minibatches, so the cancel
-- lands within one step, long before the buffer is done.
SELECT clock_timestamp() AS started \gset
SET statement_timeout = '300ms';
SELECT (automl_train(t.buffer, m.state, m.spec, '{"batch_size": 1}')).steps
  FROM it_one t, it_model m WHERE m.name = 'it_wide';
:sqlstate
RESET statement_timeout;
SELECT clock_timestamp() - :'started'::timestamptz < interval '10 s' AS cancelled_within_the_buffer;
-- The same for evaluation and prediction, which check between buffers.
SET statement_timeout = '300ms';
SELECT (automl_eval(t.buffer, m.state, m.spec, '{"batch_size": 1}', 1)).rows
  FROM generate_series(1, 100000) g, it_train t, it_model m WHERE m.name = 'it_wide';
:sqlstate
SELECT count(*)
  FROM generate_series(1, 100000) g, it_train t, it_model m,
       automl_predict_buffer(m.state, m.spec, '{"batch_size": 1}', t.buffer) p
 WHERE m.name = 'it_wide';
:sqlstate
RESET statement_timeout;

------------------------------------------------------------------------------
-- pg_cancel_backend from another session (dblink opens the training one)
------------------------------------------------------------------------------

CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('trainer', format('host=%s port=%s dbname=%s user=%s', host(inet_server_addr()),
                      current_setting('port'), current_database(), current_user)) AS connected;
SELECT dblink_exec('trainer', 'SET client_min_messages = warning') AS set;
SELECT dblink_send_query('trainer', $q$SELECT (automl_train(t.buffer, m.state, m.spec, '{"batch_size": 1}')).steps
                                         FROM it_one t, it_model m WHERE m.name = 'it_wide'$q$) AS sent;
-- Wait (at most 30 s) until the other session is inside the training call.
DO $$
BEGIN
  FOR i IN 1 .. 300 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity
                       WHERE state = 'active' AND query LIKE 'SELECT (automl_train(t.buffer%' AND pid <> pg_backend_pid());
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT pg_sleep(0.5);
SELECT clock_timestamp() AS cancelled_at \gset
SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity
 WHERE state = 'active' AND query LIKE 'SELECT (automl_train(t.buffer%' AND pid <> pg_backend_pid();
-- The training call ends with the cancel error, within a few minibatches
-- (the whole buffer takes tens of seconds).
SELECT count(*) AS result_rows FROM dblink_get_result('trainer', false) AS r(steps bigint);
SELECT dblink_error_message('trainer') LIKE '%canceling statement due to user request%' AS cancelled_by_user,
       clock_timestamp() - :'cancelled_at'::timestamptz < interval '5 s' AS stopped_promptly;
-- (dblink wants one more call to finish the asynchronous query.)
SELECT count(*) AS no_more_rows FROM dblink_get_result('trainer', false) AS r(steps bigint);
-- The same session trains again.
SELECT * FROM dblink('trainer', $q$SELECT (automl_train(t.buffer, m.state, m.spec, '{}')).rows
                                    FROM it_train t, it_model m WHERE m.name = 'it_mlp'$q$) AS r(rows bigint);
SELECT dblink_disconnect('trainer') AS disconnected;

------------------------------------------------------------------------------
-- The backend is fine and trains again
------------------------------------------------------------------------------

SELECT pg_backend_pid() = :backend_pid AS same_backend;
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned FROM automl_fit('it_train', 'it_mlp', '{}', 2, 'it_train');
SELECT (automl_train(t.buffer, m.state, m.spec, '{"batch_size": 1}' ORDER BY t.buffer_id)).steps
  FROM it_train t, it_model m WHERE m.name = 'it_mlp' AND t.buffer_id < 2 GROUP BY ();

------------------------------------------------------------------------------
-- pg_automl.device
------------------------------------------------------------------------------

SHOW pg_automl.device;
SET pg_automl.device = 'gpu';
:sqlstate
SET pg_automl.device = '';
:sqlstate
SET pg_automl.device = 'cuda:1234';
:sqlstate
SET pg_automl.device = 'cuda:-1';
:sqlstate
SHOW pg_automl.device;
-- "cuda" and "cuda:N" are valid settings; the build's libtorch decides
-- whether they can be served.  This build (Debian's libtorch) has no CUDA, so
-- training, evaluation and prediction refuse with feature_not_supported.
SET pg_automl.device = 'cuda';
SHOW pg_automl.device;
SELECT count(*) FROM automl_fit('it_train', 'it_mlp', '{}', 1);
:sqlstate
SELECT (automl_train(t.buffer, m.state, m.spec, '{"batch_size": 1}')).rows FROM it_train t, it_model m WHERE m.name = 'it_mlp';
:sqlstate
SELECT automl_init_state(spec, '{}', 'classification', 0) IS NOT NULL FROM it_model WHERE name = 'it_mlp';
:sqlstate
SELECT count(*) FROM automl_evaluate((SELECT max(fit_id) FROM automl_fits), 'it_train');
:sqlstate
SELECT count(*) FROM automl_predict((SELECT max(fit_id) FROM automl_fits), 'it_train');
:sqlstate
SET pg_automl.device = 'cuda:0';
SELECT (automl_train(t.buffer, m.state, m.spec, '{"batch_size": 1}')).rows FROM it_train t, it_model m WHERE m.name = 'it_mlp';
:sqlstate
-- SET LOCAL overrides it for one transaction only.
BEGIN;
SET LOCAL pg_automl.device = 'cpu';
SELECT count(*) AS rows FROM automl_predict((SELECT max(fit_id) FROM automl_fits), 'it_train');
COMMIT;
SHOW pg_automl.device;
RESET pg_automl.device;
SHOW pg_automl.device;
SELECT count(*) AS rows FROM automl_predict((SELECT max(fit_id) FROM automl_fits), 'it_train');

------------------------------------------------------------------------------
-- pg_automl.threads, and the reserved prefix
------------------------------------------------------------------------------

SHOW pg_automl.threads;
SET pg_automl.threads = 0;
:sqlstate
SET pg_automl.threads = 1025;
:sqlstate
-- More threads than the machine has cores only oversubscribe it: refused
-- for every role (the detail names the machine's core count).
\set VERBOSITY terse
SET pg_automl.threads = 1000;
:sqlstate
\set VERBOSITY default
SET pg_automl.threads = 'many';
:sqlstate
SET pg_automl.threads = 2;
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned FROM automl_fit('it_train', 'it_mlp', '{}', 1, 'it_train');
SET pg_automl.threads = 1;
SELECT count(*) AS epochs FROM automl_fit('it_train', 'it_mlp', '{}', 1);
RESET pg_automl.threads;
-- pg_automl.buffer_cache_mb: 0 disables the cache of packed buffers.
SHOW pg_automl.buffer_cache_mb;
SET pg_automl.buffer_cache_mb = -1;
:sqlstate
SET pg_automl.buffer_cache_mb = 0;
SELECT count(*) AS epochs, bool_and(val_accuracy > 0.6) AS learned FROM automl_fit('it_train', 'it_mlp', '{}', 1, 'it_train');
SELECT count(*) AS cached_tables FROM automl_buffer_cache();
-- What the cache holds, per table.  A full cache keeps its buffers, but not
-- those of a table dropped since: the next table gets the room.
SET pg_automl.buffer_cache_mb = 12;
SELECT rows, buffers FROM automl_prepare('fm_train', 'it_cache_a', 'label', 'image', 250, 1);
SELECT rows, buffers FROM automl_prepare('fm_train', 'it_cache_b', 'label', 'image', 250, 1);
SELECT (automl_train_pass('it_cache_a', NULL, state, spec, '{}')).rows FROM it_model WHERE name = 'it_mlp';
SELECT relation, buffers, bytes <= 12 * 1024 * 1024 AS within_limit FROM automl_buffer_cache();
SELECT (automl_train_pass('it_cache_b', NULL, state, spec, '{}')).rows FROM it_model WHERE name = 'it_mlp';
SELECT relation, buffers FROM automl_buffer_cache();
DROP TABLE it_cache_a;
SELECT (automl_train_pass('it_cache_b', NULL, state, spec, '{}')).rows FROM it_model WHERE name = 'it_mlp';
SELECT relation, buffers, bytes <= 12 * 1024 * 1024 AS within_limit FROM automl_buffer_cache();
DROP TABLE it_cache_b;
SET pg_automl.buffer_cache_mb = 0;
SELECT count(*) AS cached_tables FROM automl_buffer_cache();
SET pg_automl.buffer_cache_mb = '64MB';
SHOW pg_automl.buffer_cache_mb;
RESET pg_automl.buffer_cache_mb;
SET pg_automl.no_such_setting = 1;
:sqlstate
SELECT pg_backend_pid() = :backend_pid AS same_backend;
