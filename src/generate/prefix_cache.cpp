#include "generate/prefix_cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace loom::generate {

namespace {

// The key of the prefix that ends with block [tokens, tokens + n), given the key of the prefix
// before it: FNV-1a over the ids, chained.
uint64_t chain_key(uint64_t parent, const int32_t* tokens, int64_t n) {
  uint64_t h = parent ^ 0xcbf29ce484222325ull;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t t;
    std::memcpy(&t, tokens + i, sizeof t);
    for (int b = 0; b < 4; ++b) h = (h ^ ((t >> (8 * b)) & 0xffu)) * 0x100000001b3ull;
  }
  return h;
}

}  // namespace

PrefixCache::PrefixCache(const models::LanguageModel& model, size_t max_bytes, int64_t block_tokens)
    : model_(model), max_bytes_(max_bytes), block_(block_tokens) {
  if (block_tokens < 1)
    throw Error("prefix cache: block size must be at least 1 token, got " +
                std::to_string(block_tokens));
}

PrefixCache::Lru::iterator PrefixCache::find(uint64_t key, const int32_t* tokens, int64_t end) {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return lru_.end();
  const std::vector<int32_t>& p = it->second->prefix;
  if (static_cast<int64_t>(p.size()) != end || !std::equal(p.begin(), p.end(), tokens))
    return lru_.end();  // a hash collision: a miss
  return it->second;
}

void PrefixCache::touch(const std::vector<Lru::iterator>& chain) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) lru_.splice(lru_.begin(), lru_, *it);
}

void PrefixCache::evict_to(size_t budget) {
  while (!lru_.empty() && stats_.bytes > budget) {
    const Block& b = lru_.back();
    stats_.bytes -= b.bytes();
    by_key_.erase(b.key);
    lru_.pop_back();
    ++stats_.evictions;
  }
  stats_.blocks = static_cast<int64_t>(lru_.size());
}

int64_t PrefixCache::restore(models::Session& s, const int32_t* tokens, int64_t limit) {
  s.reset();
  std::vector<Lru::iterator> chain;
  uint64_t key = 0;
  for (int64_t end = block_; end <= limit; end += block_) {
    key = chain_key(key, tokens + end - block_, block_);
    const Lru::iterator it = find(key, tokens, end);
    if (it == lru_.end()) break;
    chain.push_back(it);
  }
  for (size_t k = 0; k < chain.size(); ++k) {
    const int64_t from = static_cast<int64_t>(k) * block_;
    s.write_kv(from, from + block_, chain[k]->kv.data());
  }
  touch(chain);
  return static_cast<int64_t>(chain.size()) * block_;
}

void PrefixCache::store(const models::Session& s, const int32_t* tokens, int64_t n) {
  LOOM_ASSERT(n <= s.position(), "store beyond the session's position");
  std::vector<Lru::iterator> chain;
  size_t chain_bytes = 0;  // the chain stays at the front, so eviction never reaches it
  uint64_t key = 0;
  for (int64_t end = block_; end <= n; end += block_) {
    key = chain_key(key, tokens + end - block_, block_);
    Lru::iterator it = find(key, tokens, end);
    if (it == lru_.end()) {
      if (by_key_.count(key) != 0) break;  // a colliding prefix holds the key: keep it
      const size_t bytes = sizeof(int32_t) * static_cast<size_t>(end) +
                           sizeof(float) * static_cast<size_t>(s.kv_floats(block_));
      if (chain_bytes + bytes > max_bytes_) break;  // the budget ends the chain here
      evict_to(max_bytes_ - bytes);
      Block b{key, std::vector<int32_t>(tokens, tokens + end), {}};
      b.kv.reserve(static_cast<size_t>(s.kv_floats(block_)));
      s.read_kv(end - block_, end, b.kv);
      stats_.bytes += b.bytes();
      lru_.push_front(std::move(b));
      it = by_key_[key] = lru_.begin();
    } else {
      lru_.splice(lru_.begin(), lru_, it);
    }
    chain_bytes += it->bytes();
    chain.push_back(it);
  }
  touch(chain);
  stats_.blocks = static_cast<int64_t>(lru_.size());
}

void PrefixCache::prefill(models::Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n) {
  if (n <= 0) throw Error("prefill: the prompt has no tokens");
  const int64_t reused = restore(s, tokens, n - 1);
  model_.forward(s, pool, tokens + reused, n - reused);
  stats_.reused += reused;
  stats_.prefilled += n - reused;
  store(s, tokens, n);
}

}  // namespace loom::generate
