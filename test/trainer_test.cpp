// The trainer: it learns, evaluates, predicts, checks its inputs, stops when
// interrupted; and the runtime's device settings.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>

#include "pg_automl/errors.h"
#include "pg_automl/model_spec.h"
#include "pg_automl/packed_buffer.h"
#include "pg_automl/runtime.h"
#include "pg_automl/train_params.h"
#include "pg_automl/trainer.h"
#include "test_util.h"

namespace pg_automl {
namespace {

using testing_util::Dataset;
using testing_util::MakeClassification;
using testing_util::MakeRegression;
using testing_util::Pack;
using testing_util::ThrowsError;
using testing_util::View;

const char* kMlp = R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":32},{"type":"ReLU"},
                       {"type":"Linear","out_features":3}]})";
const char* kMlpDropoutBn = R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":16},
                       {"type":"BatchNorm1d"},{"type":"ReLU"},{"type":"Dropout","p":0.3},
                       {"type":"Linear","out_features":3}]})";
const char* kRegressor = R"({"input_shape":[8],"layers":[{"type":"Linear","out_features":16},{"type":"Tanh"},
                       {"type":"Linear","out_features":1}]})";

bool SameWeights(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::unique_ptr<Trainer> Classifier(const char* spec = kMlp,
                                    const char* params = R"({"optimizer":"adam","lr":0.01,"batch_size":16})",
                                    uint64_t seed = 1) {
  return Trainer::Create(ParseModelSpec(spec), ParseTrainParams(params), Task::Classification, seed, "cpu");
}

TEST(Trainer, LearnsASeparableProblem) {
  auto t = Classifier();
  std::vector<std::string> train;
  for (uint32_t i = 0; i < 4; ++i)
    train.push_back(Pack(MakeClassification(64, 20, 3, 10 + i), LabelKind::ClassIndex));
  std::string held_out = Pack(MakeClassification(256, 20, 3, 99), LabelKind::ClassIndex);

  PassStats before = t->Evaluate(View(held_out), 1);
  ASSERT_TRUE(std::isfinite(before.Loss()));
  PassStats first_epoch, last_epoch;
  for (int epoch = 0; epoch < 25; ++epoch) {
    PassStats epoch_stats;
    for (const auto& b : train) epoch_stats.Merge(t->Train(View(b), nullptr));
    if (epoch == 0) first_epoch = epoch_stats;
    last_epoch = epoch_stats;
  }
  PassStats after = t->Evaluate(View(held_out), 1);
  EXPECT_EQ(first_epoch.rows, 256);
  EXPECT_LT(last_epoch.Loss(), 0.5 * first_epoch.Loss()) << "training loss did not fall";
  EXPECT_GT(last_epoch.Accuracy(), 0.9) << "training accuracy";
  EXPECT_LT(after.Loss(), 0.6 * before.Loss()) << "held-out loss did not fall: " << before.Loss() << " -> "
                                               << after.Loss();
  EXPECT_GT(after.Accuracy(), 0.75) << "held-out accuracy";
  EXPECT_EQ(t->counters().buffers, 100);
  EXPECT_EQ(t->counters().samples, 6400);
  EXPECT_EQ(t->counters().steps, 400);
}

TEST(Trainer, TrainReportsItsPass) {
  auto t = Classifier();
  std::string buf = Pack(MakeClassification(64, 20, 3, 1), LabelKind::ClassIndex);
  PassStats s = t->Train(View(buf), nullptr);
  EXPECT_EQ(s.rows, 64);
  EXPECT_TRUE(s.classification);
  EXPECT_GT(s.Loss(), 0);
  EXPECT_LT(s.Loss(), 10);
  EXPECT_GE(s.correct, 0);
  EXPECT_LE(s.correct, 64);
  EXPECT_EQ(t->task(), Task::Classification);
  EXPECT_EQ(t->outputs(), 3);
}

TEST(Trainer, StepsFollowBatchSize) {
  std::string buf = Pack(MakeClassification(64, 20, 3, 1), LabelKind::ClassIndex);
  struct Case {
    const char* params;
    int64_t steps;
  } cases[] = {{R"({"batch_size":16})", 4}, {R"({"batch_size":24})", 3}, {R"({"batch_size":64})", 1},
               {R"({"batch_size":1000})", 1}, {R"({})", 1}, {R"({"batch_size":1})", 64}};
  for (const auto& c : cases) {
    auto t = Classifier(kMlp, c.params);
    t->Train(View(buf), nullptr);
    t->Train(View(buf), nullptr);
    EXPECT_EQ(t->counters().steps, 2 * c.steps) << c.params;
    EXPECT_EQ(t->counters().samples, 128) << c.params;
    EXPECT_EQ(t->counters().buffers, 2) << c.params;
  }
}

TEST(Trainer, ClassIndexOutOfRange) {
  auto t = Classifier();
  for (double bad : {3.0, -1.0, 1000.0}) {
    Dataset d = MakeClassification(32, 20, 3, 5);
    d.y[17] = bad;
    std::string buf = Pack(d, LabelKind::ClassIndex);
    const std::vector<float> w = t->FlatWeights();
    EXPECT_TRUE(ThrowsError([&] { t->Train(View(buf), nullptr); }, ErrorKind::DataException,
                            {"class index " + std::to_string(int(bad))}));
    EXPECT_TRUE(SameWeights(w, t->FlatWeights())) << "a rejected buffer changed the weights";
    EXPECT_EQ(t->counters().steps, 0);
    EXPECT_EQ(t->counters().buffers, 0);
    EXPECT_TRUE(ThrowsError([&] { t->Evaluate(View(buf), 1); }, ErrorKind::DataException));
  }
}

TEST(Trainer, Regression) {
  auto t = Trainer::Create(ParseModelSpec(kRegressor),
                           ParseTrainParams(R"({"optimizer":"adam","lr":0.01,"batch_size":16})"), Task::Regression,
                           3, "cpu");
  EXPECT_EQ(t->task(), Task::Regression);
  EXPECT_EQ(t->outputs(), 1);
  Dataset d = MakeRegression(128, 8, 4);
  std::string buf = Pack(d, LabelKind::Target);
  PassStats before = t->Evaluate(View(buf), 5);
  EXPECT_FALSE(before.classification);
  EXPECT_TRUE(std::isnan(before.Accuracy())) << "regression has no accuracy";
  EXPECT_TRUE(std::isnan(before.TopKAccuracy()));
  ASSERT_TRUE(std::isfinite(before.Loss()));
  for (int i = 0; i < 60; ++i) {
    PassStats s = t->Train(View(buf), nullptr);
    EXPECT_TRUE(std::isnan(s.Accuracy()));
  }
  PassStats after = t->Evaluate(View(buf), 1);
  EXPECT_LT(after.Loss(), 0.2 * before.Loss()) << "MSE " << before.Loss() << " -> " << after.Loss();

  // Evaluate's loss is the summed squared error of Predict's values.
  std::vector<Prediction> p = t->Predict(View(buf));
  ASSERT_EQ(p.size(), d.y.size());
  double sse = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(p[i].class_index, -1);
    ASSERT_TRUE(std::isfinite(p[i].value));
    sse += (double(p[i].value) - float(d.y[i])) * (double(p[i].value) - float(d.y[i]));
  }
  EXPECT_NEAR(after.loss_sum, sse, 1e-4 * sse + 1e-6);
}

TEST(Trainer, TaskAndLabelsMustAgree) {
  auto clf = Classifier();
  auto reg = Trainer::Create(ParseModelSpec(kRegressor), ParseTrainParams(""), Task::Regression, 1, "cpu");
  std::string targets = Pack(MakeRegression(16, 20, 1), LabelKind::Target);
  std::string classes = Pack(MakeClassification(16, 8, 3, 1), LabelKind::ClassIndex);
  EXPECT_TRUE(ThrowsError([&] { clf->Train(View(targets), nullptr); }, ErrorKind::InvalidParameter));
  EXPECT_TRUE(ThrowsError([&] { reg->Train(View(classes), nullptr); }, ErrorKind::InvalidParameter));
  EXPECT_TRUE(ThrowsError([&] { reg->Evaluate(View(classes), 1); }, ErrorKind::InvalidParameter));
  // Output counts that do not fit the task.
  EXPECT_TRUE(ThrowsError(
      [] { Trainer::Create(ParseModelSpec(kMlp), ParseTrainParams(""), Task::Regression, 1, "cpu"); },
      ErrorKind::InvalidParameter, {"1 output"}));
  EXPECT_TRUE(ThrowsError(
      [] { Trainer::Create(ParseModelSpec(kRegressor), ParseTrainParams(""), Task::Classification, 1, "cpu"); },
      ErrorKind::InvalidParameter, {"2 outputs"}));
}

TEST(Trainer, EvaluateTopK) {
  auto t = Classifier();
  std::string buf = Pack(MakeClassification(200, 20, 3, 8), LabelKind::ClassIndex);
  t->Train(View(buf), nullptr);
  PassStats top1 = t->Evaluate(View(buf), 1);
  PassStats top2 = t->Evaluate(View(buf), 2);
  EXPECT_EQ(top1.rows, 200);
  EXPECT_EQ(top1.top_k, 1);
  EXPECT_EQ(top1.topk_correct, top1.correct);
  EXPECT_EQ(top2.top_k, 2);
  EXPECT_EQ(top2.correct, top1.correct);
  EXPECT_GE(top2.TopKAccuracy(), top2.Accuracy());
  EXPECT_GT(top2.topk_correct, top2.correct) << "with 200 rows, some label should be second best";
  EXPECT_DOUBLE_EQ(top1.loss_sum, top2.loss_sum);
  // k >= classes: every row is a hit, and k is clamped to the class count.
  PassStats top3 = t->Evaluate(View(buf), 3);
  EXPECT_EQ(top3.topk_correct, 200);
  EXPECT_DOUBLE_EQ(top3.TopKAccuracy(), 1.0);
  PassStats top9 = t->Evaluate(View(buf), 9);
  EXPECT_EQ(top9.top_k, 3);
  EXPECT_EQ(top9.topk_correct, 200);
  PassStats top0 = t->Evaluate(View(buf), 0);
  EXPECT_EQ(top0.top_k, 1);
  EXPECT_EQ(top0.topk_correct, top0.correct);
}

TEST(Trainer, PredictMatchesEvaluate) {
  auto t = Classifier(kMlpDropoutBn);
  Dataset d = MakeClassification(100, 20, 3, 21);
  std::string buf = Pack(d, LabelKind::ClassIndex, true);
  for (int i = 0; i < 5; ++i) t->Train(View(buf), nullptr);
  std::vector<Prediction> p = t->Predict(View(buf));
  ASSERT_EQ(p.size(), 100u);
  int64_t hits = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_GE(p[i].class_index, 0) << "row " << i;
    EXPECT_LT(p[i].class_index, 3) << "row " << i;
    EXPECT_GE(p[i].probability, 1.0f / 3 - 1e-6f) << "the top class of 3 has probability >= 1/3, row " << i;
    EXPECT_LE(p[i].probability, 1.0f) << "row " << i;
    hits += p[i].class_index == int32_t(d.y[i]);
  }
  PassStats e = t->Evaluate(View(buf), 1);
  EXPECT_EQ(hits, e.correct) << "Predict and Evaluate disagree on the top class";
  // Inference is deterministic (eval mode: no dropout, running statistics).
  std::vector<Prediction> q = t->Predict(View(buf));
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(p[i].class_index, q[i].class_index);
    EXPECT_EQ(p[i].probability, q[i].probability);
  }
  EXPECT_EQ(t->Evaluate(View(buf), 1).loss_sum, e.loss_sum);
}

// Evaluate and Predict between training steps change nothing: not the
// weights, not BatchNorm's running statistics, not the dropout stream.
TEST(Trainer, InferenceDoesNotDisturbTraining) {
  auto a = Classifier(kMlpDropoutBn, R"({"optimizer":"sgd","lr":0.05,"momentum":0.9,"batch_size":16})");
  auto b = Classifier(kMlpDropoutBn, R"({"optimizer":"sgd","lr":0.05,"momentum":0.9,"batch_size":16})");
  std::string b0 = Pack(MakeClassification(64, 20, 3, 1), LabelKind::ClassIndex);
  std::string b1 = Pack(MakeClassification(64, 20, 3, 2), LabelKind::ClassIndex);
  a->Train(View(b0), nullptr);
  a->Train(View(b1), nullptr);
  b->Train(View(b0), nullptr);
  std::vector<float> w = b->FlatWeights();
  b->Evaluate(View(b1), 2);
  b->Predict(View(b1));
  EXPECT_TRUE(SameWeights(w, b->FlatWeights())) << "inference changed weights or buffers";
  b->Train(View(b1), nullptr);
  EXPECT_TRUE(SameWeights(a->FlatWeights(), b->FlatWeights()));
}

// Two trainers in one process, trained alternately, each follow their own
// trajectory, as if trained alone.
TEST(Trainer, InterleavedTrainersAreIndependent) {
  const char* params = R"({"optimizer":"adam","lr":0.01,"batch_size":16})";
  std::string b0 = Pack(MakeClassification(64, 20, 3, 1), LabelKind::ClassIndex);
  std::string b1 = Pack(MakeClassification(64, 20, 3, 2), LabelKind::ClassIndex);
  auto alone1 = Classifier(kMlpDropoutBn, params, 1);
  alone1->Train(View(b0), nullptr);
  alone1->Train(View(b1), nullptr);
  auto alone2 = Classifier(kMlpDropoutBn, params, 2);
  alone2->Train(View(b1), nullptr);
  alone2->Train(View(b0), nullptr);

  auto x = Classifier(kMlpDropoutBn, params, 1);
  auto y = Classifier(kMlpDropoutBn, params, 2);
  x->Train(View(b0), nullptr);
  y->Train(View(b1), nullptr);
  x->Train(View(b1), nullptr);
  y->Train(View(b0), nullptr);
  EXPECT_TRUE(SameWeights(x->FlatWeights(), alone1->FlatWeights()));
  EXPECT_TRUE(SameWeights(y->FlatWeights(), alone2->FlatWeights()));
}

TEST(Trainer, FeatureCountMismatch) {
  auto t = Classifier();
  std::string buf = Pack(MakeClassification(8, 19, 3, 1), LabelKind::ClassIndex);
  EXPECT_TRUE(ThrowsError([&] { t->Train(View(buf), nullptr); }, ErrorKind::InvalidParameter, {"20", "19"}));
  EXPECT_TRUE(ThrowsError([&] { t->Evaluate(View(buf), 1); }, ErrorKind::InvalidParameter, {"20", "19"}));
  EXPECT_TRUE(ThrowsError([&] { t->Predict(View(buf)); }, ErrorKind::InvalidParameter, {"20", "19"}));
  std::string wide = Pack(MakeClassification(8, 21, 3, 1), LabelKind::ClassIndex);
  EXPECT_TRUE(ThrowsError([&] { t->Train(View(wide), nullptr); }, ErrorKind::InvalidParameter));
  EXPECT_EQ(t->counters().buffers, 0);
}

TEST(Trainer, InterruptStopsTraining) {
  std::string buf = Pack(MakeClassification(64, 20, 3, 1), LabelKind::ClassIndex);
  // The check runs between minibatches: 4 minibatches, 3 checks.
  {
    auto t = Classifier();
    int calls = 0;
    t->Train(View(buf), [&] { ++calls; });
    EXPECT_EQ(calls, 3);
  }
  auto t = Classifier();
  const std::vector<float> w = t->FlatWeights();
  int calls = 0;
  InterruptCheck stop_at_second = [&] {
    if (++calls == 2) throw Error(ErrorKind::Interrupted, "canceling statement due to user request");
  };
  EXPECT_TRUE(ThrowsError([&] { t->Train(View(buf), stop_at_second); }, ErrorKind::Interrupted, {"canceling"}));
  EXPECT_EQ(calls, 2) << "training went on after the interrupt";
  EXPECT_EQ(t->counters().buffers, 0) << "an interrupted buffer must not count as trained";
  EXPECT_EQ(t->counters().samples, 0);
  EXPECT_FALSE(SameWeights(w, t->FlatWeights())) << "two minibatches ran before the interrupt";
}

TEST(Trainer, DeviceStrings) {
  ModelSpec spec = ParseModelSpec(kMlp);
  TrainParams p = ParseTrainParams("");
  EXPECT_TRUE(ThrowsError([&] { Trainer::Create(spec, p, Task::Classification, 1, "gpu"); },
                          ErrorKind::InvalidParameter, {"gpu"}));
  if (!torch::cuda::is_available()) {
    EXPECT_TRUE(ThrowsError([&] { Trainer::Create(spec, p, Task::Classification, 1, "cuda"); },
                            ErrorKind::FeatureNotSupported));
    auto t = Trainer::Create(spec, p, Task::Classification, 1, "cpu");
    std::string s = t->SaveState();
    EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(spec, p, s.data(), s.size(), "cuda:0"); },
                            ErrorKind::FeatureNotSupported));
  }
}

// On CUDA: a seed gives the model it gives on the CPU, and resuming is
// bit-identical there too.  A CUDA state does not restore on the CPU (the
// generators' states differ in kind): that is refused, not misread.
TEST(Trainer, CudaResumeAndCrossDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA in this process";
  ModelSpec spec = ParseModelSpec(kMlpDropoutBn);
  TrainParams p = ParseTrainParams(R"({"optimizer":"adam","lr":0.01,"batch_size":16})");
  std::string b0 = Pack(MakeClassification(64, 20, 3, 1), LabelKind::ClassIndex);
  std::string b1 = Pack(MakeClassification(64, 20, 3, 2), LabelKind::ClassIndex);
  auto straight = Trainer::Create(spec, p, Task::Classification, 1, "cuda:0");
  auto cpu = Trainer::Create(spec, p, Task::Classification, 1, "cpu");
  EXPECT_TRUE(SameWeights(straight->FlatWeights(), cpu->FlatWeights())) << "a seed must give the same model everywhere";
  straight->Train(View(b0), nullptr);
  std::string s = straight->SaveState();
  straight->Train(View(b1), nullptr);
  auto resumed = Trainer::Restore(spec, p, s.data(), s.size(), "cuda:0");
  resumed->Train(View(b1), nullptr);
  EXPECT_TRUE(SameWeights(resumed->FlatWeights(), straight->FlatWeights())) << "CUDA resume is not bit-identical";
  EXPECT_EQ(resumed->SaveState(), straight->SaveState());
  // Across device kinds the weights carry over and training goes on
  // deterministically with the new device's generator.
  auto on_cpu = Trainer::Restore(spec, p, s.data(), s.size(), "cpu");
  auto on_cpu_again = Trainer::Restore(spec, p, s.data(), s.size(), "cpu");
  on_cpu->Train(View(b1), nullptr);
  on_cpu_again->Train(View(b1), nullptr);
  EXPECT_TRUE(SameWeights(on_cpu->FlatWeights(), on_cpu_again->FlatWeights()));
  std::string c = cpu->SaveState();
  auto on_gpu = Trainer::Restore(spec, p, c.data(), c.size(), "cuda:0");
  EXPECT_TRUE(SameWeights(on_gpu->FlatWeights(), cpu->FlatWeights())) << "weights must move between devices";
}

// ---- runtime ------------------------------------------------------------------

TEST(Runtime, DeviceSettingSyntax) {
  for (const char* ok : {"cpu", "cuda", "cuda:0", "cuda:7", "cuda:123"})
    EXPECT_TRUE(IsValidDeviceSetting(ok)) << ok;
  for (const char* bad : {"gpu", "cuda:", "CUDA", "Cpu", "cuda:1234x", "cuda:1234", "cuda:-1", "cuda0", " cpu",
                          "cpu ", "", "cuda:0:1", "mps"})
    EXPECT_FALSE(IsValidDeviceSetting(bad)) << "\"" << bad << "\"";
}

TEST(Runtime, ResolveDevice) {
  EXPECT_EQ(ResolveDevice("cpu", 3), "cpu");
  EXPECT_EQ(ResolveDevice("cpu", 0), "cpu");
  EXPECT_TRUE(ThrowsError([] { ResolveDevice("gpu", 0); }, ErrorKind::InvalidParameter, {"gpu"}));
  EXPECT_TRUE(ThrowsError([] { ResolveDevice("cuda:", 0); }, ErrorKind::InvalidParameter));
  if (!torch::cuda::is_available()) {
    EXPECT_TRUE(ThrowsError([] { ResolveDevice("cuda", 0); }, ErrorKind::FeatureNotSupported));
    EXPECT_TRUE(ThrowsError([] { ResolveDevice("cuda:0", 2); }, ErrorKind::FeatureNotSupported));
  } else {
    int n = int(torch::cuda::device_count());
    EXPECT_EQ(ResolveDevice("cuda", 0), "cuda:0");
    EXPECT_EQ(ResolveDevice("cuda", n + 1), "cuda:" + std::to_string((n + 1) % n));
    EXPECT_EQ(ResolveDevice("cuda:0", 5), "cuda:0");
    EXPECT_TRUE(ThrowsError([&] { ResolveDevice("cuda:" + std::to_string(n), 0); }, ErrorKind::InvalidParameter));
  }
}

TEST(Runtime, VersionAndThreads) {
  std::string v = TorchVersion();
  EXPECT_NE(v.find(TORCH_VERSION), std::string::npos) << v;
  EXPECT_NE(v.find(torch::cuda::is_available() ? "(CUDA)" : "(CPU)"), std::string::npos) << v;
  const int original = at::get_num_threads();
  ConfigureThreads(1);
  EXPECT_EQ(at::get_num_threads(), 1);
  ConfigureThreads(0);  // ignored
  EXPECT_EQ(at::get_num_threads(), 1);
  ConfigureThreads(2);
  EXPECT_EQ(at::get_num_threads(), 2);
  ConfigureThreads(original);
  EXPECT_EQ(at::get_num_threads(), original);
}

}  // namespace
}  // namespace pg_automl
