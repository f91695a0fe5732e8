// Filtered search keeps its recall: recall@10 against exact filtered search (computed here, by
// brute force over the matching documents) at filter selectivities 0.1, 1, 10, 50 and 100 %, on
// a seeded clustered set in an HNSW collection; once with the store's policy (exact scan of the
// matches below the estimated crossover) and once forcing the graph (the index's own widening
// and fallback). Then 50 % of the collection is deleted and compacted (memory and file space
// come back) and replaced with new documents: recall stays.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "index/synthetic.h"
#include "retrieval/doc_store.h"
#include "retrieval/store_fixture.h"
#include "test_util.h"

namespace loom::retrieval {
namespace {

constexpr int64_t kDim = 16, kBuckets = 1000;
constexpr size_t kK = 10;

int64_t file_size(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

struct Corpus {
  std::vector<std::string> ids;
  std::vector<int64_t> bucket;
  std::vector<float> vecs;  // (n, kDim), L2-normalised for the oracle
};

void add_docs(Corpus& c, const std::string& prefix, int64_t n, uint64_t seed, Collection& coll,
              ThreadPool& pool) {
  std::vector<float> v = index::clustered_vectors(n, kDim, 40, 7, seed);
  std::vector<DocInput> docs;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t b = (i * 7919) % kBuckets;  // spread buckets over the clusters
    docs.push_back({prefix + std::to_string(i), "doc", "{\"b\": " + std::to_string(b) + "}"});
    c.ids.push_back(docs.back().id);
    c.bucket.push_back(b);
  }
  coll.upsert(docs, pool, &v);
  for (int64_t i = 0; i < n; ++i) {
    float* r = v.data() + i * kDim;
    double nn = 0;
    for (int64_t j = 0; j < kDim; ++j) nn += r[j] * r[j];
    for (int64_t j = 0; j < kDim; ++j) r[j] = static_cast<float>(r[j] / std::sqrt(nn));
  }
  c.vecs.insert(c.vecs.end(), v.begin(), v.end());
}

// Mean recall@10 over the queries for the filter b < limit (limit == kBuckets: no filter).
double recall(Collection& coll, const Corpus& c, const std::vector<float>& queries, int64_t limit,
              double exact_below, ThreadPool& pool) {
  const int64_t nq = static_cast<int64_t>(queries.size()) / kDim;
  double sum = 0;
  for (int64_t q = 0; q < nq; ++q) {
    const float* qv = queries.data() + q * kDim;
    std::vector<std::pair<float, std::string>> truth;
    for (size_t i = 0; i < c.ids.size(); ++i) {
      if (c.bucket[i] >= limit) continue;
      float d = 0;
      for (int64_t j = 0; j < kDim; ++j) d -= qv[j] * c.vecs[i * kDim + j];
      truth.emplace_back(d, c.ids[i]);
    }
    std::sort(truth.begin(), truth.end());
    truth.resize(std::min(truth.size(), kK));
    SearchRequest r;
    r.vector.assign(qv, qv + kDim);
    r.k = kK;
    r.exact_below = exact_below;
    if (limit < kBuckets)
      r.filter = parse_filter("{\"b\": {\"$lt\": " + std::to_string(limit) + "}}");
    std::vector<Hit> hits = coll.search(r, pool);
    int64_t found = 0;
    for (const auto& [d, id] : truth)
      for (const Hit& h : hits) found += h.doc_id == id ? 1 : 0;
    sum += static_cast<double>(found) / static_cast<double>(truth.size());
  }
  return sum / static_cast<double>(nq);
}

TEST(StoreRecall, FilteredRecallAtEverySelectivityAndAfterDeletes) {
  const std::string dir = test::fresh_dir("recall");
  const std::string db = dir + "/r.db";
  CollectionConfig cfg;
  cfg.embedder = "synthetic";
  cfg.dim = kDim;
  cfg.index_kind = "hnsw";
  create_collection(db, "v", cfg);
  Collection coll(db, "v");
  ThreadPool pool(1);
  Corpus c;
  const int64_t n = loom::test::kSanitizerBuild ? 2000 : 4000;
  add_docs(c, "d", n, 11, coll, pool);
  const std::vector<float> queries = index::clustered_vectors(30, kDim, 40, 7, 99);
  const int64_t limits[] = {1, 10, 100, 500, kBuckets};  // 0.1 %, 1 %, 10 %, 50 %, 100 %
  std::vector<double> before;
  for (int64_t limit : limits) {
    const double auto_r = recall(coll, c, queries, limit, -1, pool);
    const double graph_r = recall(coll, c, queries, limit, 0, pool);
    std::printf("selectivity %5.1f %%: recall@10 %.3f (store policy), %.3f (graph forced)\n",
                100.0 * limit / kBuckets, auto_r, graph_r);
    EXPECT_GE(auto_r, 0.95) << limit;
    EXPECT_GE(graph_r, 0.95) << limit;
    before.push_back(auto_r);
  }
  std::printf("exact-scan threshold at n=%lld: %.3f\n", static_cast<long long>(n),
              coll.exact_threshold(0));

  // Delete every other document: after compaction memory and file space come back.
  std::vector<std::string> gone;
  Corpus kept;
  for (size_t i = 0; i < c.ids.size(); ++i) {
    if (i % 2) {
      gone.push_back(c.ids[i]);
      continue;
    }
    kept.ids.push_back(c.ids[i]);
    kept.bucket.push_back(c.bucket[i]);
    kept.vecs.insert(kept.vecs.end(), c.vecs.begin() + i * kDim, c.vecs.begin() + (i + 1) * kDim);
  }
  coll.remove(gone);
  coll.save_index();
  Db(db, false).exec("PRAGMA wal_checkpoint(TRUNCATE)");  // measure the main file alone
  const int64_t mem0 = coll.info().index_memory, idx0 = file_size(coll.index_path());
  const int64_t db0 = file_size(db);
  coll.compact();
  const int64_t mem1 = coll.info().index_memory, idx1 = file_size(coll.index_path());
  const int64_t db1 = file_size(db);
  std::printf(
      "after deleting 50 %%: index memory %lld -> %lld, index file %lld -> %lld, "
      "db %lld -> %lld bytes\n",
      (long long)mem0, (long long)mem1, (long long)idx0, (long long)idx1, (long long)db0,
      (long long)db1);
  EXPECT_LT(mem1, mem0 * 0.7);
  EXPECT_LT(idx1, idx0 * 0.7);
  EXPECT_LT(db1, db0 * 0.7);
  EXPECT_EQ(coll.info().index_deleted, 0);

  // Replace them with new documents; recall is as before.
  add_docs(kept, "r", n / 2, 12, coll, pool);
  EXPECT_EQ(coll.check(), "");
  for (size_t i = 0; i < std::size(limits); ++i) {
    const double r = recall(coll, kept, queries, limits[i], -1, pool);
    std::printf("after replacing 50 %%, selectivity %5.1f %%: recall@10 %.3f\n",
                100.0 * limits[i] / kBuckets, r);
    EXPECT_GE(r, 0.95);
    EXPECT_NEAR(r, before[i], 0.03);
  }
}

}  // namespace
}  // namespace loom::retrieval
