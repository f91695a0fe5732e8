// The Index interface on every index type: exactness of the flat oracle, bad input, filters,
// tombstones and consolidation, deterministic builds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "index/factory.h"
#include "index/index_file.h"
#include "index/synthetic.h"

namespace loom::index {
namespace {

std::vector<uint64_t> iota_ids(int64_t n, uint64_t base) {
  std::vector<uint64_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), base);
  return ids;
}

std::unique_ptr<Index> small_index(std::string_view kind, Metric metric) {
  IndexOptions o;
  o.hnsw.M = 8;
  o.hnsw.ef_construction = 64;
  o.vamana.R = 16;
  o.vamana.L = 40;
  return make_index(kind, 16, metric, o);
}

class AllKinds : public ::testing::TestWithParam<const char*> {};

TEST_P(AllKinds, FindsEachStoredVectorAsItsOwnNearest) {
  for (Metric m : {Metric::kL2, Metric::kCosine}) {
    auto idx = small_index(GetParam(), m);
    auto v = clustered_vectors(600, 16, 10, 1, 5);
    auto ids = iota_ids(600, 1000);
    idx->add(ids, v.data());
    EXPECT_EQ(idx->size(), 600);
    SearchParams sp;
    sp.ef = 64;
    auto r = idx->search(v.data(), 600, 1, sp);
    int hits = 0;
    for (int i = 0; i < 600; ++i) hits += r.ids[i] == ids[i];
    EXPECT_GE(hits, 594) << metric_name(m);  // >= 99%
  }
}

TEST_P(AllKinds, RejectsBadInputAndKeepsState) {
  auto idx = small_index(GetParam(), Metric::kL2);
  auto v = clustered_vectors(50, 16, 3, 1, 9);
  idx->add(iota_ids(50, 0), v.data());
  std::string before = serialize_index(*idx);

  std::vector<float> bad(v.begin(), v.begin() + 32);
  bad[17] = std::numeric_limits<float>::quiet_NaN();
  std::vector<uint64_t> two{100, 101};
  try {
    idx->add(two, bad.data());
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("column 1"), std::string::npos) << e.what();
  }
  std::vector<float> huge(v.begin(), v.begin() + 16);
  huge[0] = 3e38f;  // finite, but its squared norm overflows float
  std::vector<uint64_t> one{400};
  EXPECT_THROW(idx->add(one, huge.data()), Error);
  std::vector<uint64_t> dup{7, 200};
  EXPECT_THROW(idx->add(dup, v.data()), Error);  // 7 is already live
  std::vector<uint64_t> dup2{300, 300};
  EXPECT_THROW(idx->add(dup2, v.data()), Error);  // duplicated within the batch
  std::vector<uint64_t> missing{3, 999};
  EXPECT_THROW(idx->remove(missing), Error);  // 999 unknown: nothing removed
  EXPECT_THROW(idx->check_dim(15, "q.npy"), Error);
  std::vector<float> q(16, 0);
  q[3] = INFINITY;
  EXPECT_THROW(idx->search(q.data(), 1, 5), Error);
  EXPECT_THROW(idx->search(v.data(), 1, 0), Error);
  EXPECT_EQ(serialize_index(*idx), before);  // nothing changed
}

TEST_P(AllKinds, FilterReturnsKWheneverKMatchExist) {
  auto idx = small_index(GetParam(), Metric::kL2);
  auto v = clustered_vectors(2000, 16, 8, 1, 11);
  idx->add(iota_ids(2000, 0), v.data());
  auto q = clustered_vectors(20, 16, 8, 1, 12);
  for (uint64_t modulus : {2ull, 10ull, 97ull, 400ull}) {
    SearchParams sp;
    sp.filter = [modulus](uint64_t id) { return id % modulus == 1; };
    int64_t matches = (2000 + modulus - 2) / modulus;
    auto r = idx->search(q.data(), 20, 10, sp);
    for (int i = 0; i < 20; ++i) {
      int found = 0;
      for (int j = 0; j < 10; ++j) {
        uint64_t id = r.ids[i * 10 + j];
        if (id == kNoId) continue;
        ++found;
        EXPECT_EQ(id % modulus, 1u);
      }
      EXPECT_EQ(found, std::min<int64_t>(10, matches)) << "modulus " << modulus;
    }
  }
  // Three matches only: three results, then empty slots.
  SearchParams sp;
  sp.filter = [](uint64_t id) { return id == 5 || id == 500 || id == 1999; };
  auto r = idx->search(q.data(), 1, 10, sp);
  std::set<uint64_t> got(r.ids.begin(), r.ids.begin() + 3);
  EXPECT_EQ(got, (std::set<uint64_t>{5, 500, 1999}));
  for (int j = 3; j < 10; ++j) EXPECT_EQ(r.ids[j], kNoId);
  EXPECT_TRUE(std::isinf(r.distances[9]));
}

TEST_P(AllKinds, RemovedIdsNeverReturnedBeforeOrAfterConsolidate) {
  auto idx = small_index(GetParam(), Metric::kCosine);
  auto v = clustered_vectors(1500, 16, 6, 1, 21);
  idx->add(iota_ids(1500, 0), v.data());
  std::vector<uint64_t> gone;
  for (uint64_t i = 0; i < 1500; i += 3) gone.push_back(i);
  idx->remove(gone);
  EXPECT_EQ(idx->size(), 1000);
  for (int round = 0; round < 2; ++round) {
    auto r = idx->search(v.data(), 300, 10);
    for (uint64_t id : r.ids) {
      ASSERT_NE(id, kNoId);
      ASSERT_NE(id % 3, 0u) << "removed id " << id << " returned (round " << round << ")";
    }
    idx->consolidate();
    EXPECT_EQ(idx->n_deleted(), 0);
  }
  // A removed id may be added again, with a new vector.
  std::vector<uint64_t> again{0};
  idx->add(again, v.data() + 16 * 5);
  auto r = idx->search(v.data() + 16 * 5, 1, 2);
  std::set<uint64_t> top(r.ids.begin(), r.ids.end());
  EXPECT_TRUE(top.count(0) == 1 && top.count(5) == 1);
}

TEST_P(AllKinds, SingleThreadBuildIsDeterministic) {
  auto v = clustered_vectors(800, 16, 5, 1, 31);
  auto a = small_index(GetParam(), Metric::kInnerProduct);
  auto b = small_index(GetParam(), Metric::kInnerProduct);
  a->add(iota_ids(800, 0), v.data());
  b->add(iota_ids(800, 0), v.data());
  EXPECT_EQ(serialize_index(*a), serialize_index(*b));
}

TEST_P(AllKinds, ParallelBuildAndSearchAgreeWithSerialSearch) {
  auto v = clustered_vectors(3000, 16, 12, 1, 41);
  auto idx = small_index(GetParam(), Metric::kL2);
  ThreadPool pool(2);
  idx->add(iota_ids(3000, 0), v.data(), &pool);
  auto q = clustered_vectors(50, 16, 12, 1, 42);
  SearchParams serial, parallel;
  parallel.pool = &pool;
  auto r1 = idx->search(q.data(), 50, 10, serial);
  auto r2 = idx->search(q.data(), 50, 10, parallel);
  EXPECT_EQ(r1.ids, r2.ids);
  // and the parallel-built graph still finds nearly all true neighbours
  FlatIndex flat(16, Metric::kL2);
  flat.add(iota_ids(3000, 0), v.data());
  auto truth = flat.search(q.data(), 50, 10);
  int hit = 0;
  for (int i = 0; i < 50; ++i) {
    std::set<uint64_t> t(truth.ids.begin() + i * 10, truth.ids.begin() + i * 10 + 10);
    for (int j = 0; j < 10; ++j) hit += t.count(r1.ids[i * 10 + j]);
  }
  EXPECT_GE(hit, 450);
}

INSTANTIATE_TEST_SUITE_P(Index, AllKinds, ::testing::Values("flat", "hnsw", "vamana"));

// The flat index against a brute-force loop written here, for each metric.
TEST(FlatIndex, MatchesBruteForceForEveryMetric) {
  Rng rng(3);
  const int n = 300, d = 24, nq = 12, k = 7;
  std::vector<float> v(n * d), q(nq * d);
  for (auto& x : v) x = rng.normal();
  for (auto& x : q) x = rng.normal();
  for (Metric m : {Metric::kInnerProduct, Metric::kL2, Metric::kCosine}) {
    FlatIndex idx(d, m);
    idx.add(iota_ids(n, 50), v.data());
    auto r = idx.search(q.data(), nq, k);
    for (int i = 0; i < nq; ++i) {
      std::vector<std::pair<double, int>> all;
      for (int s = 0; s < n; ++s) {
        double dot = 0, l2 = 0, na = 0, nb = 0;
        for (int j = 0; j < d; ++j) {
          double a = q[i * d + j], b = v[s * d + j];
          dot += a * b;
          l2 += (a - b) * (a - b);
          na += a * a;
          nb += b * b;
        }
        double dist = m == Metric::kL2             ? l2
                      : m == Metric::kInnerProduct ? -dot
                                                   : -dot / std::sqrt(na * nb);
        all.push_back({dist, s});
      }
      std::sort(all.begin(), all.end());
      for (int j = 0; j < k; ++j) {
        EXPECT_EQ(r.ids[i * k + j], static_cast<uint64_t>(all[j].second + 50)) << metric_name(m);
        EXPECT_NEAR(r.distances[i * k + j], all[j].first, 1e-4 * (1 + std::fabs(all[j].first)));
      }
    }
  }
}

}  // namespace
}  // namespace loom::index
