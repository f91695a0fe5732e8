#include "text/truncation.h"

#include <algorithm>

#include "core/error.h"
#include "text/tokenizer.h"

namespace loom::text {

namespace {

using ojson = nlohmann::ordered_json;

// Longest padded length a file may ask for (tokens): far above any model's context, low enough
// that a hostile file cannot make every encode allocate gigabytes.
constexpr int64_t kMaxPadLength = int64_t(1) << 20;

Side side_from_json(const JsonNode& j) {
  const std::string s = j.str();
  if (s == "Right") return Side::kRight;
  if (s == "Left") return Side::kLeft;
  j.fail("\"Right\" or \"Left\"");
}

const char* side_name(Side s) { return s == Side::kRight ? "Right" : "Left"; }

// Keeps max_len tokens: the first ones (kRight) or the last ones (kLeft).
void truncate_one(Encoding& e, int64_t max_len, int64_t stride, Side side) {
  const auto n = int64_t(e.ids.size());
  if (max_len >= n) return;
  if (max_len > 0 && stride >= max_len) {
    throw Error("truncation: stride " + std::to_string(stride) +
                " must be less than the length kept (" + std::to_string(max_len) + ")");
  }
  auto cut = [&](auto& v) {
    if (v.empty()) return;
    if (side == Side::kRight) {
      v.resize(size_t(max_len));
    } else {
      v.erase(v.begin(), v.begin() + (n - max_len));
    }
  };
  cut(e.ids);
  cut(e.offsets);
  cut(e.type_ids);
  cut(e.special_mask);
  cut(e.sequence_ids);
  cut(e.attention_mask);
}

}  // namespace

std::optional<TruncationParams> truncation_from_json(const JsonNode& j) {
  if (j.is_null()) return std::nullopt;
  TruncationParams p;
  p.max_length = j.at("max_length").integer(0, int64_t(1) << 31);
  p.stride = j.int_or("stride", 0);
  if (p.stride < 0) j.at("stride").fail("a stride >= 0");
  if (auto s = j.find("strategy")) {
    const std::string v = s->str();
    if (v == "LongestFirst") {
      p.strategy = TruncationStrategy::kLongestFirst;
    } else if (v == "OnlyFirst") {
      p.strategy = TruncationStrategy::kOnlyFirst;
    } else if (v == "OnlySecond") {
      p.strategy = TruncationStrategy::kOnlySecond;
    } else {
      s->fail("LongestFirst, OnlyFirst or OnlySecond");
    }
  }
  if (auto d = j.find("direction")) p.direction = side_from_json(*d);
  return p;
}

std::optional<PaddingParams> padding_from_json(const JsonNode& j) {
  if (j.is_null()) return std::nullopt;
  PaddingParams p;
  if (auto s = j.find("strategy")) {
    if (s->is_string()) {
      if (s->str() != "BatchLongest") s->fail("\"BatchLongest\" or {\"Fixed\": n}");
    } else if (s->has("Fixed")) {
      p.fixed = s->at("Fixed").integer(0, kMaxPadLength);
    } else {
      s->fail("\"BatchLongest\" or {\"Fixed\": n}");
    }
  }
  if (auto d = j.find("direction")) p.direction = side_from_json(*d);
  if (auto m = j.find("pad_to_multiple_of")) p.pad_to_multiple_of = m->integer(0, kMaxPadLength);
  if (auto v = j.find("pad_id")) p.pad_id = int32_t(v->integer(0, (int64_t(1) << 31) - 1));
  if (auto v = j.find("pad_type_id")) p.pad_type_id = int32_t(v->integer(0, 255));
  p.pad_token = j.str_or("pad_token", "[PAD]");
  return p;
}

ojson truncation_to_json(const std::optional<TruncationParams>& t) {
  if (!t) return nullptr;
  const char* strategy = t->strategy == TruncationStrategy::kLongestFirst ? "LongestFirst"
                         : t->strategy == TruncationStrategy::kOnlyFirst  ? "OnlyFirst"
                                                                          : "OnlySecond";
  return {{"direction", side_name(t->direction)},
          {"max_length", t->max_length},
          {"strategy", strategy},
          {"stride", t->stride}};
}

ojson padding_to_json(const std::optional<PaddingParams>& p) {
  if (!p) return nullptr;
  ojson j;
  j["strategy"] = p->fixed ? ojson{{"Fixed", *p->fixed}} : ojson("BatchLongest");
  j["direction"] = side_name(p->direction);
  j["pad_to_multiple_of"] = p->pad_to_multiple_of ? ojson(*p->pad_to_multiple_of) : ojson(nullptr);
  j["pad_id"] = p->pad_id;
  j["pad_type_id"] = p->pad_type_id;
  j["pad_token"] = p->pad_token;
  return j;
}

void truncate_encodings(Encoding& a, Encoding* b, const TruncationParams& p, int64_t n_added) {
  const int64_t max_length = std::max<int64_t>(0, p.max_length - n_added);
  if (max_length == 0) {
    truncate_one(a, 0, p.stride, p.direction);
    if (b) truncate_one(*b, 0, p.stride, p.direction);
    return;
  }
  const int64_t total = int64_t(a.ids.size()) + (b ? int64_t(b->ids.size()) : 0);
  if (total <= max_length) return;
  const int64_t to_remove = total - max_length;
  if (p.strategy == TruncationStrategy::kLongestFirst) {
    if (!b) {
      truncate_one(a, total - to_remove, p.stride, p.direction);
      return;
    }
    // The shorter one keeps what it can; if both are too long they split max_length.
    int64_t n1 = int64_t(a.ids.size()), n2 = int64_t(b->ids.size());
    const bool swap = n1 > n2;
    if (swap) std::swap(n1, n2);
    n2 = n1 > max_length ? n1 : std::max(n1, max_length - n1);
    if (n1 + n2 > max_length) {
      n1 = max_length / 2;
      n2 = n1 + max_length % 2;
    }
    if (swap) std::swap(n1, n2);
    truncate_one(a, n1, p.stride, p.direction);
    truncate_one(*b, n2, p.stride, p.direction);
    return;
  }
  Encoding* target = p.strategy == TruncationStrategy::kOnlyFirst ? &a : b;
  if (!target) throw Error("truncation: only_second needs a second sequence");
  const auto len = int64_t(target->ids.size());
  if (len <= to_remove) {
    throw Error("truncation: the sequence to truncate has " + std::to_string(len) +
                " tokens, too short to remove " + std::to_string(to_remove));
  }
  truncate_one(*target, len - to_remove, p.stride, p.direction);
}

void pad_encodings(std::span<Encoding> encs, const PaddingParams& p) {
  if (encs.empty()) return;
  int64_t target = 0;
  if (p.fixed) {
    target = *p.fixed;
  } else {
    for (const Encoding& e : encs) target = std::max<int64_t>(target, int64_t(e.ids.size()));
  }
  if (p.pad_to_multiple_of && *p.pad_to_multiple_of > 0 && target % *p.pad_to_multiple_of != 0)
    target += *p.pad_to_multiple_of - target % *p.pad_to_multiple_of;
  for (Encoding& e : encs) {
    const auto n = int64_t(e.ids.size());
    e.type_ids.resize(size_t(n), 0);
    e.special_mask.resize(size_t(n), 0);
    e.sequence_ids.resize(size_t(n), 0);
    e.offsets.resize(size_t(n));
    if (e.attention_mask.empty()) e.attention_mask.assign(size_t(n), 1);
    if (n >= target) continue;
    const auto k = size_t(target - n);
    auto pad = [&](auto& v, auto value) {
      if (p.direction == Side::kRight) {
        v.insert(v.end(), k, value);
      } else {
        v.insert(v.begin(), k, value);
      }
    };
    pad(e.ids, p.pad_id);
    pad(e.offsets, Offset{0, 0});
    pad(e.type_ids, uint8_t(p.pad_type_id));
    pad(e.special_mask, uint8_t(1));
    pad(e.sequence_ids, int8_t(-1));
    pad(e.attention_mask, uint8_t(0));
  }
}

}  // namespace loom::text
