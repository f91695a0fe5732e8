// Attention, every variant of the notes, over loom tensors.
//
// Names follow the notes (Shazeer, "Fast Transformer Decoding"): d model width, h query heads,
// k key/query width per head, v value width per head, m memory (key) positions, n query positions,
// b batch. One setting, n_kv_heads, covers multi-head (n_kv_heads == h), grouped-query
// (1 < n_kv_heads < h, h a multiple of it) and multi-query (n_kv_heads == 1) attention: query head
// i reads key/value head i / (h / n_kv_heads).
//
// Weights use the linear-layer layout of checkpoints (out, in), row-major f32:
//   wq (h*k, d), wk (n_kv*k, d), wv (n_kv*v, d), wo (d, h*v).
// Logits are scaled by `scale` (1/sqrt(k) unless set otherwise) before the softmax.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "core/threads.h"

namespace loom::models {

struct AttentionDims {
  int64_t n_heads = 1;
  int64_t n_kv_heads = 1;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  float scale = 0;  // 0 means 1/sqrt(head_dim_k)
  float effective_scale() const;
  int64_t group() const { return n_heads / n_kv_heads; }  // query heads per key/value head
};

struct AttentionWeights {
  TensorView wq, wk, wv, wo;  // f32, shapes above
  AttentionDims dims;
  int64_t model_dim() const { return wq.shape()[1]; }
  void check() const;  // LOOM_ASSERTs the shapes against dims
};

// Keys and values of past positions, per batch row and key/value head:
//   k (b, n_kv, capacity, k), v (b, n_kv, capacity, v); positions [0, length) are filled.
// Per-head contiguous rows keep the decode-time scan over positions sequential in memory.
class AttentionCache {
 public:
  AttentionCache() = default;
  AttentionCache(int64_t batch, int64_t n_kv_heads, int64_t capacity, int64_t head_dim_k,
                 int64_t head_dim_v);
  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }
  int64_t n_kv_heads() const { return n_kv_; }
  void set_length(int64_t n);  // after writing rows [length, n) through k_at/v_at
  void clear() { length_ = 0; }
  float* k_at(int64_t b, int64_t head, int64_t pos) const;
  float* v_at(int64_t b, int64_t head, int64_t pos) const;
  int64_t head_stride_k() const { return capacity_ * dk_; }  // floats between heads
  int64_t head_stride_v() const { return capacity_ * dv_; }
  // Writes projected rows k_rows (n, n_kv*k), v_rows (n, n_kv*v) of batch row b at [pos, pos+n).
  void write(int64_t b, int64_t pos, const float* k_rows, const float* v_rows, int64_t n);

 private:
  int64_t batch_ = 0, n_kv_ = 0, capacity_ = 0, dk_ = 0, dv_ = 0, length_ = 0;
  Tensor k_, v_;
};

// The kernel under every variant. Queries q (n, h*k) (row stride q_stride floats) attend to m
// key/value positions: key j of kv head g is at keys + g*k_head_stride + j*k (values likewise).
// Query i sees keys [0, visible(i)) where visible(i) = min(m, causal_offset + i + 1) when
// causal_offset >= 0, else all m; an additive mask (n, m) (row stride mask_stride) may be given
// too. out (n, h*v) with row stride out_stride. Rows whose visible logits are all -inf give NaN.
struct KeyValues {
  const float* keys;
  const float* values;
  int64_t k_head_stride, v_head_stride, m;
};
void attend(ThreadPool& pool, const AttentionDims& dims, const float* q, int64_t n,
            int64_t q_stride, const KeyValues& kv, int64_t causal_offset, const float* mask,
            int64_t mask_stride, float* out, int64_t out_stride);

// --- The notes' variants -------------------------------------------------------------------

// Dot-product attention for one query: q (k), K (m, k), V (m, v) -> y (v).
Tensor dot_product_attention(const TensorView& q, const TensorView& K, const TensorView& V,
                             float scale = 0);

// Multi-head attention for one query: x (d), memory M (m, d) -> y (d).
Tensor multihead_attention(ThreadPool& pool, const TensorView& x, const TensorView& M,
                           const AttentionWeights& w);

// Multi-head self-attention, one step with a KV cache: x (d) -> y (d); appends x's key and
// value to `cache` (batch 1) and attends over every cached position, itself included.
Tensor multihead_self_attention_step(ThreadPool& pool, const TensorView& x, AttentionCache& cache,
                                     const AttentionWeights& w);

// Masked multi-head attention, all queries at once: X (n, d), M (m, d), additive mask (n, m)
// (0 or -inf; empty view for none) -> Y (n, d).
Tensor multihead_attention_parallel(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                    const TensorView& mask, const AttentionWeights& w);

// Batched: X (b, n, d), M (b, m, d), mask (n, m) shared or (b, n, m) -> Y (b, n, d).
Tensor multihead_attention_batched(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                   const TensorView& mask, const AttentionWeights& w);

// Batched one-step self-attention: x (b, d) -> y (b, d); cache has batch b.
Tensor multihead_self_attention_step_batched(ThreadPool& pool, const TensorView& x,
                                             AttentionCache& cache, const AttentionWeights& w);

// Multi-query forms: the same computations with one shared key/value head (w.dims.n_kv_heads
// must be 1; asserted).
Tensor multiquery_attention_parallel(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                     const TensorView& mask, const AttentionWeights& w);
Tensor multiquery_attention_batched(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                    const TensorView& mask, const AttentionWeights& w);
Tensor multiquery_self_attention_step(ThreadPool& pool, const TensorView& x, AttentionCache& cache,
                                      const AttentionWeights& w);
Tensor multiquery_self_attention_step_batched(ThreadPool& pool, const TensorView& x,
                                              AttentionCache& cache, const AttentionWeights& w);

// Grouped-query forms: any n_kv_heads dividing h (the functions above accept any n_kv_heads
// too; these names say so). Causal self-attention over X (n, d) -> (n, d).
Tensor grouped_query_self_attention_causal(ThreadPool& pool, const TensorView& X,
                                           const AttentionWeights& w);
Tensor grouped_query_self_attention_step(ThreadPool& pool, const TensorView& x,
                                         AttentionCache& cache, const AttentionWeights& w);

// Causal mask (n, m) for n queries at positions m-n .. m-1 over m keys: 0 on and below the
// diagonal, -inf above.
Tensor causal_mask(int64_t n, int64_t m);

}  // namespace loom::models
