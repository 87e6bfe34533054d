-- The model catalog: automl_add_model() with every layer type, and the
-- validation of model specs and training parameters.  Every bad spec must
-- give a message naming the layer index and the field, with SQLSTATE 22023
-- (invalid_parameter_value) unless noted.
\set SHOW_CONTEXT never
-- After a statement that must fail: its SQLSTATE (or "no error").
\set sqlstate '\\if :ERROR \\echo SQLSTATE: :LAST_ERROR_SQLSTATE \\else \\echo no error \\endif'
SET client_min_messages = warning;

-- The layers of a catalog entry, one row each.
CREATE FUNCTION show_layers(model text)
RETURNS TABLE (i int, type text, output_shape jsonb, fields jsonb)
LANGUAGE sql AS $$
  SELECT (n - 1)::int, l->>'type', l->'output_shape', l - 'type' - 'output_shape'
    FROM automl_model_arch a, jsonb_array_elements(a.spec->'layers') WITH ORDINALITY AS e(l, n)
   WHERE a.name = model ORDER BY n $$;

------------------------------------------------------------------------------
-- Every layer type
------------------------------------------------------------------------------

-- An MLP: Linear, ReLU, Dropout, BatchNorm1d, LeakyReLU, GELU, Tanh, Sigmoid.
SELECT name, input_shape, outputs, parameters, description
  FROM automl_add_model('mlp_all', '{"input_shape": [784], "layers": [
        {"type": "Linear", "out_features": 64},
        {"type": "BatchNorm1d"},
        {"type": "ReLU"},
        {"type": "Dropout", "p": 0.25},
        {"type": "Linear", "out_features": 32, "in_features": 64, "bias": false},
        {"type": "LeakyReLU", "negative_slope": 0.2},
        {"type": "Linear", "out_features": 16},
        {"type": "GELU"},
        {"type": "Linear", "out_features": 16},
        {"type": "Tanh"},
        {"type": "Linear", "out_features": 16},
        {"type": "Sigmoid"},
        {"type": "Linear", "out_features": 10}]}', 'every 1-D layer type');
SELECT * FROM show_layers('mlp_all');
-- 784*64+64 + 2*64 + 64*32 + 32*16+16 + 16*16+16 + 16*16+16 + 16*10+10
SELECT 784*64+64 + 2*64 + 64*32 + 32*16+16 + 16*16+16 + 16*16+16 + 16*10+10 AS expected_parameters;

-- A CNN: Reshape, Conv2d, BatchNorm2d, MaxPool2d, AvgPool2d, Flatten; layer
-- type names are matched case-insensitively and stored canonically.
SELECT name, input_shape, outputs, parameters
  FROM automl_add_model('cnn_all', '{"input_shape": [784], "layers": [
        {"type": "Reshape", "shape": [1, 28, 28]},
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d", "num_features": 8, "eps": 0.001, "momentum": 0.2},
        {"type": "RELU"},
        {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Conv2d", "in_channels": 8, "out_channels": 4, "kernel_size": [3, 5], "stride": [1, 2], "padding": [1, 2], "bias": false},
        {"type": "AvgPool2d", "kernel_size": 2, "stride": 1},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 10}]}');
SELECT * FROM show_layers('cnn_all');
-- conv 8*1*3*3+8, batchnorm 2*8, conv 4*8*3*5, linear 4*13*6*10+10
SELECT 8*1*3*3+8 + 2*8 + 4*8*3*5 + 4*13*6*10+10 AS expected_parameters;

-- A 3-D input that needs no Reshape, and a minimal model.
SELECT name, input_shape, outputs, parameters
  FROM automl_add_model('cnn_3d', '{"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 28}, {"type": "Flatten"},
        {"type": "Linear", "out_features": 10}]}');
SELECT * FROM show_layers('cnn_3d');
SELECT name, input_shape, outputs, parameters
  FROM automl_add_model('tiny', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 3}]}',
                        description => 'logistic regression');
SELECT spec FROM automl_model_arch WHERE name = 'tiny';
-- The canonical spec is accepted as input again and gives itself back.
SELECT (automl_spec_info(spec)).spec = spec AS canonical_is_fixed_point FROM automl_model_arch ORDER BY name;

------------------------------------------------------------------------------
-- Duplicates and replace
------------------------------------------------------------------------------

SELECT name FROM automl_add_model('tiny', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT name, outputs, parameters, description
  FROM automl_add_model('tiny', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2}]}',
                        'replaced', replace => true);
-- replace => true with a bad spec leaves the old entry alone.
SELECT name FROM automl_add_model('tiny', '{"input_shape": [4], "layers": []}', replace => true);
:sqlstate
SELECT name, outputs, description FROM automl_model_arch WHERE name = 'tiny';
-- replace => true of a model that does not exist simply adds it.
SELECT name, outputs FROM automl_add_model('tiny2', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2}]}',
                                           replace => true);
SELECT name, input_shape, outputs, parameters, description FROM automl_model_arch ORDER BY name;

------------------------------------------------------------------------------
-- Bad specs
------------------------------------------------------------------------------

-- Name and spec
SELECT automl_add_model('', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model(NULL, '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', NULL);
:sqlstate
SELECT automl_add_model('bad', '[]');
:sqlstate
SELECT automl_add_model('bad', '"Linear"');
:sqlstate
SELECT automl_add_model('bad', '{}');
:sqlstate
-- input_shape
SELECT automl_add_model('bad', '{"layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": 4, "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [0], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [-4], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4.5], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": ["4"], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 2, 3, 4], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [100000, 100000], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
-- unrecognized top-level field
SELECT automl_add_model('bad', '{"input_shape": [4], "layer": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
-- layers
SELECT automl_add_model('bad', '{"input_shape": [4]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": []}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": {"type": "Linear"}}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": ["Linear"]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": 7}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 8}, {"type": "Softmax"}]}');
:sqlstate
-- missing, mistyped and unrecognized fields
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 8}, {"type": "ReLU"}, {"type": "Linear"}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": "8"}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 8.5}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2, "bias": "yes"}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2, "out_feature": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2}, {"type": "ReLU", "inplace": true}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2, "in_features": 5}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 8}, {"type": "Dropout", "p": 1}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 8}, {"type": "Dropout", "p": -0.1}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 8}, {"type": "Dropout", "p": "half"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "BatchNorm1d", "eps": 0}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "BatchNorm1d", "num_features": 5}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "BatchNorm1d", "momentum": 2}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 4, 4], "layers": [{"type": "Conv2d", "out_channels": 2}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 4, 4], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": [3]}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 4, 4], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 0}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 4, 4], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "stride": 0}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 4, 4], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "in_channels": 3}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 4, 4], "layers": [{"type": "MaxPool2d", "kernel_size": 2, "padding": 2}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Reshape"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Reshape", "shape": [3]}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Reshape", "shape": [-1, 2]}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "LeakyReLU", "negative_slope": "x"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
-- a wrong output_shape assertion
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 2, "output_shape": [3]}]}');
:sqlstate
-- shapes that do not chain
SELECT automl_add_model('bad', '{"input_shape": [784], "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 28, 28], "layers": [{"type": "MaxPool2d", "kernel_size": 2}, {"type": "BatchNorm1d"}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 8}, {"type": "BatchNorm2d"}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 8}, {"type": "MaxPool2d", "kernel_size": 2}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
-- kernel larger than the input
SELECT automl_add_model('bad', '{"input_shape": [1, 4, 4], "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 5}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 28, 28], "layers": [{"type": "MaxPool2d", "kernel_size": 2}, {"type": "MaxPool2d", "kernel_size": 2}, {"type": "MaxPool2d", "kernel_size": 2}, {"type": "AvgPool2d", "kernel_size": 4}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
-- absurd sizes
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 1000000000}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 1e9}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 0}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 65536}, {"type": "Linear", "out_features": 10}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 65536, "kernel_size": 1, "stride": 1}, {"type": "Flatten"}, {"type": "Linear", "out_features": 10}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1000}, {"type": "Flatten"}, {"type": "Linear", "out_features": 10}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [1, 1000, 1000], "layers": [{"type": "Conv2d", "out_channels": 100, "kernel_size": 1}, {"type": "Flatten"}, {"type": "Linear", "out_features": 10}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 9223372036854775808}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Linear", "out_features": 1e30}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [18446744073709551615], "layers": [{"type": "Linear", "out_features": 2}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Reshape", "shape": [1, 1, 2, 2]}, {"type": "MaxPool2d", "kernel_size": 1}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
:sqlstate
-- the last layer is not 1-D
SELECT automl_add_model('bad', '{"input_shape": [1, 28, 28], "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3}]}');
:sqlstate
SELECT automl_add_model('bad', '{"input_shape": [4], "layers": [{"type": "Reshape", "shape": [2, 2]}]}');
:sqlstate
-- none of the failures above added anything
SELECT name FROM automl_model_arch ORDER BY name;

------------------------------------------------------------------------------
-- automl_spec_info directly
------------------------------------------------------------------------------

SELECT input_shape, outputs, parameters, spec->'layers'->0 AS layer0
  FROM automl_spec_info('{"input_shape": [2, 3], "layers": [{"type": "Linear", "out_features": 5}, {"type": "Flatten"}, {"type": "Linear", "out_features": 2}]}');
-- name and description are tolerated (and dropped from the canonical form)
SELECT spec FROM automl_spec_info('{"name": "x", "description": "y", "input_shape": [3], "layers": [{"type": "Sigmoid"}]}');
SELECT automl_spec_info(NULL) IS NULL AS strict_null;
SELECT * FROM automl_spec_info('{"input_shape": [3], "layers": [{"type": "Linear", "out_features": 2}], "extra": 1}');
:sqlstate

------------------------------------------------------------------------------
-- automl_params_canonical
------------------------------------------------------------------------------

SELECT automl_params_canonical('{}');
SELECT automl_params_canonical(NULL);
SELECT automl_params_canonical('{"optimizer": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": true, "batch_size": 32}');
SELECT automl_params_canonical('{"optimizer": "adamw", "betas": [0.8, 0.99], "amsgrad": true, "weight_decay": 0.05}');
SELECT automl_params_canonical('{"optimizer": "rmsprop", "alpha": 0.9, "momentum": 0.5, "centered": true}');
SELECT automl_params_canonical('{"optimizer": "adagrad", "lr_decay": 0.01, "eps": 1e-6}');
-- the canonical form is a fixed point
SELECT automl_params_canonical(automl_params_canonical('{"optimizer": "sgd", "momentum": 0.9}'))
     = automl_params_canonical('{"optimizer": "sgd", "momentum": 0.9}') AS fixed_point;
-- bad parameters: all 22023
SELECT automl_params_canonical('{"lr": -0.1}');
:sqlstate
SELECT automl_params_canonical('{"lr": 0}');
:sqlstate
SELECT automl_params_canonical('{"lr": "fast"}');
:sqlstate
SELECT automl_params_canonical('{"lr": 100}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "lbfgs"}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": 1}');
:sqlstate
SELECT automl_params_canonical('{"learning_rate": 0.1}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "adam", "momentum": 0.9}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "sgd", "betas": [0.9, 0.99]}');
:sqlstate
SELECT automl_params_canonical('{"betas": [0.9, 1.0]}');
:sqlstate
SELECT automl_params_canonical('{"betas": [-0.1, 0.9]}');
:sqlstate
SELECT automl_params_canonical('{"betas": [0.9]}');
:sqlstate
SELECT automl_params_canonical('{"betas": "0.9,0.99"}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "sgd", "nesterov": true}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "sgd", "momentum": 0.9, "dampening": 0.1, "nesterov": true}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "sgd", "momentum": 1}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "sgd", "nesterov": "yes", "momentum": 0.9}');
:sqlstate
SELECT automl_params_canonical('{"amsgrad": 1}');
:sqlstate
SELECT automl_params_canonical('{"eps": 0}');
:sqlstate
SELECT automl_params_canonical('{"weight_decay": 2}');
:sqlstate
SELECT automl_params_canonical('{"batch_size": 0}');
:sqlstate
SELECT automl_params_canonical('{"batch_size": 10.5}');
:sqlstate
SELECT automl_params_canonical('{"batch_size": "64"}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "rmsprop", "alpha": 1.5}');
:sqlstate
SELECT automl_params_canonical('{"optimizer": "adagrad", "lr_decay": -1}');
:sqlstate
SELECT automl_params_canonical('[]');
:sqlstate
SELECT automl_params_canonical('"adam"');
:sqlstate
