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

namespace {

// The merge loop shared by the byte-level and WordPiece trainers. words[i] is a symbol sequence
// seen counts[i] times. Repeatedly takes the pair with the highest count (ties: `tie_less` says
// which of two equal-count pairs ranks lower), asks `on_merge(a, b)` for the merged symbol's id
// (it may reuse an existing id) and rewrites the words containing the pair. Stops when `done()`,
// when no pair is left, or when the best count is below min_frequency.
template <typename TieLess, typename OnMerge, typename Done>
void run_merges(std::vector<std::vector<int32_t>>& words, const std::vector<int64_t>& counts,
                int64_t min_frequency, TieLess tie_less, OnMerge on_merge, Done done) {
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
  auto heap_less = [&tie_less](const HeapEntry& x, const HeapEntry& y) {
    if (x.count != y.count) return x.count < y.count;
    return tie_less(x, y);
  };
  std::vector<HeapEntry> heap;
  heap.reserve(pair_count.size());
  for (const auto& [k, c] : pair_count) heap.push_back({c, key_left(k), key_right(k)});
  std::make_heap(heap.begin(), heap.end(), heap_less);

  std::unordered_map<uint64_t, int64_t> delta;
  std::vector<int32_t> merged;
  while (!heap.empty() && !done()) {
    std::pop_heap(heap.begin(), heap.end(), heap_less);
    const HeapEntry top = heap.back();
    heap.pop_back();
    const uint64_t key = pair_key(top.a, top.b);
    auto pc = pair_count.find(key);
    if (pc == pair_count.end() || pc->second != top.count) continue;  // stale entry
    if (top.count <= 0 || top.count < min_frequency) break;
    const int32_t new_sym = on_merge(top.a, top.b);

    delta.clear();
    std::vector<int32_t> affected = std::move(where[key]);
    where.erase(key);
    for (int32_t w : affected) {
      auto& s = words[w];
      bool found = false;
      for (size_t i = 0; i + 1 < s.size() && !found; ++i)
        found = s[i] == top.a && s[i + 1] == top.b;
      if (!found) continue;  // stale index entry or already rewritten
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
      auto it = pair_count.try_emplace(k, 0).first;
      it->second += d;
      if (it->second > 0) {
        heap.push_back({it->second, key_left(k), key_right(k)});
        std::push_heap(heap.begin(), heap.end(), heap_less);
      } else {
        pair_count.erase(it);
      }
    }
  }
}

}  // namespace

BpeTrainerResult train_byte_bpe(const std::vector<std::pair<std::string, int64_t>>& word_counts,
                                const BpeTrainerOptions& options) {
  BpeTrainerResult result;
  for (const auto& s : options.special_tokens) result.vocab.push_back(s);
  for (uint8_t b : gpt2_byte_order()) result.vocab.push_back(std::string(1, static_cast<char>(b)));
  const int64_t n_merges =
      static_cast<int64_t>(options.vocab_size) - static_cast<int64_t>(result.vocab.size());

  // Symbols: 0..255 are bytes, 256.. one per merge (their bytes in `sym_bytes`).
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
  if (options.tie_break == BpeTieBreak::kGreatestBytes) {
    auto tie_less = [&sym_bytes](const HeapEntry& x, const HeapEntry& y) {
      const int c = sym_bytes[x.a].compare(sym_bytes[y.a]);
      if (c != 0) return c < 0;
      return sym_bytes[x.b].compare(sym_bytes[y.b]) < 0;
    };
    auto on_merge = [&](int32_t a, int32_t b) {
      sym_bytes.push_back(sym_bytes[a] + sym_bytes[b]);
      result.merges.emplace_back(sym_bytes[a], sym_bytes[b]);
      result.vocab.push_back(sym_bytes.back());
      return static_cast<int32_t>(sym_bytes.size() - 1);
    };
    auto done = [&] { return static_cast<int64_t>(result.merges.size()) >= n_merges; };
    run_merges(words, counts, options.min_frequency, tie_less, on_merge, done);
    return result;
  }
  // Hugging Face: symbol ranks follow HF's ids (bytes in GPT-2 character order, then new tokens).
  std::vector<int32_t> rank(256);
  {
    const std::vector<uint8_t> order = gpt2_byte_order();
    for (int i = 0; i < 256; ++i) rank[order[i]] = i;
  }
  std::unordered_map<std::string, int32_t> sym_of(sym_bytes.size() * 2);
  for (int b = 0; b < 256; ++b) sym_of.emplace(sym_bytes[b], b);
  std::unordered_map<std::string, bool> special_unicode;
  for (const auto& s : options.special_tokens) special_unicode.emplace(s, true);
  int32_t next_rank = 256;
  auto tie_less = [&rank](const HeapEntry& x, const HeapEntry& y) {
    return rank[x.a] != rank[y.a] ? rank[x.a] > rank[y.a] : rank[x.b] > rank[y.b];
  };
  auto on_merge = [&](int32_t a, int32_t b) {
    result.merges.emplace_back(sym_bytes[a], sym_bytes[b]);
    std::string merged = sym_bytes[a] + sym_bytes[b];
    auto it = sym_of.find(merged);
    if (it != sym_of.end()) return it->second;  // an existing token: reused
    const auto sym = static_cast<int32_t>(sym_bytes.size());
    sym_of.emplace(merged, sym);
    rank.push_back(next_rank++);
    // A merge spelling a special token (in GPT-2 characters) maps to it; no new entry.
    if (!special_unicode.count(gpt2_bytes_to_unicode(merged))) result.vocab.push_back(merged);
    sym_bytes.push_back(std::move(merged));
    return sym;
  };
  auto done = [&] { return result.vocab.size() >= static_cast<size_t>(options.vocab_size); };
  run_merges(words, counts, options.min_frequency, tie_less, on_merge, done);
  return result;
}

}  // namespace loom::text

namespace loom::text {
namespace {

size_t utf8_len(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

}  // namespace

std::string WordPieceTrainerResult::to_vocab_txt() const {
  std::string out;
  for (const auto& t : vocab) {
    out += t;
    out.push_back('\n');
  }
  return out;
}

WordPieceTrainerResult train_wordpiece(
    const std::vector<std::pair<std::string, int64_t>>& word_counts,
    const WordPieceTrainerOptions& options) {
  WordPieceTrainerResult result;
  std::unordered_map<std::string, int32_t> ids;
  auto add = [&](const std::string& t) -> int32_t {
    auto it = ids.find(t);
    if (it != ids.end()) return it->second;
    const auto id = static_cast<int32_t>(result.vocab.size());
    result.vocab.push_back(t);
    ids.emplace(t, id);
    return id;
  };
  for (const auto& s : options.special_tokens) add(s);

  // Alphabet: every character, weighted by word counts; optionally only the most frequent ones;
  // added in code point (here: UTF-8 byte) order.
  std::map<std::string, int64_t> alphabet;
  for (const auto& [w, c] : word_counts) {
    for (size_t i = 0; i < w.size();) {
      const size_t n = utf8_len(w, i);
      alphabet[w.substr(i, n)] += c;
      i += n;
    }
  }
  if (options.limit_alphabet >= 0 &&
      alphabet.size() > static_cast<size_t>(options.limit_alphabet)) {
    std::vector<std::pair<std::string, int64_t>> by_count(alphabet.begin(), alphabet.end());
    std::stable_sort(by_count.begin(), by_count.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    by_count.resize(options.limit_alphabet);
    alphabet = std::map<std::string, int64_t>(by_count.begin(), by_count.end());
  }
  for (const auto& [ch, c] : alphabet) add(ch);

  const std::string& prefix = options.continuing_subword_prefix;
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> counts;
  for (const auto& [w, c] : word_counts) {
    if (c <= 0) continue;
    std::vector<int32_t> syms;
    for (size_t i = 0; i < w.size();) {
      const size_t n = utf8_len(w, i);
      std::string ch = w.substr(i, n);
      if (alphabet.count(ch)) syms.push_back(add(i == 0 ? ch : prefix + ch));
      i += n;
    }
    if (syms.size() >= 2) {
      words.push_back(std::move(syms));
      counts.push_back(c);
    }
  }

  auto tie_less = [](const HeapEntry& x, const HeapEntry& y) {
    return x.a != y.a ? x.a > y.a : x.b > y.b;  // the smaller id pair ranks higher
  };
  auto on_merge = [&](int32_t a, int32_t b) {
    std::string_view right = result.vocab[b];
    if (!prefix.empty() && right.substr(0, prefix.size()) == prefix)
      right.remove_prefix(prefix.size());
    return add(result.vocab[a] + std::string(right));
  };
  auto done = [&] { return result.vocab.size() >= static_cast<size_t>(options.vocab_size); };
  run_merges(words, counts, options.min_frequency, tie_less, on_merge, done);
  return result;
}

}  // namespace loom::text
