// `loom adapt mine-terms`: domain terms the tokenizer fragments, ranked by tokens saved.
#include <cstdio>
#include <string>
#include <vector>

#include "adapt/mine_terms.h"
#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
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
  bool dummy_prefix = kind.find("SentencePiece") != std::string::npos ||
                      kind.find("llama2.c") != std::string::npos;
  auto pieces_of = [&](const std::string& term) {
    auto enc = tok->encode(dummy_prefix ? term : " " + term, false);
    return tok->pieces(enc);
  };
  auto terms = loom::adapt::mine_terms(lines, pieces_of, opts);
  if (args.json()) {
    std::printf("[");
    for (size_t i = 0; i < terms.size(); ++i) {
      const auto& t = terms[i];
      std::printf("%s\n  {\"term\": %s, \"freq\": %lld, \"score\": %.0f, \"pieces\": [", i ? "," : "",
                  loom::cli::json_quote(t.text).c_str(), static_cast<long long>(t.freq), t.score);
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

LOOM_COMMAND("adapt mine-terms",
             "propose domain terms: frequent words/phrases the tokenizer splits into many pieces",
             {{"tokenizer", "FILE", "any tokenizer file loom tokenize takes", ""},
              {"corpus", "FILE", "domain text, one document per line", ""},
              {"top", "N", "how many terms", "50"},
              {"max-words", "N", "longest phrase in words", "2"},
              {"min-freq", "N", "ignore rarer candidates", "5"}},
             run_mine_terms,
             "Score = frequency x (pieces - 1): the tokens the corpus would save if the term were one\n"
             "token. Terms already a single token are skipped.");
