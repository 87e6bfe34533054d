#include "pg_automl/mop_plan.h"

#include <nlohmann/json.hpp>

#include "pg_automl/errors.h"

namespace pg_automl {

MopRunState ParseMopRunState(const std::string& json) {
  try {
    auto j = nlohmann::json::parse(json);
    MopRunState s;
    s.run_id = j.at("run_id").get<int64_t>();
    s.segments = j.at("segments").get<int>();
    s.validation_segments = j.at("validation_segments").get<int>();
    s.epochs = j.at("epochs").get<int>();
    s.epochs_done = j.at("epochs_done").get<int>();
    s.seed = uint64_t(j.at("seed").get<int64_t>());
    s.status = j.at("status").get<std::string>();
    for (const auto& l : j.at("live")) s.live.push_back(l.get<bool>());
    for (const auto& d : j.at("done"))
      s.done.push_back(DoneUnit{d.at(0).get<bool>(), d.at(1).get<int>(), d.at(2).get<int>(), d.at(3).get<int>()});
    if (s.segments < 1 || s.live.empty() || s.epochs < 1 || s.epochs_done < 0 || s.validation_segments < 0 ||
        s.validation_segments > s.segments)
      throw std::out_of_range("fields out of range");
    return s;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::DataCorrupted, "run description is not valid", e.what());
  }
}

std::string UnitCommand(int64_t run_id, int64_t epoch, const MopUnit& unit) {
  nlohmann::json j = {{"kind", unit.kind == MopUnit::Kind::Train ? "train" : "validate"},
                      {"run", run_id},
                      {"epoch", epoch},
                      {"trial", unit.trial},
                      {"segment", unit.segment}};
  if (unit.kind == MopUnit::Kind::Train) {
    j["hop"] = unit.hop;
    j["last"] = unit.last;
  }
  return j.dump();
}

MopEpochPlan::MopEpochPlan(const MopSchedule& schedule, std::vector<bool> live, int validation_segments,
                           const std::vector<DoneUnit>& done)
    : queue_(size_t(schedule.models())),
      busy_(size_t(schedule.models()), false),
      validate_(size_t(schedule.segments()), std::vector<bool>(size_t(schedule.models()), false)),
      validating_(size_t(schedule.models()), 0),
      live_(std::move(live)) {
  if (int(live_.size()) != schedule.models())
    throw Error(ErrorKind::DataCorrupted, "run has " + std::to_string(live_.size()) + " trials, schedule has " +
                                              std::to_string(schedule.models()));
  for (int h = 0; h < schedule.hops(); ++h)
    for (int s = 0; s < schedule.segments(); ++s) {
      int t = schedule.ModelAt(h, s);
      if (t != MopSchedule::kIdle && live_[size_t(t)])
        queue_[size_t(t)].push_back(MopUnit{MopUnit::Kind::Train, t, s, h});
    }
  for (int s = 0; s < std::min(validation_segments, schedule.segments()); ++s)
    for (int t = 0; t < schedule.models(); ++t) validate_[size_t(s)][size_t(t)] = live_[size_t(t)];
  std::vector<std::vector<bool>> trained(queue_.size(), std::vector<bool>(size_t(schedule.segments()), false));
  for (const auto& d : done) {
    if (d.trial < 0 || d.trial >= schedule.models() || d.segment < 0 || d.segment >= schedule.segments())
      throw Error(ErrorKind::DataCorrupted, "hop log names trial " + std::to_string(d.trial) + " on segment " +
                                                std::to_string(d.segment) + ", outside the run");
    if (d.validate)
      validate_[size_t(d.segment)][size_t(d.trial)] = false;
    else
      trained[size_t(d.trial)][size_t(d.segment)] = true;
  }
  // Committed visits of a trial, in whatever order they are listed, must be
  // a prefix of its visit order: each unit starts from the state the
  // previous one committed.
  for (size_t t = 0; t < queue_.size(); ++t) {
    if (!live_[t]) continue;
    auto& q = queue_[t];
    size_t n = 0;
    for (bool v : trained[t]) n += v ? 1 : 0;
    for (size_t i = 0; i < n; ++i) {
      if (q.empty() || !trained[t][size_t(q.front().segment)])
        throw Error(ErrorKind::DataCorrupted, "hop log of trial " + std::to_string(t) +
                                                  " does not follow the schedule of the epoch");
      q.pop_front();
    }
  }
  for (size_t t = 0; t < queue_.size(); ++t) pending_ += int(queue_[t].size());
  for (const auto& per_segment : validate_)
    for (bool v : per_segment) pending_ += v ? 1 : 0;
}

bool MopEpochPlan::TrialDone(int trial) const {
  auto t = size_t(trial);
  if (!TrainingDone(trial) || validating_[t] > 0) return false;
  for (const auto& per_segment : validate_)
    if (per_segment[t]) return false;
  return true;
}

std::optional<MopUnit> MopEpochPlan::Next(int segment, const std::function<bool(int)>& allowed) {
  const MopUnit* best = nullptr;
  for (size_t t = 0; t < queue_.size(); ++t) {
    if (busy_[t] || queue_[t].empty() || (allowed && !allowed(int(t)))) continue;
    const MopUnit& u = queue_[t].front();
    if (u.segment == segment && (!best || u.hop < best->hop)) best = &u;
  }
  if (best) {
    MopUnit u = *best;
    u.last = queue_[size_t(u.trial)].size() == 1;
    busy_[size_t(u.trial)] = true;
    ++running_;
    --pending_;
    return u;
  }
  auto& v = validate_[size_t(segment)];
  for (size_t t = 0; t < v.size(); ++t) {
    if (v[t] && TrainingDone(int(t)) && (!allowed || allowed(int(t)))) {
      v[t] = false;
      ++validating_[t];
      ++running_;
      --pending_;
      return MopUnit{MopUnit::Kind::Validate, int(t), segment, -1};
    }
  }
  return std::nullopt;
}

void MopEpochPlan::Complete(const MopUnit& unit) {
  --running_;
  if (unit.kind == MopUnit::Kind::Validate) {
    --validating_[size_t(unit.trial)];
    return;
  }
  busy_[size_t(unit.trial)] = false;
  auto& q = queue_[size_t(unit.trial)];
  // A failed trial's queue was already emptied.
  if (!q.empty() && q.front().hop == unit.hop && q.front().segment == unit.segment) q.pop_front();
}

void MopEpochPlan::FailTrial(int trial) {
  auto t = size_t(trial);
  if (!live_[t]) return;
  live_[t] = false;
  auto& q = queue_[t];
  // The unit at the front may be running: it is counted in running_.
  size_t queued = q.size() - (busy_[t] && !q.empty() ? 1 : 0);
  pending_ -= int(queued);
  q.clear();
  for (auto& per_segment : validate_)
    if (per_segment[t]) {
      per_segment[t] = false;
      --pending_;
    }
}

}  // namespace pg_automl
