// Embedding, linear, residual add, column slice, activations, GLU, dropout: forward and backward.
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "core/dtype.h"
#include "core/error.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "nn/ops.h"

namespace loom::nn {

namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per task for elementwise loops

template <typename F>
void par(Tape& t, int64_t n, F&& fn) {
  t.pool().parallel_for(n, kGrain, [&](int64_t b, int64_t e) { fn(b, e); });
}

TensorView to_bf16(Tape& t, const TensorView& x) {
  auto* mem = t.save<uint16_t>(x.numel());
  const float* src = x.f32();
  t.pool().parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) {
    from_f32(DType::BF16, src + b, mem + b, e - b);
  });
  return TensorView(mem, DType::BF16, x.shape());
}

}  // namespace

// ---- embedding: w (V,C), ids (N) -> y (N,C) ----
Var embedding(Tape& t, Var w, const int32_t* ids, int64_t n, const uint8_t* row_mask) {
  const int64_t vocab = t.shape(w)[0], c = t.shape(w)[1];
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw Error("embedding: token id " + std::to_string(ids[i]) + " at position " +
                  std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(vocab) +
                  ")");
  Var y = t.node(Shape{n, c}, {w});
  const float* wd = t.data(w);
  float* yd = t.data(y);
  t.pool().parallel_for(n, 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) std::memcpy(yd + i * c, wd + ids[i] * c, c * sizeof(float));
  });
  if (!t.requires_grad(y)) return y;
  int32_t* saved = t.save<int32_t>(n);
  std::memcpy(saved, ids, static_cast<size_t>(n) * sizeof(int32_t));
  t.on_backward(y, [&t, w, y, saved, n, c, row_mask] {
    // dw[ids[i]] += dy[i]: split by columns so no two threads write the same element and the
    // summation order over i is fixed.
    float* dw = t.grad(w);
    const float* dy = t.grad(y);
    t.pool().parallel_for(c, 16, [&](int64_t c0, int64_t c1) {
      for (int64_t i = 0; i < n; ++i) {
        if (row_mask != nullptr && row_mask[saved[i]]) continue;
        float* dst = dw + saved[i] * c;
        const float* src = dy + i * c;
        for (int64_t j = c0; j < c1; ++j) dst[j] += src[j];
      }
    });
  });
  return y;
}

// ---- linear: x (N,K), w (M,K)|(K,M), b (M) -> y (N,M) ----
Var linear(Tape& t, Var x, Var w, Var b, WeightLayout layout) {
  const bool out_in = layout == WeightLayout::OutIn;
  const int64_t n = t.shape(x)[0], k = t.shape(x)[1];
  const int64_t m = out_in ? t.shape(w)[0] : t.shape(w)[1];
  LOOM_ASSERT((out_in ? t.shape(w)[1] : t.shape(w)[0]) == k, "linear: weight does not match input");
  LOOM_ASSERT(!b.defined() || t.shape(b).numel() == m, "linear: bias size");
  Var y = t.node(Shape{n, m}, {x, w, b});
  const bool bf16 = t.compute() == Compute::BF16;
  TensorView xv = t.value(x), wv = t.value(w), yv = t.value(y);
  if (bf16) {
    xv = to_bf16(t, xv);
    wv = to_bf16(t, wv);
  }
  matmul(t.pool(), xv, false, wv, out_in, yv);
  if (b.defined()) {
    const float* bd = t.data(b);
    float* yd = t.data(y);
    t.pool().parallel_for(n, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) loom::add(yd + i * m, bd, yd + i * m, m);
    });
  }
  t.on_backward(y, [&t, x, w, b, y, xv, wv, out_in, bf16, n, m] {
    TensorView dy = t.grad_view(y);
    if (bf16) dy = to_bf16(t, dy);
    if (t.requires_grad(x)) {
      // dx (N,K) += dy (N,M) · W (M,K)
      matmul(t.pool(), dy, false, wv, !out_in, t.grad_view(x), 1.0f, 1.0f);
    }
    if (t.requires_grad(w)) {
      if (out_in)  // dW (M,K) += dyᵀ · x
        matmul(t.pool(), dy, true, xv, false, t.grad_view(w), 1.0f, 1.0f);
      else  // dW (K,M) += xᵀ · dy
        matmul(t.pool(), xv, true, dy, false, t.grad_view(w), 1.0f, 1.0f);
    }
    if (b.defined() && t.requires_grad(b)) {
      float* db = t.grad(b);
      const float* g = t.grad(y);
      t.pool().parallel_for(m, 64, [&](int64_t c0, int64_t c1) {
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = c0; j < c1; ++j) db[j] += g[i * m + j];
      });
    }
  });
  return y;
}

// ---- add: a, b -> a + b ----
Var add(Tape& t, Var a, Var b) {
  LOOM_ASSERT(t.shape(a) == t.shape(b), "add: shapes differ");
  Var y = t.node(t.shape(a), {a, b});
  const float *ad = t.data(a), *bd = t.data(b);
  float* yd = t.data(y);
  par(t, t.shape(a).numel(),
      [&](int64_t i0, int64_t i1) { loom::add(ad + i0, bd + i0, yd + i0, i1 - i0); });
  t.on_backward(y, [&t, a, b, y] {
    const float* g = t.grad(y);
    for (Var in : {a, b}) {
      if (!t.requires_grad(in)) continue;
      float* d = t.grad(in);
      par(t, t.shape(y).numel(),
          [&](int64_t i0, int64_t i1) { axpy(1.0f, g + i0, d + i0, i1 - i0); });
    }
  });
  return y;
}

// ---- mul: y = a ⊙ b; da += dy ⊙ b, db += dy ⊙ a ----
Var mul(Tape& t, Var a, Var b) {
  LOOM_ASSERT(t.shape(a) == t.shape(b), "mul: shapes differ");
  const int64_t n = t.shape(a).numel();
  Var y = t.node(t.shape(a), {a, b});
  const float *ad = t.data(a), *bd = t.data(b);
  float* yd = t.data(y);
  par(t, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) yd[i] = ad[i] * bd[i];
  });
  t.on_backward(y, [&t, a, b, y, n] {
    const float* g = t.grad(y);
    for (auto [in, other] : {std::pair{a, b}, std::pair{b, a}}) {
      if (!t.requires_grad(in)) continue;
      float* d = t.grad(in);
      const float* o = t.data(other);
      par(t, n, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) d[i] += g[i] * o[i];
      });
    }
  });
  return y;
}

// ---- scale_by: y = s·x; dx += s·dy ----
Var scale_by(Tape& t, Var x, float s) {
  const int64_t n = t.shape(x).numel();
  Var y = t.node(t.shape(x), {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  par(t, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) yd[i] = xd[i] * s;
  });
  t.on_backward(y, [&t, x, y, n, s] {
    const float* g = t.grad(y);
    float* dx = t.grad(x);
    par(t, n, [&](int64_t i0, int64_t i1) { axpy(s, g + i0, dx + i0, i1 - i0); });
  });
  return y;
}

// ---- slice_cols: x (N,C) -> y (N,W) ----
Var slice_cols(Tape& t, Var x, int64_t start, int64_t width) {
  const int64_t n = t.shape(x)[0], c = t.shape(x)[1];
  LOOM_ASSERT(start >= 0 && width > 0 && start + width <= c, "slice_cols: out of range");
  Var y = t.node(Shape{n, width}, {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(yd + i * width, xd + i * c + start, width * sizeof(float));
  t.on_backward(y, [&t, x, y, n, c, start, width] {
    float* dx = t.grad(x);
    const float* dy = t.grad(y);
    for (int64_t i = 0; i < n; ++i) axpy(1.0f, dy + i * width, dx + i * c + start, width);
  });
  return y;
}

// ---- weighted_sum: x (any), r (same) -> y (1) = Σ x·r ----
Var weighted_sum(Tape& t, Var x, const float* r) {
  const int64_t n = t.shape(x).numel();
  Var y = t.node(Shape{1}, {x});
  const float* xd = t.data(x);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(xd[i]) * r[i];
  t.data(y)[0] = static_cast<float>(s);
  t.on_backward(y, [&t, x, y, r, n] { axpy(t.grad(y)[0], r, t.grad(x), n); });
  return y;
}

// ---- activations: x -> y (same shape) ----
namespace {

constexpr float kGeluK0 = 0.7978845608028654f, kGeluK1 = 0.044715f;

// d act(x) / dx for the activations used here.
inline float gelu_erf_grad(float x) {
  return 0.5f * (1.0f + std::erf(x * 0.70710678118654752f)) +
         x * 0.3989422804014327f * std::exp(-0.5f * x * x);
}

// silu'(x) from x and a = silu(x) = x·s: s = a/x (s(0) = 1/2), silu' = s + a·(1 - s).
inline float silu_grad_from(float x, float a) {
  const float s = std::fabs(x) > 1e-20f ? a / x : 0.5f;
  return s + a * (1.0f - s);
}

}  // namespace

Var gelu(Tape& t, Var x, GeluKind kind) {
  const int64_t n = t.shape(x).numel();
  Var y = t.node(t.shape(x), {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  par(t, n, [&](int64_t i0, int64_t i1) {
    std::memcpy(yd + i0, xd + i0, (i1 - i0) * sizeof(float));
    if (kind == GeluKind::Tanh)
      gelu_tanh(yd + i0, i1 - i0);
    else
      gelu_erf(yd + i0, i1 - i0);
  });
  t.on_backward(y, [&t, x, y, n, kind] {
    const float *xd = t.data(x), *yd = t.data(y), *dy = t.grad(y);
    float* dx = t.grad(x);
    par(t, n, [&](int64_t i0, int64_t i1) {
      if (kind == GeluKind::Tanh)
        // tanh(u) recovered from the forward output, y = x/2 · (1 + tanh(u)), away from x = 0
        // (no second tanh pass; the loop vectorises).
        for (int64_t i = i0; i < i1; ++i) {
          const float v = xd[i];
          const float th = std::fabs(v) > 1e-2f ? 2.0f * yd[i] / v - 1.0f : kGeluK0 * v;
          dx[i] += dy[i] * (0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * kGeluK0 *
                                                     (1.0f + 3.0f * kGeluK1 * v * v));
        }
      else
        for (int64_t i = i0; i < i1; ++i) dx[i] += dy[i] * gelu_erf_grad(xd[i]);
    });
  });
  return y;
}

Var silu(Tape& t, Var x) {
  const int64_t n = t.shape(x).numel();
  Var y = t.node(t.shape(x), {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  par(t, n, [&](int64_t i0, int64_t i1) {
    std::memcpy(yd + i0, xd + i0, (i1 - i0) * sizeof(float));
    loom::silu(yd + i0, i1 - i0);
  });
  t.on_backward(y, [&t, x, y, n] {
    const float *xd = t.data(x), *yd = t.data(y), *dy = t.grad(y);
    float* dx = t.grad(x);
    par(t, n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) dx[i] += dy[i] * silu_grad_from(xd[i], yd[i]);
    });
  });
  return y;
}

// ---- relu: y = max(x, 0), dy/dx = 1 where x > 0 (0 at x = 0, as torch) ----
Var relu(Tape& t, Var x) {
  const int64_t n = t.shape(x).numel();
  Var y = t.node(t.shape(x), {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  par(t, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) yd[i] = xd[i] > 0.0f ? xd[i] : 0.0f;
  });
  t.on_backward(y, [&t, x, y, n] {
    const float *xd = t.data(x), *dy = t.grad(y);
    float* dx = t.grad(x);
    par(t, n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        if (xd[i] > 0.0f) dx[i] += dy[i];
    });
  });
  return y;
}

// ---- tanh: y = tanh(x), dy/dx = 1 - y² ----
Var tanh(Tape& t, Var x) {
  const int64_t n = t.shape(x).numel();
  Var y = t.node(t.shape(x), {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  par(t, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) yd[i] = std::tanh(xd[i]);
  });
  t.on_backward(y, [&t, x, y, n] {
    const float *yd = t.data(y), *dy = t.grad(y);
    float* dx = t.grad(x);
    par(t, n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) dx[i] += dy[i] * (1.0f - yd[i] * yd[i]);
    });
  });
  return y;
}

// ---- glu: gate (N,F), up (N,F) -> y (N,F) = act(gate) * up ----
// Forward keeps act(gate) so backward needs no second exp/erf pass for SwiGLU and ReGLU.
Var glu(Tape& t, Var gate, Var up, GluKind kind) {
  LOOM_ASSERT(t.shape(gate) == t.shape(up), "glu: gate and up differ in shape");
  const int64_t n = t.shape(gate).numel();
  Var y = t.node(t.shape(gate), {gate, up});
  float* act = t.requires_grad(y) ? t.save<float>(n) : t.data(y);
  const float *gd = t.data(gate), *ud = t.data(up);
  float* yd = t.data(y);
  par(t, n, [&](int64_t i0, int64_t i1) {
    std::memcpy(act + i0, gd + i0, (i1 - i0) * sizeof(float));
    switch (kind) {
      case GluKind::SwiGLU:
        loom::silu(act + i0, i1 - i0);
        break;
      case GluKind::GEGLU:
        gelu_erf(act + i0, i1 - i0);
        break;
      case GluKind::ReGLU:
        loom::relu(act + i0, i1 - i0);
        break;
    }
    loom::mul(act + i0, ud + i0, yd + i0, i1 - i0);
  });
  t.on_backward(y, [&t, gate, up, y, act, n, kind] {
    const float *gd = t.data(gate), *ud = t.data(up), *dy = t.grad(y);
    float* dg = t.grad(gate);
    float* du = t.grad(up);
    par(t, n, [&](int64_t i0, int64_t i1) {
      if (du != nullptr)
        for (int64_t i = i0; i < i1; ++i) du[i] += dy[i] * act[i];
      if (dg == nullptr) return;
      switch (kind) {
        case GluKind::SwiGLU:
          for (int64_t i = i0; i < i1; ++i) dg[i] += dy[i] * ud[i] * silu_grad_from(gd[i], act[i]);
          break;
        case GluKind::GEGLU:
          for (int64_t i = i0; i < i1; ++i) dg[i] += dy[i] * ud[i] * gelu_erf_grad(gd[i]);
          break;
        case GluKind::ReGLU:
          for (int64_t i = i0; i < i1; ++i) dg[i] += gd[i] > 0 ? dy[i] * ud[i] : 0.0f;
          break;
      }
    });
  });
  return y;
}

// ---- dropout: x -> y (same shape) ----
Var dropout(Tape& t, Var x, float p, uint64_t seed) {
  LOOM_ASSERT(p >= 0.0f && p < 1.0f, "dropout: p must be in [0, 1)");
  const int64_t n = t.shape(x).numel();
  Var y = t.node(t.shape(x), {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  uint8_t* keep = t.save<uint8_t>(n);
  Rng rng(seed);
  const float s = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; ++i) {
    keep[i] = rng.uniform() >= p ? 1 : 0;
    yd[i] = keep[i] ? xd[i] * s : 0.0f;
  }
  t.on_backward(y, [&t, x, y, keep, n, s] {
    float* dx = t.grad(x);
    const float* dy = t.grad(y);
    for (int64_t i = 0; i < n; ++i)
      if (keep[i]) dx[i] += dy[i] * s;
  });
  return y;
}

}  // namespace loom::nn
