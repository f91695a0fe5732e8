// SentencePiece Unigram: Viterbi over all pieces matching at each character position, scoring a
// path by the sum of piece log-probabilities; a character no piece starts with becomes an unknown
// of score min_score - 10. Same recurrence, tie-breaking and float arithmetic as
// unigram_model.cc's EncodeOptimized: the best path into each byte position is kept, earlier
// starts win ties.
#include <algorithm>
#include <cfloat>

#include "text/sentencepiece.h"

namespace loom::text {
namespace {

constexpr float kUnkPenalty = 10.0f;

inline size_t one_char_len(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

class SpUnigramModel final : public SpModel {
 public:
  explicit SpUnigramModel(const SpVocab& vocab) : vocab_(vocab) {
    for (int32_t id = 0; id < vocab.size(); ++id) {
      if (vocab.type(id) == SpPieceType::kNormal) {
        min_score_ = std::min(min_score_, vocab.score(id));
        max_score_ = std::max(max_score_, vocab.score(id));
      }
    }
    // Byte trie over matchable pieces: node 0 is the root; edges in a hash keyed (node, byte).
    node_value_.push_back(-1);
    std::vector<std::pair<uint64_t, int32_t>> edges;
    std::unordered_map<uint64_t, int32_t> edge_map;
    for (int32_t id = 0; id < vocab.size(); ++id) {
      const std::string& p = vocab.piece(id);
      if (vocab.find_normal(p) != id) continue;
      int32_t node = 0;
      for (char c : p) {
        uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
        auto it = edge_map.find(key);
        if (it == edge_map.end()) {
          const auto child = static_cast<int32_t>(node_value_.size());
          node_value_.push_back(-1);
          it = edge_map.emplace(key, child).first;
        }
        node = it->second;
      }
      node_value_[node] = id;
    }
    edges.assign(edge_map.begin(), edge_map.end());
    edges_.build(edges);
  }

  void encode_normalized(std::string_view text, SpScratch* s,
                         std::vector<SpSegment>* out) const override {
    out->clear();
    if (text.empty()) return;
    const auto size = static_cast<int32_t>(text.size());
    const float unk_score = min_score_ - kUnkPenalty;
    auto& best = s->best;
    best.assign(size + 1, SpScratch::Node{-1, 0.0f, -1});
    for (int32_t start = 0; start < size;) {
      const float till_here = best[start].score;
      bool has_single = false;
      const auto mblen = std::min<int32_t>(
          static_cast<int32_t>(one_char_len(static_cast<uint8_t>(text[start]))), size - start);
      int32_t node = 0;
      for (int32_t pos = start; pos < size;) {
        node = edges_.find((static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[pos]));
        if (node < 0) break;
        ++pos;
        const int32_t id = node_value_[node];
        if (id < 0) continue;
        const SpPieceType type = vocab_.type(id);
        if (type == SpPieceType::kUnused) continue;
        auto& target = best[pos];
        const int32_t length = pos - start;
        // User-defined symbols get a bonus so they always win. sentencepiece's ternary makes the
        // score a double for every piece, so the sum and the comparison happen in double.
        const double piece_score =
            type == SpPieceType::kUserDefined
                ? static_cast<double>(static_cast<float>(length) * max_score_) - 0.1
                : static_cast<double>(vocab_.score(id));
        const double candidate = piece_score + static_cast<double>(till_here);
        if (target.starts_at == -1 || candidate > static_cast<double>(target.score)) {
          target = {id, static_cast<float>(candidate), start};
        }
        if (length == mblen) has_single = true;
      }
      if (!has_single) {
        auto& target = best[start + mblen];
        const float candidate = unk_score + till_here;
        if (target.starts_at == -1 || candidate > target.score) {
          target = {vocab_.unk_id(), candidate, start};
        }
      }
      start += mblen;
    }
    for (int32_t end = size; end > 0;) {
      const auto& n = best[end];
      out->push_back(
          {static_cast<uint32_t>(n.starts_at), static_cast<uint32_t>(end - n.starts_at), n.id});
      end = n.starts_at;
    }
    std::reverse(out->begin(), out->end());
  }

 private:
  const SpVocab& vocab_;
  float min_score_ = FLT_MAX;
  float max_score_ = FLT_MIN;
  std::vector<int32_t> node_value_;
  SpU64Map edges_;
};

}  // namespace

std::unique_ptr<SpModel> make_sp_unigram_model(const SpVocab& vocab) {
  return std::make_unique<SpUnigramModel>(vocab);
}

}  // namespace loom::text
