// Any bytes given to the index loader either load (and then answer a search) or throw loom::Error.
// Half the inputs get a freshly computed checksum so the fuzzer reaches the section parsers.
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "index/index_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size > 24 && (data[0] & 1)) {
    uint32_t crc = loom::index::crc32(bytes.data(), size - 8);
    std::memcpy(bytes.data() + size - 8, &crc, 4);
  }
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
