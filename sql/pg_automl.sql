-- pg_automl: automated model selection for deep learning inside PostgreSQL.
-- This unversioned file is the source of truth; the build copies it to
-- pg_automl--<version>.sql.
\echo Use "CREATE EXTENSION pg_automl" to load this file. \quit

------------------------------------------------------------------------------
-- Catalog
------------------------------------------------------------------------------

CREATE TABLE automl_model_arch (
    name        text PRIMARY KEY CHECK (name <> ''),
    spec        jsonb NOT NULL,           -- canonical: defaults and shapes filled in
    input_shape int[] NOT NULL,
    outputs     int NOT NULL,
    parameters  bigint NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE automl_model_arch IS 'Model architectures, added with automl_add_model()';

CREATE TABLE automl_prepared (
    output_table    regclass PRIMARY KEY,
    source_table    text NOT NULL,
    label_column    text NOT NULL,
    feature_columns text NOT NULL,
    id_column       text,
    task            text NOT NULL CHECK (task IN ('classification', 'regression')),
    classes         text[],               -- class k of the model is classes[k + 1]
    feature_shape   int[] NOT NULL,
    normalization   text NOT NULL,
    shift           real[] NOT NULL,      -- x' = (x - shift) * scale, per feature
    scale           real[] NOT NULL,
    buffer_size     int NOT NULL,
    segments        int NOT NULL,
    seed            bigint NOT NULL,
    rows            bigint NOT NULL,
    buffers         int NOT NULL,
    segment_rows    bigint[] NOT NULL,
    segment_buffers int[] NOT NULL,
    like_table      regclass,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE automl_prepared IS 'Summaries of tables packed by automl_prepare()';

CREATE TABLE automl_fits (
    fit_id           bigserial PRIMARY KEY,
    model_name       text NOT NULL REFERENCES automl_model_arch (name) ON UPDATE CASCADE,
    params           jsonb NOT NULL,
    train_table      text NOT NULL,       -- names as they were at fit time
    validation_table text,
    task             text NOT NULL,
    -- What the training data looked like, so that the model can read other
    -- data after its training table was dropped or prepared again.
    classes          text[],
    feature_shape    int[] NOT NULL,
    shift            real[] NOT NULL,
    scale            real[] NOT NULL,
    seed             bigint NOT NULL,
    epochs           int NOT NULL,
    epochs_done      int NOT NULL DEFAULT 0,
    state            bytea,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
COMMENT ON TABLE automl_fits IS 'Models trained by automl_fit(), with their final training state';

CREATE TABLE automl_fit_epochs (
    fit_id             bigint NOT NULL REFERENCES automl_fits ON DELETE CASCADE,
    epoch              int NOT NULL,
    train_loss         float8,
    train_accuracy     float8,
    val_loss           float8,
    val_accuracy       float8,
    val_top_k_accuracy float8,
    rows               bigint NOT NULL,
    seconds            float8 NOT NULL,
    PRIMARY KEY (fit_id, epoch)
);
COMMENT ON TABLE automl_fit_epochs IS 'Per-epoch training and validation metrics of automl_fit()';

SELECT pg_catalog.pg_extension_config_dump('automl_model_arch', '');
SELECT pg_catalog.pg_extension_config_dump('automl_prepared', '');
SELECT pg_catalog.pg_extension_config_dump('automl_fits', '');
SELECT pg_catalog.pg_extension_config_dump('automl_fit_epochs', '');
SELECT pg_catalog.pg_extension_config_dump('automl_fits_fit_id_seq', '');
GRANT SELECT ON automl_model_arch, automl_prepared, automl_fits, automl_fit_epochs TO PUBLIC;

-- A dropped prepared table takes its summary with it (its oid could be
-- reused by an unrelated table later).
CREATE FUNCTION automl_forget_dropped_tables() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- DROP EXTENSION drops the catalog too: nothing to forget then.
    IF to_regclass('@extschema@.automl_prepared') IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM @extschema@.automl_prepared p
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = p.output_table::oid;
END $$;
CREATE EVENT TRIGGER automl_forget_dropped_tables ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION automl_forget_dropped_tables();

CREATE TYPE automl_train_result AS (state bytea, loss float8, accuracy float8, rows bigint, steps bigint);
CREATE TYPE automl_eval_result AS (loss float8, accuracy float8, top_k_accuracy float8, rows bigint);

------------------------------------------------------------------------------
-- C functions and aggregates
------------------------------------------------------------------------------

CREATE FUNCTION automl_spec_info(spec jsonb,
    OUT spec jsonb, OUT input_shape int[], OUT outputs int, OUT parameters bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION automl_spec_info(jsonb) IS 'Validates a model spec and returns its canonical form';

CREATE FUNCTION automl_params_canonical(params jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_params_canonical(jsonb) IS 'Validates training parameters and fills in defaults';

CREATE FUNCTION automl_feature_stats_step(internal, float8[], text) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION automl_feature_stats_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE AGGREGATE automl_feature_stats(features float8[], normalization text) (
    SFUNC = automl_feature_stats_step, STYPE = internal, FINALFUNC = automl_feature_stats_final);
COMMENT ON AGGREGATE automl_feature_stats(float8[], text) IS 'Normalisation statistics of feature arrays';

CREATE FUNCTION automl_pack_step(internal, float8[], float8, int8, real[], real[], text) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION automl_pack_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE AGGREGATE automl_pack(features float8[], label float8, id int8, shift real[], scale real[], label_kind text) (
    SFUNC = automl_pack_step, STYPE = internal, FINALFUNC = automl_pack_final);
COMMENT ON AGGREGATE automl_pack(float8[], float8, int8, real[], real[], text) IS 'Packs rows into one minibatch buffer';

CREATE FUNCTION automl_init_state(spec jsonb, params jsonb, task text, seed bigint) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION automl_init_state(jsonb, jsonb, text, bigint) IS 'A freshly initialised training state';

CREATE FUNCTION automl_train_step(internal, bytea, bytea, jsonb, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION automl_train_final(internal) RETURNS automl_train_result
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE AGGREGATE automl_train(buffer bytea, state bytea, spec jsonb, params jsonb) (
    SFUNC = automl_train_step, STYPE = internal, FINALFUNC = automl_train_final,
    FINALFUNC_MODIFY = READ_ONLY);
COMMENT ON AGGREGATE automl_train(bytea, bytea, jsonb, jsonb) IS
    'Trains a model on packed buffers, one or more optimizer steps per buffer; feed it from an ordered subquery';

CREATE FUNCTION automl_eval_step(internal, bytea, bytea, jsonb, jsonb, int) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION automl_eval_final(internal) RETURNS automl_eval_result
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE AGGREGATE automl_eval(buffer bytea, state bytea, spec jsonb, params jsonb, top_k int) (
    SFUNC = automl_eval_step, STYPE = internal, FINALFUNC = automl_eval_final,
    FINALFUNC_MODIFY = READ_ONLY);
COMMENT ON AGGREGATE automl_eval(bytea, bytea, jsonb, jsonb, int) IS 'Loss and accuracy of a model on packed buffers';

CREATE FUNCTION automl_predict_buffer(state bytea, spec jsonb, params jsonb, buffer bytea,
    OUT row_index int, OUT id bigint, OUT class_index int, OUT probability real, OUT value real, OUT label real)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT;
COMMENT ON FUNCTION automl_predict_buffer(bytea, jsonb, jsonb, bytea) IS 'Predictions for the rows of one packed buffer';

CREATE FUNCTION automl_state_info(state bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION automl_state_info(bytea) IS 'What a training state holds: task, optimizer, counters';

CREATE FUNCTION automl_read_idx(images text, labels text, first_item int DEFAULT 0, max_items int DEFAULT NULL,
    OUT id int, OUT label int, OUT image real[])
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT;
COMMENT ON FUNCTION automl_read_idx(text, text, int, int) IS 'Rows of an IDX image/label file pair (MNIST format)';

------------------------------------------------------------------------------
-- Model catalog
------------------------------------------------------------------------------

CREATE FUNCTION automl_add_model(name text, spec jsonb, description text DEFAULT NULL,
                                 replace boolean DEFAULT false)
RETURNS automl_model_arch
LANGUAGE plpgsql AS $$
DECLARE
    info record;
    result @extschema@.automl_model_arch;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF spec IS NULL THEN
        RAISE EXCEPTION 'model spec must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    info := @extschema@.automl_spec_info(spec);
    IF replace THEN
        -- Trained states belong to the old architecture (automl_fits references it).
        IF EXISTS (SELECT 1 FROM @extschema@.automl_fits f WHERE f.model_name = automl_add_model.name) THEN
            RAISE EXCEPTION 'model "%" cannot be replaced: automl_fits holds models trained with it', name
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = 'Add the new architecture under another name, or delete those fits first.';
        END IF;
        DELETE FROM @extschema@.automl_model_arch a WHERE a.name = automl_add_model.name;
    ELSIF EXISTS (SELECT 1 FROM @extschema@.automl_model_arch a WHERE a.name = automl_add_model.name) THEN
        RAISE EXCEPTION 'model "%" already exists', name USING ERRCODE = 'duplicate_object',
            HINT = 'Pass replace => true to replace it, or choose another name.';
    END IF;
    INSERT INTO @extschema@.automl_model_arch (name, spec, input_shape, outputs, parameters, description)
    VALUES (name, info.spec, info.input_shape, info.outputs, info.parameters, description)
    RETURNING * INTO result;
    RETURN result;
END $$;
COMMENT ON FUNCTION automl_add_model(text, jsonb, text, boolean) IS 'Validates a model spec and adds it to the catalog';

------------------------------------------------------------------------------
-- Data preparation
------------------------------------------------------------------------------

-- The type of a column of a table, or an error naming the column.
CREATE FUNCTION automl_column_type(source regclass, col text) RETURNS regtype
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t regtype;
BEGIN
    SELECT a.atttypid::regtype INTO t FROM pg_attribute a
     WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF t IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, source
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN t;
END $$;

-- SQL expression that yields the features of a row as float8[]: one array
-- column, or a comma-separated list of numeric columns.
CREATE FUNCTION automl_features_expr(source regclass, features text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    cols text[];
    col text;
    t regtype;
    parts text[] := '{}';
BEGIN
    IF features IS NULL OR btrim(features) = '' THEN
        RAISE EXCEPTION 'features must name an array column or a list of numeric columns'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT array_agg(btrim(c)) INTO cols FROM unnest(string_to_array(features, ',')) c;
    IF array_length(cols, 1) = 1 THEN
        t := @extschema@.automl_column_type(source, cols[1]);
        IF t IN ('real[]'::regtype, 'double precision[]'::regtype, 'integer[]'::regtype,
                 'smallint[]'::regtype, 'bigint[]'::regtype, 'numeric[]'::regtype) THEN
            RETURN format('%I::float8[]', cols[1]);
        END IF;
    END IF;
    FOREACH col IN ARRAY cols LOOP
        t := @extschema@.automl_column_type(source, col);
        IF t NOT IN ('real'::regtype, 'double precision'::regtype, 'integer'::regtype,
                     'smallint'::regtype, 'bigint'::regtype, 'numeric'::regtype) THEN
            RAISE EXCEPTION 'column "%" of relation "%" is of type %, not a numeric type or a numeric array',
                col, source, t USING ERRCODE = 'datatype_mismatch',
                HINT = 'Features are one real[] or float8[] column, or a comma-separated list of numeric columns.';
        END IF;
        parts := parts || format('%I::float8', col);
    END LOOP;
    RETURN 'ARRAY[' || array_to_string(parts, ', ') || ']';
END $$;

CREATE FUNCTION automl_prepare(source regclass, output text, label text, features text,
                               buffer_size int DEFAULT 256, segments int DEFAULT NULL,
                               seed bigint DEFAULT 0, normalization text DEFAULT 'standard',
                               "like" regclass DEFAULT NULL, feature_shape int[] DEFAULT NULL,
                               id text DEFAULT NULL, task text DEFAULT NULL,
                               overwrite boolean DEFAULT false)
RETURNS automl_prepared
LANGUAGE plpgsql AS $$
DECLARE
    s text := '@extschema@';
    ref @extschema@.automl_prepared;
    result @extschema@.automl_prepared;
    label_type regtype;
    feat_expr text;
    label_expr text;
    id_expr text := 'NULL::int8';
    n_rows bigint;
    n_null bigint;
    n_null_ids bigint;
    n_buffers bigint;
    classes text[];
    unknown text[];
    stats jsonb;
    v_shift real[];
    v_scale real[];
    n_features int;
    out_rel regclass;
    out_name text;
    out_schema text;
    seg_rows bigint[];
    seg_buffers int[];
BEGIN
    -- Arguments
    IF source IS NULL OR output IS NULL OR label IS NULL OR features IS NULL THEN
        RAISE EXCEPTION 'source, output, label and features must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    segments := coalesce(segments, current_setting('pg_automl.segments', true)::int, 2);
    IF buffer_size IS NULL OR buffer_size < 1 OR buffer_size > 1048576 THEN
        RAISE EXCEPTION 'buffer_size must be between 1 and 1048576, not %', buffer_size
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF segments < 1 OR segments > 1024 THEN
        RAISE EXCEPTION 'segments must be between 1 and 1024, not %', segments USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF seed IS NULL THEN seed := 0; END IF;
    -- Rows are shuffled by their physical id (ctid), which views lack.
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = source) NOT IN ('r', 'p', 'm') THEN
        RAISE EXCEPTION '"%" is not a table or materialized view', source USING ERRCODE = 'wrong_object_type',
            HINT = 'Prepare a table made from it, e.g. with CREATE TABLE ... AS SELECT.';
    END IF;
    IF "like" IS NOT NULL THEN
        SELECT * INTO ref FROM @extschema@.automl_prepared p WHERE p.output_table = "like";
        IF NOT FOUND THEN
            RAISE EXCEPTION 'relation "%" was not prepared by automl_prepare()', "like"
                USING ERRCODE = 'undefined_table', HINT = 'Pass the output table of an earlier automl_prepare() call as "like".';
        END IF;
        normalization := ref.normalization;
        IF task IS NOT NULL AND task <> ref.task THEN
            RAISE EXCEPTION 'task % differs from the task % of "%"', task, ref.task, "like"
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        task := ref.task;
    ELSIF normalization IS NULL OR normalization NOT IN ('standard', 'global', 'minmax', 'none') THEN
        RAISE EXCEPTION 'unrecognized normalization "%"', normalization USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use standard, global, minmax or none.';
    END IF;

    -- Columns
    label_type := @extschema@.automl_column_type(source, label);
    feat_expr := @extschema@.automl_features_expr(source, features);
    IF id IS NOT NULL THEN
        IF @extschema@.automl_column_type(source, id) NOT IN ('integer'::regtype, 'bigint'::regtype, 'smallint'::regtype) THEN
            RAISE EXCEPTION 'id column "%" must be an integer column', id USING ERRCODE = 'datatype_mismatch';
        END IF;
        id_expr := format('%I::int8', id);
    END IF;
    IF task IS NULL THEN
        task := CASE WHEN label_type IN ('real'::regtype, 'double precision'::regtype, 'numeric'::regtype)
                     THEN 'regression' ELSE 'classification' END;
    ELSIF task NOT IN ('classification', 'regression') THEN
        RAISE EXCEPTION 'unrecognized task "%"', task USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use classification or regression.';
    END IF;
    IF task = 'regression' AND label_type NOT IN ('real'::regtype, 'double precision'::regtype, 'numeric'::regtype,
                                                  'integer'::regtype, 'smallint'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'label column "%" is of type %, which cannot be a regression target', label, label_type
            USING ERRCODE = 'datatype_mismatch';
    END IF;

    -- Rows and labels
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %I IS NULL), count(*) FILTER (WHERE %s IS NULL) FROM %s',
                   label, id_expr, source)
        INTO n_rows, n_null, n_null_ids;
    IF n_rows = 0 THEN
        RAISE EXCEPTION 'relation "%" has no rows', source USING ERRCODE = 'data_exception';
    END IF;
    IF n_null > 0 THEN
        RAISE EXCEPTION 'label column "%" contains % NULL values', label, n_null
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Remove or fill those rows before preparing the table.';
    END IF;
    IF id IS NOT NULL AND n_null_ids > 0 THEN
        RAISE EXCEPTION 'id column "%" contains % NULL values', id, n_null_ids
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Predictions map rows back by id: give every row one.';
    END IF;
    IF task = 'classification' THEN
        IF "like" IS NOT NULL THEN
            classes := ref.classes;
            EXECUTE format('SELECT array_agg(DISTINCT %I::text) FROM %s WHERE NOT (%I::text = ANY ($1))', label, source, label)
                INTO unknown USING classes;
            IF unknown IS NOT NULL THEN
                RAISE EXCEPTION 'labels of "%" are not classes of "%"', source, "like"
                    USING ERRCODE = 'data_exception', DETAIL = format('Unknown labels: %s.', array_to_string(unknown[1:10], ', '));
            END IF;
        ELSE
            -- Sorted in the label's own type, so integer classes 2 < 10.
            EXECUTE format('SELECT array_agg(l::text ORDER BY l) FROM (SELECT DISTINCT %I AS l FROM %s) d', label, source)
                INTO classes;
            IF array_length(classes, 1) < 2 THEN
                RAISE EXCEPTION 'label column "%" holds only one class', label USING ERRCODE = 'data_exception',
                    HINT = 'Classification needs at least two classes.';
            END IF;
            IF array_length(classes, 1) > 100000 THEN
                RAISE EXCEPTION 'label column "%" holds % classes', label, array_length(classes, 1)
                    USING ERRCODE = 'data_exception', HINT = 'Use task => ''regression'' for a continuous label.';
            END IF;
        END IF;
        label_expr := format('(array_position($4, %I::text) - 1)::float8', label);
    ELSE
        label_expr := format('%I::float8', label);
    END IF;

    -- Features and normalisation (from this table, or reused from "like")
    IF "like" IS NOT NULL THEN
        v_shift := ref.shift;
        v_scale := ref.scale;
        n_features := array_length(v_shift, 1);
    ELSE
        EXECUTE format('SELECT %s.automl_feature_stats(%s, $1) FROM %s', s, feat_expr, source)
            INTO stats USING normalization;
        n_features := (stats->>'features')::int;
        v_shift := ARRAY(SELECT x::real FROM jsonb_array_elements_text(stats->'shift') x);
        v_scale := ARRAY(SELECT x::real FROM jsonb_array_elements_text(stats->'scale') x);
    END IF;
    IF feature_shape IS NULL AND "like" IS NULL THEN
        -- A multi-dimensional array column (an image as real[][]) gives its shape.
        EXECUTE format('SELECT array_agg(array_length(r.f, d) ORDER BY d)
                          FROM (SELECT %s AS f FROM %s LIMIT 1) r, generate_series(1, array_ndims(r.f)) d',
                       feat_expr, source) INTO feature_shape;
        IF array_length(feature_shape, 1) = 1 THEN
            feature_shape := NULL;
        END IF;
    END IF;
    IF feature_shape IS NULL THEN
        feature_shape := coalesce(ref.feature_shape, ARRAY[n_features]);
    END IF;
    IF array_ndims(feature_shape) IS DISTINCT FROM 1
       OR (SELECT bool_or(d IS NULL OR d < 1) FROM unnest(feature_shape) d)
       OR (SELECT exp(sum(ln(d))) FROM unnest(feature_shape) d)::bigint <> n_features THEN
        RAISE EXCEPTION 'feature_shape % does not hold % features', feature_shape, n_features
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give a one-dimensional array of positive sizes whose product is the number of features.';
    END IF;

    -- Buffers: balanced sizes, spread round-robin over the segments
    n_buffers := (n_rows + buffer_size - 1) / buffer_size;
    IF segments > n_buffers THEN
        RAISE EXCEPTION 'cannot spread % buffers over % segments', n_buffers, segments
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The table has %s rows and buffer_size is %s.', n_rows, buffer_size),
                  HINT = 'Use fewer segments or a smaller buffer_size.';
    END IF;

    -- Output: one LIST partition per segment
    out_rel := to_regclass(output);
    IF out_rel IS NOT NULL THEN
        IF NOT overwrite THEN
            RAISE EXCEPTION 'relation "%" already exists', output USING ERRCODE = 'duplicate_table',
                HINT = 'Pass overwrite => true to replace it.';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM @extschema@.automl_prepared p WHERE p.output_table = out_rel) THEN
            RAISE EXCEPTION 'relation "%" was not written by automl_prepare(); it will not be overwritten', output
                USING ERRCODE = 'duplicate_table';
        END IF;
        DELETE FROM @extschema@.automl_prepared p WHERE p.output_table = out_rel;
        EXECUTE format('DROP TABLE %s', out_rel);
    END IF;
    EXECUTE format('CREATE TABLE %s (segment_id int NOT NULL, buffer_id int NOT NULL, rows int NOT NULL,
                    buffer bytea NOT NULL, PRIMARY KEY (segment_id, buffer_id)) PARTITION BY LIST (segment_id)', output);
    out_rel := output::regclass;
    SELECT c.relname, n.nspname INTO out_name, out_schema
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = out_rel;
    FOR k IN 0 .. segments - 1 LOOP
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES IN (%s)',
                       out_schema, left(out_name, 50) || '_seg' || k, out_rel, k);
    END LOOP;
    -- Buffers are float data that pglz barely compresses: store them
    -- uncompressed so that reading one costs no decompression.
    EXECUTE format('ALTER TABLE %s ALTER COLUMN buffer SET STORAGE EXTERNAL', out_rel);

    -- Shuffle with the seed (hash of the physical row id), pack, write.
    IF pg_size_bytes(current_setting('work_mem')) < pg_size_bytes('256MB') THEN
        PERFORM set_config('work_mem', '256MB', true);
    END IF;
    EXECUTE format($q$
        INSERT INTO %1$s (segment_id, buffer_id, rows, buffer)
        SELECT (b %% %2$s)::int, b::int, count(*)::int,
               %3$s.automl_pack(f, l, i, $1, $2, $3 ORDER BY rn)
          FROM (SELECT rn, (rn * %4$s) / %5$s AS b, f, l, i
                  FROM (SELECT row_number() OVER (ORDER BY hashtextextended(ctid::text, %6$s), ctid) - 1 AS rn,
                               %7$s AS f, %8$s AS l, %9$s AS i
                          FROM %10$s) numbered) bucketed
         GROUP BY b$q$,
        out_rel, segments, s, n_buffers, n_rows, seed, feat_expr, label_expr, id_expr, source)
    USING v_shift, v_scale, CASE WHEN task = 'regression' THEN 'target' ELSE 'class' END, classes;

    EXECUTE format('SELECT array_agg(r ORDER BY k), array_agg(b ORDER BY k)
                      FROM (SELECT segment_id k, sum(rows)::bigint r, count(*)::int b FROM %s GROUP BY 1) g', out_rel)
        INTO seg_rows, seg_buffers;

    INSERT INTO @extschema@.automl_prepared
        (output_table, source_table, label_column, feature_columns, id_column, task, classes, feature_shape,
         normalization, shift, scale, buffer_size, segments, seed, rows, buffers, segment_rows, segment_buffers,
         like_table)
    VALUES (out_rel, source::text, label, features, id, task, classes, feature_shape, normalization,
            v_shift, v_scale, buffer_size, segments, seed, n_rows, n_buffers, seg_rows, seg_buffers, "like")
    RETURNING * INTO result;
    RETURN result;
END $$;
COMMENT ON FUNCTION automl_prepare(regclass, text, text, text, int, int, bigint, text, regclass, int[], text, text, boolean) IS
    'Shuffles a table with a seed and packs it into minibatch buffers spread over segments';

-- The summary of a prepared table, or an error with a hint.
CREATE FUNCTION automl_prepared_info(tbl text) RETURNS automl_prepared
LANGUAGE plpgsql STABLE AS $$
DECLARE
    rel regclass;
    info @extschema@.automl_prepared;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'prepared table name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    rel := to_regclass(tbl);
    IF rel IS NULL THEN
        RAISE EXCEPTION 'relation "%" does not exist', tbl USING ERRCODE = 'undefined_table';
    END IF;
    SELECT * INTO info FROM @extschema@.automl_prepared p WHERE p.output_table = rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation "%" was not prepared by automl_prepare()', tbl USING ERRCODE = 'undefined_table',
            HINT = 'Run automl_prepare() on the table first.';
    END IF;
    RETURN info;
END $$;

-- Errors unless `other` holds data a model trained on `base` can read.
CREATE FUNCTION automl_check_compatible(base automl_prepared, other automl_prepared, base_name text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    base_name := coalesce(base_name, base.output_table::text);
    IF base.task <> other.task OR base.classes IS DISTINCT FROM other.classes
       OR base.feature_shape <> other.feature_shape OR base.shift <> other.shift OR base.scale <> other.scale THEN
        RAISE EXCEPTION 'relation "%" was not prepared like "%"', other.output_table, base_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Prepare it with automl_prepare(..., "like" => %L) so that classes and normalisation match.',
                                base_name);
    END IF;
END $$;

-- Errors unless `data` holds data that the model of fit `f` can read.
CREATE FUNCTION automl_check_fit_data(f automl_fits, data automl_prepared) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    base @extschema@.automl_prepared;
BEGIN
    base.task := f.task;
    base.classes := f.classes;
    base.feature_shape := f.feature_shape;
    base.shift := f.shift;
    base.scale := f.scale;
    PERFORM @extschema@.automl_check_compatible(base, data, f.train_table);
END $$;

------------------------------------------------------------------------------
-- Training, evaluation, prediction
------------------------------------------------------------------------------

CREATE FUNCTION automl_fit(train text, model text, params jsonb DEFAULT '{}', epochs int DEFAULT 10,
                           validation text DEFAULT NULL, seed bigint DEFAULT 0, top_k int DEFAULT 5)
RETURNS TABLE (fit_id bigint, epoch int, train_loss float8, train_accuracy float8,
               val_loss float8, val_accuracy float8, val_top_k_accuracy float8, seconds float8)
LANGUAGE plpgsql AS $$
DECLARE
    s text := '@extschema@';
    tinfo @extschema@.automl_prepared;
    vinfo @extschema@.automl_prepared;
    arch @extschema@.automl_model_arch;
    canon jsonb;
    cur_state bytea;
    tr @extschema@.automl_train_result;
    ev @extschema@.automl_eval_result;
    t0 timestamptz;
    id bigint;
    expected int;
BEGIN
    IF epochs IS NULL OR epochs < 1 OR epochs > 100000 THEN
        RAISE EXCEPTION 'epochs must be between 1 and 100000, not %', epochs USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF top_k IS NULL OR top_k < 1 THEN
        RAISE EXCEPTION 'top_k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    tinfo := @extschema@.automl_prepared_info(train);
    IF model IS NULL THEN
        RAISE EXCEPTION 'model name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO arch FROM @extschema@.automl_model_arch a WHERE a.name = model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model USING ERRCODE = 'undefined_object',
            HINT = 'Add it with automl_add_model().';
    END IF;
    canon := @extschema@.automl_params_canonical(coalesce(params, '{}'));
    IF validation IS NOT NULL THEN
        vinfo := @extschema@.automl_prepared_info(validation);
        PERFORM @extschema@.automl_check_compatible(tinfo, vinfo);
    END IF;
    IF (SELECT exp(sum(ln(d))) FROM unnest(arch.input_shape) d)::bigint
       <> (SELECT exp(sum(ln(d))) FROM unnest(tinfo.feature_shape) d)::bigint THEN
        RAISE EXCEPTION 'model "%" takes input of shape %, but "%" holds features of shape %',
            model, arch.input_shape, train, tinfo.feature_shape USING ERRCODE = 'invalid_parameter_value';
    END IF;
    expected := CASE WHEN tinfo.task = 'classification' THEN array_length(tinfo.classes, 1) ELSE 1 END;
    IF arch.outputs <> expected THEN
        RAISE EXCEPTION 'model "%" has % outputs, but "%" needs %', model, arch.outputs, train, expected
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN tinfo.task = 'classification'
                              THEN format('The table has %s classes: end the model with a Linear layer of %s outputs.', expected, expected)
                              ELSE 'A regression model ends with a Linear layer of 1 output.' END;
    END IF;

    INSERT INTO @extschema@.automl_fits (model_name, params, train_table, validation_table, task, classes,
                                         feature_shape, shift, scale, seed, epochs)
    VALUES (model, canon, tinfo.output_table::text, vinfo.output_table::text, tinfo.task, tinfo.classes,
            tinfo.feature_shape, tinfo.shift, tinfo.scale, coalesce(seed, 0), epochs)
    RETURNING automl_fits.fit_id INTO id;
    cur_state := @extschema@.automl_init_state(arch.spec, canon, tinfo.task, coalesce(seed, 0));

    FOR e IN 1 .. epochs LOOP
        t0 := clock_timestamp();
        -- Buffers arrive in a fixed order from an ordered subquery, not from
        -- the aggregate's own ORDER BY: that would copy the state argument
        -- into every sorted row.
        EXECUTE format('SELECT (r).* FROM (SELECT %s.automl_train(buffer, $1, $2, $3) r
                          FROM (SELECT buffer FROM %s ORDER BY segment_id, buffer_id) b) s',
                       s, tinfo.output_table)
            INTO tr USING cur_state, arch.spec, canon;
        cur_state := tr.state;
        ev := NULL;
        IF validation IS NOT NULL THEN
            EXECUTE format('SELECT (r).* FROM (SELECT %s.automl_eval(buffer, $1, $2, $3, $4) r FROM %s) s', s, vinfo.output_table)
                INTO ev USING cur_state, arch.spec, canon, top_k;
        END IF;
        fit_id := id;
        epoch := e;
        train_loss := tr.loss;
        train_accuracy := tr.accuracy;
        val_loss := ev.loss;
        val_accuracy := ev.accuracy;
        val_top_k_accuracy := ev.top_k_accuracy;
        seconds := extract(epoch FROM clock_timestamp() - t0);
        INSERT INTO @extschema@.automl_fit_epochs VALUES
            (id, e, train_loss, train_accuracy, val_loss, val_accuracy, val_top_k_accuracy, tr.rows, seconds);
        UPDATE @extschema@.automl_fits f SET state = cur_state, epochs_done = e WHERE f.fit_id = id;
        RAISE NOTICE 'fit %: epoch %/%: train loss %, train accuracy %, validation accuracy %, % s',
            id, e, epochs, round(train_loss::numeric, 4), round(train_accuracy::numeric, 4),
            coalesce(round(val_accuracy::numeric, 4)::text, '-'), round(seconds::numeric, 2);
        RETURN NEXT;
    END LOOP;
    UPDATE @extschema@.automl_fits f SET finished_at = clock_timestamp() WHERE f.fit_id = id;
END $$;
COMMENT ON FUNCTION automl_fit(text, text, jsonb, int, text, bigint, int) IS
    'Trains one model on a prepared table inside the database, recording per-epoch metrics';

-- The fit row with its state, or an error.
CREATE FUNCTION automl_fit_info(fit bigint) RETURNS automl_fits
LANGUAGE plpgsql STABLE AS $$
DECLARE
    f @extschema@.automl_fits;
BEGIN
    IF fit IS NULL THEN
        RAISE EXCEPTION 'fit id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO f FROM @extschema@.automl_fits x WHERE x.fit_id = fit;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fit % does not exist', fit USING ERRCODE = 'undefined_object',
            HINT = 'See the table automl_fits.';
    END IF;
    IF f.state IS NULL THEN
        RAISE EXCEPTION 'fit % has no trained state', fit USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN f;
END $$;

CREATE FUNCTION automl_evaluate(fit_id bigint, data text, top_k int DEFAULT 5)
RETURNS TABLE (loss float8, accuracy float8, top_k_accuracy float8, rows bigint)
LANGUAGE plpgsql AS $$
DECLARE
    f @extschema@.automl_fits;
    dinfo @extschema@.automl_prepared;
    ev @extschema@.automl_eval_result;
BEGIN
    IF top_k IS NULL OR top_k < 1 THEN
        RAISE EXCEPTION 'top_k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    f := @extschema@.automl_fit_info(fit_id);
    dinfo := @extschema@.automl_prepared_info(data);
    PERFORM @extschema@.automl_check_fit_data(f, dinfo);
    EXECUTE format('SELECT (r).* FROM (SELECT %s.automl_eval(buffer, $1, (SELECT spec FROM %s.automl_model_arch WHERE name = $2), $3, $4) r FROM %s) s',
                   '@extschema@', '@extschema@', dinfo.output_table)
        INTO ev USING f.state, f.model_name, f.params, top_k;
    RETURN QUERY SELECT ev.loss, ev.accuracy, ev.top_k_accuracy, ev.rows;
END $$;
COMMENT ON FUNCTION automl_evaluate(bigint, text, int) IS 'Loss, accuracy and top-k accuracy of a fitted model on a prepared table';

CREATE FUNCTION automl_predict(fit_id bigint, data text)
RETURNS TABLE (id bigint, segment_id int, buffer_id int, row_index int, predicted text, probability real, actual text)
LANGUAGE plpgsql AS $$
DECLARE
    f @extschema@.automl_fits;
    dinfo @extschema@.automl_prepared;
BEGIN
    f := @extschema@.automl_fit_info(fit_id);
    dinfo := @extschema@.automl_prepared_info(data);
    PERFORM @extschema@.automl_check_fit_data(f, dinfo);
    RETURN QUERY EXECUTE format($q$
        SELECT p.id, t.segment_id, t.buffer_id, p.row_index,
               CASE WHEN $4 IS NULL THEN p.value::text ELSE $4[p.class_index + 1] END,
               p.probability,
               CASE WHEN $4 IS NULL THEN p.label::text ELSE $4[p.label::int + 1] END
          FROM %s t,
               LATERAL %s.automl_predict_buffer($1, (SELECT spec FROM %s.automl_model_arch WHERE name = $2), $3, t.buffer) p
         ORDER BY t.segment_id, t.buffer_id, p.row_index$q$,
        dinfo.output_table, '@extschema@', '@extschema@')
    USING f.state, f.model_name, f.params, dinfo.classes;
END $$;
COMMENT ON FUNCTION automl_predict(bigint, text) IS
    'Per-row predicted class (or value) and probability of a fitted model on a prepared table; one forward pass per buffer';

------------------------------------------------------------------------------
-- Data loading
------------------------------------------------------------------------------

CREATE FUNCTION automl_load_idx(table_name text, images text, labels text,
                                first_item int DEFAULT 0, max_items int DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF table_name IS NULL OR table_name = '' THEN
        RAISE EXCEPTION 'table_name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('CREATE TABLE %s AS SELECT * FROM %s.automl_read_idx($1, $2, $3, $4)', table_name, '@extschema@')
        USING images, labels, first_item, max_items;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (id)', table_name);
    RETURN n;
END $$;
COMMENT ON FUNCTION automl_load_idx(text, text, text, int, int) IS
    'Creates a table (id, label, image real[]) from an IDX image/label file pair';

-- Fashion-MNIST as three tables: <prefix>_train, <prefix>_validation (the
-- last validation_rows of the training file) and <prefix>_test.
CREATE FUNCTION automl_load_fashion_mnist(prefix text DEFAULT 'fashion', validation_rows int DEFAULT 10000,
                                          train_rows int DEFAULT NULL, test_rows int DEFAULT NULL,
                                          directory text DEFAULT '/usr/share/datasets/fashion-mnist')
RETURNS TABLE (table_name text, rows bigint)
LANGUAGE plpgsql AS $$
DECLARE
    d text := rtrim(directory, '/') || '/';
    n_train int;
BEGIN
    IF validation_rows IS NULL OR validation_rows < 0 OR validation_rows >= 60000 THEN
        RAISE EXCEPTION 'validation_rows must be between 0 and 59999' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    n_train := least(coalesce(train_rows, 60000 - validation_rows), 60000 - validation_rows);
    table_name := prefix || '_train';
    rows := @extschema@.automl_load_idx(table_name, d || 'train-images-idx3-ubyte.gz', d || 'train-labels-idx1-ubyte.gz', 0, n_train);
    RETURN NEXT;
    IF validation_rows > 0 THEN
        table_name := prefix || '_validation';
        rows := @extschema@.automl_load_idx(table_name, d || 'train-images-idx3-ubyte.gz', d || 'train-labels-idx1-ubyte.gz',
                                           60000 - validation_rows, validation_rows);
        RETURN NEXT;
    END IF;
    table_name := prefix || '_test';
    rows := @extschema@.automl_load_idx(table_name, d || 't10k-images-idx3-ubyte.gz', d || 't10k-labels-idx1-ubyte.gz', 0, test_rows);
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION automl_load_fashion_mnist(text, int, int, int, text) IS
    'Loads Fashion-MNIST (Debian package dataset-fashion-mnist) into train, validation and test tables';
