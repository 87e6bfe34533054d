// How much activation memory one forward pass may take.
//
// Model specs bound the size of a layer per sample, and packed buffers the
// bytes per call, but a tiny buffer of many one-feature rows fed to a wide
// layer still asks for rows x activations floats: a 2 kB buffer of 256 rows
// and a 1-to-1,048,576 Linear layer took 2 GB in one prediction, outside
// PostgreSQL's memory accounting.  Every forward pass is checked against a
// process-wide limit (pg_automl.max_activation_memory_mb): evaluation and
// prediction split a buffer into passes that fit, training refuses a
// minibatch that does not (splitting it would change the optimizer steps).
#pragma once

#include <cstdint>

#include "pg_automl/model_spec.h"

namespace pg_automl {

// The limit in bytes; 0 means none.  Set by the glue from its setting.
void SetActivationMemoryLimit(int64_t bytes);
int64_t ActivationMemoryLimit();

// Bytes of activations that a pass of `rows` rows through `spec` keeps:
// 4 per element of every layer's output, twice when training (the
// gradients of the saved activations), and for evaluation and prediction 16
// more per output (log-softmax or softmax, top-k values and indices);
// saturating.
int64_t ActivationBytes(const ModelSpec& spec, int64_t rows, bool training);

// Rows one pass may take within the limit (at least `rows` when there is no
// limit); throws Error(ProgramLimit) when not even one row fits.
int64_t RowsWithinActivationLimit(const ModelSpec& spec, int64_t rows, bool training);

// Throws Error(ProgramLimit) unless a training minibatch of `rows` rows fits.
void CheckTrainingBatch(const ModelSpec& spec, int64_t rows);

}  // namespace pg_automl
