// `loom data tokenize`: a text file (one document per line) as memory-mapped token shards for
// `loom train --shard`, with an optional held-out shard by line number. Parsing and printing only:
// the shard format is train/token_shard.h, the line split train/text_lines.h.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "text/tokenizer.h"
#include "train/text_lines.h"
#include "train/token_shard.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;

int run_data_tokenize(const Args& a) {
  const std::string out = a.need("out"), text_path = a.need("text");
  const int64_t every = a.integer("heldout-every", 0);
  if (every < 0 || every == 1) throw UsageError{"flag --heldout-every: expected 0 (off) or N >= 2"};
  const std::string held_path = a.str("heldout-out", every > 0 ? out + ".heldout" : "");
  if (!held_path.empty() && every == 0) throw UsageError{"--heldout-out needs --heldout-every N"};
  if (held_path == out) throw UsageError{"--heldout-out must differ from --out"};
  const auto t0 = std::chrono::steady_clock::now();
  auto tok = loom::text::load_tokenizer(a.need("tokenizer"));
  const std::string text = loom::read_file(text_path);
  // The tokenizer's EOS (if any) ends every document, as `loom train --text` does.
  const uint32_t vocab = static_cast<uint32_t>(tok->vocab_size());
  loom::train::TokenShardWriter train(vocab, tok->eos_id()), held(vocab, tok->eos_id());
  std::vector<int32_t> ids;
  loom::train::for_each_line(text, every, [&](std::string_view line, bool is_held) {
    ids.clear();  // encode_ids appends (Tokenizer) or assigns (SentencePiece adapter)
    tok->encode_ids(line, true, ids);
    (is_held ? held : train).add_document(ids);
  });
  if (train.documents() == 0) throw loom::Error(text_path + ": no non-empty lines to tokenize");
  train.write(out);
  if (!held_path.empty()) held.write(held_path);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (a.json()) {
    std::printf(
        "{\"out\": %s, \"documents\": %lld, \"tokens\": %lld, \"heldout_out\": %s, "
        "\"heldout_documents\": %lld, \"heldout_tokens\": %lld, \"vocab_size\": %u, "
        "\"separator\": %d, \"bytes\": %zu, \"seconds\": %.2f}\n",
        loom::cli::json_quote(out).c_str(), static_cast<long long>(train.documents()),
        static_cast<long long>(train.tokens()), loom::cli::json_quote(held_path).c_str(),
        static_cast<long long>(held.documents()), static_cast<long long>(held.tokens()), vocab,
        tok->eos_id(), text.size(), secs);
  } else {
    std::printf("out\t%s\ndocuments\t%lld\ntokens\t%lld\n", out.c_str(),
                static_cast<long long>(train.documents()), static_cast<long long>(train.tokens()));
    if (!held_path.empty())
      std::printf("heldout_out\t%s\nheldout_documents\t%lld\nheldout_tokens\t%lld\n",
                  held_path.c_str(), static_cast<long long>(held.documents()),
                  static_cast<long long>(held.tokens()));
    std::printf("vocab_size\t%u\nseparator\t%d\ntokens_per_byte\t%.4f\nseconds\t%.2f\n", vocab,
                tok->eos_id(),
                static_cast<double>(train.tokens() + held.tokens()) /
                    static_cast<double>(std::max<size_t>(text.size(), 1)),
                secs);
  }
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "data tokenize",
    "tokenize a text file (one document per line) into token shards for loom train --shard",
    {
        {"tokenizer", "FILE", "tokenizer.json, SentencePiece .model, llama2.c .bin, vocab.txt, ...",
         ""},
        {"text", "FILE", "text, one document per line (empty lines skipped)", ""},
        {"out", "FILE", "training shard to write (LOOMTOK, atomic)", ""},
        {"heldout-every", "N", "hold out lines whose 1-based number is divisible by N (0: none)",
         "0"},
        {"heldout-out", "FILE", "held-out shard", "OUT.heldout"},
    },
    run_data_tokenize,
    "Every document is the tokenizer's encoding with special tokens (e.g. BOS) followed by its\n"
    "EOS when it has one: the tokens `loom train --text FILE --tokenizer T` trains on.\n"
    "Example:\n"
    "  loom data tokenize --tokenizer tok512.model --text foldoc.tsv --heldout-every 10 \\\n"
    "    --out foldoc.tok && loom train --init stories260K.bin --shard foldoc.tok \\\n"
    "    --val-shard foldoc.tok.heldout --out run/");
