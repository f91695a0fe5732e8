#include "index/npy.h"

#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::index {

namespace {

struct NpyHeader {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

// Finds 'key': in the header dict and returns the text after the colon.
std::string_view after_key(std::string_view dict, std::string_view key, const std::string& name) {
  std::string quoted = "'" + std::string(key) + "'";
  size_t p = dict.find(quoted);
  if (p == std::string_view::npos) throw Error(name + ": .npy header lacks key " + quoted);
  p = dict.find(':', p + quoted.size());
  if (p == std::string_view::npos)
    throw Error(name + ": .npy header key " + quoted + " has no value");
  p = dict.find_first_not_of(" ", p + 1);
  if (p == std::string_view::npos)
    throw Error(name + ": .npy header key " + quoted + " has no value");
  return dict.substr(p);
}

NpyHeader parse_header(const uint8_t* data, size_t size, const std::string& name) {
  static const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0) {
    throw Error(name + ": not a .npy file (expected magic \\x93NUMPY at offset 0)");
  }
  uint8_t major = data[6];
  size_t len, start;
  if (major == 1) {
    len = data[8] | (static_cast<size_t>(data[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw Error(name + ": truncated .npy header");
    len = data[8] | (static_cast<size_t>(data[9]) << 8) | (static_cast<size_t>(data[10]) << 16) |
          (static_cast<size_t>(data[11]) << 24);
    start = 12;
  } else {
    throw Error(name + ": .npy format version " + std::to_string(major) + " is not supported");
  }
  if (len > size - start)
    throw Error(name + ": .npy header length " + std::to_string(len) + " runs past the end");
  std::string_view dict(reinterpret_cast<const char*>(data + start), len);
  NpyHeader h;
  h.data_offset = start + len;
  std::string_view d = after_key(dict, "descr", name);
  if (d.empty() || (d[0] != '\'' && d[0] != '"'))
    throw Error(name + ": .npy descr is not a string");
  size_t e = d.find(d[0], 1);
  if (e == std::string_view::npos) throw Error(name + ": .npy descr is unterminated");
  h.descr = std::string(d.substr(1, e - 1));
  std::string_view f = after_key(dict, "fortran_order", name);
  if (f.substr(0, 4) == "True")
    h.fortran = true;
  else if (f.substr(0, 5) != "False")
    throw Error(name + ": .npy fortran_order is not True/False");
  std::string_view s = after_key(dict, "shape", name);
  if (s.empty() || s[0] != '(') throw Error(name + ": .npy shape is not a tuple");
  size_t close = s.find(')');
  if (close == std::string_view::npos) throw Error(name + ": .npy shape tuple is unterminated");
  std::string_view inner = s.substr(1, close - 1);
  size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    int64_t v = 0;
    size_t digits = 0;
    while (i < inner.size() && inner[i] >= '0' && inner[i] <= '9') {
      v = v * 10 + (inner[i] - '0');
      if (v > (int64_t{1} << 40)) throw Error(name + ": .npy shape dimension too large");
      ++i;
      ++digits;
    }
    if (digits == 0) throw Error(name + ": .npy shape has a non-integer entry");
    h.shape.push_back(v);
  }
  return h;
}

}  // namespace

NpyMatrix parse_npy_f32(const uint8_t* data, size_t size, const std::string& name) {
  NpyHeader h = parse_header(data, size, name);
  if (h.descr != "<f4")
    throw Error(name + ": .npy dtype is '" + h.descr + "', expected '<f4' (float32)");
  if (h.fortran) throw Error(name + ": .npy array is in Fortran order, expected C order");
  NpyMatrix m;
  if (h.shape.size() == 1) {
    m.rows = 1;
    m.cols = h.shape[0];
  } else if (h.shape.size() == 2) {
    m.rows = h.shape[0];
    m.cols = h.shape[1];
  } else {
    throw Error(name + ": .npy array has " + std::to_string(h.shape.size()) +
                " dimensions, expected 2");
  }
  size_t bytes = static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols) * 4;
  if (m.cols != 0 && bytes / 4 / static_cast<size_t>(m.cols) != static_cast<size_t>(m.rows)) {
    throw Error(name + ": .npy shape overflows");
  }
  if (size - h.data_offset != bytes) {
    throw Error(name + ": .npy data has " + std::to_string(size - h.data_offset) +
                " bytes, shape (" + std::to_string(m.rows) + ", " + std::to_string(m.cols) +
                ") needs " + std::to_string(bytes));
  }
  m.data.resize(static_cast<size_t>(m.rows * m.cols));
  if (bytes) std::memcpy(m.data.data(), data + h.data_offset, bytes);
  return m;
}

NpyMatrix read_npy_f32(const std::string& path) {
  auto f = MappedFile::open(path);
  return parse_npy_f32(f->data(), f->size(), path);
}

std::vector<uint64_t> read_npy_ids(const std::string& path) {
  auto f = MappedFile::open(path);
  NpyHeader h = parse_header(f->data(), f->size(), path);
  if (h.fortran && h.shape.size() > 1) throw Error(path + ": .npy ids must be C order");
  if (h.shape.size() != 1) throw Error(path + ": .npy ids must be 1-D");
  size_t n = static_cast<size_t>(h.shape[0]);
  size_t width = (h.descr == "<i8" || h.descr == "<u8")   ? 8
                 : (h.descr == "<i4" || h.descr == "<u4") ? 4
                                                          : 0;
  if (width == 0)
    throw Error(path + ": .npy ids dtype is '" + h.descr + "', expected <i8, <u8, <i4 or <u4");
  if (f->size() - h.data_offset != n * width)
    throw Error(path + ": .npy ids data size does not match its shape");
  std::vector<uint64_t> ids(n);
  const uint8_t* p = f->data() + h.data_offset;
  bool is_signed = h.descr[1] == 'i';
  for (size_t i = 0; i < n; ++i) {
    int64_t v;
    if (width == 8) {
      uint64_t u;
      std::memcpy(&u, p + i * 8, 8);
      v = static_cast<int64_t>(u);
      if (!is_signed) {
        ids[i] = u;
        continue;
      }
    } else {
      uint32_t u;
      std::memcpy(&u, p + i * 4, 4);
      v = is_signed ? static_cast<int32_t>(u) : static_cast<int64_t>(u);
    }
    if (v < 0) throw Error(path + ": id at position " + std::to_string(i) + " is negative");
    ids[i] = static_cast<uint64_t>(v);
  }
  return ids;
}

namespace {
std::string npy_header(const std::string& descr, const std::string& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(dict.size());
  out.append(reinterpret_cast<const char*>(&len), 2);
  return out + dict;
}
}  // namespace

void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  std::string out =
      npy_header("<f4", "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(rows * cols) * 4);
  write_file_atomic(path, out);
}

void write_npy_u64(const std::string& path, const std::vector<uint64_t>& v) {
  std::string out = npy_header("<u8", "(" + std::to_string(v.size()) + ",)");
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * 8);
  write_file_atomic(path, out);
}

}  // namespace loom::index
