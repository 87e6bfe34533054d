// The training-state format: save, restore and continue must be
// bit-identical to never having stopped, for every optimizer and for models
// with random (Dropout) and running-statistics (BatchNorm) layers; and any
// bytes that are not an intact state are rejected with DataCorrupted.
#include <gtest/gtest.h>
#include <zlib.h>

#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <random>

#include "pg_automl/errors.h"
#include "pg_automl/model_spec.h"
#include "pg_automl/packed_buffer.h"
#include "pg_automl/train_params.h"
#include "pg_automl/trainer.h"
#include "pg_automl/training_state.h"
#include "test_util.h"

namespace pg_automl {
namespace {

using testing_util::KindName;
using testing_util::MakeClassification;
using testing_util::Pack;
using testing_util::ThrowsError;
using testing_util::View;

constexpr size_t kStateHeader = 8 + 4 + 4 + 8;

const char* kMlp = R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":16},{"type":"ReLU"},
                       {"type":"Linear","out_features":3}]})";
const char* kMlpDropoutBn = R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":16},
                       {"type":"BatchNorm1d"},{"type":"ReLU"},{"type":"Dropout","p":0.3},
                       {"type":"Linear","out_features":3}]})";
const char* kCnn = R"({"input_shape":[1,6,6],"layers":[
                       {"type":"Conv2d","out_channels":3,"kernel_size":3,"padding":1},{"type":"BatchNorm2d"},
                       {"type":"ReLU"},{"type":"Dropout","p":0.2},{"type":"MaxPool2d","kernel_size":2},
                       {"type":"Flatten"},{"type":"Linear","out_features":3}]})";

::testing::AssertionResult BitIdentical(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "weight counts differ: " << a.size() << " vs " << b.size();
  if (a.empty()) return ::testing::AssertionFailure() << "no weights at all";
  if (std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0) return ::testing::AssertionSuccess();
  size_t diff = 0, first = a.size();
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      if (first == a.size()) first = i;
      ++diff;
    }
  return ::testing::AssertionFailure() << diff << " of " << a.size() << " weights differ; first at index " << first
                                       << ": " << a[first] << " vs " << b[first] << " (delta "
                                       << (a[first] - b[first]) << ")";
}

::testing::AssertionResult SameBytes(const std::string& a, const std::string& b) {
  if (a == b) return ::testing::AssertionSuccess();
  // Skip the checksum (bytes 12-15), which differs whenever the payload does.
  size_t i = 0;
  while (i < a.size() && i < b.size() && (a[i] == b[i] || (i >= 12 && i < 16))) ++i;
  return ::testing::AssertionFailure() << "states differ: sizes " << a.size() << " and " << b.size()
                                       << ", first difference (checksum aside) at byte " << i << ", payload offset "
                                       << (i >= kStateHeader ? std::to_string(i - kStateHeader) : "-");
}

std::vector<std::string> MakeBuffers(uint32_t features, int count, uint32_t seed0 = 100) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i)
    out.push_back(Pack(MakeClassification(64, features, 3, seed0 + uint32_t(i)), LabelKind::ClassIndex));
  return out;
}

struct ResumeCase {
  const char* name;
  const char* spec;
  uint32_t features;
  const char* params;
};

std::ostream& operator<<(std::ostream& os, const ResumeCase& c) { return os << c.name; }

class Resume : public ::testing::TestWithParam<ResumeCase> {
 protected:
  void SetUp() override {
    spec_ = ParseModelSpec(GetParam().spec);
    params_ = ParseTrainParams(GetParam().params);
    buffers_ = MakeBuffers(GetParam().features, 3);
  }
  std::unique_ptr<Trainer> Fresh() { return Trainer::Create(spec_, params_, Task::Classification, 42, "cpu"); }
  std::unique_ptr<Trainer> Reload(const std::string& s) {
    return Trainer::Restore(spec_, params_, s.data(), s.size(), "cpu");
  }
  void Train(Trainer& t, int buffer) {
    PassStats s = t.Train(View(buffers_[size_t(buffer)]), nullptr);
    ASSERT_EQ(s.rows, 64);
    ASSERT_TRUE(std::isfinite(s.Loss())) << "training diverged";
  }

  ModelSpec spec_;
  TrainParams params_;
  std::vector<std::string> buffers_;
};

// N buffers, save, restore in a fresh trainer, M more buffers == N+M buffers.
TEST_P(Resume, SaveRestoreContinueIsBitIdentical) {
  const std::vector<int> first = {0, 1}, second = {2, 0};

  auto straight = Fresh();
  const std::vector<float> initial = straight->FlatWeights();
  for (int b : first) Train(*straight, b);
  for (int b : second) Train(*straight, b);
  const std::vector<float> want = straight->FlatWeights();
  ASSERT_FALSE(BitIdentical(initial, want)) << "training did not change the weights: the test would prove nothing";
  for (float w : want) ASSERT_TRUE(std::isfinite(w));

  auto before = Fresh();
  ASSERT_TRUE(BitIdentical(before->FlatWeights(), initial)) << "same seed, different initial weights";
  for (int b : first) Train(*before, b);
  const std::string saved = before->SaveState();
  const std::vector<float> at_save = before->FlatWeights();
  before.reset();

  // Disturb the process-wide generators between save and restore, as other
  // work in the same backend would.
  torch::randn({1000});
  torch::manual_seed(987654321);

  auto after = Reload(saved);
  EXPECT_TRUE(BitIdentical(after->FlatWeights(), at_save)) << "restore changed the weights";
  EXPECT_TRUE(SameBytes(after->SaveState(), saved)) << "restore then save is not the identity";
  const int64_t batch = params_.batch_size ? params_.batch_size : 64;
  const int64_t steps_per_buffer = (64 + batch - 1) / batch;
  EXPECT_EQ(after->counters().steps, int64_t(first.size()) * steps_per_buffer);
  EXPECT_EQ(after->counters().buffers, int64_t(first.size()));
  EXPECT_EQ(after->counters().samples, 64 * int64_t(first.size()));
  torch::randn({77});
  for (int b : second) Train(*after, b);

  EXPECT_TRUE(BitIdentical(after->FlatWeights(), want)) << "resumed training diverged from uninterrupted training";
  // Everything else matches too: optimizer state, RNG state and counters.
  EXPECT_TRUE(SameBytes(after->SaveState(), straight->SaveState()));
  EXPECT_EQ(after->counters().steps, straight->counters().steps);
  EXPECT_EQ(after->counters().samples, straight->counters().samples);
  EXPECT_EQ(after->counters().buffers, straight->counters().buffers);
}

// Save and restore before every buffer, including before the first step.
TEST_P(Resume, RestoreAtEveryBufferIsBitIdentical) {
  const std::vector<int> schedule = {1, 2, 0, 1};
  auto straight = Fresh();
  for (int b : schedule) Train(*straight, b);

  std::string state = Fresh()->SaveState();
  for (int b : schedule) {
    torch::rand({13});
    auto t = Reload(state);
    Train(*t, b);
    state = t->SaveState();
  }
  auto last = Reload(state);
  EXPECT_TRUE(BitIdentical(last->FlatWeights(), straight->FlatWeights()));
  EXPECT_TRUE(SameBytes(state, straight->SaveState()));
}

// A restored state with a changed learning rate is accepted and uses it.
TEST_P(Resume, HyperparametersOfTheSameOptimizerMayChange) {
  auto t = Fresh();
  Train(*t, 0);
  std::string s = t->SaveState();
  TrainParams faster = params_;
  faster.lr = params_.lr * 3;
  auto a = Trainer::Restore(spec_, faster, s.data(), s.size(), "cpu");
  auto b = Reload(s);
  Train(*a, 1);
  Train(*b, 1);
  EXPECT_FALSE(BitIdentical(a->FlatWeights(), b->FlatWeights())) << "the new learning rate was ignored";
}

const ResumeCase kResumeCases[] = {
    {"mlp_sgd", kMlp, 20, R"({"optimizer":"sgd","lr":0.05,"batch_size":16})"},
    {"mlp_sgd_momentum_nesterov", kMlp, 20,
     R"({"optimizer":"sgd","lr":0.05,"momentum":0.9,"nesterov":true,"weight_decay":0.001,"batch_size":16})"},
    {"mlp_sgd_momentum_dampening", kMlp, 20,
     R"({"optimizer":"sgd","lr":0.05,"momentum":0.8,"dampening":0.3,"batch_size":24})"},
    {"mlp_adam", kMlp, 20, R"({"optimizer":"adam","lr":0.01,"batch_size":16})"},
    {"mlp_adam_amsgrad", kMlp, 20, R"({"optimizer":"adam","lr":0.01,"amsgrad":true,"weight_decay":0.01,"batch_size":16})"},
    {"mlp_adamw", kMlp, 20, R"({"optimizer":"adamw","lr":0.01,"batch_size":16})"},
    {"mlp_adamw_amsgrad", kMlp, 20, R"({"optimizer":"adamw","lr":0.01,"amsgrad":true,"batch_size":16})"},
    {"mlp_rmsprop", kMlp, 20, R"({"optimizer":"rmsprop","lr":0.005,"batch_size":16})"},
    {"mlp_rmsprop_centered_momentum", kMlp, 20,
     R"({"optimizer":"rmsprop","lr":0.005,"centered":true,"momentum":0.9,"weight_decay":0.001,"batch_size":16})"},
    {"mlp_adagrad", kMlp, 20, R"({"optimizer":"adagrad","lr":0.05,"lr_decay":0.01,"weight_decay":0.001,"batch_size":16})"},
    {"mlp_adam_whole_buffer_steps", kMlp, 20, R"({"optimizer":"adam","lr":0.01})"},
    {"dropout_bn_sgd", kMlpDropoutBn, 20, R"({"optimizer":"sgd","lr":0.05,"batch_size":16})"},
    {"dropout_bn_sgd_nesterov", kMlpDropoutBn, 20,
     R"({"optimizer":"sgd","lr":0.05,"momentum":0.9,"nesterov":true,"batch_size":16})"},
    {"dropout_bn_adam", kMlpDropoutBn, 20, R"({"optimizer":"adam","lr":0.01,"batch_size":16})"},
    {"dropout_bn_adam_amsgrad", kMlpDropoutBn, 20, R"({"optimizer":"adam","lr":0.01,"amsgrad":true,"batch_size":16})"},
    {"dropout_bn_adamw", kMlpDropoutBn, 20, R"({"optimizer":"adamw","lr":0.01,"batch_size":16})"},
    {"dropout_bn_rmsprop_centered_momentum", kMlpDropoutBn, 20,
     R"({"optimizer":"rmsprop","lr":0.005,"centered":true,"momentum":0.9,"batch_size":16})"},
    {"dropout_bn_adagrad", kMlpDropoutBn, 20, R"({"optimizer":"adagrad","lr":0.05,"batch_size":24})"},
    {"cnn_sgd_momentum", kCnn, 36, R"({"optimizer":"sgd","lr":0.05,"momentum":0.9,"batch_size":16})"},
    {"cnn_adam", kCnn, 36, R"({"optimizer":"adam","lr":0.01,"batch_size":16})"},
    {"cnn_rmsprop_centered", kCnn, 36, R"({"optimizer":"rmsprop","lr":0.005,"centered":true,"batch_size":16})"},
    {"cnn_adagrad", kCnn, 36, R"({"optimizer":"adagrad","lr":0.05,"batch_size":16})"},
};

INSTANTIATE_TEST_SUITE_P(AllOptimizersAndModels, Resume, ::testing::ValuesIn(kResumeCases),
                         [](const ::testing::TestParamInfo<ResumeCase>& i) { return std::string(i.param.name); });

// ---- seeds and mismatches -------------------------------------------------

TEST(TrainingState, SameSeedSameModelDifferentSeedDifferentModel) {
  ModelSpec spec = ParseModelSpec(kMlpDropoutBn);
  TrainParams params = ParseTrainParams(R"({"batch_size":16})");
  auto a = Trainer::Create(spec, params, Task::Classification, 7, "cpu");
  torch::randn({100});
  auto b = Trainer::Create(spec, params, Task::Classification, 7, "cpu");
  auto c = Trainer::Create(spec, params, Task::Classification, 8, "cpu");
  EXPECT_TRUE(BitIdentical(a->FlatWeights(), b->FlatWeights()));
  EXPECT_FALSE(BitIdentical(a->FlatWeights(), c->FlatWeights())) << "seeds 7 and 8 gave the same weights";
  EXPECT_TRUE(SameBytes(a->SaveState(), b->SaveState()));
  EXPECT_FALSE(a->SaveState() == c->SaveState());
  // Trained the same way, same-seed trainers stay identical (Dropout included).
  auto buffers = MakeBuffers(20, 2);
  for (const auto& buf : buffers) {
    a->Train(View(buf), nullptr);
    b->Train(View(buf), nullptr);
  }
  EXPECT_TRUE(BitIdentical(a->FlatWeights(), b->FlatWeights()));
}

TEST(TrainingState, RejectsStateOfAnotherSpecOrOptimizer) {
  ModelSpec spec = ParseModelSpec(kMlp);
  TrainParams adam = ParseTrainParams(R"({"optimizer":"adam","batch_size":16})");
  auto t = Trainer::Create(spec, adam, Task::Classification, 1, "cpu");
  auto buffers = MakeBuffers(20, 1);
  t->Train(View(buffers[0]), nullptr);
  std::string s = t->SaveState();

  ModelSpec wider = ParseModelSpec(R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":17},
                                       {"type":"ReLU"},{"type":"Linear","out_features":3}]})");
  EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(wider, adam, s.data(), s.size(), "cpu"); },
                          ErrorKind::InvalidParameter, {"architecture"}));
  // Same parameter shapes, different layer: still another model.
  ModelSpec tanh = ParseModelSpec(R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":16},
                                      {"type":"Tanh"},{"type":"Linear","out_features":3}]})");
  EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(tanh, adam, s.data(), s.size(), "cpu"); },
                          ErrorKind::InvalidParameter));
  ModelSpec four = ParseModelSpec(R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":16},
                                      {"type":"ReLU"},{"type":"Linear","out_features":4}]})");
  EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(four, adam, s.data(), s.size(), "cpu"); },
                          ErrorKind::InvalidParameter));
  for (const char* other : {R"({"optimizer":"sgd"})", R"({"optimizer":"adamw"})", R"({"optimizer":"rmsprop"})",
                            R"({"optimizer":"adagrad"})"}) {
    TrainParams p = ParseTrainParams(other);
    EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(spec, p, s.data(), s.size(), "cpu"); },
                            ErrorKind::InvalidParameter, {"adam", OptimizerName(p.optimizer)}))
        << other;
  }
  // The matching spec (spelt differently) and optimizer are accepted.
  ModelSpec respelt = ParseModelSpec(R"({"input_shape":[20],"layers":[{"type":"linear","out_features":16,"bias":true},
                                         {"type":"relu"},{"type":"LINEAR","out_features":3}]})");
  EXPECT_NO_THROW(Trainer::Restore(respelt, adam, s.data(), s.size(), "cpu"));
}

TEST(TrainingState, SummarizeState) {
  ModelSpec spec = ParseModelSpec(kMlp);
  TrainParams p = ParseTrainParams(R"({"optimizer":"rmsprop","batch_size":16})");
  auto t = Trainer::Create(spec, p, Task::Classification, 1, "cpu");
  auto buffers = MakeBuffers(20, 2);
  for (const auto& b : buffers) t->Train(View(b), nullptr);
  std::string s = t->SaveState();
  StateSummary sum = SummarizeState(s.data(), s.size());
  EXPECT_EQ(sum.task, Task::Classification);
  EXPECT_EQ(sum.outputs, 3);
  EXPECT_EQ(sum.optimizer, OptimizerKind::RMSprop);
  EXPECT_EQ(sum.counters.steps, 8);
  EXPECT_EQ(sum.counters.samples, 128);
  EXPECT_EQ(sum.counters.buffers, 2);
  EXPECT_EQ(sum.size, s.size());
}

// ---- corrupt, truncated and foreign bytes -----------------------------------

class CorruptState : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spec_ = new ModelSpec(ParseModelSpec(kMlpDropoutBn));
    params_ = new TrainParams(ParseTrainParams(R"({"optimizer":"adam","amsgrad":true,"batch_size":16})"));
    auto t = Trainer::Create(*spec_, *params_, Task::Classification, 5, "cpu");
    auto buffers = MakeBuffers(20, 1);
    t->Train(View(buffers[0]), nullptr);
    state_ = new std::string(t->SaveState());
    buffer_ = new std::string(buffers[0]);
  }
  static void TearDownTestSuite() {
    delete spec_;
    delete params_;
    delete state_;
    delete buffer_;
  }
  static ::testing::AssertionResult RejectedAsCorrupt(const std::string& bytes) {
    auto r = ThrowsError([&] { Trainer::Restore(*spec_, *params_, bytes.data(), bytes.size(), "cpu"); },
                         ErrorKind::DataCorrupted);
    if (!r) return r;
    return ThrowsError([&] { SummarizeState(bytes.data(), bytes.size()); }, ErrorKind::DataCorrupted);
  }

  static ModelSpec* spec_;
  static TrainParams* params_;
  static std::string* state_;
  static std::string* buffer_;
};
ModelSpec* CorruptState::spec_;
TrainParams* CorruptState::params_;
std::string* CorruptState::state_;
std::string* CorruptState::buffer_;

TEST_F(CorruptState, IntactStateRestores) {
  ASSERT_GT(state_->size(), 1000u);
  EXPECT_EQ(state_->substr(0, 8), "PGAMLST1");
  EXPECT_NO_THROW(Trainer::Restore(*spec_, *params_, state_->data(), state_->size(), "cpu"));
}

TEST_F(CorruptState, AnySingleFlippedByteIsDetected) {
  const std::string& good = *state_;
  const unsigned char masks[] = {0x01, 0x80, 0xFF, 0x10};
  // Every position: the check fails at the checksum, so this is cheap.
  size_t failures = 0;
  for (size_t i = 0; i < good.size() && failures < 5; ++i) {
    std::string bad = good;
    bad[i] = char(bad[i] ^ masks[i % 4]);
    auto r = RejectedAsCorrupt(bad);
    if (!r) {
      ++failures;
      ADD_FAILURE() << "byte " << i << " of " << good.size() << " flipped with mask " << int(masks[i % 4]) << ": "
                    << r.message();
    }
  }
  // Explicitly the interesting places, with every single-bit flip.
  for (size_t i : {size_t(0), size_t(7), size_t(8), size_t(12), size_t(16), size_t(23), kStateHeader,
                   kStateHeader + 1, good.size() / 2, good.size() - 1}) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = char(bad[i] ^ (1 << bit));
      EXPECT_TRUE(RejectedAsCorrupt(bad)) << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(CorruptState, EveryTruncationIsDetected) {
  const std::string& good = *state_;
  size_t failures = 0;
  for (size_t len = 0; len < good.size() && failures < 5; ++len) {
    auto r = RejectedAsCorrupt(good.substr(0, len));
    if (!r) {
      ++failures;
      ADD_FAILURE() << "truncated to " << len << " of " << good.size() << " bytes: " << r.message();
    }
  }
  EXPECT_TRUE(RejectedAsCorrupt(good + std::string(1, '\0'))) << "one byte appended";
  EXPECT_TRUE(RejectedAsCorrupt(good + good)) << "two states concatenated";
}

TEST_F(CorruptState, ForeignBytesAreDetected) {
  EXPECT_TRUE(RejectedAsCorrupt(std::string())) << "empty";
  EXPECT_TRUE(ThrowsError([] { SummarizeState(nullptr, 0); }, ErrorKind::DataCorrupted));
  EXPECT_TRUE(RejectedAsCorrupt(*buffer_)) << "a packed buffer";
  EXPECT_TRUE(RejectedAsCorrupt("PGAMLST1")) << "magic only";
  EXPECT_TRUE(RejectedAsCorrupt(std::string(4096, '\0'))) << "zeros";
  std::mt19937 rng(11);
  for (size_t n : {1u, 8u, 23u, 24u, 25u, 100u, 5000u}) {
    std::string junk(n, '\0');
    for (auto& c : junk) c = char(rng());
    EXPECT_TRUE(RejectedAsCorrupt(junk)) << n << " random bytes";
    // Right magic, random rest.
    if (n >= 8) {
      std::memcpy(&junk[0], "PGAMLST1", 8);
      EXPECT_TRUE(RejectedAsCorrupt(junk)) << "magic and " << n - 8 << " random bytes";
    }
  }
  // A state of a future version, otherwise intact.
  std::string future = *state_;
  uint32_t version = kStateVersion + 1;
  std::memcpy(&future[8], &version, 4);
  EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(*spec_, *params_, future.data(), future.size(), "cpu"); },
                          ErrorKind::DataCorrupted, {"version"}));
}

// Bytes with a valid checksum but a damaged payload (what a bug or a forger
// would produce): every read is bounds checked, so the outcome is a clean
// pg_automl::Error or a usable trainer, never a crash or a foreign exception.
TEST_F(CorruptState, DamagedPayloadWithValidChecksum) {
  const std::string payload = state_->substr(kStateHeader);
  ASSERT_EQ(SealState(payload), *state_) << "SealState does not reproduce the header";
  auto check = [&](const std::string& bad_payload, const std::string& what) {
    std::string bytes = SealState(bad_payload);
    try {
      auto t = Trainer::Restore(*spec_, *params_, bytes.data(), bytes.size(), "cpu");
      // Restored: the damage was in tensor values or counters.  It must still be usable.
      try {
        t->Train(View(*buffer_), nullptr);
        t->SaveState();
      } catch (const Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": restored, then training threw a foreign exception: " << e.what();
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::DataCorrupted && e.kind() != ErrorKind::InvalidParameter)
        ADD_FAILURE() << what << ": threw kind " << KindName(e.kind()) << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": threw a foreign exception: " << e.what();
    }
  };
  // Truncated payloads are always DataCorrupted.
  for (size_t len = 0; len < payload.size(); len += (len < 300 ? 1 : 97)) {
    std::string bytes = SealState(payload.substr(0, len));
    EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(*spec_, *params_, bytes.data(), bytes.size(), "cpu"); },
                            ErrorKind::DataCorrupted))
        << "payload truncated to " << len;
  }
  EXPECT_TRUE(ThrowsError(
      [&] {
        std::string bytes = SealState(payload + "x");
        Trainer::Restore(*spec_, *params_, bytes.data(), bytes.size(), "cpu");
      },
      ErrorKind::DataCorrupted, {"trailing"}));
  // Flipped bytes: all of the metadata and the start of the RNG state, then a sample.
  // PG_AUTOML_TEST_EXHAUSTIVE=1 flips every byte (slow: a restore per byte).
  const size_t stride = std::getenv("PG_AUTOML_TEST_EXHAUSTIVE") ? 1 : 53;
  for (size_t i = 0; i < payload.size(); i += (i < 80 ? 1 : stride)) {
    for (unsigned char mask : {0x01, 0xFF}) {
      std::string bad = payload;
      bad[i] = char(bad[i] ^ mask);
      check(bad, "payload byte " + std::to_string(i) + " ^ " + std::to_string(mask));
    }
  }
}

// A state whose generator state has another size (as a CUDA generator's
// 16 bytes would on the CPU) restores, and the generator is seeded from it
// deterministically.
TEST_F(CorruptState, GeneratorStateOfAnotherDeviceKind) {
  const std::string payload = state_->substr(kStateHeader);
  ByteReader r(payload.data(), payload.size());
  ReadMeta(r);
  const size_t rng_at = payload.size() - r.remaining();
  at::Tensor rng = ReadTensor(r);
  ASSERT_EQ(rng.scalar_type(), at::kByte);
  ASSERT_GT(rng.numel(), 16);
  const size_t rng_end = payload.size() - r.remaining();
  ByteWriter w;
  WriteTensor(w, torch::zeros({16}, torch::kByte));
  std::string forged = SealState(payload.substr(0, rng_at) + w.str() + payload.substr(rng_end));
  auto a = Trainer::Restore(*spec_, *params_, forged.data(), forged.size(), "cpu");
  auto b = Trainer::Restore(*spec_, *params_, forged.data(), forged.size(), "cpu");
  EXPECT_EQ(a->SaveState(), b->SaveState()) << "reseeding from another device's state must be deterministic";
  EXPECT_NE(a->SaveState(), *state_) << "the generator state of this device replaces the foreign one";
  // Right size, invalid content: malformed.
  at::Tensor bad = rng.clone();
  bad.zero_();
  ByteWriter w2;
  WriteTensor(w2, bad);
  std::string zeroed = SealState(payload.substr(0, rng_at) + w2.str() + payload.substr(rng_end));
  EXPECT_TRUE(ThrowsError([&] { Trainer::Restore(*spec_, *params_, zeroed.data(), zeroed.size(), "cpu"); },
                          ErrorKind::DataCorrupted, {"malformed"}));
}

// ---- the building blocks ------------------------------------------------------

// Found by fuzz/training_state_fuzz: a tensor with a zero dimension has no
// data; reading one copied 0 bytes to a null pointer (undefined behaviour,
// which the sanitized unit tests report).
TEST(StateFormat, EmptyTensorRoundTrip) {
  ByteWriter w;
  WriteTensor(w, torch::zeros({3, 0}, torch::kFloat));
  WriteTensor(w, torch::zeros({0}, torch::kLong));
  ByteReader r(w.str().data(), w.str().size());
  at::Tensor a = ReadTensor(r), b = ReadTensor(r);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(b.numel(), 0);
  EXPECT_EQ(b.scalar_type(), at::kLong);
}

TEST(StateFormat, TensorRoundTripEveryDtype) {
  for (auto type : {at::kFloat, at::kDouble, at::kLong, at::kByte, at::kHalf, at::kBFloat16, at::kInt}) {
    SCOPED_TRACE(c10::toString(type));
    at::Tensor t = (torch::arange(24, torch::kDouble) * 1.5).to(type).reshape({2, 3, 4});
    ByteWriter w;
    WriteTensor(w, t);
    WriteTensor(w, t.transpose(0, 2));  // non-contiguous
    WriteTensor(w, torch::tensor(3.0).to(type));  // rank 0
    ByteReader r(w.str().data(), w.str().size());
    at::Tensor a = ReadTensor(r), b = ReadTensor(r), c = ReadTensor(r);
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_EQ(a.scalar_type(), type);
    EXPECT_TRUE(torch::equal(a, t));
    EXPECT_TRUE(torch::equal(b, t.transpose(0, 2)));
    EXPECT_EQ(c.dim(), 0);
    EXPECT_TRUE(torch::equal(c, torch::tensor(3.0).to(type)));
  }
  EXPECT_TRUE(ThrowsError(
      [] {
        ByteWriter w;
        WriteTensor(w, torch::zeros({2}, torch::kBool));
      },
      ErrorKind::FeatureNotSupported));
}

TEST(StateFormat, ReadTensorRejectsMalformedHeadersWithoutAllocating) {
  auto header = [](uint8_t code, uint8_t rank, std::vector<int64_t> dims) {
    ByteWriter w;
    w.Put<uint8_t>(code);
    w.Put<uint8_t>(rank);
    for (int64_t d : dims) w.Put<int64_t>(d);
    return w.str();
  };
  auto read = [](const std::string& s) {
    ByteReader r(s.data(), s.size());
    ReadTensor(r);
  };
  EXPECT_TRUE(ThrowsError([&] { read(header(0, 1, {1})); }, ErrorKind::DataCorrupted)) << "type code 0";
  EXPECT_TRUE(ThrowsError([&] { read(header(99, 1, {1})); }, ErrorKind::DataCorrupted)) << "type code 99";
  EXPECT_TRUE(ThrowsError([&] { read(header(1, 9, std::vector<int64_t>(9, 1))); }, ErrorKind::DataCorrupted))
      << "rank 9";
  EXPECT_TRUE(ThrowsError([&] { read(header(1, 1, {-1})); }, ErrorKind::DataCorrupted)) << "negative dim";
  EXPECT_TRUE(ThrowsError([&] { read(header(1, 2, {int64_t(1) << 40, int64_t(1) << 40})); },
                          ErrorKind::DataCorrupted))
      << "2^80 elements";
  EXPECT_TRUE(ThrowsError([&] { read(header(1, 1, {INT64_MAX})); }, ErrorKind::DataCorrupted)) << "INT64_MAX";
  EXPECT_TRUE(ThrowsError([&] { read(header(1, 1, {3}) + std::string(11, 'x')); }, ErrorKind::DataCorrupted))
      << "one byte short";
  EXPECT_TRUE(ThrowsError([&] { read(header(1, 3, {1})); }, ErrorKind::DataCorrupted)) << "dims cut off";
  // A zero-size dimension is a valid empty tensor.
  std::string empty = header(1, 2, {0, 5});
  ByteReader r(empty.data(), empty.size());
  EXPECT_EQ(ReadTensor(r).numel(), 0);
}

TEST(StateFormat, MetaRoundTripAndValidation) {
  StateMeta m;
  m.task = Task::Regression;
  m.optimizer = OptimizerKind::Adagrad;
  m.outputs = 1;
  m.spec_crc = 0xDEADBEEF;
  m.counters = {11, 222, 3};
  ByteWriter w;
  WriteMeta(w, m);
  ByteReader r(w.str().data(), w.str().size());
  StateMeta back = ReadMeta(r);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(back.task, m.task);
  EXPECT_EQ(back.optimizer, m.optimizer);
  EXPECT_EQ(back.outputs, 1);
  EXPECT_EQ(back.spec_crc, 0xDEADBEEFu);
  EXPECT_EQ(back.counters.steps, 11);
  EXPECT_EQ(back.counters.samples, 222);
  EXPECT_EQ(back.counters.buffers, 3);
  auto bad = [&](auto mutate) {
    StateMeta x = m;
    mutate(x);
    ByteWriter bw;
    WriteMeta(bw, x);
    return bw.str();
  };
  auto read = [](const std::string& s) {
    ByteReader br(s.data(), s.size());
    ReadMeta(br);
  };
  EXPECT_TRUE(ThrowsError([&] { read(bad([](StateMeta& x) { x.task = Task(3); })); }, ErrorKind::DataCorrupted));
  EXPECT_TRUE(ThrowsError([&] { read(bad([](StateMeta& x) { x.optimizer = OptimizerKind(6); })); },
                          ErrorKind::DataCorrupted));
  EXPECT_TRUE(ThrowsError([&] { read(bad([](StateMeta& x) { x.outputs = 0; })); }, ErrorKind::DataCorrupted));
  EXPECT_TRUE(ThrowsError([&] { read(bad([](StateMeta& x) { x.counters.steps = -1; })); }, ErrorKind::DataCorrupted));
  EXPECT_TRUE(ThrowsError([&] { read(w.str().substr(0, 10)); }, ErrorKind::DataCorrupted));
}

TEST(StateFormat, SealAndOpen) {
  const std::string payload = "some payload bytes";
  std::string sealed = SealState(payload);
  ASSERT_EQ(sealed.size(), kStateHeader + payload.size());
  ByteReader r = OpenState(sealed.data(), sealed.size());
  ASSERT_EQ(r.remaining(), payload.size());
  EXPECT_EQ(std::string(r.Take(payload.size()), payload.size()), payload);
  std::string empty = SealState("");
  EXPECT_EQ(OpenState(empty.data(), empty.size()).remaining(), 0u);
  sealed.back() ^= 1;
  EXPECT_TRUE(ThrowsError([&] { OpenState(sealed.data(), sealed.size()); }, ErrorKind::DataCorrupted, {"checksum"}));
}

// A state written in place has the header SealState gives the same payload.
TEST(StateFormat, StartAndFinishInPlace) {
  const std::string payload = "payload appended after StartState";
  ByteWriter w;
  StartState(w);
  w.PutBytes(payload.data(), payload.size());
  EXPECT_EQ(FinishState(w), SealState(payload));
  ByteWriter used;
  used.Put<uint8_t>(1);
  EXPECT_TRUE(ThrowsError([&] { StartState(used); }, ErrorKind::Internal));
  ByteWriter unstarted;
  EXPECT_TRUE(ThrowsError([&] { FinishState(unstarted); }, ErrorKind::Internal));
}

TEST(StateFormat, ByteReaderBoundsAndCrc) {
  ByteWriter w;
  w.Put<uint32_t>(7);
  w.PutString("hello");
  w.Put<double>(2.5);
  ByteReader r(w.str().data(), w.str().size());
  EXPECT_EQ(r.Get<uint32_t>(), 7u);
  EXPECT_EQ(r.GetString(), "hello");
  EXPECT_EQ(r.Get<double>(), 2.5);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(ThrowsError([&] { r.Get<uint8_t>(); }, ErrorKind::DataCorrupted));
  ByteWriter big;
  big.PutString(std::string(100, 'a'));
  ByteReader br(big.str().data(), big.str().size());
  EXPECT_TRUE(ThrowsError([&] { br.GetString(99); }, ErrorKind::DataCorrupted)) << "longer than max_len";
  ByteWriter lie;
  lie.Put<uint32_t>(1000);
  lie.PutBytes("abc", 3);
  ByteReader lr(lie.str().data(), lie.str().size());
  EXPECT_TRUE(ThrowsError([&] { lr.GetString(); }, ErrorKind::DataCorrupted)) << "length beyond the data";
  // zlib's CRC-32 check value.
  EXPECT_EQ(Crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(Crc32("", 0), 0u);
  // The same CRC as zlib's (states written with it stay readable), at any
  // alignment and length.
  std::string data(3 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char((i * 2654435761u) >> 13);
  for (size_t off : {size_t(0), size_t(1), size_t(3), size_t(17)})
    for (size_t len : {size_t(1), size_t(63), size_t(4096), size_t(1226640), data.size() - 17})
      EXPECT_EQ(Crc32(data.data() + off, len),
                uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(data.data() + off), uInt(len))))
          << "offset " << off << ", length " << len;
}

}  // namespace
// Optimizer tensors must match their parameters: state written for one
// model is refused by an optimizer over parameters of other shapes, at
// restore time rather than at the first step.
TEST(StateFormat, OptimizerTensorsMustMatchTheirParameters) {
  torch::manual_seed(0);
  torch::nn::Linear a(4, 3), b(5, 3);
  torch::optim::Adam opt_a(a->parameters(), torch::optim::AdamOptions(0.01));
  opt_a.zero_grad();
  a->forward(torch::randn({2, 4})).sum().backward();
  opt_a.step();
  ByteWriter w;
  WriteOptimizerState(w, opt_a, OptimizerKind::Adam, a->parameters());
  torch::optim::Adam opt_b(b->parameters(), torch::optim::AdamOptions(0.01));
  ByteReader r(w.str().data(), w.str().size());
  EXPECT_TRUE(ThrowsError([&] { ReadOptimizerState(r, opt_b, OptimizerKind::Adam, b->parameters(), torch::kCPU); },
                          ErrorKind::DataCorrupted, {"does not match the model's parameters"}));
  ByteReader same(w.str().data(), w.str().size());
  torch::optim::Adam opt_a2(a->parameters(), torch::optim::AdamOptions(0.01));
  ReadOptimizerState(same, opt_a2, OptimizerKind::Adam, a->parameters(), torch::kCPU);
  EXPECT_EQ(opt_a2.state().size(), 2u) << "both parameters' Adam state must be restored";
}

}  // namespace pg_automl
