// One interface for every vector index: add with caller ids, k-NN search with an optional filter
// over caller ids, remove as tombstones plus consolidate, save/load (index_file.h).
//
// Threading: search() is const and may run from many threads at once; add(), remove() and
// consolidate() need exclusive access. A ThreadPool, when given, parallelises inside one call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/threads.h"
#include "index/vector_store.h"

namespace loom::index {

inline constexpr uint64_t kNoId = ~0ull;

struct SearchParams {
  // Beam width: HNSW efSearch, Vamana search list L; 0 = the index's default. Raised to k.
  int64_t ef = 0;
  // Keep only caller ids for which filter(id) is true; empty = no filter. Search still returns k
  // results whenever k live vectors pass it (falling back to exact search when it must).
  std::function<bool(uint64_t)> filter;
  // Parallelises over queries when given.
  ThreadPool* pool = nullptr;
};

// (n_queries, k) row-major; missing results have id kNoId and distance +inf.
struct SearchResults {
  int64_t n_queries = 0, k = 0;
  std::vector<uint64_t> ids;
  std::vector<float> distances;  // smaller is closer (see distance.h)
};

struct Neighbor {
  float dist;
  uint32_t slot;
  bool operator<(const Neighbor& o) const {
    return dist < o.dist || (dist == o.dist && slot < o.slot);
  }
};

// Accepts a slot as a result: live and passing the caller's filter.
struct SlotFilter {
  const VectorStore* store;
  const std::function<bool(uint64_t)>* filter;  // null or empty = all
  bool operator()(uint32_t slot) const {
    if (store->deleted(slot)) return false;
    return filter == nullptr || !*filter || (*filter)(store->id(slot));
  }
};

class FileWriter;
class FileReader;

class Index {
 public:
  explicit Index(int64_t dim, Metric metric) : store_(dim, metric) {}
  virtual ~Index() = default;
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  virtual std::string_view kind() const = 0;  // "flat", "hnsw", "vamana"
  int64_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  int64_t size() const { return store_.n_live(); }
  int64_t n_deleted() const { return store_.n_deleted(); }
  const VectorStore& store() const { return store_; }
  // Throws loom::Error when a caller's vectors have `cols` columns instead of dim(); `what`
  // names them ("queries.npy").
  void check_dim(int64_t cols, const std::string& what) const;
  // Bytes held for vectors, ids and graph (not counting transient scratch).
  virtual int64_t memory_bytes() const;

  // vectors (ids.size(), dim) row-major. Bad input (NaN, duplicate ids) throws before any change.
  void add(std::span<const uint64_t> ids, const float* vectors, ThreadPool* pool = nullptr);
  // queries (n_queries, dim) row-major.
  SearchResults search(const float* queries, int64_t n_queries, int64_t k,
                       const SearchParams& params = {}) const;
  void remove(std::span<const uint64_t> ids) { store_.remove(ids); }
  // Repairs the graph around tombstoned slots, then drops them.
  void consolidate(ThreadPool* pool = nullptr);

  // Writes the type-specific sections (after the common ones) / reads them back.
  virtual void write_sections(FileWriter& w) const = 0;
  virtual void read_sections(const FileReader& r) = 0;
  VectorStore& mutable_store() { return store_; }

 protected:
  // Index the slots [first, n_slots) that append() just added.
  virtual void insert_slots(uint32_t first, ThreadPool* pool) = 0;
  // Up to k accepted neighbours of q (prepared), ascending, into *out. ef >= k.
  virtual void search_one(const float* q, int64_t k, int64_t ef, const SlotFilter& accept,
                          std::vector<Neighbor>* out) const = 0;
  virtual int64_t default_ef() const { return 0; }
  // Rewire around tombstones (called before compaction) and apply old->new slot numbers.
  virtual void repair_deleted(ThreadPool* pool) {}
  virtual void remap_slots(const std::vector<uint32_t>& remap) {}
  virtual bool exact() const { return false; }

  VectorStore store_;
};

// Exact k nearest accepted slots of q over the whole store, ascending (ties by slot).
void exact_search(const VectorStore& store, const float* q, int64_t k, const SlotFilter& accept,
                  std::vector<Neighbor>* out);

}  // namespace loom::index
