// `loom rag ralm` and `loom rag replug`: perplexity of a text with and without documents that BM25
// retrieves every s tokens (in-context RALM: the top document prepended; REPLUG: k documents
// ensembled), and REPLUG generation from a prompt.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "adapter_flags.h"
#include "cli.h"
#include "core/mapped_file.h"
#include "generate/codec.h"
#include "rag/ralm.h"
#include "rag/replug_generate.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;

struct Setup {
  loom::cli::ModelWithTokenizer loaded;
  std::unique_ptr<loom::generate::TokenCodec> codec;
  std::unique_ptr<loom::rag::Bm25DocRetriever> retriever;
  std::string source;  // where the documents came from
};

// --docs (one document per line or JSONL) or --datastore (a text cut into passages).
std::vector<std::string> document_flags(const Args &args, const loom::generate::TokenCodec &codec) {
  if (args.has("docs") == args.has("datastore"))
    throw UsageError{"give exactly one of --docs FILE and --datastore FILE"};
  if (args.has("docs")) return loom::rag::load_documents(args.str("docs"));
  loom::retrieval::ChunkOptions co;
  co.mode = loom::retrieval::parse_chunk_mode(args.str("chunk", "tokens"));
  co.max_tokens = args.integer("chunk-tokens", 128);
  co.overlap = 0;
  const std::string path = args.str("datastore");
  return loom::rag::chunk_passages(loom::read_file(path), path, co, codec);
}

// The model, its codec and a BM25 retriever over the documents (stopwords removed, as Pyserini's
// default English analyzer does).
Setup load_setup(const Args &args) {
  Setup s;
  s.loaded = loom::cli::load_model_flags(args);
  s.codec = loom::generate::load_codec(*s.loaded.model, s.loaded.tokenizer);
  loom::retrieval::Bm25Params bp;
  bp.analyzer.stopwords = true;
  s.retriever =
      std::make_unique<loom::rag::Bm25DocRetriever>(document_flags(args, *s.codec), *s.codec, bp);
  s.source = args.has("docs") ? args.str("docs") : args.str("datastore");
  return s;
}

loom::rag::RalmOptions ralm_flags(const Args &args, bool replug) {
  loom::rag::RalmOptions o;
  o.window = args.integer("window", 0);
  o.context = args.integer("context", 0);
  o.stride = args.integer("stride", 4);
  o.query_tokens = args.integer("query-tokens", 32);
  o.k = replug ? args.integer("k", 4) : 1;
  o.tau = replug ? args.number("tau", 1.0) : 1.0;
  if (o.stride < 1) throw UsageError{"--stride must be >= 1"};
  if (o.query_tokens < 1) throw UsageError{"--query-tokens must be >= 1"};
  if (o.k < 1) throw UsageError{"--k must be >= 1"};
  if (!(o.tau > 0)) throw UsageError{"--tau must be > 0"};
  if (o.window < 0 || o.context < 0) throw UsageError{"--window and --context must be >= 0"};
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Both perplexities of --text (its first --max-tokens tokens when given), printed.
int run_scoring(const Args &args, bool replug) {
  const loom::rag::RalmOptions o = ralm_flags(args, replug);
  const int64_t max_tokens = args.integer("max-tokens", 0);
  if (max_tokens < 0 || max_tokens == 1) throw UsageError{"--max-tokens must be 0 (all) or >= 2"};
  const std::string text_path = args.need("text");
  Setup s = load_setup(args);
  std::vector<int32_t> tokens = s.codec->encode(loom::read_file(text_path), true);
  if (max_tokens > 0 && static_cast<int64_t>(tokens.size()) > max_tokens) tokens.resize(max_tokens);
  if (tokens.size() < 2) throw UsageError{text_path + ": nothing to score (fewer than 2 tokens)"};
  loom::ThreadPool pool(args.threads());
  const auto &model = *s.loaded.model;
  const auto lm = loom::rag::score_with_retrieval(model, pool, tokens, nullptr, o);
  const auto t0 = std::chrono::steady_clock::now();
  const auto rag = loom::rag::score_with_retrieval(model, pool, tokens, s.retriever.get(), o);
  const double secs = seconds_since(t0);
  const char *name = replug ? "REPLUG" : "RALM";
  if (args.json()) {
    std::printf(
        "{\"method\": \"%s\", \"documents\": %zu, \"k\": %lld, \"tau\": %g, \"stride\": %lld,"
        " \"query_tokens\": %lld, \"scored\": %lld, \"strides\": %lld, \"augmented\": %lld,"
        " \"ppl_lm\": %.6f, \"ppl_rag\": %.6f, \"seconds\": %.3f}\n",
        name, s.retriever->size(), static_cast<long long>(o.k), o.tau,
        static_cast<long long>(o.stride), static_cast<long long>(o.query_tokens),
        static_cast<long long>(rag.scored()), static_cast<long long>(rag.strides),
        static_cast<long long>(rag.augmented), lm.perplexity(), rag.perplexity(), secs);
  } else {
    std::printf(
        "documents\t%zu (%s)\nperplexity\t%.4f LM, %.4f %s (k = %lld, tau = %g; %lld tokens)\n"
        "strides\t%lld of %lld with a document, s = %lld, query = %lld tokens (%.2f s)\n",
        s.retriever->size(), s.source.c_str(), lm.perplexity(), rag.perplexity(), name,
        static_cast<long long>(o.k), o.tau, static_cast<long long>(rag.scored()),
        static_cast<long long>(rag.augmented), static_cast<long long>(rag.strides),
        static_cast<long long>(o.stride), static_cast<long long>(o.query_tokens), secs);
  }
  return 0;
}

int run_replug_generate(const Args &args) {
  loom::rag::ReplugGenerateOptions o;
  o.max_new_tokens = args.integer("max-new", 64);
  o.query_tokens = args.integer("query-tokens", 32);
  o.k = args.integer("k", 4);
  o.tau = args.number("tau", 1.0);
  if (o.k < 1) throw UsageError{"--k must be >= 1"};
  if (!(o.tau > 0)) throw UsageError{"--tau must be > 0"};
  if (o.query_tokens < 1 || o.max_new_tokens < 1)
    throw UsageError{"--query-tokens and --max-new must be >= 1"};
  loom::generate::SamplerConfig sc;
  sc.temperature = static_cast<float>(args.number("temperature", 1.0));
  sc.top_p = static_cast<float>(args.number("top-p", 0.9));
  sc.seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed", 0))
                             : static_cast<uint64_t>(std::time(nullptr));
  if (sc.temperature < 0 || sc.top_p < 0 || sc.top_p > 1)
    throw UsageError{"--temperature must be >= 0 and --top-p in [0, 1]"};
  const std::string prompt = args.need("prompt");
  Setup s = load_setup(args);
  loom::ThreadPool pool(args.threads());
  const auto g = loom::rag::replug_generate(*s.loaded.model, *s.codec, pool, *s.retriever,
                                            s.codec->encode(prompt, true), o, sc,
                                            loom::generate::auto_sampler_kind(sc));
  if (args.json()) {
    std::printf("{\"text\": %s, \"tokens\": %zu, \"documents\": %zu, \"stop_reason\": \"%s\"}\n",
                loom::cli::json_quote(prompt + g.text).c_str(), g.tokens.size(), g.documents,
                g.stop_reason.c_str());
  } else {
    std::printf("%s%s\n", prompt.c_str(), g.text.c_str());
  }
  return 0;
}

int run_rag_ralm(const Args &args) { return run_scoring(args, false); }

int run_rag_replug(const Args &args) {
  return args.flag("generate") ? run_replug_generate(args) : run_scoring(args, true);
}

std::vector<loom::cli::Flag> common_rag_flags() {
  return {
      {"model", "FILE", "model file (GGUF, safetensors, llama2.c .bin)", ""},
      {"tokenizer", "FILE", "SentencePiece .model or llama2.c .bin (default: the GGUF's own)", ""},
      loom::cli::adapter_flag(),
      {"docs", "FILE", "retrieval documents: JSONL ({\"_id\", \"text\"}, BEIR) or one per line",
       ""},
      {"datastore", "FILE", "retrieval text, cut into passages (instead of --docs)", ""},
      {"chunk", "MODE", "--datastore passages: tokens (line by line), paragraph or sentence",
       "tokens"},
      {"chunk-tokens", "N", "--chunk tokens: tokens per passage", "128"},
      {"text", "FILE", "text to score", ""},
      {"max-tokens", "N", "score only the text's first N tokens (0 = all)", "0"},
      {"stride", "S", "tokens scored per retrieval", "4"},
      {"query-tokens", "L", "the query: the text's last L tokens before each stride", "32"},
      {"window", "W", "tokens per model input: document + text (0 = the model's context)", "0"},
      {"context", "C", "most tokens of the text per input, > S (0 = W / 2)", "0"},
  };
}

std::vector<loom::cli::Flag> replug_flags() {
  std::vector<loom::cli::Flag> f = common_rag_flags();
  f.insert(f.end(),
           {{"k", "K", "documents per retrieval", "4"},
            {"tau", "T", "weights softmax(BM25 score / T)", "1.0"},
            {"generate", "", "generate from --prompt instead of scoring --text", ""},
            {"prompt", "TEXT", "--generate: the prompt (its last L tokens are the query)", ""},
            {"max-new", "N", "--generate: new tokens at most", "64"},
            {"temperature", "T", "--generate: sampling temperature; 0 = greedy", "1.0"},
            {"top-p", "P", "--generate: nucleus sampling; 1 = off", "0.9"},
            {"seed", "S", "--generate: random seed", "time"}});
  return f;
}

}  // namespace

LOOM_COMMAND("rag ralm",
             "in-context RALM perplexity: the top BM25 document prepended every s tokens",
             common_rag_flags(), run_rag_ralm,
             "Ram et al. (2023): before each stride of S tokens the text's last L tokens query "
             "BM25 (stopwords\nremoved) and the top document, cut to fit the window, is "
             "prepended to the text's last C tokens.\nThe LM column scores the same tokens with "
             "the same text context and no document.");

LOOM_COMMAND("rag replug",
             "REPLUG perplexity or generation: k BM25 documents ensembled by softmax(score / tau)",
             replug_flags(), run_rag_replug,
             "Shi et al. (2023): p(y | x) = sum over the top K documents d of "
             "softmax(score(d, x) / T)_d p_LM(y | d, x),\none pass per document, re-retrieved "
             "every S tokens (--text) or once from the prompt (--generate).\nThe layout is "
             "loom rag ralm's.");
