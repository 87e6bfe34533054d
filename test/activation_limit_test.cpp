// The activation limit: what a spec costs per row, how evaluation and
// prediction split a buffer to stay within it (with the same results as one
// pass), and that training refuses a minibatch beyond it.
#include <gtest/gtest.h>

#include "pg_automl/activation_limit.h"
#include "pg_automl/errors.h"
#include "pg_automl/model_spec.h"
#include "pg_automl/trainer.h"
#include "test_util.h"

namespace pg_automl {
namespace {

using testing_util::ThrowsError;
using testing_util::View;

// Restores "no limit" after each test: the limit is process-wide.
class ActivationLimit : public ::testing::Test {
 protected:
  void TearDown() override { SetActivationMemoryLimit(0); }
};

const char* kWide = R"({"input_shape": [4], "layers": [{"type": "Linear", "out_features": 1000},
                        {"type": "ReLU"}, {"type": "Linear", "out_features": 3}]})";

// Bytes per row of kWide: 2007 elements; evaluation adds 16 per output.
constexpr int64_t kEvalRow = 2007 * 4 + 3 * 16, kTrainRow = 2007 * 8;

TEST_F(ActivationLimit, CountsTheInputAndEveryLayerOutput) {
  ModelSpec spec = ParseModelSpec(kWide);
  EXPECT_EQ(spec.activation_elements, 4 + 1000 + 1000 + 3);
  EXPECT_EQ(ActivationBytes(spec, 10, false), 10 * kEvalRow);
  EXPECT_EQ(ActivationBytes(spec, 10, true), 10 * kTrainRow);
  EXPECT_EQ(ActivationBytes(spec, INT64_MAX / 2, true), INT64_MAX);
}

// A convolution unfolds its input (im2col): 3 channels x 5x5 kernel for
// each of the 8x8 output positions, beside its 16x8x8 output.
TEST_F(ActivationLimit, CountsTheUnfoldedInputOfConvolutions) {
  ModelSpec spec = ParseModelSpec(R"({"input_shape": [3, 8, 8], "layers": [
      {"type": "Conv2d", "out_channels": 16, "kernel_size": 5, "padding": 2}, {"type": "Flatten"},
      {"type": "Linear", "out_features": 2}]})");
  EXPECT_EQ(spec.activation_elements, 3 * 8 * 8 + 16 * 8 * 8 + 3 * 5 * 5 * 8 * 8 + 16 * 8 * 8 + 2);
  // Saturates rather than overflows for the widest convolution a spec allows.
  ModelSpec huge = ParseModelSpec(R"({"input_shape": [1, 8192, 8192], "layers": [
      {"type": "Conv2d", "out_channels": 1, "kernel_size": 1023, "padding": 511},
      {"type": "MaxPool2d", "kernel_size": 1024}, {"type": "Flatten"},
      {"type": "Linear", "out_features": 2}]})");
  EXPECT_GT(huge.activation_elements, int64_t(1) << 40);
  SetActivationMemoryLimit(int64_t(1) << 30);
  EXPECT_TRUE(ThrowsError([&] { RowsWithinActivationLimit(huge, 1, false); }, ErrorKind::ProgramLimit));
}

TEST_F(ActivationLimit, RowsPerPassFollowTheLimit) {
  ModelSpec spec = ParseModelSpec(kWide);
  EXPECT_EQ(RowsWithinActivationLimit(spec, 500, false), 500);  // no limit
  SetActivationMemoryLimit(kEvalRow * 100);
  EXPECT_EQ(RowsWithinActivationLimit(spec, 500, false), 100);
  EXPECT_EQ(RowsWithinActivationLimit(spec, 500, true), 50);
  SetActivationMemoryLimit(kEvalRow - 1);
  EXPECT_TRUE(ThrowsError([&] { RowsWithinActivationLimit(spec, 500, false); }, ErrorKind::ProgramLimit,
                          {"one row of this model needs"}));
}

TEST_F(ActivationLimit, TrainingRefusesAMinibatchBeyondIt) {
  ModelSpec spec = ParseModelSpec(kWide);
  SetActivationMemoryLimit(kTrainRow * 64);
  EXPECT_NO_THROW(CheckTrainingBatch(spec, 64));
  EXPECT_TRUE(ThrowsError([&] { CheckTrainingBatch(spec, 65); }, ErrorKind::ProgramLimit,
                          {"a training step of 65 rows needs", "more than the limit"}));

  auto data = testing_util::MakeClassification(200, 4, 3, 7);
  std::string buf = testing_util::Pack(data, LabelKind::ClassIndex);
  auto whole = Trainer::Create(spec, ParseTrainParams("{}"), Task::Classification, 3, "cpu");
  EXPECT_TRUE(ThrowsError([&] { whole->Train(View(buf), {}); }, ErrorKind::ProgramLimit));
  // Minibatches of 50 rows fit; nothing was trained by the refused call.
  auto batched = Trainer::Create(spec, ParseTrainParams(R"({"batch_size": 50})"), Task::Classification, 3, "cpu");
  EXPECT_EQ(batched->Train(View(buf), {}).rows, 200);
  EXPECT_EQ(whole->counters().steps, 0);
}

TEST_F(ActivationLimit, EvaluationAndPredictionSplitTheBufferAlike) {
  ModelSpec spec = ParseModelSpec(kWide);
  auto data = testing_util::MakeClassification(300, 4, 3, 11);
  std::string buf = testing_util::Pack(data, LabelKind::ClassIndex);
  auto t = Trainer::Create(spec, ParseTrainParams("{}"), Task::Classification, 5, "cpu");
  PassStats one = t->Evaluate(View(buf), 2);
  std::vector<Prediction> p1 = t->Predict(View(buf));
  SetActivationMemoryLimit(kEvalRow * 64);  // passes of 64 rows: 64 x 4 + 44
  PassStats split = t->Evaluate(View(buf), 2);
  std::vector<Prediction> p2 = t->Predict(View(buf));
  EXPECT_EQ(split.rows, 300);
  EXPECT_EQ(split.correct, one.correct);
  EXPECT_EQ(split.topk_correct, one.topk_correct);
  // (each pass sums its losses in single precision)
  EXPECT_NEAR(split.loss_sum, one.loss_sum, 1e-6 * std::abs(one.loss_sum));
  ASSERT_EQ(p2.size(), p1.size());
  for (size_t i = 0; i < p1.size(); ++i) {
    EXPECT_EQ(p2[i].class_index, p1[i].class_index) << "row " << i;
    EXPECT_NEAR(p2[i].probability, p1[i].probability, 1e-6) << "row " << i;
  }
}

}  // namespace
}  // namespace pg_automl
