#include "models/attention.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/gemm.h"
#include "core/kernels.h"

namespace loom::models {

float AttentionDims::effective_scale() const {
  return scale != 0 ? scale : 1.0f / std::sqrt(static_cast<float>(head_dim_k));
}

void AttentionWeights::check() const {
  const auto& d = dims;
  LOOM_ASSERT(d.n_kv_heads >= 1 && d.n_heads % d.n_kv_heads == 0, "n_heads % n_kv_heads != 0");
  int64_t dm = wq.shape()[1];
  LOOM_ASSERT(wq.shape() == Shape({d.n_heads * d.head_dim_k, dm}), "wq shape");
  LOOM_ASSERT(wk.shape() == Shape({d.n_kv_heads * d.head_dim_k, dm}), "wk shape");
  LOOM_ASSERT(wv.shape() == Shape({d.n_kv_heads * d.head_dim_v, dm}), "wv shape");
  LOOM_ASSERT(wo.shape() == Shape({dm, d.n_heads * d.head_dim_v}), "wo shape");
}

AttentionCache::AttentionCache(int64_t batch, int64_t n_kv_heads, int64_t capacity,
                               int64_t head_dim_k, int64_t head_dim_v)
    : batch_(batch), n_kv_(n_kv_heads), capacity_(capacity), dk_(head_dim_k), dv_(head_dim_v) {
  // Uninitialised: rows are written before they are read, and untouched pages cost no memory.
  k_ = Tensor::empty({batch, n_kv_heads, capacity, head_dim_k});
  v_ = Tensor::empty({batch, n_kv_heads, capacity, head_dim_v});
}

void AttentionCache::set_length(int64_t n) {
  LOOM_ASSERT(n >= 0 && n <= capacity_, "cache length beyond capacity");
  length_ = n;
}

float* AttentionCache::k_at(int64_t b, int64_t head, int64_t pos) const {
  return k_.f32() + ((b * n_kv_ + head) * capacity_ + pos) * dk_;
}
float* AttentionCache::v_at(int64_t b, int64_t head, int64_t pos) const {
  return v_.f32() + ((b * n_kv_ + head) * capacity_ + pos) * dv_;
}

void AttentionCache::write(int64_t b, int64_t pos, const float* k_rows, const float* v_rows,
                           int64_t n) {
  LOOM_ASSERT(pos >= 0 && pos + n <= capacity_, "cache write beyond capacity");
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t g = 0; g < n_kv_; ++g) {
      std::memcpy(k_at(b, g, pos + i), k_rows + (i * n_kv_ + g) * dk_, sizeof(float) * dk_);
      std::memcpy(v_at(b, g, pos + i), v_rows + (i * n_kv_ + g) * dv_, sizeof(float) * dv_);
    }
  }
}

void attend(ThreadPool& pool, const AttentionDims& dims, const float* q, int64_t n,
            int64_t q_stride, const KeyValues& kv, int64_t causal_offset, const float* mask,
            int64_t mask_stride, float* out, int64_t out_stride) {
  const int64_t h = dims.n_heads, dk = dims.head_dim_k, dv = dims.head_dim_v;
  const int64_t group = dims.group();
  const float scale = dims.effective_scale();
  if (n >= 4) {
    // Many queries (prompt processing): per head, logits (n, m) = Q_h K_g^T and out = P V_g
    // through GEMM, rows masked to their visible prefix.
    pool.run(h, [&](int64_t head) {
      ThreadPool one(1);
      const int64_t g = head / group, m = kv.m;
      std::vector<float> p(static_cast<size_t>(n * m));
      sgemm(one, false, true, n, m, dk, scale, q + head * dk, q_stride, kv.keys + g * kv.k_head_stride,
            dk, 0.0f, p.data(), m);
      for (int64_t i = 0; i < n; ++i) {
        float* row = p.data() + i * m;
        int64_t visible = m;
        if (causal_offset >= 0) visible = std::min(m, causal_offset + i + 1);
        if (mask != nullptr) add(row, mask + i * mask_stride, row, visible);
        if (visible > 0) softmax(row, visible);
        std::fill(row + std::max<int64_t>(visible, 0), row + m, 0.0f);
      }
      sgemm(one, false, false, n, dv, m, 1.0f, p.data(), m, kv.values + g * kv.v_head_stride, dv,
            0.0f, out + head * dv, out_stride);
    });
    return;
  }
  // One task per (query, head); each keeps its logits in its own buffer.
  pool.run(n * h, [&](int64_t task) {
    const int64_t i = task / h, head = task % h, g = head / group;
    int64_t visible = kv.m;
    if (causal_offset >= 0) visible = std::min(kv.m, causal_offset + i + 1);
    const float* qi = q + i * q_stride + head * dk;
    const float* kb = kv.keys + g * kv.k_head_stride;
    const float* vb = kv.values + g * kv.v_head_stride;
    float* o = out + i * out_stride + head * dv;
    std::memset(o, 0, sizeof(float) * dv);
    if (visible <= 0) return;
    std::vector<float> logits(static_cast<size_t>(visible));
    for (int64_t j = 0; j < visible; ++j) logits[j] = dot(qi, kb + j * dk, dk) * scale;
    if (mask != nullptr) {
      const float* mi = mask + i * mask_stride;
      for (int64_t j = 0; j < visible; ++j) logits[j] += mi[j];
    }
    softmax(logits.data(), visible);
    for (int64_t j = 0; j < visible; ++j) axpy(logits[j], vb + j * dv, o, dv);
  });
}

namespace {

// Y (n, out) = X (n, in) · W^T for W (out, in).
Tensor project(ThreadPool& pool, const float* x, int64_t n, const TensorView& w) {
  Tensor y = Tensor::empty({n, w.shape()[0]});
  TensorView xv(const_cast<float*>(x), DType::F32, {n, w.shape()[1]});
  matmul(pool, xv, false, w, true, y.view());
  return y;
}

// The body shared by the parallel and batched variants: queries X (n, d) against memory M (m, d)
// of one batch row.
void attend_rows(ThreadPool& pool, const float* X, int64_t n, const float* M, int64_t m,
                 const float* mask, const AttentionWeights& w, float* Y) {
  const auto& d = w.dims;
  Tensor q = project(pool, X, n, w.wq);   // (n, h*k)
  Tensor kr = project(pool, M, m, w.wk);  // (m, n_kv*k)
  Tensor vr = project(pool, M, m, w.wv);  // (m, n_kv*v)
  AttentionCache kv(1, d.n_kv_heads, m, d.head_dim_k, d.head_dim_v);
  kv.write(0, 0, kr.f32(), vr.f32(), m);
  Tensor o = Tensor::empty({n, d.n_heads * d.head_dim_v});
  KeyValues keys{kv.k_at(0, 0, 0), kv.v_at(0, 0, 0), kv.head_stride_k(), kv.head_stride_v(), m};
  attend(pool, d, q.f32(), n, d.n_heads * d.head_dim_k, keys, -1, mask, m, o.f32(),
         d.n_heads * d.head_dim_v);
  Tensor y = project(pool, o.f32(), n, w.wo);
  std::memcpy(Y, y.f32(), sizeof(float) * n * w.model_dim());
}

// x (b, d): one new position per batch row, appended to the cache, then attended.
Tensor step_rows(ThreadPool& pool, const float* x, int64_t b, AttentionCache& cache,
                 const AttentionWeights& w) {
  w.check();
  const auto& d = w.dims;
  LOOM_ASSERT(cache.batch() == b && cache.n_kv_heads() == d.n_kv_heads, "cache shape");
  LOOM_ASSERT(cache.length() < cache.capacity(), "attention cache is full");
  const int64_t pos = cache.length();
  Tensor q = project(pool, x, b, w.wq);
  Tensor kr = project(pool, x, b, w.wk);
  Tensor vr = project(pool, x, b, w.wv);
  const int64_t hk = d.n_kv_heads * d.head_dim_k, hv = d.n_kv_heads * d.head_dim_v;
  Tensor o = Tensor::empty({b, d.n_heads * d.head_dim_v});
  for (int64_t r = 0; r < b; ++r) {
    cache.write(r, pos, kr.f32() + r * hk, vr.f32() + r * hv, 1);
    KeyValues keys{cache.k_at(r, 0, 0), cache.v_at(r, 0, 0), cache.head_stride_k(),
                   cache.head_stride_v(), pos + 1};
    attend(pool, d, q.f32() + r * d.n_heads * d.head_dim_k, 1, 0, keys, -1, nullptr, 0,
           o.f32() + r * d.n_heads * d.head_dim_v, 0);
  }
  cache.set_length(pos + 1);
  return project(pool, o.f32(), b, w.wo);
}

void require_mqa(const AttentionWeights& w) {
  LOOM_ASSERT(w.dims.n_kv_heads == 1, "multi-query attention has one key/value head");
}

}  // namespace

Tensor dot_product_attention(const TensorView& q, const TensorView& K, const TensorView& V,
                             float scale) {
  const int64_t m = K.shape()[0], dk = K.shape()[1], dv = V.shape()[1];
  LOOM_ASSERT(q.numel() == dk && V.shape()[0] == m, "dot_product_attention shapes");
  AttentionDims d{1, 1, dk, dv, scale};
  Tensor y = Tensor::empty({dv});
  ThreadPool one(1);
  attend(one, d, q.f32(), 1, dk, KeyValues{K.f32(), V.f32(), 0, 0, m}, -1, nullptr, 0, y.f32(), dv);
  return y;
}

Tensor multihead_attention(ThreadPool& pool, const TensorView& x, const TensorView& M,
                           const AttentionWeights& w) {
  w.check();
  LOOM_ASSERT(x.numel() == w.model_dim() && M.shape()[1] == w.model_dim(), "shapes");
  Tensor y = Tensor::empty({w.model_dim()});
  attend_rows(pool, x.f32(), 1, M.f32(), M.shape()[0], nullptr, w, y.f32());
  return y;
}

Tensor multihead_self_attention_step(ThreadPool& pool, const TensorView& x, AttentionCache& cache,
                                     const AttentionWeights& w) {
  LOOM_ASSERT(x.numel() == w.model_dim(), "x shape");
  Tensor y = step_rows(pool, x.f32(), 1, cache, w);
  Tensor out = Tensor::empty({w.model_dim()});
  std::memcpy(out.f32(), y.f32(), sizeof(float) * w.model_dim());
  return out;
}

Tensor multihead_attention_parallel(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                    const TensorView& mask, const AttentionWeights& w) {
  w.check();
  const int64_t n = X.shape()[0], m = M.shape()[0], dm = w.model_dim();
  LOOM_ASSERT(X.shape()[1] == dm && M.shape()[1] == dm, "X/M shapes");
  LOOM_ASSERT(mask.empty() || mask.shape() == Shape({n, m}), "mask shape");
  Tensor y = Tensor::empty({n, dm});
  attend_rows(pool, X.f32(), n, M.f32(), m, mask.empty() ? nullptr : mask.f32(), w, y.f32());
  return y;
}

Tensor multihead_attention_batched(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                   const TensorView& mask, const AttentionWeights& w) {
  w.check();
  const int64_t b = X.shape()[0], n = X.shape()[1], m = M.shape()[1], dm = w.model_dim();
  LOOM_ASSERT(X.shape()[2] == dm && M.shape()[0] == b && M.shape()[2] == dm, "X/M shapes");
  const bool shared = !mask.empty() && mask.shape().rank() == 2;
  LOOM_ASSERT(mask.empty() || mask.shape() == Shape({n, m}) || mask.shape() == Shape({b, n, m}),
              "mask shape");
  Tensor y = Tensor::empty({b, n, dm});
  for (int64_t r = 0; r < b; ++r) {
    const float* mk = mask.empty() ? nullptr : mask.f32() + (shared ? 0 : r * n * m);
    attend_rows(pool, X.f32() + r * n * dm, n, M.f32() + r * m * dm, m, mk, w,
                y.f32() + r * n * dm);
  }
  return y;
}

Tensor multihead_self_attention_step_batched(ThreadPool& pool, const TensorView& x,
                                             AttentionCache& cache, const AttentionWeights& w) {
  LOOM_ASSERT(x.shape().rank() == 2 && x.shape()[1] == w.model_dim(), "x shape");
  return step_rows(pool, x.f32(), x.shape()[0], cache, w);
}

Tensor multiquery_attention_parallel(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                     const TensorView& mask, const AttentionWeights& w) {
  require_mqa(w);
  return multihead_attention_parallel(pool, X, M, mask, w);
}
Tensor multiquery_attention_batched(ThreadPool& pool, const TensorView& X, const TensorView& M,
                                    const TensorView& mask, const AttentionWeights& w) {
  require_mqa(w);
  return multihead_attention_batched(pool, X, M, mask, w);
}
Tensor multiquery_self_attention_step(ThreadPool& pool, const TensorView& x, AttentionCache& cache,
                                      const AttentionWeights& w) {
  require_mqa(w);
  return multihead_self_attention_step(pool, x, cache, w);
}
Tensor multiquery_self_attention_step_batched(ThreadPool& pool, const TensorView& x,
                                              AttentionCache& cache, const AttentionWeights& w) {
  require_mqa(w);
  return multihead_self_attention_step_batched(pool, x, cache, w);
}

Tensor grouped_query_self_attention_causal(ThreadPool& pool, const TensorView& X,
                                           const AttentionWeights& w) {
  w.check();
  const int64_t n = X.shape()[0];
  const auto& d = w.dims;
  Tensor q = project(pool, X.f32(), n, w.wq);
  Tensor kr = project(pool, X.f32(), n, w.wk);
  Tensor vr = project(pool, X.f32(), n, w.wv);
  AttentionCache kv(1, d.n_kv_heads, n, d.head_dim_k, d.head_dim_v);
  kv.write(0, 0, kr.f32(), vr.f32(), n);
  Tensor o = Tensor::empty({n, d.n_heads * d.head_dim_v});
  KeyValues keys{kv.k_at(0, 0, 0), kv.v_at(0, 0, 0), kv.head_stride_k(), kv.head_stride_v(), n};
  attend(pool, d, q.f32(), n, d.n_heads * d.head_dim_k, keys, 0, nullptr, 0, o.f32(),
         d.n_heads * d.head_dim_v);
  return project(pool, o.f32(), n, w.wo);
}

Tensor grouped_query_self_attention_step(ThreadPool& pool, const TensorView& x,
                                         AttentionCache& cache, const AttentionWeights& w) {
  return multihead_self_attention_step(pool, x, cache, w);
}

Tensor causal_mask(int64_t n, int64_t m) {
  LOOM_ASSERT(n <= m, "more queries than keys");
  Tensor t = Tensor::empty({n, m});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j)
      t.f32()[i * m + j] = j <= m - n + i ? 0.0f : -std::numeric_limits<float>::infinity();
  return t;
}

}  // namespace loom::models
