// Read-only memory-mapped files: loading a model is O(metadata), pages come in on first touch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace loom {

class MappedFile {
 public:
  // Throws loom::Error naming the path if it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Bounds-checked little-endian reader over a byte range; every read names the file and offset
// when it runs past the end.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, std::string name)
      : data_(data), size_(size), name_(std::move(name)) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }
  const std::string& name() const { return name_; }
  void seek(size_t pos, const char* what);

  template <typename T>
  T read(const char* what) {
    T v;
    copy_out(&v, sizeof(T), what);
    return v;
  }
  // A view of the next n bytes; advances past them.
  const uint8_t* take(size_t n, const char* what);
  std::string read_string(size_t n, const char* what);
  [[noreturn]] void fail(const std::string& expected) const;

 private:
  void copy_out(void* dst, size_t n, const char* what);
  const uint8_t* data_;
  size_t size_;
  std::string name_;
  size_t pos_ = 0;
};

// Reads a whole file into memory (for small text files such as JSON); throws on failure.
std::string read_file(const std::string& path);

// Writes atomically: a temporary name in the same folder, fsync, then rename over `path`.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace loom
