// Hierarchical Navigable Small World graph (Malkov & Yashunin), with the neighbour-selection
// heuristic, a parallel build with per-node (striped) locks, and tombstone repair on consolidate.
// With one thread the build is deterministic for a seed: a node's level is a hash of (seed, slot).
#pragma once

#include <memory>

#include "index/index.h"
#include "index/visited.h"

namespace loom::index {

struct HnswParams {
  int64_t M = 16;                 // links per node on levels >= 1; level 0 keeps 2M
  int64_t ef_construction = 200;  // beam width while inserting
  int64_t ef_search = 64;         // default beam width for search
  uint64_t seed = 100;
};

class HnswIndex : public Index {
 public:
  HnswIndex(int64_t dim, Metric metric, HnswParams params = {});
  std::string_view kind() const override { return "hnsw"; }
  const HnswParams& params() const { return p_; }
  int max_level() const { return max_level_; }
  int64_t memory_bytes() const override;
  void write_sections(FileWriter& w) const override;
  void read_sections(const FileReader& r) override;

 protected:
  void insert_slots(uint32_t first, ThreadPool* pool) override;
  void search_one(const float* q, int64_t k, int64_t ef, const SlotFilter& accept,
                  std::vector<Neighbor>* out) const override;
  int64_t default_ef() const override { return p_.ef_search; }
  void repair_deleted(ThreadPool* pool) override;
  void remap_slots(const std::vector<uint32_t>& remap) override;

 private:
  int64_t max_links(int level) const { return level == 0 ? m0_ : p_.M; }
  int64_t stride(int level) const { return 1 + max_links(level); }
  // [count, neighbours...] of a slot at a level.
  uint32_t* links(uint32_t s, int level) {
    return level == 0 ? links0_.data() + static_cast<size_t>(s) * stride(0)
                      : upper_[s].data() + static_cast<size_t>(level - 1) * stride(1);
  }
  const uint32_t* links(uint32_t s, int level) const {
    return const_cast<HnswIndex*>(this)->links(s, level);
  }
  int draw_level(uint32_t slot) const;
  void insert(uint32_t slot, VisitedList& visited);
  void connect(uint32_t from, uint32_t to, int level);
  uint32_t greedy(const float* q, uint32_t cur, int from_level, int to_level, bool locked) const;
  template <bool kLocked>
  void search_layer(const float* q, const std::vector<Neighbor>& entry, int64_t ef, int level,
                    VisitedList& visited, const SlotFilter* accept,
                    std::vector<Neighbor>* out) const;
  // candidates ascending by distance to the base node -> at most m diverse ones.
  void select(const std::vector<Neighbor>& candidates, int64_t m, std::vector<Neighbor>* out) const;

  HnswParams p_;
  int64_t m0_;
  double level_mult_;
  HugeVector<uint32_t> links0_;               // (n_slots, 1 + 2M), on huge pages
  std::vector<std::vector<uint32_t>> upper_;  // slot -> levels 1..level, each (1 + M)
  std::vector<uint8_t> level_;                // (n_slots)
  uint32_t entry_ = kNoSlot;
  int max_level_ = -1;
  mutable VisitedPool visited_;
  std::unique_ptr<NodeLocks> locks_ = std::make_unique<NodeLocks>();
  std::mutex global_;  // entry point and max level during a parallel build
};

}  // namespace loom::index
