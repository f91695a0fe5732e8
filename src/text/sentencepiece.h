// SentencePiece tokenizer (BPE and Unigram), loaded from a .model ModelProto or a llama2.c
// tokenizer .bin, with ids identical to libsentencepiece's SentencePieceProcessor::Encode.
//
// Layers, so the pipeline can reuse the pieces: SpNormalizer (normaliser + whitespace rules,
// sentencepiece_normalizer.h) -> SpModel::encode_normalized (one normalised string -> pieces, the
// part that becomes a pipeline Model) -> byte fallback and offsets (SentencePieceTokenizer).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/sentencepiece_model.h"
#include "text/sentencepiece_normalizer.h"

namespace loom {
class ThreadPool;
}

namespace loom::text {

// Open-addressing hash map from uint64 keys to int32 values; built once, read-only afterwards.
class SpU64Map {
 public:
  void build(const std::vector<std::pair<uint64_t, int32_t>>& entries);
  int32_t find(uint64_t key) const {  // -1 when absent
    if (keys_.empty()) return -1;
    size_t i = mix(key) & mask_;
    while (true) {
      if (vals_[i] < 0) return -1;
      if (keys_[i] == key) return vals_[i];
      i = (i + 1) & mask_;
    }
  }

 private:
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  std::vector<uint64_t> keys_;
  std::vector<int32_t> vals_;
  size_t mask_ = 0;
};

// One piece of a segmented normalised string: bytes [begin, begin + length) and its id.
struct SpSegment {
  uint32_t begin;
  uint32_t length;
  int32_t id;
};

// Vocabulary view shared by the models: pieces, scores, types and lookups as libsentencepiece's
// ModelInterface (NORMAL/USER_DEFINED/UNUSED pieces are matchable, the rest reserved).
class SpVocab {
 public:
  explicit SpVocab(const SentencePieceModelProto& proto, const std::string& name);
  int32_t size() const { return static_cast<int32_t>(pieces_.size()); }
  const std::string& piece(int32_t id) const { return pieces_[id].piece; }
  float score(int32_t id) const { return pieces_[id].score; }
  SpPieceType type(int32_t id) const { return pieces_[id].type; }
  // Matchable piece id or -1.
  int32_t find_normal(std::string_view s) const;
  // PieceToId: reserved pieces first, then matchable ones, else unk_id.
  int32_t piece_to_id(std::string_view s) const;
  int32_t unk_id() const { return unk_id_; }
  int32_t byte_piece_id(uint8_t b) const { return byte_ids_[b]; }
  const std::vector<std::string>& user_defined() const { return user_defined_; }
  bool has_unused() const { return has_unused_; }

 private:
  std::vector<SpPiece> pieces_;
  std::unordered_map<std::string_view, int32_t> normal_, reserved_;
  std::vector<std::string> user_defined_;
  int32_t unk_id_ = -1;
  int32_t byte_ids_[256];
  bool has_unused_ = false;
};

// Reusable per-thread buffers for encoding; pass one per thread to avoid reallocating per call.
struct SpScratch {
  std::string normalized;
  std::vector<uint32_t> norm_to_orig;
  std::vector<SpSegment> segments;
  struct Symbol {
    int32_t prev, next;
    uint32_t begin, length;
    int32_t id;  // matchable piece id of this symbol's string, -1 if none
    bool freeze;
  };
  struct Pair {
    float score;
    int32_t left, right;
    uint32_t size;
  };
  std::vector<Symbol> symbols;
  std::vector<Pair> heap;
  std::unordered_map<int32_t, uint32_t> rev_merge;  // UNUSED piece id -> left part length
  // BPE chunk cache: chunk text -> (first, count) in bpe_cache_segments (offsets chunk-relative).
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringHash, std::equal_to<>>
      bpe_cache;
  std::vector<SpSegment> bpe_cache_segments;
  std::vector<SpSegment> chunk_segments;
  struct Node {
    int32_t id;
    float score;
    int32_t starts_at;
  };
  std::vector<Node> best;
};

// The model stage: segments one normalised string into pieces (ids may be unk_id; no byte
// fallback yet). BPE merges adjacent symbols by piece score exactly as bpe_model.cc; Unigram is
// the Viterbi of unigram_model.cc (EncodeOptimized) with the unknown penalty.
class SpModel {
 public:
  virtual ~SpModel() = default;
  virtual void encode_normalized(std::string_view normalized, SpScratch* scratch,
                                 std::vector<SpSegment>* out) const = 0;
};

std::unique_ptr<SpModel> make_sp_bpe_model(const SpVocab& vocab);
std::unique_ptr<SpModel> make_sp_unigram_model(const SpVocab& vocab);

struct SpEncoding {
  std::vector<int32_t> ids;
  // Byte offsets [begin, end) into the input text for each id (BOS/EOS get empty ranges).
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

class SentencePieceTokenizer {
 public:
  // .bin -> llama2.c tokenizer, anything else -> ModelProto. Throws loom::Error on bad files.
  static SentencePieceTokenizer load(const std::string& path);
  static SentencePieceTokenizer from_proto(SentencePieceModelProto proto,
                                           const std::string& name = "<memory>");
  static SentencePieceTokenizer from_model_bytes(std::string_view bytes, const std::string& name);
  static SentencePieceTokenizer from_llama2c_bytes(std::string_view bytes, const std::string& name);

  SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept;
  SentencePieceTokenizer& operator=(SentencePieceTokenizer&&) noexcept;
  ~SentencePieceTokenizer();

  SpEncoding encode(std::string_view text, bool add_bos = false, bool add_eos = false) const;
  std::vector<int32_t> encode_ids(std::string_view text, bool add_bos = false,
                                  bool add_eos = false) const;
  // Same as encode_ids with caller-owned buffers; appends to *ids.
  void encode_ids_into(std::string_view text, SpScratch* scratch, std::vector<int32_t>* ids,
                       bool add_bos = false, bool add_eos = false) const;
  // Encodes many documents, split over the pool's threads (nullptr = this thread).
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string_view>& texts,
                                                 ThreadPool* pool, bool add_bos = false,
                                                 bool add_eos = false) const;

  // The model stage alone, for a pipeline that normalises and pre-tokenizes itself: one already
  // normalised string (U+2581 for spaces) -> ids, with byte fallback and unknown-run merging
  // applied; offsets (optional) are byte ranges in `normalized`.
  void encode_normalized(std::string_view normalized, SpScratch* scratch, std::vector<int32_t>* ids,
                         std::vector<std::pair<uint32_t, uint32_t>>* offsets = nullptr) const;

  // Pieces -> text as SentencePieceProcessor::Decode: U+2581 -> space, byte pieces reassembled
  // (invalid UTF-8 bytes become U+FFFD), control pieces dropped, the dummy-prefix space removed.
  std::string decode(std::span<const int32_t> ids) const;

  int32_t vocab_size() const { return vocab_->size(); }
  const std::string& id_to_piece(int32_t id) const;  // throws on out-of-range ids
  int32_t piece_to_id(std::string_view piece) const { return vocab_->piece_to_id(piece); }
  float score(int32_t id) const { return vocab_->score(id); }
  SpPieceType piece_type(int32_t id) const { return vocab_->type(id); }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t unk_id() const { return vocab_->unk_id(); }
  int32_t pad_id() const { return pad_id_; }

  const SentencePieceModelProto& proto() const { return *proto_; }
  const SpNormalizer& normalizer() const { return *normalizer_; }
  const SpModel& model() const { return *model_; }
  const SpVocab& vocab() const { return *vocab_; }

 private:
  SentencePieceTokenizer() = default;
  // Model segments -> ids (+ offsets when non-null), applying byte fallback.
  void emit(const SpScratch& s, std::vector<int32_t>* ids,
            std::vector<std::pair<uint32_t, uint32_t>>* offsets) const;

  std::unique_ptr<SentencePieceModelProto> proto_;
  std::unique_ptr<SpVocab> vocab_;
  std::unique_ptr<SpNormalizer> normalizer_;
  std::unique_ptr<SpModel> model_;
  int32_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1;
  bool byte_fallback_ = false;
};

}  // namespace loom::text
