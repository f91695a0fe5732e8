// Tape: reverse-mode autograd over f32 tensors.
//
// A training step builds the tape by calling ops (nn/ops.h) on Vars; each op computes its forward
// result at once and, when the tape records gradients, pushes a backward closure. backward(loss)
// then runs the closures in reverse order. Activations, values saved for backward and activation
// gradients all come from the tape's Arena; reset() rewinds it for the next step, so a steady-state
// step allocates nothing. Parameter gradients live in the ParamStore's gradient block and
// accumulate (+=) across backward calls until ParamStore::zero_grad(), which is what gradient
// accumulation needs.
//
// Inference pays nothing for autograd: with set_grad_enabled(false) ops push no closures, allocate
// no gradients and skip the buffers only backward needs (the loss's softmax, GLU activations);
// the forward kernels are the same plain loops and GEMMs.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "core/arena.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "nn/param.h"

namespace loom::nn {

// Precision of the GEMMs inside linear(): F32, or BF16 operands with f32 accumulation (weights,
// gradients and every other op stay f32: "fp32 master weights").
enum class Compute { F32, BF16 };

struct Var {
  int32_t id = -1;
  bool defined() const { return id >= 0; }
};

class Tape {
 public:
  explicit Tape(ThreadPool& pool, Compute compute = Compute::F32)
      : pool_(pool), compute_(compute) {}
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  ThreadPool& pool() const { return pool_; }
  Compute compute() const { return compute_; }
  void set_compute(Compute c) { compute_ = c; }
  bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }

  // Leaves. constant(): no gradient. leaf(): the gradient accumulates into `grad` (same shape).
  // param(): a leaf on the parameter's value and gradient (a constant if it is not trainable);
  // after backward its frozen rows' gradient is zeroed.
  Var constant(TensorView value);
  Var leaf(TensorView value, TensorView grad);
  Var param(Parameter& p);

  // For ops: a new f32 activation of `shape` from the arena (uninitialised) that needs a gradient
  // when any of `inputs` does and the tape records.
  Var node(Shape shape, std::initializer_list<Var> inputs);
  // Attaches the backward closure of the node just created (ignored when it needs no gradient).
  void on_backward(Var out, std::function<void()> fn);

  bool requires_grad(Var v) const { return nodes_[idx(v)].requires_grad; }
  const TensorView& value(Var v) const { return nodes_[idx(v)].value; }
  float* data(Var v) const { return nodes_[idx(v)].value.f32(); }
  const Shape& shape(Var v) const { return nodes_[idx(v)].value.shape(); }
  // The gradient buffer, zero-filled on first use; nullptr for a Var that needs no gradient.
  float* grad(Var v);
  TensorView grad_view(Var v);
  // Hands `buf` (numel floats, arena memory that lives until reset) to v as its gradient when v
  // has none yet — for a fused op whose backward already holds the full gradient (cross-entropy
  // writes softmax - onehot in place). Returns false (and keeps nothing) when v's gradient exists;
  // the caller must then add into grad(v).
  bool adopt_grad(Var v, float* buf);

  Arena& arena() { return arena_; }
  // Scratch kept until reset() (saved values for backward, copies of ids).
  template <typename T>
  T* save(int64_t n) {
    return arena_.alloc_n<T>(n);
  }

  // Runs every recorded backward closure in reverse, seeding d(loss) = seed. loss has one element.
  void backward(Var loss, float seed = 1.0f);
  // Drops the nodes and rewinds the arena (memory is kept).
  void reset();
  int64_t size() const { return static_cast<int64_t>(nodes_.size()); }

 private:
  struct Node {
    TensorView value;
    TensorView grad;
    bool requires_grad = false;
    Parameter* param = nullptr;
    std::function<void()> backward;
  };
  size_t idx(Var v) const;

  ThreadPool& pool_;
  Compute compute_;
  bool grad_enabled_ = true;
  std::vector<Node> nodes_;
  Arena arena_;
};

}  // namespace loom::nn
