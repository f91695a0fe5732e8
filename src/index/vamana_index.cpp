#include "index/vamana_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

#include "core/error.h"
#include "core/rng.h"
#include "index/index_file.h"

namespace loom::index {

namespace {
constexpr uint32_t kParams = fourcc("VAMP"), kGraph = fourcc("VGRF");
// PQ sections, present only when pq_subspaces > 0: "VPQP" u64 M; "VPQB" codebooks f32 (M, 256,
// dim/M), empty if never trained; "VPQC" codes u8 (n_slots, M).
constexpr uint32_t kPqParams = fourcc("VPQP"), kPqBook = fourcc("VPQB"), kPqCodes = fourcc("VPQC");
}  // namespace

// Plain values rather than a reference to the index: the beam's byte writes (its done flags) may
// alias anything, and copies in registers or on the stack spare the reloads through the index.
struct VamanaIndex::FullDist {
  const float* q;
  const float* base;     // (n_slots, dim) the store's vectors
  const float* entries;  // (entries_.size(), dim) copies of the entry vectors
  int64_t dim;
  Metric metric;
  int64_t prefetch_floats;
  FullDist(const VamanaIndex& ix, const float* query)
      : q(query),
        base(ix.store_.data().data()),
        entries(ix.entry_vectors_.data()),
        dim(ix.store_.dim()),
        metric(ix.store_.metric()),
        prefetch_floats(std::min<int64_t>(dim, 256)) {}
  float operator()(uint32_t s) const {
    return distance(metric, q, base + static_cast<size_t>(s) * dim, dim);
  }
  float entry(size_t i) const { return distance(metric, q, entries + i * dim, dim); }
  void prefetch(uint32_t s) const {
    prefetch_vector(base + static_cast<size_t>(s) * dim, prefetch_floats);
  }
};

struct VamanaIndex::PqDist {
  const VamanaIndex& ix;
  const float* table;  // (M, 256)
  int64_t M;
  float operator()(uint32_t s) const {
    return ProductQuantizer::adc(table, ix.codes_.data() + static_cast<size_t>(s) * M, M);
  }
  float entry(size_t i) const { return (*this)(ix.entries_[i]); }
  void prefetch(uint32_t s) const {
    const char* c = reinterpret_cast<const char*>(ix.codes_.data() + static_cast<size_t>(s) * M);
    for (int64_t off = 0; off < M; off += 64) __builtin_prefetch(c + off, 0, 3);
  }
};

VamanaIndex::VamanaIndex(int64_t dim, Metric metric, VamanaParams params)
    : Index(dim, metric), p_(params) {
  if (p_.pq_subspaces < 0) throw Error("vamana: pq_subspaces must be 0 (off) or positive");
  if (p_.pq_subspaces > 0) pq_ = std::make_unique<ProductQuantizer>(dim, p_.pq_subspaces);
  if (p_.R < 2 || p_.R > 512)
    throw Error("vamana: R must be in 2..512, got " + std::to_string(p_.R));
  if (p_.L < 1 || p_.L_search < 1) throw Error("vamana: L and L_search must be positive");
  if (!(p_.alpha >= 1.0f && p_.alpha <= 4.0f)) throw Error("vamana: alpha must be in 1..4");
}

int64_t VamanaIndex::memory_bytes() const {
  return Index::memory_bytes() +
         static_cast<int64_t>(graph_.size() * 4 + entries_.size() * 4 + entry_vectors_.size() * 4) +
         static_cast<int64_t>(codes_.size()) + (pq_ ? pq_->memory_bytes() : 0);
}

namespace {

// The k best neighbours a beam has seen that `accept` takes (none without one): a max-heap whose
// top is the worst kept.
class AcceptedBest {
 public:
  AcceptedBest(const SlotFilter* accept, int64_t k) : accept_(accept), k_(k) {}
  void offer(Neighbor nb) {
    if (accept_ == nullptr || !(*accept_)(nb.slot)) return;
    if (static_cast<int64_t>(best_.size()) < k_) {
      best_.push(nb);
    } else if (nb < best_.top()) {
      best_.pop();
      best_.push(nb);
    }
  }
  // Empties the heap into *hits, closest first.
  void drain_into(std::vector<Neighbor>* hits) {
    hits->resize(best_.size());
    for (size_t i = best_.size(); i-- > 0;) {
      (*hits)[i] = best_.top();
      best_.pop();
    }
  }

 private:
  const SlotFilter* accept_;
  int64_t k_;
  std::priority_queue<Neighbor> best_;
};

// Seeds *list (ascending, at most max_seeds) with the medoid and the closest of the entry sample
// (see choose_entries), marking them visited.
template <typename Dist>
void seed_beam(const Dist& dist, uint32_t medoid, const std::vector<uint32_t>& entries,
               size_t max_seeds, VisitedList& visited, std::vector<Neighbor>* list) {
  visited.visit(medoid);
  list->push_back({dist(medoid), medoid});
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!visited.visit(entries[i])) continue;
    list->push_back({dist.entry(i), entries[i]});
  }
  std::sort(list->begin(), list->end());
  if (list->size() > max_seeds) list->resize(max_seeds);
}

// The first position from `from` on whose links are not read yet (done.size() if none).
inline size_t first_unexpanded(const std::vector<uint8_t>& done, size_t from) {
  while (from < done.size() && done[from]) ++from;
  return from;
}

// Inserts e into the beam *list (ascending, at most L, done flags parallel to it) if it ranks
// among the L best; returns its position, or SIZE_MAX when it does not.
inline size_t beam_insert(std::vector<Neighbor>* list, std::vector<uint8_t>& done, Neighbor e,
                          int64_t L) {
  if (static_cast<int64_t>(list->size()) >= L && !(e < list->back())) return SIZE_MAX;
  auto pos = std::upper_bound(list->begin(), list->end(), e);
  size_t at = static_cast<size_t>(pos - list->begin());
  list->insert(pos, e);
  done.insert(done.begin() + static_cast<ptrdiff_t>(at), 0);
  if (static_cast<int64_t>(list->size()) > L) {
    list->pop_back();
    done.pop_back();
  }
  return at;
}

}  // namespace

template <bool kLocked, typename Dist>
void VamanaIndex::beam(const Dist& dist, int64_t L, VisitedList& visited,
                       std::vector<Neighbor>* list, std::vector<uint32_t>* expanded,
                       const SlotFilter* accept, int64_t k, std::vector<Neighbor>* hits) const {
  list->clear();
  if (expanded) expanded->clear();
  if (medoid_ == kNoSlot) return;
  visited.begin(static_cast<size_t>(store_.n_slots()));
  AcceptedBest best(accept, k);
  seed_beam(dist, medoid_, entries_, kSeeds, visited, list);
  std::vector<uint8_t> done(list->size(), 0);  // parallel to *list: links already read
  for (const Neighbor& s : *list) best.offer(s);
  uint32_t buf[513];
  size_t cur = 0;
  while (cur < list->size()) {
    uint32_t c = (*list)[cur].slot;
    done[cur] = 1;
    if (expanded) expanded->push_back(c);
    // The next node to expand is most likely the next unexpanded one: start fetching its list.
    const size_t next = first_unexpanded(done, cur + 1);
    if (next < list->size()) __builtin_prefetch(links((*list)[next].slot));
    const uint32_t fresh = fresh_neighbours<kLocked>(links(c), c, *locks_, visited, buf,
                                                     [&](uint32_t nb) { dist.prefetch(nb); });
    for (uint32_t j = 0; j < fresh; ++j) {
      Neighbor e{dist(buf[j]), buf[j]};
      best.offer(e);
      const size_t at = beam_insert(list, done, e, L);
      if (at < cur) cur = at;  // a closer unexpanded node appeared (never happens before cur+1)
    }
    cur = first_unexpanded(done, cur);
  }
  if (hits != nullptr) best.drain_into(hits);
}

void VamanaIndex::robust_prune(uint32_t p, std::vector<uint32_t>& candidates, float alpha,
                               std::vector<uint32_t>* out) const {
  std::vector<Neighbor> c;
  c.reserve(candidates.size());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (uint32_t s : candidates) {
    if (s != p) c.push_back({prune_dist(p, s), s});
  }
  std::sort(c.begin(), c.end());
  out->clear();
  std::vector<uint8_t> gone(c.size(), 0);
  for (size_t i = 0; i < c.size() && static_cast<int64_t>(out->size()) < p_.R; ++i) {
    if (gone[i]) continue;
    out->push_back(c[i].slot);
    for (size_t j = i + 1; j < c.size(); ++j) {
      if (!gone[j] && alpha * prune_dist(c[i].slot, c[j].slot) <= c[j].dist) gone[j] = 1;
    }
  }
}

void VamanaIndex::insert_one(uint32_t p, float alpha, VisitedList& visited) {
  std::vector<Neighbor> list;
  std::vector<uint32_t> cands, chosen;
  const FullDist dist(*this, store_.vector(p));
  beam<true>(dist, p_.L, visited, &list, &cands, nullptr, 0, nullptr);
  {
    std::lock_guard<std::mutex> g(locks_->of(p));
    const uint32_t* ls = links(p);
    cands.insert(cands.end(), ls + 1, ls + 1 + ls[0]);
  }
  robust_prune(p, cands, alpha, &chosen);
  {
    std::lock_guard<std::mutex> g(locks_->of(p));
    uint32_t* ls = links(p);
    ls[0] = static_cast<uint32_t>(chosen.size());
    std::copy(chosen.begin(), chosen.end(), ls + 1);
  }
  std::vector<uint32_t> nbrs, pruned;
  for (uint32_t j : chosen) {
    std::lock_guard<std::mutex> g(locks_->of(j));
    uint32_t* lj = links(j);
    if (std::find(lj + 1, lj + 1 + lj[0], p) != lj + 1 + lj[0]) continue;
    if (lj[0] < p_.R) {
      lj[1 + lj[0]] = p;
      ++lj[0];
      continue;
    }
    nbrs.assign(lj + 1, lj + 1 + lj[0]);
    nbrs.push_back(p);
    robust_prune(j, nbrs, alpha, &pruned);
    lj[0] = static_cast<uint32_t>(pruned.size());
    std::copy(pruned.begin(), pruned.end(), lj + 1);
  }
}

void VamanaIndex::pick_medoid(uint32_t first) {
  const int64_t dim = store_.dim();
  const uint32_t n = static_cast<uint32_t>(store_.n_slots());
  std::vector<double> mean(static_cast<size_t>(dim), 0.0);
  int64_t count = 0;
  for (uint32_t s = first; s < n; ++s) {
    if (store_.deleted(s)) continue;
    const float* v = store_.vector(s);
    for (int64_t j = 0; j < dim; ++j) mean[j] += v[j];
    ++count;
  }
  std::vector<float> c(static_cast<size_t>(dim));
  for (int64_t j = 0; j < dim; ++j)
    c[j] = static_cast<float>(mean[j] / std::max<int64_t>(count, 1));
  float best = std::numeric_limits<float>::infinity();
  medoid_ = kNoSlot;
  for (uint32_t s = first; s < n; ++s) {
    if (store_.deleted(s)) continue;
    float d = l2sq_f32(c.data(), store_.vector(s), dim);
    if (d < best) {
      best = d;
      medoid_ = s;
    }
  }
}

void VamanaIndex::choose_entries() {
  // About sqrt(n) live slots at a fixed stride: on clustered data a beam started only at the
  // medoid must find the one long edge into the query's cluster; starting from the closest of a
  // spread-out sample puts it there directly. Costs sqrt(n) distances per search.
  entries_.clear();
  entry_vectors_.clear();
  const uint32_t n = static_cast<uint32_t>(store_.n_slots());
  const int64_t live = store_.n_live();
  if (live == 0) return;
  const int64_t want = std::clamp<int64_t>(
      static_cast<int64_t>(std::sqrt(static_cast<double>(live))), 1, kMaxEntries);
  const int64_t stride = std::max<int64_t>(1, live / want);
  int64_t seen = 0;
  for (uint32_t s = 0; s < n; ++s) {
    if (store_.deleted(s)) continue;
    if (seen++ % stride == 0) entries_.push_back(s);
  }
  // A contiguous copy: scanning it streams through cache instead of missing once per entry.
  const int64_t d = store_.dim();
  entry_vectors_.resize(entries_.size() * static_cast<size_t>(d));
  for (size_t i = 0; i < entries_.size(); ++i) {
    std::copy(store_.vector(entries_[i]), store_.vector(entries_[i]) + d,
              entry_vectors_.data() + i * d);
  }
}

void VamanaIndex::insert_slots(uint32_t first, ThreadPool* pool) {
  const uint32_t n = static_cast<uint32_t>(store_.n_slots());
  graph_.resize(static_cast<size_t>(n) * stride(), 0);
  const bool fresh = medoid_ == kNoSlot;
  if (fresh) pick_medoid(first);
  choose_entries();
  if (pq_) update_codes(first, pool);
  // A seeded random insertion order (Fisher-Yates over the new slots).
  std::vector<uint32_t> order;
  for (uint32_t s = first; s < n; ++s)
    if (s != medoid_) order.push_back(s);
  Rng rng(p_.seed ^ first);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  auto pass = [&](float alpha) {
    auto body = [&](int64_t i) {
      auto visited = visited_.take();
      insert_one(order[static_cast<size_t>(i)], alpha, *visited);
    };
    if (pool != nullptr && pool->size() > 1) {
      pool->run(static_cast<int64_t>(order.size()), body);
    } else {
      for (size_t i = 0; i < order.size(); ++i) body(static_cast<int64_t>(i));
    }
  };
  if (fresh) {
    pass(1.0f);
    if (medoid_ != kNoSlot) order.push_back(medoid_);
  }
  pass(p_.alpha);
}

void VamanaIndex::update_codes(uint32_t first, ThreadPool* pool) {
  const uint32_t n = static_cast<uint32_t>(store_.n_slots());
  const int64_t M = pq_->subspaces(), d = store_.dim();
  if (!pq_->trained() && n > first) {
    // A seeded sample of the new slots (partial Fisher-Yates), in slot order for locality.
    std::vector<uint32_t> pick;
    for (uint32_t s = first; s < n; ++s)
      if (!store_.deleted(s)) pick.push_back(s);
    if (static_cast<int64_t>(pick.size()) > kPqMaxTrain) {
      Rng rng(p_.seed ^ 0x5051u);
      for (size_t i = 0; i < static_cast<size_t>(kPqMaxTrain); ++i)
        std::swap(pick[i], pick[i + rng.below(pick.size() - i)]);
      pick.resize(static_cast<size_t>(kPqMaxTrain));
      std::sort(pick.begin(), pick.end());
    }
    std::vector<float> sample(pick.size() * static_cast<size_t>(d));
    for (size_t i = 0; i < pick.size(); ++i)
      std::copy(store_.vector(pick[i]), store_.vector(pick[i]) + d, sample.data() + i * d);
    pq_->train(sample.data(), static_cast<int64_t>(pick.size()), p_.seed, pool);
  }
  codes_.resize(static_cast<size_t>(n) * M, 0);
  if (n > first) {
    pq_->encode(store_.vector(first), n - first, codes_.data() + static_cast<size_t>(first) * M,
                pool);
  }
}

void VamanaIndex::search_pq(const float* q, int64_t k, int64_t ef, const SlotFilter& accept,
                            std::vector<Neighbor>* out) const {
  const int64_t M = pq_->subspaces();
  std::vector<float> table(static_cast<size_t>(M * kPqCentroids));
  pq_->distance_table(q, store_.metric(), table.data());
  const PqDist dist{*this, table.data(), M};
  auto visited = visited_.take();
  const bool trivial = store_.n_deleted() == 0 && (accept.filter == nullptr || !*accept.filter);
  std::vector<Neighbor> list;
  if (trivial) {
    beam<false>(dist, ef, *visited, out, nullptr, nullptr, 0, nullptr);
  } else {
    // Keep the ef best accepted by ADC, not just k: the re-rank below chooses among them.
    beam<false>(dist, ef, *visited, &list, nullptr, &accept, ef, out);
  }
  // Re-rank with full-precision distances (DiskANN's final step).
  for (Neighbor& nb : *out) nb.dist = store_.distance_to(q, nb.slot);
  std::sort(out->begin(), out->end());
  if (static_cast<int64_t>(out->size()) > k) out->resize(static_cast<size_t>(k));
}

void VamanaIndex::search_one(const float* q, int64_t k, int64_t ef, const SlotFilter& accept,
                             std::vector<Neighbor>* out) const {
  if (pq_ && pq_->trained()) {
    search_pq(q, k, ef, accept, out);
    return;
  }
  auto visited = visited_.take();
  const bool trivial = store_.n_deleted() == 0 && (accept.filter == nullptr || !*accept.filter);
  const FullDist dist(*this, q);
  if (trivial) {
    beam<false>(dist, ef, *visited, out, nullptr, nullptr, 0, nullptr);
    if (static_cast<int64_t>(out->size()) > k) out->resize(static_cast<size_t>(k));
  } else {
    std::vector<Neighbor> list;
    beam<false>(dist, ef, *visited, &list, nullptr, &accept, k, out);
  }
}

void VamanaIndex::repair_deleted(ThreadPool* pool) {
  const uint32_t n = static_cast<uint32_t>(store_.n_slots());
  std::vector<std::vector<uint32_t>> fresh(n);
  std::vector<uint8_t> changed(n, 0);
  auto fix = [&](int64_t i) {
    uint32_t p = static_cast<uint32_t>(i);
    if (store_.deleted(p)) return;
    const uint32_t* ls = links(p);
    bool touched = false;
    for (uint32_t j = 0; j < ls[0]; ++j) touched |= store_.deleted(ls[1 + j]);
    if (!touched) return;
    std::vector<uint32_t> cands;
    for (uint32_t j = 0; j < ls[0]; ++j) {
      uint32_t nb = ls[1 + j];
      if (!store_.deleted(nb)) {
        cands.push_back(nb);
        continue;
      }
      const uint32_t* dl = links(nb);
      for (uint32_t t = 0; t < dl[0]; ++t)
        if (!store_.deleted(dl[1 + t])) cands.push_back(dl[1 + t]);
    }
    robust_prune(p, cands, p_.alpha, &fresh[p]);
    changed[p] = 1;
  };
  if (pool != nullptr && pool->size() > 1) {
    pool->run(n, fix);
  } else {
    for (uint32_t p = 0; p < n; ++p) fix(p);
  }
  for (uint32_t p = 0; p < n; ++p) {
    if (!changed[p]) continue;
    uint32_t* ls = links(p);
    ls[0] = static_cast<uint32_t>(fresh[p].size());
    std::copy(fresh[p].begin(), fresh[p].end(), ls + 1);
  }
  if (medoid_ != kNoSlot && store_.deleted(medoid_)) {
    const float* old = store_.vector(medoid_);
    float best = std::numeric_limits<float>::infinity();
    uint32_t pick = kNoSlot;
    for (uint32_t s = 0; s < n; ++s) {
      if (store_.deleted(s)) continue;
      float d = l2sq_f32(old, store_.vector(s), store_.dim());
      if (d < best) {
        best = d;
        pick = s;
      }
    }
    medoid_ = pick;
  }
}

void VamanaIndex::remap_slots(const std::vector<uint32_t>& remap) {
  const size_t n_new = static_cast<size_t>(store_.n_slots());
  HugeVector<uint32_t> g(n_new * stride(), 0);
  for (uint32_t s = 0; s < remap.size(); ++s) {
    uint32_t t = remap[s];
    if (t == kNoSlot) continue;
    const uint32_t* src = links(s);
    uint32_t* dst = g.data() + static_cast<size_t>(t) * stride();
    uint32_t w = 0;
    for (uint32_t j = 0; j < src[0]; ++j) {
      uint32_t m = remap[src[1 + j]];
      if (m != kNoSlot) dst[1 + w++] = m;
    }
    dst[0] = w;
  }
  graph_ = std::move(g);
  if (pq_) {
    const size_t M = static_cast<size_t>(pq_->subspaces());
    HugeVector<uint8_t> codes(n_new * M, 0);
    for (uint32_t s = 0; s < remap.size(); ++s) {
      if (remap[s] == kNoSlot) continue;
      std::copy(codes_.data() + s * M, codes_.data() + (s + 1) * M, codes.data() + remap[s] * M);
    }
    codes_ = std::move(codes);
  }
  medoid_ = medoid_ == kNoSlot ? kNoSlot : remap[medoid_];
  choose_entries();
}

void VamanaIndex::write_sections(FileWriter& w) const {
  FieldWriter p;
  p.put<uint64_t>(p_.R).put<uint64_t>(p_.L).put<double>(p_.alpha).put<uint64_t>(p_.L_search);
  p.put<uint64_t>(p_.seed).put<uint64_t>(medoid_);
  w.add(kParams, p.bytes());
  w.add_array(kGraph, graph_);
  if (pq_) {
    w.add(kPqParams, FieldWriter().put<uint64_t>(pq_->subspaces()).bytes());
    w.add_array(kPqBook, pq_->codebooks());
    w.add_array(kPqCodes, codes_);
  }
}

void VamanaIndex::read_pq_sections(const FileReader& r) {
  const std::string& name = r.name();
  pq_.reset();
  codes_.clear();
  p_.pq_subspaces = 0;
  if (!r.has(kPqParams)) return;
  std::string_view s = r.section(kPqParams);
  if (s.size() != 8) r.size_error(kPqParams, 8, s.size());
  uint64_t M;
  std::memcpy(&M, s.data(), 8);
  const uint64_t dim = static_cast<uint64_t>(store_.dim());
  if (M < 1 || M > dim || dim % M != 0) {
    throw Error(name + ": VPQP subspaces " + std::to_string(M) + " do not divide dimension " +
                std::to_string(dim));
  }
  auto pq = std::make_unique<ProductQuantizer>(store_.dim(), static_cast<int64_t>(M));
  const size_t n = static_cast<size_t>(store_.n_slots());
  const size_t book_floats = static_cast<size_t>(kPqCentroids) * dim;
  std::string_view b = r.section(kPqBook);
  if (b.size() != 0 && b.size() != book_floats * 4)
    r.size_error(kPqBook, book_floats * 4, b.size());
  if (b.empty() && n > 0) throw Error(name + ": VPQB is empty but the index holds vectors");
  pq->restore(r.array<float>(kPqBook, b.size() / 4), name);
  codes_ = r.array<uint8_t, HugePageAllocator<uint8_t>>(kPqCodes, n * M);
  pq_ = std::move(pq);
  p_.pq_subspaces = static_cast<int64_t>(M);
}

void VamanaIndex::read_sections(const FileReader& r) {
  const std::string& name = r.name();
  std::string_view s = r.section(kParams);
  if (s.size() != 48) r.size_error(kParams, 48, s.size());
  uint64_t R, L, L_search, seed, medoid;
  double alpha;
  std::memcpy(&R, s.data(), 8);
  std::memcpy(&L, s.data() + 8, 8);
  std::memcpy(&alpha, s.data() + 16, 8);
  std::memcpy(&L_search, s.data() + 24, 8);
  std::memcpy(&seed, s.data() + 32, 8);
  std::memcpy(&medoid, s.data() + 40, 8);
  if (R < 2 || R > 512 || L < 1 || L > (1u << 30) || L_search < 1 || L_search > (1u << 30) ||
      !(alpha >= 1.0 && alpha <= 4.0)) {
    throw Error(name + ": VAMP parameters out of range");
  }
  p_ = VamanaParams{static_cast<int64_t>(R), static_cast<int64_t>(L), static_cast<float>(alpha),
                    static_cast<int64_t>(L_search), seed};
  const size_t n = static_cast<size_t>(store_.n_slots());
  graph_ = r.array<uint32_t, HugePageAllocator<uint32_t>>(kGraph, n * stride());
  for (uint32_t v = 0; v < n; ++v) {
    const uint32_t* ls = links(v);
    if (ls[0] > R) throw Error(name + ": slot " + std::to_string(v) + " has more than R links");
    for (uint32_t j = 0; j < ls[0]; ++j) {
      if (ls[1 + j] >= n) {
        throw Error(name + ": slot " + std::to_string(v) + " links to invalid slot " +
                    std::to_string(ls[1 + j]));
      }
    }
  }
  if (medoid != kNoSlot && medoid >= n) throw Error(name + ": VAMP medoid out of range");
  if (medoid == kNoSlot && n > 0) throw Error(name + ": VAMP has nodes but no medoid");
  medoid_ = static_cast<uint32_t>(medoid);
  read_pq_sections(r);
  choose_entries();  // derived from the stored slots, so a reloaded index answers identically
}

}  // namespace loom::index
