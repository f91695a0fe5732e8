// Public tokenizer interfaces. A tokenizer is a pipeline (DESIGN.md):
//   added tokens -> normalizer -> pre-tokenizer -> model -> post-processor, and decoder back.
// Offsets are byte ranges [begin, end) into the text given to encode().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/components.h"
#include "text/truncation.h"

namespace loom {
class ThreadPool;
}

namespace loom::text {

// The result of encoding one text (or a pair). All vectors have ids.size() entries.
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<Offset> offsets;        // bytes of the input text each token came from
  std::vector<uint8_t> type_ids;      // 0 for the first sequence, 1 for the second of a pair
  std::vector<uint8_t> special_mask;  // 1 for tokens inserted by the post-processor
  std::vector<int8_t> sequence_ids;   // 0/1 = which input, -1 = inserted special token
  // 1 for real tokens, 0 for padding; empty when the encoding was not padded (all 1).
  std::vector<uint8_t> attention_mask;
  void clear();
  void append(const Encoding& other);
};

// A token added on top of the model's vocabulary, with Hugging Face's flags.
struct AddedToken {
  std::string content;
  bool special = false;      // skipped by decode(skip_special); never split
  bool normalized = true;    // matched on normalized text (false: on the raw input)
  bool lstrip = false;       // swallows whitespace on its left
  bool rstrip = false;       // swallows whitespace on its right
  bool single_word = false;  // only matches when not inside a word
  int32_t id = -1;           // assigned by add_tokens (or given by the file)
};

// Short description for `loom tokenizer info`.
struct TokenizerInfo {
  std::string kind;           // "tokenizer.json (BPE)", "vocab.txt (WordPiece)", ...
  std::string model;          // "BPE", "WordPiece", ...
  std::string normalizer;     // one-line summary, "none" when absent
  std::string pre_tokenizer;  // one-line summary
  std::string post_processor;
  std::string decoder;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Encodes one text. add_special inserts the post-processor's special tokens (BOS, [CLS]...).
  // Any bytes are accepted, including invalid UTF-8.
  virtual Encoding encode(std::string_view text, bool add_special) const = 0;
  // A pair of texts (BERT-style sentence pairs); type_ids tell them apart.
  virtual Encoding encode_pair(std::string_view a, std::string_view b, bool add_special) const = 0;
  // Encodes many texts on the pool; result[i] belongs to texts[i].
  virtual std::vector<Encoding> encode_batch(std::span<const std::string_view> texts,
                                             bool add_special, ThreadPool& pool) const = 0;
  // Ids only (the fast path used by the CLI and data pipelines). Replaces out's contents (its
  // capacity is reused), as every implementation does.
  virtual void encode_ids(std::string_view text, bool add_special, std::vector<int32_t>& out) const;

  // Turns ids back into text; skip_special drops special tokens.
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special) const = 0;

  // Model vocabulary plus added tokens: every id is < vocab_size().
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The vocabulary string of id (in the model's own alphabet); "" when out of range.
  virtual std::string id_to_token(int32_t id) const = 0;
  std::vector<std::string> pieces(const Encoding& enc) const;

  // -1 when the tokenizer has none.
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  virtual std::vector<AddedToken> added_tokens() const = 0;

  // Adds tokens (Hugging Face's add_tokens): a content already added is skipped and keeps its
  // id and flags; one in the model vocabulary keeps the model's id; any other gets the next id
  // after all existing ones. Returns how many tokens were added (the skipped ones not counted).
  virtual int add_tokens(std::span<const AddedToken> tokens) = 0;

  // Writes a Hugging Face tokenizer.json (atomically). Throws loom::Error when the tokenizer
  // cannot be expressed in that format.
  virtual void save(const std::string& path) const = 0;
  virtual std::string to_json() const = 0;

  virtual TokenizerInfo info() const = 0;

  // tokenizer.json's truncation and padding (HF semantics, truncation.h), applied by encode,
  // encode_pair, encode_batch and encode_ids. nullopt turns one off. Tokenizers that are not a
  // pipeline (SentencePiece .model, llama2.c .bin) refuse with loom::Error.
  virtual void set_truncation(std::optional<TruncationParams> t);
  virtual void set_padding(std::optional<PaddingParams> p);
  virtual std::optional<TruncationParams> truncation() const { return std::nullopt; }
  virtual std::optional<PaddingParams> padding() const { return std::nullopt; }
};

// Opens any supported tokenizer file, detected from its name and content:
//   *.json with "model"       -> Hugging Face tokenizer.json
//   encoder.json (+ vocab.bpe beside it) -> GPT-2 byte-level BPE
//   vocab.txt                 -> BERT WordPiece with BERT's defaults
// Throws loom::Error naming the file for anything else or for malformed content.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// Parses tokenizer.json content; `name` is used in error messages.
std::unique_ptr<Tokenizer> load_tokenizer_json(std::string_view json, const std::string& name);

}  // namespace loom::text
