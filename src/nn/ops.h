// Differentiable ops on a Tape. Every op computes its forward result immediately and records its
// backward next to it (in ops_*.cpp, forward and backward side by side). Matrices are row-major;
// activations of a (B,T) batch are (N = B*T, C) matrices.
#pragma once

#include <cstdint>

#include "core/kernels.h"
#include "nn/tape.h"

namespace loom::nn {

// How a linear weight is stored: OutIn = (M,K) like torch.nn.Linear; InOut = (K,M)
// like Hugging Face's Conv1D.
enum class WeightLayout { OutIn, InOut };
enum class GeluKind { Tanh, Erf };

// w (V,C), ids (N) -> y (N,C), y[i] = w[ids[i]]. Backward adds dy[i] into dw[ids[i]] except for
// rows with row_mask[id] != 0 (which get exactly zero). ids outside [0,V) throw loom::Error.
Var embedding(Tape& t, Var w, const int32_t* ids, int64_t n, const uint8_t* row_mask = nullptr);

// x (N,K), w (M,K) or (K,M) by layout, b (M) or undefined -> y (N,M) = x·Wᵀ + b.
// Under Compute::BF16 the three GEMMs take bf16 operands and accumulate in f32.
Var linear(Tape& t, Var x, Var w, Var b = {}, WeightLayout layout = WeightLayout::OutIn);

// a, b (same shape) -> a + b (residual add).
Var add(Tape& t, Var a, Var b);
// a, b (same shape) -> a ⊙ b (elementwise; a gated FFN's act(gate) * up).
Var mul(Tape& t, Var a, Var b);
// x (any) -> s·x (T5's d_model^-0.5 before a tied head).
Var scale_by(Tape& t, Var x, float s);
// x (N,C) -> y (N,width) = x[:, start:start+width].
Var slice_cols(Tape& t, Var x, int64_t start, int64_t width);
// x (any) -> y (1) = sum(x · r) with a constant r of the same shape (the finite-difference
// checker's projection; also a generic weighted-sum loss).
Var weighted_sum(Tape& t, Var x, const float* r);

// Elementwise, x (any) -> y (same).
Var gelu(Tape& t, Var x, GeluKind kind);
Var silu(Tape& t, Var x);
Var tanh(Tape& t, Var x);
Var relu(Tape& t, Var x);
// gate (N,F), up (N,F) -> y (N,F) = act(gate) * up (GluKind: core/kernels.h).
Var glu(Tape& t, Var gate, Var up, GluKind kind);
// x (any) -> y (same): zero with probability p, else x / (1-p). The mask is drawn from
// Rng(seed) in element order, so the same seed gives the same mask on any thread count.
Var dropout(Tape& t, Var x, float p, uint64_t seed);

// x (N,C), w (C), b (C) or undefined -> y (N,C), biased variance (torch.nn.LayerNorm).
Var layernorm(Tape& t, Var x, Var w, Var b, float eps);
// x (N,C), w (C) -> y (N,C) = x / sqrt(mean(x²) + eps) * w (RMSNorm, Zhang & Sennrich 2019).
Var rmsnorm(Tape& t, Var x, Var w, float eps);

// x (B*T, H*D) -> y (B*T, H*D): rotary embedding of the first rot_dim dims of every head at
// positions pos0 .. pos0+T-1, same formula as core's rope() (HalfSplit = HF rotate_half).
// freq_factors (rot_dim/2 divisors of each pair's frequency: rope scaling) may be null.
// positions (B*T, each in [0, T); null: pos0 + t) give every row its own position instead
// (packed sequences, whose positions restart at each example); pos0 must then be 0.
Var rope(Tape& t, Var x, int64_t batch, int64_t seq, int64_t n_heads, int64_t head_dim,
         int64_t rot_dim, float theta, RopeStyle style, int64_t pos0 = 0,
         const float* freq_factors = nullptr, const int32_t* positions = nullptr);

// q (B*T, H*D), k (B*T, KV*D), v (B*T, KV*D) -> y (B*T, H*D): causal softmax(q·kᵀ/√D)·v per
// head; query head h reads kv head h / (H/KV) (MHA: KV = H, GQA: KV | H, MQA: KV = 1).
Var causal_attention(Tape& t, Var q, Var k, Var v, int64_t batch, int64_t seq, int64_t n_heads,
                     int64_t n_kv_heads, int64_t head_dim);

// As causal_attention, but every query sees every key of its sequence whose key_mask entry
// (B*T, 1 real / 0 padding; null: no padding) is nonzero: an encoder's self-attention over
// right- or left-padded batches. A sequence that is all padding is a loom::Error.
Var bidirectional_attention(Tape& t, Var q, Var k, Var v, int64_t batch, int64_t seq,
                            int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                            const uint8_t* key_mask);

// Attention with every option, the one kernel behind the two above. q (B*Tq, H*D), k, v
// (B*Tk, KV*D) -> y (B*Tq, H*D) = softmax(scale·q·kᵀ + bias) v per head, keys of the query's own
// sequence only: causal (Tq == Tk, query i sees keys 0..i) or not, keys whose key_mask entry
// (B*Tk; null: none) is 0 never seen. Cross-attention is Tq != Tk (queries from a decoder, keys
// and values from an encoder's output). segments (B*Tq, Tq == Tk; null: none): query i sees
// key j only where segments[i] == segments[j] (several examples packed into one sequence).
struct AttentionOptions {
  int64_t batch = 0, q_len = 0, k_len = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  bool causal = false;
  const uint8_t* key_mask = nullptr;
  float scale = 0;  // 0: 1/sqrt(head_dim); T5 uses 1
  const int32_t* segments = nullptr;
};
// bias (Tq*Tk, H) or undefined: bias[(i*Tk + j)*H + h] is added to head h's score of query i and
// key j in every sequence (T5's relative position bias: a row gather of its bucket table, so its
// gradient flows back to the table); its gradient is the scores' gradient summed over the batch.
Var attention(Tape& t, Var q, Var k, Var v, const AttentionOptions& o, Var bias = {});

// logits (N,V), targets (N) -> loss (1) = mean over i with targets[i] != ignore_index of
// logsumexp(logits[i]) - logits[i][targets[i]]; 0 when every target is ignored. Fused: only the
// per-row logsumexp is saved, backward writes softmax - onehot straight into dlogits.
Var cross_entropy(Tape& t, Var logits, const int32_t* targets, int64_t n,
                  int32_t ignore_index = -100);

}  // namespace loom::nn
