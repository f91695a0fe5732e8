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
// positions (rows) or null: row r at position r % seq.
void rope_apply(ThreadPool& pool, const float* src, float* dst, int64_t rows, int64_t seq,
                int64_t n_heads, int64_t head_dim, int64_t rot_dim, RopeStyle style,
                const float* cs, const float* sn, const int32_t* positions, float sign) {
  const int64_t half = rot_dim / 2, width = n_heads * head_dim;
  pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t p = positions != nullptr ? positions[r] : r % seq;
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

// The per-row positions, copied onto the tape (backward reads them) and checked against the
// table's T rows.
const int32_t* saved_positions(Tape& t, const int32_t* positions, int64_t rows, int64_t seq,
                               int64_t pos0) {
  if (positions == nullptr) return nullptr;
  LOOM_ASSERT(pos0 == 0, "rope: per-row positions start from 0");
  int32_t* copy = t.save<int32_t>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    LOOM_ASSERT(positions[r] >= 0 && positions[r] < seq, "rope: a position outside [0, T)");
    copy[r] = positions[r];
  }
  return copy;
}

}  // namespace

Var rope(Tape& t, Var x, int64_t batch, int64_t seq, int64_t n_heads, int64_t head_dim,
         int64_t rot_dim, float theta, RopeStyle style, int64_t pos0, const float* freq_factors,
         const int32_t* positions) {
  LOOM_ASSERT(t.shape(x).rows() == batch * seq && t.shape(x).last() == n_heads * head_dim,
              "rope: x must be (B*T, H*D)");
  LOOM_ASSERT(rot_dim % 2 == 0 && rot_dim <= head_dim, "rope: rot_dim must be even and <= D");
  const int64_t half = rot_dim / 2, rows = batch * seq;
  Var y = t.node(t.shape(x), {x});
  float* cs = t.save<float>(seq * half);
  float* sn = t.save<float>(seq * half);
  rope_table(cs, sn, seq, rot_dim, theta, pos0, freq_factors);
  const int32_t* pos = saved_positions(t, positions, rows, seq, pos0);
  rope_apply(t.pool(), t.data(x), t.data(y), rows, seq, n_heads, head_dim, rot_dim, style, cs, sn,
             pos, 1.0f);
  t.on_backward(y, [&t, x, y, rows, seq, n_heads, head_dim, rot_dim, style, cs, sn, pos] {
    // dx += Rᵀ dy: rotate dy by -angle into scratch, then add.
    const int64_t n = rows * n_heads * head_dim;
    float* tmp = t.save<float>(n);
    rope_apply(t.pool(), t.grad(y), tmp, rows, seq, n_heads, head_dim, rot_dim, style, cs, sn, pos,
               -1.0f);
    float* dx = t.grad(x);
    for (int64_t i = 0; i < n; ++i) dx[i] += tmp[i];
  });
  return y;
}

// ---- attention: q (B*Tq, H*D), k, v (B*Tk, KV*D) -> y (B*Tq, H*D) ----
namespace {

// Sizes of one attention call; query head h reads kv head h / group.
struct AttnDims {
  int64_t B, Tq, Tk, H, KV, D;
  int64_t group;            // H / KV query heads per kv head
  int64_t ldq, ldk;         // row strides of q/y (H*D) and k/v (KV*D)
  float scale;              // 1 / sqrt(D) unless the caller gave one (T5: 1)
  bool causal;              // query i sees keys 0..i; else every key of its sequence
  const uint8_t* key_mask;  // (B*Tk) 0 = padded key, never attended; null: none
  const float* bias;        // (Tq*Tk, H) added to the scores; null: none
  const int32_t* segments;  // (B*Tq) query i sees key j only in its own segment; null: none
};

// Columns of row i that a query may see before the key mask: i + 1 (causal) or Tk.
inline int64_t visible(const AttnDims& a, int64_t i) { return a.causal ? i + 1 : a.Tk; }

// Rows of S (Tq,Tk) -> softmax in place over the visible columns; the rest become zero. km: the
// sequence's key mask (Tk) or null; a masked key gets probability exactly 0 (as Hugging Face's
// additive finfo.min mask gives after exp). A row with no visible key (a causal query before
// its sequence's first real key: left padding) becomes all zero. seg: the sequence's segment
// ids or null; a key of another segment than the query's is masked the same way.
inline void softmax_rows(float* P, const AttnDims& a, const uint8_t* km, const int32_t* seg) {
  const int64_t Tk = a.Tk;
  for (int64_t i = 0; i < a.Tq; ++i) {
    float* row = P + i * Tk;
    const int64_t n = visible(a, i);
    if (km == nullptr && seg == nullptr) {
      softmax(row, n);
    } else {
      auto seen = [&](int64_t j) {
        return (km == nullptr || km[j] != 0) && (seg == nullptr || seg[j] == seg[i]);
      };
      float m = -INFINITY, s = 0;
      for (int64_t j = 0; j < n; ++j)
        if (seen(j)) m = std::max(m, row[j]);
      for (int64_t j = 0; j < n; ++j) s += row[j] = seen(j) ? std::exp(row[j] - m) : 0.0f;
      for (int64_t j = 0; j < n; ++j) row[j] = s > 0 ? row[j] / s : 0.0f;
    }
    std::memset(row + n, 0, static_cast<size_t>(Tk - n) * sizeof(float));
  }
}

// dP (Tq,Tk) -> dS = P ⊙ (dP - rowsum(dP ⊙ P)) in place, zero beyond the visible columns
// (masked keys have P = 0, so their dS is 0 too).
inline void softmax_backward_rows(float* dS, const float* P, const AttnDims& a) {
  const int64_t Tk = a.Tk;
  for (int64_t i = 0; i < a.Tq; ++i) {
    float* ds = dS + i * Tk;
    const float* p = P + i * Tk;
    const int64_t n = visible(a, i);
    float s = dot(ds, p, n);
    for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - s);
    std::memset(ds + n, 0, static_cast<size_t>(Tk - n) * sizeof(float));
  }
}

// One task per (batch, head): P (B,H,Tq,Tk) = masked softmax(scale · Q Kᵀ + bias), O (Tq,D) =
// P V into y.
void attention_forward(ThreadPool& pool, const AttnDims& a, const float* qd, const float* kd,
                       const float* vd, float* probs, float* yd) {
  const int64_t Tq = a.Tq, Tk = a.Tk, D = a.D, ldq = a.ldq, ldk = a.ldk;
  pool.run(a.B * a.H, [&](int64_t task) {
    ThreadPool serial(1);
    const int64_t b = task / a.H, h = task % a.H, g = h / a.group;
    const float* Q = qd + b * Tq * ldq + h * D;
    const float* K = kd + b * Tk * ldk + g * D;
    const float* V = vd + b * Tk * ldk + g * D;
    float* P = probs + task * Tq * Tk;
    sgemm(serial, false, true, Tq, Tk, D, a.scale, Q, ldq, K, ldk, 0.0f, P, Tk);
    if (a.bias != nullptr)
      for (int64_t ij = 0; ij < Tq * Tk; ++ij) P[ij] += a.bias[ij * a.H + h];
    softmax_rows(P, a, a.key_mask ? a.key_mask + b * Tk : nullptr,
                 a.segments ? a.segments + b * Tq : nullptr);
    sgemm(serial, false, false, Tq, D, Tk, 1.0f, P, Tk, V, ldk, 0.0f, yd + b * Tq * ldq + h * D,
          ldq);
  });
}

// Gradients of one attention call; dq/dk/dv/dbias null where not wanted.
struct AttnGrads {
  float *dq, *dk, *dv, *dbias;
};

// dy (B*Tq, H*D) -> dq, dk, dv, dbias. One task per (batch, kv head): the heads sharing a kv
// head add into the same dK/dV. With a bias every (batch, head)'s dS is kept and summed over
// the batch afterwards, in batch order (no two tasks write one dbias element).
void attention_backward(Tape& t, const AttnDims& a, const float* qd, const float* kd,
                        const float* vd, const float* dy, const float* probs, const AttnGrads& g) {
  const int64_t Tq = a.Tq, Tk = a.Tk, D = a.D, ldq = a.ldq, ldk = a.ldk, TT = Tq * Tk;
  const bool keep = g.dbias != nullptr;
  float* scratch = t.save<float>((keep ? a.B * a.H : a.B * a.KV) * TT);  // dS per task or head
  t.pool().run(a.B * a.KV, [&](int64_t task) {
    ThreadPool serial(1);
    const int64_t b = task / a.KV, kv = task % a.KV;
    const float* K = kd + b * Tk * ldk + kv * D;
    const float* V = vd + b * Tk * ldk + kv * D;
    for (int64_t h = kv * a.group; h < (kv + 1) * a.group; ++h) {
      float* dS = scratch + (keep ? b * a.H + h : task) * TT;
      const float* P = probs + (b * a.H + h) * TT;
      const float* Q = qd + b * Tq * ldq + h * D;
      const float* dO = dy + b * Tq * ldq + h * D;
      if (g.dv != nullptr)  // dV (Tk,D) += Pᵀ dO
        sgemm(serial, true, false, Tk, D, Tq, 1.0f, P, Tk, dO, ldq, 1.0f,
              g.dv + b * Tk * ldk + kv * D, ldk);
      // dP (Tq,Tk) = dO Vᵀ, then dS through the softmax
      sgemm(serial, false, true, Tq, Tk, D, 1.0f, dO, ldq, V, ldk, 0.0f, dS, Tk);
      softmax_backward_rows(dS, P, a);
      if (g.dq != nullptr)  // dQ (Tq,D) += scale · dS K
        sgemm(serial, false, false, Tq, D, Tk, a.scale, dS, Tk, K, ldk, 1.0f,
              g.dq + b * Tq * ldq + h * D, ldq);
      if (g.dk != nullptr)  // dK (Tk,D) += scale · dSᵀ Q
        sgemm(serial, true, false, Tk, D, Tq, a.scale, dS, Tk, Q, ldq, 1.0f,
              g.dk + b * Tk * ldk + kv * D, ldk);
    }
  });
  if (keep)  // dbias[(i,j), h] += Σ_b dS[b, h, i, j]
    for (int64_t b = 0; b < a.B; ++b)
      for (int64_t h = 0; h < a.H; ++h) {
        const float* dS = scratch + (b * a.H + h) * TT;
        for (int64_t ij = 0; ij < TT; ++ij) g.dbias[ij * a.H + h] += dS[ij];
      }
}

// The key mask, copied (the caller's buffer need not outlive backward); a sequence with no real
// key is a loom::Error.
const uint8_t* saved_key_mask(Tape& t, const uint8_t* key_mask, int64_t B, int64_t Tk) {
  if (key_mask == nullptr) return nullptr;
  uint8_t* copy = t.save<uint8_t>(B * Tk);
  std::memcpy(copy, key_mask, static_cast<size_t>(B * Tk));
  for (int64_t b = 0; b < B; ++b) {
    int64_t real = 0;
    for (int64_t j = 0; j < Tk; ++j) real += copy[b * Tk + j] != 0;
    if (real == 0)
      throw Error("attention: sequence " + std::to_string(b) + " of the batch is all padding");
  }
  return copy;
}

}  // namespace

Var attention(Tape& t, Var q, Var k, Var v, const AttentionOptions& o, Var bias) {
  const int64_t B = o.batch, Tq = o.q_len, Tk = o.k_len, H = o.n_heads, KV = o.n_kv_heads,
                D = o.head_dim;
  LOOM_ASSERT(KV > 0 && H % KV == 0, "attention: n_heads must be a multiple of n_kv_heads");
  LOOM_ASSERT(!o.causal || Tq == Tk, "attention: causal attention needs as many keys as queries");
  LOOM_ASSERT(o.segments == nullptr || Tq == Tk, "attention: segments need Tq == Tk");
  LOOM_ASSERT(t.shape(q).rows() == B * Tq && t.shape(q).last() == H * D, "attention: q shape");
  LOOM_ASSERT(t.shape(k).rows() == B * Tk && t.shape(k).last() == KV * D, "attention: k shape");
  LOOM_ASSERT(t.shape(v) == t.shape(k), "attention: v shape");
  LOOM_ASSERT(!bias.defined() || t.shape(bias).numel() == Tq * Tk * H,
              "attention: bias must be (Tq*Tk, H)");
  const float scale = o.scale > 0 ? o.scale : 1.0f / std::sqrt(static_cast<float>(D));
  const AttnDims a{B,
                   Tq,
                   Tk,
                   H,
                   KV,
                   D,
                   H / KV,
                   H * D,
                   KV * D,
                   scale,
                   o.causal,
                   saved_key_mask(t, o.key_mask, B, Tk),
                   bias.defined() ? t.data(bias) : nullptr,
                   o.segments};
  Var y = bias.defined() ? t.node(t.shape(q), {q, k, v, bias}) : t.node(t.shape(q), {q, k, v});
  float* probs = t.save<float>(B * H * Tq * Tk);  // P (B,H,Tq,Tk), zero where a key is not seen
  attention_forward(t.pool(), a, t.data(q), t.data(k), t.data(v), probs, t.data(y));
  t.on_backward(y, [&t, a, q, k, v, y, bias, probs] {
    const AttnGrads g{t.grad(q), t.grad(k), t.grad(v), bias.defined() ? t.grad(bias) : nullptr};
    attention_backward(t, a, t.data(q), t.data(k), t.data(v), t.grad(y), probs, g);
  });
  return y;
}

Var causal_attention(Tape& t, Var q, Var k, Var v, int64_t batch, int64_t seq, int64_t n_heads,
                     int64_t n_kv_heads, int64_t head_dim) {
  return attention(t, q, k, v, {batch, seq, seq, n_heads, n_kv_heads, head_dim, true});
}

Var bidirectional_attention(Tape& t, Var q, Var k, Var v, int64_t batch, int64_t seq,
                            int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                            const uint8_t* key_mask) {
  return attention(t, q, k, v, {batch, seq, seq, n_heads, n_kv_heads, head_dim, false, key_mask});
}

}  // namespace loom::nn
