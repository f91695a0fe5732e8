#include "core/arena.h"

#include <cstdlib>

#include "core/error.h"

namespace loom {

namespace {
constexpr size_t kAlign = 64;
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

void* Arena::alloc(size_t bytes) {
  bytes = round_up(bytes == 0 ? 1 : bytes);
  while (current_ < chunks_.size()) {
    Chunk& c = chunks_[current_];
    if (offset_ + bytes <= c.size) {
      void* p = c.mem.get() + offset_;
      offset_ += bytes;
      used_ += bytes;
      return p;
    }
    if (offset_ == 0) break;  // an empty chunk that is too small: insert a bigger one here
    ++current_;
    offset_ = 0;
  }
  Chunk c;
  c.size = bytes > chunk_bytes_ ? bytes : chunk_bytes_;
  void* mem = std::aligned_alloc(kAlign, c.size);
  LOOM_ASSERT(mem != nullptr, "arena: out of memory");
  c.mem = std::unique_ptr<std::byte, void (*)(void*)>(static_cast<std::byte*>(mem), std::free);
  chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(current_), std::move(c));
  offset_ = bytes;
  used_ += bytes;
  return chunks_[current_].mem.get();
}

void Arena::reset() {
  current_ = 0;
  offset_ = 0;
  used_ = 0;
}

size_t Arena::capacity() const {
  size_t n = 0;
  for (const auto& c : chunks_) n += c.size;
  return n;
}

}  // namespace loom
