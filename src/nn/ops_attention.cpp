// RoPE and fused self-attention (MHA/GQA/MQA; causal, or bidirectional with a key padding
// mask): forward and backward.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/gemm.h"
#include "nn/ops.h"

namespace loom::nn {

// ---- rope: x (B*T, H*D) -> y (B*T, H*D) ----
namespace {

// cos/sin table (T, rot_dim/2) with core rope()'s formula: angle = pos * theta^(-2i/rot_dim).
void rope_table(float* cs, float* sn, int64_t seq, int64_t rot_dim, float theta, int64_t pos0,
                const float* freq_factors) {
  const int64_t half = rot_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    float freq = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(rot_dim));
    if (freq_factors != nullptr) freq /= freq_factors[i];
    for (int64_t p = 0; p < seq; ++p) {
      float angle = static_cast<float>(pos0 + p) * freq;
      cs[p * half + i] = std::cos(angle);
      sn[p * half + i] = std::sin(angle);
    }
  }
}

// Rotates every head of rows (B*T, H*D) by +angle (sign = 1) or -angle (sign = -1, the
// transpose, used by backward); dst may alias src.
void rope_apply(ThreadPool& pool, const float* src, float* dst, int64_t rows, int64_t seq,
                int64_t n_heads, int64_t head_dim, int64_t rot_dim, RopeStyle style,
                const float* cs, const float* sn, float sign) {
  const int64_t half = rot_dim / 2, width = n_heads * head_dim;
  pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t p = r % seq;
      const float* x = src + r * width;
      float* y = dst + r * width;
      if (y != x) std::memcpy(y, x, width * sizeof(float));
      for (int64_t h = 0; h < n_heads; ++h) {
        float* v = y + h * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          int64_t i0 = style == RopeStyle::Interleaved ? 2 * i : i;
          int64_t i1 = style == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
          float c = cs[p * half + i], s = sign * sn[p * half + i];
          float a = v[i0], b = v[i1];
          v[i0] = a * c - b * s;
          v[i1] = a * s + b * c;
        }
      }
    }
  });
}

}  // namespace

Var rope(Tape& t, Var x, int64_t batch, int64_t seq, int64_t n_heads, int64_t head_dim,
         int64_t rot_dim, float theta, RopeStyle style, int64_t pos0,
         const float* freq_factors) {
  LOOM_ASSERT(t.shape(x).rows() == batch * seq && t.shape(x).last() == n_heads * head_dim,
              "rope: x must be (B*T, H*D)");
  LOOM_ASSERT(rot_dim % 2 == 0 && rot_dim <= head_dim, "rope: rot_dim must be even and <= D");
  const int64_t half = rot_dim / 2, rows = batch * seq;
  Var y = t.node(t.shape(x), {x});
  float* cs = t.save<float>(seq * half);
  float* sn = t.save<float>(seq * half);
  rope_table(cs, sn, seq, rot_dim, theta, pos0, freq_factors);
  rope_apply(t.pool(), t.data(x), t.data(y), rows, seq, n_heads, head_dim, rot_dim, style, cs, sn,
             1.0f);
  t.on_backward(y, [&t, x, y, rows, seq, n_heads, head_dim, rot_dim, style, cs, sn] {
    // dx += Rᵀ dy: rotate dy by -angle into scratch, then add.
    const int64_t n = rows * n_heads * head_dim;
    float* tmp = t.save<float>(n);
    rope_apply(t.pool(), t.grad(y), tmp, rows, seq, n_heads, head_dim, rot_dim, style, cs, sn,
               -1.0f);
    float* dx = t.grad(x);
    for (int64_t i = 0; i < n; ++i) dx[i] += tmp[i];
  });
  return y;
}

// ---- attention: q (B*T, H*D), k, v (B*T, KV*D) -> y (B*T, H*D) ----
namespace {

// Sizes of one attention call; query head h reads kv head h / group.
struct AttnDims {
  int64_t B, T, H, KV, D;
  int64_t group;     // H / KV query heads per kv head
  int64_t ldq, ldk;  // row strides of q/y (H*D) and k/v (KV*D)
  float scale;       // 1 / sqrt(D)
  bool causal;       // query i sees keys 0..i; else every key of its sequence
  const uint8_t* key_mask;  // (B*T) 0 = padded key, never attended; null: none
};

// Columns of row i that a query may see before the key mask: i + 1 (causal) or T.
inline int64_t visible(const AttnDims& a, int64_t i) { return a.causal ? i + 1 : a.T; }

// Rows of S (T,T) -> softmax in place over the visible columns; the rest become zero. km: the
// sequence's key mask (T) or null; a masked key gets probability exactly 0 (as Hugging Face's
// additive finfo.min mask gives after exp).
inline void softmax_rows(float* P, const AttnDims& a, const uint8_t* km) {
  const int64_t T = a.T;
  for (int64_t i = 0; i < T; ++i) {
    float* row = P + i * T;
    const int64_t n = visible(a, i);
    if (km == nullptr) {
      softmax(row, n);
    } else {
      float m = -INFINITY, s = 0;
      for (int64_t j = 0; j < n; ++j)
        if (km[j]) m = std::max(m, row[j]);
      for (int64_t j = 0; j < n; ++j) s += row[j] = km[j] ? std::exp(row[j] - m) : 0.0f;
      for (int64_t j = 0; j < n; ++j) row[j] /= s;
    }
    std::memset(row + n, 0, static_cast<size_t>(T - n) * sizeof(float));
  }
}

// dP (T,T) -> dS = P ⊙ (dP - rowsum(dP ⊙ P)) in place, zero beyond the visible columns (masked
// keys have P = 0, so their dS is 0 too).
inline void softmax_backward_rows(float* dS, const float* P, const AttnDims& a) {
  const int64_t T = a.T;
  for (int64_t i = 0; i < T; ++i) {
    float* ds = dS + i * T;
    const float* p = P + i * T;
    const int64_t n = visible(a, i);
    float s = dot(ds, p, n);
    for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - s);
    std::memset(ds + n, 0, static_cast<size_t>(T - n) * sizeof(float));
  }
}

// One task per (batch, head): P (B,H,T,T) = masked softmax(scale · Q Kᵀ), O (T,D) = P V into y.
void attention_forward(ThreadPool& pool, const AttnDims& a, const float* qd, const float* kd,
                       const float* vd, float* probs, float* yd) {
  const int64_t T = a.T, D = a.D, ldq = a.ldq, ldk = a.ldk;
  pool.run(a.B * a.H, [&](int64_t task) {
    ThreadPool serial(1);
    const int64_t b = task / a.H, h = task % a.H, g = h / a.group;
    const float* Q = qd + b * T * ldq + h * D;
    const float* K = kd + b * T * ldk + g * D;
    const float* V = vd + b * T * ldk + g * D;
    float* P = probs + task * T * T;
    sgemm(serial, false, true, T, T, D, a.scale, Q, ldq, K, ldk, 0.0f, P, T);
    softmax_rows(P, a, a.key_mask ? a.key_mask + b * T : nullptr);
    sgemm(serial, false, false, T, D, T, 1.0f, P, T, V, ldk, 0.0f, yd + b * T * ldq + h * D, ldq);
  });
}

// dy (B*T, H*D) -> dq, dk, dv (each skipped when null). One task per (batch, kv head): the heads
// sharing a kv head add into the same dK/dV.
void attention_backward(Tape& t, const AttnDims& a, Var q, Var k, Var v, Var y,
                        const float* probs) {
  const int64_t T = a.T, D = a.D, ldq = a.ldq, ldk = a.ldk;
  const float *qd = t.data(q), *kd = t.data(k), *vd = t.data(v), *dy = t.grad(y);
  float* dq = t.grad(q);
  float* dk = t.grad(k);
  float* dv = t.grad(v);
  float* scratch = t.save<float>(a.B * a.KV * T * T);  // dS per task
  t.pool().run(a.B * a.KV, [&](int64_t task) {
    ThreadPool serial(1);
    const int64_t b = task / a.KV, g = task % a.KV;
    float* dS = scratch + task * T * T;
    const float* K = kd + b * T * ldk + g * D;
    const float* V = vd + b * T * ldk + g * D;
    for (int64_t h = g * a.group; h < (g + 1) * a.group; ++h) {
      const float* P = probs + (b * a.H + h) * T * T;
      const float* Q = qd + b * T * ldq + h * D;
      const float* dO = dy + b * T * ldq + h * D;
      if (dv != nullptr)  // dV (T,D) += Pᵀ dO
        sgemm(serial, true, false, T, D, T, 1.0f, P, T, dO, ldq, 1.0f, dv + b * T * ldk + g * D,
              ldk);
      // dP (T,T) = dO Vᵀ, then dS through the softmax
      sgemm(serial, false, true, T, T, D, 1.0f, dO, ldq, V, ldk, 0.0f, dS, T);
      softmax_backward_rows(dS, P, a);
      if (dq != nullptr)  // dQ (T,D) += scale · dS K
        sgemm(serial, false, false, T, D, T, a.scale, dS, T, K, ldk, 1.0f, dq + b * T * ldq + h * D,
              ldq);
      if (dk != nullptr)  // dK (T,D) += scale · dSᵀ Q
        sgemm(serial, true, false, T, D, T, a.scale, dS, T, Q, ldq, 1.0f, dk + b * T * ldk + g * D,
              ldk);
    }
  });
}

}  // namespace

namespace {

Var attention(Tape& t, Var q, Var k, Var v, int64_t B, int64_t T, int64_t H, int64_t KV, int64_t D,
              bool causal, const uint8_t* key_mask) {
  LOOM_ASSERT(KV > 0 && H % KV == 0, "attention: n_heads must be a multiple of n_kv_heads");
  LOOM_ASSERT(t.shape(q).rows() == B * T && t.shape(q).last() == H * D, "attention: q shape");
  LOOM_ASSERT(t.shape(k).rows() == B * T && t.shape(k).last() == KV * D, "attention: k shape");
  LOOM_ASSERT(t.shape(v) == t.shape(k), "attention: v shape");
  const uint8_t* km = nullptr;
  if (key_mask != nullptr) {  // copied: the caller's buffer need not outlive backward
    uint8_t* copy = t.save<uint8_t>(B * T);
    std::memcpy(copy, key_mask, static_cast<size_t>(B * T));
    for (int64_t b = 0; b < B; ++b) {
      int64_t real = 0;
      for (int64_t j = 0; j < T; ++j) real += copy[b * T + j] != 0;
      if (real == 0)
        throw Error("attention: sequence " + std::to_string(b) + " of the batch is all padding");
    }
    km = copy;
  }
  const AttnDims a{
      B, T, H, KV, D, H / KV, H * D, KV * D, 1.0f / std::sqrt(static_cast<float>(D)), causal, km};
  Var y = t.node(t.shape(q), {q, k, v});
  float* probs = t.save<float>(B * H * T * T);  // P (B,H,T,T), zero where a key is not seen
  attention_forward(t.pool(), a, t.data(q), t.data(k), t.data(v), probs, t.data(y));
  t.on_backward(y, [&t, a, q, k, v, y, probs] { attention_backward(t, a, q, k, v, y, probs); });
  return y;
}

}  // namespace

Var causal_attention(Tape& t, Var q, Var k, Var v, int64_t batch, int64_t seq, int64_t n_heads,
                     int64_t n_kv_heads, int64_t head_dim) {
  return attention(t, q, k, v, batch, seq, n_heads, n_kv_heads, head_dim, true, nullptr);
}

Var bidirectional_attention(Tape& t, Var q, Var k, Var v, int64_t batch, int64_t seq,
                            int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                            const uint8_t* key_mask) {
  return attention(t, q, k, v, batch, seq, n_heads, n_kv_heads, head_dim, false, key_mask);
}

}  // namespace loom::nn
