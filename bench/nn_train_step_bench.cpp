// One full training step (zero grads, forward, backward, global-norm clip, AdamW) of the issue's
// two models: a small Llama (d=288, 6 layers, 6 heads, vocab 32000, T=256, B=8) and a
// GPT-2-small-like model (d=768, 12 layers, 12 heads, vocab 50257, T=256, B=4), fp32 and bf16,
// 2 threads. Reports tokens/s and achieved GFLOP/s (3 x forward matmul FLOPs, attention counted
// over the full T x T block as computed). bench/peers/train/run.sh runs PyTorch beside it.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "core/rng.h"
#include "models/causal_lm.h"
#include "nn/optim.h"

namespace {
using loom::models::CausalLm;
using loom::models::DecoderConfig;

using namespace loom;
using namespace loom::nn;

DecoderConfig llama_small() {
  DecoderConfig c;
  c.arch = "llama";
  c.vocab_size = 32000;
  c.context_length = 256;
  c.dim = 288;
  c.n_layers = 6;
  c.n_heads = 6;
  c.n_kv_heads = 6;
  c.hidden_dim = 768;
  return c;
}

DecoderConfig gpt2_small() {
  DecoderConfig c;
  c.arch = "gpt2";
  c.vocab_size = 50257;
  c.context_length =
      256;  // positions used by the benchmark (GPT-2 has 1024; the step only reads T)
  c.dim = 768;
  c.n_layers = 12;
  c.n_heads = 12;
  c.n_kv_heads = 12;
  c.hidden_dim = 3072;
  return c;
}

// Callgrind-sized variants (bench/peers/self/instructions.sh): two layers, vocabulary 1024, one
// sequence of 64 tokens, one thread, so one step under valgrind takes seconds and the ops between
// the GEMMs (norms, attention, activations) carry more of the count than at full size.
DecoderConfig tiny(DecoderConfig c, int64_t dim, int64_t heads, int64_t hidden) {
  c.vocab_size = 1024;
  c.context_length = 64;
  c.n_layers = 2;
  c.dim = dim;
  c.n_heads = c.n_kv_heads = heads;
  c.hidden_dim = hidden;
  return c;
}

void BM_TrainStep(benchmark::State& state, DecoderConfig cfg, int64_t batch, Compute compute) {
  const int64_t T = std::min<int64_t>(256, cfg.context_length);
  ThreadPool pool(static_cast<int>(state.range(0)));
  CausalLm model(cfg);
  model.init(1);
  model.exclude_norms_and_biases_from_decay();
  AdamW opt(model.params(), {.beta1 = 0.9f, .beta2 = 0.95f, .weight_decay = 0.1f});
  Tape tape(pool, compute);
  Rng rng(2);
  std::vector<int32_t> ids(static_cast<size_t>(batch * T)), tg(ids.size());
  for (auto& x : ids) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(cfg.vocab_size)));
  for (auto& x : tg) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(cfg.vocab_size)));
  auto step = [&] {
    tape.reset();
    model.params().zero_grad();
    Var loss = model.loss(tape, ids.data(), tg.data(), batch, T);
    tape.backward(loss);
    clip_grad_norm(model.params(), 1.0f, pool);
    opt.step(1e-4f, pool);
    return tape.data(loss)[0];
  };
  step();  // warm-up: arena, page faults, GEMM primitive caches
  for (auto _ : state) benchmark::DoNotOptimize(step());
  const double tokens = static_cast<double>(batch * T);
  state.counters["tok/s"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(3.0 * model.forward_flops_per_token(T) * tokens / 1e9,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(compute == Compute::BF16 ? "bf16" : "fp32") +
                 " B=" + std::to_string(batch) + " T=" + std::to_string(T) +
                 " params=" + std::to_string(model.params().count()));
}

void args(benchmark::internal::Benchmark* b) {
  b->Arg(2)->ArgName("threads")->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
}

void tiny_args(benchmark::internal::Benchmark* b) {
  b->Arg(1)->ArgName("threads")->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_TrainStep, llama_small_fp32, llama_small(), 8, Compute::F32)->Apply(args);
BENCHMARK_CAPTURE(BM_TrainStep, llama_small_bf16, llama_small(), 8, Compute::BF16)->Apply(args);
BENCHMARK_CAPTURE(BM_TrainStep, gpt2_small_fp32, gpt2_small(), 4, Compute::F32)->Apply(args);
BENCHMARK_CAPTURE(BM_TrainStep, gpt2_small_bf16, gpt2_small(), 4, Compute::BF16)->Apply(args);
BENCHMARK_CAPTURE(BM_TrainStep, llama_tiny_fp32, tiny(llama_small(), 128, 4, 384), 1, Compute::F32)
    ->Apply(tiny_args);
BENCHMARK_CAPTURE(BM_TrainStep, llama_tiny_bf16, tiny(llama_small(), 128, 4, 384), 1, Compute::BF16)
    ->Apply(tiny_args);
BENCHMARK_CAPTURE(BM_TrainStep, gpt2_tiny_fp32, tiny(gpt2_small(), 128, 4, 512), 1, Compute::F32)
    ->Apply(tiny_args);
BENCHMARK_CAPTURE(BM_TrainStep, gpt2_tiny_bf16, tiny(gpt2_small(), 128, 4, 512), 1, Compute::BF16)
    ->Apply(tiny_args);

}  // namespace

BENCHMARK_MAIN();
