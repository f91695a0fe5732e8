// Tokenizers for generation and evaluation: a SentencePiece file (.model, or a
// llama2.c tokenizer .bin), the vocabulary a GGUF file embeds (tokenizer.ggml.*,
// SentencePiece/llama), or any tokenizer text::load_tokenizer opens (tokenizer.json of a Hugging
// Face model directory, GPT-2 encoder.json + vocab.bpe, ...).
#pragma once

#include <memory>
#include <string>

#include "generate/generator.h"
#include "io/tensor_map.h"
#include "text/sentencepiece.h"
#include "text/tokenizer.h"

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

// Any text::Tokenizer as a codec. Each token's bytes are worked out once: byte-level BPE
// (GPT-2) pieces through the inverse of GPT-2's byte alphabet, SentencePiece-style pieces with
// U+2581 as a space and "<0xXX>" byte-fallback pieces as that byte, non-special added tokens as
// their content (with the space they swallow in front of them when the tokenizer's normaliser
// puts it there), special tokens as nothing. A token's bytes may end inside a UTF-8 character
// (byte pieces); Utf8Stream below holds such tails back for display.
class TokenizerCodec : public TokenCodec {
 public:
  explicit TokenizerCodec(std::unique_ptr<text::Tokenizer> tok);
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string piece_text(int32_t prev, int32_t token) const override;
  int32_t bos_id() const override { return tok_->bos_id(); }
  int32_t eos_id() const override { return tok_->eos_id(); }
  int32_t vocab_size() const override { return tok_->vocab_size(); }
  const text::Tokenizer &tokenizer() const { return *tok_; }

 private:
  // Fills bytes_ for the added tokens; returns which ids are added tokens.
  std::vector<bool> added_token_bytes();

  std::unique_ptr<text::Tokenizer> tok_;
  std::vector<std::string> bytes_;  // per id
  bool dummy_prefix_ = false;       // the tokenizer puts a space before the text
};

// Streaming output that never splits a UTF-8 character: push() returns the longest prefix of
// everything pushed so far that ends on a character boundary (an incomplete sequence at the end
// is held back; bytes that can never become valid are passed through); flush() returns the rest.
class Utf8Stream {
 public:
  std::string push(std::string_view bytes);
  std::string flush();

 private:
  std::string pending_;
};

// The SentencePiece model a GGUF describes (tokenizer.ggml.model "llama":
// tokens, scores, token_type, bos/eos/unknown ids, add_space_prefix). Other
// tokenizer models are a loom::Error.
text::SentencePieceTokenizer sentencepiece_from_gguf(const io::TensorMap &gguf);
// The same model as a SentencePiece proto (for conversion to a tokenizer.json pipeline).
text::SentencePieceModelProto sentencepiece_proto_from_gguf(const io::TensorMap &gguf);

// The tokenizer of a model file, as a text::Tokenizer: tokenizer_path when given, else the one
// text::find_model_tokenizer finds; a GGUF's own SentencePiece vocabulary is converted to a
// tokenizer.json pipeline (so tokens can be added and it can be saved). None is a loom::Error
// asking for --tokenizer.
std::unique_ptr<text::Tokenizer> tokenizer_for_model(const std::string &model_path,
                                                     const std::string &tokenizer_path);

// The model's codec: tokenizer_path when given, else the one text::find_model_tokenizer finds for
// the model's file. A SentencePiece .model or llama2.c .bin gives a SentencePieceCodec (llama2.c's
// printing), a GGUF's own vocabulary too; any other tokenizer file goes through
// text::load_tokenizer (TokenizerCodec). A vocabulary smaller or larger than the model's is an
// error.
std::unique_ptr<TokenCodec> load_codec(const models::LanguageModel &model,
                                       const std::string &tokenizer_path);

}  // namespace loom::generate
