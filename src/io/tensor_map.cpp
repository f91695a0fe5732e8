#include "io/tensor_map.h"

#include <sys/stat.h>

#include <cstring>

#include "core/mapped_file.h"

namespace loom::io {

MetaValue MetaValue::of_int(int64_t v) {
  MetaValue m;
  m.kind = Kind::Int;
  m.i = v;
  m.gguf_type = 11;
  return m;
}
MetaValue MetaValue::of_uint(uint64_t v) {
  MetaValue m;
  m.kind = Kind::UInt;
  m.u = v;
  m.gguf_type = 10;
  return m;
}
MetaValue MetaValue::of_float(double v) {
  MetaValue m;
  m.kind = Kind::Float;
  m.f = v;
  m.gguf_type = 6;
  return m;
}
MetaValue MetaValue::of_bool(bool v) {
  MetaValue m;
  m.kind = Kind::Bool;
  m.b = v;
  m.gguf_type = 7;
  return m;
}
MetaValue MetaValue::of_string(std::string v) {
  MetaValue m;
  m.kind = Kind::String;
  m.s = std::move(v);
  m.gguf_type = 8;
  return m;
}

double MetaValue::number() const {
  switch (kind) {
    case Kind::Int:
      return static_cast<double>(i);
    case Kind::UInt:
      return static_cast<double>(u);
    case Kind::Float:
      return f;
    case Kind::Bool:
      return b ? 1.0 : 0.0;
    default:
      return 0;
  }
}

void TensorMap::fail(const std::string& what) const { throw Error(source_ + ": " + what); }

void TensorMap::add(const std::string& name, Tensor t) {
  if (tensors_.count(name)) fail("tensor '" + name + "' appears twice");
  tensors_.emplace(name, std::move(t));
  order_.push_back(name);
}

const Tensor* TensorMap::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const Tensor& TensorMap::get(const std::string& name) const {
  const Tensor* t = find(name);
  if (t == nullptr) fail("missing tensor '" + name + "'");
  return *t;
}

const Tensor& TensorMap::get(const std::string& name, Shape expected) const {
  const Tensor& t = get(name);
  if (t.shape() != expected) {
    fail("tensor '" + name + "' has shape " + t.shape().str() + ", expected " + expected.str());
  }
  return t;
}

const MetaValue* TensorMap::find_meta(const std::string& key) const {
  auto it = meta_.find(key);
  return it == meta_.end() ? nullptr : &it->second;
}

int64_t TensorMap::meta_int(const std::string& key) const {
  const MetaValue* v = find_meta(key);
  if (v == nullptr) fail("missing metadata '" + key + "'");
  if (v->kind == MetaValue::Kind::Int) return v->i;
  if (v->kind == MetaValue::Kind::UInt) {
    if (v->u > static_cast<uint64_t>(INT64_MAX)) fail("metadata '" + key + "' is out of range");
    return static_cast<int64_t>(v->u);
  }
  if (v->kind == MetaValue::Kind::Bool) return v->b;
  fail("metadata '" + key + "' is not an integer");
}

int64_t TensorMap::meta_int(const std::string& key, int64_t def) const {
  return has_meta(key) ? meta_int(key) : def;
}

double TensorMap::meta_float(const std::string& key, double def) const {
  const MetaValue* v = find_meta(key);
  if (v == nullptr) return def;
  if (!v->is_number()) fail("metadata '" + key + "' is not a number");
  return v->number();
}

std::string TensorMap::meta_string(const std::string& key, const std::string& def) const {
  const MetaValue* v = find_meta(key);
  if (v == nullptr) return def;
  if (v->kind != MetaValue::Kind::String) fail("metadata '" + key + "' is not a string");
  return v->s;
}

bool TensorMap::meta_bool(const std::string& key, bool def) const {
  const MetaValue* v = find_meta(key);
  if (v == nullptr) return def;
  if (v->kind == MetaValue::Kind::Bool) return v->b;
  if (v->is_number()) return v->number() != 0;
  fail("metadata '" + key + "' is not a boolean");
}

TensorMap read_model_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    // A Hugging Face folder: one model.safetensors, or shards listed by an index.
    const std::string single = path + "/model.safetensors";
    const std::string index = path + "/model.safetensors.index.json";
    if (stat(single.c_str(), &st) == 0) return read_safetensors(single);
    if (stat(index.c_str(), &st) == 0) return read_safetensors_index(index);
    throw Error(path + ": folder has neither model.safetensors nor model.safetensors.index.json");
  }
  if (path.size() >= 11 && path.compare(path.size() - 11, 11, ".index.json") == 0)
    return read_safetensors_index(path);
  auto file = MappedFile::open(path);
  const uint8_t* p = file->data();
  if (file->size() >= 4 && std::memcmp(p, "GGUF", 4) == 0) return read_gguf(path);
  // safetensors: u64 header length, then a JSON object.
  if (file->size() >= 9 && p[8] == '{') return read_safetensors(path);
  return read_llama2c(path);
}

}  // namespace loom::io
