// The training-state byte format (core-only: includes torch).
//
//   "PGAMLST1" | u32 version | u32 crc32(payload) | u64 payload size | payload
//   payload: meta | rng state | parameters | buffers | optimizer state
// Tensors are stored as dtype, rank, dims and raw little-endian bytes.  The
// checksum is verified before anything is parsed, and every read is bounds
// checked, so corrupt, truncated or foreign bytes give Error(DataCorrupted).
#pragma once

#include <string>
#include <vector>

#include <torch/optim/optimizer.h>

#include "pg_automl/byte_io.h"
#include "pg_automl/trainer.h"

namespace pg_automl {

constexpr uint32_t kStateVersion = 1;

struct StateMeta {
  Task task = Task::Classification;
  OptimizerKind optimizer = OptimizerKind::Adam;
  int64_t outputs = 0;
  uint32_t spec_crc = 0;
  TrainingCounters counters;
};

// A state is written in place: StartState leaves room for the header, the
// payload is appended, FinishState fills the header in (no copy of the
// payload).  SealState does all three for a payload held elsewhere.
void StartState(ByteWriter& w);
std::string FinishState(ByteWriter& w);
std::string SealState(const std::string& payload);
// Returns a reader over the verified payload.
ByteReader OpenState(const void* data, size_t size);

void WriteMeta(ByteWriter& w, const StateMeta& m);
StateMeta ReadMeta(ByteReader& r);

void WriteTensor(ByteWriter& w, const at::Tensor& t);
at::Tensor ReadTensor(ByteReader& r);

// Optimizer state is written per parameter, by position, with the fields of
// the optimizer's kind; libtorch keys it by tensor address, which a new
// process cannot reuse.
void WriteOptimizerState(ByteWriter& w, torch::optim::Optimizer& opt, OptimizerKind kind,
                         const std::vector<at::Tensor>& params);
void ReadOptimizerState(ByteReader& r, torch::optim::Optimizer& opt, OptimizerKind kind,
                        const std::vector<at::Tensor>& params, const c10::Device& device);

}  // namespace pg_automl
