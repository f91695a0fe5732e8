// Vectorised float kernels for the hot loops of inference and training. Each has a plain-loop
// twin in tests/core/kernels_test.cpp that it must match over many sizes and misalignments.
#pragma once

#include <cstdint>

namespace loom {

float dot(const float* a, const float* b, int64_t n);
// y += alpha * x
void axpy(float alpha, const float* x, float* y, int64_t n);
// x *= alpha
void scale(float* x, float alpha, int64_t n);
// y = a * b elementwise
void mul(const float* a, const float* b, float* y, int64_t n);
// y = a + b elementwise
void add(const float* a, const float* b, float* y, int64_t n);
float max_of(const float* x, int64_t n);
float sum_of(const float* x, int64_t n);

// log(sum(exp(x))) of x (n > 0), without writing x: max-subtracted, the sum in double. The one
// log-normaliser of a logits row for scoring (perplexity, beam search, kNN-LM, REPLUG, logprobs).
double log_sum_exp(const float* x, int64_t n);
// x (n) -> softmax(x) in place, max-subtracted; returns log(sum(exp(x - max))) + max (= logsumexp).
float softmax(float* x, int64_t n);

// y (n) = x / sqrt(mean(x^2) + eps) * w; y may alias x.
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
// y (n) = (x - mean) / sqrt(var + eps) * w + b (biased variance); w or b may be null.
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);

void silu(float* x, int64_t n);       // x * sigmoid(x)
void gelu_tanh(float* x, int64_t n);  // GPT-2's tanh approximation
void gelu_erf(float* x, int64_t n);   // exact GELU, x * Phi(x)
void relu(float* x, int64_t n);
// GLU variants: gate (n) <- act(gate) * up
enum class GluKind { SwiGLU, GEGLU, ReGLU };  // act = silu, gelu(erf), relu
void swiglu(float* gate, const float* up, int64_t n);
void geglu(float* gate, const float* up, int64_t n);
void reglu(float* gate, const float* up, int64_t n);

// Rotary position embedding on one position's vector of n_heads * head_dim values; the first
// rot_dim dimensions of every head rotate (rot_dim <= head_dim, even).
//   Interleaved: pairs (2i, 2i+1), as llama2.c and GGUF's llama store q/k.
//   HalfSplit:   pairs (i, i + rot_dim/2), as Hugging Face's rotate_half.
// Frequency of pair i: pos * theta^(-2i/rot_dim), divided by freq_factors[i] when given (rope
// scaling: Llama 3's per-frequency factors, linear scaling's one factor; llama.cpp's rope_freqs).
enum class RopeStyle { Interleaved, HalfSplit };
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, int64_t pos, float theta,
          RopeStyle style, const float* freq_factors = nullptr);

}  // namespace loom
