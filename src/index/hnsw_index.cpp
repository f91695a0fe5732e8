#include "index/hnsw_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

#include "core/error.h"
#include "index/index_file.h"

namespace loom::index {

namespace {

constexpr uint32_t kParams = fourcc("HNSP"), kLinks0 = fourcc("HLK0"), kLevels = fourcc("HLVL"),
                   kUpper = fourcc("HUPR");
constexpr int kMaxLevel = 31;

uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct Farther {  // max-heap order
  bool operator()(const Neighbor& a, const Neighbor& b) const { return a < b; }
};
struct Closer {  // min-heap order
  bool operator()(const Neighbor& a, const Neighbor& b) const { return b < a; }
};

}  // namespace

HnswIndex::HnswIndex(int64_t dim, Metric metric, HnswParams params)
    : Index(dim, metric), p_(params) {
  if (p_.M < 2 || p_.M > 256) throw Error("hnsw: M must be in 2..256, got " + std::to_string(p_.M));
  if (p_.ef_construction < 1) throw Error("hnsw: ef_construction must be positive");
  if (p_.ef_search < 1) throw Error("hnsw: ef_search must be positive");
  m0_ = 2 * p_.M;
  level_mult_ = 1.0 / std::log(static_cast<double>(p_.M));
}

int64_t HnswIndex::memory_bytes() const {
  int64_t b = Index::memory_bytes() + static_cast<int64_t>(links0_.size() * 4 + level_.size());
  for (const auto& u : upper_) b += static_cast<int64_t>(u.size() * 4 + sizeof(u));
  return b;
}

int HnswIndex::draw_level(uint32_t slot) const {
  uint64_t h = mix64(p_.seed ^ mix64(slot));
  double u = (static_cast<double>(h >> 11) + 1.0) * (1.0 / 9007199254740992.0);  // (0, 1]
  int l = static_cast<int>(-std::log(u) * level_mult_);
  return std::min(l, kMaxLevel);
}

void HnswIndex::insert_slots(uint32_t first, ThreadPool* pool) {
  const size_t n = static_cast<size_t>(store_.n_slots());
  links0_.resize(n * stride(0), 0);
  level_.resize(n, 0);
  upper_.resize(n);
  for (uint32_t s = first; s < n; ++s) {
    level_[s] = static_cast<uint8_t>(draw_level(s));
    upper_[s].assign(static_cast<size_t>(level_[s]) * stride(1), 0);
  }
  auto body = [&](int64_t i) {
    auto visited = visited_.take();
    insert(first + static_cast<uint32_t>(i), *visited);
  };
  const int64_t count = static_cast<int64_t>(n - first);
  if (pool != nullptr && pool->size() > 1) {
    pool->run(count, body);
  } else {
    for (int64_t i = 0; i < count; ++i) body(i);
  }
}

uint32_t HnswIndex::greedy(const float* q, uint32_t cur, int from_level, int to_level,
                           bool locked) const {
  float cur_d = store_.distance_to(q, cur);
  std::vector<uint32_t> buf;
  for (int l = from_level; l > to_level; --l) {
    bool changed = true;
    while (changed) {
      changed = false;
      const uint32_t* ls = links(cur, l);
      if (locked) {
        std::lock_guard<std::mutex> g(locks_->of(cur));
        buf.assign(ls + 1, ls + 1 + ls[0]);
      } else {
        buf.assign(ls + 1, ls + 1 + ls[0]);
      }
      for (uint32_t nb : buf) {
        float d = store_.distance_to(q, nb);
        if (d < cur_d) {
          cur_d = d;
          cur = nb;
          changed = true;
        }
      }
    }
  }
  return cur;
}

template <bool kLocked>
void HnswIndex::search_layer(const float* q, const std::vector<Neighbor>& entry, int64_t ef,
                             int level, VisitedList& visited, const SlotFilter* accept,
                             std::vector<Neighbor>* out) const {
  std::vector<Neighbor> cand_store, top_store;
  cand_store.reserve(static_cast<size_t>(ef + m0_ + 1));
  top_store.reserve(static_cast<size_t>(ef + 1));
  std::priority_queue<Neighbor, std::vector<Neighbor>, Closer> cand(Closer(),
                                                                    std::move(cand_store));
  std::priority_queue<Neighbor, std::vector<Neighbor>, Farther> top(Farther(),
                                                                    std::move(top_store));
  visited.begin(static_cast<size_t>(store_.n_slots()));
  float lower = std::numeric_limits<float>::infinity();
  for (const Neighbor& e : entry) {
    if (!visited.visit(e.slot)) continue;
    cand.push(e);
    if (accept == nullptr || (*accept)(e.slot)) {
      top.push(e);
      if (static_cast<int64_t>(top.size()) > ef) top.pop();
    }
  }
  if (!top.empty()) lower = top.top().dist;
  const int64_t pf = std::min<int64_t>(store_.dim(), 256);
  uint32_t buf[520];
  while (!cand.empty()) {
    Neighbor c = cand.top();
    // Without a filter the result heap bounds the walk; with one, keep going until ef accepted.
    if (c.dist > lower && (static_cast<int64_t>(top.size()) == ef || accept == nullptr)) break;
    cand.pop();
    // The next candidate to expand is most likely the best one left: start fetching its list
    // while this one's neighbours are scored (about 6% more queries/s on 64-dim embeddings).
    if (!cand.empty()) __builtin_prefetch(links(cand.top().slot, level));
    const uint32_t fresh =
        fresh_neighbours<kLocked>(links(c.slot, level), c.slot, *locks_, visited, buf,
                                  [&](uint32_t nb) { prefetch_vector(store_.vector(nb), pf); });
    for (uint32_t j = 0; j < fresh; ++j) {
      uint32_t nb = buf[j];
      float d = store_.distance_to(q, nb);
      if (static_cast<int64_t>(top.size()) < ef || d < lower) {
        cand.push({d, nb});
        if (accept == nullptr || (*accept)(nb)) {
          top.push({d, nb});
          if (static_cast<int64_t>(top.size()) > ef) top.pop();
        }
        if (!top.empty()) lower = top.top().dist;
      }
    }
  }
  out->resize(top.size());
  for (size_t i = top.size(); i-- > 0;) {
    (*out)[i] = top.top();
    top.pop();
  }
}

void HnswIndex::select(const std::vector<Neighbor>& candidates, int64_t m,
                       std::vector<Neighbor>* out) const {
  out->clear();
  if (static_cast<int64_t>(candidates.size()) <= m) {
    *out = candidates;
    return;
  }
  for (const Neighbor& c : candidates) {
    if (static_cast<int64_t>(out->size()) >= m) break;
    bool keep = true;
    for (const Neighbor& s : *out) {
      if (store_.distance(c.slot, s.slot) < c.dist) {
        keep = false;
        break;
      }
    }
    if (keep) out->push_back(c);
  }
}

void HnswIndex::connect(uint32_t from, uint32_t to, int level) {
  std::lock_guard<std::mutex> g(locks_->of(from));
  uint32_t* ls = links(from, level);
  const uint32_t cnt = ls[0];
  for (uint32_t j = 0; j < cnt; ++j)
    if (ls[1 + j] == to) return;
  if (cnt < max_links(level)) {
    ls[1 + cnt] = to;
    ls[0] = cnt + 1;
    return;
  }
  std::vector<Neighbor> cands;
  cands.reserve(cnt + 1);
  cands.push_back({store_.distance(from, to), to});
  for (uint32_t j = 0; j < cnt; ++j) cands.push_back({store_.distance(from, ls[1 + j]), ls[1 + j]});
  std::sort(cands.begin(), cands.end());
  std::vector<Neighbor> kept;
  select(cands, max_links(level), &kept);
  ls[0] = static_cast<uint32_t>(kept.size());
  for (size_t j = 0; j < kept.size(); ++j) ls[1 + j] = kept[j].slot;
}

void HnswIndex::insert(uint32_t slot, VisitedList& visited) {
  const int level = level_[slot];
  std::unique_lock<std::mutex> glock(global_);
  const int top_level = max_level_;
  const uint32_t ep = entry_;
  if (ep == kNoSlot) {
    entry_ = slot;
    max_level_ = level;
    return;
  }
  if (level <= top_level) glock.unlock();  // only a new top level keeps the global lock

  const float* q = store_.vector(slot);
  uint32_t cur = greedy(q, ep, top_level, level, /*locked=*/true);
  std::vector<Neighbor> entry{{store_.distance_to(q, cur), cur}}, cands, chosen;
  for (int l = std::min(level, top_level); l >= 0; --l) {
    search_layer<true>(q, entry, p_.ef_construction, l, visited, nullptr, &cands);
    cands.erase(std::remove_if(cands.begin(), cands.end(),
                               [slot](const Neighbor& n) { return n.slot == slot; }),
                cands.end());
    select(cands, p_.M, &chosen);
    {
      std::lock_guard<std::mutex> g(locks_->of(slot));
      uint32_t* ls = links(slot, l);
      ls[0] = static_cast<uint32_t>(chosen.size());
      for (size_t j = 0; j < chosen.size(); ++j) ls[1 + j] = chosen[j].slot;
    }
    for (const Neighbor& c : chosen) connect(c.slot, slot, l);
    if (!cands.empty()) entry = cands;
  }
  if (level > top_level) {
    entry_ = slot;
    max_level_ = level;
  }
}

void HnswIndex::search_one(const float* q, int64_t k, int64_t ef, const SlotFilter& accept,
                           std::vector<Neighbor>* out) const {
  out->clear();
  if (entry_ == kNoSlot) return;
  uint32_t cur = greedy(q, entry_, max_level_, 0, /*locked=*/false);
  std::vector<Neighbor> entry{{store_.distance_to(q, cur), cur}};
  const bool trivial = store_.n_deleted() == 0 && (accept.filter == nullptr || !*accept.filter);
  auto visited = visited_.take();
  search_layer<false>(q, entry, ef, 0, *visited, trivial ? nullptr : &accept, out);
  if (static_cast<int64_t>(out->size()) > k) out->resize(static_cast<size_t>(k));
}

void HnswIndex::repair_deleted(ThreadPool* pool) {
  const uint32_t n = static_cast<uint32_t>(store_.n_slots());
  for (int l = 0; l <= max_level_; ++l) {
    auto fix = [&](int64_t i) {
      uint32_t p = static_cast<uint32_t>(i);
      if (store_.deleted(p) || level_[p] < l) return;
      uint32_t* ls = links(p, l);
      bool touched = false;
      for (uint32_t j = 0; j < ls[0]; ++j) touched |= store_.deleted(ls[1 + j]);
      if (!touched) return;
      std::vector<Neighbor> cands;
      auto add = [&](uint32_t c) {
        if (c != p && !store_.deleted(c)) cands.push_back({store_.distance(p, c), c});
      };
      for (uint32_t j = 0; j < ls[0]; ++j) {
        uint32_t nb = ls[1 + j];
        if (!store_.deleted(nb)) {
          add(nb);
          continue;
        }
        const uint32_t* dl = links(nb, l);
        for (uint32_t t = 0; t < dl[0]; ++t) add(dl[1 + t]);
      }
      std::sort(cands.begin(), cands.end());
      cands.erase(
          std::unique(cands.begin(), cands.end(),
                      [](const Neighbor& a, const Neighbor& b) { return a.slot == b.slot; }),
          cands.end());
      std::vector<Neighbor> kept;
      select(cands, max_links(l), &kept);
      ls[0] = static_cast<uint32_t>(kept.size());
      for (size_t j = 0; j < kept.size(); ++j) ls[1 + j] = kept[j].slot;
    };
    // Each task writes only its own list and reads lists of deleted nodes, which stay fixed.
    if (pool != nullptr && pool->size() > 1) {
      pool->run(n, fix);
    } else {
      for (uint32_t p = 0; p < n; ++p) fix(p);
    }
  }
  if (entry_ != kNoSlot && store_.deleted(entry_)) {
    entry_ = kNoSlot;
    max_level_ = -1;
    for (uint32_t s = 0; s < n; ++s) {
      if (!store_.deleted(s) && level_[s] > max_level_) {
        max_level_ = level_[s];
        entry_ = s;
      }
    }
  }
}

void HnswIndex::remap_slots(const std::vector<uint32_t>& remap) {
  const size_t n_new = static_cast<size_t>(store_.n_slots());
  HugeVector<uint32_t> l0(n_new * stride(0), 0);
  std::vector<std::vector<uint32_t>> up(n_new);
  std::vector<uint8_t> lv(n_new);
  auto copy_list = [&](const uint32_t* src, uint32_t* dst) {
    uint32_t w = 0;
    for (uint32_t j = 0; j < src[0]; ++j) {
      uint32_t t = remap[src[1 + j]];
      if (t != kNoSlot) dst[1 + w++] = t;
    }
    dst[0] = w;
  };
  for (uint32_t s = 0; s < remap.size(); ++s) {
    uint32_t t = remap[s];
    if (t == kNoSlot) continue;
    lv[t] = level_[s];
    copy_list(links(s, 0), l0.data() + static_cast<size_t>(t) * stride(0));
    up[t].assign(upper_[s].size(), 0);
    for (int l = 1; l <= level_[s]; ++l) {
      copy_list(links(s, l), up[t].data() + static_cast<size_t>(l - 1) * stride(1));
    }
  }
  links0_ = std::move(l0);
  upper_ = std::move(up);
  level_ = std::move(lv);
  entry_ = entry_ == kNoSlot ? kNoSlot : remap[entry_];
}

void HnswIndex::write_sections(FileWriter& w) const {
  FieldWriter p;
  p.put<uint64_t>(p_.M).put<uint64_t>(p_.ef_construction).put<uint64_t>(p_.ef_search);
  p.put<uint64_t>(p_.seed).put<int64_t>(max_level_).put<uint64_t>(entry_);
  w.add(kParams, p.bytes());
  w.add_array(kLinks0, links0_);
  w.add_array(kLevels, level_);
  std::vector<uint32_t> flat;
  for (const auto& u : upper_) flat.insert(flat.end(), u.begin(), u.end());
  w.add_array(kUpper, flat);
}

void HnswIndex::read_sections(const FileReader& r) {
  const std::string& name = r.name();
  auto params = r.array<uint64_t>(kParams, 6);
  HnswParams p{static_cast<int64_t>(params[0]), static_cast<int64_t>(params[1]),
               static_cast<int64_t>(params[2]), params[3]};
  if (params[0] < 2 || params[0] > 256 || params[1] < 1 || params[2] < 1 ||
      params[2] > (1u << 30) || params[1] > (1u << 30)) {
    throw Error(name + ": HNSP parameters out of range");
  }
  p_ = p;
  m0_ = 2 * p_.M;
  level_mult_ = 1.0 / std::log(static_cast<double>(p_.M));
  const size_t n = static_cast<size_t>(store_.n_slots());
  int64_t max_level = static_cast<int64_t>(params[4]);
  uint64_t entry = params[5];
  level_ = r.array<uint8_t>(kLevels, n);
  links0_ = r.array<uint32_t, HugePageAllocator<uint32_t>>(kLinks0, n * stride(0));
  size_t upper_total = 0;
  for (uint8_t l : level_) {
    if (l > kMaxLevel) throw Error(name + ": HLVL level " + std::to_string(l) + " exceeds 31");
    upper_total += static_cast<size_t>(l) * stride(1);
  }
  std::vector<uint32_t> flat = r.array<uint32_t>(kUpper, upper_total);
  upper_.assign(n, {});
  size_t off = 0;
  for (size_t s = 0; s < n; ++s) {
    size_t len = static_cast<size_t>(level_[s]) * stride(1);
    upper_[s].assign(flat.begin() + off, flat.begin() + off + len);
    off += len;
  }
  // Every list must stay inside its capacity and point at slots that exist on that level.
  for (uint32_t s = 0; s < n; ++s) {
    for (int l = 0; l <= level_[s]; ++l) {
      const uint32_t* ls = links(s, l);
      if (ls[0] > max_links(l)) {
        throw Error(name + ": slot " + std::to_string(s) + " level " + std::to_string(l) + " has " +
                    std::to_string(ls[0]) + " links, more than " + std::to_string(max_links(l)));
      }
      for (uint32_t j = 0; j < ls[0]; ++j) {
        if (ls[1 + j] >= n || level_[ls[1 + j]] < l) {
          throw Error(name + ": slot " + std::to_string(s) + " links to invalid slot " +
                      std::to_string(ls[1 + j]) + " on level " + std::to_string(l));
        }
      }
    }
  }
  if (n == 0 || entry == kNoSlot) {
    if (entry != kNoSlot || max_level != -1) throw Error(name + ": HNSP entry point without nodes");
    entry_ = kNoSlot;
    max_level_ = -1;
  } else {
    if (entry >= n || max_level != level_[entry]) {
      throw Error(name + ": HNSP entry point " + std::to_string(entry) + " is invalid");
    }
    entry_ = static_cast<uint32_t>(entry);
    max_level_ = static_cast<int>(max_level);
  }
}

}  // namespace loom::index
