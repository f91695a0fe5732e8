#include "text/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <queue>

#include "core/error.h"

namespace loom::text {
namespace {

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
inline int32_t key_left(uint64_t k) { return static_cast<int32_t>(k >> 32); }
inline int32_t key_right(uint64_t k) { return static_cast<int32_t>(k & 0xffffffffu); }

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// GPT-2: printable bytes keep their code point; the other 68 map to 256, 257, ... in byte order.
uint32_t gpt2_code_point(uint8_t b) {
  auto printable = [](int c) {
    return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
  };
  if (printable(b)) return b;
  uint32_t n = 0;
  for (int c = 0; c < b; ++c) n += printable(c) ? 0 : 1;
  return 256 + n;
}

struct HeapEntry {
  int64_t count;
  int32_t a, b;
};

}  // namespace

std::string gpt2_bytes_to_unicode(std::string_view bytes) {
  std::string out;
  for (char c : bytes) append_utf8(&out, gpt2_code_point(static_cast<uint8_t>(c)));
  return out;
}

std::vector<uint8_t> gpt2_byte_order() {
  std::vector<uint8_t> order(256);
  for (int b = 0; b < 256; ++b) order[b] = static_cast<uint8_t>(b);
  std::sort(order.begin(), order.end(),
            [](uint8_t x, uint8_t y) { return gpt2_code_point(x) < gpt2_code_point(y); });
  return order;
}

std::vector<std::pair<std::string, int64_t>> count_words(const std::vector<std::string>& tokens) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& t : tokens) ++counts[t];
  std::vector<std::pair<std::string, int64_t>> out(counts.begin(), counts.end());
  std::sort(out.begin(), out.end());
  return out;
}

BpeTrainerResult train_byte_bpe(const std::vector<std::pair<std::string, int64_t>>& word_counts,
                                const BpeTrainerOptions& options) {
  BpeTrainerResult result;
  for (const auto& s : options.special_tokens) result.vocab.push_back(s);
  for (uint8_t b : gpt2_byte_order()) result.vocab.push_back(std::string(1, static_cast<char>(b)));
  const int64_t n_merges = static_cast<int64_t>(options.vocab_size) -
                           static_cast<int64_t>(result.vocab.size());

  // Symbols: 0..255 are bytes, 256.. merged tokens (their bytes in `sym_bytes`).
  std::vector<std::string> sym_bytes(256);
  for (int b = 0; b < 256; ++b) sym_bytes[b] = std::string(1, static_cast<char>(b));
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> counts;
  words.reserve(word_counts.size());
  for (const auto& [w, c] : word_counts) {
    if (c <= 0 || w.size() < 2) continue;
    std::vector<int32_t> syms(w.size());
    for (size_t i = 0; i < w.size(); ++i) syms[i] = static_cast<uint8_t>(w[i]);
    words.push_back(std::move(syms));
    counts.push_back(c);
  }

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // pair -> words (may be stale)
  pair_count.reserve(words.size() * 4);
  where.reserve(words.size() * 4);
  for (size_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = pair_key(s[i], s[i + 1]);
      pair_count[k] += counts[w];
      auto& v = where[k];
      if (v.empty() || v.back() != static_cast<int32_t>(w)) v.push_back(static_cast<int32_t>(w));
    }
  }

  // Max-heap on count, then on the greatest (left bytes, right bytes); stale entries skipped.
  auto heap_less = [&sym_bytes](const HeapEntry& x, const HeapEntry& y) {
    if (x.count != y.count) return x.count < y.count;
    const int c = sym_bytes[x.a].compare(sym_bytes[y.a]);
    if (c != 0) return c < 0;
    return sym_bytes[x.b].compare(sym_bytes[y.b]) < 0;
  };
  std::vector<HeapEntry> heap;
  heap.reserve(pair_count.size());
  for (const auto& [k, c] : pair_count) heap.push_back({c, key_left(k), key_right(k)});
  std::make_heap(heap.begin(), heap.end(), heap_less);

  std::unordered_map<uint64_t, int64_t> delta;
  std::vector<int32_t> merged;
  while (static_cast<int64_t>(result.merges.size()) < n_merges && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), heap_less);
    const HeapEntry top = heap.back();
    heap.pop_back();
    const uint64_t key = pair_key(top.a, top.b);
    auto pc = pair_count.find(key);
    if (pc == pair_count.end() || pc->second != top.count) continue;  // stale
    if (top.count <= 0 || top.count < options.min_frequency) break;

    const auto new_sym = static_cast<int32_t>(sym_bytes.size());
    sym_bytes.push_back(sym_bytes[top.a] + sym_bytes[top.b]);
    result.merges.emplace_back(sym_bytes[top.a], sym_bytes[top.b]);
    result.vocab.push_back(sym_bytes.back());

    delta.clear();
    std::vector<int32_t> affected = std::move(where[key]);
    where.erase(key);
    for (int32_t w : affected) {
      auto& s = words[w];
      bool found = false;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] == top.a && s[i + 1] == top.b) {
          found = true;
          break;
        }
      }
      if (!found) continue;  // stale index entry or already handled
      const int64_t c = counts[w];
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[pair_key(s[i], s[i + 1])] -= c;
      merged.clear();
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == top.a && s[i + 1] == top.b) {
          merged.push_back(new_sym);
          i += 2;
        } else {
          merged.push_back(s[i++]);
        }
      }
      s.assign(merged.begin(), merged.end());
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = pair_key(s[i], s[i + 1]);
        delta[k] += c;
        if (s[i] == new_sym || s[i + 1] == new_sym) {
          auto& v = where[k];
          if (v.empty() || v.back() != w) v.push_back(w);
        }
      }
    }
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      int64_t& c = pair_count[k];
      c += d;
      if (c > 0) {
        heap.push_back({c, key_left(k), key_right(k)});
        std::push_heap(heap.begin(), heap.end(), heap_less);
      } else {
        pair_count.erase(k);
      }
    }
  }
  return result;
}

}  // namespace loom::text
