#include "index/vector_store.h"

#include <cmath>
#include <unordered_set>

#include "core/error.h"

namespace loom::index {

namespace {
// Finite components whose squared norm also fits a float, so no distance can become inf - inf
// = NaN (a NaN would break the orderings every search relies on). Returns the bad column, the
// dimension for an overflowing norm, or -1 when the vector is fine.
int64_t bad_column(const float* v, int64_t dim) {
  double norm = 0;
  for (int64_t j = 0; j < dim; ++j) {
    if (!std::isfinite(v[j])) return j;
    norm += static_cast<double>(v[j]) * v[j];
  }
  return norm > 1e37 ? dim : -1;
}

std::string describe_bad(int64_t col, int64_t dim) {
  return col == dim ? "a squared norm above 1e37 (distances would overflow float)"
                    : "a non-finite value at column " + std::to_string(col);
}
}  // namespace

VectorStore::VectorStore(int64_t dim, Metric metric) : dim_(dim), metric_(metric) {
  if (dim <= 0 || dim > (1 << 20)) {
    throw Error("index: dimension must be in 1..1048576, got " + std::to_string(dim));
  }
}

uint32_t VectorStore::slot_of(uint64_t id) const {
  auto it = live_.find(id);
  return it == live_.end() ? kNoSlot : it->second;
}

uint32_t VectorStore::append(std::span<const uint64_t> ids, const float* vectors) {
  const size_t n = ids.size();
  if (n_slots() + static_cast<int64_t>(n) >= static_cast<int64_t>(kNoSlot)) {
    throw Error("index: too many vectors (at most 4294967294 slots)");
  }
  std::unordered_set<uint64_t> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (live_.count(ids[i]) != 0) {
      throw Error("index add: duplicate id " + std::to_string(ids[i]) + " (row " +
                  std::to_string(i) + ") is already in the index");
    }
    if (!batch.insert(ids[i]).second) {
      throw Error("index add: duplicate id " + std::to_string(ids[i]) + " within the batch (row " +
                  std::to_string(i) + ")");
    }
    int64_t bad = bad_column(vectors + i * dim_, dim_);
    if (bad >= 0) {
      throw Error("index add: vector at row " + std::to_string(i) + " (id " +
                  std::to_string(ids[i]) + ") has " + describe_bad(bad, dim_));
    }
  }
  uint32_t first = static_cast<uint32_t>(ids_.size());
  data_.insert(data_.end(), vectors, vectors + n * dim_);
  if (metric_ == Metric::kCosine) {
    for (size_t i = 0; i < n; ++i) normalize(data_.data() + (first + i) * dim_, dim_);
  }
  for (size_t i = 0; i < n; ++i) {
    ids_.push_back(ids[i]);
    deleted_.push_back(0);
    live_.emplace(ids[i], first + static_cast<uint32_t>(i));
  }
  return first;
}

void VectorStore::remove(std::span<const uint64_t> ids) {
  std::unordered_set<uint64_t> seen;
  for (uint64_t id : ids) {
    if (live_.count(id) == 0 || !seen.insert(id).second) {
      throw Error("index remove: id " + std::to_string(id) +
                  " is not in the index (or was removed already)");
    }
  }
  for (uint64_t id : ids) {
    auto it = live_.find(id);
    deleted_[it->second] = 1;
    live_.erase(it);
    ++n_deleted_;
  }
}

std::vector<uint32_t> VectorStore::compact() {
  std::vector<uint32_t> remap(ids_.size(), kNoSlot);
  uint32_t w = 0;
  for (uint32_t s = 0; s < ids_.size(); ++s) {
    if (deleted_[s]) continue;
    remap[s] = w;
    if (w != s) {
      std::copy(data_.begin() + static_cast<size_t>(s) * dim_,
                data_.begin() + static_cast<size_t>(s + 1) * dim_,
                data_.begin() + static_cast<size_t>(w) * dim_);
      ids_[w] = ids_[s];
    }
    live_[ids_[w]] = w;
    ++w;
  }
  data_.resize(static_cast<size_t>(w) * dim_);
  data_.shrink_to_fit();
  ids_.resize(w);
  deleted_.assign(w, 0);
  n_deleted_ = 0;
  return remap;
}

std::vector<float> VectorStore::prepare_query(const float* q) const {
  std::vector<float> out(q, q + dim_);
  int64_t bad = bad_column(q, dim_);
  if (bad >= 0) throw Error("index search: query has " + describe_bad(bad, dim_));
  if (metric_ == Metric::kCosine) normalize(out.data(), dim_);
  return out;
}

void VectorStore::restore(HugeVector<float> data, std::vector<uint64_t> ids,
                          std::vector<uint8_t> deleted, const std::string& what) {
  if (data.size() != ids.size() * static_cast<size_t>(dim_) || deleted.size() != ids.size()) {
    throw Error(what + ": vector, id and tombstone sections disagree on the number of slots");
  }
  std::unordered_map<uint64_t, uint32_t> live;
  int64_t n_deleted = 0;
  for (uint32_t s = 0; s < ids.size(); ++s) {
    if (deleted[s] > 1)
      throw Error(what + ": tombstone flag of slot " + std::to_string(s) + " is not 0/1");
    if (deleted[s]) {
      ++n_deleted;
      continue;
    }
    if (!live.emplace(ids[s], s).second) {
      throw Error(what + ": duplicate live id " + std::to_string(ids[s]));
    }
  }
  for (size_t s = 0; s < ids.size(); ++s) {
    int64_t bad = bad_column(data.data() + s * dim_, dim_);
    if (bad >= 0)
      throw Error(what + ": stored vector of slot " + std::to_string(s) + " has " +
                  describe_bad(bad, dim_));
  }
  data_ = std::move(data);
  ids_ = std::move(ids);
  deleted_ = std::move(deleted);
  live_ = std::move(live);
  n_deleted_ = n_deleted;
}

}  // namespace loom::index
