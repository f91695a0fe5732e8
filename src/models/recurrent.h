// Recurrent layer stacks (Elman RNN with tanh or ReLU, LSTM, GRU): stacked, optionally
// bidirectional, dropout between layers while training. Parameters are named and shaped as
// PyTorch's nn.RNN / nn.LSTM / nn.GRU state dict (weight_ih_l{k} (G·H, in), weight_hh_l{k}
// (G·H, H), bias_ih_l{k}, bias_hh_l{k} (G·H), "_reverse" for the backward direction; gate order
// LSTM i,f,g,o and GRU r,z,n), so a state dict saved by PyTorch as safetensors loads as it is.
//
// Two paths run the same cell math (nn::recurrent_forward, nn/recurrent.h):
//   RecurrentStack: the trainable stack on nn's tape (parameters in a ParamStore);
//   RecurrentModel: inference on weight views (a TensorMap, e.g. memory-mapped), no tape.
// Rows: a (T, B) batch is an (N = T·B, C) matrix in nn::SeqLayout's order (time-major, or
// batch-first); outputs are (N, D·H), the forward direction's H columns first (PyTorch's order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/threads.h"
#include "io/tensor_map.h"
#include "nn/param.h"
#include "nn/recurrent.h"
#include "nn/tape.h"

namespace loom::models {

struct RecurrentConfig {
  nn::CellKind kind = nn::CellKind::Lstm;  // PyTorch's mode and nonlinearity together
  int64_t input_size = 0, hidden_size = 0, num_layers = 1;
  bool bidirectional = false;
  bool batch_first = false;
  bool bias = true;
  float dropout = 0.0f;  // on every layer's output but the last, in training only

  int64_t directions() const { return bidirectional ? 2 : 1; }
  int64_t layer_input(int64_t layer) const {
    return layer == 0 ? input_size : directions() * hidden_size;
  }
  int64_t output_size() const { return directions() * hidden_size; }
  std::string describe() const;  // "lstm 2x64 bidirectional (in 32)"
};

// A loom::Error naming the field when a config is unusable.
void validate(const RecurrentConfig& c);
// "rnn_tanh" | "rnn_relu" | "lstm" | "gru" (also PyTorch's "RNN_TANH", "LSTM", ...) -> kind.
nn::CellKind cell_kind_from_name(const std::string& name);

// PyTorch's state-dict name of one tensor ("weight_ih", "weight_hh", "bias_ih", "bias_hh"), e.g.
// weight_hh_l1_reverse.
std::string recurrent_tensor_name(const std::string& what, int64_t layer, bool reverse);
// Its shape under config c.
Shape recurrent_tensor_shape(const RecurrentConfig& c, const std::string& what, int64_t layer);
// Every tensor name of the stack in PyTorch's state-dict order.
std::vector<std::string> recurrent_tensor_names(const RecurrentConfig& c);

// Copies map's tensor `name` (any dtype, converted to f32) into p; a missing tensor or another
// shape is a loom::Error naming the file, the tensor and both shapes.
void load_parameter(nn::Parameter& p, const io::TensorMap& map, const std::string& name);

// The trainable stack. Constructing registers its parameters in `params` (before finalize) under
// prefix + the PyTorch names; the store owns them.
class RecurrentStack {
 public:
  RecurrentStack(const RecurrentConfig& cfg, nn::ParamStore& params, std::string prefix = "");
  const RecurrentConfig& config() const { return cfg_; }

  // PyTorch's initialisation: every tensor ~ U(-1/sqrt(H), 1/sqrt(H)), drawn from Rng(seed).
  void init(uint64_t seed);
  // Copies a state dict's tensors (names without the prefix unless with_prefix) into the
  // parameters; a missing tensor or a wrong shape is a loom::Error naming file, tensor and shapes.
  void load(const io::TensorMap& map, bool with_prefix = false);

  struct Output {
    nn::Var y;                      // (N, D·H)
    std::vector<nn::Var> h_n, c_n;  // [layer·D + direction] (B, H); c_n for LSTM only
  };
  // x (N, input_size) -> Output. h0, c0: empty (zeros) or L·D Vars (B, H) each, PyTorch's
  // order. Dropout between layers (when training and cfg.dropout > 0) draws layer l's mask from
  // dropout_seed + l.
  Output forward(nn::Tape& t, nn::Var x, const nn::SeqLayout& layout,
                 const std::vector<nn::Var>& h0 = {}, const std::vector<nn::Var>& c0 = {},
                 bool training = false, uint64_t dropout_seed = 0) const;

 private:
  nn::Parameter* param(const std::string& what, int64_t layer, bool reverse) const;
  RecurrentConfig cfg_;
  nn::ParamStore& params_;
  std::string prefix_;
};

// Inference: the weights are views into a TensorMap (f32; other dtypes are converted once at
// construction) that must outlive the model; forward() builds no tape.
class RecurrentModel {
 public:
  RecurrentModel(const RecurrentConfig& cfg, const io::TensorMap& map,
                 const std::string& prefix = "");
  const RecurrentConfig& config() const { return cfg_; }

  // x (N, input_size) -> y (N, D·H); h0, c0 (L·D, B, H) or null (zeros); h_n, c_n (L·D, B, H)
  // or null when not wanted (c0/c_n: LSTM only).
  void forward(ThreadPool& pool, const float* x, const nn::SeqLayout& layout, const float* h0,
               const float* c0, float* y, float* h_n, float* c_n) const;

 private:
  struct Dir {
    TensorView w_ih, w_hh, b_ih, b_hh;
  };
  const Dir& dir(int64_t layer, int64_t d) const {
    return dirs_[static_cast<size_t>(layer * cfg_.directions() + d)];
  }
  RecurrentConfig cfg_;
  std::vector<Dir> dirs_;
  std::vector<Tensor> converted_;  // f32 copies of tensors stored in another dtype
};

}  // namespace loom::models
