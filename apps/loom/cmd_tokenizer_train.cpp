// `loom tokenizer train`: trains a tokenizer from text files.
//   --type bpe        byte-level BPE (GPT-2 / RoBERTa layout) -> tokenizer.json
//   --type wordpiece  BERT WordPiece -> tokenizer.json
//   --type unigram    SentencePiece Unigram -> .model
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
#include "text/tokenizer_train.h"
#include "text/unigram_trainer.h"

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t c = s.find(',', pos);
    if (c == std::string::npos) c = s.size();
    if (c > pos) out.push_back(s.substr(pos, c - pos));
    pos = c + 1;
  }
  return out;
}

// --input FILE and positional files, in that order.
std::vector<std::string> input_files(const loom::cli::Args& args) {
  std::vector<std::string> files;
  if (args.has("input")) files.push_back(args.str("input"));
  for (const auto& p : args.positional()) files.push_back(p);
  if (files.empty()) throw loom::cli::UsageError{"give training text: --input FILE or FILE..."};
  return files;
}

int train_unigram(const loom::cli::Args& args, const std::vector<std::string>& files,
                  const std::string& output) {
  std::vector<std::pair<std::string, int64_t>> sentences;
  for (const auto& f : files) {
    std::string text = loom::read_file(f);
    for (size_t pos = 0; pos < text.size();) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      sentences.emplace_back(text.substr(pos, nl - pos), 1);
      pos = nl + 1;
    }
  }
  loom::text::UnigramTrainerOptions opt;
  opt.vocab_size = static_cast<int32_t>(args.integer("vocab-size", 8000));
  opt.character_coverage = static_cast<float>(args.number("character-coverage", 0.9995));
  opt.max_piece_length = static_cast<int32_t>(args.integer("max-piece-length", 16));
  opt.split_digits = args.flag("split-digits");
  opt.legacy_prune_total = args.flag("spm-0.1.97-pruning");
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
    std::printf(
        "{\"output\": %s, \"type\": \"unigram\", \"pieces\": %zu, \"lines\": %zu, "
        "\"seconds\": %.3f}\n",
        loom::cli::json_quote(output).c_str(), model.pieces.size(), sentences.size(), secs);
  } else {
    std::printf("wrote %s: %zu pieces (unigram) from %zu lines in %.2f s\n", output.c_str(),
                model.pieces.size(), sentences.size(), secs);
  }
  return 0;
}

int run_tokenizer_train(const loom::cli::Args& args) {
  const std::string type = args.str("type", "unigram");
  const std::vector<std::string> files = input_files(args);
  const std::string output = args.need("output");
  if (type == "unigram") return train_unigram(args, files, output);
  loom::text::TokenizerTrainOptions opt;
  if (type == "bpe") {
    opt.type = loom::text::TrainedTokenizerType::kByteLevelBpe;
  } else if (type == "wordpiece") {
    opt.type = loom::text::TrainedTokenizerType::kWordPiece;
    opt.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  } else {
    throw loom::cli::UsageError{"--type: expected bpe, wordpiece or unigram, got '" + type + "'"};
  }
  opt.vocab_size = static_cast<int32_t>(args.integer("vocab-size", 30000));
  opt.min_frequency = args.integer("min-frequency", 0);
  if (args.has("special-tokens")) opt.special_tokens = split_commas(args.str("special-tokens"));
  opt.unk_token = args.str("unk-token", "[UNK]");
  opt.lowercase = !args.flag("no-lowercase");
  opt.limit_alphabet = static_cast<int32_t>(args.integer("limit-alphabet", -1));
  const int32_t floor = static_cast<int32_t>(opt.special_tokens.size()) +
                        (opt.type == loom::text::TrainedTokenizerType::kByteLevelBpe ? 256 : 1);
  if (opt.vocab_size < floor) {
    throw loom::cli::UsageError{"--vocab-size must be at least " + std::to_string(floor) +
                                " (special tokens + alphabet)"};
  }
  if (opt.min_frequency < 0) throw loom::cli::UsageError{"--min-frequency must be >= 0"};

  std::vector<std::string> texts;
  texts.reserve(files.size());
  for (const auto& f : files) texts.push_back(loom::read_file(f));
  std::vector<std::string_view> docs;
  for (const auto& t : texts) {
    auto lines = loom::text::split_lines_with_endings(t);
    docs.insert(docs.end(), lines.begin(), lines.end());
  }
  loom::ThreadPool pool(args.threads());
  loom::text::TokenizerTrainStats st;
  const auto t0 = std::chrono::steady_clock::now();
  auto tok = loom::text::train_tokenizer(docs, opt, pool, &st);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  tok->save(output);
  if (args.json()) {
    std::printf(
        "{\"output\": %s, \"type\": \"%s\", \"vocab_size\": %d, \"lines\": %lld, \"words\": %lld, "
        "\"unique_words\": %lld, \"count_seconds\": %.3f, \"merge_seconds\": %.3f, "
        "\"seconds\": %.3f}\n",
        loom::cli::json_quote(output).c_str(), type.c_str(), tok->vocab_size(),
        static_cast<long long>(st.documents), static_cast<long long>(st.words),
        static_cast<long long>(st.unique_words), st.count_seconds, st.merge_seconds, secs);
  } else {
    std::printf("wrote %s: %d tokens (%s) from %lld lines (%lld distinct words) in %.2f s\n",
                output.c_str(), tok->vocab_size(), type.c_str(),
                static_cast<long long>(st.documents), static_cast<long long>(st.unique_words),
                secs);
  }
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "tokenizer train", "train a tokenizer (byte-level BPE, WordPiece or Unigram) from text files",
    {{"input", "FILE", "training text (more files may follow as arguments)", ""},
     {"output", "FILE", "tokenizer.json (bpe, wordpiece) or .model (unigram) to write", ""},
     {"type", "NAME", "bpe, wordpiece or unigram", "unigram"},
     {"vocab-size", "N", "tokens in the vocabulary, special tokens included",
      "30000 (unigram: 8000)"},
     {"min-frequency", "N", "bpe/wordpiece: never merge a pair seen fewer times", "0"},
     {"special-tokens", "A,B,..", "bpe/wordpiece: special tokens, ids 0.. in this order",
      "wordpiece: [PAD],[UNK],[CLS],[SEP],[MASK]"},
     {"unk-token", "TOK", "wordpiece: the unknown token (one of the special tokens)", "[UNK]"},
     {"no-lowercase", "", "wordpiece: keep case and accents", ""},
     {"limit-alphabet", "N", "wordpiece: keep only the N most frequent characters", "all"},
     {"character-coverage", "F", "unigram: share of characters the alphabet must cover", "0.9995"},
     {"max-piece-length", "N", "unigram: longest piece, in characters", "16"},
     {"split-digits", "", "unigram: keep digits as single-character pieces", ""},
     {"spm-0.1.97-pruning", "",
      "unigram: prune as spm_train <= 0.1.97 (Debian 12) does, bug #628 included", ""}},
    run_tokenizer_train,
    "bpe: GPT-2's ByteLevel pre-tokenizer (no prefix space), all 256 bytes in the alphabet; the\n"
    "tokenizer.json loads in Hugging Face tokenizers. Every line of the input is one document,\n"
    "line end included, as Hugging Face's train_from_files reads files. wordpiece: BERT's\n"
    "normalizer and pre-tokenizer, [CLS] $A [SEP] when those tokens exist. unigram: spaces become\n"
    "U+2581 with a dummy prefix; the .model loads in libsentencepiece. Examples:\n"
    "  loom tokenizer train --type bpe --vocab-size 32000 --special-tokens '<|endoftext|>' \\\n"
    "      --output tokenizer.json corpus.txt\n"
    "  loom tokenizer train --type wordpiece --vocab-size 30522 --output bert.json corpus.txt\n"
    "  loom tokenizer train --input corpus.txt --vocab-size 8000 --output my.model");
