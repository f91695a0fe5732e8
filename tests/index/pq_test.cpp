// Product quantisation: ADC against the decoded vectors, error falling with M, determinism, and
// Vamana with PQ codes (search, filters, deletions, consolidate, save/load, corrupted sections).
#include "index/pq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "index/factory.h"
#include "index/index_file.h"
#include "index/synthetic.h"
#include "test_util.h"

namespace loom::index {
namespace {

double mean_sq_error(const ProductQuantizer& pq, const std::vector<float>& x, int64_t n) {
  const int64_t d = pq.dim();
  std::vector<uint8_t> codes(static_cast<size_t>(n * pq.subspaces()));
  pq.encode(x.data(), n, codes.data());
  std::vector<float> back(static_cast<size_t>(d));
  double err = 0;
  for (int64_t i = 0; i < n; ++i) {
    pq.decode(codes.data() + i * pq.subspaces(), back.data());
    err += l2sq_f32_scalar(x.data() + i * d, back.data(), d);
  }
  return err / static_cast<double>(n);
}

TEST(ProductQuantizer, NearestCentroidKernelMatchesItsScalarTwin) {
  Rng rng(42);
  for (int64_t dsub : {1, 2, 3, 4, 7, 8, 16, 33}) {
    std::vector<float> ct(static_cast<size_t>(dsub * kPqCentroids)), x(dsub);
    for (float& v : ct) v = rng.normal();
    // Centroids 200 and 9 equal centroid 77 (a three-way tie when x is on them).
    for (int64_t d = 0; d < dsub; ++d) {
      ct[d * kPqCentroids + 200] = ct[d * kPqCentroids + 77];
      ct[d * kPqCentroids + 9] = ct[d * kPqCentroids + 77];
    }
    auto dist = [&](int64_t c) {
      double s = 0;
      for (int64_t d = 0; d < dsub; ++d) s += std::pow(x[d] - ct[d * kPqCentroids + c], 2);
      return s;
    };
    for (int trial = 0; trial < 200; ++trial) {
      for (float& v : x) v = rng.normal();
      int64_t a = pq_nearest(x.data(), ct.data(), dsub);
      int64_t b = pq_nearest_scalar(x.data(), ct.data(), dsub);
      ASSERT_TRUE(a >= 0 && a < kPqCentroids);
      EXPECT_NEAR(dist(a), dist(b), 1e-5) << "dsub " << dsub;
    }
    for (int64_t d = 0; d < dsub; ++d) x[d] = ct[d * kPqCentroids + 77];
    EXPECT_EQ(pq_nearest(x.data(), ct.data(), dsub), 9);
    EXPECT_EQ(pq_nearest_scalar(x.data(), ct.data(), dsub), 9);
  }
}

TEST(ProductQuantizer, AdcMatchesAPlainSum) {
  Rng rng(7);
  for (int64_t M : {1, 3, 4, 15, 16, 17, 20, 37, 64, 100}) {
    std::vector<float> table(static_cast<size_t>(M * kPqCentroids));
    for (float& v : table) v = rng.normal();
    std::vector<uint8_t> code(static_cast<size_t>(M));
    for (int trial = 0; trial < 50; ++trial) {
      double want = 0;
      for (int64_t j = 0; j < M; ++j) {
        code[j] = static_cast<uint8_t>(trial == 0 ? 255 : rng.below(256));
        want += table[j * kPqCentroids + code[j]];
      }
      EXPECT_NEAR(ProductQuantizer::adc(table.data(), code.data(), M), want, 1e-4) << "M=" << M;
    }
  }
}

TEST(ProductQuantizer, AdcEqualsDistanceToDecodedVector) {
  const int64_t n = 2000, d = 32;
  auto x = clustered_vectors(n, d, 20, 5, 1);
  auto q = clustered_vectors(20, d, 20, 5, 2);
  for (int64_t M : {4, 8, 16, 32}) {
    ProductQuantizer pq(d, M);
    pq.train(x.data(), n, 3);
    std::vector<uint8_t> codes(static_cast<size_t>(n * M));
    pq.encode(x.data(), n, codes.data());
    std::vector<float> table(static_cast<size_t>(M * kPqCentroids)), back(d);
    for (Metric m : {Metric::kL2, Metric::kInnerProduct}) {
      for (int64_t qi = 0; qi < 20; ++qi) {
        pq.distance_table(q.data() + qi * d, m, table.data());
        for (int64_t i = 0; i < n; i += 37) {
          pq.decode(codes.data() + i * M, back.data());
          double want = m == Metric::kL2 ? l2sq_f32_scalar(q.data() + qi * d, back.data(), d)
                                         : -dot_f32_scalar(q.data() + qi * d, back.data(), d);
          float got = ProductQuantizer::adc(table.data(), codes.data() + i * M, M);
          EXPECT_NEAR(got, want, 1e-4 * std::max(1.0, std::fabs(want)))
              << "M=" << M << " metric " << metric_name(m);
        }
      }
    }
  }
}

TEST(ProductQuantizer, ErrorFallsAsSubspacesGrow) {
  const int64_t n = 2000, d = 32;
  auto x = clustered_vectors(n, d, 30, 8, 1);
  double prev = 1e30;
  for (int64_t M : {1, 2, 4, 8, 16}) {
    ProductQuantizer pq(d, M);
    pq.train(x.data(), n, 11);
    double e = mean_sq_error(pq, x, n);
    std::printf("M=%lld mean squared error %.4f\n", (long long)M, e);
    EXPECT_LT(e, prev * 0.95) << "M=" << M;
    prev = e;
  }
  // 256 centroids over 1-dimensional subspaces of 2000 points: nearly exact.
  ProductQuantizer fine(d, d);
  fine.train(x.data(), n, 11);
  EXPECT_LT(mean_sq_error(fine, x, n), prev * 0.5);
}

TEST(ProductQuantizer, DeterministicForASeedWhateverThePool) {
  const int64_t n = 1500, d = 16;
  auto x = clustered_vectors(n, d, 10, 2, 3);
  ProductQuantizer a(d, 4), b(d, 4), c(d, 4);
  a.train(x.data(), n, 9);
  ThreadPool pool(3);
  b.train(x.data(), n, 9, &pool);
  c.train(x.data(), n, 10);
  EXPECT_EQ(a.codebooks(), b.codebooks());
  EXPECT_NE(a.codebooks(), c.codebooks());
  std::vector<uint8_t> ca(n * 4), cb(n * 4);
  a.encode(x.data(), n, ca.data());
  b.encode(x.data(), n, cb.data(), &pool);
  EXPECT_EQ(ca, cb);
}

TEST(ProductQuantizer, FewerVectorsThanCentroidsAreEncodedExactly) {
  const int64_t n = 40, d = 8;
  auto x = clustered_vectors(n, d, 3, 4, 5);
  ProductQuantizer pq(d, 2);
  pq.train(x.data(), n, 1);
  EXPECT_LT(mean_sq_error(pq, x, n), 1e-10);
}

TEST(ProductQuantizer, SubspacesMustDivideTheDimension) {
  for (int64_t M : {0, 5, 13, -1}) {
    try {
      ProductQuantizer pq(12, M);
      FAIL() << "M=" << M << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("dimension 12"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(make_index("vamana", 12, Metric::kL2, IndexOptions{{}, {.pq_subspaces = 5}}), Error);
}

// Vamana with PQ on a small set: the pieces around the search (the recall gate is in
// recall_test.cpp).
std::unique_ptr<Index> built_pq(Metric m, int n = 600, int64_t M = 4) {
  IndexOptions o;
  o.vamana.R = 16;
  o.vamana.L = 40;
  o.vamana.pq_subspaces = M;
  auto idx = make_index("vamana", 16, m, o);
  auto v = clustered_vectors(n, 16, 8, 1, 77);
  std::vector<uint64_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = 10'000 + 3 * i;
  idx->add(ids, v.data());
  return idx;
}

TEST(VamanaPq, CodesMatchTheQuantizerAndMemoryCountsThem) {
  auto idx = built_pq(Metric::kL2);
  auto* v = dynamic_cast<VamanaIndex*>(idx.get());
  ASSERT_NE(v->pq(), nullptr);
  EXPECT_EQ(v->pq_codes().size(), 600u * 4);
  std::vector<uint8_t> code(4);
  for (uint32_t s = 0; s < 600; s += 50) {
    v->pq()->encode(v->store().vector(s), 1, code.data());
    EXPECT_EQ(0, std::memcmp(code.data(), v->pq_codes().data() + s * 4, 4));
  }
  auto plain = make_index("vamana", 16, Metric::kL2, IndexOptions{{}, {.R = 16, .L = 40}});
  auto x = clustered_vectors(600, 16, 8, 1, 77);
  std::vector<uint64_t> ids(600);
  for (int i = 0; i < 600; ++i) ids[i] = 10'000 + 3 * i;
  plain->add(ids, x.data());
  // Codes, plus the codebooks and their transposed copy.
  EXPECT_EQ(idx->memory_bytes() - plain->memory_bytes(), 600 * 4 + 2 * 256 * 16 * 4);
}

TEST(VamanaPq, DistancesAreFullPrecisionAndSelfQueriesFindThemselves) {
  for (Metric m : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    auto idx = built_pq(m);
    auto x = clustered_vectors(600, 16, 8, 1, 77);
    auto r = idx->search(x.data(), 600, 5);
    int self = 0;
    for (int i = 0; i < 600; ++i) {
      self += r.ids[i * 5] == static_cast<uint64_t>(10'000 + 3 * i);
      uint32_t slot = idx->store().slot_of(r.ids[i * 5 + 1]);
      auto q = idx->store().prepare_query(x.data() + i * 16);
      EXPECT_EQ(r.distances[i * 5 + 1], idx->store().distance_to(q.data(), slot));
    }
    if (m == Metric::kL2 || m == Metric::kCosine) {
      EXPECT_GE(self, 590) << metric_name(m);
    }
  }
}

TEST(VamanaPq, FiltersDeletionsConsolidateAndLaterAdds) {
  auto idx = built_pq(Metric::kL2);
  auto x = clustered_vectors(600, 16, 8, 1, 77);
  SearchParams fp;
  fp.filter = [](uint64_t id) { return (id / 3) % 4 == 1; };
  auto r = idx->search(x.data(), 100, 10, fp);
  for (uint64_t id : r.ids) ASSERT_TRUE(id != kNoId && (id / 3) % 4 == 1);
  std::vector<uint64_t> gone;
  for (int i = 0; i < 600; i += 3) gone.push_back(10'000 + 3 * i);
  idx->remove(gone);
  std::set<uint64_t> gone_set(gone.begin(), gone.end());
  for (int round = 0; round < 2; ++round) {
    auto res = idx->search(x.data(), 600, 3);
    int self = 0;
    for (int i = 0; i < 600; ++i) {
      for (int j = 0; j < 3; ++j) ASSERT_EQ(gone_set.count(res.ids[i * 3 + j]), 0u);
      self += i % 3 != 0 && res.ids[i * 3] == static_cast<uint64_t>(10'000 + 3 * i);
    }
    EXPECT_GE(self, 390) << "round " << round;  // 400 live
    idx->consolidate();
  }
  auto* v = dynamic_cast<VamanaIndex*>(idx.get());
  EXPECT_EQ(v->pq_codes().size(), 400u * 4);
  std::vector<uint8_t> code(4);
  for (uint32_t s = 0; s < 400; ++s) {  // codes moved with their slots
    v->pq()->encode(v->store().vector(s), 1, code.data());
    ASSERT_EQ(0, std::memcmp(code.data(), v->pq_codes().data() + s * 4, 4)) << s;
  }
  // A later add encodes with the trained codebooks.
  auto book = v->pq()->codebooks();
  auto more = clustered_vectors(50, 16, 8, 1, 99);
  std::vector<uint64_t> more_ids(50);
  for (int i = 0; i < 50; ++i) more_ids[i] = 900'000 + i;
  idx->add(more_ids, more.data());
  EXPECT_EQ(v->pq()->codebooks(), book);
  auto res = idx->search(more.data(), 50, 1);
  int found = 0;
  for (int i = 0; i < 50; ++i) found += res.ids[i] == static_cast<uint64_t>(900'000 + i);
  EXPECT_GE(found, 48);
}

// The file's sections, in order (the layout index_file.h describes).
std::vector<std::pair<uint32_t, std::string>> sections_of(const std::string& bytes) {
  std::vector<std::pair<uint32_t, std::string>> out;
  uint32_t count;
  std::memcpy(&count, bytes.data() + 12, 4);
  size_t pos = 16;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t tag;
    uint64_t size;
    std::memcpy(&tag, bytes.data() + pos, 4);
    std::memcpy(&size, bytes.data() + pos + 8, 8);
    out.emplace_back(tag, bytes.substr(pos + 16, size));
    pos += 16 + (size + 7) / 8 * 8;
  }
  return out;
}

std::string rewrite(const std::string& bytes, uint32_t tag, const std::string& payload) {
  FileWriter w;
  for (auto& [t, p] : sections_of(bytes)) w.add(t, t == tag ? payload : p);
  return w.finish();
}

TEST(VamanaPq, SaveLoadIsBitIdenticalAndAnswersIdentically) {
  for (Metric m : {Metric::kL2, Metric::kCosine}) {
    auto idx = built_pq(m, 300);
    std::vector<uint64_t> gone{10'000, 10'006};
    idx->remove(gone);
    std::string bytes = serialize_index(*idx);
    auto back =
        deserialize_index(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "pq.lidx");
    EXPECT_EQ(serialize_index(*back), bytes);
    auto* v = dynamic_cast<VamanaIndex*>(back.get());
    ASSERT_NE(v->pq(), nullptr);
    EXPECT_EQ(v->params().pq_subspaces, 4);
    auto q = clustered_vectors(40, 16, 8, 1, 78);
    auto a = idx->search(q.data(), 40, 8), b = back->search(q.data(), 40, 8);
    EXPECT_EQ(a.ids, b.ids);
    EXPECT_EQ(a.distances, b.distances);
    EXPECT_EQ(idx->memory_bytes(), back->memory_bytes());
  }
  // An index without PQ writes no PQ section (its files stay as they were).
  auto plain = make_index("vamana", 16, Metric::kL2);
  auto x = clustered_vectors(50, 16, 8, 1, 77);
  std::vector<uint64_t> ids(50);
  for (int i = 0; i < 50; ++i) ids[i] = i;
  plain->add(ids, x.data());
  for (auto& [t, p] : sections_of(serialize_index(*plain)))
    EXPECT_NE(tag_name(t).substr(0, 3), "VPQ");
}

TEST(VamanaPq, CorruptedPqSectionsAreRejectedWithAClearMessage) {
  auto idx = built_pq(Metric::kL2, 100);
  const std::string bytes = serialize_index(*idx);
  auto message = [](const std::string& b) -> std::string {
    try {
      deserialize_index(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "x.lidx");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message(bytes), "");
  std::string book, codes;
  for (auto& [t, p] : sections_of(bytes)) {
    if (t == fourcc("VPQB")) book = p;
    if (t == fourcc("VPQC")) codes = p;
  }
  ASSERT_EQ(book.size(), 256u * 16 * 4);
  ASSERT_EQ(codes.size(), 100u * 4);
  auto u64 = [](uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  std::string nan_book = book;
  float nan = std::nanf("");
  std::memcpy(nan_book.data() + 40, &nan, 4);
  const std::pair<std::string, std::string> cases[] = {
      {rewrite(bytes, fourcc("VPQP"), u64(5)), "do not divide dimension 16"},
      {rewrite(bytes, fourcc("VPQP"), u64(0)), "do not divide dimension 16"},
      {rewrite(bytes, fourcc("VPQP"), u64(8)), "VPQC"},  // code size no longer matches
      {rewrite(bytes, fourcc("VPQP"), "abcd"), "VPQP"},
      {rewrite(bytes, fourcc("VPQB"), book.substr(0, book.size() - 4)), "VPQB"},
      {rewrite(bytes, fourcc("VPQB"), ""), "VPQB is empty"},
      {rewrite(bytes, fourcc("VPQB"), nan_book), "not finite"},
      {rewrite(bytes, fourcc("VPQC"), codes.substr(1)), "VPQC"},
      {rewrite(bytes, fourcc("VPQC"), codes + "x"), "VPQC"},
  };
  for (const auto& [b, want] : cases) {
    std::string m = message(b);
    EXPECT_NE(m.find("x.lidx"), std::string::npos) << m;
    EXPECT_NE(m.find(want), std::string::npos) << "want '" << want << "' in: " << m;
  }
  // A missing VPQB or VPQC is named.
  FileWriter w;
  for (auto& [t, p] : sections_of(bytes))
    if (t != fourcc("VPQC")) w.add(t, p);
  EXPECT_NE(message(w.finish()).find("VPQC"), std::string::npos);
}

// tests/index/data/vamana_v1.lidx was written by the build before PQ existed (main at 1d3ddef):
//   loom index build --vectors V.npy --type vamana --R 6 --L 16 --metric l2 --seed 5 --threads 1
// with V = numpy default_rng(2026).standard_normal((60, 8)) as float32. It must load as a Vamana
// index without PQ and serialise back to the same bytes (the format of PQ-less files is unchanged).
TEST(VamanaPq, FileWrittenBeforePqLoadsUnchanged) {
  std::string path = std::string(loom::test::source_dir()) + "/tests/index/data/vamana_v1.lidx";
  LOOM_REQUIRE_DATA(path);
  auto idx = load_index(path);
  auto* v = dynamic_cast<VamanaIndex*>(idx.get());
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->pq(), nullptr);
  EXPECT_EQ(v->params().pq_subspaces, 0);
  EXPECT_EQ(v->params().R, 6);
  EXPECT_EQ(idx->size(), 60);
  EXPECT_EQ(serialize_index(*idx), read_file(path));
  // Each stored vector finds itself first.
  const auto& data = idx->store().data();
  auto r = idx->search(data.data(), 60, 1);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(r.ids[i], static_cast<uint64_t>(i));
}

}  // namespace
}  // namespace loom::index
