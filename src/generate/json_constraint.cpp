#include "generate/json_constraint.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace loom::generate {

TokenTexts::TokenTexts(std::vector<std::string> texts, std::vector<int32_t> end_ids)
    : texts_(std::move(texts)), end_ids_(std::move(end_ids)), order_(texts_.size()) {
  std::iota(order_.begin(), order_.end(), 0);
  std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    return text(a) < text(b) || (text(a) == text(b) && a < b);
  });
  lcp_.assign(order_.size(), 0);
  for (size_t r = 0; r < order_.size(); ++r) {
    const std::string& t = text(order_[r]);
    max_len_ = std::max(max_len_, t.size());
    if (r == 0) continue;
    const std::string& p = text(order_[r - 1]);
    const auto m = std::mismatch(t.begin(), t.begin() + std::min(t.size(), p.size()), p.begin());
    lcp_[r] = static_cast<uint32_t>(m.first - t.begin());
  }
}

TokenTexts TokenTexts::from_codec(const TokenCodec& codec) {
  // After BOS a codec may drop a leading space; a token with one is never allowed first (no
  // whitespace before the value), so the texts after any other token are what is emitted.
  const int32_t ordinary = codec.bos_id() == 0 ? 1 : 0;
  std::vector<std::string> texts(static_cast<size_t>(codec.vocab_size()));
  for (int32_t id = 0; id < codec.vocab_size(); ++id)
    texts[static_cast<size_t>(id)] = codec.piece_text(ordinary, id);
  return TokenTexts(std::move(texts), {codec.eos_id(), codec.bos_id()});
}

bool TokenTexts::is_end(int32_t id) const {
  return std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end();
}

JsonConstraint::JsonConstraint(const JsonSchema& schema, const TokenTexts& texts)
    : schema_(schema), texts_(texts), state_(schema) {}

bool JsonConstraint::allowed(int32_t token) {
  if (ended_ || token < 0 || token >= texts_.size()) return false;
  if (texts_.is_end(token)) return state_.complete();
  const std::string& t = texts_.text(token);
  if (t.empty()) return false;  // a token that adds nothing could repeat forever
  JsonRecognizer a(schema_), b(schema_);
  const JsonRecognizer* from = &state_;
  for (char ch : t) {
    JsonRecognizer& to = from == &a ? b : a;
    if (!to.advance(*from, static_cast<unsigned char>(ch))) return false;
    from = &to;
  }
  return true;
}

// allowed_[id] for every token with text: one pass over the tokens in byte order, reusing the
// states after the prefix a text shares with the one before; a dead prefix skips its followers.
void JsonConstraint::walk() {
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  if (depth_.size() < texts_.max_length() + 1) depth_.resize(texts_.max_length() + 1, state_);
  depth_[0] = state_;
  size_t have = 0;         // depth_[0..have] are the states after the last text's first bytes
  size_t dead_at = kNone;  // the last text died at this byte
  const std::vector<int32_t>& order = texts_.order();
  for (size_t r = 0; r < order.size(); ++r) {
    const std::string& t = texts_.text(order[r]);
    const size_t shared = texts_.shared_prefix()[r];
    if (t.empty() || (dead_at != kNone && dead_at < shared)) continue;
    have = std::min(have, shared);
    dead_at = kNone;
    for (; have < t.size(); ++have) {
      if (!depth_[have + 1].advance(depth_[have], static_cast<unsigned char>(t[have]))) {
        dead_at = have;
        break;
      }
    }
    if (dead_at == kNone) allowed_[static_cast<size_t>(order[r])] = 1;
  }
}

void JsonConstraint::mask(std::span<float> logits) {
  allowed_.assign(static_cast<size_t>(texts_.size()), 0);
  if (!ended_) walk();
  const bool complete = !ended_ && state_.complete();
  size_t n_allowed = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    const bool ok = id < texts_.size() && (texts_.is_end(id) ? complete : allowed_[i] != 0);
    if (!ok) logits[i] = -std::numeric_limits<float>::infinity();
    n_allowed += ok ? 1 : 0;
  }
  if (n_allowed == 0)
    throw Error("json schema: no token of the vocabulary can continue the output here");
}

void JsonConstraint::accept(int32_t token) {
  LOOM_ASSERT(allowed(token), "a token the constraint does not allow was chosen");
  if (texts_.is_end(token)) {
    ended_ = true;
    return;
  }
  state_.feed(texts_.text(token));
}

}  // namespace loom::generate
