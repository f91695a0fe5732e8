#include "index/index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

#include "core/error.h"

namespace loom::index {

int64_t Index::memory_bytes() const { return store_.memory_bytes(); }

void Index::check_dim(int64_t cols, const std::string& what) const {
  if (cols != dim()) {
    throw Error(what + ": dimension mismatch, vectors have " + std::to_string(cols) +
                " columns but the index has dimension " + std::to_string(dim()));
  }
}

void Index::add(std::span<const uint64_t> ids, const float* vectors, ThreadPool* pool) {
  if (ids.empty()) return;
  uint32_t first = store_.append(ids, vectors);
  insert_slots(first, pool);
}

void exact_search(const VectorStore& store, const float* q, int64_t k, const SlotFilter& accept,
                  std::vector<Neighbor>* out) {
  std::priority_queue<Neighbor> heap;  // max-heap of the k best so far
  const uint32_t n = static_cast<uint32_t>(store.n_slots());
  for (uint32_t s = 0; s < n; ++s) {
    if (!accept(s)) continue;
    Neighbor nb{store.distance_to(q, s), s};
    if (static_cast<int64_t>(heap.size()) < k) {
      heap.push(nb);
    } else if (nb < heap.top()) {
      heap.pop();
      heap.push(nb);
    }
  }
  out->resize(heap.size());
  for (size_t i = heap.size(); i-- > 0;) {
    (*out)[i] = heap.top();
    heap.pop();
  }
}

namespace {

// Fraction of live slots passing the filter, from a fixed stride sample of up to 1024 slots.
double estimate_selectivity(const VectorStore& store, const SlotFilter& accept) {
  const int64_t n = store.n_slots();
  if (n == 0) return 0;
  int64_t step = std::max<int64_t>(1, n / 1024), seen = 0, hits = 0;
  for (int64_t s = 0; s < n; s += step) {
    if (store.deleted(static_cast<uint32_t>(s))) continue;
    ++seen;
    hits += accept(static_cast<uint32_t>(s)) ? 1 : 0;
  }
  return seen == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(seen);
}

}  // namespace

SearchResults Index::search(const float* queries, int64_t n_queries, int64_t k,
                            const SearchParams& params) const {
  if (k <= 0) throw Error("index search: k must be positive, got " + std::to_string(k));
  if (n_queries < 0) throw Error("index search: negative number of queries");
  SearchResults res;
  res.n_queries = n_queries;
  res.k = k;
  res.ids.assign(static_cast<size_t>(n_queries * k), kNoId);
  res.distances.assign(static_cast<size_t>(n_queries * k), std::numeric_limits<float>::infinity());
  // Validate every query before searching any.
  std::vector<std::vector<float>> prepared(static_cast<size_t>(n_queries));
  for (int64_t i = 0; i < n_queries; ++i) prepared[i] = store_.prepare_query(queries + i * dim());

  const SlotFilter accept{&store_, &params.filter};
  const bool filtered = static_cast<bool>(params.filter) || store_.n_deleted() > 0;
  int64_t ef = std::max<int64_t>(params.ef > 0 ? params.ef : default_ef(), k);
  bool go_exact = exact();
  double selectivity = 1;
  if (!go_exact && filtered) {
    selectivity = estimate_selectivity(store_, accept);
    // A graph walk through mostly rejected nodes costs more than scanning the matches.
    if (selectivity < 0.02 || selectivity * static_cast<double>(store_.n_live()) < 4.0 * ef) {
      go_exact = true;
    } else {
      // Only a fraction `selectivity` of the nodes a beam visits can be results: widen it.
      ef = std::min<int64_t>(static_cast<int64_t>(std::ceil(ef / selectivity)), 16 * ef);
    }
  }

  auto run_one = [&](int64_t qi) {
    std::vector<Neighbor> found;
    const float* q = prepared[qi].data();
    if (go_exact) {
      exact_search(store_, q, k, accept, &found);
    } else {
      search_one(q, k, ef, accept, &found);
      // Widen once, then fall back to the exact scan: k results whenever k matches exist.
      if (static_cast<int64_t>(found.size()) < k && filtered) {
        search_one(q, k, ef * 4, accept, &found);
        if (static_cast<int64_t>(found.size()) < k) exact_search(store_, q, k, accept, &found);
      }
    }
    for (size_t j = 0; j < found.size() && static_cast<int64_t>(j) < k; ++j) {
      res.ids[qi * k + j] = store_.id(found[j].slot);
      res.distances[qi * k + j] = found[j].dist;
    }
  };
  if (params.pool != nullptr && params.pool->size() > 1 && n_queries > 1) {
    params.pool->run(n_queries, run_one);
  } else {
    for (int64_t i = 0; i < n_queries; ++i) run_one(i);
  }
  return res;
}

void Index::consolidate(ThreadPool* pool) {
  if (store_.n_deleted() == 0) return;
  repair_deleted(pool);
  std::vector<uint32_t> remap = store_.compact();
  remap_slots(remap);
}

}  // namespace loom::index
