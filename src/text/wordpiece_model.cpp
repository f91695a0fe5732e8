#include "text/wordpiece_model.h"

#include "core/error.h"
#include "text/json_util.h"
#include "text/unicode.h"

namespace loom::text {

WordPieceModel::WordPieceModel(std::vector<std::string> vocab, std::string unk_token,
                               std::string prefix, int max_input_chars_per_word,
                               const std::string& name)
    : vocab_(std::move(vocab)),
      unk_token_(std::move(unk_token)),
      prefix_(std::move(prefix)),
      max_chars_(max_input_chars_per_word) {
  token_to_id_.reserve(vocab_.size());
  for (size_t i = 0; i < vocab_.size(); ++i) {
    if (vocab_[i].empty()) continue;
    token_to_id_.emplace(vocab_[i], int32_t(i));
    max_token_bytes_ = std::max(max_token_bytes_, vocab_[i].size());
  }
  auto it = token_to_id_.find(unk_token_);
  if (it == token_to_id_.end()) {
    throw Error(name + ": field /model/unk_token: \"" + unk_token_ + "\" is not in the vocabulary");
  }
  unk_id_ = it->second;
}

namespace {

struct WordPieceState : ModelState {
  std::vector<uint32_t> bounds;
  std::string buf;
};

}  // namespace

std::unique_ptr<ModelState> WordPieceModel::make_state() const {
  return std::make_unique<WordPieceState>();
}

void WordPieceModel::tokenize(std::string_view piece, ModelState* state,
                              std::vector<ModelToken>& out) const {
  WordPieceState local;
  auto* st = state != nullptr ? static_cast<WordPieceState*>(state) : &local;
  size_t first = out.size();
  // Char boundaries; counting them also enforces max_input_chars_per_word.
  std::vector<uint32_t>& bounds = st->bounds;
  bounds.clear();
  for (uint32_t i = 0; i < piece.size(); i += utf8_next(piece, i).len) bounds.push_back(i);
  bounds.push_back(uint32_t(piece.size()));
  size_t n_chars = bounds.size() - 1;
  if (n_chars > size_t(max_chars_)) {
    out.push_back({unk_id_, 0, uint32_t(piece.size())});
    return;
  }
  std::string& buf = st->buf;
  size_t start = 0;  // index into bounds
  while (start < n_chars) {
    // Longest candidate first, but never longer than the longest vocabulary entry.
    size_t end = n_chars;
    while (end > start && bounds[end] - bounds[start] > max_token_bytes_) --end;
    int32_t found = -1;
    for (; end > start; --end) {
      std::string_view sub = piece.substr(bounds[start], bounds[end] - bounds[start]);
      StringMap<int32_t>::const_iterator it;
      if (start > 0) {
        buf.assign(prefix_);
        buf.append(sub);
        it = token_to_id_.find(std::string_view(buf));
      } else {
        it = token_to_id_.find(sub);
      }
      if (it != token_to_id_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      out.resize(first);
      out.push_back({unk_id_, 0, uint32_t(piece.size())});
      return;
    }
    out.push_back({found, bounds[start], bounds[end]});
    start = end;
  }
}

std::optional<int32_t> WordPieceModel::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::string WordPieceModel::id_to_token(int32_t id) const {
  return id >= 0 && size_t(id) < vocab_.size() ? vocab_[id] : std::string();
}

nlohmann::ordered_json WordPieceModel::to_json() const {
  using json = nlohmann::ordered_json;
  json vocab = vocab_to_json(vocab_);
  return {{"type", "WordPiece"},
          {"unk_token", unk_token_},
          {"continuing_subword_prefix", prefix_},
          {"max_input_chars_per_word", max_chars_},
          {"vocab", vocab}};
}

}  // namespace loom::text
