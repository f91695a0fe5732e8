// Shared transformer blocks: linear layers over any weight dtype, token embedding, learned
// absolute positions, RoPE, LayerNorm/RMSNorm, FFN with GELU and GLU variants.
// Activations are f32 rows; weights are views (often into a memory-mapped file) and never change.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "core/kernels.h"
#include "core/tensor.h"
#include "core/threads.h"

namespace loom::models {

// y (n, out) = x (n, in) · W^T (+ bias (out)); W (out, in) in f32, f16, bf16, q8_0 or q4_0.
// n == 1 takes the decode path (one pass over W, rows split over the pool; q8_0/q4_0 weights
// meet x quantised to q8_0 blocks as in ggml); n > 1 goes through GEMM (quantised weights are
// dequantised a tile of rows at a time).
void linear(ThreadPool& pool, const float* x, int64_t n, const TensorView& w, const float* bias,
            float* y);

// Decode-time products of one input row with several weights at once: y_i (out_i) = W_i x (in).
// One pass over the pool for all of them (q/k/v, gate/up), sharing x's q8 quantisation.
void linear_many(ThreadPool& pool, const float* x, std::initializer_list<TensorView> ws,
                 std::initializer_list<float*> ys);
void linear_many(ThreadPool& pool, const float* x, const TensorView* ws, float* const* ys, int n);

// Activations quantised per 32-block to int8 (scale d = amax / 127): the decode-time partner of
// q8_0 and q4_0 weights.
struct Q8Act {
  float d;
  int8_t q[32];
};
void quantize_q8_act(const float* x, Q8Act* out, int64_t n);  // n a multiple of 32
// Dot of one weight row (q8_0 or q4_0 blocks) with quantised activations, n elements.
float dot_q8_0(const void* w_row, const Q8Act* x, int64_t n);
float dot_q4_0(const void* w_row, const Q8Act* x, int64_t n);

// out (n, d) = rows ids of table (vocab, d) as f32; ids are checked against vocab (loom::Error).
void embed_tokens(const TensorView& table, const int32_t* ids, int64_t n, float* out);

// x (n, d) += table rows pos0 .. pos0+n-1 (learned absolute positions; checked against the table).
void add_positions(const TensorView& table, int64_t pos0, int64_t n, float* x);
// x (n, d) += table rows rows[0..n) (a token-type table, RoBERTa's computed positions); a row
// outside the table is a loom::Error naming `what` ("token type", "position").
void add_rows(const TensorView& table, const int32_t* rows, int64_t n, float* x, const char* what);

// RoPE on n rows of x (row stride `stride` floats), each holding n_heads heads of head_dim, at
// positions pos0 .. pos0+n-1.
struct Rope {
  int64_t head_dim = 0;
  int64_t rot_dim = 0;  // leading dims of each head that rotate (== head_dim for Llama)
  float theta = 10000.0f;
  RopeStyle style = RopeStyle::Interleaved;
  // Per-pair frequency divisors (rot_dim / 2 of them) from rope scaling; empty: none.
  std::vector<float> freq_factors;
  void apply(float* x, int64_t n, int64_t stride, int64_t n_heads, int64_t pos0) const;
};

// T5's relative position bucket of rel = key position - query position (Raffel et al. 2020):
// exact buckets for small distances, logarithmic ones up to max_distance, the last bucket beyond;
// bidirectional: half the buckets for keys after the query; else (causal) keys after the query
// share bucket 0. The logarithm is taken in float32, as the reference implementations do.
int32_t relative_position_bucket(int64_t rel, bool bidirectional, int64_t num_buckets,
                                 int64_t max_distance);

enum class NormKind { RMS, Layer };
struct Norm {
  NormKind kind = NormKind::RMS;
  TensorView weight;  // (d) f32
  TensorView bias;    // (d) f32 or empty (LayerNorm only)
  float eps = 1e-5f;
  // y (n, d) = norm(x (n, d)); y may alias x.
  void apply(const float* x, float* y, int64_t n) const;
  int64_t dim() const { return weight.numel(); }
};

// The FFN's nonlinearity; gated (GLU) variants multiply act(gate·x) by up·x:
//   GELU (ungated, GPT-2: tanh approximation), SwiGLU (silu), GEGLU (exact gelu), ReGLU (relu).
enum class FfnKind { Gelu, GeluErf, Relu, SwiGLU, GeGLU, ReGLU };
bool ffn_gated(FfnKind k);

struct Ffn {
  FfnKind kind = FfnKind::SwiGLU;
  TensorView up;                  // (hidden, d)    "w3" in llama2.c, c_fc in GPT-2
  TensorView gate;                // (hidden, d)    "w1"; empty for ungated kinds
  TensorView down;                // (d, hidden)    "w2", c_proj
  TensorView up_bias, down_bias;  // (hidden), (d) f32 or empty
  int64_t hidden() const { return up.shape()[0]; }
  // y (n, d) = down(act(gate x) * up x); scratch holds 2 * n * hidden floats.
  void forward(ThreadPool& pool, const float* x, int64_t n, float* y, float* scratch) const;
};

}  // namespace loom::models
