// The pipeline stages as small interfaces (the Hugging Face tokenizers split):
//   Normalizer -> PreTokenizer -> Model -> PostProcessor, and Decoder for the way back.
// Every stage is const after construction, so one tokenizer serves many threads; per-call state
// lives in a Scratch the caller owns.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/normalized.h"

namespace loom::text {

struct Encoding;
struct Scratch;  // pipeline.h

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s, Scratch& scratch) const = 0;
  virtual nlohmann::ordered_json to_json() const = 0;
  virtual std::string summary() const;  // one line for `loom tokenizer info`
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Refines pt.splits (and may edit pt.norm, keeping alignment). Splits with token_id >= 0 are
  // added tokens and are left alone.
  virtual void pre_tokenize(PreTokenized& pt, Scratch& scratch) const = 0;
  // True when the model must see bytes through GPT-2's byte-level alphabet (ByteLevel).
  virtual bool byte_level() const { return false; }
  virtual nlohmann::ordered_json to_json() const = 0;
  virtual std::string summary() const;
};

// One token produced by a Model: its id and its byte range inside the piece it was given.
struct ModelToken {
  int32_t id;
  uint32_t begin;
  uint32_t end;
};

// Per-thread state a model may want (e.g. a cache of tokenized words). Created by make_state().
class ModelState {
 public:
  virtual ~ModelState() = default;
};

// A vocabulary model: tokenizes one pre-tokenized piece at a time.
//
// To add a model (e.g. SentencePiece BPE with scores, Unigram): implement tokenize() for one
// piece (UTF-8 bytes after normalisation and pre-tokenisation, never empty), token_to_id /
// id_to_token / vocab_size over the model's own vocabulary (ids 0..vocab_size()-1; added tokens
// are handled by the pipeline), and to_json() in tokenizer.json's "model" form. make_state() is
// optional; the pipeline calls it once per thread and passes the result back to tokenize().
class Model {
 public:
  virtual ~Model() = default;
  virtual std::string type() const = 0;  // "BPE", "WordPiece", "Unigram", ...
  // Appends the tokens of `piece` to out; offsets are relative to piece.
  virtual void tokenize(std::string_view piece, ModelState* state,
                        std::vector<ModelToken>& out) const = 0;
  virtual std::unique_ptr<ModelState> make_state() const { return nullptr; }
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;  // "" when out of range
  virtual int32_t vocab_size() const = 0;
  // Told once, before use, when the pre-tokenizer is byte-level: pieces then arrive as raw bytes
  // while the vocabulary is written in GPT-2's alphabet. Returns false if unsupported.
  virtual bool set_byte_level(bool on) { return !on; }
  virtual nlohmann::ordered_json to_json() const = 0;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Combines the encoding of one text (b == nullptr) or a pair into the final encoding, adding
  // special tokens when add_special. texts are the inputs the offsets refer to.
  virtual Encoding process(Encoding a, const Encoding* b, bool add_special, std::string_view text_a,
                           std::string_view text_b) const = 0;
  // Number of special tokens added for a single text / a pair.
  virtual int added_tokens(bool pair) const = 0;
  virtual nlohmann::ordered_json to_json() const = 0;
  virtual std::string summary() const;
  // Every id the processor may insert (checked against the vocabulary at load).
  virtual std::vector<int32_t> special_ids() const { return {}; }
  // First special token of the single template (BOS-like) and the last (EOS-like); -1 if none.
  virtual int32_t leading_special() const { return -1; }
  virtual int32_t trailing_special() const { return -1; }
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the token strings in place; the pipeline concatenates what is left.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  virtual nlohmann::ordered_json to_json() const = 0;
  virtual std::string summary() const;
};

}  // namespace loom::text
