// Where a model's tokenizer lives, found once for every front end: the file named on the command
// line, else the vocabulary a GGUF model embeds, else a tokenizer file in the model's folder.
// Locating needs no model code (a GGUF is recognised by its magic bytes); loading the GGUF's own
// vocabulary is generate/codec.h's job.
#pragma once

#include <optional>
#include <string>

namespace loom::text {

struct TokenizerLocation {
  std::string path;      // the tokenizer file, or the GGUF model file itself when in_gguf
  bool in_gguf = false;  // the vocabulary the GGUF model file embeds (tokenizer.ggml.*)
};

struct FindTokenizerOptions {
  // Accept a GGUF model's own vocabulary; callers that can only read tokenizer files turn it off
  // and then look in the GGUF's folder like for any other model file.
  bool gguf_vocab = true;
};

// The folder of a model: model_path itself when it is a folder, else the folder holding the file.
std::string model_folder(const std::string& model_path);

// The tokenizer of the model at model_path (a Hugging Face folder, a .safetensors file, a GGUF
// file or a llama2.c .bin), the first of:
//   - a GGUF file's own vocabulary (when options.gguf_vocab);
//   - tokenizer.json in the model's folder;
//   - tokenizer.model (SentencePiece) in the model's folder;
//   - vocab.txt (BERT's WordPiece, with BERT's defaults) in the model's folder.
// std::nullopt when there is none (a llama2.c .bin carries no tokenizer; its tok*.bin is named
// with --tokenizer, as llama2.c's -z).
std::optional<TokenizerLocation> find_model_tokenizer(const std::string& model_path,
                                                      const FindTokenizerOptions& options = {});

// tokenizer_path when it is not empty, else find_model_tokenizer(model_path); no tokenizer is a
// loom::Error naming model_path, saying where it looked and asking for --tokenizer FILE.
TokenizerLocation model_tokenizer(const std::string& model_path, const std::string& tokenizer_path,
                                  const FindTokenizerOptions& options = {});

}  // namespace loom::text
