// Tokenizer encode throughput (the merge loop is a hot path, DESIGN.md). Text: the file in
// LOOM_BENCH_CORPUS (bench/peers/tokenizers/run.sh passes the bench-corpus), else tinyshakespeare
// from LOOM_DATA. Each line is one document, as in `loom tokenize`. Reports bytes/second.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/threads.h"
#include "text/tokenizer.h"

namespace {

std::string data_dir() {
  const char* env = std::getenv("LOOM_DATA");
  return env != nullptr && *env != '\0' ? env : "../shared/data";
}

struct Corpus {
  std::string text;
  std::vector<std::string_view> lines;
  Corpus() {
    const char* env = std::getenv("LOOM_BENCH_CORPUS");
    text = loom::read_file(env != nullptr && *env != '\0'
                               ? std::string(env)
                               : data_dir() + "/corpora/tinyshakespeare/input.txt");
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      lines.emplace_back(text.data() + pos, nl - pos);
      pos = nl + 1;
    }
  }
};

const Corpus& corpus() {
  static const Corpus c;
  return c;
}

void encode_corpus(benchmark::State& state, const std::string& file) {
  auto tok = loom::text::load_tokenizer(data_dir() + "/" + file);
  loom::ThreadPool pool(int(state.range(0)));
  const Corpus& c = corpus();
  size_t tokens = 0;
  for (auto _ : state) {
    auto encs = tok->encode_batch(c.lines, false, pool);
    tokens = 0;
    for (const auto& e : encs) tokens += e.ids.size();
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(c.text.size()));
  state.counters["tokens"] = double(tokens);
}

void BM_Gpt2Encode(benchmark::State& s) { encode_corpus(s, "tokenizers/gpt2/encoder.json"); }
void BM_Llama3Encode(benchmark::State& s) { encode_corpus(s, "tokenizers/llama3/tokenizer.json"); }
void BM_BertEncode(benchmark::State& s) {
  encode_corpus(s, "tokenizers/bert-base-uncased/tokenizer.json");
}

BENCHMARK(BM_Gpt2Encode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Llama3Encode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BertEncode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
