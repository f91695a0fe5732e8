// Vector index hot paths: distance kernels (SIMD vs their scalar twins) and single-thread search
// on a 20k x 64 clustered set (HNSW M=16 efC=100, Vamana R=32 L=64, beam 32).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "core/rng.h"
#include "index/factory.h"
#include "index/pq.h"
#include "index/synthetic.h"

namespace ix = loom::index;

static void BM_L2(benchmark::State& st) {
  const int64_t n = st.range(0);
  loom::Rng rng(1);
  std::vector<float> a(n), b(n);
  for (auto& x : a) x = rng.normal();
  for (auto& x : b) x = rng.normal();
  for (auto _ : st) benchmark::DoNotOptimize(ix::l2sq_f32(a.data(), b.data(), n));
  st.counters["GFLOP/s"] =
      benchmark::Counter(3.0 * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_L2)->Arg(64)->Arg(128)->Arg(384)->Arg(768);

static void BM_L2Scalar(benchmark::State& st) {
  const int64_t n = st.range(0);
  loom::Rng rng(1);
  std::vector<float> a(n), b(n);
  for (auto& x : a) x = rng.normal();
  for (auto& x : b) x = rng.normal();
  for (auto _ : st) benchmark::DoNotOptimize(ix::l2sq_f32_scalar(a.data(), b.data(), n));
  st.counters["GFLOP/s"] =
      benchmark::Counter(3.0 * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_L2Scalar)->Arg(128)->Arg(768);

static void BM_Dot(benchmark::State& st) {
  const int64_t n = st.range(0);
  loom::Rng rng(2);
  std::vector<float> a(n), b(n);
  for (auto& x : a) x = rng.normal();
  for (auto& x : b) x = rng.normal();
  for (auto _ : st) benchmark::DoNotOptimize(ix::dot_f32(a.data(), b.data(), n));
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Dot)->Arg(128)->Arg(768);

static const ix::Index& shared_index(const char* kind) {
  static std::unique_ptr<ix::Index> hnsw, vamana;
  auto& slot = kind[0] == 'h' ? hnsw : vamana;
  if (!slot) {
    ix::IndexOptions o;
    o.hnsw.ef_construction = 100;
    slot = ix::make_index(kind, 64, ix::Metric::kL2, o);
    auto v = ix::clustered_vectors(20000, 64, 100, 1234, 1, 1.0f);
    std::vector<uint64_t> ids(20000);
    for (int i = 0; i < 20000; ++i) ids[i] = i;
    loom::ThreadPool pool(2);
    slot->add(ids, v.data(), &pool);
  }
  return *slot;
}

static void search_bench(benchmark::State& st, const char* kind) {
  const ix::Index& idx = shared_index(kind);
  auto q = ix::clustered_vectors(256, 64, 100, 1234, 2, 1.0f);
  ix::SearchParams sp;
  sp.ef = 32;
  int64_t i = 0;
  for (auto _ : st) {
    auto r = idx.search(q.data() + (i++ % 256) * 64, 1, 10, sp);
    benchmark::DoNotOptimize(r.ids.data());
  }
  st.counters["queries/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
static void BM_HnswSearch(benchmark::State& st) { search_bench(st, "hnsw"); }
static void BM_VamanaSearch(benchmark::State& st) { search_bench(st, "vamana"); }
BENCHMARK(BM_HnswSearch);
BENCHMARK(BM_VamanaSearch);

// PQ per-query cost: the (M, 256) distance table over dim 128, then one ADC lookup sum per code.
static const ix::ProductQuantizer& shared_pq(int64_t M) {
  static std::unique_ptr<ix::ProductQuantizer> pq[129];
  if (!pq[M]) {
    auto x = ix::clustered_vectors(4096, 128, 64, 5, 1);
    pq[M] = std::make_unique<ix::ProductQuantizer>(128, M);
    pq[M]->train(x.data(), 4096, 1);
  }
  return *pq[M];
}

static void BM_PqDistanceTable(benchmark::State& st) {
  const auto& pq = shared_pq(st.range(0));
  auto q = ix::clustered_vectors(1, 128, 64, 5, 2);
  std::vector<float> table(static_cast<size_t>(st.range(0) * ix::kPqCentroids));
  for (auto _ : st) {
    pq.distance_table(q.data(), ix::Metric::kL2, table.data());
    benchmark::DoNotOptimize(table.data());
  }
}
BENCHMARK(BM_PqDistanceTable)->Arg(32)->Arg(64);

static void BM_PqAdc(benchmark::State& st) {
  const int64_t M = st.range(0);
  const auto& pq = shared_pq(M);
  auto x = ix::clustered_vectors(1024, 128, 64, 5, 3);
  std::vector<uint8_t> codes(static_cast<size_t>(1024 * M));
  pq.encode(x.data(), 1024, codes.data());
  std::vector<float> table(static_cast<size_t>(M * ix::kPqCentroids));
  pq.distance_table(x.data(), ix::Metric::kL2, table.data());
  for (auto _ : st) {
    float s = 0;
    for (int64_t i = 0; i < 1024; ++i)
      s += ix::ProductQuantizer::adc(table.data(), &codes[i * M], M);
    benchmark::DoNotOptimize(s);
  }
  st.SetItemsProcessed(st.iterations() * 1024);
}
BENCHMARK(BM_PqAdc)->Arg(32)->Arg(64);

BENCHMARK_MAIN();
