// Embedding throughput: the Embedder (tokenize, forward, mean pool, normalise) over SST-2
// sentences on 1 and 2 threads, in texts/s and tokens/s. Model: stories260K.bin + tok512.model
// from the data folder ($LOOM_DATA).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

#include "core/mapped_file.h"
#include "embed/embedder.h"
#include "models/model.h"
#include "text/sentencepiece.h"

#ifndef LOOM_BENCH_DATA
#define LOOM_BENCH_DATA "../shared/data"  // relative to the repository root
#endif

namespace {

std::string data(const std::string& rel) {
  const char* d = std::getenv("LOOM_DATA");
  return std::string(d ? d : LOOM_BENCH_DATA) + "/" + rel;
}

struct Setup {
  std::unique_ptr<loom::embed::Embedder> embedder;
  std::vector<std::string> texts;  // 2000 SST-2 training sentences
};

const Setup& setup() {
  static Setup s = [] {
    Setup r;
    auto model = loom::models::load_model(data("models/stories260K/stories260K.bin"));
    auto tok = std::make_shared<loom::text::SentencePieceTokenizer>(
        loom::text::SentencePieceTokenizer::load(data("models/stories260K/tok512.model")));
    r.embedder = std::make_unique<loom::embed::Embedder>(
        model, [tok](std::string_view s) { return tok->encode_ids(s, true); },
        loom::embed::EmbedConfig{}, 128);
    std::istringstream in(loom::read_file(data("classification/sst2/train.tsv")));
    std::string line;
    std::getline(in, line);  // header
    while (r.texts.size() < 2000 && std::getline(in, line))
      r.texts.push_back(line.substr(0, line.find('\t')));
    return r;
  }();
  return s;
}

void BM_EmbedSst2(benchmark::State& state) {
  const Setup& s = setup();
  loom::ThreadPool pool(static_cast<int>(state.range(0)));
  std::vector<float> out(s.texts.size() * static_cast<size_t>(s.embedder->dim()));
  int64_t tokens = 0;
  for (auto _ : state) {
    auto st = s.embedder->embed(s.texts, pool, out.data());
    tokens += st.tokens;
  }
  state.counters["texts/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * s.texts.size()), benchmark::Counter::kIsRate);
  state.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EmbedSst2)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
