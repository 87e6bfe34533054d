// Tensor-level metric helpers (core-only: includes torch).
#pragma once

#include <ATen/core/Tensor.h>

namespace pg_automl {

// Rows whose label is among the k largest logits, as a 0-dim int64 tensor on
// the logits' device (summed without a host sync).
at::Tensor CountTopK(const at::Tensor& logits, const at::Tensor& labels, int64_t k);

}  // namespace pg_automl
