#include "text/model_tokenizer.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace loom::text {

namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool has_gguf_magic(const std::string& p) {
  FILE* f = std::fopen(p.c_str(), "rb");
  if (f == nullptr) return false;
  char magic[4] = {0, 0, 0, 0};
  const size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  return n == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace

std::string model_folder(const std::string& model_path) {
  if (is_dir(model_path)) return model_path;
  const size_t slash = model_path.rfind('/');
  return slash == std::string::npos ? "." : model_path.substr(0, slash);
}

std::optional<TokenizerLocation> find_model_tokenizer(const std::string& model_path,
                                                      const FindTokenizerOptions& options) {
  if (options.gguf_vocab && is_file(model_path) && has_gguf_magic(model_path))
    return TokenizerLocation{model_path, true};
  const std::string folder = model_folder(model_path);
  // vocab.txt: a BERT-family folder without a tokenizer.json (WordPiece with BERT's defaults).
  for (const char* name : {"tokenizer.json", "tokenizer.model", "vocab.txt"}) {
    const std::string p = folder + "/" + name;
    if (is_file(p)) return TokenizerLocation{p, false};
  }
  return std::nullopt;
}

TokenizerLocation model_tokenizer(const std::string& model_path, const std::string& tokenizer_path,
                                  const FindTokenizerOptions& options) {
  if (!tokenizer_path.empty()) return TokenizerLocation{tokenizer_path, false};
  if (auto found = find_model_tokenizer(model_path, options)) return *found;
  throw Error(model_path + ": no tokenizer " +
              (options.gguf_vocab ? "inside the model file or " : std::string()) + "in " +
              model_folder(model_path) +
              " (tokenizer.json, tokenizer.model, vocab.txt); pass --tokenizer FILE");
}

}  // namespace loom::text
