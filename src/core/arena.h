// Arena: a bump allocator for scratch memory: one training step's activations, saved values and
// gradients (nn::Tape), one inference block's activations (models::Session). reset() rewinds
// without freeing, so a step that allocates the same sequence as the previous one touches no
// allocator and no fresh pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace loom {

class Arena {
 public:
  explicit Arena(size_t chunk_bytes = size_t{64} << 20) : chunk_bytes_(chunk_bytes) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) = default;
  Arena& operator=(Arena&&) = default;

  // 64-byte aligned, uninitialised.
  void* alloc(size_t bytes);
  template <typename T>
  T* alloc_n(int64_t n) {
    return static_cast<T*>(alloc(static_cast<size_t>(n) * sizeof(T)));
  }
  // Rewinds to empty; memory is kept for the next step.
  void reset();
  size_t capacity() const;
  size_t used() const { return used_; }

 private:
  struct Chunk {
    std::unique_ptr<std::byte, void (*)(void*)> mem{nullptr, nullptr};
    size_t size = 0;
  };
  size_t chunk_bytes_;
  std::vector<Chunk> chunks_;
  size_t current_ = 0;  // index of the chunk being filled
  size_t offset_ = 0;   // bytes used in chunks_[current_]
  size_t used_ = 0;
};

}  // namespace loom
