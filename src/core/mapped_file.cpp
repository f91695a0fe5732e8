#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace loom {

namespace {
std::string sys_error(const std::string& path, const char* op) {
  return path + ": cannot " + op + ": " + std::strerror(errno);
}
}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(sys_error(path, "open"));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(sys_error(path, "stat"));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": is a directory, expected a file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw Error(sys_error(path, "mmap"));
    }
    f->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
}

void ByteReader::fail(const std::string& expected) const {
  throw Error(name_ + ": at byte offset " + std::to_string(pos_) + ": " + expected);
}

void ByteReader::seek(size_t pos, const char* what) {
  if (pos > size_) {
    fail(std::string(what) + " points to offset " + std::to_string(pos) + " past the end (size " +
         std::to_string(size_) + ")");
  }
  pos_ = pos;
}

const uint8_t* ByteReader::take(size_t n, const char* what) {
  if (n > size_ - pos_) {
    fail(std::string("expected ") + std::to_string(n) + " bytes of " + what + ", only " +
         std::to_string(size_ - pos_) + " left (file truncated?)");
  }
  const uint8_t* p = data_ + pos_;
  pos_ += n;
  return p;
}

void ByteReader::copy_out(void* dst, size_t n, const char* what) {
  std::memcpy(dst, take(n, what), n);
}

std::string ByteReader::read_string(size_t n, const char* what) {
  const uint8_t* p = take(n, what);
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(sys_error(path, "open"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(sys_error(path, "read"));
  return ss.str();
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(sys_error(tmp, "create"));
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string msg = sys_error(tmp, "write");
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(msg);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || ::close(fd) != 0) {
    std::string msg = sys_error(tmp, "fsync/close");
    ::unlink(tmp.c_str());
    throw Error(msg);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string msg = sys_error(path, "rename into place");
    ::unlink(tmp.c_str());
    throw Error(msg);
  }
}

}  // namespace loom
