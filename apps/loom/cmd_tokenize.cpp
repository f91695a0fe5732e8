// `loom tokenize`: text in, ids / pieces / offsets out. Scripting contract: each input line (split
// on "\n" only, without it; "\r" stays) is one document; no special tokens unless --add-special;
// one output line per input line.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/threads.h"
#include "text/tokenizer.h"

namespace {

using loom::text::Encoding;

enum class Format { kIds, kPieces, kOffsets, kJson };

std::string read_stdin() {
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) data.append(buf, n);
  if (std::ferror(stdin)) throw loom::Error("<stdin>: read error");
  return data;
}

void append_line(std::string& out, const loom::text::Tokenizer& tok, const Encoding& e,
                 Format format) {
  char num[32];
  switch (format) {
    case Format::kIds:
      for (size_t i = 0; i < e.ids.size(); ++i) {
        int n = std::snprintf(num, sizeof(num), i ? " %d" : "%d", e.ids[i]);
        out.append(num, size_t(n));
      }
      break;
    case Format::kPieces:
      for (size_t i = 0; i < e.ids.size(); ++i) {
        if (i) out += ' ';
        out += tok.id_to_token(e.ids[i]);
      }
      break;
    case Format::kOffsets:
      for (size_t i = 0; i < e.ids.size(); ++i) {
        int n = std::snprintf(num, sizeof(num), i ? " %d:%u-%u" : "%d:%u-%u", e.ids[i],
                              e.offsets[i].begin, e.offsets[i].end);
        out.append(num, size_t(n));
      }
      break;
    case Format::kJson: {
      out += "{\"ids\": [";
      for (size_t i = 0; i < e.ids.size(); ++i) out += (i ? ", " : "") + std::to_string(e.ids[i]);
      out += "], \"pieces\": [";
      for (size_t i = 0; i < e.ids.size(); ++i) {
        out += (i ? ", " : "") + loom::cli::json_quote(tok.id_to_token(e.ids[i]));
      }
      out += "], \"offsets\": [";
      for (size_t i = 0; i < e.ids.size(); ++i) {
        out += (i ? ", [" : "[") + std::to_string(e.offsets[i].begin) + ", " +
               std::to_string(e.offsets[i].end) + "]";
      }
      out += "]";
      if (!e.attention_mask.empty()) {
        out += ", \"attention_mask\": [";
        for (size_t i = 0; i < e.attention_mask.size(); ++i)
          out += (i ? ", " : "") + std::to_string(e.attention_mask[i]);
        out += "]";
      }
      out += "}";
      break;
    }
  }
  out += '\n';
}

loom::text::Side side_flag(const loom::cli::Args& args, const char* name) {
  const std::string v = args.str(name, "right");
  if (v == "right") return loom::text::Side::kRight;
  if (v == "left") return loom::text::Side::kLeft;
  throw loom::cli::UsageError{std::string("--") + name + ": expected right or left, got '" + v +
                              "'"};
}

long long non_negative(const loom::cli::Args& args, const char* name, long long def) {
  const long long v = args.integer(name, def);
  if (v < 0) throw loom::cli::UsageError{std::string("--") + name + " must be >= 0"};
  return v;
}

// Flags override the file's truncation / padding (HF's enable_truncation / enable_padding).
void apply_truncation_padding(const loom::cli::Args& args, loom::text::Tokenizer& tok) {
  if (args.flag("no-truncation")) tok.set_truncation(std::nullopt);
  if (args.has("max-length") || args.has("stride") || args.has("truncation-strategy") ||
      args.has("truncation-side")) {
    loom::text::TruncationParams t = tok.truncation().value_or(loom::text::TruncationParams{});
    if (!args.has("max-length") && !tok.truncation())
      throw loom::cli::UsageError{"truncation flags need --max-length (the file sets none)"};
    t.max_length = non_negative(args, "max-length", t.max_length);
    t.stride = non_negative(args, "stride", t.stride);
    if (args.has("truncation-strategy")) {
      const std::string v = args.str("truncation-strategy");
      if (v == "longest_first") {
        t.strategy = loom::text::TruncationStrategy::kLongestFirst;
      } else if (v == "only_first") {
        t.strategy = loom::text::TruncationStrategy::kOnlyFirst;
      } else if (v == "only_second") {
        t.strategy = loom::text::TruncationStrategy::kOnlySecond;
      } else {
        throw loom::cli::UsageError{
            "--truncation-strategy: expected longest_first, only_first or only_second, got '" + v +
            "'"};
      }
    }
    if (args.has("truncation-side")) t.direction = side_flag(args, "truncation-side");
    tok.set_truncation(t);
  }
  if (args.flag("no-padding")) tok.set_padding(std::nullopt);
  if (args.flag("pad") || args.has("pad-to") || args.has("pad-id") || args.has("pad-token") ||
      args.has("pad-side") || args.has("pad-to-multiple-of")) {
    loom::text::PaddingParams p = tok.padding().value_or(loom::text::PaddingParams{});
    if (args.has("pad-to")) p.fixed = non_negative(args, "pad-to", 0);
    if (p.fixed && *p.fixed > (1 << 20)) throw loom::cli::UsageError{"--pad-to: at most 1048576"};
    if (args.flag("pad")) p.fixed.reset();
    if (args.has("pad-to-multiple-of"))
      p.pad_to_multiple_of = non_negative(args, "pad-to-multiple-of", 0);
    if (args.has("pad-side")) p.direction = side_flag(args, "pad-side");
    if (args.has("pad-token")) {
      p.pad_token = args.str("pad-token");
      auto id = tok.token_to_id(p.pad_token);
      if (!id) throw loom::Error("--pad-token: '" + p.pad_token + "' is not in the vocabulary");
      p.pad_id = *id;
    } else if (!tok.padding()) {
      // HF's default pad token is [PAD]; take its id when the vocabulary has it.
      if (auto id = tok.token_to_id(p.pad_token)) p.pad_id = *id;
    }
    if (args.has("pad-id")) p.pad_id = static_cast<int32_t>(non_negative(args, "pad-id", 0));
    if (p.pad_id >= tok.vocab_size())
      throw loom::Error("--pad-id " + std::to_string(p.pad_id) + " is outside the vocabulary");
    tok.set_padding(p);
  }
}

int run_tokenize(const loom::cli::Args& args) {
  auto tok = loom::text::load_tokenizer(args.need("tokenizer"));
  apply_truncation_padding(args, *tok);
  Format format = Format::kIds;
  int chosen = 0;
  if (args.flag("pieces")) format = Format::kPieces, ++chosen;
  if (args.flag("offsets")) format = Format::kOffsets, ++chosen;
  if (args.json()) format = Format::kJson, ++chosen;
  if (args.flag("ids")) ++chosen;
  if (chosen > 1) throw loom::cli::UsageError{"choose one of --ids, --pieces, --offsets, --json"};
  bool special = args.flag("add-special");
  loom::ThreadPool pool(args.threads());

  std::string input;
  std::vector<std::string_view> lines;
  if (args.has("text")) {
    input = args.str("text");
    lines.push_back(input);
  } else {
    input = read_stdin();
    size_t pos = 0;
    while (pos < input.size()) {
      size_t nl = input.find('\n', pos);
      if (nl == std::string::npos) nl = input.size();
      lines.emplace_back(input.data() + pos, nl - pos);
      pos = nl + 1;
    }
  }
  // Padding to the batch's longest needs the whole input as one batch.
  const bool batch_longest = tok->padding() && !tok->padding()->fixed;
  const size_t kChunk = batch_longest ? std::max<size_t>(1, lines.size()) : 16384;
  std::string out;
  for (size_t b = 0; b < lines.size(); b += kChunk) {
    size_t e = std::min(lines.size(), b + kChunk);
    auto encs = tok->encode_batch(std::span<const std::string_view>(lines.data() + b, e - b),
                                  special, pool);
    out.clear();
    for (const auto& enc : encs) append_line(out, *tok, enc, format);
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) {
      throw loom::Error("<stdout>: write error");
    }
  }
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "tokenize", "encode text with any tokenizer file: one line of ids per input line",
    {{"tokenizer", "FILE",
      "tokenizer.json, encoder.json (vocab.bpe beside it), vocab.txt, SentencePiece .model or "
      "llama2.c tokenizer .bin",
      ""},
     {"ids", "", "print space-separated ids (the default)", ""},
     {"pieces", "", "print the vocabulary strings of the tokens", ""},
     {"offsets", "", "print id:begin-end byte offsets into the line", ""},
     {"add-special", "", "add the tokenizer's special tokens (BOS, [CLS] ... [SEP])", ""},
     {"text", "TEXT", "encode TEXT instead of reading lines from stdin", ""},
     {"max-length", "N", "truncate to N tokens, special tokens included", "the file's"},
     {"stride", "N", "truncation stride (checked; overflowing windows are not printed)", "0"},
     {"truncation-strategy", "S", "longest_first, only_first or only_second", "longest_first"},
     {"truncation-side", "SIDE", "right (keep the start) or left (keep the end)", "right"},
     {"no-truncation", "", "ignore the file's truncation", ""},
     {"pad", "", "pad every line to the longest line of the input", ""},
     {"pad-to", "N", "pad every line to N tokens", ""},
     {"pad-to-multiple-of", "N", "round the padded length up to a multiple of N", ""},
     {"pad-token", "TOK", "padding token (its id is looked up)", "[PAD]"},
     {"pad-id", "ID", "padding id", "the id of [PAD], else 0"},
     {"pad-side", "SIDE", "right or left", "right"},
     {"no-padding", "", "ignore the file's padding", ""}},
    run_tokenize,
    "Reads stdin; each line (split on \\n only, without it) is one document. --json prints\n"
    "{\"ids\", \"pieces\", \"offsets\"} per line (and \"attention_mask\" when padded).\n"
    "tokenizer.json's \"truncation\" and \"padding\" apply as in Hugging Face tokenizers (the "
    "whole\n"
    "input is one batch); the flags override them.\n"
    "example: loom tokenize --tokenizer tokenizer.json --ids < text.txt\n"
    "example: loom tokenize --tokenizer bert.json --add-special --max-length 128 --pad-to 128 "
    "--json");
