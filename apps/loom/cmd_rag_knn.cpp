// `loom rag knn-lm`: perplexity of a text with and without kNN-LM, the datastore built from
// another text, lambda chosen on a validation text.
#include <chrono>
#include <cstdio>
#include <string>

#include "adapter_flags.h"
#include "cli.h"
#include "core/mapped_file.h"
#include "generate/codec.h"
#include "rag/knn_lm.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_rag_knn(const Args &args) {
  loom::rag::KnnOptions opt;
  opt.k = args.integer("k", 64);
  opt.temperature = static_cast<float>(args.number("temperature", 1.0));
  opt.ef = args.integer("ef", 0);
  const int64_t window = args.integer("window", 0);
  const std::string kind = args.str("index", "flat");
  if (kind != "flat" && kind != "hnsw") throw UsageError{"--index: expected flat or hnsw"};
  if (opt.k < 1 || !(opt.temperature > 0)) throw UsageError{"--k must be >= 1, --temperature > 0"};
  loom::ThreadPool pool(args.threads());
  auto loaded = loom::cli::load_model_flags(args);
  auto codec = loom::generate::load_codec(*loaded.model, loaded.tokenizer);
  auto tokens_of = [&](const char *flag) {
    return codec->encode(loom::read_file(args.need(flag)), true);
  };
  auto t0 = std::chrono::steady_clock::now();
  const loom::rag::KnnDatastore ds =
      loom::rag::build_datastore(*loaded.model, pool, tokens_of("datastore"), window);
  auto idx = loom::rag::index_datastore(ds, kind, pool);
  const double build_s = seconds_since(t0);
  const auto valid = loom::rag::score_text(*loaded.model, pool, tokens_of("valid"), window, *idx,
                                           ds, opt);
  const double lambda =
      args.has("lambda") ? args.number("lambda", 0) : loom::rag::best_lambda(valid);
  const auto test = loom::rag::score_text(*loaded.model, pool, tokens_of("text"), window, *idx,
                                          ds, opt);
  const double per_tok_ms = 1e3 * test.search_seconds / std::max<size_t>(1, test.p_knn.size());
  if (args.json()) {
    std::printf(
        "{\"datastore\": %lld, \"build_seconds\": %.3f, \"lambda\": %.2f, \"valid_ppl_lm\": %.6f,"
        " \"valid_ppl_knn\": %.6f, \"ppl_lm\": %.6f, \"ppl_knn\": %.6f, \"tokens\": %zu,"
        " \"search_ms_per_token\": %.4f}\n",
        static_cast<long long>(ds.size()), build_s, lambda, valid.perplexity(0),
        valid.perplexity(lambda), test.perplexity(0), test.perplexity(lambda), test.p_knn.size(),
        per_tok_ms);
  } else {
    std::printf(
        "datastore\t%lld keys (built and indexed in %.2f s, %s)\nlambda\t%.2f\n"
        "valid perplexity\t%.4f LM, %.4f kNN-LM\nperplexity\t%.4f LM, %.4f kNN-LM (%zu tokens)\n"
        "search\t%.4f ms/token\n",
        static_cast<long long>(ds.size()), build_s, kind.c_str(), lambda, valid.perplexity(0),
        valid.perplexity(lambda), test.perplexity(0), test.perplexity(lambda), test.p_knn.size(),
        per_tok_ms);
  }
  return 0;
}

}  // namespace

LOOM_COMMAND("rag knn-lm",
             "kNN-LM perplexity: datastore from one text, lambda on another, scored on a third",
             {
                 {"model", "FILE", "model file (GGUF, safetensors, llama2.c .bin)", ""},
                 {"tokenizer", "FILE",
                  "SentencePiece .model or llama2.c .bin (default: the GGUF's own)", ""},
                 loom::cli::adapter_flag(),
                 {"datastore", "FILE", "text whose (context -> next token) pairs are stored", ""},
                 {"valid", "FILE", "text on which lambda is chosen (0, 0.05, ..., 1)", ""},
                 {"text", "FILE", "text to score", ""},
                 {"lambda", "L", "use this lambda instead of choosing it", ""},
                 {"k", "K", "neighbours per token", "64"},
                 {"temperature", "T", "neighbour weight exp(-squared L2 / T)", "1.0"},
                 {"index", "KIND", "flat (exact) or hnsw", "flat"},
                 {"ef", "N", "HNSW search beam (0 = default)", "0"},
                 {"window", "W", "tokens per window, each from an empty cache (0 = context)", "0"},
             },
             run_rag_knn,
             "Khandelwal et al. (2020): p(y) = lambda p_kNN(y) + (1 - lambda) p_LM(y), the keys "
             "being the model's\nfinal hidden states. Every token but the first of each file is "
             "scored once (windows as\nloom eval ppl with stride = window).");
