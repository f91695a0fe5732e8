#include "nn/param.h"

#include <cstring>

#include "core/error.h"

namespace loom::nn {

Parameter& ParamStore::add(const std::string& name, Shape shape) {
  LOOM_ASSERT(!finalized(), "ParamStore::add after finalize");
  LOOM_ASSERT(find(name) == nullptr, "duplicate parameter " + name);
  auto p = std::make_unique<Parameter>();
  p->name = name;
  p->shape = shape;
  p->offset = total_;
  total_ += (shape.numel() + 15) / 16 * 16;  // keep every parameter 64-byte aligned
  params_.push_back(std::move(p));
  return *params_.back();
}

void ParamStore::finalize() {
  LOOM_ASSERT(!finalized(), "ParamStore::finalize twice");
  values_ = Tensor::zeros(Shape{total_ > 0 ? total_ : 1});
  grads_ = Tensor::zeros(Shape{total_ > 0 ? total_ : 1});
  for (auto& p : params_) {
    p->value = TensorView(values_.f32() + p->offset, DType::F32, p->shape);
    p->grad = TensorView(grads_.f32() + p->offset, DType::F32, p->shape);
  }
}

Parameter* ParamStore::find(const std::string& name) {
  for (auto& p : params_)
    if (p->name == name) return p.get();
  return nullptr;
}

Parameter& ParamStore::get(const std::string& name) {
  Parameter* p = find(name);
  if (p == nullptr) throw Error("parameter store: no parameter named '" + name + "'");
  return *p;
}

void ParamStore::zero_grad() {
  if (finalized()) std::memset(grads_.data(), 0, grads_.nbytes());
}

void ParamStore::mask_frozen_grads() {
  for (auto& p : params_) {
    if (!p->trainable) {
      std::memset(p->grad.data(), 0, p->grad.nbytes());
      continue;
    }
    if (p->frozen_rows.empty()) continue;
    LOOM_ASSERT(static_cast<int64_t>(p->frozen_rows.size()) == p->rows(),
                "frozen_rows of " + p->name + " must have one entry per row");
    for (int64_t r = 0; r < p->rows(); ++r)
      if (p->frozen_rows[static_cast<size_t>(r)])
        std::memset(p->grad.f32() + r * p->cols(), 0, static_cast<size_t>(p->cols()) * 4);
  }
}

int64_t ParamStore::count() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p->numel();
  return n;
}

}  // namespace loom::nn
