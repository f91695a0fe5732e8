// SentencePiece BPE: start from characters (user-defined symbols whole and frozen), repeatedly
// merge the adjacent pair whose concatenation is the highest-scoring piece, leftmost first on
// ties, as sentencepiece's bpe_model.cc. Pairs are looked up by (left id, right id) in a table
// built at load from every split of every piece, so the loop hashes two ints instead of strings;
// the agenda is a binary heap in caller-owned scratch, so merging allocates nothing.
#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "core/error.h"
#include "text/sentencepiece.h"

namespace loom::text {
namespace {

inline size_t one_char_len(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// Heap order: higher score first, then smaller left index (sentencepiece's comparator).
inline bool pair_less(const SpScratch::Pair& a, const SpScratch::Pair& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

class SpBpeModel final : public SpModel {
 public:
  explicit SpBpeModel(const SpVocab& vocab) : vocab_(vocab), matcher_(vocab.user_defined()) {
    std::vector<std::pair<uint64_t, int32_t>> pairs, chars;
    for (int32_t id = 0; id < vocab.size(); ++id) {
      const std::string& p = vocab.piece(id);
      if (vocab.find_normal(p) != id) continue;
      if (one_char_len(static_cast<uint8_t>(p[0])) >= p.size()) chars.emplace_back(char_key(p), id);
      for (size_t k = one_char_len(static_cast<uint8_t>(p[0])); k < p.size();
           k += one_char_len(static_cast<uint8_t>(p[k]))) {
        int32_t a = vocab.find_normal(std::string_view(p).substr(0, k));
        int32_t b = vocab.find_normal(std::string_view(p).substr(k));
        if (a >= 0 && b >= 0) pairs.emplace_back(pair_key(a, b), id);
      }
    }
    pair_table_.build(pairs);
    char_table_.build(chars);
    chunkable_ = pieces_allow_chunks(vocab);
    scores_.resize(vocab.size());
    for (int32_t id = 0; id < vocab.size(); ++id) scores_[id] = vocab.score(id);
  }

  void encode_normalized(std::string_view text, SpScratch* s,
                         std::vector<SpSegment>* out) const override {
    out->clear();
    if (!chunkable_) {
      encode_chunk(text, s, out);
      return;
    }
    // Independent chunks start at each U+2581 that follows another character; repeated chunks
    // (words, mostly) come from the per-scratch cache.
    auto& cache = s->bpe_cache;
    auto& pool = s->bpe_cache_segments;
    if (pool.size() > kMaxCachedSegments) {
      cache.clear();
      pool.clear();
    }
    // Chunks start at each U+2581 (E2 96 81) that follows a different character; E2 never
    // occurs inside another UTF-8 character, so scanning for it finds only real starts.
    const char* p = text.data();
    const size_t n = text.size();
    auto next_boundary = [p, n](size_t from) -> size_t {
      for (size_t j = from; j + 2 < n;) {
        const void* q = std::memchr(p + j, 0xE2, n - j - 2);
        if (q == nullptr) break;
        j = static_cast<size_t>(static_cast<const char*>(q) - p);
        if (p[j + 1] == '\x96' && p[j + 2] == '\x81' &&
            !(j >= 3 && p[j - 3] == '\xE2' && p[j - 2] == '\x96' && p[j - 1] == '\x81')) {
          return j;
        }
        ++j;
      }
      return n;
    };
    for (size_t start = 0; start < n;) {
      const size_t i = next_boundary(start + 1);
      std::string_view chunk = text.substr(start, i - start);
      auto it = cache.find(chunk);
      if (it == cache.end()) {
        s->chunk_segments.clear();
        encode_chunk(chunk, s, &s->chunk_segments);
        const auto first = static_cast<uint32_t>(pool.size());
        pool.insert(pool.end(), s->chunk_segments.begin(), s->chunk_segments.end());
        it = cache
                 .emplace(std::string(chunk),
                          std::make_pair(first, static_cast<uint32_t>(s->chunk_segments.size())))
                 .first;
      }
      for (uint32_t k = 0; k < it->second.second; ++k) {
        SpSegment seg = pool[it->second.first + k];
        seg.begin += static_cast<uint32_t>(start);
        out->push_back(seg);
      }
      start = i;
    }
  }

 private:
  static constexpr size_t kMaxCachedSegments = 1 << 20;
  static constexpr std::string_view kWs = "\xE2\x96\x81";

  // True when no matchable piece has U+2581 after a non-U+2581 character: then no merge can
  // cross a point where U+2581 follows another character, and the text splits into chunks.
  static bool pieces_allow_chunks(const SpVocab& vocab) {
    for (int32_t id = 0; id < vocab.size(); ++id) {
      const std::string& p = vocab.piece(id);
      if (vocab.find_normal(p) != id) continue;
      size_t i = 0;
      while (p.compare(i, 3, kWs) == 0) i += 3;
      if (p.find(kWs, i) != std::string::npos) return false;
    }
    return true;
  }

  void encode_chunk(std::string_view text, SpScratch* s, std::vector<SpSegment>* out) const {
    auto& sym = s->symbols;
    auto& heap = s->heap;
    sym.clear();
    heap.clear();
    s->rev_merge.clear();
    if (text.empty()) return;
    // Characters (or whole user-defined symbols) as initial symbols.
    for (size_t pos = 0; pos < text.size();) {
      size_t n = matcher_.match(text.substr(pos));
      const bool freeze = n > 0;
      if (!freeze) n = std::min(one_char_len(static_cast<uint8_t>(text[pos])), text.size() - pos);
      SpScratch::Symbol x;
      x.prev = static_cast<int32_t>(sym.size()) - 1;
      x.next = pos + n < text.size() ? static_cast<int32_t>(sym.size()) + 1 : -1;
      x.begin = static_cast<uint32_t>(pos);
      x.length = static_cast<uint32_t>(n);
      x.freeze = freeze;
      x.id = freeze ? vocab_.find_normal(text.substr(pos, n)) : char_id(text.substr(pos, n));
      sym.push_back(x);
      pos += n;
    }
    for (size_t i = 1; i < sym.size(); ++i)
      maybe_add(text, s, static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), pair_less);
      const SpScratch::Pair top = heap.back();
      heap.pop_back();
      SpScratch::Symbol& l = sym[top.left];
      SpScratch::Symbol& r = sym[top.right];
      if (l.length == 0 || r.length == 0 || l.length + r.length != top.size) continue;
      l.length += r.length;
      l.id = merged_id(text, l.id, r.id, l.begin, l.length);
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = top.left;
      r.length = 0;
      maybe_add(text, s, l.prev, top.left);
      maybe_add(text, s, top.left, l.next);
    }

    for (int32_t i = 0; i != -1; i = sym[i].next) {
      const auto& x = sym[i];
      std::string_view w = text.substr(x.begin, x.length);
      int32_t id = x.id >= 0 ? x.id : vocab_.piece_to_id(w);
      if (vocab_.has_unused() && x.id >= 0 && vocab_.type(id) == SpPieceType::kUnused) {
        resegment(text, *s, x.begin, x.length, out);
      } else {
        out->push_back({x.begin, x.length, id});
      }
    }
  }

  static uint64_t char_key(std::string_view c) {
    uint64_t k = 0;
    std::memcpy(&k, c.data(), std::min<size_t>(c.size(), 4));
    return k | (static_cast<uint64_t>(c.size()) << 32);
  }
  int32_t char_id(std::string_view c) const {
    if (c.size() > 4) return vocab_.find_normal(c);
    return char_table_.find(char_key(c));
  }
  // Id of the matchable piece spelled by the two symbols, or -1.
  int32_t merged_id(std::string_view text, int32_t a, int32_t b, uint32_t begin,
                    uint32_t length) const {
    if (a >= 0 && b >= 0) return pair_table_.find(pair_key(a, b));
    return vocab_.find_normal(text.substr(begin, length));  // an unknown character is involved
  }
  void maybe_add(std::string_view text, SpScratch* s, int32_t left, int32_t right) const {
    if (left < 0 || right < 0) return;
    const auto& l = s->symbols[left];
    const auto& r = s->symbols[right];
    if (l.freeze || r.freeze) return;
    const int32_t id = merged_id(text, l.id, r.id, l.begin, l.length + r.length);
    if (id < 0) return;
    s->heap.push_back({scores_[id], left, right, l.length + r.length});
    if (vocab_.has_unused() && vocab_.type(id) == SpPieceType::kUnused) s->rev_merge[id] = l.length;
    std::push_heap(s->heap.begin(), s->heap.end(), pair_less);
  }
  // UNUSED pieces are split back into the two pieces they were last merged from in this call
  // (sentencepiece's rev_merge), recursively.
  void resegment(std::string_view text, const SpScratch& s, uint32_t begin, uint32_t length,
                 std::vector<SpSegment>* out) const {
    const int32_t id = vocab_.piece_to_id(text.substr(begin, length));
    if (vocab_.type(id) == SpPieceType::kUnused) {
      if (auto it = s.rev_merge.find(id); it != s.rev_merge.end()) {
        resegment(text, s, begin, it->second, out);
        resegment(text, s, begin + it->second, length - it->second, out);
        return;
      }
    }
    out->push_back({begin, length, id});
  }

  const SpVocab& vocab_;
  SpPrefixMatcher matcher_;
  SpU64Map pair_table_;
  SpU64Map char_table_;
  std::vector<float> scores_;
  bool chunkable_ = false;
};

}  // namespace

std::unique_ptr<SpModel> make_sp_bpe_model(const SpVocab& vocab) {
  return std::make_unique<SpBpeModel>(vocab);
}

}  // namespace loom::text
