// Prefix cache: the key/value rows of prompt prefixes (a system prompt, a retrieved document)
// kept across requests and sequences, so a prompt that starts with a cached prefix skips that
// part of its prefill.
//
// Prompts are cut into blocks of block_tokens tokens; block k of a prompt is cached under the hash
// of the whole prefix up to its end (tokens [0, (k+1)·block)) and holds the KV rows of its own
// positions for every layer. A lookup walks a prompt's blocks from the first and stops at the
// first one not cached, so a longer prompt reuses a shorter one's blocks. Every entry keeps its
// whole prefix and is compared token by token: a hash collision costs a miss, never wrong rows.
// Memory is bounded: entries (KV rows + token ids) stay under max_bytes, least recently used
// evicted first; a lookup refreshes a prompt's blocks deepest first, so a prefix is always newer
// than its continuations and eviction trims chains from their ends.
//
// Results are those of a full prefill: the rows copied in are the ones the same model computed
// for the same tokens at the same positions, and the last token of a prompt always runs (the
// logits come from a real forward). Not thread-safe: one cache serves one thread at a time (the
// server's batching loop).
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "core/threads.h"
#include "models/model.h"

namespace loom::generate {

struct PrefixCacheStats {
  int64_t prefilled = 0;  // prompt tokens run through the model by prefill()
  int64_t reused = 0;     // prompt tokens whose KV rows came from the cache
  int64_t evictions = 0;  // blocks dropped to stay under the budget
  int64_t blocks = 0;     // blocks held now
  size_t bytes = 0;       // bytes held now (KV rows and token ids)
};

class PrefixCache {
 public:
  // max_bytes: the budget for held blocks; block_tokens >= 1: the unit of reuse.
  PrefixCache(const models::LanguageModel& model, size_t max_bytes, int64_t block_tokens = 64);

  // Prefills s (reset first) with tokens (n >= 1), as model.forward(s, pool, tokens, n) would:
  // the longest cached run of whole blocks of at most n - 1 tokens is copied in, the rest runs
  // through the model, and the prompt's whole blocks not yet cached are stored. s.logits() are
  // the last token's.
  void prefill(models::Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n);
  // The two halves of prefill. restore: copies the longest cached block run of tokens[0, limit)
  // into s (reset first) and returns its length (a multiple of block_tokens, 0 when none).
  int64_t restore(models::Session& s, const int32_t* tokens, int64_t limit);
  // store: caches every whole block of tokens[0, n) not yet held, from s (s.position() >= n).
  void store(const models::Session& s, const int32_t* tokens, int64_t n);

  const PrefixCacheStats& stats() const { return stats_; }
  int64_t block_tokens() const { return block_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  struct Block {
    uint64_t key;
    std::vector<int32_t> prefix;  // tokens [0, end of this block)
    std::vector<float> kv;        // Session::read_kv rows of this block's positions
    size_t bytes() const { return sizeof(int32_t) * prefix.size() + sizeof(float) * kv.size(); }
  };
  using Lru = std::list<Block>;  // most recently used first

  // The held block that ends tokens[0, end) (end a multiple of the block), or end().
  Lru::iterator find(uint64_t key, const int32_t* tokens, int64_t end);
  // Marks a prompt's chain of blocks (shallowest first) as just used, the shallowest frontmost.
  void touch(const std::vector<Lru::iterator>& chain);
  void evict_to(size_t budget);

  const models::LanguageModel& model_;
  size_t max_bytes_;
  int64_t block_;
  Lru lru_;
  std::unordered_map<uint64_t, Lru::iterator> by_key_;
  PrefixCacheStats stats_;
};

}  // namespace loom::generate
