// `loom tokenizer train`: trains a SentencePiece Unigram model (.model) from text, one document per
// line. The BPE and WordPiece trainers (src/text/bpe_trainer.h) take pre-token counts and are wired
// here once the pipeline's pre-tokenizers are available.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "core/threads.h"
#include "text/sentencepiece_model.h"
#include "text/unigram_trainer.h"

namespace {

int run_tokenizer_train(const loom::cli::Args& args) {
  const std::string type = args.str("type", "unigram");
  if (type != "unigram") {
    throw loom::cli::UsageError{"--type: only 'unigram' is available in this build, got '" + type +
                                "'"};
  }
  const std::string input = args.need("input");
  const std::string output = args.need("output");
  std::string text = loom::read_file(input);
  std::vector<std::pair<std::string, int64_t>> sentences;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    sentences.emplace_back(text.substr(pos, nl - pos), 1);
    pos = nl + 1;
  }
  loom::text::UnigramTrainerOptions opt;
  opt.vocab_size = static_cast<int32_t>(args.integer("vocab-size", 8000));
  opt.character_coverage = static_cast<float>(args.number("character-coverage", 0.9995));
  opt.max_piece_length = static_cast<int32_t>(args.integer("max-piece-length", 16));
  opt.split_digits = args.flag("split-digits");
  if (opt.vocab_size <= 3) throw loom::cli::UsageError{"--vocab-size must be at least 4"};
  loom::Progress progress("unigram EM", 0, "pieces", loom::stderr_is_tty());
  int64_t iterations = 0;
  opt.on_iteration = [&](size_t n) {
    progress.update(++iterations, std::to_string(n) + " pieces");
  };
  loom::ThreadPool pool(args.threads());
  const auto t0 = std::chrono::steady_clock::now();
  auto model = loom::text::train_unigram(sentences, opt, &pool);
  progress.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  loom::write_file_atomic(output, loom::text::serialize_sentencepiece_model(model));
  if (args.json()) {
    std::printf("{\"output\": %s, \"pieces\": %zu, \"lines\": %zu, \"seconds\": %.3f}\n",
                loom::cli::json_quote(output).c_str(), model.pieces.size(), sentences.size(), secs);
  } else {
    std::printf("wrote %s: %zu pieces (unigram) from %zu lines in %.2f s\n", output.c_str(),
                model.pieces.size(), sentences.size(), secs);
  }
  return 0;
}

}  // namespace

LOOM_COMMAND("tokenizer train",
             "train a SentencePiece Unigram tokenizer (.model) from text, one document per line",
             {{"input", "FILE", "training text, one document per line", ""},
              {"output", "FILE", "where to write the .model", ""},
              {"type", "NAME", "tokenizer type (unigram)", "unigram"},
              {"vocab-size", "N", "pieces in the model, <unk> <s> </s> included", "8000"},
              {"character-coverage", "F", "share of characters the alphabet must cover", "0.9995"},
              {"max-piece-length", "N", "longest piece, in characters", "16"},
              {"split-digits", "", "keep digits as single-character pieces", ""}},
             run_tokenizer_train,
             "Spaces become U+2581 with a dummy prefix (sentencepiece's identity normaliser);\n"
             "the result loads in libsentencepiece and in Loom. Example:\n"
             "  loom tokenizer train --input corpus.txt --vocab-size 8000 --output my.model");
