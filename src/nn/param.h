// Parameters: named f32 tensors whose values live in one contiguous block and whose gradients
// live in a second one (llm.c style), with per-parameter optimisation settings.
//
// Usage: add() every parameter, then finalize() allocates both blocks; after that the views are
// stable for the life of the store. Parameter names are the model's (models/ names them as
// Hugging Face does, so checkpoints interchange).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loom::nn {

struct Parameter {
  std::string name;
  Shape shape;
  int64_t offset = 0;  // in floats, into the store's value and gradient blocks
  TensorView value;    // f32, valid after finalize()
  TensorView grad;     // f32, same shape; accumulates until zero_grad()

  // Optimisation settings ("parameter groups" carried per parameter).
  bool trainable = true;  // false: no gradient is kept, the optimiser never touches it
  bool decay = true;      // AdamW decoupled decay / SGD L2 applies
  float lr_scale = 1.0f;  // multiplies the schedule's learning rate
  // Optional, one byte per row (shape.rows()): 1 = frozen row. A frozen row gets exactly zero
  // gradient, no weight decay and no optimiser-state change: it stays bit-identical.
  std::vector<uint8_t> frozen_rows;

  int64_t numel() const { return shape.numel(); }
  int64_t rows() const { return shape.rows(); }
  int64_t cols() const { return shape.last(); }
  bool row_frozen(int64_t r) const {
    return !frozen_rows.empty() && frozen_rows[static_cast<size_t>(r)] != 0;
  }
};

class ParamStore {
 public:
  ParamStore() = default;
  ParamStore(const ParamStore&) = delete;
  ParamStore& operator=(const ParamStore&) = delete;

  // Registers a parameter (before finalize); names must be unique.
  Parameter& add(const std::string& name, Shape shape);
  // Allocates the value block (zeroed) and the gradient block (zeroed).
  void finalize();
  bool finalized() const { return values_.defined(); }

  Parameter& get(const std::string& name);  // throws loom::Error naming the missing parameter
  Parameter* find(const std::string& name);
  const std::vector<std::unique_ptr<Parameter>>& params() const { return params_; }
  size_t size() const { return params_.size(); }

  void zero_grad();
  // Zeroes the gradient rows marked frozen (and all of a non-trainable parameter's gradient).
  void mask_frozen_grads();
  int64_t numel() const { return total_; }  // floats in each block (with alignment padding)
  int64_t count() const;                    // parameters' elements, without padding
  float* values() const { return values_.f32(); }
  float* grads() const { return grads_.f32(); }

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
  Tensor values_, grads_;
  int64_t total_ = 0;
};

}  // namespace loom::nn
