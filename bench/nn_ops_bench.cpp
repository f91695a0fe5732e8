// The training hot paths one at a time, forward + backward: fused causal attention (small-Llama
// shapes) and fused cross-entropy (vocab 32000), 2 threads. GFLOP/s for attention counts the
// full T x T blocks as computed: six GEMMs (QKᵀ, PV; dP, dV, dQ, dK).
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.h"
#include "nn/ops.h"

namespace {

using namespace loom;
using namespace loom::nn;

Tensor randn(Shape s, Rng& rng) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal();
  return t;
}

void BM_Attention(benchmark::State& state) {
  const int64_t B = 8, T = 256, H = 6, D = 48;
  ThreadPool pool(static_cast<int>(state.range(0)));
  Rng rng(1);
  Tensor q = randn({B * T, H * D}, rng), k = randn({B * T, H * D}, rng),
         v = randn({B * T, H * D}, rng);
  Tensor dq = Tensor::zeros(q.shape()), dk = Tensor::zeros(k.shape()),
         dv = Tensor::zeros(v.shape());
  Tensor r = randn(q.shape(), rng);
  Tape tape(pool);
  for (auto _ : state) {
    tape.reset();
    Var y = causal_attention(tape, tape.leaf(q.view(), dq.view()), tape.leaf(k.view(), dk.view()),
                             tape.leaf(v.view(), dv.view()), B, T, H, H, D);
    tape.backward(weighted_sum(tape, y, r.f32()));
  }
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * 2.0 * B * H * T * T * D / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Attention)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_CrossEntropy(benchmark::State& state) {
  const int64_t N = 2048, V = 32000;
  ThreadPool pool(static_cast<int>(state.range(0)));
  Rng rng(2);
  Tensor x = randn({N, V}, rng), dx = Tensor::zeros({N, V});
  std::vector<int32_t> tg(static_cast<size_t>(N));
  for (auto& t : tg) t = static_cast<int32_t>(rng.below(V));
  Tape tape(pool);
  for (auto _ : state) {
    tape.reset();
    tape.backward(cross_entropy(tape, tape.leaf(x.view(), dx.view()), tg.data(), N));
  }
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(N), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CrossEntropy)
    ->Arg(2)
    ->ArgName("threads")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
