// Packed minibatch buffers: the unit of data that training reads.
//
// One buffer holds `rows` samples: float32 features (already normalised),
// one label per row (a class index or a float32 target) and optionally the
// source row's int64 id, so that predictions map back to the table.
// Layout (native byte order, 4-byte aligned sections):
//   "PAMB" | u16 version | u8 label kind | u8 flags | u32 rows | u32 features
//   | f32 x[rows*features] | i32 class[rows] or f32 target[rows] | i64 id[rows]?
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pg_automl {

enum class LabelKind : uint8_t { ClassIndex = 1, Target = 2 };

constexpr uint32_t kMaxBufferRows = 1u << 20;
constexpr size_t kMaxBufferBytes = size_t(1) << 30;  // a bytea holds at most 1 GB

// A read-only view of a buffer held elsewhere (e.g. a detoasted bytea).
struct BufferView {
  uint32_t rows = 0;
  uint32_t features = 0;
  LabelKind label_kind = LabelKind::ClassIndex;
  const float* x = nullptr;
  const int32_t* classes = nullptr;  // when label_kind == ClassIndex
  const float* targets = nullptr;    // when label_kind == Target
  const unsigned char* ids = nullptr;  // may be null; read with Id()
  int64_t Id(uint32_t row) const;
};

// Checks the header and the size; throws Error(DataCorrupted) on bytes that
// are not a buffer.
BufferView ParseBuffer(const void* data, size_t size);

// Per-feature affine normalisation x' = (x - shift) * scale.
struct Normalizer {
  std::vector<float> shift, scale;
  bool empty() const { return shift.empty(); }
};

// Statistics of the feature columns of a table, one row at a time (Welford,
// so that large values do not lose precision).
class FeatureStats {
 public:
  // Throws Error(DataException) for a row of the wrong length or a
  // non-finite value.
  void Add(const double* values, size_t n);
  int64_t rows() const { return rows_; }
  size_t features() const { return mean_.size(); }
  // kind: "standard" (per feature), "global" (one mean/std), "minmax", "none".
  Normalizer MakeNormalizer(const std::string& kind) const;

 private:
  int64_t rows_ = 0;
  std::vector<double> mean_, m2_, min_, max_;
};

// Builds one buffer row by row.
class BufferBuilder {
 public:
  BufferBuilder(uint32_t features, LabelKind kind, bool with_ids, const Normalizer* norm);
  // `label` is the class index or the regression target.
  void Add(const double* values, size_t n, double label, int64_t id);
  uint32_t rows() const { return rows_; }
  std::string Finish() const;

 private:
  uint32_t features_;
  LabelKind kind_;
  bool with_ids_;
  const Normalizer* norm_;
  uint32_t rows_ = 0;
  std::vector<float> x_;
  std::vector<float> row_;  // the row being added, normalised
  std::vector<int32_t> classes_;
  std::vector<float> targets_;
  std::vector<int64_t> ids_;
};

}  // namespace pg_automl
