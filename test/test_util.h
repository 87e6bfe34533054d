// Helpers shared by the unit tests of the core.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "pg_automl/errors.h"
#include "pg_automl/packed_buffer.h"

namespace pg_automl {
namespace testing_util {

inline const char* KindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::InvalidParameter: return "InvalidParameter";
    case ErrorKind::DataException: return "DataException";
    case ErrorKind::DataCorrupted: return "DataCorrupted";
    case ErrorKind::FeatureNotSupported: return "FeatureNotSupported";
    case ErrorKind::OutOfMemory: return "OutOfMemory";
    case ErrorKind::ProgramLimit: return "ProgramLimit";
    case ErrorKind::Io: return "Io";
    case ErrorKind::FileNotFound: return "FileNotFound";
    case ErrorKind::Interrupted: return "Interrupted";
    case ErrorKind::Internal: return "Internal";
  }
  return "?";
}

// Runs f and checks that it throws pg_automl::Error of `kind` whose message
// contains every string of `parts`.  Any other outcome (no exception, another
// exception type, another kind, a message without a part) is a failure that
// says what happened.
template <typename F>
::testing::AssertionResult ThrowsError(F&& f, ErrorKind kind,
                                       std::initializer_list<std::string> parts = {}) {
  try {
    f();
  } catch (const Error& e) {
    if (e.kind() != kind)
      return ::testing::AssertionFailure() << "threw kind " << KindName(e.kind()) << " instead of "
                                           << KindName(kind) << ": " << e.what();
    std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a foreign exception instead of pg_automl::Error("
                                         << KindName(kind) << "): " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "threw a non-std exception";
  }
  return ::testing::AssertionFailure() << "threw nothing; expected pg_automl::Error(" << KindName(kind) << ")";
}

// A synthetic classification data set: `rows` rows of `features` normal
// values, labelled by the argmax of a fixed random linear map (so that it is
// learnable).  The map depends on `features` and `classes` only; the rows on
// `seed`.
struct Dataset {
  uint32_t features = 0;
  std::vector<std::vector<double>> x;
  std::vector<double> y;
};

inline Dataset MakeClassification(uint32_t rows, uint32_t features, int classes, uint32_t seed) {
  std::mt19937 map_rng(1234 + features * 31 + classes);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::vector<double> w(size_t(features) * classes);
  for (auto& v : w) v = n01(map_rng);
  std::mt19937 rng(seed);
  Dataset d;
  d.features = features;
  for (uint32_t r = 0; r < rows; ++r) {
    std::vector<double> row(features);
    for (auto& v : row) v = n01(rng);
    int best = 0;
    double best_score = -1e300;
    for (int c = 0; c < classes; ++c) {
      double s = 0;
      for (uint32_t f = 0; f < features; ++f) s += w[size_t(c) * features + f] * row[f];
      if (s > best_score) best_score = s, best = c;
    }
    d.x.push_back(std::move(row));
    d.y.push_back(best);
  }
  return d;
}

// Regression: target = a fixed linear function of the features plus a bias.
inline Dataset MakeRegression(uint32_t rows, uint32_t features, uint32_t seed) {
  std::mt19937 map_rng(999 + features);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::vector<double> w(features);
  for (auto& v : w) v = 0.5 * n01(map_rng);
  std::mt19937 rng(seed);
  Dataset d;
  d.features = features;
  for (uint32_t r = 0; r < rows; ++r) {
    std::vector<double> row(features);
    double t = 0.25;
    for (uint32_t f = 0; f < features; ++f) {
      row[f] = n01(rng);
      t += w[f] * row[f];
    }
    d.x.push_back(std::move(row));
    d.y.push_back(t);
  }
  return d;
}

inline std::string Pack(const Dataset& d, LabelKind kind, bool with_ids = false,
                        const Normalizer* norm = nullptr) {
  BufferBuilder b(d.features, kind, with_ids, norm);
  for (size_t r = 0; r < d.x.size(); ++r) b.Add(d.x[r].data(), d.x[r].size(), d.y[r], int64_t(1000 + r));
  return b.Finish();
}

inline BufferView View(const std::string& bytes) { return ParseBuffer(bytes.data(), bytes.size()); }

}  // namespace testing_util
}  // namespace pg_automl
