// Named-tensor maps: what a checkpoint file holds (name -> tensor, memory-mapped where the format
// allows) plus its metadata (GGUF key/values, config.json fields, llama2.c header values).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loom::io {

// One metadata value: GGUF's scalar types, strings and (nested) arrays; JSON scalars map onto it.
// GGUF's metadata value type codes (the GGUF spec's), for MetaValue::gguf_type: a writer that
// wants llama.cpp's exact types (u32 counts, f32 eps) sets them.
namespace gguf {
enum Type : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
}  // namespace gguf

struct MetaValue {
  enum class Kind { Int, UInt, Float, Bool, String, Array };
  Kind kind = Kind::Int;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string s;
  std::vector<MetaValue> array;
  uint32_t gguf_type = 0;  // the GGUF type code this came from (element type for arrays)

  static MetaValue of_int(int64_t v);
  static MetaValue of_uint(uint64_t v);
  static MetaValue of_float(double v);
  static MetaValue of_bool(bool v);
  static MetaValue of_string(std::string v);
  bool is_number() const { return kind == Kind::Int || kind == Kind::UInt || kind == Kind::Float; }
  double number() const;  // any numeric kind (or bool) as double
};

class TensorMap {
 public:
  explicit TensorMap(std::string source = "", std::string format = "")
      : source_(std::move(source)), format_(std::move(format)) {}

  const std::string& source() const { return source_; }  // file the tensors came from
  const std::string& format() const { return format_; }  // "gguf", "safetensors", "llama2c"

  // Adds a tensor; a duplicate name is a loom::Error naming the source.
  void add(const std::string& name, Tensor t);
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  const Tensor* find(const std::string& name) const;
  // The tensor or a loom::Error naming the file and the missing tensor.
  const Tensor& get(const std::string& name) const;
  // get() plus a shape check; a mismatch names file, tensor, expected and found shapes.
  const Tensor& get(const std::string& name, Shape expected) const;
  const std::vector<std::string>& names() const { return order_; }
  size_t size() const { return order_.size(); }

  void set_meta(const std::string& key, MetaValue v) { meta_[key] = std::move(v); }
  bool has_meta(const std::string& key) const { return meta_.count(key) > 0; }
  const MetaValue* find_meta(const std::string& key) const;
  const std::map<std::string, MetaValue>& meta() const { return meta_; }
  // Typed accessors: a missing key or wrong type is a loom::Error naming file and key.
  int64_t meta_int(const std::string& key) const;
  int64_t meta_int(const std::string& key, int64_t def) const;
  double meta_float(const std::string& key, double def) const;
  std::string meta_string(const std::string& key, const std::string& def = "") const;
  bool meta_bool(const std::string& key, bool def) const;

  [[noreturn]] void fail(const std::string& what) const;  // throws "<source>: what"

 private:
  std::string source_, format_;
  std::map<std::string, Tensor> tensors_;
  std::vector<std::string> order_;
  std::map<std::string, MetaValue> meta_;
};

// Readers. Every size, offset, shape and dtype is checked before memory is touched; errors name
// the file, the tensor or field, and what was expected.
TensorMap read_gguf(const std::string& path);
TensorMap read_safetensors(const std::string& path);  // + config.json beside it, as "config.*"
// Adds a config.json text's fields to map's metadata as "config.<key>" (one level of nesting:
// "config.rope_scaling.factor"); invalid JSON is a loom::Error naming `name`.
void add_config_json(TensorMap& map, const std::string& json_text, const std::string& name);
// A sharded checkpoint: model.safetensors.index.json's weight_map (tensor -> shard file in the
// same folder); every listed tensor must be in its shard and every shard tensor listed.
TensorMap read_safetensors_index(const std::string& index_path);
TensorMap read_llama2c(const std::string& path);      // legacy float32 .bin, GGUF-style names
// Picks the reader from the file's first bytes (GGUF magic, safetensors header, else llama2.c);
// a directory means DIR/model.safetensors or, failing that, DIR/model.safetensors.index.json;
// a path ending in .index.json is a shard index.
TensorMap read_model_file(const std::string& path);

// Writers (atomic: temporary name, fsync, rename).
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// GGUF v3 with the map's metadata (ints as INT64/UINT64, floats as FLOAT32 unless they came
// from GGUF with another type) and tensors in F32, F16, Q8_0 or Q4_0; data aligned to
// general.alignment when the map has one (written as is), else to 32 (and the key left out).
void write_gguf(const std::string& path, const TensorMap& tensors);

}  // namespace loom::io
