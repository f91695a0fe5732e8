// `loom adapt mine-terms`: domain terms the tokenizer fragments, ranked by tokens saved.
#include <cstdio>
#include <string>
#include <vector>

#include "adapt/extend.h"
#include "adapt/mine_terms.h"
#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "models/transformer.h"
#include "text/tokenizer.h"

namespace {

int run_mine_terms(const loom::cli::Args& args) {
  auto tok = loom::text::load_tokenizer(args.need("tokenizer"));
  const std::string corpus_path = args.need("corpus");
  std::string corpus = loom::read_file(corpus_path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < corpus.size()) {
    size_t nl = corpus.find('\n', pos);
    if (nl == std::string::npos) nl = corpus.size();
    lines.emplace_back(corpus, pos, nl - pos);
    pos = nl + 1;
  }
  loom::adapt::MineOptions opts;
  opts.top = static_cast<int>(args.integer("top", 50));
  opts.max_words = static_cast<int>(args.integer("max-words", 2));
  opts.min_freq = args.integer("min-freq", 5);
  if (opts.top < 1 || opts.max_words < 1 || opts.min_freq < 1) {
    throw loom::cli::UsageError{"--top, --max-words and --min-freq must be at least 1"};
  }
  // A term is tokenised as it appears in running text: after a space. SentencePiece tokenizers
  // add that space themselves (the dummy prefix); byte-level BPE needs it written.
  std::string kind = tok->info().kind;
  bool dummy_prefix =
      kind.find("SentencePiece") != std::string::npos || kind.find("llama2.c") != std::string::npos;
  auto pieces_of = [&](const std::string& term) {
    auto enc = tok->encode(dummy_prefix ? term : " " + term, false);
    return tok->pieces(enc);
  };
  auto terms = loom::adapt::mine_terms(lines, pieces_of, opts);
  if (args.json()) {
    std::printf("[");
    for (size_t i = 0; i < terms.size(); ++i) {
      const auto& t = terms[i];
      std::printf("%s\n  {\"term\": %s, \"freq\": %lld, \"score\": %.0f, \"pieces\": [",
                  i ? "," : "", loom::cli::json_quote(t.text).c_str(),
                  static_cast<long long>(t.freq), t.score);
      for (size_t j = 0; j < t.pieces.size(); ++j)
        std::printf("%s%s", j ? ", " : "", loom::cli::json_quote(t.pieces[j]).c_str());
      std::printf("]}");
    }
    std::printf("\n]\n");
    return 0;
  }
  std::printf("term\tfreq\tpieces\tscore\tcurrent pieces\n");
  for (const auto& t : terms) {
    std::string p;
    for (const auto& s : t.pieces) p += (p.empty() ? "" : " ") + s;
    std::printf("%s\t%lld\t%zu\t%.0f\t%s\n", t.text.c_str(), static_cast<long long>(t.freq),
                t.pieces.size(), t.score, p.c_str());
  }
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "adapt mine-terms",
    "propose domain terms: frequent words/phrases the tokenizer splits into many pieces",
    {{"tokenizer", "FILE", "any tokenizer file loom tokenize takes", ""},
     {"corpus", "FILE", "domain text, one document per line", ""},
     {"top", "N", "how many terms", "50"},
     {"max-words", "N", "longest phrase in words", "2"},
     {"min-freq", "N", "ignore rarer candidates", "5"}},
    run_mine_terms,
    "Score = frequency x (pieces - 1): the tokens the corpus would save if the term were one\n"
    "token. Terms already a single token are skipped.");

// `loom adapt extend`: add domain terms to a model's tokenizer and grow its embedding (and untied
// head); writes a Hugging Face model directory.
namespace {

int run_extend(const loom::cli::Args& args) {
  const std::string model_path = args.need("model");
  const std::string out = args.need("output");
  loom::adapt::GrowOptions grow;
  grow.method = loom::adapt::init_method_from_name(args.str("init", "subtoken-mean"));
  grow.std = static_cast<float>(args.number("std", 0.02));
  grow.seed = static_cast<uint64_t>(args.integer("seed", 0));
  if (!(grow.std > 0)) throw loom::cli::UsageError{"--std must be > 0"};
  const std::string terms_path = args.need("terms");
  // Everything is checked before anything is written.
  std::vector<std::string> terms = loom::adapt::read_terms(terms_path);
  auto model = loom::models::load_model(model_path);
  auto tok = loom::adapt::tokenizer_for_model(model_path, args.str("tokenizer"));
  auto r = loom::adapt::extend_model(*model, std::move(tok), terms, grow, terms_path);
  loom::adapt::save_extended(out, r);
  const auto& cfg = r.model.config;
  if (args.json()) {
    std::printf(
        "{\"output\": %s, \"base_vocab_size\": %lld, \"added\": %lld, \"vocab_size\": %lld, "
        "\"init\": %s, \"tied_head\": %s, \"embed_rows_sha256\": \"%s\", \"head_rows_sha256\": "
        "%s}\n",
        loom::cli::json_quote(out).c_str(), static_cast<long long>(r.base_vocab),
        static_cast<long long>(r.added), static_cast<long long>(r.base_vocab + r.added),
        loom::cli::json_quote(loom::adapt::init_method_name(grow.method)).c_str(),
        r.model.tied_head ? "true" : "false", r.embed_sha256.c_str(),
        r.head_sha256.empty() ? "null" : loom::cli::json_quote(r.head_sha256).c_str());
    return 0;
  }
  std::printf("extended %s: vocabulary %lld -> %lld (+%lld terms), init %s, %s head\n",
              model_path.c_str(), static_cast<long long>(r.base_vocab),
              static_cast<long long>(r.base_vocab + r.added), static_cast<long long>(r.added),
              loom::adapt::init_method_name(grow.method), r.model.tied_head ? "tied" : "untied");
  std::printf("original embedding rows sha256 %s\n", r.embed_sha256.c_str());
  if (!r.head_sha256.empty()) std::printf("original head rows sha256 %s\n", r.head_sha256.c_str());
  std::printf(
      "wrote %s (model.safetensors, config.json [%s], tokenizer.json, "
      "tokenizer_config.json)\n",
      out.c_str(), cfg["architectures"][0].get<std::string>().c_str());
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "adapt extend",
    "add domain terms as tokens and grow the embedding/head; write an HF model directory",
    {{"model", "FILE", "model: .gguf, .bin (llama2.c), .safetensors or an HF directory", ""},
     {"tokenizer", "FILE", "the model's tokenizer (default: tokenizer.json in the model directory)",
      ""},
     {"terms", "FILE", "one term per line, or the TSV adapt mine-terms prints", ""},
     {"output", "DIR", "new model directory (must not exist, or be empty)", ""},
     {"init", "METHOD", "new rows: subtoken-mean | mean | mean-cov | normal", "subtoken-mean"},
     {"std", "X", "standard deviation for --init normal", "0.02"},
     {"seed", "N", "random seed for normal / mean-cov", "0"}},
    run_extend,
    "Terms become ordinary (non-special) added tokens with ids after the vocabulary; the\n"
    "original embedding and head rows are copied bit for bit (their sha256 is printed and\n"
    "stored in config.json's loom_extension). Example:\n"
    "  loom adapt extend --model stories260K.bin --tokenizer tok512.model --terms terms.tsv "
    "--output out/ext");
