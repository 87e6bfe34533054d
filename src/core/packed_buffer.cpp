#include "pg_automl/packed_buffer.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "pg_automl/errors.h"

namespace pg_automl {
namespace {

constexpr char kMagic[4] = {'P', 'A', 'M', 'B'};
constexpr uint16_t kVersion = 1;
constexpr uint8_t kFlagIds = 1;
constexpr size_t kHeader = 16;

struct Header {
  char magic[4];
  uint16_t version;
  uint8_t label_kind;
  uint8_t flags;
  uint32_t rows;
  uint32_t features;
};
static_assert(sizeof(Header) == kHeader, "buffer header must stay 16 bytes");

[[noreturn]] void Corrupt(const std::string& detail) {
  throw Error(ErrorKind::DataCorrupted, "value is not a pg_automl packed buffer", detail,
              "Buffers are written by automl_prepare(); prepare the table again.");
}

}  // namespace

int64_t BufferView::Id(uint32_t row) const {
  int64_t id;
  std::memcpy(&id, ids + size_t(row) * sizeof(int64_t), sizeof id);
  return id;
}

BufferView ParseBuffer(const void* data, size_t size) {
  if (size < kHeader) Corrupt("It is " + std::to_string(size) + " bytes long, shorter than a header.");
  Header h;
  std::memcpy(&h, data, kHeader);
  if (std::memcmp(h.magic, kMagic, 4) != 0) Corrupt("The magic number is wrong.");
  if (h.version != kVersion) Corrupt("Format version " + std::to_string(h.version) + " is not supported.");
  if (h.label_kind != uint8_t(LabelKind::ClassIndex) && h.label_kind != uint8_t(LabelKind::Target))
    Corrupt("The label kind is invalid.");
  if (h.rows == 0 || h.rows > kMaxBufferRows || h.features == 0)
    Corrupt("It claims " + std::to_string(h.rows) + " rows of " + std::to_string(h.features) + " features.");
  bool ids = h.flags & kFlagIds;
  size_t expect = kHeader + size_t(h.rows) * h.features * 4 + size_t(h.rows) * 4 + (ids ? size_t(h.rows) * 8 : 0);
  if (size != expect)
    Corrupt("It is " + std::to_string(size) + " bytes long; its header implies " + std::to_string(expect) + ".");
  const unsigned char* p = static_cast<const unsigned char*>(data) + kHeader;
  BufferView v;
  v.rows = h.rows;
  v.features = h.features;
  v.label_kind = LabelKind(h.label_kind);
  v.x = reinterpret_cast<const float*>(p);
  p += size_t(h.rows) * h.features * 4;
  if (v.label_kind == LabelKind::ClassIndex) v.classes = reinterpret_cast<const int32_t*>(p);
  else v.targets = reinterpret_cast<const float*>(p);
  p += size_t(h.rows) * 4;
  if (ids) v.ids = p;
  return v;
}

void FeatureStats::Add(const double* values, size_t n) {
  if (rows_ == 0) {
    if (n == 0) throw Error(ErrorKind::DataException, "feature array is empty");
    mean_.assign(n, 0);
    m2_.assign(n, 0);
    min_.assign(n, INFINITY);
    max_.assign(n, -INFINITY);
  } else if (n != mean_.size()) {
    throw Error(ErrorKind::DataException, "feature arrays have different lengths",
                "Row " + std::to_string(rows_ + 1) + " has " + std::to_string(n) +
                    " values; earlier rows have " + std::to_string(mean_.size()) + ".");
  }
  ++rows_;
  for (size_t i = 0; i < n; ++i) {
    double x = values[i];
    if (!std::isfinite(x))
      throw Error(ErrorKind::DataException, "feature value is not finite",
                  "Row " + std::to_string(rows_) + ", feature " + std::to_string(i + 1) + " is " +
                      FormatNumber(x) + ".");
    double d = x - mean_[i];
    mean_[i] += d / rows_;
    m2_[i] += d * (x - mean_[i]);
    min_[i] = std::min(min_[i], x);
    max_[i] = std::max(max_[i], x);
  }
}

Normalizer FeatureStats::MakeNormalizer(const std::string& kind) const {
  size_t n = mean_.size();
  Normalizer z;
  z.shift.assign(n, 0.f);
  z.scale.assign(n, 1.f);
  // A constant feature keeps scale 1: dividing by a zero spread would give NaN.
  auto inv = [](double spread) { return spread > 1e-12 ? float(1.0 / spread) : 1.f; };
  if (kind == "none") return z;
  if (kind == "standard") {
    for (size_t i = 0; i < n; ++i) {
      z.shift[i] = float(mean_[i]);
      z.scale[i] = inv(std::sqrt(m2_[i] / std::max<int64_t>(rows_, 1)));
    }
  } else if (kind == "global") {
    // Pooled mean and variance over all features (Chan et al.'s combination).
    double mean = 0, m2 = 0;
    for (size_t i = 0; i < n; ++i) mean += mean_[i];
    mean /= double(n);
    for (size_t i = 0; i < n; ++i) m2 += m2_[i] + double(rows_) * (mean_[i] - mean) * (mean_[i] - mean);
    float scale = inv(std::sqrt(m2 / (double(rows_) * double(n))));
    z.shift.assign(n, float(mean));
    z.scale.assign(n, scale);
  } else if (kind == "minmax") {
    for (size_t i = 0; i < n; ++i) {
      z.shift[i] = float(min_[i]);
      z.scale[i] = inv(max_[i] - min_[i]);
    }
  } else {
    throw Error(ErrorKind::InvalidParameter, "unrecognized normalization \"" + kind + "\"", {},
                "Use standard, global, minmax or none.");
  }
  return z;
}

BufferBuilder::BufferBuilder(uint32_t features, LabelKind kind, bool with_ids, const Normalizer* norm)
    : features_(features), kind_(kind), with_ids_(with_ids), norm_(norm) {
  if (norm_ && !norm_->empty() && norm_->shift.size() != features)
    throw Error(ErrorKind::InvalidParameter, "normalization has " + std::to_string(norm_->shift.size()) +
                                                 " features, the data " + std::to_string(features));
}

void BufferBuilder::Add(const double* values, size_t n, double label, int64_t id) {
  if (n != features_)
    throw Error(ErrorKind::DataException, "feature arrays have different lengths",
                "A row has " + std::to_string(n) + " values; the table has " + std::to_string(features_) + ".");
  if (rows_ >= kMaxBufferRows) throw Error(ErrorKind::InvalidParameter, "too many rows for one buffer");
  // A buffer becomes one bytea, which cannot exceed 1 GB.
  if ((size_t(rows_) + 1) * (size_t(features_) * 4 + 4 + (with_ids_ ? 8 : 0)) > kMaxBufferBytes)
    throw Error(ErrorKind::InvalidParameter, "packed buffer would exceed " + std::to_string(kMaxBufferBytes >> 20) + " MB",
                std::to_string(rows_ + 1) + " rows of " + std::to_string(features_) + " features do not fit.",
                "Use a smaller buffer_size.");
  // Normalise the whole row into row_ before appending any of it, so that a
  // rejected row leaves the builder as it was.  Values must fit a float32
  // before and after normalisation.
  row_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    bool ok = std::fabs(values[i]) <= double(FLT_MAX);  // false for NaN too
    float v = ok ? float(values[i]) : 0.f;
    if (ok && norm_ && !norm_->empty()) v = (v - norm_->shift[i]) * norm_->scale[i];
    if (!ok || !std::isfinite(v))
      throw Error(ErrorKind::DataException, "feature value is not finite in single precision",
                  "Feature " + std::to_string(i + 1) + " is " + FormatNumber(values[i]) + ".");
    row_[i] = v;
  }
  if (kind_ == LabelKind::ClassIndex) {
    // Converting a non-integral or out-of-range double to int32 is undefined.
    if (!(label >= double(INT32_MIN) && label <= double(INT32_MAX)) || label != std::floor(label))
      throw Error(ErrorKind::DataException, "class label " + FormatNumber(label) + " is not an integer",
                  {}, "Class labels are integers from 0 to the number of classes minus 1.");
  } else if (!std::isfinite(label)) {
    throw Error(ErrorKind::DataException, "target value is not finite");
  }
  x_.insert(x_.end(), row_.begin(), row_.end());
  if (kind_ == LabelKind::ClassIndex) classes_.push_back(int32_t(label));
  else targets_.push_back(float(label));
  if (with_ids_) ids_.push_back(id);
  ++rows_;
}

std::string BufferBuilder::Finish() const {
  if (rows_ == 0) throw Error(ErrorKind::Internal, "cannot pack an empty buffer");
  Header h;
  std::memcpy(h.magic, kMagic, 4);
  h.version = kVersion;
  h.label_kind = uint8_t(kind_);
  h.flags = with_ids_ ? kFlagIds : 0;
  h.rows = rows_;
  h.features = features_;
  std::string out(reinterpret_cast<const char*>(&h), kHeader);
  out.append(reinterpret_cast<const char*>(x_.data()), x_.size() * 4);
  if (kind_ == LabelKind::ClassIndex) out.append(reinterpret_cast<const char*>(classes_.data()), rows_ * 4);
  else out.append(reinterpret_cast<const char*>(targets_.data()), rows_ * 4);
  if (with_ids_) out.append(reinterpret_cast<const char*>(ids_.data()), size_t(rows_) * 8);
  return out;
}

}  // namespace pg_automl
