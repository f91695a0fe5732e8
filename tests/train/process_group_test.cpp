#include "train/process_group.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace loom::train {

TEST(ProcessGroup, AloneIsAGroupOfOne) {
  // ctest starts this binary without an MPI launcher, so the environment gives a group of one.
  ASSERT_EQ(std::getenv("OMPI_COMM_WORLD_SIZE"), nullptr);
  auto pg = ProcessGroup::from_environment();
  EXPECT_EQ(pg->backend(), "single");
  EXPECT_EQ(pg->rank(), 0);
  EXPECT_EQ(pg->size(), 1);
  EXPECT_TRUE(pg->is_root());
  std::vector<float> g{1.5f, -2.0f, 3.25f};
  pg->allreduce_sum(g.data(), g.size());  // a sum over one process leaves the values alone
  EXPECT_EQ(g, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  double d = 7.0;
  pg->allreduce_sum(&d, 1);
  EXPECT_EQ(d, 7.0);
  pg->barrier();
}

TEST(ProcessGroup, ThisBuildHasMpi) {
  // install-deps.sh installs OpenMPI, so CI builds must join mpirun jobs.
  EXPECT_TRUE(ProcessGroup::mpi_available());
}

}  // namespace loom::train

namespace loom::train {

// These run inside `mpirun -np 2 train_tests --gtest_filter=ProcessGroupMpi.*` (ctest
// train.mpi_process_group); started alone they skip.
class ProcessGroupMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) GTEST_SKIP() << "not under mpirun";
  }
};

TEST_F(ProcessGroupMpi, AllReduceSumsAndBroadcastCopies) {
  // One group for the process: MPI may be initialised only once per process.
  static std::unique_ptr<ProcessGroup> pg = ProcessGroup::from_environment();
  ASSERT_EQ(pg->backend(), "mpi");
  ASSERT_EQ(pg->size(), 2);
  const int r = pg->rank();
  // A buffer large enough to be split by MPI internally; each element's sum is known.
  std::vector<float> g(100003);
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(i % 97) * (r + 1);
  pg->allreduce_sum(g.data(), g.size());
  for (size_t i = 0; i < g.size(); ++i) ASSERT_EQ(g[i], static_cast<float>(i % 97) * 3) << i;
  double d = r == 0 ? 0.25 : 0.5;
  pg->allreduce_sum(&d, 1);
  EXPECT_EQ(d, 0.75);
  char msg[8] = {0};
  if (r == 1) std::snprintf(msg, sizeof msg, "rank1");
  pg->broadcast(msg, sizeof msg, 1);
  EXPECT_STREQ(msg, "rank1");
  pg->barrier();
}

}  // namespace loom::train
