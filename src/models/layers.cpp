#include "models/layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "core/gemm.h"
#include "models/linear_rows.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define LOOM_MODELS_AVX2 1
#endif

namespace loom::models {

// ---- quantised dots ----------------------------------------------------------------------

void quantize_q8_act(const float* x, Q8Act* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* v = x + b * 32;
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = d;
    for (int j = 0; j < 32; ++j) out[b].q[j] = static_cast<int8_t>(std::nearbyint(v[j] * id));
  }
}

#ifdef LOOM_MODELS_AVX2
namespace {
// Sum over 32 lanes of w (signed) * x (signed) as 8 int32 partial sums.
inline __m256i dot32_i8(__m256i w, __m256i x) {
  const __m256i aw = _mm256_sign_epi8(w, w);  // |w| as unsigned
  const __m256i sx = _mm256_sign_epi8(x, w);  // x carrying w's sign
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, sx);
#else
  const __m256i p16 = _mm256_maddubs_epi16(aw, sx);
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
#endif
}
inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}
}  // namespace
#endif

float dot_q8_0(const void* w_row, const Q8Act* x, int64_t n) {
  const auto* w = static_cast<const BlockQ8_0*>(w_row);
  const int64_t nb = n / 32;
#ifdef LOOM_MODELS_AVX2
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m256i p0 = dot32_i8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].q)),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].q)));
    __m256i p1 = dot32_i8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b + 1].q)),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b + 1].q)));
    acc0 =
        _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(_cvtsh_ss(w[b].d) * x[b].d), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1),
                           _mm256_set1_ps(_cvtsh_ss(w[b + 1].d) * x[b + 1].d), acc1);
  }
  for (; b < nb; ++b) {
    __m256i p = dot32_i8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].q)),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].q)));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(_cvtsh_ss(w[b].d) * x[b].d), acc0);
  }
  return hsum8(_mm256_add_ps(acc0, acc1));
#else
  float s = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t t = 0;
    for (int j = 0; j < 32; ++j) t += w[b].q[j] * x[b].q[j];
    s += static_cast<float>(t) * f16_to_f32(w[b].d) * x[b].d;
  }
  return s;
#endif
}

float dot_q4_0(const void* w_row, const Q8Act* x, int64_t n) {
  const auto* w = static_cast<const BlockQ4_0*>(w_row);
  const int64_t nb = n / 32;
#ifdef LOOM_MODELS_AVX2
  __m256 acc = _mm256_setzero_ps();
  const __m128i lo_mask = _mm_set1_epi8(0x0f);
  for (int64_t b = 0; b < nb; ++b) {
    __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs));
    __m128i lo = _mm_and_si128(raw, lo_mask), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), lo_mask);
    __m256i q = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
    __m256i p = dot32_i8(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].q)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(_cvtsh_ss(w[b].d) * x[b].d), acc);
  }
  return hsum8(acc);
#else
  float s = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t t = 0;
    for (int j = 0; j < 16; ++j) {
      t += ((w[b].qs[j] & 0x0f) - 8) * x[b].q[j];
      t += ((w[b].qs[j] >> 4) - 8) * x[b].q[j + 16];
    }
    s += static_cast<float>(t) * f16_to_f32(w[b].d) * x[b].d;
  }
  return s;
#endif
}

namespace {

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
  int64_t i = 0;
  float s = 0;
#ifdef LOOM_MODELS_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8)
    acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))),
                          _mm256_loadu_ps(x + i), acc);
  s = hsum8(acc);
#endif
  for (; i < n; ++i) s += f16_to_f32(w[i]) * x[i];
  return s;
}

// Four f32 rows against x at once: four independent streams keep more loads in flight, which is
// what a memory-bound matrix-vector product needs. The next four rows (the following 4 * ld
// floats) are prefetched line by line alongside: 110M f32 decode on 1 thread went from 32.3 to
// 33.0-33.7 tok/s (two and eight rows ahead were slower). A prefetch past the matrix's end is
// harmless: prefetches never fault.
void dot4_f32(const float* w, int64_t ld, const float* x, int64_t n, float* y) {
  int64_t i = 0;
#if defined(__AVX512F__)
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
         a3 = _mm512_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    const __m512 xv = _mm512_loadu_ps(x + i);
    for (int r = 0; r < 4; ++r)
      _mm_prefetch(reinterpret_cast<const char*>(w + (4 + r) * ld + i), _MM_HINT_T0);
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), xv, a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + ld + i), xv, a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + 2 * ld + i), xv, a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + 3 * ld + i), xv, a3);
  }
  y[0] = _mm512_reduce_add_ps(a0);
  y[1] = _mm512_reduce_add_ps(a1);
  y[2] = _mm512_reduce_add_ps(a2);
  y[3] = _mm512_reduce_add_ps(a3);
#else
  y[0] = y[1] = y[2] = y[3] = 0;
#endif
  for (; i < n; ++i)
    for (int r = 0; r < 4; ++r) y[r] += w[r * ld + i] * x[i];
}

// Four q8_0 rows (row stride ld bytes) against quantised x at once, as dot4_f32. While it reads
// block b of row r it prefetches block b of row r + 8, two groups ahead. Prefetching each row's
// own stream 384 bytes ahead instead (the previous scheme) left the loads and the arithmetic
// unoverlapped: 110M q8_0 decode on 1 thread ran at 66-69 tok/s, about 8 GB/s; two groups ahead
// it runs at 97-155 tok/s on the same machine minute to minute (one group ahead: 100-147;
// both: 85-120). Prefetches past the matrix's end are harmless.
void dot4_q8_0(const uint8_t* w, size_t ld, const Q8Act* x, int64_t n, float* y) {
#ifdef LOOM_MODELS_AVX2
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for (int64_t b = 0; b < n / 32; ++b) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].q));
    for (int r = 0; r < 4; ++r) {
      const auto* blk = reinterpret_cast<const BlockQ8_0*>(w + r * ld) + b;
      _mm_prefetch(reinterpret_cast<const char*>(blk) + 8 * ld, _MM_HINT_T0);
      const __m256i p = dot32_i8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q)), xv);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(_cvtsh_ss(blk->d) * x[b].d),
                               acc[r]);
    }
  }
  for (int r = 0; r < 4; ++r) y[r] = hsum8(acc[r]);
#else
  for (int r = 0; r < 4; ++r) y[r] = dot_q8_0(w + r * ld, x, n);
#endif
}

// Row offsets of several weights stacked into one output range: weight i's rows are
// [starts[i], starts[i + 1]), starts[n_w] is the total. Returns whether any weight is quantised.
bool stack_rows(const TensorView* ws, int n_w, int64_t* starts) {
  bool any_q = false;
  int64_t total = 0;
  for (int i = 0; i < n_w; ++i) {
    any_q |= ws[i].dtype() == DType::Q8_0 || ws[i].dtype() == DType::Q4_0;
    starts[i] = total;
    total += ws[i].shape()[0];
  }
  starts[n_w] = total;
  return any_q;
}

// Rows r..r+3 of w against x at once into y[0..3], for the dtypes with a four-row kernel;
// returns false (nothing written) for the others.
inline bool dot4_rows(const TensorView& w, int64_t r, const float* x, const Q8Act* xq, int64_t in,
                      float* y) {
  if (w.dtype() == DType::F32) {
    dot4_f32(static_cast<const float*>(w.row(r)), in, x, in, y);
    return true;
  }
  if (w.dtype() == DType::Q8_0) {
    dot4_q8_0(static_cast<const uint8_t*>(w.row(r)), w.row_bytes(), xq, in, y);
    return true;
  }
  return false;
}

// Row r of w (any dtype) against x (xq: x quantised, for the quantised dtypes); tmp holds the
// row converted to f32 for the dtypes without a kernel of their own.
inline float dot_row(const TensorView& w, int64_t r, const float* x, const Q8Act* xq, int64_t in,
                     std::unique_ptr<float[]>& tmp) {
  const void* row = w.row(r);
  switch (w.dtype()) {
    case DType::F32:
      return dot(static_cast<const float*>(row), x, in);
    case DType::F16:
      return dot_f16(static_cast<const uint16_t*>(row), x, in);
    case DType::Q8_0:
      return dot_q8_0(row, xq, in);
    case DType::Q4_0:
      return dot_q4_0(row, xq, in);
    default:
      if (!tmp) tmp.reset(new float[static_cast<size_t>(in)]);
      to_f32(w.dtype(), row, tmp.get(), in);
      return dot(tmp.get(), x, in);
  }
}

// Decode path: rows x (B, in) against every row of several weights (same input width), ys[i]
// (B, rows of weight i). Weight rows are split over the pool and read once for all B inputs;
// each output is the same kernel over the same grouping of rows whatever B, so row b equals a
// B = 1 call on x[b] bit for bit (batched decode relies on it).
void matvec_many(ThreadPool& pool, const float* x, int64_t B, const TensorView* ws,
                 float* const* ys, int n_w) {
  const int64_t in = ws[0].shape()[1], nq = in / 32;
  int64_t starts[9];
  const bool any_q = stack_rows(ws, n_w, starts);
  const int64_t total = starts[n_w];
  std::unique_ptr<Q8Act[]> xq;
  if (any_q) {
    xq.reset(new Q8Act[static_cast<size_t>(B * nq)]);
    for (int64_t b = 0; b < B; ++b) quantize_q8_act(x + b * in, xq.get() + b * nq, in);
  }
  // At least ~32K multiply-adds per task: below that, waking a worker costs more than the work
  // (tiny models decode faster on one thread than split over two).
  const int64_t grain = std::max<int64_t>(16, 32768 / std::max<int64_t>(in, 1));
  pool.parallel_for(total, grain, [&](int64_t begin, int64_t e) {
    std::unique_ptr<float[]> tmp;
    int wi = 0;
    for (int64_t g = begin; g < e; ++g) {
      while (starts[wi + 1] <= g) ++wi;
      const TensorView& w = ws[wi];
      const int64_t r = g - starts[wi], out = w.shape()[0];
      const bool four =
          g + 4 <= e && r + 4 <= out && (w.dtype() == DType::F32 || w.dtype() == DType::Q8_0);
      for (int64_t b = 0; b < B; ++b) {
        const Q8Act* qb = any_q ? xq.get() + b * nq : nullptr;
        float* yb = ys[wi] + b * out + r;
        if (four)
          dot4_rows(w, r, x + b * in, qb, in, yb);
        else
          *yb = dot_row(w, r, x + b * in, qb, in, tmp);
      }
      if (four) g += 3;
    }
  });
}

void matvec(ThreadPool& pool, const float* x, const TensorView& w, float* y) {
  matvec_many(pool, x, 1, &w, &y, 1);
}

}  // namespace

void linear(ThreadPool& pool, const float* x, int64_t n, const TensorView& w, const float* bias,
            float* y) {
  const int64_t out = w.shape()[0], in = w.shape()[1];
  if (n == 1) {
    matvec(pool, x, w, y);
  } else if (w.dtype() == DType::F32) {
    sgemm(pool, false, true, n, out, in, 1.0f, x, in, w.as<float>(), in, 0.0f, y, out);
  } else {
    // Dequantise a tile of weight rows per task, then one GEMM piece for it.
    const int64_t tile = 64;
    const int64_t n_tiles = (out + tile - 1) / tile;
    ThreadPool one(1);
    pool.run(n_tiles, [&](int64_t ti) {
      const int64_t r0 = ti * tile, r1 = std::min(out, r0 + tile);
      std::unique_ptr<float[]> wt(new float[static_cast<size_t>((r1 - r0) * in)]);
      for (int64_t r = r0; r < r1; ++r) to_f32(w.dtype(), w.row(r), wt.get() + (r - r0) * in, in);
      sgemm(one, false, true, n, r1 - r0, in, 1.0f, x, in, wt.get(), in, 0.0f, y + r0, out);
    });
  }
  if (bias != nullptr)
    for (int64_t i = 0; i < n; ++i) add(y + i * out, bias, y + i * out, out);
}

void linear_many(ThreadPool& pool, const float* x, std::initializer_list<TensorView> ws,
                 std::initializer_list<float*> ys) {
  LOOM_ASSERT(ws.size() == ys.size() && ws.size() >= 1 && ws.size() <= 8, "linear_many arity");
  for (const auto& w : ws)
    LOOM_ASSERT(w.shape()[1] == ws.begin()->shape()[1], "input widths differ");
  matvec_many(pool, x, 1, ws.begin(), ys.begin(), static_cast<int>(ws.size()));
}

void linear_many(ThreadPool& pool, const float* x, const TensorView* ws, float* const* ys, int n) {
  linear_rows(pool, x, 1, ws, ys, n);
}

void linear_rows(ThreadPool& pool, const float* x, int64_t B, const TensorView* ws,
                 float* const* ys, int n) {
  LOOM_ASSERT(n >= 1 && n <= 8, "linear_rows arity");
  for (int i = 1; i < n; ++i)
    LOOM_ASSERT(ws[i].shape()[1] == ws[0].shape()[1], "input widths differ");
  matvec_many(pool, x, B, ws, ys, n);
}

void embed_tokens(const TensorView& table, const int32_t* ids, int64_t n, float* out) {
  const int64_t vocab = table.shape()[0], d = table.shape()[1];
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw Error("token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                  " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
    to_f32(table.dtype(), table.row(ids[i]), out + i * d, d);
  }
}

void add_rows(const TensorView& table, const int32_t* rows, int64_t n, float* x, const char* what) {
  const int64_t size = table.shape()[0], d = table.shape()[1];
  std::unique_ptr<float[]> tmp(new float[static_cast<size_t>(d)]);
  for (int64_t i = 0; i < n; ++i) {
    if (rows[i] < 0 || rows[i] >= size)
      throw Error(std::string(what) + " " + std::to_string(rows[i]) + " at token " +
                  std::to_string(i) + " is outside the model's " + std::to_string(size) + " rows");
    to_f32(table.dtype(), table.row(rows[i]), tmp.get(), d);
    add(x + i * d, tmp.get(), x + i * d, d);
  }
}

void add_positions(const TensorView& table, int64_t pos0, int64_t n, float* x) {
  const int64_t max_pos = table.shape()[0], d = table.shape()[1];
  if (pos0 < 0 || pos0 + n > max_pos) {
    throw Error("positions [" + std::to_string(pos0) + ", " + std::to_string(pos0 + n) +
                ") exceed the model's " + std::to_string(max_pos) + " learned positions");
  }
  std::unique_ptr<float[]> tmp(new float[static_cast<size_t>(d)]);
  for (int64_t i = 0; i < n; ++i) {
    to_f32(table.dtype(), table.row(pos0 + i), tmp.get(), d);
    add(x + i * d, tmp.get(), x + i * d, d);
  }
}

void Rope::apply(float* x, int64_t n, int64_t stride, int64_t n_heads, int64_t pos0) const {
  for (int64_t i = 0; i < n; ++i)
    rope(x + i * stride, n_heads, head_dim, rot_dim, pos0 + i, theta, style,
         freq_factors.empty() ? nullptr : freq_factors.data());
}

void Norm::apply(const float* x, float* y, int64_t n) const {
  const int64_t d = dim();
  const float* w = weight.as<float>();
  for (int64_t i = 0; i < n; ++i) {
    if (kind == NormKind::RMS) {
      rmsnorm(x + i * d, w, y + i * d, d, eps);
    } else {
      layernorm(x + i * d, w, bias.empty() ? nullptr : bias.as<float>(), y + i * d, d, eps);
    }
  }
}

int32_t relative_position_bucket(int64_t rel, bool bidirectional, int64_t num_buckets,
                                 int64_t max_distance) {
  int64_t bucket = 0, n = 0;
  if (bidirectional) {
    num_buckets /= 2;
    bucket = rel > 0 ? num_buckets : 0;
    n = rel < 0 ? -rel : rel;
  } else {
    n = rel < 0 ? -rel : 0;
  }
  const int64_t max_exact = num_buckets / 2;
  if (n < max_exact) return static_cast<int32_t>(bucket + n);
  // float32 throughout, as torch computes log(n / max_exact) / log(max_distance / max_exact)
  // * (num_buckets - max_exact) on a float tensor; truncated toward zero like .long().
  const float scale = static_cast<float>(
      std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  const float ratio = static_cast<float>(n) / static_cast<float>(max_exact);
  const float large = std::log(ratio) / scale * static_cast<float>(num_buckets - max_exact);
  const int64_t b = std::min<int64_t>(max_exact + static_cast<int64_t>(large), num_buckets - 1);
  return static_cast<int32_t>(bucket + b);
}

bool ffn_gated(FfnKind k) {
  return k == FfnKind::SwiGLU || k == FfnKind::GeGLU || k == FfnKind::ReGLU;
}

void Ffn::forward(ThreadPool& pool, const float* x, int64_t n, float* y, float* scratch) const {
  const int64_t hd = hidden();
  float* hup = scratch;
  float* hgate = scratch + n * hd;
  const int64_t total = n * hd;
  if (ffn_gated(kind) && n == 1) {
    linear_many(pool, x, {up, gate}, {hup, hgate});
    if (!up_bias.empty()) add(hup, up_bias.as<float>(), hup, hd);
  } else {
    linear(pool, x, n, up, up_bias.empty() ? nullptr : up_bias.as<float>(), hup);
  }
  if (ffn_gated(kind)) {
    if (n != 1) linear(pool, x, n, gate, nullptr, hgate);
    switch (kind) {
      case FfnKind::SwiGLU:
        swiglu(hgate, hup, total);
        break;
      case FfnKind::GeGLU:
        geglu(hgate, hup, total);
        break;
      default:
        reglu(hgate, hup, total);
        break;
    }
    hup = hgate;
  } else {
    switch (kind) {
      case FfnKind::Gelu:
        gelu_tanh(hup, total);
        break;
      case FfnKind::GeluErf:
        gelu_erf(hup, total);
        break;
      default:
        relu(hup, total);
        break;
    }
  }
  linear(pool, hup, n, down, down_bias.empty() ? nullptr : down_bias.as<float>(), y);
}

}  // namespace loom::models
