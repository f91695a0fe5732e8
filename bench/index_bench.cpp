// Vector index hot paths: distance kernels (SIMD vs their scalar twins) and single-thread search
// on a 20k x 64 clustered set (HNSW M=16 efC=100, Vamana R=32 L=64, beam 32).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "core/rng.h"
#include "index/factory.h"
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

BENCHMARK_MAIN();
