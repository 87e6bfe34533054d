#include "pg_automl/mop_schedule.h"

#include <gtest/gtest.h>

#include <set>

#include "pg_automl/errors.h"

using pg_automl::Error;
using pg_automl::MopSchedule;

namespace {

// Checks the MOP invariants of one epoch and names the first violation.
void ExpectValid(const MopSchedule& m) {
  SCOPED_TRACE(std::to_string(m.models()) + " models on " + std::to_string(m.segments()) + " segments");
  ASSERT_EQ(m.hops(), std::max(m.models(), m.segments()));
  std::vector<std::vector<int>> visits(size_t(m.models()), std::vector<int>(size_t(m.segments()), 0));
  for (int h = 0; h < m.hops(); ++h) {
    std::set<int> busy;
    for (int s = 0; s < m.segments(); ++s) {
      int model = m.ModelAt(h, s);
      if (model == MopSchedule::kIdle) continue;
      ASSERT_GE(model, 0);
      ASSERT_LT(model, m.models());
      EXPECT_TRUE(busy.insert(model).second) << "model " << model << " is on two segments in hop " << h;
      ++visits[size_t(model)][size_t(s)];
    }
    // Every hop keeps min(M, S) segments busy: models wait only when all
    // segments are taken, segments idle only when all models are placed.
    EXPECT_EQ(int(busy.size()), std::min(m.models(), m.segments())) << "hop " << h;
  }
  for (int model = 0; model < m.models(); ++model) {
    for (int s = 0; s < m.segments(); ++s)
      EXPECT_EQ(visits[size_t(model)][size_t(s)], 1) << "model " << model << " visits segment " << s;
    std::vector<int> order = m.VisitOrder(model);
    EXPECT_EQ(std::set<int>(order.begin(), order.end()).size(), size_t(m.segments()));
  }
  EXPECT_DOUBLE_EQ(m.Utilisation(), double(std::min(m.models(), m.segments())) / m.hops());
}

}  // namespace

TEST(MopSchedule, EveryModelVisitsEverySegmentOncePerEpoch) {
  for (int models : {1, 2, 3, 4, 5, 8, 13})
    for (int segments : {1, 2, 3, 4, 7})
      for (int64_t epoch : {0, 1, 2}) ExpectValid(MopSchedule(models, segments, 42, epoch));
}

TEST(MopSchedule, SameSeedAndEpochGiveTheSameSchedule) {
  MopSchedule a(6, 4, 7, 3), b(6, 4, 7, 3);
  for (int h = 0; h < a.hops(); ++h)
    for (int s = 0; s < a.segments(); ++s) EXPECT_EQ(a.ModelAt(h, s), b.ModelAt(h, s));
}

TEST(MopSchedule, VisitOrderChangesWithEpochAndSeed) {
  auto orders = [](const MopSchedule& m) {
    std::vector<std::vector<int>> all;
    for (int model = 0; model < m.models(); ++model) all.push_back(m.VisitOrder(model));
    return all;
  };
  std::set<std::vector<std::vector<int>>> by_epoch, by_seed;
  for (int64_t epoch = 0; epoch < 10; ++epoch) by_epoch.insert(orders(MopSchedule(4, 4, 1, epoch)));
  for (uint64_t seed = 0; seed < 10; ++seed) by_seed.insert(orders(MopSchedule(4, 4, seed, 0)));
  EXPECT_GE(by_epoch.size(), 8u) << "visit orders barely change between epochs";
  EXPECT_GE(by_seed.size(), 8u) << "visit orders barely change between seeds";
}

// The schedule is part of what a resumed run replays: it must not change
// across platforms or releases without notice.
TEST(MopSchedule, FixedSeedGivesAFixedSchedule) {
  MopSchedule m(3, 2, 2024, 5);
  std::vector<int> flat;
  for (int h = 0; h < m.hops(); ++h)
    for (int s = 0; s < m.segments(); ++s) flat.push_back(m.ModelAt(h, s));
  EXPECT_EQ(flat, (std::vector<int>{1, 0, 0, 2, 2, 1}));
}

TEST(MopSchedule, UtilisationOfIdleSegments) {
  EXPECT_DOUBLE_EQ(MopSchedule(2, 4, 0, 0).Utilisation(), 0.5);
  EXPECT_DOUBLE_EQ(MopSchedule(8, 4, 0, 0).Utilisation(), 0.5);
  EXPECT_DOUBLE_EQ(MopSchedule(4, 4, 0, 0).Utilisation(), 1.0);
}

TEST(MopSchedule, RejectsImpossibleSizes) {
  for (auto [m, s] : std::vector<std::pair<int, int>>{{0, 2}, {2, 0}, {-1, 1}, {70000, 2}}) {
    try {
      MopSchedule bad(m, s, 0, 0);
      ADD_FAILURE() << m << " models on " << s << " segments were accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), pg_automl::ErrorKind::InvalidParameter);
    }
  }
}
