// Constrained decoding to a JSON schema: which vocabulary tokens keep the output a prefix of a
// text the schema's recogniser (json_schema.h) accepts.
//
// TokenTexts holds each token's bytes once per tokenizer, sorted so that one walk over the
// vocabulary feeds a shared prefix once: the mask of a step costs one recogniser step per node of
// the vocabulary's prefix tree that is still alive, not one per byte of every token.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "generate/constraint.h"
#include "generate/generator.h"
#include "generate/json_schema.h"

namespace loom::generate {

class TokenTexts {
 public:
  // texts[id]: the bytes token id adds to the output; end_ids: tokens that end it (EOS, BOS).
  TokenTexts(std::vector<std::string> texts, std::vector<int32_t> end_ids);
  // Each token's TokenCodec::piece_text after an ordinary (non-BOS) token; ends: EOS and BOS.
  static TokenTexts from_codec(const TokenCodec& codec);

  const std::string& text(int32_t id) const { return texts_[static_cast<size_t>(id)]; }
  int32_t size() const { return static_cast<int32_t>(texts_.size()); }
  bool is_end(int32_t id) const;
  // Token ids in byte order of their texts, and each one's common prefix with the one before.
  const std::vector<int32_t>& order() const { return order_; }
  const std::vector<uint32_t>& shared_prefix() const { return lcp_; }
  size_t max_length() const { return max_len_; }

 private:
  std::vector<std::string> texts_;
  std::vector<int32_t> end_ids_, order_;
  std::vector<uint32_t> lcp_;
  size_t max_len_ = 0;
};

class JsonConstraint : public TokenConstraint {
 public:
  // Both must outlive the constraint.
  JsonConstraint(const JsonSchema& schema, const TokenTexts& texts);
  bool allowed(int32_t token) override;
  void mask(std::span<float> logits) override;
  void accept(int32_t token) override;
  bool finished() const override { return ended_ || state_.finished(); }
  const JsonRecognizer& state() const { return state_; }

 private:
  void walk();  // allowed_ for every token with text

  const JsonSchema& schema_;
  const TokenTexts& texts_;
  JsonRecognizer state_;
  bool ended_ = false;                 // an end token was accepted
  std::vector<JsonRecognizer> depth_;  // walk scratch: the state after each byte of a text
  std::vector<uint8_t> allowed_;
};

}  // namespace loom::generate
