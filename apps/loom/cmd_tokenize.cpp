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
      out += "]}";
      break;
    }
  }
  out += '\n';
}

int run_tokenize(const loom::cli::Args& args) {
  auto tok = loom::text::load_tokenizer(args.need("tokenizer"));
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
  constexpr size_t kChunk = 16384;
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
    {{"tokenizer", "FILE", "tokenizer.json, encoder.json (vocab.bpe beside it), vocab.txt, SentencePiece .model or llama2.c tokenizer .bin", ""},
     {"ids", "", "print space-separated ids (the default)", ""},
     {"pieces", "", "print the vocabulary strings of the tokens", ""},
     {"offsets", "", "print id:begin-end byte offsets into the line", ""},
     {"add-special", "", "add the tokenizer's special tokens (BOS, [CLS] ... [SEP])", ""},
     {"text", "TEXT", "encode TEXT instead of reading lines from stdin", ""}},
    run_tokenize,
    "Reads stdin; each line (split on \\n only, without it) is one document. --json prints\n"
    "{\"ids\", \"pieces\", \"offsets\"} per line.\n"
    "example: loom tokenize --tokenizer tokenizer.json --ids < text.txt");
