// Recurrent layers as fused sequence ops: one op runs one layer in one direction over a whole
// (variable-length) batch, with PyTorch's equations, gate order and weight layout
// (torch.nn.RNN / LSTM / GRU), so a PyTorch state dict's tensors are used as they are.
//
// Forward: one GEMM projects every step's input, gx (N, G·H) = x·W_ihᵀ + b_ih; then the step
// loop computes gh (B, G·H) = h·W_hhᵀ + b_hh and the cell. Backward runs through time in reverse
// from the saved gate activations and states, and finishes with one GEMM each for dx, dW_ih and
// dW_hh over all steps.
//
// Cells (σ the logistic function, * elementwise; G gate blocks of H rows in W_ih / W_hh):
//   RnnTanh / RnnRelu (G=1): h' = act(gx + gh)
//   Lstm (G=4, rows i,f,g,o): i,f,o = σ(.), g = tanh(.), c' = f*c + i*g, h' = o*tanh(c')
//   Gru  (G=3, rows r,z,n):   r,z = σ(gx + gh), n = tanh(gx_n + r*gh_n), h' = (1-z)*n + z*h
//
// recurrent_forward() below is the one forward definition: the tape op calls it with buffers
// for backward, the inference path (models/recurrent.h) with none.
#pragma once

#include <cstdint>

#include "core/threads.h"
#include "nn/tape.h"

namespace loom::nn {

enum class CellKind { RnnTanh, RnnRelu, Lstm, Gru };

// Gate blocks G of a cell: 1 (RNN), 4 (LSTM), 3 (GRU).
int64_t gate_count(CellKind kind);
const char* cell_name(CellKind kind);  // "rnn_tanh", "rnn_relu", "lstm", "gru"

// How the N = T·B rows of a sequence batch are laid out, and each sequence's length.
struct SeqLayout {
  int64_t seq_len = 0;       // T
  int64_t batch = 0;         // B
  bool batch_first = false;  // row of (t, b): b·T + t; else t·B + b (PyTorch's default)
  // B lengths in [1, T] (a PackedSequence's), or null: every sequence has T steps. Steps at and
  // past a sequence's length leave its state unchanged and output zeros (what
  // pad_packed_sequence returns); the reverse direction starts at each sequence's own last step.
  const int32_t* lengths = nullptr;

  int64_t rows() const { return seq_len * batch; }
  int64_t row(int64_t t, int64_t b) const { return batch_first ? b * seq_len + t : t * batch + b; }
  int64_t length(int64_t b) const { return lengths == nullptr ? seq_len : lengths[b]; }
};

// Checks lengths against T (a loom::Error names the sequence and its length).
void check_layout(const SeqLayout& layout);

// Raw buffers of one layer-direction. Weights: w_ih (G·H, I), w_hh (G·H, H), b_ih, b_hh (G·H)
// or null. x (N, I) in layout's row order; h0, c0 (B, H) or null (zeros). Outputs y (N, H),
// h_n (B, H), c_n (B, H) (LSTM; null to skip). The saved buffers are null on inference.
struct RecurrentBuffers {
  const float* x = nullptr;
  const float *w_ih = nullptr, *w_hh = nullptr, *b_ih = nullptr, *b_hh = nullptr;
  const float *h0 = nullptr, *c0 = nullptr;
  float* y = nullptr;
  float *h_n = nullptr, *c_n = nullptr;
  // For backward, rows in x's order (padded rows untouched): gate activations (N, G·H: RNN h',
  // LSTM i,f,g,o, GRU r,z,n), the state entering each step h_prev (N, H), LSTM's c_prev (N, H),
  // GRU's gh_n = W_hn·h + b_hn (N, H).
  float *gates = nullptr, *h_prev = nullptr, *c_prev = nullptr, *gh_n = nullptr;
};

struct RecurrentDims {
  CellKind kind = CellKind::Lstm;
  int64_t input = 0, hidden = 0;  // I, H
};

// Scratch floats recurrent_forward needs: gx (N, G·H), gh (B, G·H), h and c (B, H).
int64_t recurrent_scratch_floats(const RecurrentDims& d, const SeqLayout& layout);

// The forward pass of one layer-direction (no tape); `scratch` holds recurrent_scratch_floats.
void recurrent_forward(ThreadPool& pool, const RecurrentDims& d, const SeqLayout& layout,
                       bool reverse, const RecurrentBuffers& b, float* scratch);

// ---- the tape op ----

// Weights of one layer-direction; biases may be undefined (bias=False).
struct RecurrentWeights {
  Var w_ih, w_hh, b_ih, b_hh;
};

// y (N, H) in layout's row order, h_n (B, H), c_n (B, H) for LSTM (else undefined).
struct RecurrentOutput {
  Var y, h_n, c_n;
};

// x (N, I) -> RecurrentOutput. h0, c0 (B, H) may be undefined (zeros); when given they get
// gradients. `layout.lengths` is copied (the caller's array need not outlive the call). The
// GEMMs are f32 under either Tape::compute().
RecurrentOutput recurrent(Tape& t, CellKind kind, Var x, const RecurrentWeights& w,
                          const SeqLayout& layout, bool reverse, Var h0 = {}, Var c0 = {});

// a (N, A), b (N, C) -> y (N, A + C) = [a | b] (a bidirectional layer's two directions).
Var concat_cols(Tape& t, Var a, Var b);

}  // namespace loom::nn
