// One model being trained: module, optimizer, counters and RNG state.
//
// This header is torch-free (pimpl) so that the PostgreSQL glue can hold a
// Trainer without compiling torch headers.  A Trainer is created fresh from
// a spec and a seed, or restored from the bytes of SaveState(); training N
// buffers, saving, restoring and training M more gives weights bit-identical
// to training N+M buffers in one go.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pg_automl/metrics.h"
#include "pg_automl/model_spec.h"
#include "pg_automl/packed_buffer.h"
#include "pg_automl/train_params.h"

namespace pg_automl {

enum class Task : uint8_t { Classification = 1, Regression = 2 };

struct TrainingCounters {
  int64_t steps = 0;    // optimizer steps
  int64_t samples = 0;  // rows trained on
  int64_t buffers = 0;  // buffers trained on
};

struct Prediction {
  int32_t class_index = -1;  // classification
  float probability = 0;     // softmax probability of class_index
  float value = 0;           // regression output
};

// Called between minibatches; throws Error(Interrupted) to stop training.
using InterruptCheck = std::function<void()>;

class Trainer {
 public:
  // `device` is a torch device string ("cpu", "cuda:0").
  static std::unique_ptr<Trainer> Create(const ModelSpec& spec, const TrainParams& params, Task task,
                                         uint64_t seed, const std::string& device);
  // Throws Error(DataCorrupted) for bytes that are not a valid state and
  // Error(InvalidParameter) for a state of another model or optimizer.
  static std::unique_ptr<Trainer> Restore(const ModelSpec& spec, const TrainParams& params,
                                          const void* state, size_t size, const std::string& device);
  ~Trainer();

  PassStats Train(const BufferView& buffer, const InterruptCheck& interrupt);
  PassStats Evaluate(const BufferView& buffer, int64_t top_k);
  std::vector<Prediction> Predict(const BufferView& buffer);
  std::string SaveState() const;

  Task task() const;
  int64_t outputs() const;
  const TrainingCounters& counters() const;
  // Flattened copy of all parameters and buffers, for tests and benchmarks.
  std::vector<float> FlatWeights() const;

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the task and output count recorded in a state without building it.
struct StateSummary {
  Task task;
  int64_t outputs;
  OptimizerKind optimizer;
  TrainingCounters counters;
  size_t size;
};
StateSummary SummarizeState(const void* state, size_t size);

}  // namespace pg_automl
