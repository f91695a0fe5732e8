// Any bytes given to the index loader either load (and then answer a search) or throw loom::Error.
// About half the inputs (chosen by a checksum of the input itself) get every section checksum and
// the file checksum recomputed, so mutations reach the section parsers (META, graph, PQ codebooks
// and codes) instead of stopping at a checksum mismatch.
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "index/index_file.h"

namespace {

// Walks the sections as far as their sizes allow (layout in index_file.h) and rewrites the
// checksums.
void fix_checksums(std::string& b) {
  if (b.size() < 24) return;
  uint32_t count;
  std::memcpy(&count, b.data() + 12, 4);
  const size_t end = b.size() - 8;
  size_t pos = 16;
  for (uint32_t i = 0; i < count && pos + 16 <= end; ++i) {
    uint64_t size;
    std::memcpy(&size, b.data() + pos + 8, 8);
    if (size > end - pos - 16) break;
    uint32_t crc = loom::index::crc32(b.data() + pos + 16, size);
    std::memcpy(b.data() + pos + 4, &crc, 4);
    pos += 16 + (size + 7) / 8 * 8;
  }
  uint32_t crc = loom::index::crc32(b.data(), end);
  std::memcpy(b.data() + end, &crc, 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (loom::index::crc32(data, size) & 1) fix_checksums(bytes);
  try {
    auto idx = loom::index::deserialize_index(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              bytes.size(), "fuzz.lidx");
    if (idx->dim() <= 4096) {
      std::string q(static_cast<size_t>(idx->dim()) * 4, '\0');
      idx->search(reinterpret_cast<const float*>(q.data()), 1, 3);
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
