#include "core/huge_pages.h"

#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace loom {

void* huge_page_alloc(size_t n) {
  if (n < kHugePageBytes) return ::operator new(n);
  const size_t rounded = (n + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = std::aligned_alloc(kHugePageBytes, rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without huge pages the memory still works
#endif
  return p;
}

void huge_page_free(void* p, size_t n) noexcept {
  if (p == nullptr) return;
  if (n < kHugePageBytes) {
    ::operator delete(p);
  } else {
    std::free(p);
  }
}

}  // namespace loom
