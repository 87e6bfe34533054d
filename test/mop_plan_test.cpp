#include "pg_automl/mop_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "pg_automl/errors.h"

using namespace pg_automl;

namespace {

struct Trace {
  std::vector<std::vector<int>> visits;  // per trial: segments trained on, in order
  std::vector<std::set<int>> validated;  // per trial: segments that evaluated it
};

// Runs a plan to the end, completing a random running unit at each step,
// and checks the invariants a real run relies on at every step.
Trace Simulate(MopEpochPlan& plan, int models, int segments, uint32_t seed,
               const std::set<std::pair<int, int>>& fail_at = {}) {
  std::mt19937 rng(seed);
  Trace tr{std::vector<std::vector<int>>(size_t(models)), std::vector<std::set<int>>(size_t(models))};
  std::vector<std::optional<MopUnit>> running{size_t(segments)};
  std::vector<bool> trial_busy(size_t(models), false);
  for (int guard = 0; guard < 100000 && !plan.Finished(); ++guard) {
    for (int s = 0; s < segments; ++s) {
      if (running[size_t(s)]) continue;
      auto u = plan.Next(s);
      if (!u) continue;
      EXPECT_EQ(u->segment, s);
      if (u->kind == MopUnit::Kind::Train) {
        EXPECT_FALSE(trial_busy[size_t(u->trial)]) << "trial " << u->trial << " on two segments";
        trial_busy[size_t(u->trial)] = true;
      } else {
        EXPECT_FALSE(trial_busy[size_t(u->trial)]) << "trial " << u->trial << " validated while training";
      }
      running[size_t(s)] = u;
    }
    std::vector<int> busy;
    for (int s = 0; s < segments; ++s)
      if (running[size_t(s)]) busy.push_back(s);
    if (busy.empty()) {
      EXPECT_TRUE(plan.Finished()) << "no segment can run anything, yet units are left";
      break;
    }
    int s = busy[std::uniform_int_distribution<size_t>(0, busy.size() - 1)(rng)];
    MopUnit u = *running[size_t(s)];
    running[size_t(s)].reset();
    if (u.kind == MopUnit::Kind::Train) {
      trial_busy[size_t(u.trial)] = false;
      tr.visits[size_t(u.trial)].push_back(u.segment);
    } else {
      EXPECT_TRUE(tr.validated[size_t(u.trial)].insert(u.segment).second);
    }
    plan.Complete(u);
    if (u.kind == MopUnit::Kind::Train && fail_at.count({u.trial, int(tr.visits[size_t(u.trial)].size())}))
      plan.FailTrial(u.trial);
  }
  EXPECT_TRUE(plan.Finished());
  return tr;
}

TEST(MopEpochPlan, EveryTrialFollowsItsScheduleWhateverTheTiming) {
  for (auto [m, s] : std::vector<std::pair<int, int>>{{1, 1}, {1, 3}, {4, 2}, {2, 4}, {5, 3}, {7, 7}, {12, 4}}) {
    MopSchedule sched(m, s, 42, 3);
    for (uint32_t seed = 0; seed < 20; ++seed) {
      SCOPED_TRACE(std::to_string(m) + " trials on " + std::to_string(s) + " segments, timing " + std::to_string(seed));
      MopEpochPlan plan(sched, std::vector<bool>(size_t(m), true), s, {});
      Trace tr = Simulate(plan, m, s, seed);
      for (int t = 0; t < m; ++t) {
        EXPECT_EQ(tr.visits[size_t(t)], sched.VisitOrder(t)) << "trial " << t;
        EXPECT_EQ(int(tr.validated[size_t(t)].size()), s) << "trial " << t;
      }
    }
  }
}

TEST(MopEpochPlan, ValidationOnlyOnSegmentsThatServeIt) {
  MopSchedule sched(3, 4, 1, 1);
  MopEpochPlan plan(sched, {true, true, true}, 2, {});
  Trace tr = Simulate(plan, 3, 4, 7);
  for (const auto& v : tr.validated) EXPECT_EQ(v, (std::set<int>{0, 1}));
  MopEpochPlan none(sched, {true, true, true}, 0, {});
  Trace tr0 = Simulate(none, 3, 4, 7);
  for (const auto& v : tr0.validated) EXPECT_TRUE(v.empty());
}

TEST(MopEpochPlan, DeadTrialsGetNoUnits) {
  MopSchedule sched(4, 2, 9, 2);
  MopEpochPlan plan(sched, {true, false, true, false}, 2, {});
  Trace tr = Simulate(plan, 4, 2, 3);
  EXPECT_TRUE(tr.visits[1].empty());
  EXPECT_TRUE(tr.validated[3].empty());
  EXPECT_EQ(tr.visits[0], sched.VisitOrder(0));
}

TEST(MopEpochPlan, FailingTrialStopsWhileOthersFinish) {
  MopSchedule sched(4, 3, 5, 1);
  MopEpochPlan plan(sched, std::vector<bool>(4, true), 3, {});
  Trace tr = Simulate(plan, 4, 3, 11, {{2, 1}});  // trial 2 fails after its first visit
  EXPECT_EQ(tr.visits[2].size(), 1u);
  EXPECT_TRUE(tr.validated[2].empty());
  EXPECT_FALSE(plan.live()[2]);
  for (int t : {0, 1, 3}) EXPECT_EQ(tr.visits[size_t(t)], sched.VisitOrder(t));
}

TEST(MopEpochPlan, TrialFailingWhileItsUnitRunsGetsNoMore) {
  MopSchedule sched(2, 2, 4, 1);
  MopEpochPlan plan(sched, {true, true}, 2, {});
  auto a = plan.Next(0);
  auto b = plan.Next(1);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->kind, MopUnit::Kind::Train);
  int failing = a->trial;
  plan.FailTrial(failing);  // its unit on segment 0 is still running
  EXPECT_FALSE(plan.Finished());
  plan.Complete(*a);
  plan.Complete(*b);
  for (int guard = 0; guard < 10 && !plan.Finished(); ++guard)
    for (int s = 0; s < 2; ++s)
      if (auto u = plan.Next(s)) {
        EXPECT_NE(u->trial, failing) << "a failed trial got another unit";
        plan.Complete(*u);
      }
  EXPECT_TRUE(plan.Finished());
  EXPECT_EQ(plan.running(), 0);
}

// Two epochs in flight, as the driver runs them: a trial's units of the
// next epoch only once it is done with the current one.
TEST(MopEpochPlan, NextEpochStartsPerTrialInOrder) {
  for (auto [m, s] : std::vector<std::pair<int, int>>{{4, 2}, {3, 3}, {2, 4}, {6, 3}}) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
      SCOPED_TRACE(std::to_string(m) + " trials on " + std::to_string(s) + " segments, timing " + std::to_string(seed));
      MopSchedule s1(m, s, 7, 1), s2(m, s, 7, 2);
      MopEpochPlan cur(s1, std::vector<bool>(size_t(m), true), s, {});
      MopEpochPlan nxt(s2, std::vector<bool>(size_t(m), true), s, {});
      std::mt19937 rng(seed);
      struct Run { int epoch; MopUnit unit; };
      std::vector<std::optional<Run>> running(static_cast<size_t>(s));
      std::vector<std::vector<int>> visits1(static_cast<size_t>(m)), visits2(static_cast<size_t>(m));
      std::vector<int> lasts(static_cast<size_t>(m), 0);
      bool overlapped = false;
      for (int guard = 0; guard < 10000 && !(cur.Finished() && nxt.Finished()); ++guard) {
        for (int k = 0; k < s; ++k) {
          if (running[size_t(k)]) continue;
          if (auto u = cur.Next(k)) {
            running[size_t(k)] = Run{1, *u};
          } else if (auto v = nxt.Next(k, [&](int t) { return cur.TrialDone(t); })) {
            EXPECT_TRUE(cur.TrialDone(v->trial));
            overlapped = overlapped || !cur.Finished();
            running[size_t(k)] = Run{2, *v};
          }
        }
        std::vector<int> busy;
        for (int k = 0; k < s; ++k)
          if (running[size_t(k)]) busy.push_back(k);
        ASSERT_FALSE(busy.empty()) << "stalled";
        int k = busy[std::uniform_int_distribution<size_t>(0, busy.size() - 1)(rng)];
        Run r = *running[size_t(k)];
        running[size_t(k)].reset();
        if (r.unit.kind == MopUnit::Kind::Train) {
          (r.epoch == 1 ? visits1 : visits2)[size_t(r.unit.trial)].push_back(r.unit.segment);
          lasts[size_t(r.unit.trial)] += r.unit.last ? 1 : 0;
          if (r.unit.last) EXPECT_EQ(int((r.epoch == 1 ? visits1 : visits2)[size_t(r.unit.trial)].size()), s);
        }
        (r.epoch == 1 ? cur : nxt).Complete(r.unit);
      }
      EXPECT_TRUE(cur.Finished() && nxt.Finished());
      for (int t = 0; t < m; ++t) {
        EXPECT_EQ(visits1[size_t(t)], s1.VisitOrder(t));
        EXPECT_EQ(visits2[size_t(t)], s2.VisitOrder(t));
        EXPECT_EQ(lasts[size_t(t)], 2) << "one last visit per epoch";
      }
      (void)overlapped;
    }
  }
}

TEST(MopEpochPlan, ResumeSkipsCommittedUnits) {
  MopSchedule sched(3, 3, 8, 4);
  std::vector<DoneUnit> done;
  auto v0 = sched.VisitOrder(0);
  // Listed in any order, as a hop log read back may be.
  done.push_back({false, 0, v0[1]});
  done.push_back({true, 1, 2});
  for (int s : sched.VisitOrder(1)) done.push_back({false, 1, s});
  done.push_back({false, 0, v0[0]});
  MopEpochPlan plan(sched, {true, true, true}, 3, done);
  Trace tr = Simulate(plan, 3, 3, 2);
  EXPECT_EQ(tr.visits[0], std::vector<int>{v0[2]});
  EXPECT_TRUE(tr.visits[1].empty());
  EXPECT_EQ(tr.validated[1], (std::set<int>{0, 1}));
  EXPECT_EQ(tr.visits[2], sched.VisitOrder(2));
}

TEST(MopEpochPlan, RefusesHopLogThatSkipsAVisit) {
  MopSchedule sched(3, 3, 8, 4);
  auto v0 = sched.VisitOrder(0);
  EXPECT_THROW(MopEpochPlan(sched, {true, true, true}, 3, {{false, 0, v0[1]}}), Error);
  EXPECT_THROW(MopEpochPlan(sched, {true, true, true}, 3, {{false, 5, 0}}), Error);
  EXPECT_THROW(MopEpochPlan(sched, {true, true}, 3, {}), Error);
}

TEST(MopRunState, ParsesLoadResult) {
  auto s = ParseMopRunState(
      R"({"run_id": 7, "segments": 2, "validation_segments": 2, "epochs": 3, "epochs_done": 1, "seed": 5,
          "status": "running", "live": [true, false], "done": [[false, 0, 1, 2], [true, 1, 0, 3]]})");
  EXPECT_EQ(s.run_id, 7);
  EXPECT_EQ(s.live, (std::vector<bool>{true, false}));
  ASSERT_EQ(s.done.size(), 2u);
  EXPECT_TRUE(s.done[1].validate);
  EXPECT_EQ(s.done[0].segment, 1);
  EXPECT_EQ(s.done[1].epoch, 3);
  EXPECT_THROW(ParseMopRunState("{}"), Error);
  EXPECT_THROW(ParseMopRunState("not json"), Error);
  EXPECT_THROW(ParseMopRunState(
                   R"({"run_id": 7, "segments": 0, "validation_segments": 0, "epochs": 3, "epochs_done": 1,
                       "seed": 5, "status": "running", "live": [true], "done": []})"),
               Error);
}

TEST(MopRunState, UnitCommandNamesTheUnit) {
  EXPECT_EQ(UnitCommand(3, 2, MopUnit{MopUnit::Kind::Train, 1, 0, 4}),
            R"({"epoch":2,"hop":4,"kind":"train","last":false,"run":3,"segment":0,"trial":1})");
  EXPECT_EQ(UnitCommand(3, 2, MopUnit{MopUnit::Kind::Validate, 1, 0, -1}),
            R"({"epoch":2,"kind":"validate","run":3,"segment":0,"trial":1})");
}

}  // namespace
