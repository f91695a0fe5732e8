#include "models/loader_util.h"

namespace loom::models::detail {

TensorView WeightFetcher::matrix(const std::string& name, Shape expected) {
  const Tensor& t = map_.get(name, expected);
  switch (t.dtype()) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q8_0:
    case DType::Q4_0:
      return t.view();
    default:
      map_.fail("tensor '" + name + "' has type " + dtype_name(t.dtype()) +
                ", expected f32, f16, bf16, q8_0 or q4_0");
  }
}

TensorView WeightFetcher::vector(const std::string& name, int64_t n) {
  const Tensor& t = map_.get(name);
  // (n), or (1, ..., 1, n) as BART's final_logits_bias (1, vocab) is stored.
  bool row = true;
  for (int64_t d = 0; d + 1 < t.shape().rank(); ++d) row = row && t.shape()[d] == 1;
  if (t.numel() != n || !row) {
    map_.fail("tensor '" + name + "' has shape " + t.shape().str() + ", expected (" +
              std::to_string(n) + ")");
  }
  if (t.dtype() == DType::F32) return t.view().reshaped(Shape({n}));
  if (t.dtype() != DType::F16 && t.dtype() != DType::BF16) {
    map_.fail("tensor '" + name + "' has type " + dtype_name(t.dtype()) +
              ", expected f32/f16/bf16");
  }
  owned_.push_back(t.to(DType::F32));
  return owned_.back().view().reshaped(Shape({n}));
}

TensorView WeightFetcher::transposed(const std::string& name, int64_t in, int64_t out) {
  const Tensor& t = map_.get(name, Shape({in, out}));
  if (t.dtype() != DType::F32 && t.dtype() != DType::F16 && t.dtype() != DType::BF16) {
    map_.fail("tensor '" + name + "' has type " + dtype_name(t.dtype()) +
              ", expected f32/f16/bf16");
  }
  Tensor f = t.to(DType::F32);
  Tensor tr = Tensor::empty({out, in});
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < out; ++o) tr.f32()[o * in + i] = f.f32()[i * out + o];
  owned_.push_back(tr);
  return owned_.back().view();
}

}  // namespace loom::models::detail
