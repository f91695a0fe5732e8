// GEMM throughput on this machine's shapes: square 1024, a transformer FFN (512x768 * 768x3072)
// and a decode step (1x768 * 768x3072), f32/bf16/i8, 1 and 2 threads. Reports GFLOP/s (GOP/s
// for i8) so later issues can state efficiency against the measured peak.
#include <benchmark/benchmark.h>

#include "core/gemm.h"
#include "core/rng.h"

namespace {

void fill(loom::Tensor& t, loom::Rng& rng) {
  loom::Tensor f = loom::Tensor::empty(t.shape());
  for (int64_t i = 0; i < f.numel(); ++i) f.f32()[i] = rng.normal();
  if (t.dtype() == loom::DType::I8) {
    for (int64_t i = 0; i < f.numel(); ++i)
      t.view().as<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng.below(255)) - 127);
  } else {
    loom::from_f32(t.dtype(), f.f32(), t.data(), f.numel());
  }
}

void BM_Gemm(benchmark::State& state, loom::DType dt) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  loom::ThreadPool pool(threads);
  loom::Rng rng(1);
  loom::Tensor a = loom::Tensor::empty({m, k}, dt);
  loom::Tensor b = loom::Tensor::empty({n, k}, dt);  // weights stored (out, in), as in models
  fill(a, rng);
  fill(b, rng);
  loom::Tensor c =
      loom::Tensor::zeros({m, n}, dt == loom::DType::I8 ? loom::DType::I32 : loom::DType::F32);
  for (auto _ : state) {
    loom::matmul(pool, a.view(), false, b.view(), true, c.view());
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(loom::dtype_name(dt)) + " M=" + std::to_string(m) +
                 " K=" + std::to_string(k) + " N=" + std::to_string(n) +
                 " threads=" + std::to_string(threads));
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int t : {1, 2}) {
    b->Args({1024, 1024, 1024, t});
    b->Args({512, 768, 3072, t});
    b->Args({1, 768, 3072, t});
  }
  b->ArgNames({"M", "K", "N", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_Gemm, f32, loom::DType::F32)->Apply(shapes);
BENCHMARK_CAPTURE(BM_Gemm, bf16, loom::DType::BF16)->Apply(shapes);
BENCHMARK_CAPTURE(BM_Gemm, i8, loom::DType::I8)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
