#include "core/kernels.h"

#include <cmath>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LOOM_AVX2 1
#endif

namespace loom {

#ifdef LOOM_AVX2
namespace {

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

inline float hmax(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_max_ps(lo, hi);
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

// exp(x) for 8 floats: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial for e^r (rel. err ~2e-7),
// scaled by 2^n through the exponent bits. Inputs are clamped to [-87.3, 88.7].
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.72283f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // 2^n in two steps so that n = 128 (x near 88.7) does not overflow the exponent field.
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i half = _mm256_srai_epi32(ni, 1);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

inline __m256 sigmoid8(__m256 x) {
  __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

inline __m256 tanh8(__m256 x) {  // tanh(x) = 2 sigmoid(2x) - 1
  __m256 s = sigmoid8(_mm256_add_ps(x, x));
  return _mm256_fmsub_ps(_mm256_set1_ps(2.0f), s, _mm256_set1_ps(1.0f));
}

}  // namespace
#endif

float dot(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float s = 0;
#ifdef LOOM_AVX2
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  s = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
#endif
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  int64_t i = 0;
#ifdef LOOM_AVX2
  __m256 va = _mm256_set1_ps(alpha);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
  for (; i < n; ++i) y[i] += alpha * x[i];
}

void scale(float* x, float alpha, int64_t n) {
  int64_t i = 0;
#ifdef LOOM_AVX2
  __m256 va = _mm256_set1_ps(alpha);
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(va, _mm256_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) x[i] *= alpha;
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  int64_t i = 0;
#ifdef LOOM_AVX2
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
#endif
  for (; i < n; ++i) y[i] = a[i] * b[i];
}

void add(const float* a, const float* b, float* y, int64_t n) {
  int64_t i = 0;
#ifdef LOOM_AVX2
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
#endif
  for (; i < n; ++i) y[i] = a[i] + b[i];
}

float max_of(const float* x, int64_t n) {
  float m = -INFINITY;
  int64_t i = 0;
#ifdef LOOM_AVX2
  if (n >= 8) {
    __m256 vm = _mm256_loadu_ps(x);
    for (i = 8; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    m = hmax(vm);
  }
#endif
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

float sum_of(const float* x, int64_t n) {
  float s = 0;
  int64_t i = 0;
#ifdef LOOM_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
  s = hsum(acc);
#endif
  for (; i < n; ++i) s += x[i];
  return s;
}

double log_sum_exp(const float* x, int64_t n) {
  const float m = max_of(x, n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  return static_cast<double>(m) + std::log(s);
}

float softmax(float* x, int64_t n) {
  if (n <= 0) return -INFINITY;
  float m = max_of(x, n);
  float s = 0;
  int64_t i = 0;
#ifdef LOOM_AVX2
  __m256 vm = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  s = hsum(acc);
#endif
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    s += x[i];
  }
  scale(x, 1.0f / s, n);
  return std::log(s) + m;
}

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  float ss = dot(x, x, n) / static_cast<float>(n);
  float r = 1.0f / std::sqrt(ss + eps);
  int64_t i = 0;
#ifdef LOOM_AVX2
  __m256 vr = _mm256_set1_ps(r);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vr), _mm256_loadu_ps(w + i)));
#endif
  for (; i < n; ++i) y[i] = x[i] * r * w[i];
}

void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  float mean = sum_of(x, n) / static_cast<float>(n);
  float var = 0;
  int64_t i = 0;
#ifdef LOOM_AVX2
  __m256 vmean = _mm256_set1_ps(mean), acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmean);
    acc = _mm256_fmadd_ps(d, d, acc);
  }
  var = hsum(acc);
#endif
  for (; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<float>(n);
  float r = 1.0f / std::sqrt(var + eps);
  for (i = 0; i < n; ++i) {
    float v = (x[i] - mean) * r;
    if (w) v *= w[i];
    if (b) v += b[i];
    y[i] = v;
  }
}

void silu(float* x, int64_t n) {
  int64_t i = 0;
#ifdef LOOM_AVX2
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(v, sigmoid8(v)));
  }
#endif
  for (; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void gelu_tanh(float* x, int64_t n) {
  const float k0 = 0.7978845608028654f, k1 = 0.044715f;
  int64_t i = 0;
#ifdef LOOM_AVX2
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    __m256 in = _mm256_mul_ps(_mm256_set1_ps(k0), _mm256_fmadd_ps(_mm256_set1_ps(k1), v3, v));
    __m256 t = tanh8(in);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                                          _mm256_add_ps(_mm256_set1_ps(1.0f), t)));
  }
#endif
  for (; i < n; ++i) {
    float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(k0 * (v + k1 * v * v * v)));
  }
}

void gelu_erf(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void relu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.0f;
}

void swiglu(float* gate, const float* up, int64_t n) {
  silu(gate, n);
  mul(gate, up, gate, n);
}

void geglu(float* gate, const float* up, int64_t n) {
  gelu_erf(gate, n);
  mul(gate, up, gate, n);
}

void reglu(float* gate, const float* up, int64_t n) {
  relu(gate, n);
  mul(gate, up, gate, n);
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, int64_t pos, float theta,
          RopeStyle style, const float* freq_factors) {
  const int64_t half = rot_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    // Same formula as llama2.c and Hugging Face: 1 / theta^(2i / rot_dim), angle in float.
    float freq = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(rot_dim));
    if (freq_factors != nullptr) freq /= freq_factors[i];
    float angle = static_cast<float>(pos) * freq;
    float c = std::cos(angle), s = std::sin(angle);
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + h * head_dim;
      int64_t i0 = style == RopeStyle::Interleaved ? 2 * i : i;
      int64_t i1 = style == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
      float a = v[i0], b = v[i1];
      v[i0] = a * c - b * s;
      v[i1] = a * s + b * c;
    }
  }
}

}  // namespace loom
