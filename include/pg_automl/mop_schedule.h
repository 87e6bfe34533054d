// The model hopper schedule of one epoch (MOP, Cerebro, VLDB 2020).
//
// M models train on S segments.  In each hop every busy segment trains one
// model on its shard for a sub-epoch, then the models rotate.  Over the
// epoch's max(M, S) hops each model visits each segment exactly once, no
// model is on two segments in one hop, and no segment trains two models at
// once: with more models than segments some wait their turn, with fewer some
// segments idle.  The schedule is a Latin square whose rows, columns and
// symbols are permuted from (seed, epoch), so the visit order changes every
// epoch yet the same seed always gives the same schedule, on any platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pg_automl {

class MopSchedule {
 public:
  static constexpr int kIdle = -1;

  // Throws Error(InvalidParameter) unless 1 <= models, segments <= 65536.
  MopSchedule(int models, int segments, uint64_t seed, int64_t epoch);

  int models() const { return models_; }
  int segments() const { return segments_; }
  int hops() const { return int(plan_.size()); }
  // The model that `segment` trains in `hop`, or kIdle.
  int ModelAt(int hop, int segment) const { return plan_[size_t(hop)][size_t(segment)]; }
  // The segments `model` visits, in order (one per hop it trains in).
  std::vector<int> VisitOrder(int model) const;
  // Busy segment-hops / all segment-hops: min(M, S) / max(M, S) of the work
  // a synchronous schedule could do.
  double Utilisation() const;

 private:
  int models_, segments_;
  std::vector<std::vector<int>> plan_;  // plan_[hop][segment] = model or kIdle
};

}  // namespace pg_automl
