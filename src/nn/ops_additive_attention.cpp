// Additive (Bahdanau) attention: forward and backward.
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/kernels.h"
#include "nn/additive_attention.h"

namespace loom::nn {

namespace {

struct AttnCtx {
  Var q, keys, values, v, y;
  int64_t B, S, A, C;
  const int32_t* lens;  // tape copy, or null
  float *act, *alpha;   // tanh(q + k) (B·S, A), α (B·S)
  int64_t len(int64_t b) const { return lens == nullptr ? S : lens[b]; }
};

// One sequence b: scores, softmax over its length, context row.
void attend_row(const AttnCtx& k, const float* q, const float* keys, const float* values,
                const float* v, float* y, int64_t b) {
  const int64_t n = k.len(b);
  float* alpha = k.alpha + b * k.S;
  for (int64_t j = 0; j < n; ++j) {
    float* a = k.act + (b * k.S + j) * k.A;
    const float* kr = keys + (b * k.S + j) * k.A;
    for (int64_t i = 0; i < k.A; ++i) a[i] = std::tanh(q[b * k.A + i] + kr[i]);
    alpha[j] = dot(a, v, k.A);
  }
  softmax(alpha, n);
  for (int64_t j = n; j < k.S; ++j) alpha[j] = 0.0f;
  std::memset(y + b * k.C, 0, static_cast<size_t>(k.C) * sizeof(float));
  for (int64_t j = 0; j < n; ++j) axpy(alpha[j], values + (b * k.S + j) * k.C, y + b * k.C, k.C);
}

// Backward of attend_row. d(score_j) = α_j (dα_j - Σ_i α_i dα_i) with dα_j = dy · m_j; then
// d(q + k_j) = d(score_j) · v ⊙ (1 - tanh²). The d(score_j) sum to zero, so dq and dkeys' common
// part cancel: dα_j and d(score_j) are formed in double (de, S values) to keep rounding out of it.
void attend_row_backward(Tape& t, const AttnCtx& k, int64_t b, double* de, float* dpre) {
  const int64_t n = k.len(b);
  const float* dy = t.grad(k.y) + b * k.C;
  const float* values = t.data(k.values);
  const float* v = t.data(k.v);
  const float* alpha = k.alpha + b * k.S;
  float* dvalues = t.grad(k.values);
  float* dq = t.grad(k.q);
  float* dkeys = t.grad(k.keys);
  float* dv = t.grad(k.v);
  double mix = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float* m = values + (b * k.S + j) * k.C;
    de[j] = 0;
    for (int64_t c = 0; c < k.C; ++c) de[j] += static_cast<double>(dy[c]) * m[c];
    mix += alpha[j] * de[j];
    if (dvalues != nullptr) axpy(alpha[j], dy, dvalues + (b * k.S + j) * k.C, k.C);
  }
  for (int64_t j = 0; j < n; ++j) {
    const double ds = alpha[j] * (de[j] - mix);
    const float* a = k.act + (b * k.S + j) * k.A;
    if (dv != nullptr) axpy(static_cast<float>(ds), a, dv, k.A);
    for (int64_t i = 0; i < k.A; ++i)
      dpre[i] = static_cast<float>(ds * v[i] * (1.0 - a[i]) * (1.0 + a[i]));
    if (dq != nullptr) axpy(1.0f, dpre, dq + b * k.A, k.A);
    if (dkeys != nullptr) axpy(1.0f, dpre, dkeys + (b * k.S + j) * k.A, k.A);
  }
}

}  // namespace

Var additive_attention(Tape& t, Var q, Var keys, Var values, Var v, int64_t batch, int64_t src_len,
                       const int32_t* lengths, float* weights_out) {
  const int64_t A = t.shape(q)[1], C = t.shape(values)[1];
  LOOM_ASSERT(t.shape(q)[0] == batch && t.shape(keys) == (Shape{batch * src_len, A}) &&
                  t.shape(values)[0] == batch * src_len && t.shape(v).numel() == A,
              "additive_attention: shapes");
  AttnCtx k{q, keys, values, v, {}, batch, src_len, A, C, nullptr, nullptr, nullptr};
  if (lengths != nullptr) {
    int32_t* lens = t.save<int32_t>(batch);
    for (int64_t b = 0; b < batch; ++b) {
      if (lengths[b] < 1 || lengths[b] > src_len)
        throw Error("additive_attention: sequence " + std::to_string(b) + " has length " +
                    std::to_string(lengths[b]) + ", expected 1.." + std::to_string(src_len));
      lens[b] = lengths[b];
    }
    k.lens = lens;
  }
  k.y = t.node(Shape{batch, C}, {q, keys, values, v});
  k.act = t.save<float>(batch * src_len * A);
  k.alpha = weights_out != nullptr && !t.requires_grad(k.y) ? weights_out
                                                            : t.save<float>(batch * src_len);
  t.pool().parallel_for(batch, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      attend_row(k, t.data(q), t.data(keys), t.data(values), t.data(v), t.data(k.y), b);
  });
  if (weights_out != nullptr && weights_out != k.alpha)
    std::memcpy(weights_out, k.alpha, static_cast<size_t>(batch * src_len) * sizeof(float));
  t.on_backward(k.y, [&t, k] {
    // Sequences write disjoint rows of dq, dkeys and dvalues but all add into dv: one thread.
    double* de = t.save<double>(k.S);
    float* dpre = t.save<float>(k.A);
    for (int64_t b = 0; b < k.B; ++b) attend_row_backward(t, k, b, de, dpre);
  });
  return k.y;
}

}  // namespace loom::nn
