// Inference hot paths: the decode step and 512-token prompt processing of a whole model, the
// q8_0 x q8_0 dot, and one decode-time linear layer in f32 and q8_0.
// Model: $LOOM_BENCH_MODEL (default: stories260K.gguf from the data folder).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/huge_pages.h"
#include "core/kernels.h"
#include "core/rng.h"
#include "models/layers.h"
#include "models/model.h"

#ifndef LOOM_BENCH_DATA
#define LOOM_BENCH_DATA \
  "../shared/data"  // relative to the repository root, where `make bench` runs
#endif

namespace {

std::string model_path() {
  if (const char* p = std::getenv("LOOM_BENCH_MODEL")) return p;
  const char* d = std::getenv("LOOM_DATA");
  return std::string(d ? d : LOOM_BENCH_DATA) + "/models/stories260K/stories260K.gguf";
}

const loom::models::Model& model() {
  static auto m = loom::models::load_model(model_path());
  return *m;
}

void BM_Decode(benchmark::State& state) {
  const auto& m = model();
  loom::ThreadPool pool(static_cast<int>(state.range(0)));
  loom::models::Session s(m, 512);
  int32_t tok = 1;
  for (auto _ : state) {
    if (s.position() == s.capacity()) s.reset();
    m.forward(s, pool, &tok, 1);
    tok = static_cast<int32_t>(std::max_element(s.logits().begin(), s.logits().end()) -
                               s.logits().begin());
  }
  state.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  // Weight bytes one step reads: with BM_ReadBandwidth this gives the memory-bound ceiling.
  state.counters["MB/token"] = static_cast<double>(m.weight_bytes()) / 1e6;
  state.counters["GB/s"] = benchmark::Counter(
      static_cast<double>(m.weight_bytes()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.SetLabel(m.config().describe());
}
BENCHMARK(BM_Decode)->Arg(1)->Arg(2)->UseRealTime();

void BM_Prompt512(benchmark::State& state) {
  const auto& m = model();
  loom::ThreadPool pool(static_cast<int>(state.range(0)));
  loom::models::Session s(m, 512);
  std::vector<int32_t> ids(512);
  loom::Rng rng(1);
  for (auto& i : ids) i = static_cast<int32_t>(rng.below(static_cast<uint64_t>(m.vocab_size())));
  for (auto _ : state) {
    s.reset();
    m.forward(s, pool, ids.data(), 512);
  }
  state.counters["tok/s"] = benchmark::Counter(512.0 * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Prompt512)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Linear(benchmark::State& state) {
  const int64_t out = 8192, in = 768;  // 25 MB in f32: larger than the caches
  const auto dt = state.range(0) == 0 ? loom::DType::F32 : loom::DType::Q8_0;
  loom::Tensor w = loom::Tensor::empty({out, in});
  loom::Rng rng(2);
  for (int64_t i = 0; i < w.numel(); ++i) w.f32()[i] = rng.normal();
  loom::Tensor wq = w.to(dt);
  std::vector<float> x(in, 0.5f), y(out);
  loom::ThreadPool pool(1);
  for (auto _ : state) loom::models::linear(pool, x.data(), 1, wq.view(), nullptr, y.data());
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(wq.nbytes()) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.SetLabel(loom::dtype_name(dt));
}
BENCHMARK(BM_Linear)->Arg(0)->Arg(1);

// Reads [p, p + n) once with four independent 64-byte accumulators, so the loop is bound by
// memory, not by the latency of one add chain (a single-accumulator sum reads ~25% slower here).
float read_all(const float* p, int64_t n) {
  using V = float __attribute__((vector_size(64)));
  V a0{}, a1{}, a2{}, a3{};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    V v[4];
    std::memcpy(v, p + i, sizeof v);
    a0 += v[0];
    a1 += v[1];
    a2 += v[2];
    a3 += v[3];
  }
  V t = (a0 + a1) + (a2 + a3);
  float s = 0;
  for (int k = 0; k < 16; ++k) s += t[k];
  for (; i < n; ++i) s += p[i];
  return s;
}

// Streaming read bandwidth over 1 GB: the memory-bandwidth bound for decode, whose weights come
// from memory once per token. Decode's GB/s above divided by this is its share of the bound.
// The buffer sits on 2 MiB pages and each task reads 128 MB in one sweep: with 4 KiB pages and
// 4 MB tasks the same loop read 12.4 / 22.9 GB/s (1 / 2 threads) instead of 14.3 / 26.4, which
// understated the bound (decode then showed more than 100% of it).
void BM_ReadBandwidth(benchmark::State& state) {
  const int64_t n = 256ll << 20;  // floats
  loom::HugeVector<float> buf(static_cast<size_t>(n), 1.0f);
  loom::ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    pool.parallel_for(n, n / 8, [&](int64_t b, int64_t e) {
      float s = read_all(buf.data() + b, e - b);
      benchmark::DoNotOptimize(s);
    });
  }
  state.counters["GB/s"] =
      benchmark::Counter(4.0 * static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
