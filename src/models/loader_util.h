// Helpers the architecture files share: checked weight lookup and f32 copies of small vectors.
#pragma once

#include <string>
#include <vector>

#include "io/tensor_map.h"
#include "models/layers.h"

namespace loom::models::detail {

// The name a Hugging Face checkpoint stores `name` under: itself, or without the base-model
// prefix ("transformer.", "bert.", "roberta.") when the checkpoint is a bare base model (GPT2Model,
// BertModel: what sentence-transformers ships). models/spec.cpp.
std::string stored_name(const io::TensorMap& map, const std::string& name);

class WeightFetcher {
 public:
  explicit WeightFetcher(const io::TensorMap& map) : map_(map) {}
  bool has(const std::string& name) const { return map_.has(name); }
  // A matrix used by linear(): any of f32, f16, bf16, q8_0, q4_0 with the expected shape.
  TensorView matrix(const std::string& name, Shape expected);
  // A vector (norm weight, bias) as f32 with the expected length; converted copies are kept.
  TensorView vector(const std::string& name, int64_t n);
  TensorView optional_vector(const std::string& name, int64_t n) {
    return has(name) ? vector(name, n) : TensorView();
  }
  // An f32 copy of a Conv1D weight stored (in, out), transposed to (out, in).
  TensorView transposed(const std::string& name, int64_t in, int64_t out);
  std::vector<Tensor> take_owned() { return std::move(owned_); }

 private:
  const io::TensorMap& map_;
  std::vector<Tensor> owned_;
};

}  // namespace loom::models::detail
