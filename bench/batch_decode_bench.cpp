// Batched decode throughput: aggregate tokens/s of B sequences (different random prompts of
// --prompt tokens each, greedy) advanced together by generate::BatchDecoder, at B = 1, 4, 16, 64,
// and the speed-up over B = 1. Every B decodes at the same positions (prompt length + step), so
// attention costs the same per token and only the batching differs. Prefill is not timed: after
// the first step every sequence is decoding.
//
// Usage: batch_decode_bench [MODEL.gguf] [--threads N] [--steps S] [--prompt P]
//                           [--batches 1,4,16,64]
// Model: the argument, else $LOOM_BENCH_MODEL, else stories260K.gguf from the data folder. One
// line per B, key=value, for bench/peers/llm's comparison to quote:
//   batch_decode model=<file> threads=N B=<b> prompt=P steps=S tok_per_s=<x> speedup=<x over B=1>
// (speedup 0 when B=1 was not run).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "generate/batch_decode.h"
#include "models/model.h"

#ifndef LOOM_BENCH_DATA
#define LOOM_BENCH_DATA "../shared/data"  // relative to the repository root
#endif

namespace {

struct Args {
  std::string model;
  int threads = 1;
  int64_t steps = 32;
  int64_t prompt = 32;
  std::vector<int64_t> batches = {1, 4, 16, 64};
};

Args parse(int argc, char** argv) {
  Args a;
  const char* d = std::getenv("LOOM_DATA");
  const char* env = std::getenv("LOOM_BENCH_MODEL");
  a.model =
      env ? env : std::string(d ? d : LOOM_BENCH_DATA) + "/models/stories260K/stories260K.gguf";
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    const bool has_value = i + 1 < argc;
    if (f == "--threads" && has_value) {
      a.threads = std::atoi(argv[++i]);
    } else if (f == "--steps" && has_value) {
      a.steps = std::atoll(argv[++i]);
    } else if (f == "--prompt" && has_value) {
      a.prompt = std::atoll(argv[++i]);
    } else if (f == "--batches" && has_value) {
      a.batches.clear();
      std::stringstream ss(argv[++i]);
      for (std::string b; std::getline(ss, b, ',');) a.batches.push_back(std::atoll(b.c_str()));
    } else if (f.rfind("--", 0) != 0) {
      a.model = f;
    } else {
      throw loom::Error("batch_decode_bench: unknown flag or missing value: " + f);
    }
  }
  if (a.threads < 1 || a.steps < 1 || a.prompt < 1)
    throw loom::Error("batch_decode_bench: --threads, --steps, --prompt >= 1");
  return a;
}

// Aggregate tokens/s of a.steps decode steps of B sequences.
double tokens_per_second(const loom::models::Model& m, loom::ThreadPool& pool, int64_t B,
                         const Args& a) {
  loom::generate::BatchDecoder dec(m, pool);
  loom::Rng rng(static_cast<uint64_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    loom::generate::SequenceRequest r;
    r.prompt.resize(static_cast<size_t>(a.prompt));
    for (auto& t : r.prompt) t = static_cast<int32_t>(rng.next_u64() % m.vocab_size());
    r.sampler.temperature = 0;
    r.max_new_tokens = a.steps + 1;
    dec.add(r);
  }
  dec.step();  // prefill every sequence
  const auto t0 = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  for (int64_t s = 0; s < a.steps; ++s) tokens += static_cast<int64_t>(dec.step().size());
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(tokens) / sec;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    auto m = loom::models::load_model(a.model);
    loom::ThreadPool pool(a.threads);
    std::printf("# %s, %.1f MB of weights per step\n", m->config().describe().c_str(),
                static_cast<double>(m->weight_bytes()) / 1e6);
    const std::string name = a.model.substr(a.model.find_last_of('/') + 1);
    double base = 0;
    for (int64_t B : a.batches) {
      const double tps = tokens_per_second(*m, pool, B, a);
      if (B == 1) base = tps;
      std::printf(
          "batch_decode model=%s threads=%d B=%lld prompt=%lld steps=%lld tok_per_s=%.1f "
          "speedup=%.2f\n",
          name.c_str(), a.threads, static_cast<long long>(B), static_cast<long long>(a.prompt),
          static_cast<long long>(a.steps), tps, base > 0 ? tps / base : 0.0);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batch_decode_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
