#include "nn/tape.h"

#include <cstring>

#include "core/error.h"

namespace loom::nn {

size_t Tape::idx(Var v) const {
  LOOM_ASSERT(v.id >= 0 && static_cast<size_t>(v.id) < nodes_.size(), "Var not on this tape");
  return static_cast<size_t>(v.id);
}

Var Tape::constant(TensorView value) {
  LOOM_ASSERT(value.dtype() == DType::F32, "tape values are f32");
  nodes_.push_back(Node{value, {}, false, nullptr, {}});
  return Var{static_cast<int32_t>(nodes_.size() - 1)};
}

Var Tape::leaf(TensorView value, TensorView grad) {
  LOOM_ASSERT(value.dtype() == DType::F32 && grad.dtype() == DType::F32, "tape values are f32");
  LOOM_ASSERT(value.shape() == grad.shape(), "leaf gradient shape differs from its value");
  nodes_.push_back(Node{value, grad, grad_enabled_, nullptr, {}});
  return Var{static_cast<int32_t>(nodes_.size() - 1)};
}

Var Tape::param(Parameter& p) {
  LOOM_ASSERT(!p.value.empty(), "parameter store not finalized");
  if (!p.trainable || !grad_enabled_) return constant(p.value);
  Var v = leaf(p.value, p.grad);
  nodes_.back().param = &p;
  return v;
}

Var Tape::node(Shape shape, std::initializer_list<Var> inputs) {
  bool rg = false;
  if (grad_enabled_)
    for (Var in : inputs)
      if (in.defined() && requires_grad(in)) rg = true;
  float* mem = arena_.alloc_n<float>(shape.numel());
  nodes_.push_back(Node{TensorView(mem, DType::F32, shape), {}, rg, nullptr, {}});
  return Var{static_cast<int32_t>(nodes_.size() - 1)};
}

void Tape::on_backward(Var out, std::function<void()> fn) {
  Node& n = nodes_[idx(out)];
  if (n.requires_grad) n.backward = std::move(fn);
}

float* Tape::grad(Var v) {
  Node& n = nodes_[idx(v)];
  if (!n.requires_grad) return nullptr;
  if (n.grad.empty()) {
    float* mem = arena_.alloc_n<float>(n.value.numel());
    std::memset(mem, 0, static_cast<size_t>(n.value.numel()) * sizeof(float));
    n.grad = TensorView(mem, DType::F32, n.value.shape());
  }
  return n.grad.f32();
}

bool Tape::adopt_grad(Var v, float* buf) {
  Node& n = nodes_[idx(v)];
  if (!n.requires_grad || !n.grad.empty()) return false;
  n.grad = TensorView(buf, DType::F32, n.value.shape());
  return true;
}

TensorView Tape::grad_view(Var v) {
  float* g = grad(v);
  return g == nullptr ? TensorView() : nodes_[idx(v)].grad;
}

void Tape::backward(Var loss, float seed) {
  LOOM_ASSERT(value(loss).numel() == 1, "backward starts from a scalar");
  if (!requires_grad(loss)) return;
  grad(loss)[0] += seed;
  for (size_t i = static_cast<size_t>(loss.id) + 1; i-- > 0;) {
    Node& n = nodes_[i];
    if (n.backward && !n.grad.empty()) n.backward();
  }
  for (Node& n : nodes_) {
    if (n.param == nullptr || n.param->frozen_rows.empty()) continue;
    const Parameter& p = *n.param;
    LOOM_ASSERT(static_cast<int64_t>(p.frozen_rows.size()) == p.rows(),
                "frozen_rows of " + p.name + " must have one entry per row");
    for (int64_t r = 0; r < p.rows(); ++r)
      if (p.frozen_rows[static_cast<size_t>(r)])
        std::memset(p.grad.f32() + r * p.cols(), 0, static_cast<size_t>(p.cols()) * sizeof(float));
  }
}

void Tape::reset() {
  nodes_.clear();
  arena_.reset();
}

}  // namespace loom::nn
