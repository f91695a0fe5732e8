// Tokenizers for generation and evaluation: a SentencePiece file (.model, or a
// llama2.c tokenizer .bin) or the vocabulary a GGUF file embeds
// (tokenizer.ggml.*, SentencePiece/llama).
#pragma once

#include <memory>
#include <string>

#include "generate/generator.h"
#include "io/tensor_map.h"
#include "text/sentencepiece.h"

namespace loom::generate {

class SentencePieceCodec : public TokenCodec {
 public:
  explicit SentencePieceCodec(text::SentencePieceTokenizer tok) : tok_(std::move(tok)) {}
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string piece_text(int32_t prev, int32_t token) const override;
  int32_t bos_id() const override { return tok_.bos_id(); }
  int32_t eos_id() const override { return tok_.eos_id(); }
  int32_t vocab_size() const override { return tok_.vocab_size(); }
  const text::SentencePieceTokenizer &tokenizer() const { return tok_; }

 private:
  text::SentencePieceTokenizer tok_;
};

// The SentencePiece model a GGUF describes (tokenizer.ggml.model "llama":
// tokens, scores, token_type, bos/eos/unknown ids, add_space_prefix). Other
// tokenizer models are a loom::Error.
text::SentencePieceTokenizer sentencepiece_from_gguf(const io::TensorMap &gguf);

// tokenizer_path given: that file (SentencePiece .model or llama2.c .bin).
// Otherwise the model file's own vocabulary (GGUF). A vocabulary smaller or
// larger than the model's is an error.
std::unique_ptr<TokenCodec> load_codec(const models::Model &model,
                                       const std::string &tokenizer_path);

}  // namespace loom::generate
