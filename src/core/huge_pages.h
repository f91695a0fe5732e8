// Memory for large, randomly accessed arrays (vector-index data and graphs) on transparent huge
// pages. A graph search touches a few hundred random vectors per query; with 4 KiB pages nearly
// every one also misses the TLB, and under virtualisation a page walk costs about as much as the
// load itself. This machine's kernel gives huge pages only to ranges marked MADV_HUGEPAGE
// (transparent_hugepage=madvise), and malloc never marks them.
//
// HugePageAllocator<T> serves requests of at least kHugePageBytes from 2 MiB-aligned memory
// marked MADV_HUGEPAGE, smaller ones from operator new. Where the kernel has no huge pages (or
// another OS), the memory is ordinary and only the alignment differs.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace loom {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Raw form: n bytes, freed with huge_page_free(p, n) (same n).
void* huge_page_alloc(size_t n);
void huge_page_free(void* p, size_t n) noexcept;

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: allocator rebind

  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(huge_page_alloc(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { huge_page_free(p, n * sizeof(T)); }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace loom
