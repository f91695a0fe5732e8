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

// Words as symbol sequences: words[i] is seen counts[i] times.
struct SymbolWords {
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> counts;
};

using PairCounts = std::unordered_map<uint64_t, int64_t>;
using PairWords =
    std::unordered_map<uint64_t, std::vector<int32_t>>;  // pair -> words (may be stale)

// Adds c to the count of each adjacent pair of s.
void add_pair_counts(const std::vector<int32_t>& s, int64_t c, PairCounts& counts) {
  for (size_t i = 0; i + 1 < s.size(); ++i) counts[pair_key(s[i], s[i + 1])] += c;
}

// Lists word w (once) under each adjacent pair (a, b) of s for which keep(a, b).
template <typename Keep>
void index_word_pairs(const std::vector<int32_t>& s, int32_t w, PairWords& where, Keep keep) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (!keep(s[i], s[i + 1])) continue;
    auto& v = where[pair_key(s[i], s[i + 1])];
    if (v.empty() || v.back() != w) v.push_back(w);
  }
}

bool holds_pair(const std::vector<int32_t>& s, int32_t a, int32_t b) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == a && s[i + 1] == b) return true;
  }
  return false;
}

// Rewrites s with each (a, b), left to right, replaced by new_sym (`merged` is scratch).
void replace_pair(std::vector<int32_t>& s, int32_t a, int32_t b, int32_t new_sym,
                  std::vector<int32_t>& merged) {
  merged.clear();
  for (size_t i = 0; i < s.size();) {
    if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
      merged.push_back(new_sym);
      i += 2;
    } else {
      merged.push_back(s[i++]);
    }
  }
  s.assign(merged.begin(), merged.end());
}

// Applies the changes in pair counts: a pair whose count changed goes on the heap again (its old
// entry turns stale); one whose count drops to zero leaves pair_count.
template <typename HeapLess>
void apply_pair_deltas(const PairCounts& delta, PairCounts& pair_count,
                       std::vector<HeapEntry>& heap, HeapLess heap_less) {
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

// The merge loop shared by the byte-level and WordPiece trainers. Repeatedly takes the pair with
// the highest count (ties: `tie_less` says which of two equal-count pairs ranks lower), asks
// `on_merge(a, b)` for the merged symbol's id (it may reuse an existing id) and rewrites the
// words containing the pair. Stops when `done()`, when no pair is left, or when the best count is
// below min_frequency.
template <typename TieLess, typename OnMerge, typename Done>
void run_merges(SymbolWords& sw, int64_t min_frequency, TieLess tie_less, OnMerge on_merge,
                Done done) {
  auto& words = sw.words;
  PairCounts pair_count;
  PairWords where;
  pair_count.reserve(words.size() * 4);
  where.reserve(words.size() * 4);
  for (size_t w = 0; w < words.size(); ++w) {
    add_pair_counts(words[w], sw.counts[w], pair_count);
    index_word_pairs(words[w], static_cast<int32_t>(w), where,
                     [](int32_t, int32_t) { return true; });
  }
  auto heap_less = [&tie_less](const HeapEntry& x, const HeapEntry& y) {
    if (x.count != y.count) return x.count < y.count;
    return tie_less(x, y);
  };
  std::vector<HeapEntry> heap;
  heap.reserve(pair_count.size());
  for (const auto& [k, c] : pair_count) heap.push_back({c, key_left(k), key_right(k)});
  std::make_heap(heap.begin(), heap.end(), heap_less);

  PairCounts delta;
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
    auto holds_new = [new_sym](int32_t a, int32_t b) { return a == new_sym || b == new_sym; };
    for (int32_t w : affected) {
      auto& s = words[w];
      if (!holds_pair(s, top.a, top.b)) continue;  // stale index entry or already rewritten
      add_pair_counts(s, -sw.counts[w], delta);
      replace_pair(s, top.a, top.b, new_sym, merged);
      add_pair_counts(s, sw.counts[w], delta);
      index_word_pairs(s, w, where, holds_new);
    }
    apply_pair_deltas(delta, pair_count, heap, heap_less);
  }
}

// Byte-level words: each byte a symbol (0..255); words under two bytes cannot merge and are left
// out.
SymbolWords byte_words(const std::vector<std::pair<std::string, int64_t>>& word_counts) {
  SymbolWords sw;
  sw.words.reserve(word_counts.size());
  for (const auto& [w, c] : word_counts) {
    if (c <= 0 || w.size() < 2) continue;
    std::vector<int32_t> syms(w.size());
    for (size_t i = 0; i < w.size(); ++i) syms[i] = static_cast<uint8_t>(w[i]);
    sw.words.push_back(std::move(syms));
    sw.counts.push_back(c);
  }
  return sw;
}

// The bytes of symbols 0..255; merges append theirs.
std::vector<std::string> byte_symbol_bytes() {
  std::vector<std::string> sym_bytes(256);
  for (int b = 0; b < 256; ++b) sym_bytes[b] = std::string(1, static_cast<char>(b));
  return sym_bytes;
}

// kGreatestBytes: of equal-count pairs the one with the greatest (left, right) bytes merges
// first; every merge is a new token, n_merges of them.
void merge_by_greatest_bytes(SymbolWords& sw, int64_t n_merges, int64_t min_frequency,
                             BpeTrainerResult& result) {
  std::vector<std::string> sym_bytes = byte_symbol_bytes();
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
  run_merges(sw, min_frequency, tie_less, on_merge, done);
}

// Hugging Face: symbol ranks follow HF's ids (bytes in GPT-2 character order, then new tokens);
// a merge spelling an existing token reuses it, and training stops at vocab_size tokens.
void merge_in_hf_order(SymbolWords& sw, const BpeTrainerOptions& options,
                       BpeTrainerResult& result) {
  std::vector<std::string> sym_bytes = byte_symbol_bytes();
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
  run_merges(sw, options.min_frequency, tie_less, on_merge, done);
}

}  // namespace

BpeTrainerResult train_byte_bpe(const std::vector<std::pair<std::string, int64_t>>& word_counts,
                                const BpeTrainerOptions& options) {
  BpeTrainerResult result;
  for (const auto& s : options.special_tokens) result.vocab.push_back(s);
  for (uint8_t b : gpt2_byte_order()) result.vocab.push_back(std::string(1, static_cast<char>(b)));
  const int64_t n_merges =
      static_cast<int64_t>(options.vocab_size) - static_cast<int64_t>(result.vocab.size());
  SymbolWords sw = byte_words(word_counts);
  if (options.tie_break == BpeTieBreak::kGreatestBytes) {
    merge_by_greatest_bytes(sw, n_merges, options.min_frequency, result);
  } else {
    merge_in_hf_order(sw, options, result);
  }
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

// The vocabulary being built: tokens in id order; adding a known token returns its id.
class VocabBuilder {
 public:
  explicit VocabBuilder(std::vector<std::string>* tokens) : tokens_(tokens) {}
  int32_t add(const std::string& t) {
    auto it = ids_.find(t);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<int32_t>(tokens_->size());
    tokens_->push_back(t);
    ids_.emplace(t, id);
    return id;
  }

 private:
  std::vector<std::string>* tokens_;
  std::unordered_map<std::string, int32_t> ids_;
};

// Alphabet: every character, weighted by word counts; with limit >= 0 only the `limit` most
// frequent ones. Ordered by code point (here: UTF-8 bytes), the order they get their ids in.
std::map<std::string, int64_t> wordpiece_alphabet(
    const std::vector<std::pair<std::string, int64_t>>& word_counts, int32_t limit) {
  std::map<std::string, int64_t> alphabet;
  for (const auto& [w, c] : word_counts) {
    for (size_t i = 0; i < w.size();) {
      const size_t n = utf8_len(w, i);
      alphabet[w.substr(i, n)] += c;
      i += n;
    }
  }
  if (limit >= 0 && alphabet.size() > static_cast<size_t>(limit)) {
    std::vector<std::pair<std::string, int64_t>> by_count(alphabet.begin(), alphabet.end());
    std::stable_sort(by_count.begin(), by_count.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    by_count.resize(limit);
    alphabet = std::map<std::string, int64_t>(by_count.begin(), by_count.end());
  }
  return alphabet;
}

// Words as symbols: the first character as itself, the others with the continuing-subword
// prefix; characters outside the alphabet are dropped, and words left under two symbols too.
SymbolWords wordpiece_words(const std::vector<std::pair<std::string, int64_t>>& word_counts,
                            const std::map<std::string, int64_t>& alphabet,
                            const std::string& prefix, VocabBuilder& vocab) {
  SymbolWords sw;
  for (const auto& [w, c] : word_counts) {
    if (c <= 0) continue;
    std::vector<int32_t> syms;
    for (size_t i = 0; i < w.size();) {
      const size_t n = utf8_len(w, i);
      std::string ch = w.substr(i, n);
      if (alphabet.count(ch)) syms.push_back(vocab.add(i == 0 ? ch : prefix + ch));
      i += n;
    }
    if (syms.size() >= 2) {
      sw.words.push_back(std::move(syms));
      sw.counts.push_back(c);
    }
  }
  return sw;
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
  VocabBuilder vocab(&result.vocab);
  for (const auto& s : options.special_tokens) vocab.add(s);
  const std::map<std::string, int64_t> alphabet =
      wordpiece_alphabet(word_counts, options.limit_alphabet);
  for (const auto& [ch, c] : alphabet) vocab.add(ch);

  const std::string& prefix = options.continuing_subword_prefix;
  SymbolWords sw = wordpiece_words(word_counts, alphabet, prefix, vocab);
  auto tie_less = [](const HeapEntry& x, const HeapEntry& y) {
    return x.a != y.a ? x.a > y.a : x.b > y.b;  // the smaller id pair ranks higher
  };
  auto on_merge = [&](int32_t a, int32_t b) {
    std::string_view right = result.vocab[b];
    if (!prefix.empty() && right.substr(0, prefix.size()) == prefix)
      right.remove_prefix(prefix.size());
    return vocab.add(result.vocab[a] + std::string(right));
  };
  auto done = [&] { return result.vocab.size() >= static_cast<size_t>(options.vocab_size); };
  run_merges(sw, options.min_frequency, tie_less, on_merge, done);
  return result;
}

}  // namespace loom::text
