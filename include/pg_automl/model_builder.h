// Turns a validated ModelSpec into a torch module.  Core-only header: it
// includes torch, so the PostgreSQL glue never includes it.
#pragma once

#include <torch/nn/modules/container/sequential.h>

#include "pg_automl/model_spec.h"

namespace pg_automl {

// Builds the layers of `spec` in order.  Parameters are initialised from
// torch's default generator, so seed it first for a reproducible model.
torch::nn::Sequential BuildModule(const ModelSpec& spec);

}  // namespace pg_automl
