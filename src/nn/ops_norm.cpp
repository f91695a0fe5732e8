// LayerNorm and RMSNorm: forward and backward. Weight/bias gradients are summed per chunk of rows
// into separate partial buffers and reduced in chunk order, so results depend only on the thread
// count, never on scheduling.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "nn/ops.h"

namespace loom::nn {

namespace {

// Runs fn(chunk, r0, r1) over `chunks` fixed row ranges of [0, n).
template <typename F>
void row_chunks(Tape& t, int64_t n, int64_t chunks, F&& fn) {
  const int64_t per = (n + chunks - 1) / chunks;
  t.pool().run(chunks, [&](int64_t c) {
    int64_t r0 = c * per, r1 = std::min(n, r0 + per);
    if (r0 < r1) fn(c, r0, r1);
  });
}

// dst[j] += Σ_chunk part[chunk*c + j], in chunk order.
void reduce_parts(const float* part, int64_t chunks, int64_t c, float* dst) {
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t j = 0; j < c; ++j) dst[j] += part[k * c + j];
}

}  // namespace

// ---- layernorm: x (N,C), w (C), b (C) -> y (N,C) ----
namespace {

// Rows [r0, r1) of y = (x - mean) * rstd * w + b, saving mean (N) and rstd (N) for backward;
// w and b may be null (1 and 0).
inline void layernorm_rows(const float* xd, const float* wd, const float* bd, float eps, int64_t c,
                           int64_t r0, int64_t r1, float* mean, float* rstd, float* yd) {
  for (int64_t i = r0; i < r1; ++i) {
    const float* xr = xd + i * c;
    float m = 0, v = 0;
    for (int64_t j = 0; j < c; ++j) m += xr[j];
    m /= static_cast<float>(c);
    for (int64_t j = 0; j < c; ++j) v += (xr[j] - m) * (xr[j] - m);
    v /= static_cast<float>(c);
    float r = 1.0f / std::sqrt(v + eps);
    mean[i] = m;
    rstd[i] = r;
    float* yr = yd + i * c;
    for (int64_t j = 0; j < c; ++j) {
      float h = (xr[j] - m) * r;
      yr[j] = h * (wd ? wd[j] : 1.0f) + (bd ? bd[j] : 0.0f);
    }
  }
}

// Rows [r0, r1) of backward: dx += rstd · (dxhat - mean(dxhat) - xhat · mean(dxhat · xhat)) (dx
// may be null), this chunk's weight and bias gradients summed into pw (C) and pb (C).
inline void layernorm_backward_rows(const float* xd, const float* wd, const float* dy,
                                    const float* mean, const float* rstd, int64_t c, int64_t r0,
                                    int64_t r1, float* dx, float* pw, float* pb) {
  for (int64_t i = r0; i < r1; ++i) {
    const float* xr = xd + i * c;
    const float* g = dy + i * c;
    const float m = mean[i], r = rstd[i];
    float s1 = 0, s2 = 0;  // mean(dxhat), mean(dxhat * xhat)
    for (int64_t j = 0; j < c; ++j) {
      float h = (xr[j] - m) * r;
      float dh = g[j] * (wd ? wd[j] : 1.0f);
      s1 += dh;
      s2 += dh * h;
      pw[j] += g[j] * h;
      pb[j] += g[j];
    }
    s1 /= static_cast<float>(c);
    s2 /= static_cast<float>(c);
    if (dx != nullptr) {
      float* dxr = dx + i * c;
      for (int64_t j = 0; j < c; ++j) {
        float h = (xr[j] - m) * r;
        float dh = g[j] * (wd ? wd[j] : 1.0f);
        dxr[j] += r * (dh - s1 - h * s2);
      }
    }
  }
}

// dy (N,C) -> dx (N,C), dw (C), db (C), each skipped when its gradient is not wanted.
void layernorm_backward(Tape& t, Var x, Var w, Var b, Var y, const float* mean, const float* rstd,
                        int64_t n, int64_t c) {
  const float *xd = t.data(x), *dy = t.grad(y);
  const float* wd = w.defined() ? t.data(w) : nullptr;
  float* dx = t.grad(x);
  float* dw = w.defined() ? t.grad(w) : nullptr;
  float* db = b.defined() ? t.grad(b) : nullptr;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(t.pool().size(), n));
  float* part = t.save<float>(2 * chunks * c);  // (2, chunks, C): weight parts, then bias parts
  std::memset(part, 0, static_cast<size_t>(2 * chunks * c) * sizeof(float));
  row_chunks(t, n, chunks, [&](int64_t k, int64_t r0, int64_t r1) {
    layernorm_backward_rows(xd, wd, dy, mean, rstd, c, r0, r1, dx, part + k * c,
                            part + (chunks + k) * c);
  });
  if (dw != nullptr) reduce_parts(part, chunks, c, dw);
  if (db != nullptr) reduce_parts(part + chunks * c, chunks, c, db);
}

}  // namespace

Var layernorm(Tape& t, Var x, Var w, Var b, float eps) {
  const int64_t n = t.shape(x).rows(), c = t.shape(x).last();
  LOOM_ASSERT(!w.defined() || t.shape(w).numel() == c, "layernorm: weight size");
  LOOM_ASSERT(!b.defined() || t.shape(b).numel() == c, "layernorm: bias size");
  Var y = t.node(t.shape(x), {x, w, b});
  float* mean = t.save<float>(n);
  float* rstd = t.save<float>(n);
  const float* xd = t.data(x);
  const float* wd = w.defined() ? t.data(w) : nullptr;
  const float* bd = b.defined() ? t.data(b) : nullptr;
  float* yd = t.data(y);
  t.pool().parallel_for(n, 8, [&](int64_t r0, int64_t r1) {
    layernorm_rows(xd, wd, bd, eps, c, r0, r1, mean, rstd, yd);
  });
  t.on_backward(y, [&t, x, w, b, y, mean, rstd, n, c] {
    layernorm_backward(t, x, w, b, y, mean, rstd, n, c);
  });
  return y;
}

// ---- rmsnorm: x (N,C), w (C) -> y (N,C) ----
Var rmsnorm(Tape& t, Var x, Var w, float eps) {
  const int64_t n = t.shape(x).rows(), c = t.shape(x).last();
  LOOM_ASSERT(t.shape(w).numel() == c, "rmsnorm: weight size");
  Var y = t.node(t.shape(x), {x, w});
  float* rstd = t.save<float>(n);
  const float *xd = t.data(x), *wd = t.data(w);
  float* yd = t.data(y);
  t.pool().parallel_for(n, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const float* xr = xd + i * c;
      float ss = 0;
      for (int64_t j = 0; j < c; ++j) ss += xr[j] * xr[j];
      float r = 1.0f / std::sqrt(ss / static_cast<float>(c) + eps);
      rstd[i] = r;
      float* yr = yd + i * c;
      for (int64_t j = 0; j < c; ++j) yr[j] = wd[j] * (xr[j] * r);
    }
  });
  t.on_backward(y, [&t, x, w, y, rstd, n, c] {
    const float *xd = t.data(x), *wd = t.data(w), *dy = t.grad(y);
    float* dx = t.grad(x);
    float* dw = t.grad(w);
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(t.pool().size(), n));
    float* part = t.save<float>(chunks * c);
    std::memset(part, 0, static_cast<size_t>(chunks * c) * sizeof(float));
    row_chunks(t, n, chunks, [&](int64_t k, int64_t r0, int64_t r1) {
      float* pw = part + k * c;
      for (int64_t i = r0; i < r1; ++i) {
        const float* xr = xd + i * c;
        const float* g = dy + i * c;
        const float r = rstd[i];
        float s = 0;  // Σ dxhat * x
        for (int64_t j = 0; j < c; ++j) {
          s += g[j] * wd[j] * xr[j];
          pw[j] += g[j] * xr[j] * r;
        }
        const float k2 = r * r * r * s / static_cast<float>(c);
        if (dx != nullptr) {
          float* dxr = dx + i * c;
          for (int64_t j = 0; j < c; ++j) dxr[j] += r * g[j] * wd[j] - k2 * xr[j];
        }
      }
    });
    if (dw != nullptr) reduce_parts(part, chunks, c, dw);
  });
  return y;
}

}  // namespace loom::nn
