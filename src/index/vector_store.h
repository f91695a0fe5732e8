// Vectors and their caller ids, kept apart from any graph: slot i holds the vector of caller id
// ids[i]. Removal marks a tombstone; compact() drops tombstoned slots and says where each slot
// went.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/huge_pages.h"
#include "index/distance.h"

namespace loom::index {

inline constexpr uint32_t kNoSlot = 0xffffffffu;

class VectorStore {
 public:
  VectorStore(int64_t dim, Metric metric);

  int64_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  int64_t n_slots() const { return static_cast<int64_t>(ids_.size()); }
  int64_t n_deleted() const { return n_deleted_; }
  int64_t n_live() const { return n_slots() - n_deleted_; }

  const float* vector(uint32_t slot) const {
    return data_.data() + static_cast<size_t>(slot) * dim_;
  }
  uint64_t id(uint32_t slot) const { return ids_[slot]; }
  bool deleted(uint32_t slot) const { return deleted_[slot] != 0; }
  // Slot of a live id, or kNoSlot.
  uint32_t slot_of(uint64_t id) const;
  float distance(uint32_t a, uint32_t b) const {
    return index::distance(metric_, vector(a), vector(b), dim_);
  }
  float distance_to(const float* q, uint32_t slot) const {
    return index::distance(metric_, q, vector(slot), dim_);
  }

  // Checks the whole batch first (finite values, ids unique within the batch and not already
  // live), then appends; vectors is (ids.size(), dim) row-major. Cosine vectors are normalised.
  // Returns the first new slot. On error nothing is added.
  uint32_t append(std::span<const uint64_t> ids, const float* vectors);
  // Tombstones the ids; an unknown or already removed id is an error and nothing is removed.
  void remove(std::span<const uint64_t> ids);
  // Drops tombstoned slots, keeping order; returns old slot -> new slot (kNoSlot when dropped).
  std::vector<uint32_t> compact();
  // A query as the index compares it: copied, and normalised for cosine. Throws on NaN/Inf.
  std::vector<float> prepare_query(const float* q) const;

  // Bytes held: vectors, ids, tombstones, and the id -> slot hash map (its buckets plus an
  // estimated 32 bytes per node).
  int64_t memory_bytes() const {
    return static_cast<int64_t>(data_.size() * sizeof(float) + ids_.size() * 9 +
                                live_.bucket_count() * sizeof(void*) + live_.size() * 32);
  }
  // Raw access for the file format.
  const HugeVector<float>& data() const { return data_; }
  const std::vector<uint64_t>& ids() const { return ids_; }
  const std::vector<uint8_t>& tombstones() const { return deleted_; }
  // Rebuilds a store from saved parts; validates sizes and ids, throws loom::Error naming `what`.
  void restore(HugeVector<float> data, std::vector<uint64_t> ids, std::vector<uint8_t> deleted,
               const std::string& what);

 private:
  int64_t dim_;
  Metric metric_;
  HugeVector<float> data_;        // (n_slots, dim), on huge pages: searches read it at random
  std::vector<uint64_t> ids_;     // (n_slots)
  std::vector<uint8_t> deleted_;  // (n_slots) 1 = tombstone
  std::unordered_map<uint64_t, uint32_t> live_;
  int64_t n_deleted_ = 0;
};

}  // namespace loom::index
