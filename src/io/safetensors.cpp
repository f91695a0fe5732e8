// safetensors: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
// then the data block; offsets are relative to its start. A config.json beside the file (Hugging
// Face layout) is read into metadata as "config.<key>" (scalars and arrays of scalars).
#include <nlohmann/json.hpp>
#include <string>

#include "core/mapped_file.h"
#include "io/tensor_map.h"

namespace loom::io {

namespace {

using json = nlohmann::json;

bool st_dtype(const std::string& s, DType* out) {
  if (s == "F32")
    *out = DType::F32;
  else if (s == "F16")
    *out = DType::F16;
  else if (s == "BF16")
    *out = DType::BF16;
  else if (s == "I32")
    *out = DType::I32;
  else if (s == "I8")
    *out = DType::I8;
  else
    return false;
  return true;
}
const char* st_name(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::I32:
      return "I32";
    case DType::I8:
      return "I8";
    default:
      throw Error(std::string("safetensors writer: unsupported dtype ") + dtype_name(t));
  }
}

MetaValue from_json(const json& j) {
  if (j.is_boolean()) return MetaValue::of_bool(j.get<bool>());
  if (j.is_number_unsigned()) return MetaValue::of_uint(j.get<uint64_t>());
  if (j.is_number_integer()) return MetaValue::of_int(j.get<int64_t>());
  if (j.is_number_float()) return MetaValue::of_float(j.get<double>());
  if (j.is_string()) return MetaValue::of_string(j.get<std::string>());
  MetaValue v;
  v.kind = MetaValue::Kind::Array;
  v.gguf_type = 9;
  if (j.is_array())
    for (const auto& e : j) v.array.push_back(from_json(e));
  return v;
}

}  // namespace

void add_config_json(TensorMap& map, const std::string& text, const std::string& name) {
  json cfg;
  try {
    cfg = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(name + ": invalid JSON (" + e.what() + ")");
  }
  if (!cfg.is_object()) throw Error(name + ": expected a JSON object");
  for (auto it = cfg.begin(); it != cfg.end(); ++it) {
    if (it->is_null()) continue;
    if (it->is_object()) {  // one level of nesting, e.g. rope_scaling.factor
      for (auto sub = it->begin(); sub != it->end(); ++sub)
        if (!sub->is_null() && !sub->is_object())
          map.set_meta("config." + it.key() + "." + sub.key(), from_json(*sub));
      continue;
    }
    map.set_meta("config." + it.key(), from_json(*it));
  }
}

namespace {

void read_config(TensorMap& map, const std::string& config_path) {
  add_config_json(map, read_file(config_path), config_path);
}

}  // namespace

namespace {

// The JSON header: u64 length (at most 100 MiB, inside the file), then that many bytes, which
// must parse to an object. Errors name the file through map.
json read_header(ByteReader& r, const TensorMap& map, uint64_t* header_bytes) {
  uint64_t n = r.read<uint64_t>("header length");
  if (n > r.remaining() || n > (100u << 20)) {
    r.fail("a JSON header of " + std::to_string(n) + " bytes inside the file (max 100 MiB)");
  }
  std::string header = r.read_string(static_cast<size_t>(n), "header");
  *header_bytes = n;
  json h;
  try {
    h = json::parse(header);
  } catch (const json::exception& e) {
    map.fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!h.is_object()) map.fail("header is not a JSON object");
  return h;
}

// "__metadata__": its string values become "safetensors.<key>" metadata.
void read_st_metadata(const json& e, TensorMap& map) {
  if (!e.is_object()) map.fail("__metadata__ is not an object");
  for (auto m = e.begin(); m != e.end(); ++m)
    if (m->is_string()) map.set_meta("safetensors." + m.key(), MetaValue::of_string(*m));
}

// "shape": at most 4 sizes below 2^40 each and 2^42 together; *numel gets their product.
Shape read_st_shape(const json& js, const TensorMap& map, const std::string& where,
                    uint64_t* numel) {
  if (!js.is_array() || js.size() > 4) map.fail(where + "shape an array of at most 4 sizes");
  int64_t dims[4] = {0, 0, 0, 0};
  *numel = 1;
  for (size_t d = 0; d < js.size(); ++d) {
    if (!js[d].is_number_unsigned() || js[d].get<uint64_t>() > (1ull << 40)) {
      map.fail(where + "shape entries non-negative integers below 2^40");
    }
    dims[d] = js[d].get<int64_t>();
    if (dims[d] != 0 && *numel > (1ull << 42) / static_cast<uint64_t>(dims[d])) {
      map.fail(where + "element count below 2^42");
    }
    *numel *= static_cast<uint64_t>(dims[d]);
  }
  switch (js.size()) {
    case 0:
      return Shape{};
    case 1:
      return Shape({dims[0]});
    case 2:
      return Shape({dims[0], dims[1]});
    case 3:
      return Shape({dims[0], dims[1], dims[2]});
    default:
      return Shape({dims[0], dims[1], dims[2], dims[3]});
  }
}

// "data_offsets" [begin, end): exactly `bytes` long, inside the data block. Returns begin.
uint64_t read_st_offsets(const json& off, const TensorMap& map, const std::string& where,
                         uint64_t bytes, size_t data_size) {
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned()) {
    map.fail(where + "data_offsets [begin, end] of non-negative integers");
  }
  uint64_t b = off[0].get<uint64_t>(), en = off[1].get<uint64_t>();
  if (b > en || en > data_size || en - b != bytes) {
    map.fail(where + "data_offsets [" + std::to_string(b) + ", " + std::to_string(en) +
             ") must span " + std::to_string(bytes) + " bytes inside the " +
             std::to_string(data_size) + "-byte data block");
  }
  return b;
}

// Where one header entry's tensor lies in the file, all of it checked.
struct StTensor {
  DType dtype;
  Shape shape;
  uint64_t begin;  // from the start of the data block
};

StTensor read_st_tensor(const json& e, const TensorMap& map, const std::string& where,
                        size_t data_size) {
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") ||
      !e.contains("data_offsets")) {
    map.fail(where + "expected an object with dtype, shape and data_offsets");
  }
  StTensor st;
  if (!e["dtype"].is_string() || !st_dtype(e["dtype"].get<std::string>(), &st.dtype)) {
    map.fail(where + "dtype F32, F16, BF16, I32 or I8, got " + e["dtype"].dump());
  }
  uint64_t numel;
  st.shape = read_st_shape(e["shape"], map, where, &numel);
  const uint64_t bytes = dtype_bytes(st.dtype, static_cast<int64_t>(numel));
  st.begin = read_st_offsets(e["data_offsets"], map, where, bytes, data_size);
  return st;
}

// Adds the tensors (and __metadata__ strings) of one safetensors file to map. Errors name `path`.
// When `only` is given, a tensor it does not list is an error (a shard of an index).
void add_safetensors(const std::string& path, TensorMap& out,
                     const std::map<std::string, std::string>* only = nullptr) {
  auto file = MappedFile::open(path);
  ByteReader r(file->data(), file->size(), path);
  TensorMap map(path, "safetensors");  // for error messages naming this file
  uint64_t n;
  const json h = read_header(r, map, &n);
  const size_t data_start = 8 + static_cast<size_t>(n);
  const size_t data_size = file->size() - data_start;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      read_st_metadata(*it, map);
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    const StTensor st = read_st_tensor(*it, map, where, data_size);
    if (only != nullptr && only->count(name) == 0)
      map.fail(where + "is in this shard but not in the index's weight_map");
    if (out.has(name)) map.fail(where + "appears twice (again in this file)");
    out.add(name, Tensor::mapped(file, data_start + st.begin, st.shape, st.dtype, name));
  }
  for (const auto& [k, v] : map.meta()) out.set_meta(k, v);
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void read_config_beside(TensorMap& map, const std::string& path) {
  std::string cfg = dir_of(path) + "/config.json";
  if (FILE* f = std::fopen(cfg.c_str(), "rb")) {
    std::fclose(f);
    read_config(map, cfg);
  }
}

}  // namespace

TensorMap read_safetensors(const std::string& path) {
  TensorMap map(path, "safetensors");
  add_safetensors(path, map);
  read_config_beside(map, path);
  return map;
}

TensorMap read_safetensors_index(const std::string& index_path) {
  TensorMap map(index_path, "safetensors");
  json idx;
  try {
    idx = json::parse(read_file(index_path));
  } catch (const json::exception& e) {
    map.fail(std::string("invalid JSON (") + e.what() + ")");
  }
  if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
    map.fail("expected a JSON object with a \"weight_map\" object (tensor name -> shard file)");
  // shard file -> the tensors the index places in it
  std::map<std::string, std::map<std::string, std::string>> shards;
  for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
    if (!it->is_string()) map.fail("weight_map['" + it.key() + "']: expected a shard file name");
    const std::string shard = it->get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      map.fail("weight_map['" + it.key() + "']: shard '" + shard +
               "' must be a file name in the index's folder");
    shards[shard][it.key()] = shard;
  }
  if (shards.empty()) map.fail("weight_map is empty");
  const std::string dir = dir_of(index_path);
  for (const auto& [shard, names] : shards) {
    const std::string shard_path = dir + "/" + shard;
    add_safetensors(shard_path, map, &names);
    for (const auto& [name, _] : names)
      if (!map.has(name))
        map.fail("tensor '" + name + "' is listed in weight_map but missing from " + shard_path);
  }
  read_config_beside(map, index_path);
  return map;
}

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& name : tensors.names()) {
    const Tensor& t = tensors.get(name);
    json shape = json::array();
    for (int d = 0; d < t.shape().rank(); ++d) shape.push_back(t.shape()[d]);
    h[name] = {{"dtype", st_name(t.dtype())},
               {"shape", shape},
               {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string header = h.dump();
  header.resize((header.size() + 7) / 8 * 8, ' ');  // keeps the data 8-byte aligned
  std::string out;
  uint64_t n = header.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += header;
  for (const auto& name : tensors.names()) {
    const Tensor& t = tensors.get(name);
    out.append(static_cast<const char*>(t.data()), t.nbytes());
  }
  write_file_atomic(path, out);
}

}  // namespace loom::io
