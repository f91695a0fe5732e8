#include "text/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>

#include "core/error.h"
#include "text/json_util.h"
#include "text/unicode.h"

namespace loom::text {

namespace {

constexpr size_t kCacheMaxWordBytes = 96;

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

uint64_t word_hash(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xff51afd7ed558ccdull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}

using Symbol = BpeModel::Symbol;

// Appends a symbol for bytes [b, e) of the piece, linked after the last one.
inline void append_symbol(std::vector<Symbol>& syms, int32_t id, uint32_t b, uint32_t e) {
  const auto n = int32_t(syms.size());
  syms.push_back({id, b, e, n - 1, -1});
  if (n > 0) syms[n - 1].next = n;
}

// An unknown over [b, e): it widens the previous symbol (an unknown) when `fuse`, else it is new.
inline void append_unknown(std::vector<Symbol>& syms, int32_t unk_id, bool fuse, uint32_t b,
                           uint32_t e) {
  if (fuse) {
    syms.back().end = e;
  } else {
    append_symbol(syms, unk_id, b, e);
  }
}

// Byte-level mode without prefix or suffix: one symbol per byte, byte_ids[byte] (-1: unknown).
inline void byte_symbols(std::string_view piece, const int32_t* byte_ids, int32_t unk_id,
                         bool fuse_unk, std::vector<Symbol>& syms) {
  bool have_unk = false;
  for (uint32_t i = 0; i < piece.size(); ++i) {
    int32_t id = byte_ids[static_cast<unsigned char>(piece[i])];
    if (id >= 0) {
      have_unk = false;
      append_symbol(syms, id, i, i + 1);
    } else if (unk_id >= 0) {
      append_unknown(syms, unk_id, fuse_unk && have_unk, i, i + 1);
      have_unk = true;
    }
  }
}

// The vocabulary spelling of the character [i, i + len) of piece, into s: the continuing-subword
// prefix unless it is first, the end-of-word suffix if it is last, GPT-2 characters in byte-level
// mode.
inline void spell_char(std::string_view piece, uint32_t i, uint32_t len, const BpeOptions& o,
                       bool byte_level, std::string& s) {
  s.clear();
  if (i > 0) s += o.continuing_subword_prefix;
  if (byte_level) {
    s += bytes_to_unicode_string(piece.substr(i, len));
  } else {
    s.append(piece.substr(i, len));
  }
  if (i + len == piece.size()) s += o.end_of_word_suffix;
}

// Byte fallback for the character [i, i + len) spelled s: its <0xXX> tokens (ids[byte], -1 when
// absent; ids empty: no fallback) when all exist. Returns false, adding nothing, otherwise.
inline bool append_byte_fallback(std::string_view s, uint32_t i, uint32_t len,
                                 const std::vector<int32_t>& ids, std::vector<Symbol>& syms) {
  if (ids.empty()) return false;
  bool all = true;
  for (unsigned char b : s) all &= ids[b] >= 0;
  if (!all) return false;
  // Hugging Face gives each fallback byte a length of one.
  for (size_t k = 0; k < s.size(); ++k) {
    uint32_t b = std::min<uint32_t>(i + uint32_t(k), i + len - 1);
    append_symbol(syms, ids[static_cast<unsigned char>(s[k])], b, b + 1);
  }
  syms.back().end = i + len;
  return true;
}

// Per-thread cache of tokenized words: open addressing over flat arenas, so a hit costs one
// hash, one probe and one memcmp, and nothing is allocated per word.
class WordCache {
 public:
  WordCache() { slots_.resize(1 << 14); }
  // Returns the cached tokens of word, or nullptr.
  const ModelToken* find(std::string_view word, uint64_t h, uint32_t* n) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return nullptr;
      if (s.hash == h && s.len == word.size() &&
          std::memcmp(keys_.data() + s.key, word.data(), word.size()) == 0) {
        *n = s.count;
        return tokens_.data() + s.tok;
      }
    }
  }
  void insert(std::string_view word, uint64_t h, const ModelToken* t, uint32_t n) {
    if (used_ >= kMaxEntries) return;
    if ((used_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i].len != kEmpty) i = (i + 1) & mask;
    slots_[i] = {h, uint32_t(keys_.size()), uint32_t(word.size()), uint32_t(tokens_.size()), n};
    keys_.append(word);
    tokens_.insert(tokens_.end(), t, t + n);
    ++used_;
  }

 private:
  static constexpr uint32_t kEmpty = ~0u;
  static constexpr size_t kMaxEntries = 1 << 18;
  struct Slot {
    uint64_t hash = 0;
    uint32_t key = 0, len = kEmpty, tok = 0, count = 0;
  };
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(old.size() * 2);
    size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.len == kEmpty) continue;
      size_t i = s.hash & mask;
      while (slots_[i].len != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<ModelToken> tokens_;
  size_t used_ = 0;
};

// Per-thread: the word cache and the merge loop's buffers.
struct BpeState : ModelState {
  WordCache cache;
  std::vector<uint64_t> heap;
  std::vector<BpeModel::Symbol> syms;
};

}  // namespace

BpeModel::BpeModel(std::vector<std::string> vocab,
                   std::vector<std::pair<std::string, std::string>> merges, BpeOptions options,
                   const std::string& name)
    : vocab_(std::move(vocab)), merges_(std::move(merges)), options_(std::move(options)) {
  token_to_id_.reserve(vocab_.size());
  for (size_t i = 0; i < vocab_.size(); ++i) {
    if (!vocab_[i].empty()) token_to_id_.emplace(vocab_[i], int32_t(i));
  }
  if (options_.unk_token) {
    auto it = token_to_id_.find(*options_.unk_token);
    if (it != token_to_id_.end()) unk_id_ = it->second;
  }
  if (options_.byte_fallback) {
    byte_fallback_ids_.resize(256, -1);
    char code[8];
    for (int b = 0; b < 256; ++b) {
      std::snprintf(code, sizeof(code), "<0x%02X>", b);
      auto it = token_to_id_.find(std::string_view(code));
      if (it != token_to_id_.end()) byte_fallback_ids_[b] = it->second;
    }
  }
  merge_map_.reserve(merges_.size());
  const std::string& prefix = options_.continuing_subword_prefix;
  for (size_t r = 0; r < merges_.size(); ++r) {
    const auto& [a, b] = merges_[r];
    auto ia = token_to_id_.find(a);
    auto ib = token_to_id_.find(b);
    if (ia == token_to_id_.end() || ib == token_to_id_.end()) {
      throw Error(name + ": field /model/merges/" + std::to_string(r) + ": merge \"" + a + " " + b +
                  "\" uses a token that is not in /model/vocab");
    }
    std::string merged = a;
    if (!prefix.empty() && b.compare(0, prefix.size(), prefix) == 0) {
      merged.append(b, prefix.size());
    } else {
      merged += b;
    }
    auto im = token_to_id_.find(merged);
    if (im == token_to_id_.end()) {
      throw Error(name + ": field /model/merges/" + std::to_string(r) + ": merge result \"" +
                  merged + "\" is not in /model/vocab");
    }
    merge_map_.insert(pair_key(ia->second, ib->second), Merge{int32_t(r), im->second});
  }
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
}

bool BpeModel::set_byte_level(bool on) {
  byte_level_ = on;
  if (!on) return true;
  const auto& alphabet = byte_to_unicode();
  for (int b = 0; b < 256; ++b) {
    std::string s;
    utf8_append(s, alphabet[b]);
    auto it = token_to_id_.find(s);
    byte_ids_[b] = it == token_to_id_.end() ? -1 : it->second;
  }
  if (options_.ignore_merges) {
    raw_vocab_.reserve(vocab_.size());
    std::string raw;
    for (size_t i = 0; i < vocab_.size(); ++i) {
      if (!vocab_[i].empty() && unicode_string_to_bytes(vocab_[i], raw)) {
        raw_vocab_.emplace(raw, int32_t(i));
      }
    }
  }
  return true;
}

std::unique_ptr<ModelState> BpeModel::make_state() const { return std::make_unique<BpeState>(); }

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::string BpeModel::id_to_token(int32_t id) const {
  return id >= 0 && size_t(id) < vocab_.size() ? vocab_[id] : std::string();
}

// Word -> initial symbols, following Hugging Face's merge_word: per char (or per byte in
// byte-level mode), prefix on non-first / suffix on last, byte fallback, then unk (fused or not).
void BpeModel::initial_symbols(std::string_view piece, std::vector<Symbol>& syms) const {
  syms.clear();
  bool simple = options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty();
  if (byte_level_ && simple) {
    byte_symbols(piece, byte_ids_, unk_id_, options_.fuse_unk, syms);
    return;
  }
  std::string s;
  bool have_unk = false;
  for (uint32_t i = 0; i < piece.size();) {
    uint32_t len = utf8_next(piece, i).len;
    spell_char(piece, i, len, options_, byte_level_, s);
    auto it = token_to_id_.find(s);
    if (it != token_to_id_.end()) {
      have_unk = false;
      append_symbol(syms, it->second, i, i + len);
    } else if (append_byte_fallback(s, i, len, byte_fallback_ids_, syms)) {
      have_unk = false;
    } else if (unk_id_ >= 0) {
      append_unknown(syms, unk_id_, options_.fuse_unk && have_unk, i, i + len);
      have_unk = true;
    }
    i += len;
  }
}

void BpeModel::merge_symbols(std::vector<Symbol>& syms, std::vector<uint64_t>& heap) const {
  heap.clear();
  auto rank_of = [&](int32_t a, int32_t b) -> const Merge* {
    return merge_map_.find(pair_key(a, b));
  };
  for (size_t i = 0; i + 1 < syms.size(); ++i) {
    if (const Merge* m = rank_of(syms[i].id, syms[i + 1].id)) {
      heap.push_back((uint64_t(m->rank) << 32) | i);
    }
  }
  auto cmp = std::greater<uint64_t>();
  std::make_heap(heap.begin(), heap.end(), cmp);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    uint64_t top = heap.back();
    heap.pop_back();
    int32_t rank = int32_t(top >> 32);
    int32_t pos = int32_t(top & 0xffffffffu);
    Symbol& s = syms[pos];
    if (s.id < 0 || s.next < 0) continue;
    Symbol& nx = syms[s.next];
    const Merge* m = rank_of(s.id, nx.id);
    if (m == nullptr || m->rank != rank) continue;
    s.id = m->new_id;
    s.end = nx.end;
    s.next = nx.next;
    nx.id = -1;
    if (s.next >= 0) syms[s.next].prev = pos;
    if (s.prev >= 0) {
      if (const Merge* pm = rank_of(syms[s.prev].id, s.id)) {
        heap.push_back((uint64_t(pm->rank) << 32) | uint32_t(s.prev));
        std::push_heap(heap.begin(), heap.end(), cmp);
      }
    }
    if (s.next >= 0) {
      if (const Merge* nm = rank_of(s.id, syms[s.next].id)) {
        heap.push_back((uint64_t(nm->rank) << 32) | uint32_t(pos));
        std::push_heap(heap.begin(), heap.end(), cmp);
      }
    }
  }
}

void BpeModel::tokenize_uncached(std::string_view piece, std::vector<Symbol>& syms,
                                 std::vector<uint64_t>& heap, std::vector<ModelToken>& out) const {
  if (options_.ignore_merges) {
    const StringMap<int32_t>& vocab = byte_level_ ? raw_vocab_ : token_to_id_;
    auto it = vocab.find(piece);
    if (it != vocab.end()) {
      out.push_back({it->second, 0, uint32_t(piece.size())});
      return;
    }
  }
  initial_symbols(piece, syms);
  if (syms.size() > 1) merge_symbols(syms, heap);
  for (const Symbol& s : syms) {
    if (s.id >= 0) out.push_back({s.id, s.begin, s.end});
  }
}

void BpeModel::tokenize(std::string_view piece, ModelState* state,
                        std::vector<ModelToken>& out) const {
  auto* st = static_cast<BpeState*>(state);
  if (st == nullptr) {
    BpeState local;
    tokenize_uncached(piece, local.syms, local.heap, out);
    return;
  }
  bool cacheable = piece.size() <= kCacheMaxWordBytes;
  uint64_t h = 0;
  if (cacheable) {
    h = word_hash(piece);
    uint32_t n = 0;
    if (const ModelToken* t = st->cache.find(piece, h, &n)) {
      out.insert(out.end(), t, t + n);
      return;
    }
  }
  size_t first = out.size();
  tokenize_uncached(piece, st->syms, st->heap, out);
  if (cacheable) st->cache.insert(piece, h, out.data() + first, uint32_t(out.size() - first));
}

nlohmann::ordered_json BpeModel::to_json() const {
  using json = nlohmann::ordered_json;
  json vocab = vocab_to_json(vocab_);
  bool spaces = false;
  for (const auto& [a, b] : merges_)
    spaces |= a.find(' ') != std::string::npos || b.find(' ') != std::string::npos;
  json merges = json::array();
  for (const auto& [a, b] : merges_) {
    if (spaces) {
      merges.push_back(json::array({a, b}));
    } else {
      merges.push_back(a + " " + b);
    }
  }
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", options_.unk_token ? json(*options_.unk_token) : json(nullptr)},
          {"continuing_subword_prefix", opt(options_.continuing_subword_prefix)},
          {"end_of_word_suffix", opt(options_.end_of_word_suffix)},
          {"fuse_unk", options_.fuse_unk},
          {"byte_fallback", options_.byte_fallback},
          {"ignore_merges", options_.ignore_merges},
          {"vocab", vocab},
          {"merges", merges}};
}

}  // namespace loom::text
