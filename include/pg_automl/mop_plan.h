// What is left of one epoch of a model hopper run, and what a segment may
// run next.  A driver keeps two of them: the current epoch and the next one,
// whose units a trial may start as soon as it is done with the current one
// (training and validation), so no segment waits for the slowest trial.
//
// The schedule (MopSchedule) fixes, for every trial, the order in which it
// visits the segments in this epoch; the plan only decides *when*.  A segment
// may take any of its pending training units whose trial is idle and whose
// previous visit is done, lowest hop first, so a slow unit delays only the
// units that depend on it, never the results: every trial still sees its
// shards in schedule order, whatever the timing.  Once a trial has visited
// every segment, each segment that serves validation shards evaluates it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pg_automl/mop_schedule.h"

namespace pg_automl {

struct MopUnit {
  enum class Kind { Train, Validate };
  Kind kind;
  int trial;
  int segment;
  int hop;  // the unit's hop in the schedule (Train); -1 for Validate
  bool last = false;  // the trial's last visit of the epoch (Train)
};

// A unit committed before the driver (re)started.
struct DoneUnit {
  bool validate;
  int trial;
  int segment;
  int epoch;
};

// What a driver starts from, as automl_run_load() returns it.
struct MopRunState {
  int64_t run_id = 0;
  int segments = 0;
  int validation_segments = 0;  // segments that evaluate (0: no validation)
  int epochs = 0;
  int epochs_done = 0;
  uint64_t seed = 0;
  std::string status;
  std::vector<bool> live;       // live[t]: trial t still trains
  std::vector<DoneUnit> done;   // units of epochs epochs_done + 1 and + 2 already committed
};

// Throws Error(DataCorrupted) when `json` is not a run description.
MopRunState ParseMopRunState(const std::string& json);

// The JSON command that makes a segment run `unit` of `epoch`.
std::string UnitCommand(int64_t run_id, int64_t epoch, const MopUnit& unit);

class MopEpochPlan {
 public:
  // Throws Error(DataCorrupted) when `done` does not fit the schedule (a hop
  // log that skips a visit).
  MopEpochPlan(const MopSchedule& schedule, std::vector<bool> live, int validation_segments,
               const std::vector<DoneUnit>& done);

  // The next unit for idle `segment` (now counted as running), or nothing;
  // with `allowed`, only units of trials t with allowed(t).
  std::optional<MopUnit> Next(int segment, const std::function<bool(int)>& allowed = nullptr);
  // A running unit finished and was committed.
  void Complete(const MopUnit& unit);
  // Drops the trial's remaining units; its running unit may still complete.
  void FailTrial(int trial);

  bool Finished() const { return running_ == 0 && pending_ == 0; }
  // The trial has nothing left in this epoch, running or pending.
  bool TrialDone(int trial) const;
  int running() const { return running_; }
  const std::vector<bool>& live() const { return live_; }

 private:
  bool TrainingDone(int trial) const { return queue_[size_t(trial)].empty() && !busy_[size_t(trial)]; }

  std::vector<std::deque<MopUnit>> queue_;    // per trial: training visits left, in hop order
  std::vector<bool> busy_;                    // per trial: a training unit is running
  std::vector<std::vector<bool>> validate_;   // [segment][trial]: evaluation left
  std::vector<int> validating_;               // per trial: evaluations running
  std::vector<bool> live_;
  int running_ = 0;
  int pending_ = 0;
};

}  // namespace pg_automl
