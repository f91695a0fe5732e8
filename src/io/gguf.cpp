// GGUF v2/v3: magic "GGUF", u32 version, u64 tensor count, u64 key/value count, key/values,
// tensor infos (name, n_dims, dims innermost first, ggml type, offset), padding to
// general.alignment (default 32), then tensor data. All little-endian.
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "core/mapped_file.h"
#include "io/tensor_map.h"

namespace loom::io {

namespace {

using namespace gguf;  // the value type codes (tensor_map.h)

// ggml tensor type codes we read.
bool ggml_to_dtype(uint32_t t, DType* out) {
  switch (t) {
    case 0:
      *out = DType::F32;
      return true;
    case 1:
      *out = DType::F16;
      return true;
    case 2:
      *out = DType::Q4_0;
      return true;
    case 8:
      *out = DType::Q8_0;
      return true;
    case 30:
      *out = DType::BF16;
      return true;
    default:
      return false;
  }
}
uint32_t dtype_to_ggml(DType t) {
  switch (t) {
    case DType::F32:
      return 0;
    case DType::F16:
      return 1;
    case DType::Q4_0:
      return 2;
    case DType::Q8_0:
      return 8;
    case DType::BF16:
      return 30;
    default:
      throw Error(std::string("GGUF writer: unsupported tensor type ") + dtype_name(t));
  }
}

std::string read_gguf_string(ByteReader& r, const char* what) {
  uint64_t n = r.read<uint64_t>(what);
  if (n > r.remaining()) r.fail(std::string(what) + " of " + std::to_string(n) + " bytes");
  return r.read_string(static_cast<size_t>(n), what);
}

// One scalar of type T, as Float, Int or UInt by T's kind.
template <typename T>
void read_number(ByteReader& r, const char* what, MetaValue& v) {
  if constexpr (std::is_floating_point_v<T>) {
    v.kind = MetaValue::Kind::Float;
    v.f = r.read<T>(what);
  } else if constexpr (std::is_signed_v<T>) {
    v.kind = MetaValue::Kind::Int;
    v.i = r.read<T>(what);
  } else {
    v.kind = MetaValue::Kind::UInt;
    v.u = r.read<T>(what);
  }
}

MetaValue read_value(ByteReader& r, uint32_t type, const std::string& key, int depth);

// An array value: u32 element type, u64 count, then the elements (nested at most 4 deep).
void read_array(ByteReader& r, const std::string& key, int depth, MetaValue& v) {
  const char* w = key.c_str();
  if (depth >= 4) r.fail("key '" + key + "': arrays nested at most 4 deep");
  uint32_t et = r.read<uint32_t>(w);
  uint64_t n = r.read<uint64_t>(w);
  if (et > kF64) r.fail("key '" + key + "': array element type 0..12, got " + std::to_string(et));
  // Every element takes at least one byte: a count beyond the rest of the file is corrupt.
  if (n > r.remaining()) {
    r.fail("key '" + key + "': array of " + std::to_string(n) + " elements (file too short)");
  }
  v.kind = MetaValue::Kind::Array;
  v.array.reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n; ++i) v.array.push_back(read_value(r, et, key, depth + 1));
  v.gguf_type = et;
}

MetaValue read_value(ByteReader& r, uint32_t type, const std::string& key, int depth) {
  MetaValue v;
  v.gguf_type = type;
  const char* w = key.c_str();
  switch (type) {
    case kU8:
      read_number<uint8_t>(r, w, v);
      break;
    case kI8:
      read_number<int8_t>(r, w, v);
      break;
    case kU16:
      read_number<uint16_t>(r, w, v);
      break;
    case kI16:
      read_number<int16_t>(r, w, v);
      break;
    case kU32:
      read_number<uint32_t>(r, w, v);
      break;
    case kI32:
      read_number<int32_t>(r, w, v);
      break;
    case kU64:
      read_number<uint64_t>(r, w, v);
      break;
    case kI64:
      read_number<int64_t>(r, w, v);
      break;
    case kF32:
      read_number<float>(r, w, v);
      break;
    case kF64:
      read_number<double>(r, w, v);
      break;
    case kBool: {
      uint8_t b = r.read<uint8_t>(w);
      if (b > 1) r.fail("key '" + key + "': a bool of 0 or 1, got " + std::to_string(b));
      v.kind = MetaValue::Kind::Bool;
      v.b = b != 0;
      break;
    }
    case kString:
      v.kind = MetaValue::Kind::String;
      v.s = read_gguf_string(r, w);
      break;
    case kArray:
      read_array(r, key, depth, v);
      break;
    default:
      r.fail("key '" + key + "': value type 0..12, got " + std::to_string(type));
  }
  return v;
}

// The header after magic and version: the key/values into map.
void read_metadata(ByteReader& r, uint64_t n_kv, TensorMap& map) {
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = read_gguf_string(r, "metadata key");
    uint32_t type = r.read<uint32_t>("metadata value type");
    if (map.has_meta(key)) r.fail("metadata key '" + key + "' appears twice");
    map.set_meta(key, read_value(r, type, key, 0));
  }
}

// general.alignment if given (a power of two up to 2^20), else GGUF's default 32.
uint64_t data_alignment(const ByteReader& r, const TensorMap& map) {
  uint64_t alignment = 32;
  if (const MetaValue* a = map.find_meta("general.alignment")) {
    if (a->kind != MetaValue::Kind::UInt && a->kind != MetaValue::Kind::Int) {
      r.fail("general.alignment as an integer");
    }
    alignment = a->kind == MetaValue::Kind::UInt ? a->u : static_cast<uint64_t>(a->i);
    if (alignment == 0 || alignment > (1u << 20) || (alignment & (alignment - 1)) != 0) {
      r.fail("general.alignment a power of two up to 2^20, got " + std::to_string(alignment));
    }
  }
  return alignment;
}

struct TensorInfo {
  std::string name;
  Shape shape;
  DType dtype;
  uint64_t offset;  // from the start of the data section
};

// n_dims (1..4) dims, innermost first, each checked so that their product stays within 2^42;
// returns the shape and sets *innermost to the innermost dimension.
Shape read_dims(ByteReader& r, const std::string& where, uint32_t n_dims, uint64_t* innermost) {
  uint64_t dims[4];
  uint64_t numel = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    dims[d] = r.read<uint64_t>("tensor dim");
    if (dims[d] > (1ull << 40) || (dims[d] != 0 && numel > (1ull << 42) / dims[d])) {
      r.fail(where + "dimensions whose product fits in 2^42, got dim " + std::to_string(dims[d]));
    }
    numel *= dims[d];
  }
  *innermost = dims[0];
  // Our shapes are outermost first; GGUF lists the innermost first.
  switch (n_dims) {
    case 1:
      return Shape({static_cast<int64_t>(dims[0])});
    case 2:
      return Shape({static_cast<int64_t>(dims[1]), static_cast<int64_t>(dims[0])});
    case 3:
      return Shape({static_cast<int64_t>(dims[2]), static_cast<int64_t>(dims[1]),
                    static_cast<int64_t>(dims[0])});
    default:
      return Shape({static_cast<int64_t>(dims[3]), static_cast<int64_t>(dims[2]),
                    static_cast<int64_t>(dims[1]), static_cast<int64_t>(dims[0])});
  }
}

// One tensor info: name, n_dims, dims, ggml type, offset (a multiple of alignment).
TensorInfo read_tensor_info(ByteReader& r, uint64_t alignment) {
  TensorInfo info;
  info.name = read_gguf_string(r, "tensor name");
  const std::string where = "tensor '" + info.name + "': ";
  uint32_t n_dims = r.read<uint32_t>("tensor n_dims");
  if (n_dims < 1 || n_dims > 4) r.fail(where + "n_dims 1..4, got " + std::to_string(n_dims));
  uint64_t innermost;
  info.shape = read_dims(r, where, n_dims, &innermost);
  uint32_t type = r.read<uint32_t>("tensor type");
  if (!ggml_to_dtype(type, &info.dtype)) {
    r.fail(where + "type F32(0), F16(1), Q4_0(2), Q8_0(8) or BF16(30), got " +
           std::to_string(type));
  }
  if (innermost % static_cast<uint64_t>(dtype_block_elems(info.dtype)) != 0) {
    r.fail(where + "innermost dimension a multiple of " +
           std::to_string(dtype_block_elems(info.dtype)) + " for " + dtype_name(info.dtype));
  }
  info.offset = r.read<uint64_t>("tensor offset");
  if (info.offset % alignment != 0) {
    r.fail(where + "offset " + std::to_string(info.offset) + " aligned to " +
           std::to_string(alignment));
  }
  return info;
}

}  // namespace

TensorMap read_gguf(const std::string& path) {
  auto file = MappedFile::open(path);
  ByteReader r(file->data(), file->size(), path);
  TensorMap map(path, "gguf");
  uint32_t magic = r.read<uint32_t>("magic");
  if (magic != 0x46554747u) r.fail("magic 'GGUF' at offset 0");
  uint32_t version = r.read<uint32_t>("version");
  if (version != 2 && version != 3) r.fail("GGUF version 2 or 3, got " + std::to_string(version));
  uint64_t n_tensors = r.read<uint64_t>("tensor_count");
  uint64_t n_kv = r.read<uint64_t>("metadata_kv_count");
  // A key/value takes at least 13 bytes and a tensor info at least 24.
  if (n_kv > r.remaining() / 13)
    r.fail("metadata_kv_count " + std::to_string(n_kv) + " (file too short)");
  read_metadata(r, n_kv, map);
  if (n_tensors > r.remaining() / 24)
    r.fail("tensor_count " + std::to_string(n_tensors) + " (file too short)");
  const uint64_t alignment = data_alignment(r, map);
  std::vector<TensorInfo> infos;
  infos.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) infos.push_back(read_tensor_info(r, alignment));
  const uint64_t data_start = (r.offset() + alignment - 1) / alignment * alignment;
  if (data_start > file->size() && n_tensors > 0)
    r.fail("tensor data after the header (file truncated)");
  for (const auto& info : infos) {
    if (info.offset > file->size() - std::min<uint64_t>(data_start, file->size())) {
      map.fail("tensor '" + info.name + "' at data offset " + std::to_string(info.offset) +
               " lies past the end of the file (" + std::to_string(file->size()) + " bytes)");
    }
    map.add(info.name,
            Tensor::mapped(file, data_start + info.offset, info.shape, info.dtype, info.name));
  }
  return map;
}

namespace {

void put_bytes(std::string& o, const void* p, size_t n) {
  o.append(static_cast<const char*>(p), n);
}
template <typename T>
void put(std::string& o, T v) {
  put_bytes(o, &v, sizeof v);
}
void put_string(std::string& o, const std::string& s) {
  put<uint64_t>(o, s.size());
  o += s;
}

void put_value(std::string& o, const MetaValue& v, uint32_t type) {
  switch (type) {
    case kU8:
      put<uint8_t>(o, static_cast<uint8_t>(v.number()));
      break;
    case kI8:
      put<int8_t>(o, static_cast<int8_t>(v.number()));
      break;
    case kU16:
      put<uint16_t>(o, static_cast<uint16_t>(v.number()));
      break;
    case kI16:
      put<int16_t>(o, static_cast<int16_t>(v.number()));
      break;
    case kU32:
      put<uint32_t>(o, v.kind == MetaValue::Kind::UInt ? static_cast<uint32_t>(v.u)
                                                       : static_cast<uint32_t>(v.i));
      break;
    case kI32:
      put<int32_t>(o, static_cast<int32_t>(
                          v.kind == MetaValue::Kind::Int ? v.i : static_cast<int64_t>(v.u)));
      break;
    case kU64:
      put<uint64_t>(o, v.kind == MetaValue::Kind::UInt ? v.u : static_cast<uint64_t>(v.i));
      break;
    case kI64:
      put<int64_t>(o, v.kind == MetaValue::Kind::Int ? v.i : static_cast<int64_t>(v.u));
      break;
    case kF32:
      put<float>(o, static_cast<float>(v.number()));
      break;
    case kF64:
      put<double>(o, v.number());
      break;
    case kBool:
      put<uint8_t>(o, v.number() != 0 ? 1 : 0);
      break;
    case kString:
      put_string(o, v.s);
      break;
    default:
      throw Error("GGUF writer: bad value type");
  }
}

uint32_t natural_type(const MetaValue& v) {
  if (v.gguf_type <= kF64 && v.gguf_type != kArray) return v.gguf_type;
  switch (v.kind) {
    case MetaValue::Kind::Int:
      return kI64;
    case MetaValue::Kind::UInt:
      return kU64;
    case MetaValue::Kind::Float:
      return kF32;
    case MetaValue::Kind::Bool:
      return kBool;
    default:
      return kString;
  }
}

// The alignment a map's general.alignment asks for (a power of two up to 2^20, as the reader
// accepts), or 0 when it has none: the key is then left out and data aligned to 32.
uint64_t requested_alignment(const TensorMap& tensors) {
  const MetaValue* a = tensors.find_meta("general.alignment");
  if (a == nullptr) return 0;
  const double v = a->number();
  if ((a->kind != MetaValue::Kind::UInt && a->kind != MetaValue::Kind::Int) || v < 1 ||
      v > (1u << 20) || (static_cast<uint64_t>(v) & (static_cast<uint64_t>(v) - 1)) != 0)
    throw Error("GGUF writer: general.alignment a power of two up to 2^20");
  return static_cast<uint64_t>(v);
}

}  // namespace

void write_gguf(const std::string& path, const TensorMap& tensors) {
  const uint64_t requested = requested_alignment(tensors);
  const uint64_t alignment = requested ? requested : 32;
  std::string o;
  put<uint32_t>(o, 0x46554747u);
  put<uint32_t>(o, 3);
  put<uint64_t>(o, tensors.size());
  uint64_t n_kv = 0;
  for (const auto& kv : tensors.meta()) n_kv += requested || kv.first != "general.alignment";
  put<uint64_t>(o, n_kv);
  for (const auto& [key, v] : tensors.meta()) {
    if (!requested && key == "general.alignment") continue;
    put_string(o, key);
    if (v.kind == MetaValue::Kind::Array) {
      put<uint32_t>(o, kArray);
      uint32_t et = v.array.empty() ? kI32 : natural_type(v.array[0]);
      if (v.gguf_type <= kF64 && v.gguf_type != kArray) et = v.gguf_type;
      put<uint32_t>(o, et);
      put<uint64_t>(o, v.array.size());
      for (const auto& e : v.array) put_value(o, e, et);
    } else {
      uint32_t t = natural_type(v);
      put<uint32_t>(o, t);
      put_value(o, v, t);
    }
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& name : tensors.names()) {
    const Tensor& t = tensors.get(name);
    put_string(o, name);
    const Shape& s = t.shape();
    int rank = std::max(1, s.rank());
    put<uint32_t>(o, static_cast<uint32_t>(rank));
    if (s.rank() == 0) put<uint64_t>(o, 1);
    for (int d = s.rank() - 1; d >= 0; --d) put<uint64_t>(o, static_cast<uint64_t>(s[d]));
    put<uint32_t>(o, dtype_to_ggml(t.dtype()));
    put<uint64_t>(o, offset);
    offsets.push_back(offset);
    offset += (t.nbytes() + alignment - 1) / alignment * alignment;
  }
  o.resize((o.size() + alignment - 1) / alignment * alignment, '\0');
  for (const auto& name : tensors.names()) {
    const Tensor& t = tensors.get(name);
    put_bytes(o, t.data(), t.nbytes());
    o.resize((o.size() + alignment - 1) / alignment * alignment, '\0');
  }
  write_file_atomic(path, o);
}

}  // namespace loom::io
