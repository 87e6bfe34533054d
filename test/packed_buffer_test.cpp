// Packed buffers: round trips, normalisation, rejection of anything that is
// not a buffer, and the feature statistics behind the normalisers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "pg_automl/errors.h"
#include "pg_automl/packed_buffer.h"
#include "test_util.h"

namespace pg_automl {
namespace {

using testing_util::ThrowsError;

constexpr size_t kHeader = 16;

TEST(PackedBuffer, RoundTripClassLabelsWithIds) {
  const double rows[4][3] = {{1.5, -2, 0}, {3, 4.25, -5}, {1e6, -1e-6, 7}, {0.1, 0.2, 0.3}};
  const int labels[4] = {2, 0, 1, 9};
  const int64_t ids[4] = {17, -3, int64_t(1) << 40, 0};
  BufferBuilder b(3, LabelKind::ClassIndex, true, nullptr);
  for (int r = 0; r < 4; ++r) b.Add(rows[r], 3, labels[r], ids[r]);
  EXPECT_EQ(b.rows(), 4u);
  std::string bytes = b.Finish();
  EXPECT_EQ(bytes.size(), kHeader + 4 * 3 * 4 + 4 * 4 + 4 * 8);
  EXPECT_EQ(bytes.substr(0, 4), "PAMB");
  BufferView v = ParseBuffer(bytes.data(), bytes.size());
  EXPECT_EQ(v.rows, 4u);
  EXPECT_EQ(v.features, 3u);
  EXPECT_EQ(v.label_kind, LabelKind::ClassIndex);
  ASSERT_NE(v.classes, nullptr);
  EXPECT_EQ(v.targets, nullptr);
  ASSERT_NE(v.ids, nullptr);
  for (int r = 0; r < 4; ++r) {
    for (int f = 0; f < 3; ++f) EXPECT_EQ(v.x[r * 3 + f], float(rows[r][f])) << "row " << r << " feature " << f;
    EXPECT_EQ(v.classes[r], labels[r]) << "row " << r;
    EXPECT_EQ(v.Id(uint32_t(r)), ids[r]) << "row " << r;
  }
}

TEST(PackedBuffer, RoundTripRegressionWithoutIds) {
  const double rows[3][2] = {{1, 2}, {-3, 4}, {5, -6}};
  const double targets[3] = {0.5, -1.25, 1e3};
  BufferBuilder b(2, LabelKind::Target, false, nullptr);
  for (int r = 0; r < 3; ++r) b.Add(rows[r], 2, targets[r], 99);
  std::string bytes = b.Finish();
  EXPECT_EQ(bytes.size(), kHeader + 3 * 2 * 4 + 3 * 4);
  BufferView v = ParseBuffer(bytes.data(), bytes.size());
  EXPECT_EQ(v.rows, 3u);
  EXPECT_EQ(v.features, 2u);
  EXPECT_EQ(v.label_kind, LabelKind::Target);
  EXPECT_EQ(v.classes, nullptr);
  ASSERT_NE(v.targets, nullptr);
  EXPECT_EQ(v.ids, nullptr);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(v.x[r * 2], float(rows[r][0]));
    EXPECT_EQ(v.x[r * 2 + 1], float(rows[r][1]));
    EXPECT_EQ(v.targets[r], float(targets[r]));
  }
}

TEST(PackedBuffer, NormalisationIsApplied) {
  Normalizer z;
  z.shift = {1.0f, -2.0f, 0.5f};
  z.scale = {0.5f, 2.0f, 1.0f};
  const double rows[2][3] = {{3, 0, 0.5}, {-1, -2, 10}};
  BufferBuilder b(3, LabelKind::ClassIndex, false, &z);
  for (int r = 0; r < 2; ++r) b.Add(rows[r], 3, r, 0);
  std::string bytes = b.Finish();
  BufferView v = ParseBuffer(bytes.data(), bytes.size());
  const float want[2][3] = {{1.0f, 4.0f, 0.0f}, {-1.0f, 0.0f, 9.5f}};
  for (int r = 0; r < 2; ++r)
    for (int f = 0; f < 3; ++f) EXPECT_FLOAT_EQ(v.x[r * 3 + f], want[r][f]) << "row " << r << " feature " << f;
  // An empty normaliser leaves values alone.
  Normalizer none;
  BufferBuilder c(3, LabelKind::ClassIndex, false, &none);
  c.Add(rows[0], 3, 0, 0);
  std::string raw = c.Finish();
  BufferView w = ParseBuffer(raw.data(), raw.size());
  EXPECT_EQ(w.x[0], 3.0f);
  EXPECT_EQ(w.x[1], 0.0f);
}

// Class labels arrive as float8 from SQL: anything but an integer that fits
// an int32 is rejected (converting it would be undefined behaviour).
TEST(PackedBuffer, BuilderRejectsNonIntegerClassLabels) {
  BufferBuilder b(2, LabelKind::ClassIndex, false, nullptr);
  const double row[2] = {1, 2};
  for (double bad : {double(NAN), double(INFINITY), 2.5, -0.5, 1e10, -1e10, 2147483648.0}) {
    EXPECT_TRUE(ThrowsError([&] { b.Add(row, 2, bad, 0); }, ErrorKind::DataException, {"class label"}))
        << "label " << bad;
  }
  EXPECT_EQ(b.rows(), 0u);
  b.Add(row, 2, 0.0, 0);
  b.Add(row, 2, 7.0, 0);
  b.Add(row, 2, 2147483647.0, 0);
  std::string bytes = b.Finish();
  BufferView v = ParseBuffer(bytes.data(), bytes.size());
  ASSERT_EQ(v.rows, 3u);
  EXPECT_EQ(v.classes[0], 0);
  EXPECT_EQ(v.classes[1], 7);
  EXPECT_EQ(v.classes[2], 2147483647);
}

TEST(PackedBuffer, BuilderRejectsBadRows) {
  BufferBuilder b(3, LabelKind::Target, false, nullptr);
  const double ok[3] = {1, 2, 3}, nan_row[3] = {1, NAN, 3}, inf_row[3] = {INFINITY, 0, 0};
  EXPECT_TRUE(ThrowsError([&] { b.Add(ok, 2, 0, 0); }, ErrorKind::DataException));
  EXPECT_TRUE(ThrowsError([&] { b.Add(nan_row, 3, 0, 0); }, ErrorKind::DataException, {"finite"}));
  EXPECT_TRUE(ThrowsError([&] { b.Add(inf_row, 3, 0, 0); }, ErrorKind::DataException, {"finite"}));
  EXPECT_TRUE(ThrowsError([&] { b.Add(ok, 3, NAN, 0); }, ErrorKind::DataException, {"target"}));
  EXPECT_TRUE(ThrowsError([&] { b.Finish(); }, ErrorKind::Internal)) << "an empty buffer must not be packed";
  b.Add(ok, 3, 1.0, 0);
  EXPECT_EQ(b.rows(), 1u);
  // A rejected row leaves the builder as it was.
  EXPECT_TRUE(ThrowsError([&] { b.Add(ok, 3, INFINITY, 0); }, ErrorKind::DataException));
  EXPECT_TRUE(ThrowsError([&] { b.Add(nan_row, 3, 2.0, 0); }, ErrorKind::DataException));
  b.Add(ok, 3, 2.0, 0);
  std::string bytes = b.Finish();
  BufferView v = ParseBuffer(bytes.data(), bytes.size());
  ASSERT_EQ(v.rows, 2u);
  EXPECT_EQ(v.targets[0], 1.0f);
  EXPECT_EQ(v.targets[1], 2.0f);
  EXPECT_EQ(v.x[3], 1.0f);
  Normalizer z;
  z.shift = {0, 0};
  z.scale = {1, 1};
  EXPECT_TRUE(ThrowsError([&] { BufferBuilder(3, LabelKind::Target, false, &z); }, ErrorKind::InvalidParameter));
}

std::string SmallBuffer(bool ids) {
  BufferBuilder b(3, LabelKind::ClassIndex, ids, nullptr);
  const double rows[2][3] = {{1, 2, 3}, {4, 5, 6}};
  b.Add(rows[0], 3, 1, 10);
  b.Add(rows[1], 3, 0, 11);
  return b.Finish();
}

void ExpectCorrupt(const std::string& bytes, const std::string& what) {
  EXPECT_TRUE(ThrowsError([&] { ParseBuffer(bytes.data(), bytes.size()); }, ErrorKind::DataCorrupted)) << what;
}

TEST(PackedBufferErrors, Truncated) {
  for (bool ids : {false, true}) {
    std::string good = SmallBuffer(ids);
    ASSERT_NO_THROW(ParseBuffer(good.data(), good.size()));
    // Every truncation, including the empty string, is an error, never a crash.
    for (size_t len = 0; len < good.size(); ++len) {
      std::string cut = good.substr(0, len);
      ExpectCorrupt(cut, "truncated to " + std::to_string(len) + " bytes");
    }
    ExpectCorrupt(good + std::string(1, '\0'), "one byte appended");
    ExpectCorrupt(good + good, "two buffers concatenated");
  }
  EXPECT_TRUE(ThrowsError([] { ParseBuffer(nullptr, 0); }, ErrorKind::DataCorrupted));
}

TEST(PackedBufferErrors, ForeignBytes) {
  std::string good = SmallBuffer(true);
  std::string s = good;
  s[0] = 'X';
  ExpectCorrupt(s, "wrong magic");
  s = good;
  std::memcpy(&s[0], "PGAM", 4);
  ExpectCorrupt(s, "training-state magic");
  s = good;
  uint16_t version = 2;
  std::memcpy(&s[4], &version, 2);
  ExpectCorrupt(s, "version 2");
  s = good;
  s[6] = 3;
  ExpectCorrupt(s, "label kind 3");
  s = good;
  s[6] = 0;
  ExpectCorrupt(s, "label kind 0");
  s = good;
  uint32_t rows = 0;
  std::memcpy(&s[8], &rows, 4);
  ExpectCorrupt(s, "zero rows");
  s = good;
  uint32_t features = 0;
  std::memcpy(&s[12], &features, 4);
  ExpectCorrupt(s, "zero features");
  s = good;
  rows = kMaxBufferRows + 1;
  std::memcpy(&s[8], &rows, 4);
  ExpectCorrupt(s, "too many rows");
  s = good;
  features = 0xFFFFFFFFu;
  std::memcpy(&s[12], &features, 4);
  ExpectCorrupt(s, "2^32-1 features");
  s = good;
  s[7] ^= 1;  // the ids flag: the size no longer matches
  ExpectCorrupt(s, "ids flag flipped");
  // Inverting any header byte is detected.
  for (size_t i = 0; i < kHeader; ++i) {
    s = good;
    s[i] = char(~s[i]);
    ExpectCorrupt(s, "header byte " + std::to_string(i) + " inverted");
  }
  std::mt19937 rng(7);
  for (size_t n : {1u, 15u, 16u, 17u, 64u, 1000u}) {
    std::string junk(n, '\0');
    for (auto& c : junk) c = char(rng());
    ExpectCorrupt(junk, std::to_string(n) + " random bytes");
  }
  ExpectCorrupt("PAMB", "magic only");
  ExpectCorrupt(std::string(64, '\0'), "zeros");
}

// ---- FeatureStats -----------------------------------------------------------

TEST(FeatureStats, RejectsRaggedRowsAndNonFinite) {
  FeatureStats s;
  const double a[3] = {1, 2, 3}, b[2] = {1, 2}, c[3] = {1, NAN, 3}, d[3] = {-INFINITY, 0, 0};
  s.Add(a, 3);
  EXPECT_TRUE(ThrowsError([&] { s.Add(b, 2); }, ErrorKind::DataException, {"different lengths"}));
  EXPECT_TRUE(ThrowsError([&] { s.Add(c, 3); }, ErrorKind::DataException, {"finite"}));
  FeatureStats t;
  EXPECT_TRUE(ThrowsError([&] { t.Add(d, 3); }, ErrorKind::DataException, {"finite"}));
  FeatureStats e;
  EXPECT_TRUE(ThrowsError([&] { e.Add(a, 0); }, ErrorKind::DataException));
  EXPECT_EQ(s.features(), 3u);
}

// Four rows; feature 0: 1,2,3,6 (mean 3, population variance 3.5); feature 1:
// 10,20,30,40 (mean 25, variance 125); feature 2: constant 5.
FeatureStats HandStats() {
  FeatureStats s;
  const double rows[4][3] = {{1, 10, 5}, {2, 20, 5}, {3, 30, 5}, {6, 40, 5}};
  for (const auto& r : rows) s.Add(r, 3);
  return s;
}

TEST(FeatureStats, StandardNormaliser) {
  FeatureStats s = HandStats();
  EXPECT_EQ(s.rows(), 4);
  EXPECT_EQ(s.features(), 3u);
  Normalizer z = s.MakeNormalizer("standard");
  ASSERT_EQ(z.shift.size(), 3u);
  ASSERT_EQ(z.scale.size(), 3u);
  EXPECT_FLOAT_EQ(z.shift[0], 3.0f);
  EXPECT_FLOAT_EQ(z.scale[0], float(1 / std::sqrt(3.5)));
  EXPECT_FLOAT_EQ(z.shift[1], 25.0f);
  EXPECT_FLOAT_EQ(z.scale[1], float(1 / std::sqrt(125.0)));
  EXPECT_FLOAT_EQ(z.shift[2], 5.0f);
  EXPECT_EQ(z.scale[2], 1.0f) << "a constant feature must keep scale 1";
}

TEST(FeatureStats, GlobalNormaliser) {
  // All twelve values: mean 132/12 = 11, mean of squares 3150/12 = 262.5,
  // variance 262.5 - 121 = 141.5.
  Normalizer z = HandStats().MakeNormalizer("global");
  ASSERT_EQ(z.shift.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FLOAT_EQ(z.shift[i], 11.0f) << "feature " << i;
    EXPECT_FLOAT_EQ(z.scale[i], float(1 / std::sqrt(141.5))) << "feature " << i;
  }
}

TEST(FeatureStats, MinMaxNormaliser) {
  Normalizer z = HandStats().MakeNormalizer("minmax");
  EXPECT_FLOAT_EQ(z.shift[0], 1.0f);
  EXPECT_FLOAT_EQ(z.scale[0], 1.0f / 5);
  EXPECT_FLOAT_EQ(z.shift[1], 10.0f);
  EXPECT_FLOAT_EQ(z.scale[1], 1.0f / 30);
  EXPECT_FLOAT_EQ(z.shift[2], 5.0f);
  EXPECT_EQ(z.scale[2], 1.0f) << "a constant feature must keep scale 1";
}

TEST(FeatureStats, NoneNormaliserAndUnknownKind) {
  FeatureStats s = HandStats();
  Normalizer z = s.MakeNormalizer("none");
  ASSERT_EQ(z.shift.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(z.shift[i], 0.0f);
    EXPECT_EQ(z.scale[i], 1.0f);
  }
  EXPECT_TRUE(ThrowsError([&] { s.MakeNormalizer("zscore"); }, ErrorKind::InvalidParameter, {"zscore"}));
  EXPECT_TRUE(ThrowsError([&] { s.MakeNormalizer("Standard"); }, ErrorKind::InvalidParameter));
}

TEST(FeatureStats, ConstantDataEverywhere) {
  FeatureStats s;
  const double r[2] = {7, 7};
  for (int i = 0; i < 5; ++i) s.Add(r, 2);
  for (const char* kind : {"standard", "global", "minmax"}) {
    Normalizer z = s.MakeNormalizer(kind);
    EXPECT_EQ(z.scale[0], 1.0f) << kind;
    EXPECT_EQ(z.scale[1], 1.0f) << kind;
    EXPECT_FALSE(std::isnan(z.shift[0])) << kind;
  }
}

TEST(FeatureStats, LargeOffsetsKeepPrecision) {
  // Naive sum-of-squares would lose the variance of values near 1e9.
  FeatureStats s;
  for (double v : {1e9 + 1, 1e9 + 2, 1e9 + 3}) s.Add(&v, 1);
  Normalizer z = s.MakeNormalizer("standard");
  EXPECT_FLOAT_EQ(z.shift[0], float(1e9 + 2));
  EXPECT_NEAR(z.scale[0], 1 / std::sqrt(2.0 / 3.0), 1e-4);
}

TEST(FeatureStats, StandardisedDataHasZeroMeanUnitVariance) {
  std::mt19937 rng(3);
  std::normal_distribution<double> n(50, 7);
  std::vector<std::vector<double>> rows(200, std::vector<double>(4));
  FeatureStats s;
  for (auto& r : rows) {
    for (size_t f = 0; f < r.size(); ++f) r[f] = n(rng) * double(f + 1);
    s.Add(r.data(), r.size());
  }
  Normalizer z = s.MakeNormalizer("standard");
  BufferBuilder b(4, LabelKind::Target, false, &z);
  for (auto& r : rows) b.Add(r.data(), r.size(), 0, 0);
  std::string bytes = b.Finish();
  BufferView v = ParseBuffer(bytes.data(), bytes.size());
  for (uint32_t f = 0; f < 4; ++f) {
    double sum = 0, sq = 0;
    for (uint32_t r = 0; r < v.rows; ++r) sum += v.x[r * 4 + f];
    double mean = sum / v.rows;
    for (uint32_t r = 0; r < v.rows; ++r) sq += (v.x[r * 4 + f] - mean) * (v.x[r * 4 + f] - mean);
    EXPECT_NEAR(mean, 0, 1e-4) << "feature " << f;
    EXPECT_NEAR(sq / v.rows, 1, 1e-3) << "feature " << f;
  }
  // minmax maps onto [0, 1] with both ends reached.
  Normalizer mm = s.MakeNormalizer("minmax");
  BufferBuilder c(4, LabelKind::Target, false, &mm);
  for (auto& r : rows) c.Add(r.data(), r.size(), 0, 0);
  std::string cb = c.Finish();
  BufferView cv = ParseBuffer(cb.data(), cb.size());
  for (uint32_t f = 0; f < 4; ++f) {
    float lo = 1e9f, hi = -1e9f;
    for (uint32_t r = 0; r < cv.rows; ++r) lo = std::min(lo, cv.x[r * 4 + f]), hi = std::max(hi, cv.x[r * 4 + f]);
    EXPECT_NEAR(lo, 0, 1e-5) << "feature " << f;
    EXPECT_NEAR(hi, 1, 1e-5) << "feature " << f;
  }
}

}  // namespace
}  // namespace pg_automl
