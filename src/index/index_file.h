// The index file format, version 1 (all integers little-endian):
//
//   header   "LOOMVIDX" (8 bytes)  u32 version  u32 n_sections
//   section  u32 tag (four ASCII chars)  u32 crc32(payload)  u64 payload_size  payload
//            zero padding to a multiple of 8 bytes
//   trailer  u32 crc32(every byte before the trailer)  "LEND"
//
// Common sections: "META" (kind, metric, dim, n_slots), "IDS_" (u64 per slot), "TOMB" (u8 per
// slot), "VECS" (f32, n_slots x dim); each index type adds its own (see its write_sections).
// Unknown sections are skipped, so a later version may append sections without breaking readers.
// Files are written atomically (temporary name, fsync, rename).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "index/index.h"

namespace loom::index {

inline constexpr uint32_t kIndexFileVersion = 1;

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

constexpr uint32_t fourcc(const char (&s)[5]) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[0])) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[3])) << 24;
}

class FileWriter {
 public:
  template <typename T, typename A>
  void add_array(uint32_t tag, const std::vector<T, A>& v) {
    add(tag, std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
  }
  void add(uint32_t tag, std::string_view payload);
  std::string finish() const;  // the whole file

 private:
  std::vector<std::pair<uint32_t, std::string>> sections_;
};

class FileReader {
 public:
  // Verifies header, trailer, the file checksum and every section's checksum.
  FileReader(const uint8_t* data, size_t size, std::string name);
  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  bool has(uint32_t tag) const { return sections_.count(tag) != 0; }
  // Payload of a required section; throws naming the file and tag when absent.
  std::string_view section(uint32_t tag) const;
  // A section holding exactly `count` values of T, in a vector with allocator A.
  template <typename T, typename A = std::allocator<T>>
  std::vector<T, A> array(uint32_t tag, size_t count) const {
    std::string_view s = section(tag);
    if (s.size() != count * sizeof(T)) size_error(tag, count * sizeof(T), s.size());
    std::vector<T, A> v(count);
    if (count) std::memcpy(v.data(), s.data(), s.size());
    return v;
  }
  [[noreturn]] void size_error(uint32_t tag, size_t expected, size_t got) const;

 private:
  std::string name_;
  uint32_t version_ = 0;
  std::map<uint32_t, std::string_view> sections_;
};

std::string tag_name(uint32_t tag);

// Little-endian field packing for small parameter sections.
class FieldWriter {
 public:
  template <typename T>
  FieldWriter& put(T v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

void save_index(const Index& index, const std::string& path);
// The file's bytes as save_index writes them (for tests and in-memory copies).
std::string serialize_index(const Index& index);
std::unique_ptr<Index> load_index(const std::string& path);
std::unique_ptr<Index> deserialize_index(const uint8_t* data, size_t size, const std::string& name);

}  // namespace loom::index
