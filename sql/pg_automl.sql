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
    created_at  timestamptz NOT NULL DEFAULT now(),
    owner       regrole NOT NULL DEFAULT current_user::regrole  -- see "Row ownership" below
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
    created_at      timestamptz NOT NULL DEFAULT now(),
    owner           regrole NOT NULL DEFAULT current_user::regrole
);
COMMENT ON TABLE automl_prepared IS 'Summaries of tables packed by automl_prepare()';

CREATE TABLE automl_fits (
    fit_id           bigserial PRIMARY KEY,
    model_name       text NOT NULL REFERENCES automl_model_arch (name) ON UPDATE CASCADE,
    params           jsonb NOT NULL,
    train_table      text NOT NULL,       -- names as they were at fit time
    train_relid      regclass,            -- the training table while it exists (who may read the fit)
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
    finished_at      timestamptz,
    owner            regrole NOT NULL DEFAULT current_user::regrole,
    -- Rows that belong to a fit have its owner (see "Row ownership").
    UNIQUE (fit_id, owner)
);
-- States are float data that pglz barely compresses: trying costs ~10 ms
-- per MB at every write.
ALTER TABLE automl_fits ALTER COLUMN state SET STORAGE EXTERNAL;
-- A run supersedes a state at every hop (automl_trials) and every epoch
-- (here): autovacuum comes for them after ~10 MB of dead 2 kB chunks, not
-- after a fifth of all the states kept.
ALTER TABLE automl_fits SET (toast.autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 5000);
COMMENT ON TABLE automl_fits IS 'Models trained by automl_fit(), with their final training state';

CREATE TABLE automl_fit_epochs (
    fit_id             bigint NOT NULL,
    epoch              int NOT NULL,
    train_loss         float8,
    train_accuracy     float8,
    val_loss           float8,
    val_accuracy       float8,
    val_top_k_accuracy float8,
    rows               bigint NOT NULL,
    seconds            float8 NOT NULL,
    owner              regrole NOT NULL DEFAULT current_user::regrole,
    PRIMARY KEY (fit_id, epoch),
    FOREIGN KEY (fit_id, owner) REFERENCES automl_fits (fit_id, owner) ON DELETE CASCADE
);
COMMENT ON TABLE automl_fit_epochs IS 'Per-epoch training and validation metrics of automl_fit()';

SELECT pg_catalog.pg_extension_config_dump('automl_model_arch', '');
SELECT pg_catalog.pg_extension_config_dump('automl_prepared', '');
SELECT pg_catalog.pg_extension_config_dump('automl_fits', '');
SELECT pg_catalog.pg_extension_config_dump('automl_fit_epochs', '');
SELECT pg_catalog.pg_extension_config_dump('automl_fits_fit_id_seq', '');
GRANT SELECT ON automl_model_arch, automl_prepared, automl_fits, automl_fit_epochs TO PUBLIC;

-- A dropped prepared table takes its summary with it (its oid could be
-- reused by an unrelated table later).  Event triggers run as the role
-- whose command fired them, which may not touch automl_prepared: the
-- function runs as the extension's owner instead, and deletes only the
-- summaries of the tables that the command dropped.
CREATE FUNCTION automl_forget_dropped_tables() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- DROP EXTENSION drops the catalog too: nothing to forget then.
    IF to_regclass('@extschema@.automl_prepared') IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM @extschema@.automl_prepared p
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
       AND d.objid = p.output_table::pg_catalog.oid;
    -- Fits and runs keep their tables' names, and forget their OIDs (which
    -- a new table could take, and give its readers the old table's models).
    UPDATE @extschema@.automl_fits f SET train_relid = NULL
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid AND d.objid = f.train_relid::pg_catalog.oid;
    UPDATE @extschema@.automl_runs r SET train_relid = NULL
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid AND d.objid = r.train_relid::pg_catalog.oid;
END $$;
-- (every command that drops objects: a table also goes with a cascade
-- from DROP TYPE, DROP EXTENSION, ...)
CREATE EVENT TRIGGER automl_forget_dropped_tables ON sql_drop
    EXECUTE FUNCTION automl_forget_dropped_tables();

CREATE TYPE automl_train_result AS (state bytea, loss float8, accuracy float8, rows bigint, steps bigint,
                                    step_seconds float8);
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

CREATE FUNCTION automl_train_pass(data regclass, segment int, state bytea, spec jsonb, params jsonb)
    RETURNS automl_train_result
    AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION automl_train_pass(regclass, int, bytea, jsonb, jsonb) IS
    'Trains a model as automl_train does on the buffers of a prepared table in order: one segment''s shard, or all (segment NULL)';

CREATE FUNCTION automl_eval_step(internal, bytea, bytea, jsonb, jsonb, int) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION automl_eval_final(internal) RETURNS automl_eval_result
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE AGGREGATE automl_eval(buffer bytea, state bytea, spec jsonb, params jsonb, top_k int) (
    SFUNC = automl_eval_step, STYPE = internal, FINALFUNC = automl_eval_final,
    FINALFUNC_MODIFY = READ_ONLY);
COMMENT ON AGGREGATE automl_eval(bytea, bytea, jsonb, jsonb, int) IS 'Loss and accuracy of a model on packed buffers';

CREATE FUNCTION automl_eval_pass(data regclass, segments int[], state bytea, spec jsonb, params jsonb, top_k int DEFAULT 5)
    RETURNS automl_eval_result
    AS 'MODULE_PATHNAME' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION automl_eval_pass(regclass, int[], bytea, jsonb, jsonb, int) IS
    'Evaluates a model as automl_eval does on the buffers of a prepared table: those of the given segments, or all (NULL)';

CREATE FUNCTION automl_predict_buffer(state bytea, spec jsonb, params jsonb, buffer bytea,
    OUT row_index int, OUT id bigint, OUT class_index int, OUT probability real, OUT value real, OUT label real)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT;
COMMENT ON FUNCTION automl_predict_buffer(bytea, jsonb, jsonb, bytea) IS 'Predictions for the rows of one packed buffer';

CREATE FUNCTION automl_buffer_cache_entries(OUT toast_relid oid, OUT buffers bigint, OUT bytes bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION automl_buffer_cache_entries() IS 'Packed buffers this backend caches, per TOAST relation (see automl_buffer_cache())';
CREATE FUNCTION automl_buffer_cache(OUT relation regclass, OUT buffers bigint, OUT bytes bigint)
    RETURNS SETOF record
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
SELECT c.oid::pg_catalog.regclass, e.buffers, e.bytes
  FROM @extschema@.automl_buffer_cache_entries() e LEFT JOIN pg_catalog.pg_class c ON c.reltoastrelid = e.toast_relid
 ORDER BY 1 $$;
COMMENT ON FUNCTION automl_buffer_cache() IS 'Packed buffers this backend caches (pg_automl.buffer_cache_mb), per table';

CREATE FUNCTION automl_state_info(state bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION automl_state_info(bytea) IS 'What a training state holds: task, optimizer, counters';

CREATE FUNCTION automl_read_idx(images text, labels text, first_item int DEFAULT 0, max_items int DEFAULT NULL,
    OUT id int, OUT label int, OUT image real[])
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT;
COMMENT ON FUNCTION automl_read_idx(text, text, int, int) IS 'Rows of an IDX image/label file pair (MNIST format)';

CREATE FUNCTION automl_resolve_table(name text, for_create boolean DEFAULT false) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION automl_resolve_table(text, boolean) IS
    'A table name as the current search_path reads it (for_create: where CREATE TABLE would put it), schema-qualified';

------------------------------------------------------------------------------
-- Model catalog
------------------------------------------------------------------------------

CREATE FUNCTION automl_add_model(name text, spec jsonb, description text DEFAULT NULL,
                                 replace boolean DEFAULT false)
RETURNS automl_model_arch
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    info record;
    result @extschema@.automl_model_arch;
    old_owner regrole;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF spec IS NULL THEN
        RAISE EXCEPTION 'model spec must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    info := @extschema@.automl_spec_info(spec);
    -- (architectures are visible to all, and written by their owners only)
    SELECT a.owner INTO old_owner FROM @extschema@.automl_model_arch a WHERE a.name = automl_add_model.name;
    IF replace AND old_owner IS NOT NULL AND NOT pg_has_role(old_owner::oid, 'USAGE') THEN
        RAISE EXCEPTION 'model "%" belongs to role %, and only its owner may replace it', name, old_owner
            USING ERRCODE = 'insufficient_privilege', HINT = 'Add your architecture under another name.';
    ELSIF replace THEN
        -- Trained states belong to the old architecture (automl_fits
        -- references it), also those of fits this role cannot see.
        BEGIN
            DELETE FROM @extschema@.automl_model_arch a WHERE a.name = automl_add_model.name;
        EXCEPTION WHEN foreign_key_violation THEN
            RAISE EXCEPTION 'model "%" cannot be replaced: automl_fits holds models trained with it', name
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = 'Add the new architecture under another name, or delete those fits first.';
        END;
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

-- The number of elements of a tensor of this shape, exactly (a product of
-- ints can exceed any integer type).
CREATE FUNCTION automl_shape_elements(shape int[]) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n numeric := 1;
    d int;
BEGIN
    FOREACH d IN ARRAY shape LOOP
        n := n * d;
    END LOOP;
    RETURN n;
END $$;

-- A table name as SQL reads it ([schema.]table, double-quoted parts kept as
-- written), quoted again for format('%s'); an error for any other text.
CREATE FUNCTION automl_table_name(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    parts text[];
BEGIN
    BEGIN
        parts := pg_catalog.parse_ident(name);
    EXCEPTION WHEN invalid_parameter_value THEN
        parts := NULL;
    END;
    IF parts IS NULL OR array_length(parts, 1) > 2 THEN
        RAISE EXCEPTION 'invalid table name %', coalesce(pg_catalog.quote_literal(name), 'NULL')
            USING ERRCODE = 'invalid_name',
                  HINT = 'A table name is read as in SQL, [schema.]table: double-quote a name with spaces, capitals or other special characters, e.g. ''"My Table"''.';
    END IF;
    RETURN (SELECT string_agg(pg_catalog.quote_ident(p), '.' ORDER BY k) FROM unnest(parts) WITH ORDINALITY u(p, k));
END $$;

-- A valid table name (automl_table_name) as messages show it: "My Table",
-- not ""My Table"".
CREATE FUNCTION automl_display_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$ SELECT pg_catalog.array_to_string(pg_catalog.parse_ident(name), '.') $$;

-- The type of a column of a table, or an error naming the column.
CREATE FUNCTION automl_column_type(source regclass, col text) RETURNS regtype
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t regtype;
BEGIN
    SELECT a.atttypid::regtype INTO t FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF t IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, source
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN t;
END $$;

-- The column names of a comma-separated list, each taken as written (case
-- and inner spaces kept, outer white space trimmed); a name that holds a
-- comma or a double quote is written in double quotes, a quote in it doubled.
CREATE FUNCTION automl_split_names(list text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ws constant text := E' \t\n\r\f\v';
    names text[] := '{}';
    cur text := '';
    c text;
    i int := 1;
    n int := length(list);
    in_quotes boolean := false;
    was_quoted boolean := false;
BEGIN
    WHILE i <= n + 1 LOOP
        c := CASE WHEN i <= n THEN substr(list, i, 1) ELSE ',' END;  -- a comma ends the last name
        IF in_quotes AND i <= n THEN
            IF c <> '"' THEN
                cur := cur || c;
            ELSIF substr(list, i + 1, 1) = '"' THEN
                cur := cur || '"';
                i := i + 1;
            ELSE
                in_quotes := false;
            END IF;
        ELSIF in_quotes THEN
            RAISE EXCEPTION 'the list of column names % has an unterminated quoted name', pg_catalog.quote_literal(list)
                USING ERRCODE = 'invalid_parameter_value';
        ELSIF c = ',' THEN
            IF NOT was_quoted THEN
                cur := btrim(cur, ws);
            END IF;
            IF cur = '' THEN
                RAISE EXCEPTION 'the list of column names % has an empty name', pg_catalog.quote_literal(list)
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            names := names || cur;
            cur := '';
            was_quoted := false;
        ELSIF c = '"' AND NOT was_quoted AND btrim(cur, ws) = '' THEN
            in_quotes := true;
            was_quoted := true;
            cur := '';
        ELSIF was_quoted AND btrim(c, ws) <> '' OR c = '"' THEN
            RAISE EXCEPTION 'cannot read the list of column names %', pg_catalog.quote_literal(list)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Separate names with commas; write a name that holds a comma or a double quote in double quotes, doubling its quotes: ''x, "a,b"''.';
        ELSIF NOT was_quoted THEN
            cur := cur || c;
        END IF;
        i := i + 1;
    END LOOP;
    RETURN names;
END $$;

-- SQL expression that yields the features of a row as float8[]: one array
-- column, or a comma-separated list of numeric columns.
CREATE FUNCTION automl_features_expr(source regclass, features text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
    cols := @extschema@.automl_split_names(features);
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

-- A hint for a table that was not prepared (or whose summary is gone): one
-- with the columns automl_prepare() writes was packed by an installation of
-- pg_automl that DROP EXTENSION removed, with its summaries.
CREATE FUNCTION automl_unprepared_hint(rel regclass, otherwise text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN (SELECT count(*) FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
                         AND (a.attname, a.atttypid) IN (('segment_id', 'int4'::regtype), ('buffer_id', 'int4'::regtype),
                                                        ('rows', 'int4'::regtype), ('buffer', 'bytea'::regtype))) = 4
                THEN format('It looks like a table an earlier installation of pg_automl packed (DROP EXTENSION removed its summary): drop it (DROP TABLE %s) and run automl_prepare() again.', rel)
                ELSE otherwise END
$$;

-- automl_prepare() once `output` is schema-qualified.
CREATE FUNCTION automl_prepare_impl(source regclass, output text, label text, features text,
                                    buffer_size int, segments int, seed bigint, normalization text,
                                    "like" regclass, feature_shape int[], id text, task text, overwrite boolean)
RETURNS automl_prepared
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
    bad_feature int;
    n_features int;
    out_rel regclass;
    out_sql text;       -- output as SQL reads it, quoted
    n_bad_targets bigint;
    out_name text;
    out_schema text;
    seg_rows bigint[];
    seg_buffers int[];
BEGIN
    -- Arguments
    IF source IS NULL OR output IS NULL OR label IS NULL OR features IS NULL THEN
        RAISE EXCEPTION 'source, output, label and features must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    out_sql := @extschema@.automl_table_name(output);
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
                USING ERRCODE = 'undefined_table',
                      HINT = @extschema@.automl_unprepared_hint("like", 'Pass the output table of an earlier automl_prepare() call as "like".');
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
    -- Regression targets are packed as single-precision floats.
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %I IS NULL), count(*) FILTER (WHERE %s IS NULL),
                           count(*) FILTER (WHERE %s) FROM %s',
                   label, id_expr,
                   CASE WHEN task = 'regression' THEN format('NOT (abs(%I%s) <= 3.4028234663852886e38)', label,
                                                             CASE WHEN label_type = 'numeric'::regtype THEN '' ELSE '::float8' END)
                        ELSE 'false' END, source)
        INTO n_rows, n_null, n_null_ids, n_bad_targets;
    IF n_rows = 0 THEN
        RAISE EXCEPTION 'relation "%" has no rows', source USING ERRCODE = 'data_exception';
    END IF;
    IF n_null > 0 THEN
        RAISE EXCEPTION 'label column "%" contains % NULL values', label, n_null
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Remove or fill those rows before preparing the table.';
    END IF;
    IF n_bad_targets > 0 THEN
        RAISE EXCEPTION 'label column "%" is not a finite single-precision number in % %', label, n_bad_targets,
                CASE WHEN n_bad_targets = 1 THEN 'row' ELSE 'rows' END
            USING ERRCODE = 'data_exception',
                  DETAIL = 'Regression targets are packed as single-precision floats: NaN, infinities and magnitudes beyond 3.4e38 have no value there.',
                  HINT = 'Remove those rows, or scale the targets, e.g. by preparing from a view.';
    END IF;
    IF id IS NOT NULL AND n_null_ids > 0 THEN
        RAISE EXCEPTION 'id column "%" contains % NULL values', id, n_null_ids
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Predictions map rows back by id: give every row one.';
    END IF;
    IF task = 'classification' THEN
        IF "like" IS NOT NULL THEN
            classes := ref.classes;
            EXECUTE format('SELECT array_agg(DISTINCT %I::text) FROM %s WHERE NOT (%I = ANY ($1::%s[]))',
                           label, source, label, label_type)
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
        -- Found by equality in the label's type, not by text: 1.0 and 1.00
        -- (or -0 and 0) are one class.
        label_expr := format('(array_position($4::%s[], %I) - 1)::float8', label_type, label);
    ELSE
        -- (a numeric below float8's range would fail the cast; in single
        -- precision anything under 1.4e-45 is 0 anyway)
        label_expr := format(CASE WHEN label_type = 'numeric'::regtype THEN 'round(%I, 60)::float8' ELSE '%I::float8' END, label);
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
        -- Statistics beyond single precision (or beyond double: JSON null)
        -- come out NULL here, and name their feature below.
        v_shift := ARRAY(SELECT CASE WHEN abs(x::float8) <= 3.4e38 THEN x::real END
                           FROM jsonb_array_elements_text(stats->'shift') WITH ORDINALITY t(x, k) ORDER BY k);
        v_scale := ARRAY(SELECT CASE WHEN abs(x::float8) <= 3.4e38 THEN x::real END
                           FROM jsonb_array_elements_text(stats->'scale') WITH ORDINALITY t(x, k) ORDER BY k);
        bad_feature := coalesce(array_position(v_shift, NULL), array_position(v_scale, NULL));
        IF bad_feature IS NOT NULL THEN
            RAISE EXCEPTION '% of "%" has values too large to normalise',
                CASE WHEN normalization = 'global' THEN 'a feature' ELSE 'feature ' || bad_feature END, source
                USING ERRCODE = 'numeric_value_out_of_range',
                      HINT = 'Features are packed as single-precision floats (at most about 3.4e38): scale them down first.';
        END IF;
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
       OR @extschema@.automl_shape_elements(feature_shape) <> n_features THEN
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
    out_rel := to_regclass(out_sql);
    IF out_rel IS NOT NULL THEN
        IF NOT overwrite THEN
            RAISE EXCEPTION 'relation "%" already exists', @extschema@.automl_display_name(output) USING ERRCODE = 'duplicate_table',
                HINT = 'Pass overwrite => true to replace it.';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM @extschema@.automl_prepared p WHERE p.output_table = out_rel) THEN
            RAISE EXCEPTION 'relation "%" was not written by automl_prepare(); it will not be overwritten', @extschema@.automl_display_name(output)
                USING ERRCODE = 'duplicate_table', HINT = @extschema@.automl_unprepared_hint(out_rel, 'Choose another output name.');
        END IF;
        -- (automl_forget_dropped_tables deletes its summary)
        EXECUTE format('DROP TABLE %s', out_rel);
    END IF;
    EXECUTE format('CREATE TABLE %s (segment_id int NOT NULL, buffer_id int NOT NULL, rows int NOT NULL,
                    buffer bytea NOT NULL, PRIMARY KEY (segment_id, buffer_id)) PARTITION BY LIST (segment_id)', out_sql);
    out_rel := out_sql::regclass;
    SELECT c.relname, n.nspname INTO out_name, out_schema
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = out_rel;
    -- Segment processes read it from their own sessions.
    IF out_schema LIKE 'pg\_temp\_%' THEN
        RAISE EXCEPTION 'automl_prepare() cannot write a temporary table' USING ERRCODE = 'feature_not_supported',
            HINT = 'Write it to a regular table: model hopper runs read it from other sessions; drop it when done.';
    END IF;
    -- Partitions are named after the table; a long name is cut, and made
    -- unique with a hash of the whole name.
    IF length(out_name) > 50 THEN
        out_name := left(out_name, 41) || '_' || left(md5(out_name), 8);
    END IF;
    FOR k IN 0 .. segments - 1 LOOP
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES IN (%s)',
                       out_schema, out_name || '_seg' || k, out_rel, k);
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
-- The user-facing functions that take table names as text are thin SQL
-- wrappers: they run with the caller's search_path, so that names mean what
-- they mean to the caller, name nothing unqualified themselves (no operator,
-- no function), and hand qualified names to their implementation, which
-- runs with search_path pinned like every other function of the extension.
CREATE FUNCTION automl_prepare(source regclass, output text, label text, features text,
                               buffer_size int DEFAULT 256, segments int DEFAULT NULL,
                               seed bigint DEFAULT 0, normalization text DEFAULT 'standard',
                               "like" regclass DEFAULT NULL, feature_shape int[] DEFAULT NULL,
                               id text DEFAULT NULL, task text DEFAULT NULL,
                               overwrite boolean DEFAULT false)
RETURNS automl_prepared
LANGUAGE sql AS $$
SELECT * FROM @extschema@.automl_prepare_impl(source, @extschema@.automl_resolve_table(output, true), label, features,
    buffer_size, segments, seed, normalization, "like", feature_shape, id, task, overwrite) $$;
COMMENT ON FUNCTION automl_prepare(regclass, text, text, text, int, int, bigint, text, regclass, int[], text, text, boolean) IS
    'Shuffles a table with a seed and packs it into minibatch buffers spread over segments';

-- The summary of a prepared table, or an error with a hint.
CREATE FUNCTION automl_prepared_info(tbl text) RETURNS automl_prepared
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel regclass;
    info @extschema@.automl_prepared;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'prepared table name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    rel := to_regclass(@extschema@.automl_table_name(tbl));
    IF rel IS NULL THEN
        RAISE EXCEPTION 'relation "%" does not exist', @extschema@.automl_display_name(tbl) USING ERRCODE = 'undefined_table';
    END IF;
    SELECT * INTO info FROM @extschema@.automl_prepared p WHERE p.output_table = rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation "%" was not prepared by automl_prepare()', @extschema@.automl_display_name(tbl)
            USING ERRCODE = 'undefined_table',
            HINT = @extschema@.automl_unprepared_hint(rel, 'Run automl_prepare() on the table first.');
    END IF;
    RETURN info;
END $$;

-- Which automl_prepare() call wrote a table: a run records it for both of
-- its tables, and a resumed run must read the very same buffers.
CREATE FUNCTION automl_prepared_key(info automl_prepared) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN info.output_table IS NOT NULL THEN
           -- (in UTC: segments and callers may differ in TimeZone)
           jsonb_build_object('created_at', info.created_at AT TIME ZONE 'UTC', 'seed', info.seed, 'buffer_size', info.buffer_size,
                              'segments', info.segments, 'rows', info.rows) END
$$;

-- Errors unless `other` holds data a model trained on `base` can read.
CREATE FUNCTION automl_check_compatible(base automl_prepared, other automl_prepared, base_name text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
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

-- Errors unless `data` holds data that the model of fit `f` can read: the
-- classes, feature shape and normalisation it was trained with.
CREATE FUNCTION automl_check_fit_data(f automl_fits, data automl_prepared) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    why text;
    train @extschema@.automl_prepared;
BEGIN
    why := CASE WHEN f.task <> data.task THEN format('it holds %s data; the fit is a %s model', data.task, f.task)
                WHEN f.classes IS DISTINCT FROM data.classes THEN format('its classes are %s; the fit''s are %s', data.classes, f.classes)
                WHEN f.feature_shape <> data.feature_shape
                    THEN format('its features have shape %s; the fit''s have %s', data.feature_shape, f.feature_shape)
                WHEN f.shift <> data.shift OR f.scale <> data.scale
                    THEN 'it was normalised with other statistics than the fit''s training data' END;
    IF why IS NULL THEN
        RETURN;
    END IF;
    -- Whether the training table still holds the data the fit was trained on.
    SELECT * INTO train FROM @extschema@.automl_prepared p WHERE p.output_table = to_regclass(f.train_table);
    RAISE EXCEPTION 'the fit cannot read "%": %', data.output_table, why
        USING ERRCODE = 'invalid_parameter_value',
              HINT = CASE WHEN (train.task, train.classes, train.feature_shape, train.shift, train.scale)
                                   IS NOT DISTINCT FROM (f.task, f.classes, f.feature_shape, f.shift, f.scale)
                          THEN format('Prepare it with automl_prepare(..., "like" => %L) so that classes and normalisation match.',
                                      f.train_table)
                          ELSE format('Prepare it "like" a table prepared as the fit''s training data was: "%s" has been prepared again or dropped since.',
                                      f.train_table) END;
END $$;

-- Errors unless model `arch` reads the features of `data` and has as many
-- outputs as its task needs.
CREATE FUNCTION automl_check_model_data(arch automl_model_arch, data automl_prepared, data_name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    expected int;
BEGIN
    IF @extschema@.automl_shape_elements(arch.input_shape) <> @extschema@.automl_shape_elements(data.feature_shape) THEN
        RAISE EXCEPTION 'model "%" takes input of shape %, but "%" holds features of shape %',
            arch.name, arch.input_shape, data_name, data.feature_shape USING ERRCODE = 'invalid_parameter_value';
    END IF;
    expected := CASE WHEN data.task = 'classification' THEN array_length(data.classes, 1) ELSE 1 END;
    IF arch.outputs <> expected THEN
        RAISE EXCEPTION 'model "%" has % outputs, but "%" needs %', arch.name, arch.outputs, data_name, expected
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN data.task = 'classification'
                              THEN format('The table has %s classes: end the model with a Linear layer of %s outputs.', expected, expected)
                              ELSE 'A regression model ends with a Linear layer of 1 output.' END;
    END IF;
END $$;

------------------------------------------------------------------------------
-- Training, evaluation, prediction
------------------------------------------------------------------------------

-- automl_fit() once the table names are schema-qualified.
CREATE FUNCTION automl_fit_impl(train text, model text, params jsonb, epochs int, validation text, seed bigint, top_k int)
RETURNS TABLE (fit_id bigint, epoch int, train_loss float8, train_accuracy float8,
               val_loss float8, val_accuracy float8, val_top_k_accuracy float8, seconds float8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tinfo @extschema@.automl_prepared;
    vinfo @extschema@.automl_prepared;
    arch @extschema@.automl_model_arch;
    canon jsonb;
    cur_state bytea;
    tr @extschema@.automl_train_result;
    ev @extschema@.automl_eval_result;
    t0 timestamptz;
    id bigint;
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
    PERFORM @extschema@.automl_check_model_data(arch, tinfo, @extschema@.automl_display_name(train));

    INSERT INTO @extschema@.automl_fits (model_name, params, train_table, train_relid, validation_table, task, classes,
                                         feature_shape, shift, scale, seed, epochs)
    VALUES (model, canon, tinfo.output_table::text, tinfo.output_table, vinfo.output_table::text, tinfo.task, tinfo.classes,
            tinfo.feature_shape, tinfo.shift, tinfo.scale, coalesce(seed, 0), epochs)
    RETURNING automl_fits.fit_id INTO id;
    cur_state := @extschema@.automl_init_state(arch.spec, canon, tinfo.task, coalesce(seed, 0));

    FOR e IN 1 .. epochs LOOP
        t0 := clock_timestamp();
        tr := @extschema@.automl_train_pass(tinfo.output_table, NULL, cur_state, arch.spec, canon);
        cur_state := tr.state;
        ev := NULL;
        IF validation IS NOT NULL THEN
            ev := @extschema@.automl_eval_pass(vinfo.output_table, NULL, cur_state, arch.spec, canon, top_k);
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
        -- (accuracies are NULL for regression, validation without a validation table)
        RAISE NOTICE 'fit %: epoch %/%: %, % s', id, e, epochs,
            concat_ws(', ', 'train loss ' || round(train_loss::numeric, 4), 'train accuracy ' || round(train_accuracy::numeric, 4),
                      'validation loss ' || round(val_loss::numeric, 4), 'validation accuracy ' || round(val_accuracy::numeric, 4)),
            round(seconds::numeric, 2);
        RETURN NEXT;
    END LOOP;
    UPDATE @extschema@.automl_fits f SET finished_at = clock_timestamp() WHERE f.fit_id = id;
END $$;
CREATE FUNCTION automl_fit(train text, model text, params jsonb DEFAULT '{}', epochs int DEFAULT 10,
                           validation text DEFAULT NULL, seed bigint DEFAULT 0, top_k int DEFAULT 5)
RETURNS TABLE (fit_id bigint, epoch int, train_loss float8, train_accuracy float8,
               val_loss float8, val_accuracy float8, val_top_k_accuracy float8, seconds float8)
LANGUAGE sql AS $$
SELECT * FROM @extschema@.automl_fit_impl(@extschema@.automl_resolve_table(train), model, params, epochs,
                                          @extschema@.automl_resolve_table(validation), seed, top_k) $$;
COMMENT ON FUNCTION automl_fit(text, text, jsonb, int, text, bigint, int) IS
    'Trains one model on a prepared table inside the database, recording per-epoch metrics';

-- The fit row with its state, or an error.
CREATE FUNCTION automl_fit_info(fit bigint) RETURNS automl_fits
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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

-- automl_evaluate() once `data` is schema-qualified.
CREATE FUNCTION automl_evaluate_impl(fit_id bigint, data text, top_k int)
RETURNS TABLE (loss float8, accuracy float8, top_k_accuracy float8, rows bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f @extschema@.automl_fits;
    dinfo @extschema@.automl_prepared;
    ev @extschema@.automl_eval_result;
    spec jsonb;
BEGIN
    IF top_k IS NULL OR top_k < 1 THEN
        RAISE EXCEPTION 'top_k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    f := @extschema@.automl_fit_info(fit_id);
    dinfo := @extschema@.automl_prepared_info(data);
    PERFORM @extschema@.automl_check_fit_data(f, dinfo);
    spec := (SELECT a.spec FROM @extschema@.automl_model_arch a WHERE a.name = f.model_name);
    ev := @extschema@.automl_eval_pass(dinfo.output_table, NULL, f.state, spec, f.params, top_k);
    RETURN QUERY SELECT ev.loss, ev.accuracy, ev.top_k_accuracy, ev.rows;
END $$;
CREATE FUNCTION automl_evaluate(fit_id bigint, data text, top_k int DEFAULT 5)
RETURNS TABLE (loss float8, accuracy float8, top_k_accuracy float8, rows bigint)
LANGUAGE sql AS $$ SELECT * FROM @extschema@.automl_evaluate_impl(fit_id, @extschema@.automl_resolve_table(data), top_k) $$;
COMMENT ON FUNCTION automl_evaluate(bigint, text, int) IS 'Loss, accuracy and top-k accuracy of a fitted model on a prepared table';

-- automl_predict() once `data` is schema-qualified.
CREATE FUNCTION automl_predict_impl(fit_id bigint, data text)
RETURNS TABLE (id bigint, segment_id int, buffer_id int, row_index int, predicted text, probability real, actual text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
CREATE FUNCTION automl_predict(fit_id bigint, data text)
RETURNS TABLE (id bigint, segment_id int, buffer_id int, row_index int, predicted text, probability real, actual text)
LANGUAGE sql AS $$ SELECT * FROM @extschema@.automl_predict_impl(fit_id, @extschema@.automl_resolve_table(data)) $$;
COMMENT ON FUNCTION automl_predict(bigint, text) IS
    'Per-row predicted class (or value) and probability of a fitted model on a prepared table; one forward pass per buffer';

------------------------------------------------------------------------------
-- Data loading
------------------------------------------------------------------------------

-- automl_load_idx() once `table_name` is schema-qualified.
CREATE FUNCTION automl_load_idx_impl(table_name text, images text, labels text, first_item int, max_items int)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF table_name IS NULL OR table_name = '' THEN
        RAISE EXCEPTION 'table_name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    table_name := @extschema@.automl_table_name(table_name);
    EXECUTE format('CREATE TABLE %s AS SELECT * FROM %s.automl_read_idx($1, $2, $3, $4)', table_name, '@extschema@')
        USING images, labels, first_item, max_items;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (id)', table_name);
    RETURN n;
END $$;
CREATE FUNCTION automl_load_idx(table_name text, images text, labels text,
                                first_item int DEFAULT 0, max_items int DEFAULT NULL)
RETURNS bigint
LANGUAGE sql AS $$
SELECT @extschema@.automl_load_idx_impl(@extschema@.automl_resolve_table(table_name, true), images, labels,
                                        first_item, max_items) $$;
COMMENT ON FUNCTION automl_load_idx(text, text, text, int, int) IS
    'Creates a table (id, label, image real[]) from an IDX image/label file pair';

-- automl_load_fashion_mnist() into the three tables it names, schema-qualified.
CREATE FUNCTION automl_load_fashion_mnist_impl(train_table text, validation_table text, test_table text,
                                               validation_rows int, train_rows int, test_rows int, directory text)
RETURNS TABLE (table_name text, rows bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d text := rtrim(directory, '/') || '/';
    n_train int;
BEGIN
    IF validation_rows IS NULL OR validation_rows < 0 OR validation_rows >= 60000 THEN
        RAISE EXCEPTION 'validation_rows must be between 0 and 59999' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    n_train := least(coalesce(train_rows, 60000 - validation_rows), 60000 - validation_rows);
    table_name := train_table;
    rows := @extschema@.automl_load_idx_impl(table_name, d || 'train-images-idx3-ubyte.gz', d || 'train-labels-idx1-ubyte.gz', 0, n_train);
    RETURN NEXT;
    IF validation_rows > 0 THEN
        table_name := validation_table;
        rows := @extschema@.automl_load_idx_impl(table_name, d || 'train-images-idx3-ubyte.gz', d || 'train-labels-idx1-ubyte.gz',
                                                60000 - validation_rows, validation_rows);
        RETURN NEXT;
    END IF;
    table_name := test_table;
    rows := @extschema@.automl_load_idx_impl(table_name, d || 't10k-images-idx3-ubyte.gz', d || 't10k-labels-idx1-ubyte.gz', 0, test_rows);
    RETURN NEXT;
END $$;

-- Fashion-MNIST as three tables: <prefix>_train, <prefix>_validation (the
-- last validation_rows of the training file) and <prefix>_test.
CREATE FUNCTION automl_load_fashion_mnist(prefix text DEFAULT 'fashion', validation_rows int DEFAULT 10000,
                                          train_rows int DEFAULT NULL, test_rows int DEFAULT NULL,
                                          directory text DEFAULT '/usr/share/datasets/fashion-mnist')
RETURNS TABLE (table_name text, rows bigint)
LANGUAGE sql AS $$
SELECT * FROM @extschema@.automl_load_fashion_mnist_impl(
    @extschema@.automl_resolve_table(pg_catalog.textcat(prefix, '_train'), true),
    @extschema@.automl_resolve_table(pg_catalog.textcat(prefix, '_validation'), true),
    @extschema@.automl_resolve_table(pg_catalog.textcat(prefix, '_test'), true),
    validation_rows, train_rows, test_rows, directory) $$;
COMMENT ON FUNCTION automl_load_fashion_mnist(text, int, int, int, text) IS
    'Loads Fashion-MNIST (Debian package dataset-fashion-mnist) into train, validation and test tables';

------------------------------------------------------------------------------
-- Model hopper: many configurations train at once, one segment per shard
------------------------------------------------------------------------------
-- A run is driven by automl_mop_run() in the caller's backend; the segment
-- processes it starts do all the work through automl_run_unit() and commit
-- after each unit, so everything below survives the caller, any segment and
-- a server restart.  The driver holds the run's lock (automl_run_driver())
-- while a run is going.

CREATE TABLE automl_runs (
    -- (at most 2^48 - 1: the run's lock tells run ids apart by 48 bits)
    run_id             bigserial PRIMARY KEY CHECK (run_id BETWEEN 1 AND 281474976710655),
    method             text NOT NULL DEFAULT 'fit_multiple',
    train_table        text NOT NULL,     -- schema-qualified names as they were at the start
    train_relid        regclass,          -- the training table while it exists (who may read the run)
    validation_table   text,
    train_prepared     jsonb NOT NULL,    -- which automl_prepare() wrote them (automl_prepared_key())
    validation_prepared jsonb,
    task               text NOT NULL,
    segments           int NOT NULL,
    validation_segments int NOT NULL DEFAULT 0,
    trials             int NOT NULL,      -- automl_trials numbers them 0 .. trials - 1
    epochs             int NOT NULL,
    seed               bigint NOT NULL,
    top_k              int NOT NULL,
    status             text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    epochs_done        int NOT NULL DEFAULT 0,
    attempts           int NOT NULL DEFAULT 0,  -- 1 + number of resumes
    attempt_started_at timestamptz,
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    owner              regrole NOT NULL DEFAULT current_user::regrole,  -- who started it
    UNIQUE (run_id, owner)
);
COMMENT ON TABLE automl_runs IS 'Model selection runs (automl_fit_multiple()); status running with no driver means interrupted';

CREATE TABLE automl_trials (
    run_id      bigint NOT NULL,
    trial       int NOT NULL,              -- position in the run's configurations, from 0
    fit_id      bigint NOT NULL UNIQUE,    -- delete the run before its fits
    model_name  text NOT NULL,
    params      jsonb NOT NULL,
    spec        jsonb NOT NULL,            -- the architecture as it was at the start
    status      text NOT NULL DEFAULT 'training' CHECK (status IN ('training', 'done', 'failed')),
    reason      text,                      -- why a trial failed
    failed_in_epoch int,                   -- the epoch it failed in (its earlier ones count)
    epochs_done int NOT NULL DEFAULT 0,
    units       int NOT NULL DEFAULT 0,    -- training units committed: each unit checks it moved on by one
    state       bytea,                     -- after its last committed hop; NULL when that hop ended an
                                           -- epoch: the state is then its fit's (automl_fits.state)
    owner       regrole NOT NULL DEFAULT current_user::regrole,
    PRIMARY KEY (run_id, trial),
    UNIQUE (run_id, trial, owner),
    FOREIGN KEY (run_id, owner) REFERENCES automl_runs (run_id, owner) ON DELETE CASCADE,
    FOREIGN KEY (fit_id, owner) REFERENCES automl_fits (fit_id, owner)
);
ALTER TABLE automl_trials ALTER COLUMN state SET STORAGE EXTERNAL;  -- as automl_fits.state
ALTER TABLE automl_trials SET (toast.autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 5000);
COMMENT ON TABLE automl_trials IS 'One row per configuration of a run; automl_fits holds its state at the end of its latest epoch';

CREATE TABLE automl_hops (
    run_id         bigint NOT NULL,
    epoch          int NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('train', 'validate')),
    trial          int NOT NULL,
    segment        int NOT NULL,
    hop            int,                    -- the unit's hop in the epoch's schedule (train)
    rows           bigint NOT NULL,
    loss           float8,
    accuracy       float8,
    top_k_accuracy float8,
    step_seconds   float8,                 -- inside optimizer steps (train)
    seconds        float8 NOT NULL,        -- the whole unit in its segment
    pid            int NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    owner          regrole NOT NULL DEFAULT current_user::regrole,
    PRIMARY KEY (run_id, epoch, kind, trial, segment),
    FOREIGN KEY (run_id, trial, owner) REFERENCES automl_trials (run_id, trial, owner) ON DELETE CASCADE
);
COMMENT ON TABLE automl_hops IS 'Hop log: every sub-epoch a trial trained (or was validated) on a segment, in order';

CREATE TABLE automl_run_epochs (
    run_id      bigint NOT NULL,
    epoch       int NOT NULL,
    seconds     float8 NOT NULL,           -- wall time from the previous epoch's close (or a resume) to this one's
    utilisation float8,                    -- busy segment-seconds (units of any epoch) / (segments x seconds)
    trials      int NOT NULL,              -- trials that trained in the epoch
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    owner       regrole NOT NULL DEFAULT current_user::regrole,
    PRIMARY KEY (run_id, epoch),
    FOREIGN KEY (run_id, owner) REFERENCES automl_runs (run_id, owner) ON DELETE CASCADE
);
COMMENT ON TABLE automl_run_epochs IS 'Per-epoch wall time and segment utilisation of each run';

SELECT pg_catalog.pg_extension_config_dump('automl_runs', '');
SELECT pg_catalog.pg_extension_config_dump('automl_trials', '');
SELECT pg_catalog.pg_extension_config_dump('automl_hops', '');
SELECT pg_catalog.pg_extension_config_dump('automl_run_epochs', '');
SELECT pg_catalog.pg_extension_config_dump('automl_runs_run_id_seq', '');
GRANT SELECT ON automl_runs, automl_trials, automl_hops, automl_run_epochs TO PUBLIC;

------------------------------------------------------------------------------
-- Row ownership
------------------------------------------------------------------------------
-- Every catalog row has an owner, the role that wrote it (segments write as
-- the role that started their run).  A row is written, replaced and deleted
-- only by its owner (or a member of the owner role, as with PostgreSQL's
-- own objects), and read only by its owner and by roles that may read what
-- it was made from: labels, normalisation statistics, weights and metrics
-- are derived from a table's data.  Architectures hold no data: anyone
-- reads them.  The extension's owner (and superusers) bypass the policies;
-- foreign keys and the event trigger act as the extension's owner.
-- (pg_has_role on the role's OID: a dropped owner is no error, it owns
-- nothing anyone can act as.)
ALTER TABLE automl_model_arch ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl_prepared ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl_fits ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl_fit_epochs ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl_trials ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl_hops ENABLE ROW LEVEL SECURITY;
ALTER TABLE automl_run_epochs ENABLE ROW LEVEL SECURITY;

CREATE POLICY automl_owner ON automl_model_arch USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY automl_owner ON automl_prepared USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY automl_owner ON automl_fits USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY automl_owner ON automl_fit_epochs USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY automl_owner ON automl_runs USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY automl_owner ON automl_trials USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY automl_owner ON automl_hops USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));
CREATE POLICY automl_owner ON automl_run_epochs USING (pg_catalog.pg_has_role(owner::pg_catalog.oid, 'USAGE'));

CREATE POLICY automl_shared ON automl_model_arch FOR SELECT USING (true);
CREATE POLICY automl_data_readers ON automl_prepared FOR SELECT
    USING (pg_catalog.has_table_privilege(output_table::pg_catalog.oid, 'SELECT'));
-- (train_relid is the training table's OID until it is dropped: by OID,
-- not by name, since looking a name up needs USAGE on its schema)
CREATE POLICY automl_data_readers ON automl_fits FOR SELECT
    USING (pg_catalog.has_table_privilege(train_relid::pg_catalog.oid, 'SELECT'));
CREATE POLICY automl_data_readers ON automl_fit_epochs FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl_fits f WHERE f.fit_id OPERATOR(pg_catalog.=) automl_fit_epochs.fit_id));
CREATE POLICY automl_data_readers ON automl_runs FOR SELECT
    USING (pg_catalog.has_table_privilege(train_relid::pg_catalog.oid, 'SELECT'));
CREATE POLICY automl_data_readers ON automl_trials FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl_runs r WHERE r.run_id OPERATOR(pg_catalog.=) automl_trials.run_id));
CREATE POLICY automl_data_readers ON automl_hops FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl_runs r WHERE r.run_id OPERATOR(pg_catalog.=) automl_hops.run_id));
CREATE POLICY automl_data_readers ON automl_run_epochs FOR SELECT
    USING (EXISTS (SELECT 1 FROM automl_runs r WHERE r.run_id OPERATOR(pg_catalog.=) automl_run_epochs.run_id));

-- A driver holds an object lock on its run (src/pg/run_lock.h), which no
-- other session can take: automl_run_try_lock() takes it for the rest of
-- the transaction if it is free.  Not for PUBLIC: only the driver and the
-- deletion of a run take it.
CREATE FUNCTION automl_run_try_lock(run bigint) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION automl_run_try_lock(bigint) FROM PUBLIC;

-- The backend that drives `run` now, or NULL.
CREATE FUNCTION automl_run_driver(run bigint) RETURNS int
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.pid FROM pg_catalog.pg_locks l
     WHERE l.locktype = 'object' AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
       AND l.classid = '@extschema@.automl_runs'::pg_catalog.regclass::pg_catalog.oid
       AND l.objid = (run % 4294967296)::pg_catalog.oid AND (l.objsubid::int & 65535) = ((run >> 32) & 65535)
       AND l.mode = 'ExclusiveLock' AND l.granted
$$;

-- Whether a driver is running `run` now.
CREATE FUNCTION automl_run_is_driven(run bigint) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$ SELECT @extschema@.automl_run_driver(run) IS NOT NULL $$;

-- A run is deleted (with its trials, hops and epochs) only while no session
-- drives it; the run's lock, held to the end of the deleting transaction,
-- keeps automl_resume() off it meanwhile.  (As the extension's owner, who
-- alone may take the lock; the deleting role may delete only its own runs.)
CREATE FUNCTION automl_runs_before_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT @extschema@.automl_run_try_lock(OLD.run_id) THEN
        RAISE EXCEPTION 'run % is running and cannot be deleted', OLD.run_id USING ERRCODE = 'object_in_use',
            HINT = format('Stop it first with automl_cancel(%s).', OLD.run_id);
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER automl_runs_delete_stopped BEFORE DELETE ON automl_runs
    FOR EACH ROW EXECUTE FUNCTION automl_runs_before_delete();

-- Errors unless this backend is a segment process of a run (the units
-- below change a run as the driver planned it, and only the driver may).
CREATE FUNCTION automl_require_segment(fn text) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE;

CREATE FUNCTION automl_mop_run(command jsonb, segments int) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION automl_mop_run(jsonb, int) IS
    'Drives a model hopper run on segment processes (internal: use automl_fit_multiple() or automl_resume())';
CREATE PROCEDURE automl_mop_drive(command jsonb, segments int, INOUT run_id bigint DEFAULT NULL)
    AS 'MODULE_PATHNAME' LANGUAGE C;
COMMENT ON PROCEDURE automl_mop_drive(jsonb, int, bigint) IS
    'automl_mop_run() for procedures: commits first when it may (internal: use automl_fit_multiple_proc() or automl_resume_proc())';

-- Segment units.  Each runs in a segment process, in its own transaction.

-- Creates the run, its trials and their fits; returns {"run_id": n}.
CREATE FUNCTION automl_run_create(command jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tinfo @extschema@.automl_prepared;
    vinfo @extschema@.automl_prepared;
    arch @extschema@.automl_model_arch;
    cfg jsonb;
    i int := 0;
    id bigint;
    fid bigint;
    st bytea;
    why text;
    msg text;
    det text;
    code text;
BEGIN
    PERFORM @extschema@.automl_require_segment('automl_run_create');
    -- The caller checked everything in its own snapshot; what it sees but
    -- this segment does not was created in the caller's open transaction.
    IF to_regclass(command->>'train') IS NULL OR to_regclass(command->>'validation') IS NULL AND command->>'validation' IS NOT NULL
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(command->'trials') c
                   WHERE NOT EXISTS (SELECT 1 FROM @extschema@.automl_model_arch a WHERE a.name = c->>'model')) THEN
        RAISE EXCEPTION 'segment processes cannot see the tables or models of this run'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Segments read committed data only: commit automl_prepare() and automl_add_model() before the run.';
    END IF;
    tinfo := @extschema@.automl_prepared_info(command->>'train');
    IF command->>'validation' IS NOT NULL THEN
        vinfo := @extschema@.automl_prepared_info(command->>'validation');
    END IF;
    -- automl_fit_multiple() checked what users pass; this checks what the
    -- driver adds, for direct calls.
    IF jsonb_typeof(command->'trials') IS DISTINCT FROM 'array' OR jsonb_array_length(command->'trials') = 0 THEN
        RAISE EXCEPTION 'a run needs a non-empty array of trials' USING ERRCODE = 'invalid_parameter_value';
    ELSIF jsonb_typeof(command->'epochs') IS DISTINCT FROM 'number' OR (command->>'epochs')::numeric < 1 THEN
        RAISE EXCEPTION 'a run needs at least one epoch' USING ERRCODE = 'invalid_parameter_value';
    ELSIF (command->>'segments')::int IS DISTINCT FROM tinfo.segments THEN
        RAISE EXCEPTION 'a run of "%" needs % segments, not %', command->>'train', tinfo.segments, command->>'segments'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The driver reserved the id and holds the run's lock already.
    INSERT INTO @extschema@.automl_runs (run_id, train_table, train_relid, validation_table, train_prepared,
                                         validation_prepared, task, segments, validation_segments, trials, epochs,
                                         seed, top_k)
    VALUES ((command->>'run_id')::bigint, command->>'train', tinfo.output_table, command->>'validation',
            @extschema@.automl_prepared_key(tinfo), @extschema@.automl_prepared_key(vinfo),
            tinfo.task, tinfo.segments, coalesce(vinfo.segments, 0), jsonb_array_length(command->'trials'),
            (command->>'epochs')::int, (command->>'seed')::bigint, (command->>'top_k')::int)
    RETURNING run_id INTO id;
    FOR cfg IN SELECT value FROM jsonb_array_elements(command->'trials') LOOP
        SELECT * INTO STRICT arch FROM @extschema@.automl_model_arch a WHERE a.name = cfg->>'model';
        INSERT INTO @extschema@.automl_fits (model_name, params, train_table, train_relid, validation_table, task,
                                             classes, feature_shape, shift, scale, seed, epochs)
        VALUES (arch.name, cfg->'params', command->>'train', tinfo.output_table, command->>'validation', tinfo.task,
                tinfo.classes, tinfo.feature_shape, tinfo.shift, tinfo.scale, (command->>'seed')::bigint,
                (command->>'epochs')::int)
        RETURNING fit_id INTO fid;
        -- A model too large for the segment fails alone (the errors a trial
        -- may cause by itself, as in automl_mop_run()).
        BEGIN
            st := @extschema@.automl_init_state(arch.spec, cfg->'params', tinfo.task, (command->>'seed')::bigint);
            why := NULL;
        EXCEPTION WHEN data_exception OR program_limit_exceeded OR out_of_memory THEN
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, code = RETURNED_SQLSTATE;
            st := '';
            why := format('%s%s (SQLSTATE %s) while creating the model', msg, ': ' || nullif(det, ''), code);
        END;
        INSERT INTO @extschema@.automl_trials (run_id, trial, fit_id, model_name, params, spec, state, status, reason)
        VALUES (id, i, fid, arch.name, cfg->'params', arch.spec, st,
                CASE WHEN why IS NULL THEN 'training' ELSE 'failed' END, why);
        i := i + 1;
    END LOOP;
    RETURN jsonb_build_object('run_id', id);
END $$;

-- What a driver plans from: the run's shape, live trials and the units of
-- the current epoch that are already committed.
CREATE FUNCTION automl_run_load(run bigint) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.automl_runs;
    n_trials int;
BEGIN
    PERFORM @extschema@.automl_require_segment('automl_run_load');
    UPDATE @extschema@.automl_runs x SET attempts = x.attempts + 1, attempt_started_at = clock_timestamp()
     WHERE x.run_id = run AND x.status = 'running' RETURNING * INTO r;
    IF NOT FOUND THEN
        SELECT * INTO STRICT r FROM @extschema@.automl_runs x WHERE x.run_id = run;
        RAISE EXCEPTION 'run % is %, not running', run, r.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Its tables must hold the buffers it started on (automl_resume checked
    -- them too, but a procedure's run commits before it locks them).
    IF (r.train_prepared, r.validation_prepared) IS DISTINCT FROM
       (@extschema@.automl_prepared_key(@extschema@.automl_prepared_info(r.train_table)),
        @extschema@.automl_prepared_key(CASE WHEN r.validation_table IS NOT NULL
                                             THEN @extschema@.automl_prepared_info(r.validation_table) END)) THEN
        RAISE EXCEPTION 'run % cannot go on: its tables were prepared again since it started', run
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Start a new run with automl_fit_multiple(): a resumed run must read the same buffers.';
    END IF;
    -- The planner numbers trials by position: every one must be there.
    SELECT count(*) INTO n_trials FROM @extschema@.automl_trials t WHERE t.run_id = run;
    IF n_trials <> r.trials THEN
        RAISE EXCEPTION 'run % cannot go on: some of its trials were deleted', run
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('It has %s trials; automl_trials holds %s of them.', r.trials, n_trials),
                  HINT = format('Delete the run (DELETE FROM @extschema@.automl_runs WHERE run_id = %s) and start a new one.', run);
    END IF;
    RETURN jsonb_build_object(
        'run_id', r.run_id, 'segments', r.segments, 'validation_segments', least(r.validation_segments, r.segments),
        'epochs', r.epochs, 'epochs_done', r.epochs_done, 'seed', r.seed, 'status', r.status,
        'live', (SELECT jsonb_agg(t.status = 'training' ORDER BY t.trial) FROM @extschema@.automl_trials t WHERE t.run_id = run),
        -- A trial may be one epoch ahead of the run (see automl_mop_run).
        'done', (SELECT coalesce(jsonb_agg(jsonb_build_array(h.kind = 'validate', h.trial, h.segment, h.epoch)
                                           ORDER BY h.epoch, h.kind, h.trial, h.hop), '[]')
                   FROM @extschema@.automl_hops h WHERE h.run_id = run AND h.epoch IN (r.epochs_done + 1, r.epochs_done + 2)));
END $$;

-- The trial a unit of run `run` (its row `r`, NULL if there is none) works
-- on, after checking the unit's arguments (units come from the driver;
-- this guards direct calls).
CREATE FUNCTION automl_run_unit_trial(r automl_runs, run bigint, epoch int, segment int, trial int) RETURNS automl_trials
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    t @extschema@.automl_trials;
BEGIN
    IF r.run_id IS NULL THEN
        RAISE EXCEPTION 'run % does not exist', run USING ERRCODE = 'undefined_object';
    ELSIF r.status <> 'running' THEN
        RAISE EXCEPTION 'run % is %, not running', run, r.status USING ERRCODE = 'object_not_in_prerequisite_state';
    ELSIF epoch IS NULL OR epoch < 1 OR epoch > r.epochs THEN
        RAISE EXCEPTION 'epoch % is not an epoch of run % (1 to %)', epoch, run, r.epochs
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF segment IS NULL OR segment < 0 OR segment >= r.segments THEN
        RAISE EXCEPTION 'segment % is not a segment of run % (0 to %)', segment, run, r.segments - 1
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO t FROM @extschema@.automl_trials x WHERE x.run_id = run AND x.trial = automl_run_unit_trial.trial;
    IF NOT FOUND AND trial >= 0 AND trial < r.trials THEN
        RAISE EXCEPTION 'trial % of run % was deleted', trial, run USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('The run cannot go on: delete it (DELETE FROM @extschema@.automl_runs WHERE run_id = %s) and start a new one.', run);
    ELSIF NOT FOUND THEN
        RAISE EXCEPTION 'trial % of run % does not exist', trial, run USING ERRCODE = 'undefined_object';
    END IF;
    RETURN t;
END $$;

-- Trains trial `trial` for one sub-epoch on the shard of `segment` and
-- commits its new state with the hop; after its `last` visit of the epoch
-- the state is the epoch's state in automl_fits.  A loss that is not finite
-- fails the trial (its last good state is kept).
CREATE FUNCTION automl_run_train(run bigint, epoch int, hop int, segment int, trial int, last boolean) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.automl_runs;
    t @extschema@.automl_trials;
    tr @extschema@.automl_train_result;
    t0 timestamptz := clock_timestamp();
    why text;
    cur bytea;
BEGIN
    PERFORM @extschema@.automl_require_segment('automl_run_train');
    -- No row lock for the whole unit (automl_run_finish_epoch updates the
    -- row meanwhile); the driver runs one unit of a trial at a time, and the
    -- update below checks that nothing else moved the trial on.
    SELECT * INTO r FROM @extschema@.automl_runs x WHERE x.run_id = run;
    t := @extschema@.automl_run_unit_trial(r, run, epoch, segment, trial);
    IF t.status <> 'training' THEN
        RETURN jsonb_build_object('skipped', t.status);
    END IF;
    -- After a trial's last visit of an epoch its state is only in automl_fits.
    cur := coalesce(t.state, (SELECT f.state FROM @extschema@.automl_fits f WHERE f.fit_id = t.fit_id));
    -- A plain expression: the state is neither planned as a constant nor
    -- copied through a result row (automl_train_pass).
    tr := @extschema@.automl_train_pass(r.train_table::regclass, segment, cur, t.spec, t.params);
    IF tr.rows > 0 AND (tr.loss IS NULL OR tr.loss IN ('NaN', 'Infinity', '-Infinity')) THEN
        why := format('training loss became %s in epoch %s on segment %s', coalesce(tr.loss::text, 'NaN'), epoch, segment);
        UPDATE @extschema@.automl_trials x SET status = 'failed', reason = why, failed_in_epoch = epoch
         WHERE x.run_id = run AND x.trial = automl_run_train.trial;
    ELSE
        IF coalesce(tr.rows, 0) = 0 THEN
            tr.state := cur;  -- an empty shard trains nothing
        END IF;
        -- The epoch's last visit writes the state once, to automl_fits (what
        -- validation reads while the trial goes on), not to both tables.
        -- automl_trials before automl_fits, as automl_run_finish_epoch: no deadlock.
        UPDATE @extschema@.automl_trials x SET state = CASE WHEN last THEN NULL ELSE tr.state END, units = x.units + 1
         WHERE x.run_id = run AND x.trial = automl_run_train.trial AND x.units = t.units AND x.status = 'training';
        IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM @extschema@.automl_trials x
                                      WHERE x.run_id = run AND x.trial = automl_run_train.trial) THEN
            RAISE EXCEPTION 'trial % of run % was deleted while it trained on segment %', trial, run, segment
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('The run cannot go on: delete it (DELETE FROM @extschema@.automl_runs WHERE run_id = %s) and start a new one.', run);
        ELSIF NOT FOUND THEN
            RAISE EXCEPTION 'trial % of run % changed while it trained on segment %', trial, run, segment
                USING ERRCODE = 'serialization_failure',
                      HINT = 'Two sessions drove the run at once; resume it with automl_resume().';
        END IF;
        IF last THEN
            UPDATE @extschema@.automl_fits f SET state = tr.state WHERE f.fit_id = t.fit_id;
        END IF;
    END IF;
    INSERT INTO @extschema@.automl_hops (run_id, epoch, kind, trial, segment, hop, rows, loss, accuracy, step_seconds, seconds, pid)
    VALUES (run, epoch, 'train', trial, segment, hop, coalesce(tr.rows, 0), tr.loss, tr.accuracy, tr.step_seconds,
            extract(epoch FROM clock_timestamp() - t0), pg_backend_pid());
    RETURN jsonb_build_object('rows', coalesce(tr.rows, 0), 'failed', why IS NOT NULL, 'reason', why);
END $$;

-- Evaluates trial `trial` on the validation shards served by `segment`
-- (shard v by segment v mod segments).
CREATE FUNCTION automl_run_validate(run bigint, epoch int, segment int, trial int) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.automl_runs;
    t @extschema@.automl_trials;
    ev @extschema@.automl_eval_result;
    cur bytea;
    shards int[];
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM @extschema@.automl_require_segment('automl_run_validate');
    SELECT * INTO r FROM @extschema@.automl_runs x WHERE x.run_id = run;
    t := @extschema@.automl_run_unit_trial(r, run, epoch, segment, trial);
    IF t.status <> 'training' THEN
        RETURN jsonb_build_object('skipped', t.status);
    END IF;
    -- The state at the end of the trial's epoch (automl_run_train), passed
    -- as in automl_run_train.
    cur := (SELECT f.state FROM @extschema@.automl_fits f WHERE f.fit_id = t.fit_id);
    shards := ARRAY(SELECT generate_series(segment, r.validation_segments - 1, r.segments));
    ev := @extschema@.automl_eval_pass(r.validation_table::regclass, shards, cur, t.spec, t.params, r.top_k);
    INSERT INTO @extschema@.automl_hops (run_id, epoch, kind, trial, segment, rows, loss, accuracy, top_k_accuracy, seconds, pid)
    VALUES (run, epoch, 'validate', trial, segment, coalesce(ev.rows, 0), ev.loss, ev.accuracy, ev.top_k_accuracy,
            extract(epoch FROM clock_timestamp() - t0), pg_backend_pid());
    RETURN jsonb_build_object('rows', coalesce(ev.rows, 0));
END $$;

-- Marks a trial failed after an error in one of its units of `epoch`.
CREATE FUNCTION automl_run_fail_trial(run bigint, trial int, epoch int, reason text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.automl_runs;
BEGIN
    PERFORM @extschema@.automl_require_segment('automl_run_fail_trial');
    IF reason IS NULL THEN
        RAISE EXCEPTION 'a failed trial needs a reason' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO r FROM @extschema@.automl_runs x WHERE x.run_id = run;
    PERFORM @extschema@.automl_run_unit_trial(r, run, epoch, 0, trial);
    UPDATE @extschema@.automl_trials x SET status = 'failed', reason = automl_run_fail_trial.reason, failed_in_epoch = epoch
     WHERE x.run_id = run AND x.trial = automl_run_fail_trial.trial AND x.status = 'training';
    RETURN jsonb_build_object('failed', true);
END $$;

-- Closes an epoch in one transaction: per-trial metrics combined from the
-- hop log, the states of the epoch copied to automl_fits, the run advanced.
-- Returns the progress line the driver prints and whether the run is over.
CREATE FUNCTION automl_run_finish_epoch(run bigint, epoch int) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.automl_runs;
    w0 timestamptz;
    w1 timestamptz;
    n_live int;
    n_trained int;
    best record;
    last boolean;
    msg text;
BEGIN
    PERFORM @extschema@.automl_require_segment('automl_run_finish_epoch');
    SELECT * INTO STRICT r FROM @extschema@.automl_runs x WHERE x.run_id = run FOR UPDATE;
    IF r.status <> 'running' THEN
        RAISE EXCEPTION 'run % is %, not running', run, r.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF r.epochs_done <> epoch - 1 OR epoch > r.epochs THEN
        RAISE EXCEPTION 'run % has completed % epochs; cannot close epoch %', run, r.epochs_done, epoch
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    last := epoch = r.epochs;
    INSERT INTO @extschema@.automl_fit_epochs (fit_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy,
                                               val_top_k_accuracy, rows, seconds)
    SELECT t.fit_id, epoch, tr.loss, tr.accuracy, va.loss, va.accuracy, va.top_k, coalesce(tr.rows, 0), coalesce(tr.seconds, 0)
      FROM @extschema@.automl_trials t
      -- Summed in segment order: the same bits whatever order units committed in.
      LEFT JOIN LATERAL (SELECT sum(h.loss * h.rows ORDER BY h.segment) / nullif(sum(h.rows), 0) AS loss,
                                sum(h.accuracy * h.rows ORDER BY h.segment) / nullif(sum(h.rows), 0) AS accuracy,
                                sum(h.rows) AS rows, sum(h.seconds ORDER BY h.segment) AS seconds
                           FROM @extschema@.automl_hops h
                          WHERE h.run_id = run AND h.epoch = automl_run_finish_epoch.epoch AND h.kind = 'train'
                            AND h.trial = t.trial) tr ON true
      LEFT JOIN LATERAL (SELECT sum(h.loss * h.rows ORDER BY h.segment) / nullif(sum(h.rows), 0) AS loss,
                                sum(h.accuracy * h.rows ORDER BY h.segment) / nullif(sum(h.rows), 0) AS accuracy,
                                sum(h.top_k_accuracy * h.rows ORDER BY h.segment) / nullif(sum(h.rows), 0) AS top_k
                           FROM @extschema@.automl_hops h
                          WHERE h.run_id = run AND h.epoch = automl_run_finish_epoch.epoch AND h.kind = 'validate'
                            AND h.trial = t.trial) va ON true
     -- Trials that completed this epoch: still training, or failed in the
     -- next one (which they may have started already).
     WHERE t.run_id = run AND (t.status = 'training' OR t.failed_in_epoch > epoch);
    GET DIAGNOSTICS n_trained = ROW_COUNT;
    -- automl_trials before automl_fits, as automl_run_train: no deadlock.
    -- The states in automl_fits are already the epoch's (automl_run_train).
    UPDATE @extschema@.automl_trials t
       SET epochs_done = epoch, status = CASE WHEN last AND t.status = 'training' THEN 'done' ELSE t.status END
     WHERE t.run_id = run AND (t.status = 'training' OR t.failed_in_epoch > epoch);
    UPDATE @extschema@.automl_fits f
       SET epochs_done = epoch, finished_at = CASE WHEN last THEN clock_timestamp() END
      FROM @extschema@.automl_trials t
     WHERE t.run_id = run AND t.epochs_done = epoch AND f.fit_id = t.fit_id;
    SELECT count(*) FILTER (WHERE t.status = 'training') INTO n_live FROM @extschema@.automl_trials t WHERE t.run_id = run;
    -- The epoch's window runs from the previous close (or this attempt's
    -- start); units of any epoch count with their time inside it, since a
    -- trial may start its next epoch before the others end this one.
    w0 := greatest(r.attempt_started_at, (SELECT e.finished_at FROM @extschema@.automl_run_epochs e
                                             WHERE e.run_id = run AND e.epoch = automl_run_finish_epoch.epoch - 1));
    w1 := clock_timestamp();
    INSERT INTO @extschema@.automl_run_epochs (run_id, epoch, seconds, utilisation, trials, finished_at)
    SELECT run, epoch, extract(epoch FROM w1 - w0),
           sum(greatest(extract(epoch FROM least(h.finished_at, w1)
                                - greatest(h.finished_at - make_interval(secs => h.seconds), w0)), 0))
               / nullif(r.segments * extract(epoch FROM w1 - w0), 0),
           n_trained, w1
      FROM @extschema@.automl_hops h
     WHERE h.run_id = run AND h.finished_at >= w0
    HAVING count(*) > 0;  -- no row for an epoch nothing ran in (every trial failed at creation)
    UPDATE @extschema@.automl_runs x
       -- (no trial completed it when all failed before: it is not done)
       SET epochs_done = CASE WHEN n_trained > 0 THEN epoch ELSE x.epochs_done END,
           status = CASE WHEN last OR n_live = 0 THEN
                             CASE WHEN EXISTS (SELECT 1 FROM @extschema@.automl_trials t
                                                WHERE t.run_id = run AND t.status = 'done') THEN 'done' ELSE 'failed' END
                         ELSE 'running' END,
           finished_at = CASE WHEN last OR n_live = 0 THEN clock_timestamp() END
     WHERE x.run_id = run;
    SELECT l.trial, l.model_name, l.val_loss, l.val_accuracy, l.train_loss INTO best
      FROM @extschema@.automl_leaderboard l WHERE l.run_id = run AND l.status <> 'failed' ORDER BY l.rank LIMIT 1;
    msg := format('run %s: epoch %s/%s: ', run, epoch, r.epochs)
        || CASE WHEN best.trial IS NULL THEN 'no trial left'
                WHEN best.val_accuracy IS NOT NULL THEN format('best validation accuracy %s (trial %s, model %s)',
                     round(best.val_accuracy::numeric, 4), best.trial, best.model_name)
                WHEN best.val_loss IS NOT NULL THEN format('best validation loss %s (trial %s, model %s)',
                     round(best.val_loss::numeric, 4), best.trial, best.model_name)
                ELSE format('best training loss %s (trial %s, model %s)',
                     round(best.train_loss::numeric, 4), best.trial, best.model_name) END
        || format(', %s/%s trials training, %s s elapsed', n_live,
                  (SELECT count(*) FROM @extschema@.automl_trials t WHERE t.run_id = run),
                  round(extract(epoch FROM clock_timestamp() - r.started_at)::numeric, 1));
    RETURN jsonb_build_object('message', msg, 'finished', last OR n_live = 0);
END $$;

-- The one entry point of segment processes: {"kind": ..., arguments}.
CREATE FUNCTION automl_run_unit(command jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.automl_require_segment('automl_run_unit');
    IF command IS NULL THEN
        RAISE EXCEPTION 'unit command must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Names the run in pg_stat_activity (automl_resume waits for a run's
    -- last segments to be gone).
    PERFORM set_config('application_name', format('pg_automl run %s segment %s', coalesce(command->>'run', '(new)'),
                                                  coalesce(command->>'segment', '0')), false);
    IF command->>'kind' = 'new_run_id' THEN
        -- Taken here, not by the driver: nextval() gives the calling
        -- transaction an xid, and a running xid keeps vacuum from removing
        -- the states its run supersedes.
        RETURN jsonb_build_object('run_id', pg_catalog.nextval('@extschema@.automl_runs_run_id_seq'));
    END IF;
    IF command->>'kind' IS DISTINCT FROM 'create' AND NOT EXISTS
           (SELECT 1 FROM @extschema@.automl_runs r WHERE r.run_id = (command->>'run')::bigint) THEN
        RAISE EXCEPTION 'run % does not exist', command->>'run' USING ERRCODE = 'undefined_object';
    END IF;
    CASE command->>'kind'
    WHEN 'train' THEN
        RETURN @extschema@.automl_run_train((command->>'run')::bigint, (command->>'epoch')::int, (command->>'hop')::int,
                                            (command->>'segment')::int, (command->>'trial')::int,
                                            coalesce((command->>'last')::boolean, false));
    WHEN 'validate' THEN
        RETURN @extschema@.automl_run_validate((command->>'run')::bigint, (command->>'epoch')::int,
                                               (command->>'segment')::int, (command->>'trial')::int);
    WHEN 'finish_epoch' THEN
        RETURN @extschema@.automl_run_finish_epoch((command->>'run')::bigint, (command->>'epoch')::int);
    WHEN 'fail_trial' THEN
        RETURN @extschema@.automl_run_fail_trial((command->>'run')::bigint, (command->>'trial')::int,
                                                 (command->>'epoch')::int, command->>'reason');
    WHEN 'load' THEN
        RETURN @extschema@.automl_run_load((command->>'run')::bigint);
    WHEN 'create' THEN
        RETURN @extschema@.automl_run_create(command);
    ELSE
        RAISE EXCEPTION 'unrecognized unit kind "%"', command->>'kind' USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END $$;

-- Raises an error; empty detail or hint are left out (RAISE cannot).
CREATE FUNCTION automl_raise(sqlstate text, message text, detail text, hint text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(detail, '') <> '' AND coalesce(hint, '') <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail, HINT = hint;
    ELSIF coalesce(detail, '') <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail;
    ELSIF coalesce(hint, '') <> '' THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message;
END $$;

-- schema.name of a relation, whatever the search_path of the reader.
CREATE FUNCTION automl_qualified_name(rel regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('%I.%I', n.nspname, c.relname)
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel
$$;

-- Errors unless the shards of `info` hold the buffers automl_prepare()
-- wrote, and (unless `allow_empty`) each at least one: a run trains on
-- exactly those, and a segment without data would hold a model for a hop
-- and train nothing.
CREATE FUNCTION automl_check_shards(info automl_prepared, allow_empty boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad record;
    n bigint;
BEGIN
    EXECUTE format('SELECT k, coalesce(c.n, 0) AS n, $1[k + 1]::bigint AS written
                      FROM generate_series(0, %s - 1) k
                      LEFT JOIN (SELECT segment_id, count(*) AS n FROM %s GROUP BY segment_id) c ON c.segment_id = k
                     WHERE coalesce(c.n, 0) IS DISTINCT FROM $1[k + 1]::bigint OR (NOT $2 AND c.n IS NULL)
                     ORDER BY k LIMIT 1', info.segments, info.output_table)
        INTO bad USING info.segment_buffers, allow_empty;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN;
    END IF;
    IF bad.n IS DISTINCT FROM bad.written THEN
        RAISE EXCEPTION 'segment % of "%" holds % buffers, but automl_prepare() wrote %',
            bad.k, info.output_table, bad.n, coalesce(bad.written, 0)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'The table was changed after automl_prepare(): prepare it again with automl_prepare(..., overwrite => true).';
    END IF;
    RAISE EXCEPTION 'segment % of "%" holds no buffers', bad.k, info.output_table
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'Prepare it with fewer segments, or from more rows.';
END $$;

-- Errors unless the transaction can see what segment processes commit.
CREATE FUNCTION automl_check_isolation() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'a model hopper run needs the read committed isolation level'
            USING ERRCODE = 'active_sql_transaction',
                  DETAIL = 'Segment processes commit every hop in their own transactions.',
                  HINT = 'Run it in a read committed transaction (see default_transaction_isolation).';
    END IF;
END $$;

-- Errors unless segment processes can work beside the caller's transaction.
-- They see only what is committed and wait for this transaction's locks:
-- on rows of the pg_automl catalog it wrote, or on the run's tables.
CREATE FUNCTION automl_check_caller(tables regclass[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    held record;
BEGIN
    SELECT l.relation::regclass AS rel, l.mode INTO held
      FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
     WHERE l.locktype = 'relation' AND l.pid = pg_catalog.pg_backend_pid() AND l.granted
       AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
       AND c.relkind IN ('r', 'p')
       AND ((c.relnamespace = (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_automl')
             AND c.relname LIKE 'automl\_%' AND l.mode <> 'AccessShareLock')
            OR (l.mode = 'AccessExclusiveLock'
                AND c.oid IN (SELECT p.relid FROM unnest(tables) t, pg_catalog.pg_partition_tree(t) p)))
     ORDER BY array_position(ARRAY['AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock',
                                   'ShareUpdateExclusiveLock', 'RowExclusiveLock', 'RowShareLock'], l.mode), c.relname
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a model hopper run cannot start in a transaction that holds % on "%"', held.mode, held.rel
            USING ERRCODE = 'active_sql_transaction',
                  DETAIL = 'Segment processes work in their own transactions: they see only committed data and would wait for this transaction''s locks.',
                  HINT = 'Commit (or roll back) first, then start the run in a new transaction.';
    END IF;
END $$;

-- Errors unless a run can start on the tables of `tinfo` (training) and
-- `vinfo` (validation, or NULL) from this transaction, as this role.
CREATE FUNCTION automl_check_run_tables(tinfo automl_prepared, vinfo automl_prepared) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.automl_check_caller(ARRAY[tinfo.output_table, vinfo.output_table]);
    PERFORM @extschema@.automl_check_privileges();
    PERFORM @extschema@.automl_check_shards(tinfo);
    IF vinfo.output_table IS NOT NULL THEN
        PERFORM @extschema@.automl_check_shards(vinfo, allow_empty => true);
    END IF;
END $$;

-- Errors unless the current role may write what the segments of a run
-- write (they run as this role).
CREATE FUNCTION automl_check_privileges() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(format('%s on %s', x.privileges, x.obj), '; ' ORDER BY x.obj) INTO missing
      FROM (SELECT t AS obj, string_agg(p, ', ' ORDER BY p) AS privileges
              FROM unnest(ARRAY['automl_runs', 'automl_trials', 'automl_hops', 'automl_run_epochs',
                                'automl_fits', 'automl_fit_epochs']) t,
                   unnest(ARRAY['INSERT', 'UPDATE']) p
             WHERE NOT pg_catalog.has_table_privilege(format('@extschema@.%I', t), p)
             GROUP BY t
            UNION ALL
            SELECT q, 'USAGE'
              FROM unnest(ARRAY['automl_runs_run_id_seq', 'automl_fits_fit_id_seq']) q
             WHERE NOT pg_catalog.has_sequence_privilege(format('@extschema@.%I', q), 'USAGE')) x;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'role "%" may not write the model selection catalog', current_user
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Missing: %s.', missing),
                  HINT = format('The extension''s owner can grant them: GRANT INSERT, UPDATE ON @extschema@.automl_runs, '
                                '@extschema@.automl_trials, @extschema@.automl_hops, @extschema@.automl_run_epochs, '
                                '@extschema@.automl_fits, @extschema@.automl_fit_epochs TO %1$I; GRANT USAGE ON SEQUENCE '
                                '@extschema@.automl_runs_run_id_seq, @extschema@.automl_fits_fit_id_seq TO %1$I;',
                                current_user);
    END IF;
END $$;

-- Errors unless the current role may act on run `r` (continue, cancel it):
-- roles that may read a run's data see the run, its owner drives it.
CREATE FUNCTION automl_check_run_owner(r automl_runs) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(r.owner::oid, 'USAGE') THEN
        RAISE EXCEPTION 'run % belongs to role %', r.run_id, r.owner USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only its owner (or a member of the owner role) may continue or stop a run.';
    END IF;
END $$;

-- Errors unless the current role may read table `rel` (the training or
-- validation data of a run it starts or continues).
CREATE FUNCTION automl_check_readable(rel regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF rel IS NOT NULL AND NOT has_table_privilege(rel, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- Checks a run command as the current role before the driver acts on it
-- (automl_mop_run and automl_mop_drive are callable, so a command may be
-- made up) and returns the tables the run reads, schema-qualified: those of
-- the run it resumes, or those a new run names, once they are known to be
-- prepared tables this role may read.  Other commands come back with NULLs
-- for the driver to refuse.
CREATE FUNCTION automl_check_run_command(command jsonb, OUT train text, OUT validation text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r @extschema@.automl_runs;
    tinfo @extschema@.automl_prepared;
    vinfo @extschema@.automl_prepared;
BEGIN
    IF jsonb_typeof(command) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;
    IF command->>'kind' = 'resume' AND jsonb_typeof(command->'run') = 'number' AND command->>'run' ~ '^-?[0-9]{1,18}$' THEN
        SELECT * INTO r FROM @extschema@.automl_runs x WHERE x.run_id = (command->>'run')::bigint;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'run % does not exist', command->>'run' USING ERRCODE = 'undefined_object',
                HINT = 'See the table automl_runs.';
        END IF;
        PERFORM @extschema@.automl_check_run_owner(r);
        IF r.status <> 'running' THEN
            RAISE EXCEPTION 'run % is %, not running', r.run_id, r.status USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        train := r.train_table;
        validation := r.validation_table;
    ELSIF command->>'kind' = 'create' THEN
        train := command->>'train';
        validation := command->>'validation';
    ELSE
        RETURN;
    END IF;
    PERFORM @extschema@.automl_check_readable(to_regclass(train));
    PERFORM @extschema@.automl_check_readable(to_regclass(validation));
    tinfo := @extschema@.automl_prepared_info(train);
    IF validation IS NOT NULL THEN
        vinfo := @extschema@.automl_prepared_info(validation);
    END IF;
    PERFORM @extschema@.automl_check_run_tables(tinfo, vinfo);
    train := @extschema@.automl_qualified_name(tinfo.output_table);
    validation := @extschema@.automl_qualified_name(vinfo.output_table);
END $$;

-- What a row refers to must be its writer's too: rows under a fit or a run
-- have its owner (the foreign keys include owner); a summary describes a
-- table its writer owns; a fit or a run names a prepared table its writer
-- sees as training table; and a new fit or run takes its id from the
-- sequence in this session, so that no role can take ids ahead of others.
CREATE POLICY automl_own_table ON automl_prepared AS RESTRICTIVE USING (true)
    WITH CHECK (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                         WHERE c.oid OPERATOR(pg_catalog.=) output_table::pg_catalog.oid), 'USAGE'));
CREATE POLICY automl_prepared_training ON automl_fits AS RESTRICTIVE USING (true)
    WITH CHECK (train_relid IS NULL OR EXISTS (SELECT 1 FROM automl_prepared p
                         WHERE p.output_table::pg_catalog.oid OPERATOR(pg_catalog.=) train_relid::pg_catalog.oid));
CREATE POLICY automl_prepared_training ON automl_runs AS RESTRICTIVE USING (true)
    WITH CHECK (train_relid IS NULL OR EXISTS (SELECT 1 FROM automl_prepared p
                         WHERE p.output_table::pg_catalog.oid OPERATOR(pg_catalog.=) train_relid::pg_catalog.oid));
CREATE POLICY automl_own_id ON automl_fits AS RESTRICTIVE FOR INSERT
    WITH CHECK (fit_id OPERATOR(pg_catalog.<=) pg_catalog.currval('automl_fits_fit_id_seq'::pg_catalog.regclass));
CREATE POLICY automl_own_id ON automl_runs AS RESTRICTIVE FOR INSERT
    WITH CHECK (run_id OPERATOR(pg_catalog.<=) pg_catalog.currval('automl_runs_run_id_seq'::pg_catalog.regclass));

-- Views read the catalog as the role that queries them (its row policies).
CREATE VIEW automl_leaderboard WITH (security_invoker = true) AS
SELECT t.run_id,
       rank() OVER (PARTITION BY t.run_id
                    ORDER BY t.status = 'failed',
                             CASE WHEN r.task = 'classification' THEN -e.val_accuracy ELSE e.val_loss END NULLS LAST,
                             CASE WHEN r.task = 'classification' THEN -e.train_accuracy ELSE e.train_loss END NULLS LAST,
                             t.trial)::int AS rank,
       t.trial, t.fit_id, t.model_name, t.params, t.status, t.epochs_done,
       e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.val_top_k_accuracy,
       (SELECT sum(x.seconds) FROM automl_fit_epochs x WHERE x.fit_id = t.fit_id) AS seconds,
       t.reason
  FROM automl_trials t
  JOIN automl_runs r USING (run_id)
  LEFT JOIN automl_fit_epochs e ON e.fit_id = t.fit_id AND e.epoch = t.epochs_done;
COMMENT ON VIEW automl_leaderboard IS
    'Trials of each run ranked by the metrics of their last completed epoch (validation when there is some)';

CREATE VIEW automl_progress WITH (security_invoker = true) AS
SELECT r.run_id,
       CASE WHEN r.status = 'running' AND NOT automl_run_is_driven(r.run_id) THEN 'interrupted' ELSE r.status END AS status,
       least(r.epochs_done + 1, r.epochs) AS epoch,
       r.epochs,
       -- Units run as soon as they can, not hop by hop: hops' worth of units
       -- done by the trials still training (an epoch of L of them on S
       -- segments is max(L, S) hops of min(L, S) units).
       CASE WHEN r.status <> 'running' THEN greatest(tr.total, r.segments)
            ELSE (SELECT count(*)::int FROM automl_hops h JOIN automl_trials t USING (run_id, trial)
                   WHERE h.run_id = r.run_id AND h.epoch = r.epochs_done + 1 AND h.kind = 'train'
                     AND t.status = 'training')
                 / greatest(least(tr.live, r.segments), 1) END AS hops_done,
       CASE WHEN r.status <> 'running' THEN greatest(tr.total, r.segments)
            ELSE greatest(tr.live, r.segments) END AS hops,
       tr.finished AS trials_done,
       tr.total AS trials,
       coalesce(r.finished_at, clock_timestamp()) - r.started_at AS elapsed,
       -- (from this attempt's pace; none while no session drives the run)
       CASE WHEN r.status = 'running' AND u.done_now > 0 AND automl_run_is_driven(r.run_id) THEN
            (clock_timestamp() - r.attempt_started_at) / u.done_now * greatest(u.total - u.done_all, 0)
       END AS remaining
  FROM automl_runs r
  CROSS JOIN LATERAL (SELECT count(*)::int AS total, count(*) FILTER (WHERE t.status <> 'training')::int AS finished,
                             count(*) FILTER (WHERE t.status = 'training')::int AS live
                        FROM automl_trials t WHERE t.run_id = r.run_id) tr
  CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE h.finished_at >= r.attempt_started_at) AS done_now,
                             count(*) FILTER (WHERE h.epoch > r.epochs_done) AS done_all,
                             tr.live::bigint * r.segments * (r.epochs - r.epochs_done) AS total
                        FROM automl_hops h WHERE h.run_id = r.run_id AND h.kind = 'train') u;
COMMENT ON VIEW automl_progress IS
    'Where each run stands: epoch, hops done in it, trials finished, elapsed and estimated remaining time';
GRANT SELECT ON automl_leaderboard, automl_progress TO PUBLIC;

-- What automl_fit_multiple() checks and the run it asks the driver for.
CREATE FUNCTION automl_fit_multiple_command(train text, configs jsonb, epochs int, validation text, seed bigint, top_k int,
                                            OUT command jsonb, OUT segments int)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tinfo @extschema@.automl_prepared;
    vinfo @extschema@.automl_prepared;
    arch @extschema@.automl_model_arch;
    cfg jsonb;
    trials jsonb := '[]';
    i int := 0;
    msg text; det text; hnt text; st text;
BEGIN
    PERFORM @extschema@.automl_check_isolation();
    IF epochs IS NULL OR epochs < 1 OR epochs > 100000 THEN
        RAISE EXCEPTION 'epochs must be between 1 and 100000, not %', epochs USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF top_k IS NULL OR top_k < 1 THEN
        RAISE EXCEPTION 'top_k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF configs IS NULL OR jsonb_typeof(configs) <> 'array' OR jsonb_array_length(configs) = 0 THEN
        RAISE EXCEPTION 'configs must be a non-empty JSON array' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass e.g. ''[{"model": "mlp", "params": {"lr": 0.01}}, {"model": "mlp", "params": {"lr": 0.1}}]''.';
    END IF;
    IF jsonb_array_length(configs) > 10000 THEN
        RAISE EXCEPTION 'a run holds at most 10000 configurations, not %', jsonb_array_length(configs)
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    tinfo := @extschema@.automl_prepared_info(train);
    IF validation IS NOT NULL THEN
        vinfo := @extschema@.automl_prepared_info(validation);
    END IF;
    PERFORM @extschema@.automl_check_run_tables(tinfo, vinfo);
    IF validation IS NOT NULL THEN
        PERFORM @extschema@.automl_check_compatible(tinfo, vinfo);
    END IF;
    FOR cfg IN SELECT value FROM jsonb_array_elements(configs) LOOP
        BEGIN
            IF jsonb_typeof(cfg) <> 'object' OR jsonb_typeof(cfg->'model') IS DISTINCT FROM 'string'
               OR (cfg ? 'params' AND jsonb_typeof(cfg->'params') NOT IN ('object', 'null'))
               OR EXISTS (SELECT 1 FROM jsonb_object_keys(cfg) k WHERE k NOT IN ('model', 'params')) THEN
                RAISE EXCEPTION 'a configuration is an object {"model": name, "params": {...}}, not %', cfg
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            SELECT * INTO arch FROM @extschema@.automl_model_arch a WHERE a.name = cfg->>'model';
            IF NOT FOUND THEN
                RAISE EXCEPTION 'model "%" does not exist', cfg->>'model' USING ERRCODE = 'undefined_object',
                    HINT = 'Add it with automl_add_model().';
            END IF;
            PERFORM @extschema@.automl_check_model_data(arch, tinfo, @extschema@.automl_display_name(train));
            trials := trials || jsonb_build_array(jsonb_build_object('model', arch.name,
                'params', @extschema@.automl_params_canonical(coalesce(nullif(cfg->'params', 'null'), '{}'))));
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT, st = RETURNED_SQLSTATE;
            PERFORM @extschema@.automl_raise(st, format('configuration %s of %s: %s', i + 1, jsonb_array_length(configs), msg),
                                             det, hnt);
        END;
        i := i + 1;
    END LOOP;
    command := jsonb_build_object('kind', 'create', 'train', @extschema@.automl_qualified_name(tinfo.output_table),
                                  'validation', @extschema@.automl_qualified_name(vinfo.output_table),
                                  'epochs', epochs, 'seed', coalesce(seed, 0), 'top_k', top_k, 'trials', trials);
    segments := tinfo.segments;
END $$;

-- automl_fit_multiple() once the table names are schema-qualified.
CREATE FUNCTION automl_fit_multiple_impl(train text, configs jsonb, epochs int, validation text, seed bigint, top_k int)
RETURNS SETOF automl_leaderboard
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
    id bigint;
BEGIN
    c := @extschema@.automl_fit_multiple_command(train, configs, epochs, validation, seed, top_k);
    id := @extschema@.automl_mop_run(c.command, c.segments);
    RETURN QUERY SELECT * FROM @extschema@.automl_leaderboard l WHERE l.run_id = id ORDER BY l.rank, l.trial;
END $$;
CREATE FUNCTION automl_fit_multiple(train text, configs jsonb, epochs int DEFAULT 10, validation text DEFAULT NULL,
                                    seed bigint DEFAULT 0, top_k int DEFAULT 5)
RETURNS SETOF automl_leaderboard
LANGUAGE sql AS $$
SELECT * FROM @extschema@.automl_fit_multiple_impl(@extschema@.automl_resolve_table(train), configs, epochs,
                                                   @extschema@.automl_resolve_table(validation), seed, top_k) $$;
COMMENT ON FUNCTION automl_fit_multiple(text, jsonb, int, text, bigint, int) IS
    'Trains several configurations at once with model hopper parallelism; every hop is committed, automl_resume() continues';

-- The same run as a procedure: called outside a transaction block, it
-- holds no snapshot while the run goes on (automl_mop_drive), so vacuum
-- reclaims the states it supersedes.  The run's id comes back as run_id.
CREATE PROCEDURE automl_fit_multiple_proc(train text, configs jsonb, epochs int DEFAULT 10, validation text DEFAULT NULL,
                                          seed bigint DEFAULT 0, top_k int DEFAULT 5, INOUT run_id bigint DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    c pg_catalog.record;  -- (qualified like every name here)
BEGIN
    -- (not pinned to a search_path, which would make the procedure atomic:
    -- like the wrappers above, it names nothing unqualified)
    c := @extschema@.automl_fit_multiple_command(@extschema@.automl_resolve_table(train), configs, epochs,
                                                 @extschema@.automl_resolve_table(validation), seed, top_k);
    CALL @extschema@.automl_mop_drive(c.command, c.segments, run_id);
END $$;
COMMENT ON PROCEDURE automl_fit_multiple_proc(text, jsonb, int, text, bigint, int, bigint) IS
    'automl_fit_multiple() as a procedure: outside a transaction block it lets vacuum work during the run';

-- What automl_resume() checks and the command it gives the driver (which
-- finds the run's tables itself: automl_check_run_command).
CREATE FUNCTION automl_resume_command(run_id bigint, OUT command jsonb, OUT segments int)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r @extschema@.automl_runs;
    tinfo @extschema@.automl_prepared;
    vinfo @extschema@.automl_prepared;
    tbl text;
    recorded jsonb;
    present jsonb;
BEGIN
    PERFORM @extschema@.automl_check_isolation();
    IF run_id IS NULL THEN
        RAISE EXCEPTION 'run id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO r FROM @extschema@.automl_runs x WHERE x.run_id = automl_resume_command.run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', run_id USING ERRCODE = 'undefined_object',
            HINT = 'See the table automl_runs.';
    END IF;
    PERFORM @extschema@.automl_check_run_owner(r);
    IF r.status <> 'running' THEN
        RAISE EXCEPTION 'run % is % and cannot be resumed', run_id, r.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF @extschema@.automl_run_is_driven(r.run_id) THEN
        RAISE EXCEPTION 'run % is already running', run_id USING ERRCODE = 'object_in_use',
            HINT = 'See automl_progress; a run is driven by one session at a time.';
    END IF;
    -- The data must still be there, as the same automl_prepare() wrote it:
    -- the resumed run must give what an uninterrupted one would.
    tinfo := @extschema@.automl_prepared_info(r.train_table);
    IF r.validation_table IS NOT NULL THEN
        vinfo := @extschema@.automl_prepared_info(r.validation_table);
    END IF;
    FOR tbl, recorded, present IN VALUES (r.train_table, r.train_prepared, @extschema@.automl_prepared_key(tinfo)),
                                (r.validation_table, r.validation_prepared, @extschema@.automl_prepared_key(vinfo)) LOOP
        IF recorded IS DISTINCT FROM present THEN
            RAISE EXCEPTION 'run % cannot be resumed: "%" was prepared again since the run started', run_id, tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('The run read the buffers automl_prepare() wrote at %s UTC; the table now holds those written at %s UTC.',
                                      recorded->>'created_at', present->>'created_at'),
                      HINT = 'Start a new run with automl_fit_multiple(): a resumed run must read the same buffers.';
        END IF;
    END LOOP;
    PERFORM @extschema@.automl_check_run_tables(tinfo, vinfo);
    -- Segments of an interrupted driver stop at their next interrupt check;
    -- one still committing its unit would collide with the resumed run.
    FOR i IN 1 .. 300 LOOP
        PERFORM pg_catalog.pg_stat_clear_snapshot();
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.backend_type = 'pg_automl segment'
                                 AND a.application_name LIKE format('pg_automl run %s segment %%', r.run_id));
        IF i = 300 THEN
            RAISE EXCEPTION 'segment processes of run % are still stopping', run_id USING ERRCODE = 'object_in_use',
                HINT = 'Try again in a moment.';
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    command := jsonb_build_object('kind', 'resume', 'run', r.run_id);
    segments := r.segments;
END $$;

CREATE FUNCTION automl_resume(run_id bigint)
RETURNS SETOF automl_leaderboard
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
BEGIN
    c := @extschema@.automl_resume_command(run_id);
    PERFORM @extschema@.automl_mop_run(c.command, c.segments);
    RETURN QUERY SELECT * FROM @extschema@.automl_leaderboard l WHERE l.run_id = automl_resume.run_id ORDER BY l.rank, l.trial;
END $$;
COMMENT ON FUNCTION automl_resume(bigint) IS 'Continues an interrupted run from its last committed hop';

-- automl_resume() as a procedure (see automl_fit_multiple_proc).
CREATE PROCEDURE automl_resume_proc(run_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c pg_catalog.record;  -- (qualified like every name here)
    id bigint;
BEGIN
    c := @extschema@.automl_resume_command(run_id);
    CALL @extschema@.automl_mop_drive(c.command, c.segments, id);
END $$;
COMMENT ON PROCEDURE automl_resume_proc(bigint) IS
    'automl_resume() as a procedure: outside a transaction block it lets vacuum work during the run';

-- Stops a run from any session, as cancelling its caller would: committed
-- hops stay, automl_resume() continues it.
CREATE FUNCTION automl_cancel(run_id bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    driver int;
    r @extschema@.automl_runs;
BEGIN
    SELECT * INTO r FROM @extschema@.automl_runs x WHERE x.run_id = automl_cancel.run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', run_id USING ERRCODE = 'undefined_object',
            HINT = 'See the table automl_runs.';
    END IF;
    PERFORM @extschema@.automl_check_run_owner(r);
    driver := @extschema@.automl_run_driver(run_id);
    IF driver IS NULL THEN
        RAISE EXCEPTION 'run % is not running', run_id USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'See automl_progress.';
    END IF;
    RETURN pg_catalog.pg_cancel_backend(driver);
END $$;
COMMENT ON FUNCTION automl_cancel(bigint) IS 'Stops a running model selection run cleanly; automl_resume() continues it';
