#include "pg_automl/metrics.h"

#include <cmath>

#include <torch/torch.h>

#include "pg_automl/metric_ops.h"

namespace pg_automl {

void PassStats::Merge(const PassStats& o) {
  rows += o.rows;
  loss_sum += o.loss_sum;
  correct += o.correct;
  topk_correct += o.topk_correct;
  top_k = o.top_k;
  classification = o.classification;
}

double PassStats::Loss() const { return rows ? loss_sum / double(rows) : NAN; }

double PassStats::Accuracy() const {
  return rows && classification ? double(correct) / double(rows) : NAN;
}

double PassStats::TopKAccuracy() const {
  return rows && classification ? double(topk_correct) / double(rows) : NAN;
}

at::Tensor CountTopK(const at::Tensor& logits, const at::Tensor& labels, int64_t k) {
  k = std::min<int64_t>(k, logits.size(1));
  if (k == 1) return logits.argmax(1).eq(labels).sum();
  auto top = std::get<1>(logits.topk(k, 1));
  return top.eq(labels.unsqueeze(1)).any(1).sum();
}

}  // namespace pg_automl
