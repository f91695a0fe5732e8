// Copy-on-write rows for deterministic training: a job reads a row from the shared matrix the
// first time it touches it and works on its own copy afterwards. to_deltas() turns the copies
// into changes (copy - shared) while the shared rows are still those of the block's start;
// apply() adds them to the shared rows and forgets them.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace loom::wordvec {

class Overlay {
 public:
  Overlay(int64_t rows, int64_t stride, float* shared)
      : stride_(stride), shared_(shared), slot_(shared ? static_cast<size_t>(rows) : 0, -1) {}

  float* get(int32_t r) {
    int32_t s = slot_[static_cast<size_t>(r)];
    if (s < 0) {
      s = static_cast<int32_t>(touched_.size());
      slot_[static_cast<size_t>(r)] = s;
      touched_.push_back(r);
      std::memcpy(at(s), shared_ + r * stride_, static_cast<size_t>(stride_) * sizeof(float));
    }
    return at(s);
  }

  void to_deltas() {
    for (size_t s = 0; s < touched_.size(); ++s) {
      float* d = at(static_cast<int32_t>(s));
      const float* o = shared_ + touched_[s] * stride_;
      for (int64_t k = 0; k < stride_; ++k) d[k] -= o[k];
    }
  }

  void apply() {
    for (size_t s = 0; s < touched_.size(); ++s) {
      const float* d = at(static_cast<int32_t>(s));
      float* o = shared_ + touched_[s] * stride_;
      for (int64_t k = 0; k < stride_; ++k) o[k] += d[k];
      slot_[static_cast<size_t>(touched_[s])] = -1;
    }
    touched_.clear();
  }

 private:
  static constexpr int32_t kChunkRows = 1024;
  struct FreeDeleter {
    void operator()(float* p) const { std::free(p); }
  };

  // Rows live in fixed chunks, so pointers handed out stay valid while more rows are added.
  float* at(int32_t s) {
    const size_t chunk = static_cast<size_t>(s / kChunkRows);
    while (chunks_.size() <= chunk) {
      size_t bytes = static_cast<size_t>(kChunkRows * stride_) * sizeof(float);
      chunks_.emplace_back(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
      if (!chunks_.back()) throw std::bad_alloc();
    }
    return chunks_[chunk].get() + (s % kChunkRows) * stride_;
  }

  int64_t stride_;
  float* shared_;
  std::vector<int32_t> slot_;
  std::vector<int32_t> touched_;
  std::vector<std::unique_ptr<float, FreeDeleter>> chunks_;
};

// The three matrices of one job, with the interface the sgd loops expect.
class OverlayRows {
 public:
  OverlayRows(int64_t vocab, int64_t stride, float* syn0, float* syn1neg, float* syn1)
      : in_(vocab, stride, syn0), neg_(vocab, stride, syn1neg), hs_(vocab, stride, syn1) {}
  float* in(int32_t w) { return in_.get(w); }
  float* neg(int32_t w) { return neg_.get(w); }
  float* hs(int32_t n) { return hs_.get(n); }
  void to_deltas() {
    in_.to_deltas();
    neg_.to_deltas();
    hs_.to_deltas();
  }
  void apply() {
    in_.apply();
    neg_.apply();
    hs_.apply();
  }

 private:
  Overlay in_, neg_, hs_;
};

}  // namespace loom::wordvec
