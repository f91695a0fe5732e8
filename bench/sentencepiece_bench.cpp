// SentencePiece encode and trainer throughput.
//
// As a Google Benchmark binary (`make bench`): Llama 2 / tok512 / Unigram encode of tinyshakespeare
// and BPE training on the CS336 corpus. With --sp_report it instead times one job the way
// bench/peers/sentencepiece/run.sh needs (whole corpus as a list of lines, file reading excluded,
// best of --sp_repeat runs) and prints "loom_mb_s <value>":
//   sentencepiece_bench --sp_report --sp_model=M --sp_corpus=C --sp_threads=N
//   sentencepiece_bench --sp_report --sp_train_bpe=VOCAB --sp_corpus=C
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/threads.h"
#include "text/bpe_trainer.h"
#include "text/sentencepiece.h"

namespace {

std::string data_path(const std::string& rel) {
  const char* env = std::getenv("LOOM_DATA");
  return std::string(env && *env ? env : "../shared/data") + "/" + rel;  // make exports LOOM_DATA
}

std::vector<std::string_view> split_lines(std::string_view data) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    lines.push_back(data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

void encode_bench(benchmark::State& state, const std::string& model) {
  auto tok = loom::text::SentencePieceTokenizer::load(data_path(model));
  std::string text = loom::read_file(data_path("corpora/tinyshakespeare/input.txt"));
  auto lines = split_lines(text);
  loom::ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(tok.encode_batch(lines, &pool));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * text.size());
}

void BM_SpEncodeLlama2(benchmark::State& s) {
  encode_bench(s, "tokenizers/llama2/tokenizer.model");
}
void BM_SpEncodeTok512(benchmark::State& s) { encode_bench(s, "models/stories260K/tok512.model"); }
BENCHMARK(BM_SpEncodeLlama2)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpEncodeTok512)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_BpeTrainCs336(benchmark::State& state) {
  // Pre-tokenize on whitespace boundaries (keeping the leading space) to stay regex-free here.
  std::string text = loom::read_file(data_path("tokenizers/bpe-train-reference/corpus.en"));
  std::vector<std::string> words;
  size_t start = 0;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ' || text[i] == '\n') {
      words.emplace_back(text.substr(start, i - start));
      start = i;
    }
  }
  auto counts = loom::text::count_words(words);
  loom::text::BpeTrainerOptions opt;
  opt.vocab_size = 2000;
  for (auto _ : state) benchmark::DoNotOptimize(loom::text::train_byte_bpe(counts, opt));
}
BENCHMARK(BM_BpeTrainCs336)->Unit(benchmark::kMillisecond);

bool flag(int* argc, char** argv, const char* name, std::string* value) {
  const size_t n = std::strlen(name);
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], name, n) == 0 && (argv[i][n] == '=' || argv[i][n] == '\0')) {
      if (value) *value = argv[i][n] == '=' ? argv[i] + n + 1 : "";
      for (int j = i; j + 1 < *argc; ++j) argv[j] = argv[j + 1];
      --*argc;
      return true;
    }
  }
  return false;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int report(const std::string& model, const std::string& corpus, int threads, int repeat,
           const std::string& train_vocab) {
  std::string text = loom::read_file(corpus);
  auto lines = split_lines(text);
  const double mb = static_cast<double>(text.size()) / 1e6;
  double best = 1e30;
  if (!train_vocab.empty()) {
    // Whitespace pre-tokens (leading space kept), counted once; training alone is timed.
    std::vector<std::string> words;
    size_t start = 0;
    for (size_t i = 1; i <= text.size(); ++i) {
      if (i == text.size() || text[i] == ' ' || text[i] == '\n') {
        if (i > start) words.emplace_back(text.substr(start, i - start));
        start = i;
      }
    }
    auto counts = loom::text::count_words(words);
    loom::text::BpeTrainerOptions opt;
    opt.vocab_size = std::stoi(train_vocab);
    size_t merges = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      merges = loom::text::train_byte_bpe(counts, opt).merges.size();
      best = std::min(best, seconds_since(t0));
    }
    std::printf("loom_train_s %.3f merges %zu words %zu\n", best, merges, counts.size());
    return 0;
  }
  auto tok = loom::text::SentencePieceTokenizer::load(model);
  loom::ThreadPool pool(threads);
  size_t n_tokens = 0;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto ids = tok.encode_batch(lines, &pool);
    best = std::min(best, seconds_since(t0));
    n_tokens = 0;
    for (const auto& v : ids) n_tokens += v.size();
  }
  std::printf("loom_mb_s %.2f seconds %.3f tokens %zu lines %zu mb %.2f\n", mb / best, best,
              n_tokens, lines.size(), mb);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, corpus, threads = "1", repeat = "3", train_vocab;
  const bool is_report = flag(&argc, argv, "--sp_report", nullptr);
  flag(&argc, argv, "--sp_model", &model);
  flag(&argc, argv, "--sp_corpus", &corpus);
  flag(&argc, argv, "--sp_threads", &threads);
  flag(&argc, argv, "--sp_repeat", &repeat);
  flag(&argc, argv, "--sp_train_bpe", &train_vocab);
  if (is_report) return report(model, corpus, std::stoi(threads), std::stoi(repeat), train_vocab);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
