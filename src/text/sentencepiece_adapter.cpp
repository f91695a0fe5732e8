// SentencePiece .model and llama2.c tokenizer .bin files behind the common Tokenizer interface,
// so `load_tokenizer` (and `loom tokenize`) take them like any other tokenizer file. add_special
// adds BOS as SentencePiece users expect (llama2.c, Llama 2). Added tokens and tokenizer.json
// output go through the pipeline form of the model (sentencepiece_convert.h, BPE only): save()
// writes the converted pipeline; the first add_tokens() switches this tokenizer over to it, so
// from then on it behaves as the saved tokenizer.json does (Hugging Face semantics: control
// pieces such as "<s>" written literally in the text are matched as special tokens).
#include "text/sentencepiece_adapter.h"

#include "core/error.h"
#include "core/threads.h"
#include "text/sentencepiece.h"
#include "text/sentencepiece_convert.h"

namespace loom::text {

namespace {

class SentencePieceAdapter final : public Tokenizer {
 public:
  SentencePieceAdapter(SentencePieceTokenizer sp, std::string path, std::string kind)
      : sp_(std::move(sp)), path_(std::move(path)), kind_(std::move(kind)) {}

  Encoding encode(std::string_view text, bool add_special) const override {
    if (converted_) return converted_->encode(text, add_special);
    SpEncoding e = sp_.encode(text, add_special && sp_.bos_id() >= 0, false);
    return to_encoding(e, 0);
  }

  Encoding encode_pair(std::string_view a, std::string_view b, bool add_special) const override {
    if (converted_) return converted_->encode_pair(a, b, add_special);
    Encoding out = encode(a, add_special);
    SpEncoding e = sp_.encode(b, false, false);
    Encoding second = to_encoding(e, 1);
    out.append(second);
    return out;
  }

  std::vector<Encoding> encode_batch(std::span<const std::string_view> texts, bool add_special,
                                     ThreadPool& pool) const override {
    if (converted_) return converted_->encode_batch(texts, add_special, pool);
    std::vector<Encoding> out(texts.size());
    pool.parallel_for(static_cast<int64_t>(texts.size()), 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        out[static_cast<size_t>(i)] = encode(texts[static_cast<size_t>(i)], add_special);
    });
    return out;
  }

  void encode_ids(std::string_view text, bool add_special,
                  std::vector<int32_t>& out) const override {
    if (converted_) return converted_->encode_ids(text, add_special, out);
    out = sp_.encode_ids(text, add_special && sp_.bos_id() >= 0, false);
  }

  std::string decode(std::span<const int32_t> ids, bool skip_special) const override {
    if (converted_) return converted_->decode(ids, skip_special);
    // SentencePiece's decode drops control pieces (BOS/EOS) in any case.
    return sp_.decode(ids);
  }

  int32_t vocab_size() const override {
    return converted_ ? converted_->vocab_size() : sp_.vocab_size();
  }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    if (converted_) return converted_->token_to_id(token);
    int32_t id = sp_.piece_to_id(token);
    if (id < 0 || (id == sp_.unk_id() && token != sp_.id_to_piece(id))) return std::nullopt;
    return id;
  }
  std::string id_to_token(int32_t id) const override {
    if (converted_) return converted_->id_to_token(id);
    if (id < 0 || id >= sp_.vocab_size()) return "";
    return sp_.id_to_piece(id);
  }
  int32_t bos_id() const override { return sp_.bos_id(); }
  int32_t eos_id() const override { return sp_.eos_id(); }
  std::vector<AddedToken> added_tokens() const override {
    return converted_ ? converted_->added_tokens() : std::vector<AddedToken>{};
  }

  int add_tokens(std::span<const AddedToken> tokens) override {
    if (!converted_) converted_ = sentencepiece_to_pipeline(sp_.proto(), path_);
    return converted_->add_tokens(tokens);
  }
  void save(const std::string& path) const override {
    if (converted_) return converted_->save(path);
    sentencepiece_to_pipeline(sp_.proto(), path_)->save(path);
  }
  std::string to_json() const override {
    if (converted_) return converted_->to_json();
    return sentencepiece_to_pipeline(sp_.proto(), path_)->to_json();
  }

  TokenizerInfo info() const override {
    if (converted_) {
      TokenizerInfo i = converted_->info();
      i.kind = kind_ + " as tokenizer.json pipeline";
      return i;
    }
    TokenizerInfo i;
    i.kind = kind_;
    SpModelType type = sp_.proto().trainer_spec.model_type;
    i.model = type == SpModelType::kBpe       ? "SentencePiece BPE"
              : type == SpModelType::kUnigram ? "SentencePiece Unigram"
                                              : "SentencePiece";
    const std::string& norm = sp_.proto().normalizer_spec.name;
    i.normalizer = norm.empty() ? "identity" : norm;
    i.pre_tokenizer = "none (whitespace as U+2581)";
    i.post_processor = sp_.bos_id() >= 0 ? "BOS with --add-special" : "none";
    i.decoder = "SentencePiece";
    return i;
  }

 private:
  static Encoding to_encoding(const SpEncoding& e, int8_t seq) {
    Encoding out;
    out.ids = e.ids;
    out.offsets.reserve(e.offsets.size());
    for (const auto& [b, en] : e.offsets) out.offsets.push_back(Offset{b, en});
    out.type_ids.assign(e.ids.size(), static_cast<uint8_t>(seq));
    out.special_mask.assign(e.ids.size(), 0);
    out.sequence_ids.assign(e.ids.size(), seq);
    return out;
  }

  SentencePieceTokenizer sp_;
  std::string path_, kind_;
  std::unique_ptr<PipelineTokenizer> converted_;  // set by the first add_tokens()
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& path) {
  bool bin = path.size() >= 4 && path.compare(path.size() - 4, 4, ".bin") == 0;
  return std::make_unique<SentencePieceAdapter>(
      SentencePieceTokenizer::load(path), path,
      bin ? "llama2.c tokenizer .bin" : "SentencePiece .model");
}

}  // namespace loom::text
