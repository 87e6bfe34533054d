#include "pg_automl/mop_schedule.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "pg_automl/errors.h"

namespace pg_automl {
namespace {

// SplitMix64: a fixed, portable generator (std::shuffle's algorithm differs
// between standard libraries, and a resumed run must replay the schedule).
struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) by rejection, without modulo bias.
  uint64_t Below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = Next(); while (x >= limit);
    return x % n;
  }
};

std::vector<int> Permutation(int n, SplitMix64& rng) {
  std::vector<int> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int i = n - 1; i > 0; --i) std::swap(p[size_t(i)], p[size_t(rng.Below(uint64_t(i) + 1))]);
  return p;
}

}  // namespace

MopSchedule::MopSchedule(int models, int segments, uint64_t seed, int64_t epoch)
    : models_(models), segments_(segments) {
  if (models < 1 || models > 65536 || segments < 1 || segments > 65536)
    throw Error(ErrorKind::InvalidParameter, "a hop schedule needs 1 to 65536 models and segments, not " +
                                                 std::to_string(models) + " and " + std::to_string(segments));
  // Cyclic Latin square of order n: cell (hop h, column c) holds symbol
  // (h + c) mod n.  Columns beyond the segments are parked slots (models
  // waiting); symbols beyond the models are idle turns.  Permuting hops,
  // columns and symbols keeps it a Latin square.
  const int n = std::max(models, segments);
  SplitMix64 rng{seed * 0x9e3779b97f4a7c15ULL ^ uint64_t(epoch) * 0xd1b54a32d192ed03ULL};
  std::vector<int> hop_of = Permutation(n, rng), column_of = Permutation(n, rng), model_of = Permutation(n, rng);
  plan_.assign(size_t(n), std::vector<int>(size_t(segments), kIdle));
  for (int h = 0; h < n; ++h)
    for (int s = 0; s < segments; ++s) {
      int symbol = model_of[size_t((hop_of[size_t(h)] + column_of[size_t(s)]) % n)];
      plan_[size_t(h)][size_t(s)] = symbol < models ? symbol : kIdle;
    }
}

std::vector<int> MopSchedule::VisitOrder(int model) const {
  std::vector<int> order;
  for (const auto& hop : plan_)
    for (int s = 0; s < segments_; ++s)
      if (hop[size_t(s)] == model) order.push_back(s);
  return order;
}

double MopSchedule::Utilisation() const {
  return double(std::min(models_, segments_)) / double(std::max(models_, segments_));
}

}  // namespace pg_automl
