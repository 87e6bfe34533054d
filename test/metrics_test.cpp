// Pass statistics, the top-k counter, and how exceptions are described to
// the PostgreSQL boundary.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <new>
#include <stdexcept>

#include "pg_automl/errors.h"
#include "pg_automl/metric_ops.h"
#include "pg_automl/metrics.h"

namespace pg_automl {
namespace {

TEST(PassStats, EmptyIsNaN) {
  PassStats s;
  EXPECT_EQ(s.rows, 0);
  EXPECT_TRUE(std::isnan(s.Loss()));
  EXPECT_TRUE(std::isnan(s.Accuracy()));
  EXPECT_TRUE(std::isnan(s.TopKAccuracy()));
  PassStats merged;
  merged.Merge(PassStats{});
  EXPECT_TRUE(std::isnan(merged.Loss())) << "merging empty passes still has no rows";
}

TEST(PassStats, LossAndAccuracies) {
  PassStats s;
  s.rows = 8;
  s.loss_sum = 4.0;
  s.correct = 6;
  s.topk_correct = 7;
  s.top_k = 3;
  EXPECT_DOUBLE_EQ(s.Loss(), 0.5);
  EXPECT_DOUBLE_EQ(s.Accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(s.TopKAccuracy(), 0.875);
  s.classification = false;
  EXPECT_DOUBLE_EQ(s.Loss(), 0.5);
  EXPECT_TRUE(std::isnan(s.Accuracy())) << "regression has no accuracy";
  EXPECT_TRUE(std::isnan(s.TopKAccuracy()));
}

TEST(PassStats, MergeSums) {
  PassStats a;
  a.rows = 10;
  a.loss_sum = 5;
  a.correct = 4;
  a.topk_correct = 8;
  a.top_k = 2;
  PassStats b;
  b.rows = 30;
  b.loss_sum = 3;
  b.correct = 26;
  b.topk_correct = 28;
  b.top_k = 2;
  PassStats total;
  total.Merge(a);
  total.Merge(b);
  EXPECT_EQ(total.rows, 40);
  EXPECT_DOUBLE_EQ(total.loss_sum, 8);
  EXPECT_EQ(total.correct, 30);
  EXPECT_EQ(total.topk_correct, 36);
  EXPECT_EQ(total.top_k, 2);
  EXPECT_TRUE(total.classification);
  // Row-weighted, not the mean of the per-pass means.
  EXPECT_DOUBLE_EQ(total.Loss(), 0.2);
  EXPECT_DOUBLE_EQ(total.Accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(total.TopKAccuracy(), 0.9);

  PassStats r1, r2, reg;
  r1.rows = 2;
  r1.loss_sum = 1;
  r1.classification = false;
  r2 = r1;
  reg.Merge(r1);
  reg.Merge(r2);
  EXPECT_FALSE(reg.classification) << "a merge of regression passes is a regression pass";
  EXPECT_DOUBLE_EQ(reg.Loss(), 0.5);
  EXPECT_TRUE(std::isnan(reg.Accuracy()));
}

TEST(CountTopK, HandMadeLogits) {
  // Row 0: order 2 > 0 > 1 (label 2: top-1 hit)
  // Row 1: order 1 > 2 > 0 (label 2: top-2 hit)
  // Row 2: order 0 > 1 > 2 (label 2: top-3 only)
  // Row 3: order 1 > 0 > 2 (label 1: top-1 hit)
  at::Tensor logits = torch::tensor({0.5f, -1.0f, 2.0f,  //
                                     -3.0f, 4.0f, 1.0f,   //
                                     9.0f, 8.0f, 7.0f,    //
                                     0.1f, 0.2f, -0.3f})
                          .view({4, 3});
  at::Tensor labels = torch::tensor({2, 2, 2, 1}, torch::kLong);
  auto count = [&](int64_t k) {
    at::Tensor c = CountTopK(logits, labels, k);
    EXPECT_EQ(c.dim(), 0) << "k=" << k;
    EXPECT_EQ(c.scalar_type(), at::kLong) << "k=" << k;
    return c.item<int64_t>();
  };
  EXPECT_EQ(count(1), 2);
  EXPECT_EQ(count(2), 3);
  EXPECT_EQ(count(3), 4);
  EXPECT_EQ(count(10), 4) << "k larger than the class count is clamped";
}

TEST(CountTopK, AgreesWithABruteForceCount) {
  torch::manual_seed(3);
  at::Tensor logits = torch::randn({500, 7});
  at::Tensor labels = torch::randint(0, 7, {500}, torch::kLong);
  auto rank_of_label = [&](int64_t row) {
    float v = logits[row][labels[row].item<int64_t>()].item<float>();
    return (logits[row] > v).sum().item<int64_t>();  // classes strictly better
  };
  std::vector<int64_t> ranks;
  for (int64_t r = 0; r < 500; ++r) ranks.push_back(rank_of_label(r));
  for (int64_t k = 1; k <= 7; ++k) {
    int64_t want = 0;
    for (int64_t rank : ranks) want += rank < k;
    EXPECT_EQ(CountTopK(logits, labels, k).item<int64_t>(), want) << "k=" << k;
  }
}

// ---- errors -------------------------------------------------------------------

template <typename F>
ErrorReport Describe(F&& throw_it) {
  try {
    throw_it();
  } catch (...) {
    return DescribeCurrentException();
  }
  ADD_FAILURE() << "nothing was thrown";
  return {};
}

TEST(Errors, DescribeCurrentException) {
  ErrorReport r = Describe([] { throw Error(ErrorKind::DataCorrupted, "msg", "det", "hint"); });
  EXPECT_EQ(r.kind, ErrorKind::DataCorrupted);
  EXPECT_EQ(r.message, "msg");
  EXPECT_EQ(r.detail, "det");
  EXPECT_EQ(r.hint, "hint");

  r = Describe([] { throw Error(ErrorKind::Interrupted, "stop"); });
  EXPECT_EQ(r.kind, ErrorKind::Interrupted);

  r = Describe([] { torch::zeros({2, 3}).matmul(torch::zeros({4, 5})); });
  EXPECT_EQ(r.kind, ErrorKind::InvalidParameter) << r.message;
  EXPECT_FALSE(r.detail.empty()) << "libtorch's message belongs in the detail";
  EXPECT_EQ(r.detail.find("frame #"), std::string::npos) << "no backtrace for SQL users: " << r.detail;

  r = Describe([] { throw std::bad_alloc(); });
  EXPECT_EQ(r.kind, ErrorKind::OutOfMemory);

  // A CPU tensor larger than the process may allocate: libtorch's allocator
  // says so in a plain c10::Error, which must still read as out of memory.
  r = Describe([] { torch::empty({int64_t(1) << 62}, torch::kByte); });
  EXPECT_EQ(r.kind, ErrorKind::OutOfMemory) << r.message << ": " << r.detail;
  EXPECT_NE(r.detail.find("allocate"), std::string::npos) << r.detail;

  r = Describe([] { throw std::logic_error("oops"); });
  EXPECT_EQ(r.kind, ErrorKind::Internal);
  EXPECT_EQ(r.message, "oops");

  r = Describe([] { throw 42; });
  EXPECT_EQ(r.kind, ErrorKind::Internal);
  EXPECT_FALSE(r.message.empty());
}

}  // namespace
}  // namespace pg_automl
