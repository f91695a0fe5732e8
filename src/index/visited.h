// Visited-node marks for graph searches: one epoch tag per slot, so clearing is O(1) per search.
// A pool hands one list to each concurrent search.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/huge_pages.h"

namespace loom::index {

class VisitedList {
 public:
  // Starts a new search over n slots.
  void begin(size_t n) {
    if (tags_.size() < n) {
      tags_.assign(n, 0);
      epoch_ = 0;
    }
    if (++epoch_ == 0) {
      std::fill(tags_.begin(), tags_.end(), 0);
      epoch_ = 1;
    }
  }
  // True the first time a slot is seen in this search.
  bool visit(uint32_t s) {
    if (tags_[s] == epoch_) return false;
    tags_[s] = epoch_;
    return true;
  }
  bool seen(uint32_t s) const { return tags_[s] == epoch_; }
  const uint16_t* tag_address(uint32_t s) const { return &tags_[s]; }

 private:
  HugeVector<uint16_t> tags_;  // read at random, like the vectors
  uint16_t epoch_ = 0;
};

class VisitedPool {
 public:
  class Lease {
   public:
    Lease(VisitedPool* pool, std::unique_ptr<VisitedList> list)
        : pool_(pool), list_(std::move(list)) {}
    ~Lease() { pool_->give_back(std::move(list_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    VisitedList& operator*() { return *list_; }
    VisitedList* operator->() { return list_.get(); }

   private:
    VisitedPool* pool_;
    std::unique_ptr<VisitedList> list_;
  };

  Lease take() {
    std::unique_ptr<VisitedList> l;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!free_.empty()) {
        l = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!l) l = std::make_unique<VisitedList>();
    return Lease(this, std::move(l));
  }

 private:
  void give_back(std::unique_ptr<VisitedList> l) {
    std::lock_guard<std::mutex> g(mu_);
    free_.push_back(std::move(l));
  }
  std::mutex mu_;
  std::vector<std::unique_ptr<VisitedList>> free_;
};

// Striped locks guarding graph nodes during a parallel build: node s uses lock s % kStripes.
// A thread holds at most one node lock at a time, so stripes cannot deadlock.
class NodeLocks {
 public:
  static constexpr size_t kStripes = 4096;
  std::mutex& of(uint32_t s) { return locks_[s % kStripes]; }

 private:
  std::mutex locks_[kStripes];
};

// One step of a graph walk: copies slot s's neighbour list (count, then slots) into buf — under
// s's node lock while a parallel build may be rewriting it — keeps only the neighbours not yet
// visited, and starts fetching their vectors (through prefetch(slot)) before any distance is
// computed, so the memory loads overlap. Returns how many fresh slots buf now starts with.
template <bool kLocked, typename Prefetch>
uint32_t fresh_neighbours(const uint32_t* list, uint32_t s, NodeLocks& locks, VisitedList& visited,
                          uint32_t* buf, Prefetch&& prefetch) {
  uint32_t cnt;
  if constexpr (kLocked) {
    std::lock_guard<std::mutex> g(locks.of(s));
    cnt = list[0];
    std::copy(list + 1, list + 1 + cnt, buf);
  } else {
    cnt = list[0];
    std::copy(list + 1, list + 1 + cnt, buf);
  }
  uint32_t fresh = 0;
  for (uint32_t j = 0; j < cnt; ++j) {
    const uint32_t nb = buf[j];
    if (!visited.visit(nb)) continue;
    prefetch(nb);
    buf[fresh++] = nb;
  }
  return fresh;
}

}  // namespace loom::index
