// `loom adapt mine-terms`: domain terms the tokenizer fragments, ranked by tokens saved.
#include <cstdio>
#include <string>
#include <vector>

#include "adapt/extend.h"
#include "adapt/mine_terms.h"
#include "adapt/report.h"
#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"
#include "generate/codec.h"
#include "models/model.h"
#include "text/tokenizer.h"
#include "train_flags.h"

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

// An init method with --std, --seed and --cov-scale.
loom::adapt::GrowOptions grow_options(const loom::cli::Args& args, const std::string& method) {
  loom::adapt::GrowOptions grow;
  grow.method = loom::adapt::init_method_from_name(method);
  grow.std = static_cast<float>(args.number("std", 0.02));
  grow.seed = static_cast<uint64_t>(args.integer("seed", 0));
  grow.cov_scale = args.number("cov-scale", 1.0);
  if (!(grow.std > 0)) throw loom::cli::UsageError{"--std must be > 0"};
  return grow;
}

int run_extend(const loom::cli::Args& args) {
  const std::string model_path = args.need("model");
  const std::string out = args.need("output");
  const loom::adapt::GrowOptions grow = grow_options(args, args.str("init", "subtoken-mean"));
  const std::string terms_path = args.need("terms");
  // Everything is checked before anything is written.
  std::vector<std::string> terms = loom::adapt::read_terms(terms_path);
  auto model = loom::models::load_model(model_path);
  auto tok = loom::generate::tokenizer_for_model(model_path, args.str("tokenizer"));
  auto r = loom::adapt::extend_model(*model, std::move(tok), terms, grow, terms_path);
  loom::adapt::save_extended(out, r);
  const auto& cfg = r.model.config_json;
  if (args.json()) {
    std::printf(
        "{\"output\": %s, \"base_vocab_size\": %lld, \"added\": %lld, \"vocab_size\": %lld, "
        "\"init\": %s, \"tied_head\": %s, \"embed_rows_sha256\": \"%s\", \"head_rows_sha256\": "
        "%s}\n",
        loom::cli::json_quote(out).c_str(), static_cast<long long>(r.base_vocab),
        static_cast<long long>(r.added), static_cast<long long>(r.base_vocab + r.added),
        loom::cli::json_quote(loom::adapt::init_method_name(grow.method)).c_str(),
        r.model.config.tied_head ? "true" : "false", r.embed_sha256.c_str(),
        r.head_sha256.empty() ? "null" : loom::cli::json_quote(r.head_sha256).c_str());
    return 0;
  }
  std::printf("extended %s: vocabulary %lld -> %lld (+%lld terms), init %s, %s head\n",
              model_path.c_str(), static_cast<long long>(r.base_vocab),
              static_cast<long long>(r.base_vocab + r.added), static_cast<long long>(r.added),
              loom::adapt::init_method_name(grow.method),
              r.model.config.tied_head ? "tied" : "untied");
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
     {"init", "METHOD",
      "new rows: subtoken-mean | mean | mean-cov (Hugging Face's resize_token_embeddings("
      "mean_resizing=True): N(mean, 1e-9 cov), the mean if that is not positive definite) | "
      "mean-cov-full (N(mean, --cov-scale x cov)) | normal",
      "subtoken-mean"},
     {"std", "X", "standard deviation for --init normal", "0.02"},
     {"cov-scale", "X", "covariance scale for --init mean-cov-full", "1"},
     {"seed", "N", "random seed for normal / mean-cov / mean-cov-full", "0"}},
    run_extend,
    "Terms become ordinary (non-special) added tokens with ids after the vocabulary; the\n"
    "original embedding and head rows are copied bit for bit (their sha256 is printed and\n"
    "stored in config.json's loom_extension). Example:\n"
    "  loom adapt extend --model stories260K.bin --tokenizer tok512.model --terms terms.tsv "
    "--output out/ext");

// `loom adapt report`: original rows' digests, tokens per word and bits per byte, before/after.
namespace {

struct Report {
  int64_t v0 = 0, v1 = 0;
  loom::adapt::RowDigests d0, d1;
  loom::adapt::TextScore h0, h1, g0, g1;
  bool embed_same() const { return d0.embed == d1.embed; }
  bool head_same() const { return d0.head.empty() || d0.head == d1.head; }
};

void print_report_json(const Report& r) {
  const loom::adapt::TextScore &h0 = r.h0, &h1 = r.h1, &g0 = r.g0, &g1 = r.g1;
  std::printf(
      "{\"base_vocab_size\": %lld, \"adapted_vocab_size\": %lld,\n"
      " \"embed_rows_sha256\": {\"base\": \"%s\", \"adapted\": \"%s\", \"equal\": %s},\n"
      " \"head_rows_sha256\": {\"base\": %s, \"adapted\": %s, \"equal\": %s},\n"
      " \"heldout\": {\"docs\": %lld, \"bytes\": %lld, \"words\": %lld,\n"
      "   \"tokens_per_word\": {\"base\": %.6f, \"adapted\": %.6f},\n"
      "   \"bits_per_byte\": {\"base\": %.6f, \"adapted\": %.6f}},\n"
      " \"general\": {\"docs\": %lld, \"bytes\": %lld,\n"
      "   \"bits_per_byte\": {\"base\": %.6f, \"adapted\": %.6f}}}\n",
      static_cast<long long>(r.v0), static_cast<long long>(r.v1), r.d0.embed.c_str(),
      r.d1.embed.c_str(), r.embed_same() ? "true" : "false",
      r.d0.head.empty() ? "null" : loom::cli::json_quote(r.d0.head).c_str(),
      r.d1.head.empty() ? "null" : loom::cli::json_quote(r.d1.head).c_str(),
      r.head_same() ? "true" : "false", static_cast<long long>(h0.docs),
      static_cast<long long>(h0.bytes), static_cast<long long>(h0.words), h0.tokens_per_word(),
      h1.tokens_per_word(), h0.bits_per_byte(), h1.bits_per_byte(), static_cast<long long>(g0.docs),
      static_cast<long long>(g0.bytes), g0.bits_per_byte(), g1.bits_per_byte());
}

void print_report_text(const Report& r, const std::string& base_path,
                       const std::string& adapted_path) {
  const loom::adapt::TextScore &h0 = r.h0, &h1 = r.h1, &g0 = r.g0, &g1 = r.g1;
  std::printf("adaptation report: base %s (vocab %lld), adapted %s (vocab %lld)\n",
              base_path.c_str(), static_cast<long long>(r.v0), adapted_path.c_str(),
              static_cast<long long>(r.v1));
  std::printf("original embedding rows [0, %lld) sha256  base %s\n", static_cast<long long>(r.v0),
              r.d0.embed.c_str());
  std::printf("                                   adapted %s  %s\n", r.d1.embed.c_str(),
              r.embed_same() ? "EQUAL" : "DIFFERENT");
  if (!r.d0.head.empty()) {
    std::printf("original head rows sha256               base %s\n", r.d0.head.c_str());
    std::printf("                                   adapted %s  %s\n", r.d1.head.c_str(),
                r.head_same() ? "EQUAL" : "DIFFERENT");
  }
  std::printf("%-44s %12s %12s\n", "", "base", "adapted");
  std::printf("%-44s %12.4f %12.4f\n", "held-out domain: tokens per word", h0.tokens_per_word(),
              h1.tokens_per_word());
  std::printf("%-44s %12.4f %12.4f\n", "held-out domain: bits per byte", h0.bits_per_byte(),
              h1.bits_per_byte());
  std::printf("%-44s %12.4f %12.4f\n", "general text: bits per byte", g0.bits_per_byte(),
              g1.bits_per_byte());
  std::printf("(held-out: %lld docs, %lld bytes, %lld words; general: %lld docs, %lld bytes)\n",
              static_cast<long long>(h0.docs), static_cast<long long>(h0.bytes),
              static_cast<long long>(h0.words), static_cast<long long>(g0.docs),
              static_cast<long long>(g0.bytes));
}

int run_report(const loom::cli::Args& args) {
  const std::string base_path = args.need("base"), adapted_path = args.need("adapted");
  const std::string heldout_path = args.need("heldout"), general_path = args.need("general");
  const int64_t max_lines = args.integer("max-lines", 0);
  if (max_lines < 0) throw loom::cli::UsageError{"--max-lines must be >= 0"};
  auto heldout = loom::adapt::read_lines(heldout_path, max_lines);
  auto general = loom::adapt::read_lines(general_path, max_lines);
  auto base = loom::models::load_model(base_path);
  auto adapted = loom::models::load_model(adapted_path);
  auto base_tok = loom::generate::tokenizer_for_model(base_path, args.str("base-tokenizer"));
  auto adapted_tok =
      loom::generate::tokenizer_for_model(adapted_path, args.str("adapted-tokenizer"));
  Report r;
  r.v0 = base->vocab_size();
  r.v1 = adapted->vocab_size();
  if (r.v1 < r.v0) {
    throw loom::Error(adapted_path + ": vocabulary of " + std::to_string(r.v1) +
                      " is smaller than the base model's " + std::to_string(r.v0));
  }
  loom::ThreadPool pool(args.threads());
  r.d0 = loom::adapt::original_row_digests(*base, r.v0);
  r.d1 = loom::adapt::original_row_digests(*adapted, r.v0);
  r.h0 = loom::adapt::score_text(*base, *base_tok, heldout, pool);
  r.h1 = loom::adapt::score_text(*adapted, *adapted_tok, heldout, pool);
  r.g0 = loom::adapt::score_text(*base, *base_tok, general, pool);
  r.g1 = loom::adapt::score_text(*adapted, *adapted_tok, general, pool);
  if (args.json())
    print_report_json(r);
  else
    print_report_text(r, base_path, adapted_path);
  return r.embed_same() && r.head_same() ? 0 : 1;
}

}  // namespace

LOOM_COMMAND("adapt report",
             "original rows' sha256, tokens per word and bits per byte before/after adaptation",
             {{"base", "FILE", "the base model (any format loom generate takes)", ""},
              {"base-tokenizer", "FILE", "its tokenizer (default: tokenizer.json beside it)", ""},
              {"adapted", "DIR", "the adapted model (e.g. an adapt extend / train output)", ""},
              {"adapted-tokenizer", "FILE", "its tokenizer (default: tokenizer.json in DIR)", ""},
              {"heldout", "FILE", "held-out domain text, one document per line", ""},
              {"general", "FILE", "general text, one document per line", ""},
              {"max-lines", "N", "use the first N lines of each file (0 = all)", "0"}},
             run_report,
             "Bits per byte = sum of next-token negative log-likelihoods in bits / UTF-8 bytes;\n"
             "each line is one document with BOS in front. Exits 1 when the original rows differ.\n"
             "Example:\n"
             "  loom adapt report --base stories260K.bin --base-tokenizer tok512.model --adapted "
             "out/ext --heldout foldoc.heldout.tsv --general tinystories.txt");

namespace {

// "a,b,c" -> GrowOptions per init method (--std, --seed, --cov-scale shared).
std::vector<loom::adapt::GrowOptions> drift_inits(const loom::cli::Args& args) {
  std::vector<loom::adapt::GrowOptions> inits;
  for (const std::string& m :
       loom::cli::split_commas(args.str("init", "subtoken-mean,mean,mean-cov,normal")))
    inits.push_back(grow_options(args, m));
  return inits;
}

void print_drift(const std::vector<loom::adapt::InitDrift>& rows, bool json) {
  if (json) std::printf("[");
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const char* name = loom::adapt::init_method_name(r.init.method);
    if (json) {
      std::printf(
          "%s\n {\"init\": \"%s\", \"general\": {\"positions\": %lld, \"mean_kl\": %.9g, "
          "\"max_kl\": %.9g}, \"domain\": {\"positions\": %lld, \"mean_kl\": %.9g, "
          "\"max_kl\": %.9g}}",
          i ? "," : "", name, static_cast<long long>(r.general.positions), r.general.mean_kl(),
          r.general.kl_max, static_cast<long long>(r.domain.positions), r.domain.mean_kl(),
          r.domain.kl_max);
    } else {
      if (i == 0)
        std::printf("%-15s %14s %14s %14s %14s\n", "init", "general mean", "general max",
                    "domain mean", "domain max");
      std::printf("%-15s %14.3e %14.3e %14.3e %14.3e\n", name, r.general.mean_kl(),
                  r.general.kl_max, r.domain.mean_kl(), r.domain.kl_max);
    }
  }
  if (json) std::printf("\n]\n");
}

int run_drift(const loom::cli::Args& args) {
  const std::string model_path = args.need("model"), tok_path = args.str("tokenizer");
  const int64_t max_lines = args.integer("max-lines", 0);
  if (max_lines < 0) throw loom::cli::UsageError{"--max-lines must be >= 0"};
  const auto inits = drift_inits(args);
  const auto terms = loom::adapt::read_terms(args.need("terms"));
  const auto general = loom::adapt::read_lines(args.need("general"), max_lines);
  const auto domain = loom::adapt::read_lines(args.need("heldout"), max_lines);
  auto base = loom::models::load_model(model_path);
  auto make_tokenizer = [&] { return loom::generate::tokenizer_for_model(model_path, tok_path); };
  loom::ThreadPool pool(args.threads());
  auto rows =
      loom::adapt::drift_by_init(*base, make_tokenizer, terms, inits, general, domain, pool);
  if (!args.json())
    std::printf(
        "KL(p_base || p_extended) in nats per next-token position, before training "
        "(%zu terms; text encoded with the base tokenizer)\n",
        terms.size());
  print_drift(rows, args.json());
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "adapt drift", "how far each initialisation of new rows moves the next-token distribution",
    {{"model", "FILE", "the base model (any format loom generate takes)", ""},
     {"tokenizer", "FILE", "its tokenizer (default: tokenizer.json beside it)", ""},
     {"terms", "FILE", "terms to add (one per line, or adapt mine-terms' TSV)", ""},
     {"general", "FILE", "general text, one document per line", ""},
     {"heldout", "FILE", "domain text, one document per line", ""},
     {"init", "LIST", "init methods to compare", "subtoken-mean,mean,mean-cov,normal"},
     {"std", "X", "standard deviation for normal", "0.02"},
     {"cov-scale", "X", "covariance scale for mean-cov-full", "1"},
     {"seed", "N", "random seed", "0"},
     {"max-lines", "N", "use the first N lines of each file (0 = all)", "0"}},
    run_drift,
    "For each method the base model is extended in memory (nothing is written) and\n"
    "KL(p_base || p_extended) = sum_i p_base(i) log(p_base(i) / p_extended(i)) over the\n"
    "base vocabulary is averaged over every next-token position of the documents, both\n"
    "models reading the same base-tokenizer ids (Hewitt 2021: a good initialisation keeps\n"
    "it small). Documents and windows as in adapt report.\n"
    "Example:\n"
    "  loom adapt drift --model stories260K.bin --tokenizer tok512.model --terms terms.tsv "
    "--general tinystories.txt --heldout foldoc.heldout.tsv");
