// Vamana, the graph of DiskANN (Subramanya et al. 2019), held in memory: greedy beam search from
// a medoid, robust prune with parameter alpha, two build passes (alpha = 1, then alpha), a
// parallel build with per-node (striped) locks, and FreshDiskANN-style repair of deletions.
// Pruning compares squared Euclidean distances for every metric (alpha needs a true distance).
// Beams start from the medoid plus the closest few of a sqrt(n) sample of slots (a Loom addition
// that keeps well-separated clusters reachable).
//
// Optional product quantisation (pq_subspaces = M > 0, as in DiskANN): every vector also gets an
// M-byte PQ code; searches walk the graph ranking candidates by ADC distance over the codes (M
// table lookups instead of dim multiply-adds, from a compact array), then re-rank the final list
// with the full-precision vectors. Building, pruning and repair keep using full vectors.
#pragma once

#include <memory>

#include "index/index.h"
#include "index/pq.h"
#include "index/visited.h"

namespace loom::index {

struct VamanaParams {
  int64_t R = 32;            // maximum out-degree
  int64_t L = 64;            // search list size while building
  float alpha = 1.2f;        // prune slack of the second pass
  int64_t L_search = 64;     // default search list size
  uint64_t seed = 7;         // insertion order (and PQ training sample and k-means)
  int64_t pq_subspaces = 0;  // PQ code bytes per vector; 0 = off. Must divide dim.
};

class VamanaIndex : public Index {
 public:
  VamanaIndex(int64_t dim, Metric metric, VamanaParams params = {});
  std::string_view kind() const override { return "vamana"; }
  const VamanaParams& params() const { return p_; }
  uint32_t medoid() const { return medoid_; }
  // Null unless pq_subspaces > 0; codes are (n_slots, M), trained on the first add.
  const ProductQuantizer* pq() const { return pq_.get(); }
  const HugeVector<uint8_t>& pq_codes() const { return codes_; }
  int64_t memory_bytes() const override;
  void write_sections(FileWriter& w) const override;
  void read_sections(const FileReader& r) override;

 protected:
  void insert_slots(uint32_t first, ThreadPool* pool) override;
  void search_one(const float* q, int64_t k, int64_t ef, const SlotFilter& accept,
                  std::vector<Neighbor>* out) const override;
  int64_t default_ef() const override { return p_.L_search; }
  void repair_deleted(ThreadPool* pool) override;
  void remap_slots(const std::vector<uint32_t>& remap) override;

 private:
  int64_t stride() const { return 1 + p_.R; }
  uint32_t* links(uint32_t s) { return graph_.data() + static_cast<size_t>(s) * stride(); }
  const uint32_t* links(uint32_t s) const {
    return graph_.data() + static_cast<size_t>(s) * stride();
  }
  float prune_dist(uint32_t a, uint32_t b) const {
    return l2sq_f32(store_.vector(a), store_.vector(b), store_.dim());
  }
  // Beam distance sources: full vectors, or ADC over PQ codes (defined in the .cpp).
  struct FullDist;
  struct PqDist;
  // Beam search from the medoid ranked by dist; *list gets the L best seen (ascending), *expanded
  // (optional) every node whose links were read. accept (optional) collects the k best accepted
  // into *hits.
  template <bool kLocked, typename Dist>
  void beam(const Dist& dist, int64_t L, VisitedList& visited, std::vector<Neighbor>* list,
            std::vector<uint32_t>* expanded, const SlotFilter* accept, int64_t k,
            std::vector<Neighbor>* hits) const;
  // candidates (slots) -> at most R diverse neighbours of p written to p's list.
  void robust_prune(uint32_t p, std::vector<uint32_t>& candidates, float alpha,
                    std::vector<uint32_t>* out) const;
  void insert_one(uint32_t p, float alpha, VisitedList& visited);
  void pick_medoid(uint32_t first);
  // Trains the quantizer on the first add (a seeded sample of at most kPqMaxTrain new vectors),
  // then encodes the slots [first, n_slots).
  void update_codes(uint32_t first, ThreadPool* pool);
  void read_pq_sections(const FileReader& r);
  void search_pq(const float* q, int64_t k, int64_t ef, const SlotFilter& accept,
                 std::vector<Neighbor>* out) const;
  void choose_entries();

  static constexpr size_t kSeeds = 4;           // beam seeds taken from the entry sample
  static constexpr int64_t kMaxEntries = 1024;  // entry sample size cap (about sqrt(n))

  VamanaParams p_;
  HugeVector<uint32_t> graph_;  // (n_slots, 1 + R): count, then neighbours; on huge pages
  uint32_t medoid_ = kNoSlot;
  std::vector<uint32_t> entries_;         // spread-out sample of live slots used to seed beams
  std::vector<float> entry_vectors_;      // (entries_.size(), dim) copies of their vectors
  std::unique_ptr<ProductQuantizer> pq_;  // null when PQ is off
  HugeVector<uint8_t> codes_;             // (n_slots, M) PQ codes
  mutable VisitedPool visited_;
  std::unique_ptr<NodeLocks> locks_ = std::make_unique<NodeLocks>();
};

}  // namespace loom::index
