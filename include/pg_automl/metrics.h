// Loss and accuracy of a pass over some buffers, accumulated per buffer and
// merged across buffers (and, later, across segments).
#pragma once

#include <cstdint>

namespace pg_automl {

struct PassStats {
  int64_t rows = 0;
  double loss_sum = 0;        // sum over rows of the per-row loss
  int64_t correct = 0;        // top-1 hits (classification)
  int64_t topk_correct = 0;   // top-k hits (classification)
  int64_t top_k = 1;
  bool classification = true;

  void Merge(const PassStats& other);
  double Loss() const;        // mean loss per row; NaN without rows
  double Accuracy() const;    // NaN for regression or without rows
  double TopKAccuracy() const;
};

}  // namespace pg_automl
