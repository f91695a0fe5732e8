#include "text/unigram_model.h"

#include <cstdio>
#include <limits>

#include "core/error.h"
#include "text/unicode.h"

namespace loom::text {

namespace {

constexpr double kUnkPenalty = 10.0;

struct UnigramState : ModelState {
  struct Node {
    double score;
    int32_t start;  // -1: unreached
    int32_t id;
  };
  std::vector<Node> best;
  std::vector<ModelToken> rev;
};

using LatticeNode = UnigramState::Node;

// Keeps the better of the path already ending at `target` and one of score `cand` whose last
// token is `id` spanning [start, target); the earlier start wins a tie.
inline void relax(LatticeNode& target, double cand, uint32_t start, int32_t id) {
  if (target.start < 0 || cand > target.score) target = {cand, int32_t(start), id};
}

// Relaxes best[k + 1] for every piece spelling piece[at..k], walking the byte trie (`edges`,
// `node_id`) from the root. Returns whether one of them is the single character of mblen bytes
// at `at`; where none is, the caller adds the unknown token.
inline bool relax_pieces_from(std::string_view piece, uint32_t at, uint32_t mblen,
                              const FlatMap64<int32_t>& edges, const std::vector<int32_t>& node_id,
                              const std::vector<std::pair<std::string, double>>& vocab,
                              std::vector<LatticeNode>& best) {
  const double here = best[at].score;
  bool single = false;
  int32_t node = 0;
  for (uint32_t k = at; k < uint32_t(piece.size()); ++k) {
    const int32_t* child = edges.find((uint64_t(uint32_t(node)) << 8) | uint8_t(piece[k]));
    if (!child) break;
    node = *child;
    const int32_t id = node_id[node];
    if (id < 0) continue;
    relax(best[k + 1], here + vocab[id].second, at, id);
    if (k + 1 - at == mblen) single = true;
  }
  return single;
}

// The best path back from byte `size`, last token first; runs of unknowns fuse (HF's fuse_unk,
// always on for Unigram).
inline void backtrack_fusing_unknowns(const std::vector<LatticeNode>& best, uint32_t size,
                                      int32_t unk_id, std::vector<ModelToken>& rev) {
  rev.clear();
  for (uint32_t end = size; end > 0;) {
    const LatticeNode& n = best[end];
    const auto begin = uint32_t(n.start);
    if (n.id == unk_id && !rev.empty() && rev.back().id == unk_id && rev.back().begin == end) {
      rev.back().begin = begin;
    } else {
      rev.push_back({n.id, begin, end});
    }
    end = begin;
  }
}

// Appends an unknown run t of `piece`. HF looks every result string up again, so the run may
// spell a piece; else with byte_ids (byte_fallback; -1 for an absent <0xXX>) it becomes its byte
// tokens when all exist; else it stays unknown (t.id, the unk id), which needs an unk_id.
void emit_unknown_run(ModelToken t, std::string_view piece, const StringMap<int32_t>& token_to_id,
                      const int32_t* byte_ids, std::vector<ModelToken>& out) {
  const std::string_view s = piece.substr(t.begin, t.end - t.begin);
  if (auto it = token_to_id.find(s); it != token_to_id.end()) {
    out.push_back({it->second, t.begin, t.end});
    return;
  }
  if (byte_ids) {
    bool all = true;
    for (char c : s) all = all && byte_ids[uint8_t(c)] >= 0;
    if (all) {
      for (char c : s) out.push_back({byte_ids[uint8_t(c)], t.begin, t.end});
      return;
    }
  }
  if (t.id < 0) {
    throw Error(
        "Unigram model: the text has a character no piece covers and the model has "
        "no unk_id");
  }
  out.push_back(t);
}

}  // namespace

UnigramModel::UnigramModel(std::vector<std::pair<std::string, double>> vocab, int32_t unk_id,
                           bool byte_fallback, const std::string& name)
    : vocab_(std::move(vocab)), unk_id_(unk_id), byte_fallback_(byte_fallback) {
  if (vocab_.empty()) throw Error(name + ": field /model/vocab: expected at least one piece");
  if (unk_id_ >= int32_t(vocab_.size())) {
    throw Error(name + ": field /model/unk_id: " + std::to_string(unk_id_) +
                " is outside the vocabulary (size " + std::to_string(vocab_.size()) + ")");
  }
  min_score_ = std::numeric_limits<double>::infinity();
  token_to_id_.reserve(vocab_.size());
  node_id_.push_back(-1);
  edges_.reserve(vocab_.size() * 4);
  for (size_t id = 0; id < vocab_.size(); ++id) {
    const auto& [piece, score] = vocab_[id];
    if (piece.empty()) {
      throw Error(name + ": field /model/vocab/" + std::to_string(id) +
                  ": expected a non-empty piece");
    }
    token_to_id_[piece] = int32_t(id);
    min_score_ = std::min(min_score_, score);
    int32_t node = 0;
    for (char c : piece) {
      const uint64_t key = (uint64_t(uint32_t(node)) << 8) | uint8_t(c);
      if (const int32_t* child = edges_.find(key)) {
        node = *child;
      } else {
        const auto next = int32_t(node_id_.size());
        node_id_.push_back(-1);
        edges_.insert(key, next);
        node = next;
      }
    }
    node_id_[node] = int32_t(id);
  }
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    auto it = token_to_id_.find(std::string_view(buf));
    byte_ids_[b] = it == token_to_id_.end() ? -1 : it->second;
  }
}

std::unique_ptr<ModelState> UnigramModel::make_state() const {
  return std::make_unique<UnigramState>();
}

void UnigramModel::tokenize(std::string_view piece, ModelState* state,
                            std::vector<ModelToken>& out) const {
  UnigramState local;
  auto& st = state ? static_cast<UnigramState&>(*state) : local;
  const auto size = uint32_t(piece.size());
  auto& best = st.best;
  best.assign(size + 1, {0.0, -1, -1});
  best[0].start = 0;
  const double unk_score = min_score_ - kUnkPenalty;
  for (uint32_t at = 0; at < size;) {
    const uint32_t mblen = utf8_next(piece, at).len;
    if (!relax_pieces_from(piece, at, mblen, edges_, node_id_, vocab_, best)) {
      relax(best[at + mblen], best[at].score + unk_score, at, unk_id_);
    }
    at += mblen;
  }
  backtrack_fusing_unknowns(best, size, unk_id_, st.rev);
  for (size_t i = st.rev.size(); i-- > 0;) {
    const ModelToken t = st.rev[i];
    if (t.id != unk_id_) {
      out.push_back(t);
    } else {
      emit_unknown_run(t, piece, token_to_id_, byte_fallback_ ? byte_ids_ : nullptr, out);
    }
  }
}

std::optional<int32_t> UnigramModel::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::string UnigramModel::id_to_token(int32_t id) const {
  if (id < 0 || id >= int32_t(vocab_.size())) return "";
  return vocab_[id].first;
}

nlohmann::ordered_json UnigramModel::to_json() const {
  nlohmann::ordered_json v = nlohmann::ordered_json::array();
  auto& arr = v.get_ref<nlohmann::ordered_json::array_t&>();
  arr.reserve(vocab_.size());
  for (const auto& [p, s] : vocab_) arr.push_back(nlohmann::ordered_json::array({p, s}));
  nlohmann::ordered_json j = {{"type", "Unigram"}};
  j["unk_id"] = unk_id_ >= 0 ? nlohmann::ordered_json(unk_id_) : nlohmann::ordered_json(nullptr);
  j["vocab"] = std::move(v);
  j["byte_fallback"] = byte_fallback_;
  return j;
}

}  // namespace loom::text
