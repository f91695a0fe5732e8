// PipelineTokenizer: the Tokenizer made of the stages in components.h plus added tokens.
// Every loader (tokenizer.json, encoder.json + vocab.bpe, vocab.txt, and later .model / .bin)
// builds one of these.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "text/added_vocab.h"
#include "text/components.h"
#include "text/scratch.h"
#include "text/tokenizer.h"

namespace loom::text {

struct PipelineParts {
  std::unique_ptr<Model> model;                   // required
  std::unique_ptr<Normalizer> normalizer;         // optional
  std::unique_ptr<PreTokenizer> pre_tokenizer;    // optional
  std::unique_ptr<PostProcessor> post_processor;  // optional
  std::unique_ptr<Decoder> decoder;               // optional
  std::vector<AddedToken> added_tokens;           // with ids (from the file) or -1 (assign)
  std::string kind;                               // for info(): "tokenizer.json", ...
  int32_t bos_id = -1, eos_id = -1;               // -1: take them from the post-processor
  std::string name;                               // file name for error messages
  std::optional<TruncationParams> truncation;
  std::optional<PaddingParams> padding;
};

class PipelineTokenizer : public Tokenizer {
 public:
  explicit PipelineTokenizer(PipelineParts parts);
  ~PipelineTokenizer() override;

  Encoding encode(std::string_view text, bool add_special) const override;
  Encoding encode_pair(std::string_view a, std::string_view b, bool add_special) const override;
  std::vector<Encoding> encode_batch(std::span<const std::string_view> texts, bool add_special,
                                     ThreadPool& pool) const override;
  void encode_ids(std::string_view text, bool add_special,
                  std::vector<int32_t>& out) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override;

  int32_t vocab_size() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  int32_t bos_id() const override { return bos_id_; }
  int32_t eos_id() const override { return eos_id_; }
  std::vector<AddedToken> added_tokens() const override { return added_.tokens(); }
  int add_tokens(std::span<const AddedToken> tokens) override;
  void save(const std::string& path) const override;
  std::string to_json() const override;
  TokenizerInfo info() const override;
  void set_truncation(std::optional<TruncationParams> t) override { truncation_ = std::move(t); }
  // Throws loom::Error when pad_id is outside the vocabulary.
  void set_padding(std::optional<PaddingParams> p) override;
  std::optional<TruncationParams> truncation() const override { return truncation_; }
  std::optional<PaddingParams> padding() const override { return padding_; }

  const Model& model() const { return *model_; }

 private:
  // Raw (unprocessed) encoding of one text into e; ids only when with_offsets is false.
  void encode_raw(std::string_view text, Scratch& sc, Encoding& e, bool with_offsets) const;
  void build_pre_tokenized(std::string_view text, Scratch& sc) const;
  std::unique_ptr<Scratch> acquire() const;
  void release(std::unique_ptr<Scratch> sc) const;
  std::string added_pattern(const AddedToken& t) const;
  // Truncation (before), post-processing, then padding of one text or a pair (not batches).
  Encoding finish(Encoding a, Encoding* b, bool add_special, std::string_view ta,
                  std::string_view tb, bool pad) const;

  std::unique_ptr<Model> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
  std::string kind_;
  int32_t bos_id_ = -1, eos_id_ = -1;
  std::optional<TruncationParams> truncation_;
  std::optional<PaddingParams> padding_;

  // Reusable per-call state (BPE word caches stay warm across calls); guarded by pool_mu_.
  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<Scratch>> pool_;
};

}  // namespace loom::text
